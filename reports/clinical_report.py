"""The report's clinician tables: baseline characteristics (Table 1), roots injected and sacroiliac
side (Table 2), operative time and dose (Table 4), complications and contrast extravasation
(Table 5), protocol deviations, and the CONSORT flow's screening and treatment boxes.

Read set-based (reports.clinical_columns: the fields below of each newest record, as columns in
the participants' order); each derived value keeps its one definition (questionnaires.crf),
applied once per distinct input (reports.distinct). Every comparison is by allocated arm
(intention to treat): a participant who received the other arm's guidance (crossed over) stays in
the arm they were allocated to. ``summarise`` returns values and counts; ``trial_report.analyse``
turns them into entries with the same statistics as the patients' answers.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from questionnaires.clinical import ClinicalSettings
from questionnaires.crf import (
    COMPLICATIONS,
    LATERALITY,
    ROOTS,
    SEXES,
    SIDES,
    YES_NO,
    complication,
    roots_group,
)
from questionnaires.protocol import Protocol
from reports import clinical_columns, distinct
from reports import statistics as st
from reports.clinical_columns import ClinicalData, Form
from reports.derived import procedure_for


class Stage(NamedTuple):
    """Where a clinician value was recorded, in the place of a timepoint in the report's entries."""

    id: str
    label: str


BASELINE = Stage("baseline", "Baseline")
PROCEDURE = Stage("procedure", "Procedure")


class Variable(NamedTuple):
    id: str
    label: str
    stage: Stage
    unit: str = ""
    levels: dict[str, str] | None = None     # categorical: code -> label, in the table's order
    test: str | None = None                  # continuous: a test the paper names (else the normality rule)


CONTINUOUS = (
    Variable("age", "Age", BASELINE, "years"),
    # Table 4: median (IQR) with the Mann-Whitney U test, as the paper reports them.
    Variable("operative_min", "Operative time", PROCEDURE, "min", test="mann-whitney"),
    Variable("effective_dose_msv", "Effective dose", PROCEDURE, "mSv", test="mann-whitney"),
)
LATERALITY_LABELS = dict(zip(LATERALITY, ("No", "Unilateral", "Bilateral")))
CATEGORICAL = (
    Variable("sex", "Sex", BASELINE, levels=dict(zip(SEXES, ("Male", "Female")))),
    *(Variable(f"root_{r}", f"{r.upper()} root laterality", BASELINE, levels=LATERALITY_LABELS) for r in ROOTS),
    # roots_group's groups, as the paper's Table 2 prints them.
    Variable("roots_injected", "Roots injected", PROCEDURE, levels={"1-2": "1 or 2", "3-4": "3 or 4", "5-6": "5 or 6"}),
    Variable("si_side", "Side of injection (SI)", PROCEDURE,
             levels=dict(zip(SIDES, ("No", "Only right", "Only left", "Bilateral")))),
    Variable("complication", "Complications", PROCEDURE,
             levels=dict(zip(COMPLICATIONS, ("No", "Abscess", "Discitis and neuritis", "Hematoma", "Other")))),
    Variable("contrast_extravasation", "Contrast extravasation", PROCEDURE,
             levels=dict(zip(YES_NO, ("Negative", "Positive")))),
)
# Each modality's own dose quantities, described for the participants who received that guidance.
DOSES = (
    ("fluoroscopy", "dap_mgycm2", "Fluoroscopy: dose–area product (DAP)", "mGy·cm²"),
    ("fluoroscopy", "fluoro_time_s", "Fluoroscopy: screening time", "s"),
    ("ct", "ctdivol_mgy", "CT: volume CT dose index (CTDIvol)", "mGy"),
    ("ct", "dlp_mgycm", "CT: dose–length product (DLP)", "mGy·cm"),
)
DEVIATIONS = {"guidance": "Guidance other than the allocated arm's (crossed over)",
              "stratum": "Punctures outside the randomization stratum",
              "methylprednisolone": "Methylprednisolone over the protocol's ceiling"}
ITT = ("intention to treat: every participant is analysed in the arm they were allocated to, "
       "whatever guidance they received")


# The fields of each form the report reads.
BASELINE_FIELDS = ("age", "sex", *(f"root_{r}" for r in ROOTS))
PROCEDURE_FIELDS = ("guidance", "punctures", "methylprednisolone_mg", "operative_min", "si_side",
                    "contrast_extravasation", *(d[1] for d in DOSES))
EVENT_FIELDS = ("event", "grade")


def gather(db, rows_of, size: int) -> ClinicalData:
    """The fields above of every newest clinician record, as columns (reports.clinical_columns).
    ``rows_of`` maps participant ids to their rows among ``size`` participants (observations.row_index)."""
    return clinical_columns.read(db, rows_of, size, baseline=BASELINE_FIELDS, procedure=PROCEDURE_FIELDS,
                                 events=EVENT_FIELDS)


