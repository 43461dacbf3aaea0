"""Reading clinician form fields: levels, numbers in a plausible range, dates, text. Each helper
adds a plain message naming the field to ``errors`` and returns None for a bad or blank value. Pure.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def level(data: Mapping[str, Any], field: str, levels: tuple[str, ...], errors: dict[str, str],
          required: bool = True) -> str | None:
    value = data.get(field)
    if blank(value):
        if required:
            errors[field] = f"choose one of {', '.join(levels)}"
        return None
    value = str(value).strip().lower()
    if value not in levels:
        errors[field] = f"{value!r} is not one of {', '.join(levels)}"
        return None
    return value


def number(data: Mapping[str, Any], field: str, low: float, high: float, errors: dict[str, str], *,
           required: bool = True, unit: str = "", above_low: bool = False, whole: bool = False) -> float | None:
    """A number in [low, high] (or (low, high] with ``above_low``)."""
    value = data.get(field)
    if blank(value):
        if required:
            errors[field] = "required"
        return None
    if isinstance(value, bool):
        errors[field] = f"{value!r} is not a number"
        return None
    try:
        found = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except ValueError:
        errors[field] = f"{value!r} is not a number"
        return None
    suffix = f" {unit}" if unit else ""
    bounds = f"{'more than' if above_low else 'from'} {low:g}{suffix} to {high:g}{suffix}"
    if not math.isfinite(found) or found > high or found < low or (above_low and found == low):
        errors[field] = f"{value} is implausible: {bounds}"
        return None
    if whole and not found.is_integer():
        errors[field] = "a whole number"
        return None
    return int(found) if whole else found


def day(data: Mapping[str, Any], field: str, errors: dict[str, str], *, required: bool = True,
        not_before: date | None = None, not_after: date | None = None, before_what: str = "",
        after_what: str = "") -> date | None:
    value = data.get(field)
    if blank(value):
        if required:
            errors[field] = "required, written YYYY-MM-DD"
        return None
    try:
        found = value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    except ValueError:
        errors[field] = f"{value!r} is not a date written YYYY-MM-DD"
        return None
    if not_before and found < not_before:
        errors[field] = f"{found.isoformat()} is before {before_what} ({not_before.isoformat()})"
        return None
    if not_after and found > not_after:
        errors[field] = f"{found.isoformat()} is after {after_what} ({not_after.isoformat()})"
        return None
    return found


def text(data: Mapping[str, Any], field: str, errors: dict[str, str], *, required: bool = False,
         max_length: int = 500) -> str | None:
    value = data.get(field)
    if blank(value):
        if required:
            errors[field] = "required"
        return None
    value = str(value).strip()
    if len(value) > max_length:
        errors[field] = f"at most {max_length} characters"
        return None
    return value


def unknown_fields(data: Mapping[str, Any], known: set[str], errors: dict[str, str]) -> None:
    for field in sorted(set(data) - known):
        errors[field] = "not a field of this form"
