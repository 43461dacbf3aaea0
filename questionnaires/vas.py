"""Visual analogue scale for pain: a 100 mm line, or an 11-point numeric fallback.

The line is stored as integer millimetres (0-100). Without JavaScript the patient answers on
the 0-10 numeric rating scale instead; that answer is stored as given, with its mode, and is
reported on the same centimetre scale (an NRS 6 is 6.0 cm) so both modes share one column.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.base import N_, AnswerError, require_int

LINE_MAX_MM = 100
NRS_MAX = 10
MODE_LINE = "line"
MODE_NRS = "nrs"
MODES = (MODE_LINE, MODE_NRS)


@dataclass(frozen=True)
class VasInstrument:
    id: str = "vas"
    version: str = "1.0"
    title: str = N_("Pain")
    question: str = N_("How bad is your back and leg pain right now?")
    anchor_low: str = N_("No pain")
    anchor_high: str = N_("Worst imaginable pain")

    def validate(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        mode = answers.get("mode")
        if mode not in MODES:
            raise AnswerError({"mode": N_("The way this answer was given was not recognised.")})
        errors: dict[str, str] = {}
        high = LINE_MAX_MM if mode == MODE_LINE else NRS_MAX
        message = (N_("Please mark your pain on the line.") if mode == MODE_LINE
                   else N_("Please choose a number from 0 to 10."))
        value = require_int(answers, "value", 0, high, errors, message)
        if errors:
            raise AnswerError(errors)
        return {"mode": mode, "value": value}

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        return self.score_valid(self.validate(answers))

    def score_valid(self, clean: Mapping[str, Any]) -> dict[str, Any]:
        """score() of answers that validate() returned, without validating them a second time."""
        mm = clean["value"] if clean["mode"] == MODE_LINE else clean["value"] * (LINE_MAX_MM // NRS_MAX)
        return {"vas_mm": mm, "vas_cm": mm_to_cm(mm), "vas_mode": clean["mode"]}


def mm_to_cm(mm: int) -> float:
    """Millimetres to centimetres with one decimal, exactly (integer arithmetic, no float drift)."""
    return mm / 10


VAS = VasInstrument()
