"""The clinician variables of the scored dataset (one value per participant, repeated on each of
their rows, as arm is), their codebook entries, and adverse events as a long table of their own.

Read set-based: the newest version of every clinician form in one query ordered by study_id,
merged with the participants as the answers are (reports/dataset.py).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from questionnaires.clinical import GUIDANCES
from questionnaires.crf import (
    BASELINE_FORM,
    COMPLICATIONS,
    EVENT_FORM,
    LATERALITY,
    OUTCOMES,
    PROCEDURE_FORM,
    RELATEDNESS,
    ROOTS,
    SEXES,
    SIDES,
    YES_NO,
    complication,
    roots_group,
)
from questionnaires.protocol import Protocol
from randomization import STRATA
from reports.derived import procedure_for
from reports.variables import Variable, _number
from storage import crf

CLINICAL_COLUMNS = ("age", "sex", "root_l3", "root_l4", "root_l5", "guidance", "procedure_punctures",
                    "roots_injected", "injected_l3", "injected_l4", "injected_l5", "si_side", "operative_min",
                    "min_per_puncture", "dap_mgycm2", "fluoro_time_s", "ctdivol_mgy", "dlp_mgycm",
                    "effective_dose_msv", "contrast_extravasation", "dexamethasone_mg", "lidocaine_mg",
                    "bupivacaine_mg", "methylprednisolone_mg", "deviations", "complication", "adverse_events")
CLINICAL_IDENTIFIABLE = ("date_of_birth", "mri_finding", "procedure_performed_on", "operators", "deviation_reason")
EVENT_COLUMNS = ("study_id", "arm", "event_no", "version", "event", "grade", "serious", "related", "outcome",
                 "onset_days_after_procedure", "acknowledged")
EVENT_IDENTIFIABLE = ("onset_date", "description")
NUMBERS = ("operative_min", "dap_mgycm2", "fluoro_time_s", "ctdivol_mgy", "dlp_mgycm", "dexamethasone_mg",
           "lidocaine_mg", "bupivacaine_mg", "methylprednisolone_mg")
DECIMALS = 2


def _labels(levels) -> tuple[tuple[str, str], ...]:
    return tuple((level, level.replace("_", " ").capitalize()) for level in levels)


def variables(identifiable: bool = False) -> list[Variable]:
    crf_form = "clinician form"
    found = [
        Variable("age", "Age at enrollment", "integer", "years", "18-110", crf_form),
        Variable("sex", "Sex", "string", allowed=", ".join(SEXES), instrument=crf_form, value_labels=_labels(SEXES)),
        *(Variable(f"root_{r}", f"{r.upper()} nerve-root involvement", "string", allowed=", ".join(LATERALITY),
                   instrument=crf_form, value_labels=_labels(LATERALITY)) for r in ROOTS),
        Variable("guidance", "Guidance actually used", "string", allowed=", ".join(GUIDANCES), instrument=crf_form,
                 value_labels=_labels(GUIDANCES)),
        Variable("procedure_punctures", "Puncture points at the procedure", "integer", "", "1-6", crf_form),
        Variable("roots_injected", "Roots injected, grouped as the paper's Table 2", "string", "", "1-2, 3-4, 5-6",
                 crf_form, "from procedure_punctures", _labels(STRATA)),
        *(Variable(f"injected_{r}", f"{r.upper()} root injected, side", "string", allowed=", ".join(SIDES),
                   instrument=crf_form, value_labels=_labels(SIDES)) for r in ROOTS),
        Variable("si_side", "Sacroiliac joint injection", "string", allowed=", ".join(SIDES), instrument=crf_form,
                 value_labels=_labels(SIDES)),
        Variable("operative_min", "Operative time, skin localization to needle removal", "decimal", "min",
                 "0-600", crf_form),
        Variable("min_per_puncture", "Operative time per puncture", "decimal", "min", "", crf_form,
                 "operative_min / procedure_punctures"),
        Variable("dap_mgycm2", "Fluoroscopy dose-area product", "decimal", "mGy·cm²", "0-500000", crf_form),
        Variable("fluoro_time_s", "Fluoroscopy time", "decimal", "s", "", crf_form),
        Variable("ctdivol_mgy", "CT dose index (CTDIvol)", "decimal", "mGy", "0-100", crf_form),
        Variable("dlp_mgycm", "CT dose-length product", "decimal", "mGy·cm", "", crf_form),
        Variable("effective_dose_msv", "Effective dose estimate", "decimal", "mSv", "", crf_form,
                 "DAP or DLP x the protocol's coefficient for the modality (protocol file, clinical.effective_dose)"),
        Variable("contrast_extravasation", "Contrast extravasation", "string", allowed="no, yes", instrument=crf_form,
                 value_labels=_labels(YES_NO)),
        *(Variable(drug, drug.replace("_mg", "").capitalize() + " given", "decimal", "mg", "", crf_form)
          for drug in ("dexamethasone_mg", "lidocaine_mg", "bupivacaine_mg", "methylprednisolone_mg")),
        Variable("deviations", "Protocol deviations at the procedure", "string", "",
                 "guidance, stratum, methylprednisolone (comma-separated)", crf_form),
        Variable("complication", "Complication (the most severe adverse event)", "string",
                 allowed=", ".join(COMPLICATIONS), instrument=crf_form, value_labels=_labels(COMPLICATIONS),
                 derivation="highest CTCAE grade, then discitis/neuritis, abscess, hematoma, other"),
        Variable("adverse_events", "Adverse events recorded", "integer", "", ">= 0", crf_form),
    ]
    if identifiable:
        found += [Variable("date_of_birth", "Date of birth", "date", instrument=crf_form),
                  Variable("mri_finding", "MRI finding (free text)", "string", instrument=crf_form),
                  Variable("procedure_performed_on", "Date of the procedure", "date", instrument=crf_form),
                  Variable("operators", "Operators (free text)", "string", instrument=crf_form),
                  Variable("deviation_reason", "Why the protocol was departed from (free text)", "string",
                           instrument=crf_form)]
    return found


def columns(identifiable: bool = False) -> tuple[str, ...]:
    return CLINICAL_COLUMNS + (CLINICAL_IDENTIFIABLE if identifiable else ())


def grouped(db) -> Iterator[tuple[str, list[list]]]:
    """(study_id, [form, data] of the newest version of each of their clinician form items), ordered by study_id."""
    return crf.newest_data_by_study_id(db)


def values(person: dict, records: list[list], protocol: Protocol, identifiable: bool) -> dict[str, str]:
    """One participant's clinician columns, as text (blank = missing), from their newest form items
    as ``grouped`` gives them ([form, data])."""
    row = dict.fromkeys(columns(identifiable), "")
    by_form = {form: data for form, data in records if form != EVENT_FORM}
    events = [data for form, data in records if form == EVENT_FORM]
    baseline, procedure = by_form.get(BASELINE_FORM, {}), by_form.get(PROCEDURE_FORM)
    row["age"] = "" if baseline.get("age") is None else str(baseline["age"])
    for field in ("sex", *(f"root_{r}" for r in ROOTS)):
        row[field] = baseline.get(field) or ""
    if procedure:
        derived = procedure_for(protocol, person, procedure)
        row.update(guidance=procedure["guidance"] or "", roots_injected=roots_group(procedure["punctures"]) or "",
                   procedure_punctures="" if procedure["punctures"] is None else str(procedure["punctures"]),
                   si_side=procedure["si_side"] or "", contrast_extravasation=procedure["contrast_extravasation"] or "",
                   min_per_puncture=_number(derived["min_per_puncture"], DECIMALS),
                   effective_dose_msv=_number(derived["effective_dose_msv"], 4),
                   deviations=",".join(derived["deviations"]),
                   **{f"injected_{r}": procedure.get(f"injected_{r}") or "" for r in ROOTS},
                   **{field: _number(procedure.get(field), DECIMALS) for field in NUMBERS})
    row["complication"] = complication(events) if (events or procedure) else ""
    row["adverse_events"] = str(len(events)) if (events or procedure) else ""
    if identifiable:
        row.update(date_of_birth=baseline.get("date_of_birth") or "", mri_finding=baseline.get("mri_finding") or "",
                   procedure_performed_on=(procedure or {}).get("procedure_date") or "",
                   operators=(procedure or {}).get("operators") or "",
                   deviation_reason=(procedure or {}).get("deviation_reason") or "")
    return row


def event_columns(identifiable: bool = False) -> tuple[str, ...]:
    return EVENT_COLUMNS + (EVENT_IDENTIFIABLE if identifiable else ())


def event_rows(db, protocol: Protocol, identifiable: bool = False) -> Iterator[dict[str, str]]:
    """Adverse events, one row each (the newest version), in study_id order. The onset is given
    as days after the procedure in the pseudonymized file, as a date only in the identifiable one."""
    procedures = {r["study_id"]: r["data"].get("procedure_date") for r in crf.newest(db, form=PROCEDURE_FORM)}
    for r in crf.newest(db, form=EVENT_FORM):
        data, performed = r["data"], procedures.get(r["study_id"])
        days = ((date.fromisoformat(data["onset_date"]) - date.fromisoformat(performed)).days
                if data.get("onset_date") and performed else None)
        row = {"study_id": r["study_id"], "arm": r["arm"], "event_no": str(r["item"]), "version": str(r["version"]),
               "event": data["event"], "grade": "" if data.get("grade") is None else str(data["grade"]),
               "serious": data.get("serious") or "", "related": data.get("related") or "",
               "outcome": data.get("outcome") or "", "onset_days_after_procedure": "" if days is None else str(days),
               "acknowledged": "yes" if data.get("acknowledged_by") else "no"}
        if identifiable:
            row.update(onset_date=data.get("onset_date") or "", description=data.get("description") or "")
        yield row


def event_codebook(identifiable: bool = False) -> list[Variable]:
    found = [Variable("study_id", "Participant study ID (pseudonym)", "string"),
             Variable("arm", "Allocated arm", "string"),
             Variable("event_no", "Event number, per participant", "integer"),
             Variable("version", "Version of the event record (an edit is a new version)", "integer"),
             Variable("event", "Adverse event", "string", allowed="abscess, discitis_neuritis, hematoma, other"),
             Variable("grade", "CTCAE grade", "integer", allowed="1-5"),
             Variable("serious", "Serious adverse event", "string", allowed="no, yes"),
             Variable("related", "Relation to the procedure", "string", allowed=", ".join(RELATEDNESS)),
             Variable("outcome", "Outcome", "string", allowed=", ".join(OUTCOMES)),
             Variable("onset_days_after_procedure", "Onset, days after the procedure", "integer"),
             Variable("acknowledged", "Acknowledged by an investigator (serious events)", "string", allowed="no, yes")]
    if identifiable:
        found += [Variable("onset_date", "Onset date", "date"), Variable("description", "Description (free text)",
                                                                        "string")]
    return found

