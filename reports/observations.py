"""What the report analyses, read once into arrays.

Each score the report uses (storage.responses.NEWEST_SCORES) becomes a participants x timepoints
matrix of floats, NaN where there is no answer, in the order of ``participants.every`` (by
study_id) and of the protocol's timepoints. A variable at a timepoint in one arm is then a slice of
a column, and complete cases across timepoints are rows without NaN: no loop over participants,
and the values reach the statistics in the order they always did.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from questionnaires.protocol import Protocol
from reports import clinical_report
from storage import participants, responses


@dataclass
class Observations:
    participants: list[dict]
    timepoints: tuple[str, ...]
    arms: np.ndarray                                   # (n,) each participant's arm code
    scores: dict[str, np.ndarray]                      # score name -> (n, timepoints), NaN missing
    answered: np.ndarray                               # (n, timepoints): any answer there
    windows: dict[tuple[int, str], tuple[str | None, str]] = field(default_factory=dict)
    clinical: clinical_report.ClinicalData = field(default_factory=clinical_report.ClinicalData)

    def column(self, name: str, timepoint: str) -> np.ndarray:
        return self.scores[name][:, self.timepoints.index(timepoint)]

    def values(self, name: str, arm: str, timepoint: str) -> list[float]:
        """One arm's answers at one timepoint, missing left out, in participant order."""
        column = self.column(name, timepoint)[self.arms == arm]
        return column[~np.isnan(column)].tolist()

    def complete_rows(self, name: str, arm: str, timepoints: list[str]) -> list[list[float]]:
        """One arm's participants with an answer at every one of ``timepoints``, one row each."""
        matrix = self.scores[name][self.arms == arm][:, [self.timepoints.index(tp) for tp in timepoints]]
        return matrix[~np.isnan(matrix).any(axis=1)].tolist()


def gather(db, protocol: Protocol) -> Observations:
    people = list(participants.every(db))
    timepoints = protocol.timepoint_ids
    shape = (len(people), len(timepoints))
    observations = Observations(
        people, timepoints, np.array([p["arm"] for p in people], dtype=object),
        {name: np.full(shape, np.nan) for name in responses.NEWEST_SCORES}, np.zeros(shape, dtype=bool),
        clinical=clinical_report.gather(db))
    row_of = {person["id"]: index for index, person in enumerate(people)}
    column_of = {tp: index for index, tp in enumerate(timepoints)}
    rows = [r for r in responses.newest_scores(db) if r[1] in column_of]
    if rows:
        columns = list(zip(*rows))
        at = (np.fromiter((row_of[pid] for pid in columns[0]), dtype=np.intp, count=len(rows)),
              np.fromiter((column_of[tp] for tp in columns[1]), dtype=np.intp, count=len(rows)))
        observations.answered[at] = True
        for name, values in zip(responses.NEWEST_SCORES, columns[3:]):
            values = np.array(values, dtype=float)           # None (another instrument's) -> NaN
            given = ~np.isnan(values)
            observations.scores[name][at[0][given], at[1][given]] = values[given]
    observations.windows = {(pid, tp): (completed, closes)
                            for pid, tp, completed, closes in participants.windows(db)}
    return observations
