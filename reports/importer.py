"""Reading paper-collected data in the long CSV layout: validate the whole file first.

Every problem is reported with its row (as a spreadsheet numbers it: the header is row 1) and
column; if there is any, nothing is imported. ODI and satisfaction items are answers and the ODI
score is recomputed from them (a given odi_score must agree); nsaid_mg_day and mme_mg_day are the
daily totals a paper form records, or, when the raw medication columns are there too, are
recomputed from them and must agree.

A file of 120,000 rows is read in about a second: the usual cells (an ODI item "0".."5", a
punctures count, a study ID already seen with its arm) pass with a lookup each, and anything else
goes through the full checks, which give the message. tests/test_import_fast_paths.py shows the
two agree, cell by cell and file by file.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache, partial
from operator import itemgetter
from typing import Any, NamedTuple

from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.protocol import Protocol
from reports import clinical_dataset, dataset
from reports.import_checks import CHECKERS, odi_fast, whole_number
from storage.db import stored_json

REQUIRED = ("study_id", "arm", "timepoint")
STUDY_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# Columns an export writes that this import does not read: derived values, identifiers, and the
# clinician variables (`crf import` reads those).
IGNORED = set(dataset.EXTRA_COLUMNS) - set(dataset.MED_COLUMNS) - {"vas_mode", "punctures"} | set(
    dataset.IDENTIFIABLE_COLUMNS) | set(clinical_dataset.CLINICAL_COLUMNS) | set(clinical_dataset.CLINICAL_IDENTIFIABLE) \
    | set(dataset.CORRECTION_COLUMNS)
KNOWN = set(dataset.FIXED_COLUMNS) | set(dataset.MED_COLUMNS) | {"vas_mode", "punctures"} | IGNORED
# The instruments a row may hold, in the order they are checked: every column its check reads, and
# how many of them, from the first, make it present (a given value in any). vas_mode alone is no VAS.
ODI_COLUMNS = (*ODI_FIELDS, "odi_score")
SATISFACTION_COLUMNS = ("sat_procedure", "sat_results")
MEDICATION_COLUMNS = ("nsaid_mg_day", "mme_mg_day", *dataset.MED_COLUMNS)
INSTRUMENT_COLUMNS = {
    "vas": (("vas", "vas_mode"), 1),
    "odi": (ODI_COLUMNS, len(ODI_COLUMNS)),
    "satisfaction": (SATISFACTION_COLUMNS, len(SATISFACTION_COLUMNS)),
    "medication": (MEDICATION_COLUMNS, len(MEDICATION_COLUMNS)),
}
# A check is a pure function of its columns, and a paper file repeats the same few values (one VAS
# of 101, 16 pairs of satisfaction, a few medication lines) many thousands of times: each distinct
# set of values is checked and encoded once. The ODI's values seldom repeat: only those its fast
# path leaves (import_checks.odi_fast) come here, and the bound keeps a file of all-different
# unusual ODI forms from growing the cache with it.
CHECKS_CACHED = 4096
# The usual punctures cells (1-6, or blank) and their values, read with one lookup; any other
# goes through whole_number (which reads "٣" too).
PUNCTURES: dict[str, int | None] = {"": None, **{str(n): n for n in range(1, 7)}}
# Every column a row's checks read, in the order a row's values are held; the others (IGNORED)
# are not even stripped.
READ = tuple(dict.fromkeys((*REQUIRED, "punctures", *(name for reads, _ in INSTRUMENT_COLUMNS.values()
                                                      for name in reads))))


@dataclass(frozen=True)
class Problem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" if self.row else "file"
        return f"{where}, column {self.column}: {self.message}" if self.column else f"{where}: {self.message}"


class Answer(NamedTuple):
    """One answer to store, as it is stored: answers and scores are JSON text (stored_json)."""

    row: int
    study_id: str
    timepoint: str
    instrument: str
    answers: str
    scores: str
    input_mode: str


class Answers(Sequence[Answer]):
    """The answers of a file, each an Answer when read, held as plain tuples: the garbage
    collector stops tracking a plain tuple of strings and numbers, never a NamedTuple, and each of
    its full passes went through all 300,000 answers of a large file (a quarter of the parse)."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [_answer(row) for row in self.rows[index]]
        return _answer(self.rows[index])

    def __iter__(self) -> Iterator[Answer]:
        return map(_answer, self.rows)


