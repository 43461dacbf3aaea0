"""The scored dataset's rows: one per participant per timepoint (long), or one per participant (wide).

Rows are lists of text in the columns' order (``reports.dataset.columns``; blank = missing), built
by one formatter (``RowBuilder``) that every export shares: the CSVs, the XLSX, the .sav and the
standards (ODM, SDTM, FHIR). A list is what a writer takes, so a row costs a list copy and the
cells it fills, not a dict of a hundred keys picked apart again by name.

They come out as a stream, a participant at a time, merged from three queries ordered by study_id
(participants, their newest answers, their windows) and the clinician forms: a few set-based
queries whatever the size of the trial, and memory flat.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import lru_cache
from itertools import groupby
from operator import itemgetter

from questionnaires.medication import MAX_ROWS
from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.protocol import Protocol
from reports import clinical_dataset
from reports.dataset import (
    IDENTIFIABLE_COLUMNS,
    INSTRUMENT_VERSION_COLUMNS,
    MED_COLUMNS,
    PARTICIPANT_COLUMNS,
    SCORE_DECIMALS,
    VAS_DECIMALS,
    columns,
    wide_columns,
    wide_variables,
)
from reports.derived import nsaid_reduction
from reports.variables import score_text as _score
from storage import participants, responses

# An answer's fields, as responses.newest_lists_by_study_id gives them.
(TIMEPOINT, INSTRUMENT, INSTRUMENT_VERSION, ANSWERS, SCORES, SOURCE, SUBMITTED_AT, VERSION,
 CORRECTED_REASON) = (responses.EXPORTED.index(name) for name in (
    "timepoint", "instrument", "instrument_version", "answers", "scores", "source", "submitted_at", "version",
    "corrected_reason"))


_submitted_at, _version, _source = itemgetter(SUBMITTED_AT), itemgetter(VERSION), itemgetter(SOURCE)


class _Texts(dict):
    """Whole numbers as text, looked up: the small ones (an ODI item, a satisfaction level, a
    count, a version) are made once and shared. An export writes hundreds of thousands of them,
    and a string made for each, then freed, was a good part of a row's cost."""

    def __missing__(self, value: int) -> str:
        return str(value)


_TEXT = _Texts({None: "", **{n: str(n) for n in range(101)}})
# Every value the VAS takes, 0.0-10.0 cm in tenths, as text; any other is formatted.
_VAS_TEXT = {mm / 10: f"{mm / 10:.{VAS_DECIMALS}f}" for mm in range(101)}


def _text(value: int | None) -> str:
    """str() of a whole number, blank for None. Only an int or None is looked up: True and 1.0
    equal 1, and must not read as "1"."""
    return _TEXT[value] if type(value) is int or value is None else str(value)


