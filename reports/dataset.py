"""The scored dataset: its columns, its codebook, and one row per participant per timepoint.

The first columns are a contract (scripts and the paper-data import rely on them, in this order):
study_id, arm, timepoint, vas, odi_1 ... odi_10, odi_score, sat_procedure, sat_results,
nsaid_mg_day, mme_mg_day. A blank always means missing. More columns follow.

Rows come out as a stream, a participant at a time, so an export's memory stays flat however big
the trial grows.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from itertools import groupby

from questionnaires.medication import DRUGS, MAX_ROWS
from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.odi import SECTIONS
from questionnaires.protocol import Protocol
from questionnaires.satisfaction import LEVEL_LABELS
from reports import clinical_dataset
from reports.derived import nsaid_reduction
from reports.variables import Variable, _number
from storage import participants, responses

FIXED_COLUMNS = ("study_id", "arm", "timepoint", "vas", *ODI_FIELDS, "odi_score", "sat_procedure", "sat_results",
                 "nsaid_mg_day", "mme_mg_day")
MED_COLUMNS = ("med_took_any", *(f"med_{n}_{part}" for n in range(1, MAX_ROWS + 1)
                                 for part in ("drug", "strength_mg", "doses_per_day")))
EXTRA_COLUMNS = ("vas_mode", "odi_answered", "odi_band", "nsaid_reduction_pct", "paracetamol_mg_day",
                 *MED_COLUMNS, "completed_at", "submitted_at", "source", "reminder_channel",
                 "vas_version", "odi_version", "satisfaction_version", "medication_version",
                 "punctures", "stratum", "allocation", "participant_status")
IDENTIFIABLE_COLUMNS = ("phone", "timezone", "language", "procedure_date", "enrolled_at", "withdrawn_at",
                        "allocation_reason", "withdrawal_reason")
COLUMNS = FIXED_COLUMNS + EXTRA_COLUMNS
# Last of all (after the clinician and identifying columns): whether a row's answers were corrected.
CORRECTION_COLUMNS = ("version", "corrected_reason")
# The variables of the wide file: one column per variable per timepoint, e.g. vas_month1.
WIDE_VARIABLES = FIXED_COLUMNS[3:] + ("vas_mode", "nsaid_reduction_pct", "completed_at", "source")
INSTRUMENT_VERSION_COLUMNS = {"vas": "vas_version", "odi": "odi_version", "satisfaction": "satisfaction_version",
                              "medication": "medication_version"}
VAS_DECIMALS = 1
SCORE_DECIMALS = 2


def codebook(protocol: Protocol, identifiable: bool = False) -> list[Variable]:
    """Every column of the long file, in order."""
    arms = tuple((arm.code, arm.label) for arm in protocol.arms)
    timepoints = tuple((tp.id, tp.label) for tp in protocol.timepoints)
    satisfaction = tuple(LEVEL_LABELS.items())
    variables = [
        Variable("study_id", "Participant study ID (pseudonym)", "string"),
        Variable("arm", "Allocated arm", "string", allowed=", ".join(f"{c} = {l}" for c, l in arms), value_labels=arms),
        Variable("timepoint", "Timepoint", "string", allowed=", ".join(t for t, _ in timepoints), value_labels=timepoints),
        Variable("vas", "Pain, visual analogue scale", "decimal", "cm", "0.0-10.0", "vas",
                 "line answer in mm / 10, one decimal; a 0-10 numeric answer (vas_mode nrs) as given"),
    ]
    odi = protocol.instruments["odi"]
    for section in SECTIONS:
        if section in odi.sections:
            variables.append(Variable(section.field, f"ODI section {section.number}: {section.title}", "integer",
                                      "", "0-5", "odi", "the statement chosen, 0 (least) to 5 (most disability)"))
        else:
            variables.append(Variable(section.field, f"ODI section {section.number}: {section.title}", "integer",
                                      "", "blank", "odi", f"not asked: ODI version {odi.version} has no such section"))
    variables += [
        Variable("odi_score", "Oswestry Disability Index", "decimal", "%", "0-100", "odi",
                 f"total / (5 x sections answered) x 100, when at least {odi.min_sections} of the "
                 f"{len(odi.sections)} sections are answered; else blank. {SCORE_DECIMALS} decimals"),
        Variable("sat_procedure", "Satisfaction with the procedure", "integer", "", "1-4", "satisfaction",
                 value_labels=satisfaction),
        Variable("sat_results", "Satisfaction with the results", "integer", "", "1-4", "satisfaction",
                 value_labels=satisfaction),
        Variable("nsaid_mg_day", "NSAID use, past 7 days", "decimal", "mg/day diclofenac equivalent", ">= 0",
                 "medication", "sum over NSAIDs of strength x doses/day x (100 mg / the drug's WHO ATC DDD)"),
        Variable("mme_mg_day", "Opioid use, past 7 days", "decimal", "oral morphine mg equivalents/day", ">= 0",
                 "medication", "sum over opioids of strength x doses/day x CDC 2022 conversion factor"),
        Variable("vas_mode", "How the VAS was answered", "string", allowed="line, nrs", instrument="vas",
                 value_labels=(("line", "100 mm line"), ("nrs", "0-10 numeric scale, no JavaScript"))),
        Variable("odi_answered", "ODI sections answered", "integer", "", f"0-{len(odi.sections)}", "odi"),
        Variable("odi_band", "ODI disability band", "string", "", "minimal, moderate, severe, crippled, bed-bound",
                 "odi", "0-20 minimal, 21-40 moderate, 41-60 severe, 61-80 crippled, 81-100 bed-bound"),
        Variable("nsaid_reduction_pct", "Reduction of NSAID use since baseline", "decimal", "%", "<= 100",
                 "medication", "(baseline nsaid_mg_day - this timepoint's) / baseline x 100; blank at baseline "
                               "or without NSAID use at baseline"),
        Variable("paracetamol_mg_day", "Paracetamol use, past 7 days", "decimal", "mg/day", ">= 0", "medication"),
        Variable("med_took_any", "Took any pain medicine in the past 7 days", "string", "", "yes, no", "medication"),
    ]
    drugs = ", ".join(drug.id for drug in DRUGS)
    for n in range(1, MAX_ROWS + 1):
        variables += [
            Variable(f"med_{n}_drug", f"Medicine {n}", "string", "", drugs, "medication"),
            Variable(f"med_{n}_strength_mg", f"Medicine {n}: strength of one dose", "decimal", "mg", "", "medication"),
            Variable(f"med_{n}_doses_per_day", f"Medicine {n}: doses per day", "integer", "", "1-12", "medication"),
        ]
    variables += [
        Variable("completed_at", "When every form of the timepoint was in (UTC)", "datetime"),
        Variable("submitted_at", "When the last form of the timepoint was sent (UTC)", "datetime"),
        Variable("source", "How the answers were collected", "string", allowed="web, sms, paper"),
        Variable("reminder_channel", "Channel of the reminder that led to the completed forms", "string",
                 allowed="sms, whatsapp", value_labels=(("sms", "SMS"), ("whatsapp", "WhatsApp")),
                 derivation="the channel of the newest reminder the provider accepted before the timepoint was "
                            "completed; blank when it was not completed, or no reminder went (e.g. baseline, "
                            "paper)"),
        Variable("vas_version", "VAS version", "string", instrument="vas"),
        Variable("odi_version", "ODI version", "string", instrument="odi"),
        Variable("satisfaction_version", "Satisfaction items version", "string", instrument="satisfaction"),
        Variable("medication_version", "Medication form version", "string", instrument="medication"),
        Variable("punctures", "Number of puncture points", "integer", "", "1-6"),
        Variable("stratum", "Randomization stratum (puncture points)", "string", "", "1-2, 3-4, 5-6"),
        Variable("allocation", "How the arm was allocated", "string", "", "randomized, external"),
        Variable("participant_status", "Participant status at export", "string", "", "active, withdrawn"),
    ]
    clinical = clinical_dataset.variables(identifiable)
    variables += clinical[:len(clinical_dataset.CLINICAL_COLUMNS)]
    if identifiable:
        variables += [
            Variable("phone", "Mobile number (E.164)", "string"),
            Variable("timezone", "Time zone (IANA)", "string"),
            Variable("language", "Language", "string"),
            Variable("procedure_date", "Procedure date", "date"),
            Variable("enrolled_at", "Enrolled at (UTC)", "datetime"),
            Variable("withdrawn_at", "Withdrawn at (UTC)", "datetime"),
            Variable("allocation_reason", "Why the arm was allocated outside the app (free text)", "string"),
            Variable("withdrawal_reason", "Why the participant withdrew (free text)", "string"),
        ]
        variables += clinical[len(clinical_dataset.CLINICAL_COLUMNS):]
    variables += [
        Variable("version", "Highest version among the timepoint's answers", "integer", "", ">= 1",
                 derivation="1 when no answer of the row was corrected; a correction stores a new version of an "
                            "answer (the old one kept) and the row carries the newest. Blank: no answers"),
        Variable("corrected_reason", "Why the row's answers were corrected (free text)", "string",
                 derivation="for each corrected answer, \"instrument: reason\" (the reason given for its newest "
                            "version), joined by \"; \" in instrument order; blank when none was corrected"),
    ]
    given_at = {name: ", ".join(tp.id for tp in protocol.timepoints if name in tp.instruments)
                for name in ("vas", "odi", "satisfaction", "medication")}
    given_at["clinician form"] = "once per participant (the same on each of their rows)"
    return [replace(v, timepoints=given_at[v.instrument] if v.instrument else "every timepoint")
            for v in variables]


def columns(identifiable: bool = False) -> tuple[str, ...]:
    """The long file's columns: the contract's, then extras, clinician variables, identifiers, and
    the answers' version and correction reason."""
    return (COLUMNS + clinical_dataset.CLINICAL_COLUMNS + (IDENTIFIABLE_COLUMNS if identifiable else ())
            + (clinical_dataset.CLINICAL_IDENTIFIABLE if identifiable else ()) + CORRECTION_COLUMNS)


