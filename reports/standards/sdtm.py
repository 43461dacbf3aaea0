"""The SDTM QS domain (questionnaires): one record per answered question per visit, as SAS
transport v5 (.xpt, the format a regulatory submission takes) or as CSV.

Records: the VAS (pain intensity, QSCAT PI), each answered ODI section and the ODI total (a derived
record, sponsor-defined code), and the two satisfaction items; codes in reports.standards.terminology.
The medication form is not a questionnaire and has no QS record. A question left blank has no
record (QSSTAT is not among the variables this export carries).

- QSORRES is the answer as given: the VAS in cm, the ODI statement chosen, the satisfaction level;
  QSSTRESC / QSSTRESN the long CSV's value, as text and as a number.
- VISIT is the protocol timepoint's label in capitals, VISITNUM its place in the protocol (1, 2, ...).
- QSDTC is when the form was sent, in the participant's own time zone (ISO 8601, no offset), as
  a site records a collection date; blank for paper forms, whose collection time is unknown.
- QSDY counts days from the procedure date (the reference start date): day 1 is the procedure
  date, the day before is -1; there is no day 0 (SDTMIG 3.x, --DY).
"""
from __future__ import annotations

from array import array
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from questionnaires.odi import SECTIONS
from questionnaires.protocol import Protocol
from questionnaires.satisfaction import LEVEL_LABELS
from reports import export
from reports.standards import source, terminology
from reports.variables import Variable

DOMAIN = "QS"
DATASET_LABEL = "Questionnaires"
# The variables, in this order, with their SDTMIG labels (at most 40 characters: XPT v5).
VARIABLES = (
    Variable("STUDYID", "Study Identifier", "string"),
    Variable("DOMAIN", "Domain Abbreviation", "string"),
    Variable("USUBJID", "Unique Subject Identifier", "string"),
    Variable("QSSEQ", "Sequence Number", "integer"),
    Variable("QSTESTCD", "Question Short Name", "string"),
    Variable("QSTEST", "Question Name", "string"),
    Variable("QSCAT", "Category of Question", "string"),
    Variable("QSORRES", "Finding in Original Units", "string"),
    Variable("QSSTRESC", "Character Result/Finding in Std Format", "string"),
    Variable("QSSTRESN", "Numeric Finding in Standard Units", "decimal"),
    Variable("VISIT", "Visit Name", "string"),
    Variable("VISITNUM", "Visit Number", "integer"),
    Variable("QSDTC", "Date/Time of Finding", "datetime"),
    Variable("QSDY", "Study Day of Finding", "integer"),
)
NAMES = tuple(v.name for v in VARIABLES)
NUMERIC = ("QSSEQ", "QSSTRESN", "VISITNUM", "QSDY")
# SAS transport v5 limits (SAS TS-140): names and the dataset name 8 characters, labels 40,
# character values 200 bytes.
XPT_NAME_MAX, XPT_LABEL_MAX, XPT_CHAR_MAX = 8, 40, 200
INSTRUMENT_OF = {"vas": "vas", "odi_score": "odi", "sat_procedure": "satisfaction", "sat_results": "satisfaction",
                 **{section.field: "odi" for section in SECTIONS}}


def records(db, protocol: Protocol) -> Iterator[dict]:
    """The QS records, a participant at a time, ordered by USUBJID, VISITNUM and question.
    Numbers are numbers (None when missing); text is text."""
    coded = terminology.coded_columns(protocol)
    columns = terminology.qs_columns(protocol)
    statements = {section.field: section.statements for section in SECTIONS}
    visits = [(tp.id, tp.label.upper(), number) for number, tp in enumerate(protocol.timepoints, 1)]
    study = protocol.id
    for participant in source.stream(db, protocol):
        person = participant.person
        usubjid = f"{study}-{participant.study_id}"
        zone = ZoneInfo(person["timezone"] or "UTC")
        reference = date.fromisoformat(person["procedure_date"]) if person["procedure_date"] else None
        sequence = 0
        for row, (timepoint, visit, visitnum) in zip(participant.rows, visits):
            for column in columns:
                value = row[column]
                if not value:
                    continue
                form = participant.forms.get((timepoint, INSTRUMENT_OF[column]))
                collected = _local(form, zone)
                sequence += 1
                code = coded[column]
                if column in statements:
                    original = statements[column][int(value)]
                elif column in terminology.SATISFACTION_TESTS:
                    original = LEVEL_LABELS[int(value)]
                else:
                    original = value
                yield {"STUDYID": study, "DOMAIN": DOMAIN, "USUBJID": usubjid, "QSSEQ": sequence,
                       "QSTESTCD": code.qstestcd, "QSTEST": code.qstest, "QSCAT": code.qscat, "QSORRES": original,
                       "QSSTRESC": value, "QSSTRESN": float(value), "VISIT": visit, "VISITNUM": visitnum,
                       "QSDTC": collected.isoformat(timespec="seconds") if collected else "",
                       "QSDY": study_day(collected.date(), reference) if collected and reference else None}


