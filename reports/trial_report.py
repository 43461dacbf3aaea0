"""The per-arm comparison report, as the reference trial's Tables 1 to 6 and Fig. 4.

``gather`` reads the newest scored answers from storage; ``analyse`` turns them into the report's
JSON contract with the definitions of reports.statistics (SPSS's conventions, stated in the
report's footnotes). Between-arm tests use every case available at a timepoint; Friedman uses
complete cases; every table shows its n. The clinician forms' tables (1, 2, 4 and part of 5) come
from reports.clinical_report, analysed here with the same statistics, by allocated arm.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from questionnaires.protocol import Protocol
from questionnaires.satisfaction import LEVEL_LABELS
from reports import channel_completion, clinical_report, distinct
from reports import statistics as st
from reports.derived import nsaid_reduction
from reports.observations import Observations, gather
from storage.channels import reminded_windows
from storage.db import utc_iso


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


def _nsaid_reduction(obs: Observations, protocol: Protocol, timepoint: str) -> np.ndarray:
    """Per participant: (baseline - follow-up) / baseline x 100 of diclofenac-equivalent mg/day,
    NaN where there is none (reports.derived.nsaid_reduction says when, once per distinct pair)."""
    found = distinct.apply(lambda base, now: nsaid_reduction(protocol, timepoint, base, now),
                           obs.column("nsaid_mg_day", protocol.baseline.id), obs.column("nsaid_mg_day", timepoint))
    return np.array(found.tolist(), dtype=float)        # None (no reduction) -> NaN


def compare_arms(a: Sequence[float], b: Sequence[float], test: str | None = None) -> dict:
    """Everything the report prints for one variable at one timepoint: both arms described, both
    tests (so a reader sees what the other would say), the one chosen by normality (or ``test``,
    where the analysis plan names one) and its p, and the effect sizes that travel with it."""
    normal_a, normal_b = st.normality(a), st.normality(b)
    tests = st.two_arms(a, b)
    entry = {
        "A": st.describe(a), "B": st.describe(b),
        "mann_whitney": tests["mann_whitney"], "t_test": tests["t_test"],
        "normality": {"A": normal_a, "B": normal_b}, "test": test or st.choose_test(normal_a, normal_b),
        "hodges_lehmann": tests["hodges_lehmann"], "rank_biserial": tests["rank_biserial"],
    }
    chosen = entry["t_test"] if entry["test"] == "t-test" else entry["mann_whitney"]
    entry["p"] = chosen.get("p")
    return entry


def analyse(obs: Observations, protocol: Protocol, now: datetime) -> dict:
    arm_a, arm_b = protocol.arms[0].code, protocol.arms[1].code
    arms = {arm.code: {"label": arm.label, "n": int((obs.arms == arm.code).sum())} for arm in protocol.arms}
    report: dict = {"generated_at": utc_iso(now), "protocol": {"id": protocol.id, "title": protocol.title},
                    "arms": arms, "continuous": [], "repeated": [], "categorical": [], "notes": []}
    if not len(obs.ids):
        report["notes"].append("No participant is enrolled yet: there is nothing to compare.")
    for code, arm in arms.items():
        if len(obs.ids) and arm["n"] == 0:
            report["notes"].append(f"Arm {code} ({arm['label']}) has no participants: between-arm tests are not computed.")

    for variable in CONTINUOUS:
        for tp in _timepoints_with(protocol, variable.instrument):
            a = obs.array(variable.score, arm_a, tp.id)
            b = obs.array(variable.score, arm_b, tp.id)
            report["continuous"].append({"variable": variable.id, "label": variable.label, "unit": variable.unit,
                                         "timepoint": tp.id, "timepoint_label": tp.label, **compare_arms(a, b)})
    for tp in _timepoints_with(protocol, "medication"):
        if tp.id == protocol.baseline.id:
            continue
        reduction = _nsaid_reduction(obs, protocol, tp.id)
        a, b = (reduction[(obs.arms == arm) & ~np.isnan(reduction)] for arm in (arm_a, arm_b))
        report["continuous"].append({"variable": "nsaid_reduction", "label": "Reduction of NSAIDs", "unit": "%",
                                     "timepoint": tp.id, "timepoint_label": tp.label, **compare_arms(a, b)})
    clinical = clinical_report.summarise(obs.clinical, obs.arms, obs.strata, protocol)
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
                for level, n in _tally(obs.array(field_id, arm, tp.id), lambda value: str(int(value))).items():
                    counts[arm][level] += n
            report["categorical"].append(_categorical(field_id, label, tp, counts, {str(k): v for k, v in LEVEL_LABELS.items()}))
    for tp in _timepoints_with(protocol, "medication"):
        counts: dict[str, dict[str, int]] = {arm: _tally(obs.array("mme_mg_day", arm, tp.id), _mme_level)
                                             for arm in (arm_a, arm_b)}
        levels = sorted(set(counts[arm_a]) | set(counts[arm_b]), key=float)
        counts = {arm: {level: counts[arm].get(level, 0) for level in levels} for arm in counts}
        report["categorical"].append(_categorical("mme", "Morphine equivalent", tp, counts,
                                                  {level: f"{level} mg/day" for level in levels}))
    for variable, counts in clinical.categorical:
        report["categorical"].append(_categorical(variable.id, variable.label, variable.stage, counts, variable.levels))

    table = consort(obs, protocol)
    report["consort"] = {**table, **clinical_report.flow(obs.clinical, table, clinical.treatment, protocol)}
    report.update(clinical.extra)
    report["notes"] += clinical.notes
    return report


def _mme_level(value: float) -> str:
    return f"{value:g}"


def _tally(values: np.ndarray, level: Callable[[float], str]) -> dict[str, int]:
    """How many of ``values`` fall on each level, ``level`` called once per distinct value."""
    distinct_values, inverse = distinct.factorize(values)
    found: dict[str, int] = {}
    for value, n in zip(distinct_values, np.bincount(inverse, minlength=len(distinct_values)).tolist()):
        name = level(value)
        found[name] = found.get(name, 0) + n
    return found


def _categorical(variable: str, label: str, tp, counts: dict, level_labels: dict) -> dict:
    arm_a, arm_b = list(counts)
    return {"variable": variable, "label": label, "timepoint": tp.id, "timepoint_label": tp.label,
            "level_labels": level_labels, "counts": counts,
            "n": {arm: sum(c.values()) for arm, c in counts.items()},
            **st.chi_square(counts[arm_a], counts[arm_b])}


def consort(obs: Observations, protocol: Protocol) -> dict:
    """Enrolled per arm; per timepoint completed, missed, withdrawn, and still to come. A window is
    completed when every form is in; withdrawn when the withdrawal came before it closed; missed
    once it has closed (by the time ``gather`` was given); else pending. Without a window (imported
    from paper), completed when any answer is there, else no schedule."""
    table: dict = {"enrolled": {}, "timepoints": []}
    for arm in protocol.arms:
        table["enrolled"][arm.code] = int((obs.arms == arm.code).sum())
    counts = {(arm.code, tp.id): dict.fromkeys(("completed", "missed", "withdrawn", "pending", "no_schedule"), 0)
              for tp in protocol.timepoints for arm in protocol.arms}
    scheduled = dict.fromkeys(counts, 0)
    for arm, timepoint, completed, withdrawn, closed, n in obs.windows:   # counted by SQL: a few rows
        state = "completed" if completed else "withdrawn" if withdrawn else "missed" if closed else "pending"
        counts[arm, timepoint][state] += n
        scheduled[arm, timepoint] += n
    for arm, timepoint, n in obs.answered_unscheduled:
        if (arm, timepoint) in counts:
            counts[arm, timepoint]["completed"] += n
            scheduled[arm, timepoint] += n
    for tp in protocol.timepoints:
        row = {"timepoint": tp.id, "label": tp.label}
        for arm in protocol.arms:
            row[arm.code] = counts[arm.code, tp.id]
            row[arm.code]["no_schedule"] = table["enrolled"][arm.code] - scheduled[arm.code, tp.id]
        table["timepoints"].append(row)
    return table


def figure_series(obs: Observations, protocol: Protocol) -> dict[str, list[tuple[str, list[list[float]]]]]:
    """Per figure variable: (timepoint label, [arm A values, arm B values]) in protocol order."""
    arm_a, arm_b = protocol.arms[0].code, protocol.arms[1].code
    return {variable.id: [(tp.label, [obs.values(variable.score, arm_a, tp.id), obs.values(variable.score, arm_b, tp.id)])
                          for tp in _timepoints_with(protocol, variable.instrument)]
            for variable in CONTINUOUS}


def build(db, protocol: Protocol, now: datetime) -> tuple[dict, Observations]:
    observations = gather(db, protocol, now)
    report = analyse(observations, protocol, now)
    # Last, so everything before it keeps its place: completion by reminder channel (descriptive).
    report["completion_by_channel"] = channel_completion.table(reminded_windows(db, now), protocol)
    return report, observations