def _by_study_id(rows: Iterator[dict]) -> Iterator[tuple[str, list[dict]]]:
    """(study_id, its rows) from rows ordered by study_id."""
    for study_id, group in groupby(rows, key=lambda row: row["study_id"]):
        yield study_id, list(group)


def long_rows(db, protocol: Protocol, identifiable: bool = False) -> Iterator[dict[str, str]]:
    """One row per participant per protocol timepoint, as text (blank = missing), streamed.

    Three queries in all, each ordered by study_id (participants, their newest answers, their
    windows with the channel of the reminder behind each completed one), merged a participant at a
    time: memory stays flat however big the trial.
    """
    blank = dict.fromkeys(columns(identifiable), "")
    answer_groups = responses.newest_by_study_id(db)
    window_groups = _by_study_id(participants.windows_by_study_id(db))
    clinical_groups = clinical_dataset.grouped(db)
    next_answers, next_windows = next(answer_groups, None), next(window_groups, None)
    next_clinical = next(clinical_groups, None)
    for person in participants.every(db):
        records: list[dict] = []
        if next_clinical and next_clinical[0] == person["study_id"]:
            records, next_clinical = next_clinical[1], next(clinical_groups, None)
        clinical = clinical_dataset.values(person, records, protocol, identifiable)
        by_timepoint: dict[str, dict[str, dict]] = {}
        if next_answers and next_answers[0] == person["study_id"]:
            for response in next_answers[1]:
                by_timepoint.setdefault(response["timepoint"], {})[response["instrument"]] = response
            next_answers = next(answer_groups, None)
        windows: dict[str, dict] = {}
        if next_windows and next_windows[0] == person["study_id"]:
            windows = {row["timepoint"]: row for row in next_windows[1]}
            next_windows = next(window_groups, None)
        baseline_nsaid = nsaid_of(by_timepoint.get(protocol.baseline.id, {}))
        base = _participant_row(blank, person, identifiable) | clinical    # what every row of theirs repeats
        for tp in protocol.timepoints:
            answers = by_timepoint.get(tp.id, {})
            reduction = (nsaid_reduction(protocol, tp.id, baseline_nsaid, nsaid_of(answers))
                         if "medication" in answers else None)
            yield _row(base, tp.id, answers, windows.get(tp.id), reduction)


