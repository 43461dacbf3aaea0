"""The patient link as text: its URL, and finding or hiding its token in a text. Pure.

A link is ``<base URL>/f/<token>``; the token is an opaque random string (storage.tokens makes
and hashes it). This module is the one place that knows that shape: the SMS composer, the CLI,
the staff pages, crash recovery and the log filter all come here.
"""
from __future__ import annotations

import re

PATH_PREFIX = "/f"
# A token as issued: 18 random bytes in URL-safe base64 are 24 characters; 22-64 leaves room
# for a longer token later without accepting anything that cannot be one.
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_-]{22,64}$")
_TOKEN_IN_TEXT = re.compile(PATH_PREFIX + r"/([A-Za-z0-9_-]{22,64})")
# Staff password links (web.auth.password) carry a token in their path too.
PASSWORD_PATH_PREFIX = "/staff/password"
# For hiding: whatever follows /f/ (or a password link's prefix), however long, so a mistyped link is hidden too.
_ANYTHING_AFTER_PREFIX = re.compile(f"({PATH_PREFIX}|{PASSWORD_PATH_PREFIX})" + r"/[A-Za-z0-9_-]+")


def patient_url(base_url: str, token: str) -> str:
    """The full link a patient opens, e.g. https://pro.example.org/f/<token>."""
    return f"{base_url.rstrip('/')}{PATH_PREFIX}/{token}"


def looks_like_token(text: str | None) -> bool:
    return bool(TOKEN_PATTERN.match(text or ""))


def token_in(text: str | None) -> str | None:
    """The first patient-link token in a text (an SMS body), if any."""
    found = _TOKEN_IN_TEXT.search(text or "")
    return found.group(1) if found else None


def redact(text: str) -> str:
    """The text with every link token replaced by <token>, for storing and logging what was sent."""
    return _ANYTHING_AFTER_PREFIX.sub(r"\1/<token>", text)
