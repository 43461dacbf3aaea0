"""What free text a person types (a reason, a note) may hold when it is stored.

Control characters (NUL, terminal escapes, a lone carriage return) are dropped; line breaks and
tabs stay. Text with nothing visible in it (spaces, zero-width characters, direction marks)
counts as empty, so "say why" cannot be satisfied by an invisible reason.
"""
from __future__ import annotations

import unicodedata

MAX_REASON_LENGTH = 500
_KEPT_CONTROLS = {"\n", "\t"}


def clean_text(value: str | None) -> str:
    """The text as stored: controls dropped, trimmed; "" when nothing visible is left."""
    text = "".join(ch for ch in (value or "").replace("\r\n", "\n").replace("\r", "\n")
                   if ch in _KEPT_CONTROLS or unicodedata.category(ch) != "Cc").strip()
    visible = any(unicodedata.category(ch)[0] not in ("Z", "C") for ch in text)
    return text if visible else ""


def printable(text: str | None) -> str:
    """Text someone else wrote, safe to print on a terminal: every control character (an escape
    sequence that could rewrite the screen, a bell) shown as its code instead of obeyed."""
    return "".join(ch if ch in _KEPT_CONTROLS or unicodedata.category(ch) not in ("Cc", "Cf") or ch == "\u200d"
                   else f"\\u{ord(ch):04x}" for ch in (text or ""))
