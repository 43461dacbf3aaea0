"""Clinician case report forms: baseline characteristics, the procedure record and adverse
events, as data with validation and derived values. Pure: dates come in as arguments.

Each ``validate_*`` returns the canonical record, or raises AnswerError naming every bad field.
Levels are the report's and the dataset's codes (Tables 1, 2, 4 and 5 of the reference paper).
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from questionnaires.base import AnswerError
from questionnaires.clinical import GUIDANCES, ClinicalSettings
from questionnaires.crf_fields import blank, day, level, number, text, unknown_fields

BASELINE_FORM, PROCEDURE_FORM, EVENT_FORM, ELIGIBILITY_FORM = "baseline", "procedure", "adverse_event", "eligibility"
SEXES = ("male", "female")
LATERALITY = ("none", "unilateral", "bilateral")
ROOTS = ("l3", "l4", "l5")
SIDES = ("none", "right", "left", "bilateral")
YES_NO = ("no", "yes")
AGE_RANGE = (18, 110)
# Bounds past which a value is a typo, not a patient: the issue's own examples where given.
MAX_OPERATIVE_MIN = 600
MAX_DAP_MGYCM2 = 500_000
MAX_FLUORO_TIME_S = 7_200
MAX_CTDIVOL_MGY = 100
MAX_DLP_MGYCM = 10_000
MAX_DRUG_MG = {"dexamethasone_mg": 40, "lidocaine_mg": 400, "bupivacaine_mg": 175, "methylprednisolone_mg": 1000}
RF_LIMITS = {"rf_temperature_c": (37, 90), "rf_frequency_hz": (0.5, 10), "rf_pulse_width_ms": (1, 100),
             "rf_duration_s": (1, 1800)}
FLUOROSCOPY_FIELDS = ("dap_mgycm2", "fluoro_time_s")
CT_FIELDS = ("ctdivol_mgy", "dlp_mgycm")

# Adverse events. Types in the order a participant with several is counted under (most severe
# first, after the CTCAE grade): deep infection of the disc or nerve, abscess, hematoma, other.
EVENT_TYPES = ("discitis_neuritis", "abscess", "hematoma", "other")
COMPLICATIONS = ("none", "abscess", "discitis_neuritis", "hematoma", "other")
GRADES = (1, 5)                                   # CTCAE v5 grade 1 (mild) to 5 (death)
RELATEDNESS = ("unrelated", "unlikely", "possible", "probable", "definite")
OUTCOMES = ("recovered", "recovering", "not_recovered", "recovered_with_sequelae", "fatal", "unknown")


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


def validate_baseline(data: Mapping[str, Any], *, enrolled_on: date, complete: bool = True) -> dict[str, Any]:
    """Age (or date of birth, which gives the age at enrollment), sex, L3-L5 root involvement,
    MRI finding. The baseline VAS is the patient's own answer, not asked again. ``complete``
    False (a paper record imported) lets a field be blank: missing, as in the dataset."""
    errors: dict[str, str] = {}
    unknown_fields(data, {"age", "date_of_birth", "sex", *(f"root_{r}" for r in ROOTS), "mri_finding"}, errors)
    birth = day(data, "date_of_birth", errors, required=False, not_after=enrolled_on, after_what="enrollment")
    age = number(data, "age", *AGE_RANGE, errors, required=complete and birth is None, unit="years", whole=True)
    if birth is not None:
        from_birth = age_on(birth, enrolled_on)
        if age is not None and age != from_birth:
            errors["age"] = f"{age} does not match the date of birth ({from_birth} at enrollment)"
        elif not AGE_RANGE[0] <= from_birth <= AGE_RANGE[1]:
            errors["date_of_birth"] = f"gives an age of {from_birth} at enrollment: {AGE_RANGE[0]} to {AGE_RANGE[1]}"
        age = from_birth
    clean = {"age": age, "date_of_birth": birth.isoformat() if birth else None,
             "sex": level(data, "sex", SEXES, errors, required=complete),
             **{f"root_{r}": level(data, f"root_{r}", LATERALITY, errors, required=complete) for r in ROOTS},
             "mri_finding": text(data, "mri_finding", errors, max_length=300)}
    if errors:
        raise AnswerError(errors)
    return clean


PROCEDURE_FIELDS = {"procedure_date", "guidance", "operators", "punctures", *(f"injected_{r}" for r in ROOTS),
                    "si_side", "operative_min", *FLUOROSCOPY_FIELDS, *CT_FIELDS, "contrast_extravasation",
                    *MAX_DRUG_MG, *RF_LIMITS, "deviation_reason"}


def validate_procedure(data: Mapping[str, Any], settings: ClinicalSettings, *, enrolled_on: date | None,
                       today: date, complete: bool = True) -> dict[str, Any]:
    """The procedure record. Dose fields follow the guidance used: the other modality's are refused.
    ``complete`` False (a paper record imported) lets a field be blank: missing."""
    errors: dict[str, str] = {}
    unknown_fields(data, PROCEDURE_FIELDS, errors)
    clean: dict[str, Any] = {
        "procedure_date": day(data, "procedure_date", errors, required=complete, not_before=enrolled_on,
                              before_what="enrollment", not_after=today, after_what="today"),
        "guidance": level(data, "guidance", GUIDANCES, errors,
                          required=complete or any(not blank(data.get(f)) for f in (*FLUOROSCOPY_FIELDS, *CT_FIELDS))),
        "operators": text(data, "operators", errors, max_length=200),
        "punctures": number(data, "punctures", 1, 6, errors, whole=True, required=complete),
        **{f"injected_{r}": level(data, f"injected_{r}", SIDES, errors, required=False) or "none" for r in ROOTS},
        "si_side": level(data, "si_side", SIDES, errors, required=complete),
        "operative_min": number(data, "operative_min", 0, MAX_OPERATIVE_MIN, errors, unit="min", above_low=True,
                                required=complete),
        "contrast_extravasation": level(data, "contrast_extravasation", YES_NO, errors, required=complete),
        "deviation_reason": text(data, "deviation_reason", errors, max_length=500),
    }
    own, other = ((FLUOROSCOPY_FIELDS, CT_FIELDS) if clean["guidance"] == "fluoroscopy"
                  else (CT_FIELDS, FLUOROSCOPY_FIELDS) if clean["guidance"] == "ct" else ((), ()))
    for field in other:
        if not blank(data.get(field)):
            errors[field] = (f"a {'CT' if field in CT_FIELDS else 'fluoroscopy'} dose on a "
                             f"{'CT' if clean['guidance'] == 'ct' else 'fluoroscopy'} record")
    limits = {"dap_mgycm2": (MAX_DAP_MGYCM2, "mGy·cm²"), "fluoro_time_s": (MAX_FLUORO_TIME_S, "s"),
              "ctdivol_mgy": (MAX_CTDIVOL_MGY, "mGy"), "dlp_mgycm": (MAX_DLP_MGYCM, "mGy·cm")}
    for field, (high, unit) in limits.items():
        clean[field] = (number(data, field, 0, high, errors, unit=unit, above_low=True,
                               required=complete and field in ("dap_mgycm2", "dlp_mgycm")) if field in own else None)
    for field, high in MAX_DRUG_MG.items():
        clean[field] = number(data, field, 0, high, errors, required=False, unit="mg")
    rf = {"rf_temperature_c": settings.pulsed_rf.temperature_c, "rf_frequency_hz": settings.pulsed_rf.frequency_hz,
          "rf_pulse_width_ms": settings.pulsed_rf.pulse_width_ms, "rf_duration_s": settings.pulsed_rf.duration_s}
    for field, (low, high) in RF_LIMITS.items():
        given = number(data, field, low, high, errors, required=False)
        clean[field] = rf[field] if given is None and blank(data.get(field)) else given
    ceiling = settings.methylprednisolone_max_mg
    if clean["procedure_date"] is not None:
        clean["procedure_date"] = clean["procedure_date"].isoformat()
    if (clean["methylprednisolone_mg"] or 0) > ceiling and not clean["deviation_reason"]:
        errors["methylprednisolone_mg"] = (f"{clean['methylprednisolone_mg']:g} mg is over the protocol's "
                                           f"{ceiling:g} mg: give a deviation reason")
    if errors:
        raise AnswerError(errors)
    return clean


def procedure_derived(record: Mapping[str, Any], settings: ClinicalSettings, allocated_guidance: str | None,
                      stratum_punctures: tuple[int, int] | None) -> dict[str, Any]:
    """(Values missing from an imported record give None, and no deviation on that count.)"""
    """Time per puncture, the effective dose (mSv) from the protocol's coefficients, and the
    deviations: guidance other than the arm's, punctures outside the randomization stratum,
    methylprednisolone over the ceiling."""
    coefficients = settings.effective_dose
    if record["guidance"] == "fluoroscopy" and record.get("dap_mgycm2") is not None:
        msv = record["dap_mgycm2"] * coefficients.fluoroscopy_msv_per_mgycm2
    elif record["guidance"] == "ct" and record.get("dlp_mgycm") is not None:
        msv = record["dlp_mgycm"] * coefficients.ct_msv_per_mgycm
    else:
        msv = None
    deviations = []
    if allocated_guidance and record["guidance"] and record["guidance"] != allocated_guidance:
        deviations.append("guidance")
    punctures = record["punctures"]
    if stratum_punctures and punctures and not stratum_punctures[0] <= punctures <= stratum_punctures[1]:
        deviations.append("stratum")
    if (record.get("methylprednisolone_mg") or 0) > settings.methylprednisolone_max_mg:
        deviations.append("methylprednisolone")
    per_puncture = (record["operative_min"] / record["punctures"]
                    if record["operative_min"] is not None and record["punctures"] else None)
    return {"min_per_puncture": per_puncture, "effective_dose_msv": msv, "deviations": deviations}


def roots_group(punctures: int | None) -> str | None:
    """Roots injected grouped as the paper's Table 2: 1-2, 3-4, 5-6."""
    if punctures is None:
        return None
    return "1-2" if punctures <= 2 else "3-4" if punctures <= 4 else "5-6"


