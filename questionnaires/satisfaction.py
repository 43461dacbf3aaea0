"""Patient satisfaction: two 4-level Likert items, as in the trial paper's Table 6."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.base import N_, AnswerError, require_int

LEVELS: tuple[tuple[int, str], ...] = (
    (1, N_("Very unsatisfied")),
    (2, N_("Unsatisfied")),
    (3, N_("Satisfied")),
    (4, N_("Very satisfied")),
)
LEVEL_LABELS = dict(LEVELS)
ITEMS: tuple[tuple[str, str], ...] = (
    ("sat_procedure", N_("How satisfied are you with the procedure (the injection itself)?")),
    ("sat_results", N_("How satisfied are you with the results of the procedure so far?")),
)
FIELDS = tuple(field for field, _ in ITEMS)


@dataclass(frozen=True)
class SatisfactionInstrument:
    id: str = "satisfaction"
    version: str = "1.0"
    title: str = N_("Your satisfaction")
    items: tuple[tuple[str, str], ...] = ITEMS
    levels: tuple[tuple[int, str], ...] = LEVELS

    def validate(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        errors: dict[str, str] = {}
        unknown = set(answers) - set(FIELDS)
        errors.update({field: N_("This is not a question of this form.") for field in sorted(unknown)})
        clean = {field: require_int(answers, field, 1, len(LEVELS), errors, N_("Please choose one answer."))
                 for field in FIELDS}
        if errors:
            raise AnswerError(errors)
        return clean

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        return self.score_valid(self.validate(answers))

    def score_valid(self, clean: Mapping[str, Any]) -> dict[str, Any]:
        """score() of answers that validate() returned, without validating them a second time."""
        return dict(clean)


SATISFACTION = SatisfactionInstrument()
