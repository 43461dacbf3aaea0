"""What a staff password must be, and the reason when it is not.

NIST SP 800-63B (5.1.1.2) asks for a minimum length, no composition rules, and a check against
passwords known from breaches, common ones, repetitive or sequential characters and words from
the service's context (here the account's email); that is what this does. The breached list is the 20,000 most common passwords that Django ships
(services/data/README.md), compared lowercased, as Django does. A common password with digits or
symbols added around it ("dragon12345678", "!!password!!") or with its spaces taken out counts
as that password.
"""
from __future__ import annotations

import gzip
import string
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
# As long as the sign-in form takes (web.auth.routes.LoginForm): a longer one could never sign in.
MAX_LENGTH = 1024
# "aaaaaaaaaaaa", "abababababab", "121212121212": fewer different characters than this.
MIN_DISTINCT_CHARACTERS = 5
COMMON_PASSWORDS = Path(__file__).resolve().parent / "data" / "common-passwords.txt.gz"
_PADDING = string.digits + string.punctuation + string.whitespace


@cache
def common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())


def _forms(password: str) -> set[str]:
    """The password as the list would hold it, and with what people add to a common one taken off."""
    lowered = password.lower().strip()
    joined = "".join(lowered.split())
    return {form for form in (lowered, joined, joined.strip(_PADDING), joined.rstrip(_PADDING),
                              joined.lstrip(_PADDING)) if form}


def _step(a: str, b: str) -> int:
    return {("9", "0"): 1, ("0", "9"): -1}.get((a, b), ord(b) - ord(a))


def _is_run(text: str) -> bool:
    """"123456789012", "abcdefghijkl", "987654321098": each character the one after (or before) the last."""
    return {_step(a, b) for a, b in zip(text, text[1:])} in ({1}, {-1})


def _letters_and_digits(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum())


def refusal(password: str, *, email: str) -> str | None:
    """Why ``password`` may not be the password of the account ``email``, or None if it may."""
    if len(password) < MIN_LENGTH:
        return f"the password must have at least {MIN_LENGTH} characters"
    if len(password) > MAX_LENGTH:
        return f"the password must have at most {MAX_LENGTH} characters"
    if len(set(password)) < MIN_DISTINCT_CHARACTERS:
        return "the password repeats too few characters: use a few words or a mix of characters"
    if _is_run(password.lower()):
        return "the password is a run of consecutive characters: use a few words or a mix of characters"
    if _forms(password) & common_passwords():
        return "this is one of the most common passwords, the first an attacker tries: choose another"
    email = (email or "").strip().lower()
    mailbox = _letters_and_digits(email.split("@")[0])
    bare = _letters_and_digits(password).strip(string.digits)
    if email and (email in password.lower() or (bare and bare in (mailbox, _letters_and_digits(email)))):
        return "the password must not be the email address or its name part"
    return None
