"""The report's clinician tables: baseline characteristics (Table 1), roots injected and sacroiliac
side (Table 2), operative time and dose (Table 4), complications and contrast extravasation
(Table 5), protocol deviations, and the CONSORT flow's screening and treatment boxes.

Read set-based: one query for the newest version of every clinician form item and two for the
screening log, whatever the number of participants. Every comparison is by allocated arm
(intention to treat): a participant who received the other arm's guidance (crossed over) stays in
the arm they were allocated to. ``summarise`` returns values and counts; ``trial_report.analyse``
turns them into entries with the same statistics as the patients' answers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from questionnaires.clinical import ClinicalSettings
from questionnaires.crf import (
    BASELINE_FORM,
    COMPLICATIONS,
    EVENT_FORM,
    LATERALITY,
    PROCEDURE_FORM,
    ROOTS,
    SEXES,
    SIDES,
    YES_NO,
    complication,
    roots_group,
)
from questionnaires.protocol import Protocol
from reports import statistics as st
from reports.derived import procedure_for
from storage import crf


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


@dataclass
class ClinicalData:
    """The newest version of every clinician form, by participant id, and the screening log's counts."""

    baseline: dict[int, dict] = field(default_factory=dict)
    procedure: dict[int, dict] = field(default_factory=dict)
    events: dict[int, list[dict]] = field(default_factory=dict)
    screening: dict = field(default_factory=lambda: {"outcomes": {}, "reasons": {}})


def gather(db) -> ClinicalData:
    data = ClinicalData(screening=crf.screening_counts(db))
    for row in crf.newest(db):
        if row["form"] == BASELINE_FORM:
            data.baseline[row["participant_id"]] = row["data"]
        elif row["form"] == PROCEDURE_FORM:
            data.procedure[row["participant_id"]] = row["data"]
        elif row["form"] == EVENT_FORM:
            data.events.setdefault(row["participant_id"], []).append(row["data"])
    return data


@dataclass
class Summary:
    """What trial_report.analyse needs: values and counts by allocated arm, and the rest as JSON."""

    continuous: list[tuple[Variable, dict[str, list[float]]]]
    categorical: list[tuple[Variable, dict[str, dict[str, int]]]]
    extra: dict[str, Any]                    # dose_by_modality, effective_dose, deviations
    treatment: dict[str, dict[str, int]]     # CONSORT: procedure recorded, received, crossed over, none
    notes: list[str]


def _effective_dose(record: dict, derived: dict, settings: ClinicalSettings) -> float | None:
    """mSv, or None where the protocol gives no coefficient for the modality used (0 means unset)."""
    coefficient = {"fluoroscopy": settings.effective_dose.fluoroscopy_msv_per_mgycm2,
                   "ct": settings.effective_dose.ct_msv_per_mgycm}.get(record["guidance"])
    return derived["effective_dose_msv"] if coefficient else None


def _values(person: dict, data: ClinicalData, protocol: Protocol) -> dict[str, Any]:
    """One participant's clinician values under the report's variable names (absent: not recorded)."""
    found: dict[str, Any] = {}
    baseline = data.baseline.get(person["id"])
    if baseline is not None:
        found.update({key: baseline.get(key) for key in ("age", "sex", *(f"root_{r}" for r in ROOTS))})
    procedure = data.procedure.get(person["id"])
    events = data.events.get(person["id"], [])
    if procedure is not None:
        derived = procedure_for(protocol, person, procedure)
        found.update({key: procedure.get(key) for key in ("si_side", "contrast_extravasation", "operative_min",
                                                           "guidance", *(d[1] for d in DOSES))})
        found.update(roots_injected=roots_group(procedure["punctures"]), deviations=derived["deviations"],
                     effective_dose_msv=_effective_dose(procedure, derived, protocol.clinical))
    if procedure is not None or events:
        # Every recorded event counts, so none is hidden by a procedure record not yet entered.
        found["complication"] = complication(events)
    return found


def summarise(data: ClinicalData, people: list[dict], protocol: Protocol) -> Summary:
    arms = [arm.code for arm in protocol.arms[:2]]
    by_arm: dict[str, list[dict]] = {arm: [] for arm in arms}    # each participant's values, by allocated arm
    for person in people:
        if person["arm"] in by_arm:
            by_arm[person["arm"]].append(_values(person, data, protocol))
    continuous = [(v, {arm: [float(x[v.id]) for x in by_arm[arm] if x.get(v.id) is not None] for arm in arms})
                  for v in CONTINUOUS]
    categorical = []
    for v in CATEGORICAL:
        counts = {arm: dict.fromkeys(v.levels, 0) for arm in arms}
        for arm in arms:
            for found in by_arm[arm]:
                if found.get(v.id) in counts[arm]:
                    counts[arm][found[v.id]] += 1
        categorical.append((v, counts))
    treated = {arm: [x for x in by_arm[arm] if "guidance" in x] for arm in arms}
    doses = [{"guidance": guidance, "quantity": key, "label": label, "unit": unit,
              **{arm: st.describe([float(x[key]) for x in treated[arm]
                                   if x["guidance"] == guidance and x.get(key) is not None]) for arm in arms}}
             for guidance, key, label, unit in DOSES]
    guidance = {arm.code: arm.guidance for arm in protocol.arms}
    treatment = {
        "procedure_recorded": {arm: len(treated[arm]) for arm in arms},
        # An arm without a guidance of its own cannot be crossed from: what it received is its own.
        "received_allocated": {arm: sum(guidance[arm] in (None, x["guidance"]) for x in treated[arm]) for arm in arms},
        "crossed_over": {arm: sum(guidance[arm] not in (None, x["guidance"]) for x in treated[arm]) for arm in arms},
        "no_procedure_record": {arm: len(by_arm[arm]) - len(treated[arm]) for arm in arms},
    }
    settings = protocol.clinical
    deviations: dict[str, Any] = {"procedure_records": treatment["procedure_recorded"]}
    for key, label in DEVIATIONS.items():
        if key == "methylprednisolone":
            label = f"{label} ({settings.methylprednisolone_max_mg:g} mg)"
        deviations[key] = {"label": label, **{arm: sum(key in x["deviations"] for x in treated[arm]) for arm in arms}}
    deviations["eligibility_override"] = {
        "label": "Enrolled although ineligible, on an investigator's override (screening log)",
        "n": data.screening["outcomes"].get("enrolled_by_override", 0)}
    dose = settings.effective_dose
    extra = {"dose_by_modality": doses, "deviations": deviations,
             "effective_dose": {"fluoroscopy_msv_per_mgycm2": dose.fluoroscopy_msv_per_mgycm2,
                                "ct_msv_per_mgycm": dose.ct_msv_per_mgycm, "source": dose.source}}
    return Summary(continuous, categorical, extra, treatment, _notes(data, by_arm, protocol, treatment))


def _notes(data: ClinicalData, by_arm: dict[str, list[dict]], protocol: Protocol, treatment: dict) -> list[str]:
    if not any(by_arm.values()):
        return []
    if not (data.baseline or data.procedure or data.events):
        return ["No clinician forms are recorded yet: Tables 1, 2 and 4, complications and contrast "
                "extravasation have no data."]
    notes = []
    labels = {arm.code: arm.label for arm in protocol.arms}
    for arm, found in by_arm.items():
        if not found:       # said already: the arm has no participants
            continue
        if not any("age" in x for x in found):
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
