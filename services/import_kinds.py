"""The three files the paper import takes (the long CSV of answers, clinician records, adverse
events): for each, its check, which is the command line's own parser summarised as a preview of
what the import will create, and its import, which is the command line's own service, all or
nothing. Neither adds a rule of its own: a file is refused for exactly what `dataset import`,
`crf import` and `crf import-events` refuse, listed by row and column (reports.importer.Problem).
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from questionnaires.crf import BASELINE_FORM, EVENT_FORM, EVENT_TYPES, PROCEDURE_FORM
from questionnaires.protocol import Protocol
from reports import crf_importer, importer
from reports.importer import ImportError_, Problem
from services import crf_import
from services import dataset as dataset_service
from storage import participants

# The preview names this many participants and shows this many of the file's first rows; the rest
# are counted.
LISTED_PARTICIPANTS = 50
FIRST_ROWS = 5
BOM = b"\xef\xbb\xbf"


def _answers(db, protocol: Protocol, data: bytes, now: datetime) -> dict:
    enrolled = participants.arms_by_study_id(db)
    parsed = importer.parse(data, protocol, enrolled)
    timepoints = [tp.id for tp in protocol.timepoints]
    instruments = list(protocol.instruments)
    forms = Counter((a.instrument, a.timepoint) for a in parsed.answers)
    order = sorted(forms, key=lambda key: (timepoints.index(key[1]), instruments.index(key[0])))
    return _summary(list(parsed.arms), enrolled, Counter(a.study_id for a in parsed.answers),
                    [(form, timepoint, forms[form, timepoint]) for form, timepoint in order])


def _records(db, protocol: Protocol, data: bytes, now: datetime) -> dict:
    enrolled = participants.arms_by_study_id(db)
    parsed = crf_importer.parse(data, protocol, enrolled, now.date())
    per_participant = Counter([*parsed.baseline, *parsed.procedure, *(study_id for _, study_id, _ in parsed.events)])
    events = Counter(event["event"] for _, _, event in parsed.events)
    forms = [(BASELINE_FORM, "", len(parsed.baseline)), (PROCEDURE_FORM, "", len(parsed.procedure))]
    forms += [(EVENT_FORM, kind, events[kind]) for kind in EVENT_TYPES if events[kind]]
    return _summary(list(parsed.arms), enrolled, per_participant, [form for form in forms if form[2]])


def _events(db, protocol: Protocol, data: bytes, now: datetime) -> dict:
    enrolled = participants.arms_by_study_id(db)
    parsed = crf_importer.parse_events(data, set(enrolled), now.date())
    per_participant = Counter(study_id for _, study_id, _ in parsed)
    events = Counter(event["event"] for _, _, event in parsed)
    return _summary(list(per_participant), enrolled, per_participant,
                    [(EVENT_FORM, kind, events[kind]) for kind in EVENT_TYPES if events[kind]])


def _summary(study_ids: list[str], enrolled: dict, per_participant: Counter, forms: list[tuple]) -> dict:
    new = [study_id for study_id in study_ids if study_id not in enrolled]
    return {"records": sum(count for _, _, count in forms), "participants": len(study_ids), "new": len(new),
            "new_listed": new[:LISTED_PARTICIPANTS],
            "by_participant": [[study_id, per_participant[study_id], study_id not in enrolled]
                               for study_id in study_ids[:LISTED_PARTICIPANTS]],
            "by_form": [list(form) for form in forms]}


@dataclass(frozen=True)
class Kind:
    check: Callable[..., dict]     # (db, protocol, data, now) -> the preview's counts; raises ImportError_
    run: Callable[..., dict]       # (db, protocol, data, actor, now) -> the import's counts; raises ImportError_
    entity_id: str                 # as the command line's import audits it


KINDS = {
    "answers": Kind(_answers, lambda db, protocol, data, actor, now: dataset_service.import_dataset(
        db, protocol, data, actor=actor, now=now), "csv"),
    "records": Kind(_records, lambda db, protocol, data, actor, now: crf_import.import_records(
        db, protocol, data, actor=actor, now=now), "crf"),
    "events": Kind(_events, lambda db, protocol, data, actor, now: crf_import.import_events(
        db, data, actor=actor, now=now), "events"),
}


def check(db, protocol: Protocol, kind: str, data: bytes, *, now: datetime) -> dict:
    """The preview of a file: what its import would create. Raises ImportError_ with every problem
    the command line would list (and for an empty file, which it would read as one without columns)."""
    if not data.removeprefix(BOM).strip():
        raise ImportError_([Problem(0, "", "the file is empty")])
    preview = KINDS[kind].check(db, protocol, data, now)
    return {**preview, **_first_rows(data)}


def _first_rows(data: bytes) -> dict:
    """The header and the first rows that hold something, with only the columns they fill."""
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))
    header = next(reader, [])
    rows = []
    for cells in reader:
        if any(cell.strip() for cell in cells):
            rows.append(cells)
        if len(rows) == FIRST_ROWS:
            break
    shown = [i for i in range(len(header)) if any(i < len(row) and row[i].strip() for row in rows)]
    return {"header": [header[i] for i in shown],
            "first_rows": [[row[i] if i < len(row) else "" for i in shown] for row in rows]}
