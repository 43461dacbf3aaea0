"""Reading paper-collected clinician data: one row per participant (`crf import`), and adverse
events one row each (`crf import-events`). The whole file is validated first; every problem is
listed with its row and column, and then nothing is imported (reports.importer's conventions).
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date

from questionnaires import AnswerError
from questionnaires.crf import COMPLICATIONS, validate_baseline, validate_event, validate_procedure
from questionnaires.protocol import Protocol
from reports.importer import STUDY_ID, ImportError_, Problem, read_text

# The contract: these columns first, in this order.
COLUMNS = ("study_id", "arm", "age", "sex", "root_l3", "root_l4", "root_l5", "punctures", "si_side", "modality",
           "operative_min", "dap_mgycm2", "ctdivol_mgy", "dlp_mgycm", "contrast_extravasation", "complication")
EVENT_COLUMNS = ("study_id", "event", "onset_date", "grade", "serious", "related")
BASELINE_COLUMNS = {"age": "age", "sex": "sex", "root_l3": "root_l3", "root_l4": "root_l4", "root_l5": "root_l5"}
PROCEDURE_COLUMNS = {"punctures": "punctures", "si_side": "si_side", "modality": "guidance",
                     "operative_min": "operative_min", "dap_mgycm2": "dap_mgycm2", "ctdivol_mgy": "ctdivol_mgy",
                     "dlp_mgycm": "dlp_mgycm", "contrast_extravasation": "contrast_extravasation"}


@dataclass
class ParsedCrf:
    arms: dict[str, str] = field(default_factory=dict)
    punctures: dict[str, int | None] = field(default_factory=dict)
    baseline: dict[str, dict] = field(default_factory=dict)       # study_id -> record (fields given)
    procedure: dict[str, dict] = field(default_factory=dict)
    events: list[tuple[int, str, dict]] = field(default_factory=list)   # (row, study_id, event)


def _rows(data: bytes, required: tuple[str, ...], allowed: tuple[str, ...]):
    reader = csv.DictReader(io.StringIO(read_text(data), newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ImportError_([Problem(1, "", f"this is not a CSV file: {exc}")]) from None
    problems = [Problem(1, name, "this column is required") for name in required if name not in header]
    problems += [Problem(1, name, f"not a column of this file (columns: {', '.join(allowed)})")
                 for name in header if name not in allowed]
    problems += [Problem(1, name, "this column appears twice") for name in {n for n in header if header.count(n) > 1}]
    if problems:
        raise ImportError_(problems)
    try:
        for number, row in enumerate(reader, start=2):
            if None in row:
                yield number, None
                continue
            row = {key: (value or "").strip() for key, value in row.items()}
            if any(row.values()):
                yield number, row
    except csv.Error as exc:
        raise ImportError_([Problem(reader.line_num, "", f"this is not valid CSV: {exc}")]) from None


def _record_problems(number: int, columns: dict[str, str], exc: AnswerError, problems: list[Problem]) -> None:
    back = {field: column for column, field in columns.items()}
    for field_name, message in exc.errors.items():
        problems.append(Problem(number, back.get(field_name, field_name), message))


def parse(data: bytes, protocol: Protocol, enrolled_arms: dict[str, str], today: date) -> ParsedCrf:
    """One row per participant; ``enrolled_arms`` are those already in the database."""
    parsed, problems, seen = ParsedCrf(), [], {}
    for number, row in _rows(data, ("study_id", "arm"), COLUMNS):
        if row is None:
            problems.append(Problem(number, "", "more cells than the header has columns"))
            continue
        study_id, arm = row["study_id"], row["arm"]
        if not STUDY_ID.match(study_id):
            problems.append(Problem(number, "study_id", "1-32 letters, digits, - or _ is required"))
        elif study_id in seen:
            problems.append(Problem(number, "study_id", f"{study_id} is also on row {seen[study_id]}: one row each"))
        seen.setdefault(study_id, number)
        if arm not in protocol.arm_codes:
            problems.append(Problem(number, "arm", f"unknown arm {arm!r} (known: {', '.join(protocol.arm_codes)})"))
        elif study_id in enrolled_arms and enrolled_arms[study_id] != arm:
            problems.append(Problem(number, "arm",
                                    f"{study_id} is enrolled in arm {enrolled_arms[study_id]}, not {arm}"))
        baseline = {f: row[c] for c, f in BASELINE_COLUMNS.items() if row.get(c)}
        procedure = {f: row[c] for c, f in PROCEDURE_COLUMNS.items() if row.get(c)}
        try:
            if baseline:
                parsed.baseline[study_id] = validate_baseline(baseline, enrolled_on=today, complete=False)
        except AnswerError as exc:
            _record_problems(number, BASELINE_COLUMNS, exc, problems)
        try:
            if procedure:
                parsed.procedure[study_id] = validate_procedure(procedure, protocol.clinical, enrolled_on=None,
                                                                today=today, complete=False)
        except AnswerError as exc:
            _record_problems(number, PROCEDURE_COLUMNS, exc, problems)
        complication = row.get("complication", "")
        if complication and complication not in COMPLICATIONS:
            problems.append(Problem(number, "complication",
                                    f"{complication!r} is not one of {', '.join(COMPLICATIONS)}"))
        elif complication and complication != "none":
            parsed.events.append((number, study_id, validate_event({"event": complication}, enrolled_on=None,
                                                                   today=today, complete=False)))
        parsed.arms[study_id] = arm
        parsed.punctures[study_id] = parsed.procedure.get(study_id, {}).get("punctures")
    if problems:
        raise ImportError_(problems)
    return parsed


def parse_events(data: bytes, enrolled: set[str], today: date) -> list[tuple[int, str, dict]]:
    """One adverse event a row, each for a participant already in the database."""
    events, problems = [], []
    for number, row in _rows(data, EVENT_COLUMNS, EVENT_COLUMNS):
        if row is None:
            problems.append(Problem(number, "", "more cells than the header has columns"))
            continue
        if row["study_id"] not in enrolled:
            problems.append(Problem(number, "study_id", f"no participant {row['study_id']!r}: import them first"))
        try:
            events.append((number, row["study_id"], validate_event(
                {k: v for k, v in row.items() if k != "study_id"}, enrolled_on=None, today=today)))
        except AnswerError as exc:
            problems += [Problem(number, f, m) for f, m in exc.errors.items()]
    if problems:
        raise ImportError_(problems)
    return events