_answer = partial(tuple.__new__, Answer)   # Answer(*row) without NamedTuple's __new__, a Python function


@dataclass
class Parsed:
    """A validated file: participants to create, and the answers to store, in file order."""

    arms: dict[str, str] = field(default_factory=dict)
    punctures: dict[str, int | None] = field(default_factory=dict)
    answers: Answers = field(default_factory=Answers)


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
    read_text(data)  # refuses binary and non-UTF-8 data, naming the byte
    # Decoded a chunk at a time as the rows are read: neither a copy of the whole text nor
    # io.StringIO's (four bytes a character) is held while the rows' answers pile up.
    reader = csv.reader(io.TextIOWrapper(io.BytesIO(data), encoding="utf-8-sig", newline=""))
    try:
        header = next(reader, None) or []
    except csv.Error as exc:
        raise ImportError_([Problem(1, "", f"this is not a CSV file: {exc}")]) from None
    problems = [Problem(1, name, "this column is not in the dataset (see the codebook)")
                for name in header if name not in KNOWN]
    problems += [Problem(1, name, "this column appears twice") for name in {n for n in header if header.count(n) > 1}]
    problems += [Problem(1, name, "this column is required") for name in REQUIRED if name not in header]
    if problems:
        raise ImportError_(problems)
    rows = _Rows(protocol, enrolled_arms, header, problems)
    check, width, number = rows.checker(), len(header), 1
    # The cells of the READ columns, by position; a column the file leaves out reads as the blank
    # cell appended to every row.
    read = itemgetter(*(header.index(name) if name in header else width for name in READ))
    try:
        for cells in reader:
            if not cells:
                continue  # an empty line is no row, and is not counted (as csv.DictReader reads)
            number += 1
            if len(cells) > width:
                problems.append(Problem(number, "", "more cells than the header has columns"))
                continue
            if not any(map(str.strip, cells)):
                continue
            cells += [""] * (width + 1 - len(cells))
            check(number, tuple(map(str.strip, read(cells))))
    except csv.Error as exc:
        problems.append(Problem(reader.line_num, "", f"this is not valid CSV: {exc}"))
    if problems:
        raise ImportError_(problems)
    return rows.parsed