@dataclass
class Summary:
    """What trial_report.analyse needs: values and counts by allocated arm, and the rest as JSON."""

    continuous: list[tuple[Variable, dict[str, np.ndarray]]]
    categorical: list[tuple[Variable, dict[str, dict[str, int]]]]
    extra: dict[str, Any]                    # dose_by_modality, effective_dose, deviations
    treatment: dict[str, dict[str, int]]     # CONSORT: procedure recorded, received, crossed over, none
    notes: list[str]


def _effective_dose(procedure: Form, settings: ClinicalSettings) -> np.ndarray:
    """mSv per participant, NaN where there is none: questionnaires.crf.procedure_derived's product of
    the modality's own dose quantity and the protocol's coefficient, taken only where the protocol
    gives a coefficient for the modality used (0 means unset). A test holds the two equal."""
    dose = np.full(len(procedure.recorded), np.nan)
    guidance = procedure.fields["guidance"]
    coefficients = settings.effective_dose
    for modality, quantity, coefficient in (("fluoroscopy", "dap_mgycm2", coefficients.fluoroscopy_msv_per_mgycm2),
                                            ("ct", "dlp_mgycm", coefficients.ct_msv_per_mgycm)):
        if coefficient:
            values = procedure.numbers(quantity)
            at = (guidance == modality) & ~np.isnan(values)
            dose[at] = values[at] * coefficient
    return dose


def _deviations(procedure: Form, arms: np.ndarray, strata: np.ndarray, protocol: Protocol) -> dict[str, np.ndarray]:
    """For each of DEVIATIONS, who has it (participants without a procedure record have none), by
    reports.derived.procedure_for against their own allocation, once per distinct set of inputs."""
    def deviations(arm, stratum, guidance, punctures, methylprednisolone):
        record = {"guidance": guidance, "punctures": punctures, "methylprednisolone_mg": methylprednisolone,
                  "operative_min": None}
        found = procedure_for(protocol, {"arm": arm, "stratum": stratum}, record)["deviations"]
        return [key in found for key in DEVIATIONS]
    fields = procedure.fields
    results, inverse = distinct.apply_once(deviations, arms, strata, fields["guidance"], fields["punctures"],
                                           fields["methylprednisolone_mg"])
    flags = np.array(results.tolist(), dtype=bool).reshape(len(results), len(DEVIATIONS))[inverse]
    return {key: flags[:, index] & procedure.recorded for index, key in enumerate(DEVIATIONS)}


def _counts(values: np.ndarray, levels) -> dict[str, int]:
    found = Counter(values.tolist())
    return {level: found.get(level, 0) for level in levels}


def summarise(data: ClinicalData, arms_of: np.ndarray, strata: np.ndarray, protocol: Protocol) -> Summary:
    """``arms_of`` and ``strata``: each participant's arm and stratum, in the order of ``data``'s columns."""
    arms = [arm.code for arm in protocol.arms[:2]]
    mine = {arm: arms_of == arm for arm in arms}                # by allocated arm
    baseline, procedure = data.baseline, data.procedure
    treated = {arm: mine[arm] & procedure.recorded for arm in arms}
    numbers = {"age": baseline.numbers("age"), "operative_min": procedure.numbers("operative_min"),
               "effective_dose_msv": _effective_dose(procedure, protocol.clinical)}
    continuous = [(v, {arm: numbers[v.id][mine[arm] & ~np.isnan(numbers[v.id])] for arm in arms}) for v in CONTINUOUS]

    values = {name: baseline.fields[name] for name in BASELINE_FIELDS}
    values.update({name: procedure.fields[name] for name in ("si_side", "contrast_extravasation")})
    values["roots_injected"] = np.where(procedure.recorded, distinct.apply(roots_group, procedure.fields["punctures"]),
                                        None)
    complication_of = np.where(procedure.recorded, "none", None).astype(object)
    for row, events in data.events.items():    # the few with an event: every recorded event counts
        complication_of[row] = complication(events)
    values["complication"] = complication_of
    categorical = [(v, {arm: _counts(values[v.id][mine[arm]], v.levels) for arm in arms}) for v in CATEGORICAL]

    guidance_of = procedure.fields["guidance"]
    doses = []
    for guidance, key, label, unit in DOSES:
        dose = procedure.numbers(key)
        given = (guidance_of == guidance) & ~np.isnan(dose)
        doses.append({"guidance": guidance, "quantity": key, "label": label, "unit": unit,
                      **{arm: st.describe(dose[treated[arm] & given]) for arm in arms}})
    guidance = {arm.code: arm.guidance for arm in protocol.arms}
    # An arm without a guidance of its own cannot be crossed from: what it received is its own.
    received = {arm: int(treated[arm].sum()) if guidance[arm] is None
                else int((treated[arm] & (guidance_of == guidance[arm])).sum()) for arm in arms}
    treatment = {
        "procedure_recorded": {arm: int(treated[arm].sum()) for arm in arms},
        "received_allocated": received,
        "crossed_over": {arm: int(treated[arm].sum()) - received[arm] for arm in arms},
        "no_procedure_record": {arm: int((mine[arm] & ~procedure.recorded).sum()) for arm in arms},
    }
    settings = protocol.clinical
    deviations: dict[str, Any] = {"procedure_records": treatment["procedure_recorded"]}
    found = _deviations(procedure, arms_of, strata, protocol)
    for key, label in DEVIATIONS.items():
        if key == "methylprednisolone":
            label = f"{label} ({settings.methylprednisolone_max_mg:g} mg)"
        has = found[key]
        deviations[key] = {"label": label, **{arm: int((treated[arm] & has).sum()) for arm in arms}}
    deviations["eligibility_override"] = {
        "label": "Enrolled although ineligible, on an investigator's override (screening log)",
        "n": data.screening["outcomes"].get("enrolled_by_override", 0)}
    dose = settings.effective_dose
    extra = {"dose_by_modality": doses, "deviations": deviations,
             "effective_dose": {"fluoroscopy_msv_per_mgycm2": dose.fluoroscopy_msv_per_mgycm2,
                                "ct_msv_per_mgycm": dose.ct_msv_per_mgycm, "source": dose.source}}
    return Summary(continuous, categorical, extra, treatment, _notes(data, mine, protocol, treatment))