class RowBuilder:
    """Fills a row (a list in the order of ``names``) from one timepoint's newest answers.

    The positions of the cells are found once; each row then costs the assignments of the cells
    its answers give."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self.names = names
        self.at = {name: index for index, name in enumerate(names)}
        at = self.at.__getitem__
        self.blank = [""] * len(names)
        self.timepoint = at("timepoint")
        self.vas, self.vas_mode = at("vas"), at("vas_mode")
        first_odi = at(ODI_FIELDS[0])
        if [at(field) for field in ODI_FIELDS] != list(range(first_odi, first_odi + len(ODI_FIELDS))):
            raise ValueError("the ODI sections must be adjacent columns, in order")
        self.odi_cells = slice(first_odi, first_odi + len(ODI_FIELDS))
        self.odi_score, self.odi_answered, self.odi_band = at("odi_score"), at("odi_answered"), at("odi_band")
        self.sat = (at("sat_procedure"), at("sat_results"))
        self.nsaid, self.mme, self.paracetamol = at("nsaid_mg_day"), at("mme_mg_day"), at("paracetamol_mg_day")
        self.reduction, self.took_any = at("nsaid_reduction_pct"), at("med_took_any")
        if [at(column) for column in MED_COLUMNS] != list(range(self.took_any, self.took_any + len(MED_COLUMNS))):
            raise ValueError("the medication form's columns must be adjacent, in order")
        self.instrument_version = {instrument: at(column) for instrument, column in INSTRUMENT_VERSION_COLUMNS.items()}
        self.vas_version, self.odi_version, self.sat_version, self.med_version = (
            self.instrument_version[name] for name in ("vas", "odi", "satisfaction", "medication"))
        self.submitted_at, self.version, self.corrected_reason = at("submitted_at"), at("version"), at("corrected_reason")
        self.source = at("source")
        self.completed_at, self.reminder_channel = at("completed_at"), at("reminder_channel")

    def participant(self, person: Mapping, clinical: Mapping[str, str], identifiable: bool) -> list[str]:
        """What every row of a participant repeats: who they are, and their clinician variables."""
        row = self.blank.copy()
        at = self.at.__getitem__
        row[at("study_id")], row[at("arm")] = person["study_id"], person["arm"]
        row[at("punctures")] = "" if person["punctures"] is None else str(person["punctures"])
        row[at("stratum")] = person["stratum"] or ""
        row[at("allocation")], row[at("participant_status")] = person["allocation"], person["status"]
        if identifiable:
            for key in IDENTIFIABLE_COLUMNS:
                row[at(key)] = "" if person.get(key) is None else str(person[key])
        for key, value in clinical.items():
            row[at(key)] = value
        return row

    def row(self, base: list[str], timepoint: str, answers: Mapping[str, list], window: Mapping | None,
            nsaid_reduction_value: float | None) -> list[str]:
        """``base`` with one timepoint's answers (by instrument, each a list in responses.EXPORTED's
        order), its window (completed_at, reminder_channel) and the reduction of NSAID use since
        baseline."""
        row = base.copy()
        row[self.timepoint] = timepoint
        if window and window["completed_at"]:
            row[self.completed_at] = window["completed_at"]
            row[self.reminder_channel] = window["reminder_channel"] or ""
        if not answers:
            return row
        if vas := answers.get("vas"):
            cm = vas[SCORES]["vas_cm"]
            row[self.vas] = "" if cm is None else _VAS_TEXT.get(cm) or f"{cm:.{VAS_DECIMALS}f}"
            row[self.vas_mode], row[self.vas_version] = vas[SCORES]["vas_mode"], vas[INSTRUMENT_VERSION]
        if odi := answers.get("odi"):
            given, scores = odi[ANSWERS], odi[SCORES]
            chosen = list(map(given.get, ODI_FIELDS))
            # Validated answers hold whole numbers (or None), never a bool or a float, so each
            # is looked up as it is (_text's check, made per cell, cost more than the lookup).
            row[self.odi_cells] = map(_TEXT.__getitem__, chosen)
            score = scores["odi_score"]   # None (blank) under the protocol's min_sections
            row[self.odi_score] = "" if score is None else f"{score:.{SCORE_DECIMALS}f}"
            row[self.odi_answered] = _text(scores["odi_answered"])
            row[self.odi_band], row[self.odi_version] = scores["odi_band"] or "", odi[INSTRUMENT_VERSION]
        if sat := answers.get("satisfaction"):
            given = sat[ANSWERS]
            row[self.sat[0]], row[self.sat[1]] = _text(given["sat_procedure"]), _text(given["sat_results"])
            row[self.sat_version] = sat[INSTRUMENT_VERSION]
        if med := answers.get("medication"):
            scores, given = med[SCORES], med[ANSWERS]
            row[self.nsaid] = _score(scores.get("nsaid_mg_day"))
            row[self.mme] = _score(scores.get("mme_mg_day"))
            row[self.paracetamol] = _score(scores.get("paracetamol_mg_day"))
            row[self.reduction] = _score(nsaid_reduction_value)
            row[self.med_version] = med[INSTRUMENT_VERSION]
            if "items" in given:  # the form's rows; a paper form may give daily totals only
                cells = [given["took_any"]]
                for item in given["items"][:MAX_ROWS]:
                    cells += (item["drug"], _score(item["strength_mg"]), _text(item["doses_per_day"]))
                row[self.took_any:self.took_any + len(cells)] = cells
        if len(answers) == 1:
            (instrument, answer), = answers.items()
            row[self.submitted_at], row[self.source] = answer[SUBMITTED_AT], answer[SOURCE]
            row[self.version] = _text(answer[VERSION])
            if answer[VERSION] > 1 and answer[CORRECTED_REASON]:
                row[self.corrected_reason] = f"{instrument}: {answer[CORRECTED_REASON]}"
            return row
        given = answers.values()
        row[self.submitted_at] = max(map(_submitted_at, given))
        newest = max(map(_version, given))
        row[self.version] = _text(newest)
        if newest > 1:
            row[self.corrected_reason] = "; ".join([
                f"{name}: {answers[name][CORRECTED_REASON]}" for name in sorted(answers)
                if answers[name][VERSION] > 1 and answers[name][CORRECTED_REASON]])
        sources = set(map(_source, given))
        row[self.source] = sources.pop() if len(sources) == 1 else ",".join(sorted(sources))
        return row


def answer_cells(names: tuple[str, ...], timepoint: str, answers: Mapping[str, dict]) -> dict[str, str]:
    """The cells one timepoint's answers give, by column name, everything else blank: how an earlier
    version of an answer reads (the ODM audit trail), formatted as the long file formats the newest."""
    builder = _builder(names)
    given = {instrument: [answer.get(key) for key in responses.EXPORTED] for instrument, answer in answers.items()}
    return dict(zip(names, builder.row(builder.blank, timepoint, given, None, None)))


_builder = lru_cache(maxsize=8)(RowBuilder)


def _by_study_id(rows: Iterator) -> Iterator[tuple[str, list]]:
    """(study_id, its rows) from rows ordered by study_id."""
    for study_id, group in groupby(rows, key=lambda row: row["study_id"]):
        yield study_id, list(group)


def nsaid_of(answers: Mapping[str, list]) -> float | None:
    """NSAID mg/day from one timepoint's answers (by instrument), if the medication form is there."""
    medication = answers.get("medication")
    return None if medication is None else medication[SCORES].get("nsaid_mg_day")