EVENT_FIELDS = {"event", "description", "onset_date", "grade", "serious", "related", "outcome"}


def validate_event(data: Mapping[str, Any], *, enrolled_on: date | None, today: date,
                   complete: bool = True) -> dict[str, Any]:
    """An adverse event. ``complete`` False (from a paper table) asks only for the event type."""
    errors: dict[str, str] = {}
    unknown_fields(data, EVENT_FIELDS, errors)
    clean = {
        "event": level(data, "event", EVENT_TYPES, errors),
        "description": text(data, "description", errors, max_length=500),
        "onset_date": day(data, "onset_date", errors, required=complete, not_before=enrolled_on,
                          before_what="enrollment", not_after=today, after_what="today"),
        "grade": number(data, "grade", *GRADES, errors, whole=True, required=complete),
        "serious": level(data, "serious", YES_NO, errors, required=complete),
        "related": level(data, "related", RELATEDNESS, errors, required=complete),
        "outcome": level(data, "outcome", OUTCOMES, errors, required=False) or "unknown",
    }
    if clean["event"] == "other" and not clean["description"] and complete:
        errors["description"] = "say what the event was"
    if clean["onset_date"] is not None:
        clean["onset_date"] = clean["onset_date"].isoformat()
    if errors:
        raise AnswerError(errors)
    return clean


def complication(events: list[Mapping[str, Any]]) -> str:
    """One participant's complication for Table 5: none, or the most severe event (highest
    grade first, then the order of EVENT_TYPES)."""
    if not events:
        return "none"
    worst = min(events, key=lambda e: (-(e.get("grade") or 0), EVENT_TYPES.index(e["event"])))
    return worst["event"]


def check_eligibility(answers: Mapping[str, Any], settings: ClinicalSettings) -> tuple[dict[str, str], list[str]]:
    """(clean yes/no answers by criterion id, the ids that make the person ineligible): an
    inclusion criterion answered no, or an exclusion criterion answered yes. Every criterion must
    be answered; AnswerError names those that are not."""
    errors: dict[str, str] = {}
    clean = {c.id: level(answers, c.id, YES_NO, errors) for c in (*settings.inclusion, *settings.exclusion)}
    if errors:
        raise AnswerError(errors)
    failed = [c.id for c in settings.inclusion if clean[c.id] == "no"] + \
             [c.id for c in settings.exclusion if clean[c.id] == "yes"]
    return clean, failed