def _notes(data: ClinicalData, mine: dict[str, np.ndarray], protocol: Protocol, treatment: dict) -> list[str]:
    if not any(in_arm.any() for in_arm in mine.values()):
        return []
    if not data.records:
        return ["No clinician forms are recorded yet: Tables 1, 2 and 4, complications and contrast "
                "extravasation have no data."]
    notes = []
    labels = {arm.code: arm.label for arm in protocol.arms}
    for arm, in_arm in mine.items():
        if not in_arm.any():       # said already: the arm has no participants
            continue
        if not (in_arm & data.baseline.recorded).any():
            notes.append(f"Arm {arm} ({labels[arm]}) has no baseline characteristics recorded: "
                         "Table 1 is not compared.")
        if not treatment["procedure_recorded"][arm]:
            notes.append(f"Arm {arm} ({labels[arm]}) has no procedure records: Tables 2 and 4 and contrast "
                         "extravasation are not compared.")
    dose = protocol.clinical.effective_dose
    unset = [name for name, value in (("fluoroscopy", dose.fluoroscopy_msv_per_mgycm2), ("CT", dose.ct_msv_per_mgycm))
             if not value]
    if unset:
        notes.append(f"The protocol gives no effective-dose coefficient for {' or '.join(unset)}: "
                     "those procedures have no effective dose.")
    return notes


def flow(data: ClinicalData, table: dict, treatment: dict, protocol: Protocol) -> dict[str, Any]:
    """The CONSORT flow's boxes beyond the per-timepoint table: screening (the log), exclusions by
    criterion, randomization, treatment received, and the final timepoint's losses and analysis."""
    outcomes, reasons = data.screening["outcomes"], dict(data.screening["reasons"])
    criteria = [("inclusion", c) for c in protocol.clinical.inclusion] + \
               [("exclusion", c) for c in protocol.clinical.exclusion]
    listed = [{"criterion": c.id, "kind": kind, "text": c.text, "n": reasons.pop(c.id)}
              for kind, c in criteria if c.id in reasons]
    # A criterion the protocol no longer lists is still a reason someone was excluded.
    listed += [{"criterion": cid, "kind": None, "text": cid, "n": n} for cid, n in sorted(reasons.items())]
    screened, excluded = sum(outcomes.values()), outcomes.get("not_enrolled", 0)
    randomized = sum(table["enrolled"].values())
    last = table["timepoints"][-1] if table["timepoints"] else None

    def final(*keys: str) -> dict[str, int]:
        return {arm.code: sum(last[arm.code][k] for k in keys) if last else 0 for arm in protocol.arms}
    return {
        "screened": screened, "excluded": {"n": excluded, "reasons": listed},
        "enrolled_by_override": outcomes.get("enrolled_by_override", 0),
        "randomized": randomized, "enrolled_without_screening": max(0, randomized - (screened - excluded)),
        "allocated": dict(table["enrolled"]), **treatment,
        "final_timepoint": last["timepoint"] if last else None,
        # Imported from paper with no answers at the final timepoint: no window, so lost too.
        "lost_to_follow_up": final("missed", "no_schedule"), "withdrawn": final("withdrawn"),
        "follow_up_pending": final("pending"), "analysed": final("completed"), "analysis": ITT,
    }