def long_lists(db, protocol: Protocol, identifiable: bool = False) -> Iterator[list[str]]:
    """One row per participant per protocol timepoint, as a list in ``columns(identifiable)``'s
    order, streamed.

    Three queries in all, each ordered by study_id (participants, their newest answers, their
    windows with the channel of the reminder behind each completed one), and the clinician forms,
    merged a participant at a time: memory stays flat however big the trial."""
    builder = RowBuilder(columns(identifiable))
    answer_groups = responses.newest_lists_by_study_id(db)
    window_groups = _by_study_id(participants.windows_by_study_id(db))
    clinical_groups = clinical_dataset.grouped(db)
    next_answers, next_windows = next(answer_groups, None), next(window_groups, None)
    next_clinical = next(clinical_groups, None)
    timepoints, baseline, medication = protocol.timepoint_ids, protocol.baseline.id, "medication"
    no_answers: dict = {}
    for person in participants.every(db):
        study_id = person["study_id"]
        records: list[list] = []
        if next_clinical and next_clinical[0] == study_id:
            records, next_clinical = next_clinical[1], next(clinical_groups, None)
        base = builder.participant(person, clinical_dataset.values(person, records, protocol, identifiable),
                                   identifiable)
        by_timepoint: dict[str, dict[str, dict]] = {}
        if next_answers and next_answers[0] == study_id:
            for answer in next_answers[1]:
                by_timepoint.setdefault(answer[TIMEPOINT], {})[answer[INSTRUMENT]] = answer
            next_answers = next(answer_groups, None)
        windows: dict[str, Mapping] = {}
        if next_windows and next_windows[0] == study_id:
            windows = {row["timepoint"]: row for row in next_windows[1]}
            next_windows = next(window_groups, None)
        baseline_nsaid = nsaid_of(by_timepoint.get(baseline, no_answers))
        for timepoint in timepoints:
            answers = by_timepoint.get(timepoint, no_answers)
            reduction = (nsaid_reduction(protocol, timepoint, baseline_nsaid, nsaid_of(answers))
                         if medication in answers else None)
            yield builder.row(base, timepoint, answers, windows.get(timepoint), reduction)


def long_rows(db, protocol: Protocol, identifiable: bool = False) -> Iterator[dict[str, str]]:
    """``long_lists`` as dicts by column name, for a reader that picks cells by name."""
    names = columns(identifiable)
    return (dict(zip(names, row)) for row in long_lists(db, protocol, identifiable))


def wide_rows(db, protocol: Protocol) -> Iterator[list[str]]:
    """One row per participant, e.g. vas_month1, as a list in ``wide_columns``' order, streamed
    from the long rows."""
    names, wide = columns(), wide_columns(protocol)
    at, to = {name: i for i, name in enumerate(names)}, {name: i for i, name in enumerate(wide)}
    kept = [[(at[variable], to[f"{variable}_{tp.id}"]) for variable in wide_variables(protocol, tp)]
            for tp in protocol.timepoints]
    shared = [(at[key], to[key]) for key in PARTICIPANT_COLUMNS + clinical_dataset.CLINICAL_COLUMNS]
    study_id, width = at["study_id"], len(wide)
    per_participant = len(protocol.timepoints)
    rows = long_lists(db, protocol)
    while first := next(rows, None):
        current = [""] * width
        for source, target in shared:
            current[target] = first[source]
        group = [first, *(next(rows) for _ in range(per_participant - 1))]
        for row, cells in zip(group, kept):
            if row[study_id] != first[study_id]:   # long_lists gives every timepoint of a participant, in order
                raise RuntimeError(f"long rows out of step at {first[study_id]!r}")
            for source, target in cells:
                current[target] = row[source]
        yield current
