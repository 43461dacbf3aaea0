"""The clinician forms as the report reads them: for each form, the newest record of every
participant as columns in the participants' order (Observations), read set-based.

One query per form takes out only the fields asked for (storage.report_data.form_values); the
screening log takes two. Whatever the number of participants, that is five queries.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from questionnaires.crf import BASELINE_FORM, EVENT_FORM, PROCEDURE_FORM
from storage import crf, report_data


@dataclass
class Form:
    """The newest record of one clinician form for each participant, as columns in the order of
    the participants (Observations): ``recorded`` says who has one; a field is None where its
    record does not give it, or where there is no record."""

    recorded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    fields: dict[str, np.ndarray] = field(default_factory=dict)

    def numbers(self, name: str) -> np.ndarray:
        """A numeric field as floats, NaN where absent."""
        return np.array(self.fields[name].tolist(), dtype=float)


@dataclass
class ClinicalData:
    """The newest version of every clinician form, and the screening log's counts."""

    baseline: Form = field(default_factory=Form)
    procedure: Form = field(default_factory=Form)
    events: dict[int, list[dict]] = field(default_factory=dict)    # participant's row -> their events
    records: int = 0                                               # baseline, procedure and event records
    screening: dict = field(default_factory=lambda: {"outcomes": {}, "reasons": {}})


def _form(db, form: str, fields: tuple[str, ...], rows_of, size: int) -> tuple[Form, int]:
    """The form's newest records as columns; of a participant's items, the highest, as crf.newest's
    readers kept it. Also how many records there are."""
    participants, items, values = report_data.form_values(db, form, fields)
    recorded = np.zeros(size, dtype=bool)
    columns = {name: np.full(size, None, dtype=object) for name in fields}
    if participants:
        rows = rows_of(np.array(participants, dtype=np.intp))
        order = np.lexsort((np.array(items), rows))
        last = order[np.append(rows[order][1:] != rows[order][:-1], True)]
        recorded[rows] = True
        for name, column in zip(fields, values):
            columns[name][rows[last]] = np.fromiter(column, dtype=object, count=len(column))[last]
    return Form(recorded, columns), len(participants)


def read(db, rows_of, size: int, *, baseline: tuple[str, ...], procedure: tuple[str, ...],
         events: tuple[str, ...]) -> ClinicalData:
    """The named fields of the baseline and procedure records and of every adverse event, and the
    screening log. ``rows_of`` maps participant ids to their rows among ``size`` participants."""
    baseline_form, n_baseline = _form(db, BASELINE_FORM, baseline, rows_of, size)
    procedure_form, n_procedure = _form(db, PROCEDURE_FORM, procedure, rows_of, size)
    by_row: dict[int, list[dict]] = {}
    participants, _, values = report_data.form_values(db, EVENT_FORM, events)
    if participants:
        for row, *event in zip(rows_of(np.array(participants, dtype=np.intp)).tolist(), *values):
            by_row.setdefault(row, []).append(dict(zip(events, event)))
    return ClinicalData(baseline_form, procedure_form, by_row, n_baseline + n_procedure + len(participants),
                        crf.screening_counts(db))
