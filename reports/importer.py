"""Reading paper-collected data in the long CSV layout: validate the whole file first.

Every problem is reported with its row (as a spreadsheet numbers it: the header is row 1) and
column; if there is any, nothing is imported. ODI and satisfaction items are answers and the ODI
score is recomputed from them (a given odi_score must agree); nsaid_mg_day and mme_mg_day are the
daily totals a paper form records, or, when the raw medication columns are there too, are
recomputed from them and must agree.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from typing import Any

from questionnaires import AnswerError
from questionnaires.medication import MAX_ROWS, row_fields
from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.protocol import Protocol
from reports import clinical_dataset, dataset

REQUIRED = ("study_id", "arm", "timepoint")
STUDY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
VAS_CM = re.compile(r"^(10(\.0)?|\d(\.\d)?)$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")
# Daily totals above these are not plausible doses: a typo, or mg/week written as mg/day.
MAX_NSAID_MG_DAY = 1000.0
MAX_MME_MG_DAY = 1000.0
TOTALS_TOLERANCE = 0.01
# Columns an export writes that this import does not read: derived values, identifiers, and the
# clinician variables (`crf import` reads those).
IGNORED = set(dataset.EXTRA_COLUMNS) - set(dataset.MED_COLUMNS) - {"vas_mode", "punctures"} | set(
    dataset.IDENTIFIABLE_COLUMNS) | set(clinical_dataset.CLINICAL_COLUMNS) | set(clinical_dataset.CLINICAL_IDENTIFIABLE)
KNOWN = set(dataset.FIXED_COLUMNS) | set(dataset.MED_COLUMNS) | {"vas_mode", "punctures"} | IGNORED


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, column {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


@dataclass
class Parsed:
    """A validated file: participants to create, and answers per (study_id, timepoint, instrument)."""

    arms: dict[str, str] = field(default_factory=dict)
    punctures: dict[str, int | None] = field(default_factory=dict)
    answers: list[tuple[int, str, str, str, dict, dict, str]] = field(default_factory=list)
    # (row, study_id, timepoint, instrument, answers, scores, input_mode)


class ImportError_(ValueError):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s); nothing was imported")


def read_text(data: bytes) -> str:
    if b"\x00" in data[:4096]:
        raise ImportError_([Problem(0, "", "this is not a CSV file (it holds binary data)")])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportError_([Problem(0, "", f"the file is not UTF-8 (byte {exc.start + 1} cannot be read); "
                                           "save it as CSV UTF-8")]) from None


def parse(data: bytes, protocol: Protocol, enrolled_arms: dict[str, str]) -> Parsed:
    """Validate everything; raise ImportError_ listing every problem, or return what to store.

    ``enrolled_arms``: study ID -> arm of participants already in the database.
    """
    text = read_text(data)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise ImportError_([Problem(1, "", f"this is not a CSV file: {exc}")]) from None
    problems = [Problem(1, name, "this column is not in the dataset (see the codebook)")
                for name in header if name not in KNOWN]
    problems += [Problem(1, name, "this column appears twice") for name in {n for n in header if header.count(n) > 1}]
    problems += [Problem(1, name, "this column is required") for name in REQUIRED if name not in header]
    if problems:
        raise ImportError_(problems)
    parsed = Parsed()
    seen: dict[tuple[str, str], int] = {}
    try:
        for number, row in enumerate(reader, start=2):
            if None in row:
                problems.append(Problem(number, "", "more cells than the header has columns"))
                continue
            row = {key: (value or "").strip() for key, value in row.items()}
            if not any(row.values()):
                continue
            _check_row(number, row, protocol, enrolled_arms, parsed, seen, problems)
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, "", f"this is not valid CSV: {exc}"))
    if problems:
        raise ImportError_(problems)
    return parsed


def _check_row(number: int, row: dict[str, str], protocol: Protocol, enrolled_arms: dict[str, str],
               parsed: Parsed, seen: dict, problems: list[Problem]) -> None:
    def problem(column: str, message: str) -> None:
        problems.append(Problem(number, column, message))

    study_id, arm, timepoint_id = row["study_id"], row["arm"], row["timepoint"]
    before = len(problems)
    if not STUDY_ID.match(study_id):
        problem("study_id", "1-32 letters, digits, - or _ is required")
    if arm not in protocol.arm_codes:
        problem("arm", f"unknown arm {arm!r} (known: {', '.join(protocol.arm_codes)})")
    elif study_id in enrolled_arms and enrolled_arms[study_id] != arm:
        problem("arm", f"{study_id} is enrolled in arm {enrolled_arms[study_id]}, not {arm}")
    elif study_id in parsed.arms and parsed.arms[study_id] != arm:
        problem("arm", f"{study_id} is in arm {parsed.arms[study_id]} on an earlier row")
    timepoint = protocol.timepoint(timepoint_id)
    if timepoint is None:
        problem("timepoint", f"unknown timepoint {timepoint_id!r} (known: {', '.join(protocol.timepoint_ids)})")
    if (study_id, timepoint_id) in seen:
        problem("timepoint", f"duplicate row: {study_id} {timepoint_id} is already on row {seen[(study_id, timepoint_id)]}")
    if len(problems) > before:
        return
    seen[(study_id, timepoint_id)] = number
    parsed.arms.setdefault(study_id, arm)
    punctures = row.get("punctures", "")
    if punctures and (not punctures.isdigit() or not 1 <= int(punctures) <= 6):
        problem("punctures", "1-6, or blank")
    parsed.punctures.setdefault(study_id, int(punctures) if punctures.isdigit() else None)

    given = {name for name in (*dataset.FIXED_COLUMNS[3:], *dataset.MED_COLUMNS) if row.get(name)}
    for instrument, columns in (("vas", {"vas"}), ("odi", {*ODI_FIELDS, "odi_score"}),
                                ("satisfaction", {"sat_procedure", "sat_results"}),
                                ("medication", {"nsaid_mg_day", "mme_mg_day", *dataset.MED_COLUMNS})):
        present = sorted(given & columns)
        if not present:
            continue
        if instrument not in timepoint.instruments:
            for column in present:
                problem(column, f"{instrument} is not given at {timepoint_id}")
            continue
        checker = {"vas": _vas, "odi": _odi, "satisfaction": _satisfaction, "medication": _medication}[instrument]
        result = checker(row, problem, protocol.instruments[instrument])
        if result is not None:
            answers, scores, mode = result
            parsed.answers.append((number, study_id, timepoint_id, instrument, answers, scores, mode))


def _vas(row, problem, instrument):
    mode = row.get("vas_mode") or "line"
    text = row["vas"]
    if mode not in ("line", "nrs"):
        problem("vas_mode", "line or nrs")
        return None
    if not VAS_CM.match(text) or (mode == "nrs" and not re.match(r"^\d+(\.0)?$", text)):
        problem("vas", f"{text!r} is out of range: cm from 0.0 to 10.0 with one decimal"
                       + (" (a whole number for the 0-10 scale)" if mode == "nrs" else ""))
        return None
    value = round(float(text) * 10) if mode == "line" else round(float(text))
    answers = instrument.validate({"mode": mode, "value": value})
    return answers, instrument.score(answers), mode


def _odi(row, problem, odi):
    items: dict[str, Any] = {}
    ok = True
    for field_name in ODI_FIELDS:
        text = row.get(field_name, "")
        if text and field_name not in odi.fields:
            problem(field_name, f"{text!r} given, but ODI version {odi.version} of this protocol has no section "
                                f"{field_name.removeprefix('odi_')}: leave it blank")
            ok = False
            continue
        if field_name not in odi.fields:
            continue
        if text and not (text.isdigit() and 0 <= int(text) <= 5):
            problem(field_name, f"{text!r} is out of range: 0-5, or blank")
            ok = False
        items[field_name] = int(text) if text.isdigit() else None
    if not ok:
        return None
    if all(value is None for value in items.values()):
        problem("odi_score", "given without the ODI items it is computed from")
        return None
    answers = odi.validate(items)
    scores = odi.score(answers)
    stated = row.get("odi_score", "")
    if stated:
        computed = scores["odi_score"]
        if computed is None:
            problem("odi_score", f"{stated} given, but only {scores['odi_answered']} sections are answered "
                                 f"(at least {odi.min_sections} are needed for a score)")
            return None
        if not DECIMAL.match(stated) or not _agrees(stated, computed):
            problem("odi_score", f"{stated} contradicts the items, which give {computed:.2f}")
            return None
    return answers, scores, "paper"


def _agrees(stated: str, computed: float) -> bool:
    """Equal at the precision written: "36", "35.6" and "35.56" all agree with 35.5556."""
    places = len(stated.split(".")[1]) if "." in stated else 0
    return abs(round(computed, places) - float(stated)) < 10 ** -(places + 3)


def _satisfaction(row, problem, instrument):
    answers = {"sat_procedure": row.get("sat_procedure", ""), "sat_results": row.get("sat_results", "")}
    try:
        clean = instrument.validate(answers)
    except AnswerError as exc:
        for column in exc.errors:
            value = answers.get(column, "")
            problem(column, f"{value!r} is out of range: 1-4" if value else
                    "both satisfaction items are needed when either is given")
        return None
    return clean, instrument.score(clean), "paper"


def _medication(row, problem, instrument):
    totals = {}
    for column, limit in (("nsaid_mg_day", MAX_NSAID_MG_DAY), ("mme_mg_day", MAX_MME_MG_DAY)):
        text = row.get(column, "")
        if text and (not DECIMAL.match(text) or float(text) > limit):
            problem(column, f"{text!r} is out of range: 0 to {limit:g} mg/day")
            return None
        totals[column] = float(text) if text else None
    if any(row.get(column) for column in dataset.MED_COLUMNS):
        form = {"took_any": row.get("med_took_any", "")}
        for n in range(1, MAX_ROWS + 1):
            drug, strength, doses = row_fields(n)
            form[drug] = row.get(f"med_{n}_drug", "")
            form[strength] = row.get(f"med_{n}_strength_mg", "")
            form[doses] = row.get(f"med_{n}_doses_per_day", "")
        try:
            answers = instrument.validate(form)
        except AnswerError as exc:
            for name, message in exc.errors.items():
                column = "med_took_any" if name == "took_any" else _med_column(name)
                problem(column, message)
            return None
        scores = instrument.score(answers)
        for column, stated in totals.items():
            if stated is not None and abs(stated - scores[column]) > TOTALS_TOLERANCE:
                problem(column, f"{stated:g} contradicts the medicines listed, which give {scores[column]:g}")
                return None
        return answers, scores, "paper"
    answers = {"daily_totals": totals}
    return answers, {**totals, "paracetamol_mg_day": None}, "daily_totals"


def _med_column(name: str) -> str:
    kind, n = name.rsplit("_", 1)
    return f"med_{n}_" + {"drug": "drug", "strength": "strength_mg", "doses": "doses_per_day"}[kind]

