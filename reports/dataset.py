"""The scored dataset's columns and codebook: one row per participant per timepoint (long), or one
per participant (wide).

The first columns are a contract (scripts and the paper-data import rely on them, in this order):
study_id, arm, timepoint, vas, odi_1 ... odi_10, odi_score, sat_procedure, sat_results,
nsaid_mg_day, mme_mg_day. A blank always means missing. More columns follow.

The rows themselves are built in reports/dataset_rows.py.
"""
from __future__ import annotations

from dataclasses import replace

from questionnaires.medication import DRUGS, MAX_ROWS
from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.odi import SECTIONS
from questionnaires.protocol import Protocol
from questionnaires.satisfaction import LEVEL_LABELS
from reports import clinical_dataset
from reports.variables import Variable

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
