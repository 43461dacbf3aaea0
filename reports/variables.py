"""A dataset variable as the codebook describes it, and numbers written as the dataset writes them."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Variable:
    name: str
    label: str
    type: str                 # string, integer, decimal, datetime, date
    unit: str = ""
    allowed: str = ""
    instrument: str = ""
    derivation: str = ""
    value_labels: tuple[tuple[int | str, str], ...] = ()
    timepoints: str = ""      # where it is collected: the timepoints its instrument is given at


def _number(value: float | None, places: int, fixed: bool = False) -> str:
    if value is None:
        return ""
    text = f"{value:.{places}f}"
    return text if fixed else (text.rstrip("0").rstrip(".") or "0")


def score_text(value: float | None) -> str:
    """``_number(value, 2)``, the dataset's scores and doses (reports.dataset.SCORE_DECIMALS), as
    one argument: the call an export makes most."""
    if value is None:
        return ""
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"