def nsaid_of(answers: dict[str, dict]) -> float | None:
    """NSAID mg/day from one timepoint's answers (by instrument), if the medication form is there."""
    return answers.get("medication", {}).get("scores", {}).get("nsaid_mg_day")


def _participant_row(blank: dict[str, str], person: dict, identifiable: bool) -> dict[str, str]:
    row = blank.copy()
    row.update(study_id=person["study_id"], arm=person["arm"],
               punctures="" if person["punctures"] is None else str(person["punctures"]),
               stratum=person["stratum"] or "", allocation=person["allocation"], participant_status=person["status"])
    if identifiable:
        for key in IDENTIFIABLE_COLUMNS:
            row[key] = "" if person.get(key) is None else str(person[key])
    return row


def _row(base: dict[str, str], timepoint: str, answers: dict[str, dict], window: dict | None,
         nsaid_reduction_value: float | None) -> dict[str, str]:
    row = base.copy()
    row["timepoint"] = timepoint
    if vas := answers.get("vas"):
        row["vas"] = _number(vas["scores"]["vas_cm"], VAS_DECIMALS, fixed=True)
        row["vas_mode"] = vas["scores"]["vas_mode"]
    if odi := answers.get("odi"):
        for field in ODI_FIELDS:
            value = odi["answers"].get(field)
            row[field] = "" if value is None else str(value)
        row["odi_score"] = _number(odi["scores"]["odi_score"], SCORE_DECIMALS, fixed=True)
        row["odi_answered"] = str(odi["scores"]["odi_answered"])
        row["odi_band"] = odi["scores"]["odi_band"] or ""
    if sat := answers.get("satisfaction"):
        row["sat_procedure"] = str(sat["answers"]["sat_procedure"])
        row["sat_results"] = str(sat["answers"]["sat_results"])
    if med := answers.get("medication"):
        scores = med["scores"]
        row["nsaid_mg_day"] = _number(scores.get("nsaid_mg_day"), SCORE_DECIMALS)
        row["mme_mg_day"] = _number(scores.get("mme_mg_day"), SCORE_DECIMALS)
        row["paracetamol_mg_day"] = _number(scores.get("paracetamol_mg_day"), SCORE_DECIMALS)
        row["nsaid_reduction_pct"] = _number(nsaid_reduction_value, SCORE_DECIMALS)
        if "items" in med["answers"]:  # the form's rows; a paper form may give daily totals only
            row["med_took_any"] = med["answers"]["took_any"]
            for n, item in enumerate(med["answers"]["items"], 1):
                row[f"med_{n}_drug"] = item["drug"]
                row[f"med_{n}_strength_mg"] = _number(item["strength_mg"], SCORE_DECIMALS)
                row[f"med_{n}_doses_per_day"] = str(item["doses_per_day"])
    for instrument, column in INSTRUMENT_VERSION_COLUMNS.items():
        if instrument in answers:
            row[column] = answers[instrument]["instrument_version"]
    if answers:
        row["submitted_at"] = max(a["submitted_at"] for a in answers.values())
        row["version"] = str(max(a["version"] for a in answers.values()))
        row["corrected_reason"] = "; ".join(f"{name}: {answers[name]['corrected_reason']}" for name in sorted(answers)
                                            if answers[name]["version"] > 1 and answers[name]["corrected_reason"])
        row["source"] = ",".join(sorted({a["source"] for a in answers.values()}))
    if window and window["completed_at"]:
        row["completed_at"] = window["completed_at"]
        row["reminder_channel"] = window["reminder_channel"] or ""
    return row


