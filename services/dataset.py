"""Exporting the scored dataset (audited), and importing paper-collected data (all or nothing)."""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from questionnaires.protocol import Protocol
from reports import export, importer
from storage import participants, responses, write
from storage.audit import record
from storage.db import utc_iso


def export_dataset(db, protocol: Protocol, fmt: str, path: Path, *, actor: str, now: datetime,
                   identifiable: bool = False) -> int:
    """Write one data format to ``path``; returns the rows written. Every export is audited."""
    if fmt not in export.FORMATS:
        raise ValueError(f"format must be one of {', '.join(export.FORMATS)}")
    count = export.write_file(db, protocol, fmt, path, identifiable)
    audit_export(db, fmt, count, actor=actor, now=now, identifiable=identifiable)
    return count


def stream_text(db, connect: Callable[[], Any], protocol: Protocol, fmt: str, *, actor: str, now: datetime,
                identifiable: bool = False) -> Iterator[str]:
    """A CSV or codebook download as text chunks. A data export is audited before the first
    chunk (on ``db``); the rows are read a participant at a time on a connection of the
    stream's own, from ``connect``, which outlives the request that started it."""
    if not export.DOWNLOADS[fmt].text:
        raise ValueError(f"{fmt!r} is not a text format")
    if not export.DOWNLOADS[fmt].codebook:
        audit_export(db, fmt, None, actor=actor, now=now, identifiable=identifiable)

    def chunks() -> Iterator[str]:
        connection = connect()
        try:
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
    participant_id = participants.insert(db, {
        "study_id": study_id, "arm": arm, "phone": None, "timezone": "UTC", "language": "en",
        "procedure_date": None, "punctures": punctures, "allocation": "external",
        "allocation_reason": "imported from paper records", "enrolled_at": utc_iso(now), "enrolled_by": actor})
    record(db, at=now, actor=actor, action="enroll", entity="participant", entity_id=study_id,
           after={"arm": arm, "source": "import"})
    return participant_id


def import_dataset(db, protocol: Protocol, data: bytes, *, actor: str, now: datetime) -> dict[str, int]:
    """Validate the whole file, then store it in one transaction; nothing on any problem.

    Raises reports.importer.ImportError_ with every problem (row, column, message).
    """
    enrolled = participants.arms_by_study_id(db)
    parsed = importer.parse(data, protocol, enrolled)
    counts = {"participants_created": 0, "answers_stored": 0, "answers_unchanged": 0}
    with write(db):
        ids, already_enrolled = {}, set()
        for study_id, arm in parsed.arms.items():
            existing = participants.by_study_id(db, study_id)
            if existing is not None:
                already_enrolled.add(study_id)
            if existing is None:
                ids[study_id] = create_from_paper(db, study_id, arm, parsed.punctures.get(study_id), actor=actor,
                                                  now=now)
                counts["participants_created"] += 1
            else:
                ids[study_id] = existing["id"]
        conflicts = []
        # Only participants enrolled before this import can already have answers.
        earlier = {(study_id, tp.id): responses.latest(db, ids[study_id], tp.id)
                   for study_id in already_enrolled for tp in protocol.timepoints}
        for number, study_id, timepoint, instrument, answers, scores, mode in parsed.answers:
            current = earlier.get((study_id, timepoint), {}).get(instrument)
            if current is not None:
                if current["answers"] == answers:
                    counts["answers_unchanged"] += 1
                    continue
                conflicts.append(importer.Problem(number, instrument, f"{study_id} already has a different {instrument} "
                                                  f"answer at {timepoint}: correct it as a new version, not by import"))
                continue
            responses.insert_first(db, participant_id=ids[study_id], timepoint=timepoint, instrument=instrument,
                                   instrument_version=protocol.instruments[instrument].version, answers=answers, scores=scores,
                                   input_mode=mode, source="paper", submitted_at=now, recorded_by=actor)
            counts["answers_stored"] += 1
        if conflicts:
            raise importer.ImportError_(conflicts)  # rolls the whole transaction back
        for study_id in already_enrolled:  # participants created here have no schedule to complete
            participant_id = ids[study_id]
            for tp in protocol.timepoints:
                done = responses.latest(db, participant_id, tp.id)
                if done and all(name in done for name in tp.instruments):
                    participants.mark_completed(db, participant_id, tp.id, now)
        record(db, at=now, actor=actor, action="import", entity="dataset", entity_id="csv", after=counts)
    return counts
