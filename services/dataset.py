"""Exporting the scored dataset (audited), and importing paper-collected data (all or nothing)."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from questionnaires.protocol import Protocol
from reports import export, importer, standards
from storage import audit, bulk, participants, write
from storage.audit import record
from storage.db import utc_iso


def export_dataset(db, protocol: Protocol, fmt: str, path: Path, *, actor: str, now: datetime,
                   identifiable: bool = False) -> int:
    """Write one data format to ``path``; returns the rows written (for a standards format, what
    reports.standards.COUNTED names). Every export is audited; a refused one writes nothing."""
    if fmt in standards.FORMATS:
        standards.check(fmt, identifiable)
        count = standards.write_file(db, protocol, fmt, path, now=now, identifiable=identifiable)
        audit_export(db, fmt, count, actor=actor, now=now, identifiable=identifiable)
        return count
    if fmt not in export.FORMATS:
        raise ValueError(f"format must be one of {', '.join(export.FORMATS + standards.FORMATS)}")
    count = export.write_file(db, protocol, fmt, path, identifiable)
    audit_export(db, fmt, count, actor=actor, now=now, identifiable=identifiable)
    return count


def stream_text(db, connect: Callable[[], Any], protocol: Protocol, fmt: str, *, actor: str, now: datetime,
                identifiable: bool = False) -> Iterator[str]:
    """A CSV or codebook download as text chunks. A data export is audited before the first
    chunk (on ``db``); the rows are read a participant at a time on a connection of the
    stream's own, from ``connect``, which outlives the request that started it."""
    download = export.DOWNLOADS.get(fmt) or standards.DOWNLOADS[fmt]
    if not download.text:
        raise ValueError(f"{fmt!r} is not a text format")
    if fmt in standards.DOWNLOADS:
        standards.check(fmt, identifiable)
    if not download.codebook:
        audit_export(db, fmt, None, actor=actor, now=now, identifiable=identifiable)

    def chunks() -> Iterator[str]:
        connection = connect()
        try:
            if fmt in standards.DOWNLOADS:
                yield from standards.text_chunks(connection, protocol, fmt)
            else:
                yield from export.text_chunks(connection, protocol, fmt, identifiable)
        finally:
            connection.close()
    return chunks()


def audit_report_download(db, fmt: str, *, actor: str, now: datetime) -> None:
    """The comparison report left the app as a file (JSON or HTML): who took it, when."""
    with write(db):
        record(db, at=now, actor=actor, action="download_report", entity="report", entity_id=fmt,
               after={"format": fmt})


def audit_export(db, fmt: str, rows: int | None, *, actor: str, now: datetime, identifiable: bool) -> None:
    with write(db):
        record(db, at=now, actor=actor, action="export_identifiable" if identifiable else "export", entity="dataset",
               entity_id=fmt, after={"format": fmt, "rows": rows, "identifiable": identifiable})


def create_from_paper(db, study_id: str, arm: str, punctures: int | None, *, actor: str, now: datetime) -> int:
    """A participant known only from paper records: no phone or procedure date, so no reminders.
    Inside the caller's transaction; audited."""
    participant_id = participants.insert(db, _paper_participant(study_id, arm, punctures, actor=actor,
                                                                enrolled_at=utc_iso(now)))
    record(db, **_enrolled_from_paper(study_id, arm, actor=actor, now=now)._asdict())
    return participant_id


def _paper_participant(study_id: str, arm: str, punctures: int | None, *, actor: str, enrolled_at: str) -> dict:
    """``enrolled_at``: utc_iso of the time, made once for all of an import's participants."""
    return {"study_id": study_id, "arm": arm, "phone": None, "timezone": "UTC", "language": "en",
            "procedure_date": None, "punctures": punctures, "allocation": "external",
            "allocation_reason": "imported from paper records", "enrolled_at": enrolled_at, "enrolled_by": actor}


def _enrolled_from_paper(study_id: str, arm: str, *, actor: str, now: datetime) -> audit.Entry:
    return audit.Entry(at=now, actor=actor, action="enroll", entity="participant", entity_id=study_id,
                       after={"arm": arm, "source": "import"})


def import_dataset(db, protocol: Protocol, data: bytes, *, actor: str, now: datetime) -> dict[str, int]:
    """Validate the whole file, then store it in one transaction; nothing on any problem.

    Raises reports.importer.ImportError_ with every problem (row, column, message). The writes
    are a few set-based statements (storage.bulk) whatever the size of the file.
    """
    enrolled = participants.arms_by_study_id(db)
    parsed = importer.parse(data, protocol, enrolled)
    counts = {"participants_created": 0, "answers_stored": 0, "answers_unchanged": 0}
    stored_at = utc_iso(now)
    with write(db):
        ids = bulk.participant_ids(db, parsed.arms)
        already_enrolled = set(ids)
        created = [study_id for study_id in parsed.arms if study_id not in already_enrolled]
        bulk.insert_participants(db, (_paper_participant(study_id, parsed.arms[study_id], parsed.punctures.get(study_id),
                                                         actor=actor, enrolled_at=stored_at) for study_id in created))
        audit.record_many(db, [_enrolled_from_paper(study_id, parsed.arms[study_id], actor=actor, now=now)
                               for study_id in created])
        counts["participants_created"] = len(created)
        ids.update(bulk.participant_ids(db, created))
        earlier = _earlier_answers(db, parsed, ids, already_enrolled)
        counts["answers_unchanged"] = len(earlier)
        # The file's answers as its parse holds them: plain tuples in Answer's order, whose [1:4] is
        # (study_id, timepoint, instrument).
        new = [row for row in parsed.answers.rows if row[1:4] not in earlier] if earlier else parsed.answers.rows
        versions = {name: instrument.version for name, instrument in protocol.instruments.items()}
        bulk.insert_first_versions(db, new, versions=versions, source="paper", submitted_at=now, recorded_by=actor)
        counts["answers_stored"] = len(new)
        if already_enrolled:  # participants created here have no schedule to complete
            bulk.mark_answered_timepoints_completed(db, [ids[study_id] for study_id in already_enrolled],
                                                    {tp.id: tp.instruments for tp in protocol.timepoints}, now)
        record(db, at=now, actor=actor, action="import", entity="dataset", entity_id="csv", after=counts)
    return counts


def _earlier_answers(db, parsed: importer.Parsed, ids: dict[str, int], already_enrolled: set[str]) -> set[tuple]:
    """The (study_id, timepoint, instrument) of the file's answers that are already stored, the
    same; raises ImportError_ (rolling the transaction back) naming each that is stored different."""
    if not already_enrolled:
        return set()
    in_file = {(ids[a.study_id], a.timepoint, a.instrument): a for a in parsed.answers if a.study_id in already_enrolled}
    stored = {}
    for participant_id, timepoint, instrument, answers in bulk.newest_answers_of(db, [ids[s] for s in already_enrolled]):
        if (participant_id, timepoint, instrument) in in_file:
            stored[participant_id, timepoint, instrument] = answers
    same, conflicts = set(), []
    for key, answer in in_file.items():  # in file order, so the problems are too
        if key not in stored:
            continue
        if stored[key] == json.loads(answer.answers):
            same.add((answer.study_id, answer.timepoint, answer.instrument))
        else:
            conflicts.append(importer.Problem(
                answer.row, answer.instrument, f"{answer.study_id} already has a different {answer.instrument} "
                f"answer at {answer.timepoint}: correct it as a new version, not by import"))
    if conflicts:
        raise importer.ImportError_(conflicts)
    return same