# Which instrument each wide variable comes from; a timepoint gets only its instruments' columns.
WIDE_INSTRUMENT = {"vas": "vas", "vas_mode": "vas", **{field: "odi" for field in ODI_FIELDS}, "odi_score": "odi",
                   "sat_procedure": "satisfaction", "sat_results": "satisfaction", "nsaid_mg_day": "medication",
                   "mme_mg_day": "medication", "nsaid_reduction_pct": "medication"}


def wide_variables(protocol: Protocol, timepoint) -> list[str]:
    """A timepoint's wide variables: its instruments' columns, less ODI sections its version does not ask."""
    unasked = set(ODI_FIELDS) - set(protocol.instruments["odi"].fields)
    return [v for v in WIDE_VARIABLES if WIDE_INSTRUMENT.get(v) in (None, *timepoint.instruments) and v not in unasked]


PARTICIPANT_COLUMNS = ("study_id", "arm", "punctures", "stratum", "allocation", "participant_status")


def wide_columns(protocol: Protocol) -> tuple[str, ...]:
    return (*PARTICIPANT_COLUMNS, *(f"{variable}_{tp.id}" for tp in protocol.timepoints
                                    for variable in wide_variables(protocol, tp)), *clinical_dataset.CLINICAL_COLUMNS)


def wide_rows(db, protocol: Protocol) -> Iterator[dict[str, str]]:
    """One row per participant, e.g. vas_month1, streamed from the long rows."""
    current: dict[str, str] | None = None
    kept = {tp.id: wide_variables(protocol, tp) for tp in protocol.timepoints}
    for row in long_rows(db, protocol):
        if current is None or current["study_id"] != row["study_id"]:
            if current is not None:
                yield current
            current = {key: row[key] for key in PARTICIPANT_COLUMNS + clinical_dataset.CLINICAL_COLUMNS}
        for variable in kept[row["timepoint"]]:
            current[f"{variable}_{row['timepoint']}"] = row[variable]
    if current is not None:
        yield current
