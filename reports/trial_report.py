"""The per-arm comparison report, as the reference trial's Tables 1 to 6 and Fig. 4.

``gather`` reads the newest scored answers from storage; ``analyse`` turns them into the report's
JSON contract with the definitions of reports.statistics (SPSS's conventions, stated in the
report's footnotes). Between-arm tests use every case available at a timepoint; Friedman uses
complete cases; every table shows its n. The clinician forms' tables (1, 2, 4 and part of 5) come
from reports.clinical_report, analysed here with the same statistics, by allocated arm.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from questionnaires.protocol import Protocol
from questionnaires.satisfaction import LEVEL_LABELS
from reports import clinical_report
from reports import statistics as st
from reports.derived import nsaid_reduction
from reports.observations import Observations, gather
from storage.db import parse_utc, utc_iso


@dataclass(frozen=True)
class Continuous:
    id: str
    label: str
    instrument: str
    score: str            # its column in Observations.scores
    unit: str


CONTINUOUS = (
    Continuous("vas", "VAS", "vas", "vas_cm", "cm"),
    Continuous("odi", "ODI", "odi", "odi_score", "%"),
)
REPEATED = ("vas", "odi")
SATISFACTION = (("sat_procedure", "Satisfaction with the procedure"), ("sat_results", "Satisfaction with results"))


def _timepoints_with(protocol: Protocol, instrument: str) -> list:
    return [tp for tp in protocol.timepoints if instrument in tp.instruments]


def _nsaid_reduction(obs: Observations, protocol: Protocol, timepoint: str, arm: str) -> list[float]:
    """Per participant of an arm: (baseline - follow-up) / baseline x 100 of diclofenac-equivalent
    mg/day, where there is one (reports.derived.nsaid_reduction says when)."""
    mine = obs.arms == arm
    base = obs.column("nsaid_mg_day", protocol.baseline.id)[mine].tolist()
    now = obs.column("nsaid_mg_day", timepoint)[mine].tolist()
    found = []
    for b, n in zip(base, now):
        value = nsaid_reduction(protocol, timepoint, None if math.isnan(b) else b, None if math.isnan(n) else n)
        if value is not None:
            found.append(value)
    return found


def compare_arms(a: list[float], b: list[float], test: str | None = None) -> dict:
    """Everything the report prints for one variable at one timepoint: both arms described, both
    tests (so a reader sees what the other would say), the one chosen by normality (or ``test``,
    where the analysis plan names one) and its p, and the effect sizes that travel with it."""
    normal_a, normal_b = st.normality(a), st.normality(b)
    entry = {
        "A": st.describe(a), "B": st.describe(b),
        "mann_whitney": st.mann_whitney(a, b), "t_test": st.student_t(a, b),
        "normality": {"A": normal_a, "B": normal_b}, "test": test or st.choose_test(normal_a, normal_b),
        "hodges_lehmann": st.hodges_lehmann(a, b), "rank_biserial": st.rank_biserial(a, b),
    }
    chosen = entry["t_test"] if entry["test"] == "t-test" else entry["mann_whitney"]
    entry["p"] = chosen.get("p")
    return entry


def analyse(obs: Observations, protocol: Protocol, now: datetime) -> dict:
    arm_a, arm_b = protocol.arms[0].code, protocol.arms[1].code
    arms = {arm.code: {"label": arm.label, "n": sum(p["arm"] == arm.code for p in obs.participants)}
            for arm in protocol.arms}
    report: dict = {"generated_at": utc_iso(now), "protocol": {"id": protocol.id, "title": protocol.title},
                    "arms": arms, "continuous": [], "repeated": [], "categorical": [], "notes": []}
    if not obs.participants:
        report["notes"].append("No participant is enrolled yet: there is nothing to compare.")
    for code, arm in arms.items():
        if obs.participants and arm["n"] == 0:
            report["notes"].append(f"Arm {code} ({arm['label']}) has no participants: between-arm tests are not computed.")

    for variable in CONTINUOUS:
        for tp in _timepoints_with(protocol, variable.instrument):
            a = obs.values(variable.score, arm_a, tp.id)
            b = obs.values(variable.score, arm_b, tp.id)
            report["continuous"].append({"variable": variable.id, "label": variable.label, "unit": variable.unit,
                                         "timepoint": tp.id, "timepoint_label": tp.label, **compare_arms(a, b)})
    for tp in _timepoints_with(protocol, "medication"):
        if tp.id == protocol.baseline.id:
            continue
        a = _nsaid_reduction(obs, protocol, tp.id, arm_a)
        b = _nsaid_reduction(obs, protocol, tp.id, arm_b)
        report["continuous"].append({"variable": "nsaid_reduction", "label": "Reduction of NSAIDs", "unit": "%",
                                     "timepoint": tp.id, "timepoint_label": tp.label, **compare_arms(a, b)})
    clinical = clinical_report.summarise(obs.clinical, obs.participants, protocol)
    for variable, values in clinical.continuous:
        report["continuous"].append({"variable": variable.id, "label": variable.label, "unit": variable.unit,
                                     "timepoint": variable.stage.id, "timepoint_label": variable.stage.label,
                                     **compare_arms(values[arm_a], values[arm_b], variable.test)})

    for variable_id in REPEATED:
        variable = next(v for v in CONTINUOUS if v.id == variable_id)
        tps = _timepoints_with(protocol, variable.instrument)
        for arm in (arm_a, arm_b):
            rows = obs.complete_rows(variable.score, arm, [tp.id for tp in tps])
            result = st.friedman(rows) if len(tps) >= 2 else {"n": len(rows), "statistic": None, "df": None,
                                                               "p": None, "mean_ranks": [], "note": "fewer than 2 timepoints"}
            pairwise = (st.friedman_pairwise(result["mean_ranks"], result["n"], [tp.id for tp in tps])
                        if result.get("statistic") is not None else [])
            report["repeated"].append({"variable": variable.id, "label": variable.label, "arm": arm,
                                       "timepoints": [tp.id for tp in tps], **result, "pairwise": pairwise})

    for field_id, label in SATISFACTION:
        for tp in _timepoints_with(protocol, "satisfaction"):
            counts = {arm: {str(level): 0 for level in LEVEL_LABELS} for arm in (arm_a, arm_b)}
            for arm in counts:
                for value in obs.values(field_id, arm, tp.id):
                    counts[arm][str(int(value))] += 1
            report["categorical"].append(_categorical(field_id, label, tp, counts, {str(k): v for k, v in LEVEL_LABELS.items()}))
    for tp in _timepoints_with(protocol, "medication"):
        counts: dict[str, dict[str, int]] = {arm_a: defaultdict(int), arm_b: defaultdict(int)}
        for arm in counts:
            for value in obs.values("mme_mg_day", arm, tp.id):
                counts[arm][_mme_level(value)] += 1
        levels = sorted(set(counts[arm_a]) | set(counts[arm_b]), key=float)
        counts = {arm: {level: counts[arm].get(level, 0) for level in levels} for arm in counts}
        report["categorical"].append(_categorical("mme", "Morphine equivalent", tp, counts,
                                                  {level: f"{level} mg/day" for level in levels}))
    for variable, counts in clinical.categorical:
        report["categorical"].append(_categorical(variable.id, variable.label, variable.stage, counts, variable.levels))

    table = consort(obs, protocol, now)
    report["consort"] = {**table, **clinical_report.flow(obs.clinical, table, clinical.treatment, protocol)}
    report.update(clinical.extra)
    report["notes"] += clinical.notes
    return report


def _mme_level(value: float) -> str:
    return f"{value:g}"


def _categorical(variable: str, label: str, tp, counts: dict, level_labels: dict) -> dict:
    arm_a, arm_b = list(counts)
    return {"variable": variable, "label": label, "timepoint": tp.id, "timepoint_label": tp.label,
            "level_labels": level_labels, "counts": counts,
            "n": {arm: sum(c.values()) for arm, c in counts.items()},
            **st.chi_square(counts[arm_a], counts[arm_b])}


def consort(obs: Observations, protocol: Protocol, now: datetime) -> dict:
    """Enrolled per arm; per timepoint completed, missed, withdrawn, and still to come."""
    table: dict = {"enrolled": {}, "timepoints": []}
    for arm in protocol.arms:
        table["enrolled"][arm.code] = sum(p["arm"] == arm.code for p in obs.participants)
    for tp in protocol.timepoints:
        row = {"timepoint": tp.id, "label": tp.label}
        answered = obs.answered[:, obs.timepoints.index(tp.id)].tolist()
        for arm in protocol.arms:
            counts = {"completed": 0, "missed": 0, "withdrawn": 0, "pending": 0, "no_schedule": 0}
            for index, person in enumerate(obs.participants):
                if person["arm"] != arm.code:
                    continue
                window = obs.windows.get((person["id"], tp.id))
                # Completed online (every form in), or on paper (imported: answers, no schedule).
                if (window and window[0]) or (window is None and answered[index]):
                    counts["completed"] += 1
                elif window is None:
                    counts["no_schedule"] += 1
                elif person["withdrawn_at"] and person["withdrawn_at"] < window[1]:
                    counts["withdrawn"] += 1
                elif now >= parse_utc(window[1]):
                    counts["missed"] += 1
                else:
                    counts["pending"] += 1
            row[arm.code] = counts
        table["timepoints"].append(row)
    return table


def figure_series(obs: Observations, protocol: Protocol) -> dict[str, list[tuple[str, list[list[float]]]]]:
    """Per figure variable: (timepoint label, [arm A values, arm B values]) in protocol order."""
    arm_a, arm_b = protocol.arms[0].code, protocol.arms[1].code
    return {variable.id: [(tp.label, [obs.values(variable.score, arm_a, tp.id), obs.values(variable.score, arm_b, tp.id)])
                          for tp in _timepoints_with(protocol, variable.instrument)]
            for variable in CONTINUOUS}


def build(db, protocol: Protocol, now: datetime) -> tuple[dict, Observations]:
    observations = gather(db, protocol)
    return analyse(observations, protocol, now), observations