def _local(form: dict | None, zone: ZoneInfo) -> datetime | None:
    """When the form was sent, on the participant's clock, without an offset; None for paper."""
    if form is None or form["source"] == "paper":
        return None
    return datetime.fromisoformat(form["submitted_at"]).astimezone(zone).replace(tzinfo=None)


def study_day(day: date, reference: date) -> int:
    """SDTM study day: the reference date is day 1, the day before it -1; there is no day 0."""
    offset = (day - reference).days
    return offset + 1 if offset >= 0 else offset


def _text(record: dict) -> dict[str, str]:
    out = {}
    for name in NAMES:
        value = record[name]
        if value is None:
            out[name] = ""
        elif name == "QSSTRESN":
            out[name] = record["QSSTRESC"]    # the number as the long CSV writes it
        else:
            out[name] = str(value)
    return out


def text_records(db, protocol: Protocol) -> Iterator[dict[str, str]]:
    """The QS records as the CSV writes them: blank for missing, numbers as the long CSV has them."""
    return (_text(record) for record in records(db, protocol))


def write_csv(db, protocol: Protocol, path: Path) -> int:
    """The QS records as CSV (formula-like cells neutralised as in every CSV export)."""
    with open(path, "w", encoding="utf-8", newline="") as out:
        return export.write_csv(text_records(db, protocol), NAMES, out)


def write_xpt(db, protocol: Protocol, path: Path) -> int:
    """The QS records as SAS transport v5 (pyreadstat), dataset QS.

    pyreadstat writes a whole DataFrame, so the records are gathered first, compactly: numbers
    as packed doubles, text as category codes (4 bytes a cell, each distinct value kept once).
    """
    import numpy as np
    import pandas as pd
    import pyreadstat

    numbers = {name: array("d") for name in NUMERIC}
    codes = {name: array("i") for name in NAMES if name not in NUMERIC}
    levels: dict[str, dict[str, int]] = {name: {} for name in codes}
    nan = float("nan")
    for record in records(db, protocol):
        for name, values in numbers.items():
            value = record[name]
            values.append(nan if value is None else value)
        for name, values in codes.items():
            seen = levels[name]
            text = record[name]
            code = seen.get(text)
            if code is None:
                code = seen[text] = len(seen)
            values.append(code)
    for name, seen in levels.items():
        too_long = [text for text in seen if len(text.encode("utf-8")) > XPT_CHAR_MAX]
        if too_long:
            raise ValueError(f"{name}: {too_long[0][:40]!r}... is over the {XPT_CHAR_MAX} bytes of SAS transport v5")
    columns = {}
    for name in NAMES:
        if name in numbers:
            columns[name] = np.frombuffer(numbers[name], dtype=float) if numbers[name] else np.array([], dtype=float)
        else:
            columns[name] = pd.Categorical.from_codes(np.frombuffer(codes[name], dtype=np.int32)
                                                      if codes[name] else np.array([], dtype=np.int32),
                                                      categories=list(levels[name]))
    frame = pd.DataFrame(columns, copy=False)
    del columns, numbers, codes   # whatever the frame copied is no longer needed while it is written
    pyreadstat.write_xport(frame, str(path), file_label=DATASET_LABEL, table_name=DOMAIN, file_format_version=5,
                           column_labels={v.name: v.label for v in VARIABLES})
    return len(frame)
