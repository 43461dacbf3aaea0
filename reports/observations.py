"""What the report analyses, read once into arrays.

Each score the report uses (storage.migrations.NEWEST_SCORES) becomes a participants x timepoints
matrix of floats, NaN where there is no answer, in the order of ``participants.every`` (by
study_id) and of the protocol's timepoints. A variable at a timepoint in one arm is then a slice of
a column, and complete cases across timepoints are rows without NaN: no loop over participants,
and the values reach the statistics in the order they always did. Everything is read in one
snapshot (storage.report_data), a few set-based queries whatever the number of participants.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain

import numpy as np

from questionnaires.protocol import Protocol
from reports import clinical_report
from reports.clinical_columns import ClinicalData
from storage import report_data
from storage.db import parse_utc
from storage.migrations import NEWEST_SCORES


@dataclass
class Observations:
    ids: np.ndarray                                    # (n,) participant ids, by study_id
    arms: np.ndarray                                   # (n,) each participant's arm code
    strata: np.ndarray                                 # (n,) each participant's randomization stratum, or None
    timepoints: tuple[str, ...]
    scores: dict[str, np.ndarray]                      # score name -> (n, timepoints), NaN missing
    # (arm, timepoint, completed, withdrawn, closed by the time gather was given, n), counted
    windows: list[tuple] = field(default_factory=list)
    answered_unscheduled: list[tuple] = field(default_factory=list)  # storage.report_data.answered_unscheduled
    clinical: ClinicalData = field(default_factory=ClinicalData)

    def column(self, name: str, timepoint: str) -> np.ndarray:
        return self.scores[name][:, self.timepoints.index(timepoint)]

    def array(self, name: str, arm: str, timepoint: str) -> np.ndarray:
        """One arm's answers at one timepoint, missing left out, in participant order."""
        column = self.column(name, timepoint)[self.arms == arm]
        return column[~np.isnan(column)]

    def values(self, name: str, arm: str, timepoint: str) -> list[float]:
        """``array`` as a list."""
        return self.array(name, arm, timepoint).tolist()

    def complete_rows(self, name: str, arm: str, timepoints: list[str]) -> np.ndarray:
        """One arm's participants with an answer at every one of ``timepoints``, one row each."""
        matrix = self.scores[name][self.arms == arm][:, [self.timepoints.index(tp) for tp in timepoints]]
        return matrix[~np.isnan(matrix).any(axis=1)]


def row_index(ids: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A function from participant ids to their rows in ``ids``' order, at once for an array of them.
    Inside one snapshot every answer's and record's participant is there (a foreign key)."""
    order = np.argsort(ids, kind="stable")
    ordered = ids[order]
    if len(ids) and 0 <= ordered[0] and ordered[-1] <= DENSE_IDS * len(ids):
        position = np.full(int(ordered[-1]) + 1, -1, dtype=np.intp)     # a table lookup: ids are dense
        position[ids] = np.arange(len(ids))

        def rows(wanted: np.ndarray) -> np.ndarray:
            found = position[wanted]
            if (found < 0).any():
                raise LookupError("an answer or record belongs to no participant")
            return found
        return rows

    def search(wanted: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(ordered, wanted), max(len(ordered) - 1, 0))
        if len(wanted) and (not len(ordered) or (ordered[at] != wanted).any()):
            raise LookupError("an answer or record belongs to no participant")
        return order[at]
    return search


# Participant ids up to this many times their number are looked up in a table of that size.
DENSE_IDS = 8

# The scores read together, each group filled by one instrument: one pass over the answers per group.
SCORE_GROUPS = (("vas_cm",), ("odi_score",), ("sat_procedure", "sat_results"), ("nsaid_mg_day", "mme_mg_day"))


def _scores(db, timepoints: tuple[str, ...], rows_of, n: int) -> dict[str, np.ndarray]:
    grouped = [name for group in SCORE_GROUPS for name in group]
    groups = [*SCORE_GROUPS, *((name,) for name in NEWEST_SCORES if name not in grouped)]
    scores = {}
    for group in groups:
        found = np.fromiter(chain.from_iterable(report_data.scores(db, group, timepoints)), dtype=object)
        found = found.reshape(-1, 2 + len(group))
        at = rows_of(found[:, 0].astype(np.intp)), found[:, 1].astype(np.intp)
        for index, name in enumerate(group):
            matrix = np.full((n, len(timepoints)), np.nan)
            values = found[:, 2 + index].astype(float)       # None (not there) -> NaN
            given = ~np.isnan(values)
            matrix[at[0][given], at[1][given]] = values[given]
            scores[name] = matrix
    return {name: scores[name] for name in NEWEST_SCORES}


def _objects(values: list) -> np.ndarray:
    return np.fromiter(values, dtype=object, count=len(values))


def gather(db, protocol: Protocol, now: datetime) -> Observations:
    """Everything the report reads, in one snapshot; ``now`` tells which windows have closed."""
    timepoints = protocol.timepoint_ids
    arms = [arm.code for arm in protocol.arms]
    with report_data.snapshot(db):
        people = report_data.participants(db)
        ids, arms_of, strata = (list(column) for column in zip(*people)) if people else ([], [], [])
        ids = np.array(ids, dtype=np.intp)
        rows_of = row_index(ids)
        closed = [closes_at for closes_at in report_data.closing_times(db) if now >= parse_utc(closes_at)]
        windows = [(arms[arm], timepoints[timepoint], *rest)
                   for arm, timepoint, *rest in report_data.window_counts(db, arms, timepoints, closed)]
        observations = Observations(
            ids, _objects(arms_of), _objects(strata), timepoints, _scores(db, timepoints, rows_of, len(ids)),
            windows, report_data.answered_unscheduled(db, timepoints), clinical_report.gather(db, rows_of, len(ids)))
    return observations