class _Rows:
    """The checks of one file's rows, and what they have gathered so far."""

    def __init__(self, protocol: Protocol, enrolled_arms: dict[str, str], header: list[str],
                 problems: list[Problem]):
        self.protocol, self.enrolled_arms, self.problems = protocol, enrolled_arms, problems
        self.parsed = Parsed()
        self.seen: dict[tuple[str, str], int] = {}
        self.timepoints = {tp.id: tp for tp in protocol.timepoints}
        self.arm_codes = protocol.arm_codes
        # Per instrument: its values in a row (in the order it reads them), whether they make it
        # present (any of the first ``presence`` given), the columns (of this file, sorted as
        # problems are listed) and the check, as a function of the values (_checker).
        self.instruments = [
            (instrument, itemgetter(*(READ.index(name) for name in reads)),
             any if presence == len(reads) else itemgetter(0) if presence == 1
             else lambda values, presence=presence: any(values[:presence]),
             sorted(set(reads[:presence]) & set(header)),
             _checker(instrument, reads, protocol.instruments.get(instrument)))
            for instrument, (reads, presence) in INSTRUMENT_COLUMNS.items()]

    def checker(self) -> Callable[[int, tuple[str, ...]], None]:
        """The check of one row, ``check(number, row)``: ``row`` holds the values of the READ
        columns, stripped ("" for a column the file leaves out). A closure over what it reads
        (a file has a hundred thousand rows)."""
        problems, parsed, seen, timepoints, instruments = (self.problems, self.parsed, self.seen, self.timepoints,
                                                           self.instruments)
        arms, add_answer = parsed.arms, parsed.answers.rows.append

        def check(number: int, row: tuple[str, ...]) -> None:
            study_id, arm, timepoint_id, punctures = row[0], row[1], row[2], row[3]
            timepoint, key = timepoints.get(timepoint_id), (study_id, timepoint_id)
            # A study ID already accepted with this arm on an earlier row passed every check of the
            # identifying columns that could fail on this one but the timepoint's.
            if (arms.get(study_id) != arm or timepoint is None or key in seen) \
                    and not self._identifies(number, study_id, arm, timepoint_id, timepoint, key):
                return
            seen[key] = number
            arms.setdefault(study_id, arm)
            value = PUNCTURES[punctures] if punctures in PUNCTURES else whole_number(punctures)
            if punctures and not 1 <= (value or 0) <= 6:
                problems.append(Problem(number, "punctures", "1-6, or blank"))
            parsed.punctures.setdefault(study_id, value)

            for instrument, values_of, present, columns, check_values in instruments:
                values = values_of(row)
                if not present(values):
                    continue
                if instrument not in timepoint.instruments:
                    for column in columns:
                        if row[READ.index(column)]:
                            problems.append(Problem(number, column, f"{instrument} is not given at {timepoint_id}"))
                    continue
                result, found = check_values(values)
                for column, message in found:
                    problems.append(Problem(number, column, message))
                if result is not None:
                    add_answer((number, study_id, timepoint_id, instrument, *result))
        return check

    def _identifies(self, number: int, study_id: str, arm: str, timepoint_id: str, timepoint: Any,
                    key: tuple[str, str]) -> bool:
        """Whether the row's study ID, arm and timepoint pass; each problem is added."""
        problems, parsed, protocol = self.problems, self.parsed, self.protocol
        before = len(problems)

        def problem(column: str, message: str) -> None:
            problems.append(Problem(number, column, message))

        if not STUDY_ID.match(study_id):
            problem("study_id", "1-32 letters, digits, - or _ is required")
        if arm not in self.arm_codes:
            problem("arm", f"unknown arm {arm!r} (known: {', '.join(self.arm_codes)})")
        elif study_id in self.enrolled_arms and self.enrolled_arms[study_id] != arm:
            problem("arm", f"{study_id} is enrolled in arm {self.enrolled_arms[study_id]}, not {arm}")
        elif study_id in parsed.arms and parsed.arms[study_id] != arm:
            problem("arm", f"{study_id} is in arm {parsed.arms[study_id]} on an earlier row")
        if timepoint is None:
            problem("timepoint", f"unknown timepoint {timepoint_id!r} (known: {', '.join(protocol.timepoint_ids)})")
        if key in self.seen:
            problem("timepoint", f"duplicate row: {study_id} {timepoint_id} is already on row {self.seen[key]}")
        return len(problems) == before


def _checker(name: str, reads: tuple[str, ...], instrument: Any) -> Callable:
    """The check of one instrument as a function of its values (see _cached). The ODI's values
    seldom repeat, so its common case goes through a fast path first and only the rest through
    the cache."""
    cached = _cached(CHECKERS[name], reads, instrument)
    if name != "odi":
        return cached
    return odi_fast(instrument, stored_json, otherwise=cached)


def _cached(checker: Callable, reads: tuple[str, ...], instrument: Any) -> Callable:
    """``checker`` as a function of the values of the columns it reads: (answers JSON, scores
    JSON, input mode) or None, and the (column, message) of each problem, in order."""
    @lru_cache(maxsize=CHECKS_CACHED)
    def check(values: tuple[str, ...]) -> tuple[tuple[str, str, str] | None, tuple[tuple[str, str], ...]]:
        found: list[tuple[str, str]] = []
        result = checker(dict(zip(reads, values)), lambda column, message: found.append((column, message)),
                         instrument)
        if result is None:
            return None, tuple(found)
        answers, scores, mode = result
        return (stored_json(answers), stored_json(scores), mode), tuple(found)
    return check
