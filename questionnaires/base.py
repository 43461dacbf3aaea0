"""What every instrument offers: an id, a version, validation of typed answers and scoring."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol


def N_(text: str) -> str:
    """Mark patient-facing text for translation without translating it here.

    The pure core cannot import Flask-Babel; templates pass these strings through
    ``gettext`` at render time, and ``pybabel extract -k N_`` collects them.
    """
    return text


# Arabic-Indic (U+0660-0669) and Eastern Arabic-Indic (U+06F0-06F9, as in Persian and Urdu)
# digits, and the Arabic decimal separator (U+066B), read as the ASCII a phone keyboard may not offer.
_DIGITS = {**{0x0660 + n: str(n) for n in range(10)}, **{0x06F0 + n: str(n) for n in range(10)}, 0x066B: "."}


def normalise_digits(text: str) -> str:
    """"١٢٫٥" -> "12.5"; a mix ("١2") reads the same. Anything else is left for the caller to refuse
    (the Arabic percent sign, letters), so a patient is asked again, never guessed at."""
    return text.translate(_DIGITS)


class AnswerError(ValueError):
    """Answers that cannot be stored. ``errors`` maps a field name to a plain message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.errors.items()))


class Instrument(Protocol):
    id: str
    version: str
    title: str

    def validate(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Return the canonical answers, or raise AnswerError naming each bad field."""

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Derived values of answers, validated first; None where a score is missing."""

    def score_valid(self, clean: Mapping[str, Any]) -> dict[str, Any]:
        """score() of answers that validate() returned, without validating them a second time."""


def require_int(answers: Mapping[str, Any], field: str, low: int, high: int,
                errors: dict[str, str], message: str, required: bool = True) -> int | None:
    """Read an integer in [low, high]; bools and floats with a fraction are refused."""
    value = answers.get(field)
    if value is None or value == "":
        if required:
            errors[field] = message
        return None
    if isinstance(value, bool):
        errors[field] = message
        return None
    if isinstance(value, float):
        if not value.is_integer():
            errors[field] = message
            return None
        value = int(value)
    if isinstance(value, str):
        try:
            value = int(normalise_digits(value.strip()))
        except ValueError:
            errors[field] = message
            return None
    if not isinstance(value, int) or not low <= value <= high:
        errors[field] = message
        return None
    return value
