"""Staff accounts: create, and authenticate with a rate limit that reveals nothing.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile). A login for an
email that has no account still verifies against a dummy hash, so the answer takes as long
either way, and every failure gets the same words.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from storage import users, write
from storage.audit import record

ROLES = ("nurse", "investigator", "admin")
MIN_PASSWORD_LENGTH = 12
# OWASP's guidance for online guessing: a handful of tries per account, then a pause. Counted per
# email (whether or not it exists, so a lockout reveals nothing) and per address.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_hasher = PasswordHasher()
_dummy_hashes: dict[int, str] = {}


def _dummy_hash() -> str:
    """A hash made with the current hasher's cost, to verify against when there is no account."""
    if id(_hasher) not in _dummy_hashes:
        _dummy_hashes[id(_hasher)] = _hasher.hash("not a real password: evens out the time of a login")
    return _dummy_hashes[id(_hasher)]

OK = "ok"
WRONG = "wrong"
LIMITED = "limited"


class AccountError(ValueError):
    pass


def create_user(db, *, email: str, password: str, role: str, actor: str, now: datetime) -> int:
    email = (email or "").strip().lower()
    if not EMAIL_PATTERN.match(email):
        raise AccountError(f"{email!r} is not an email address")
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters")
    with write(db):
        if users.by_email(db, email):
            raise AccountError(f"{email} already has an account")
        user_id = users.insert(db, email=email, password_hash=_hasher.hash(password), role=role, now=now)
        record(db, at=now, actor=actor, action="create_user", entity="user", entity_id=email, after={"role": role})
    return user_id


@dataclass(frozen=True)
class Login:
    outcome: str
    user: dict | None = None


def authenticate(db, *, email: str, password: str, ip: str | None, now: datetime) -> Login:
    email = (email or "").strip().lower()[:254]
    by_email, by_ip = users.recent_failures(db, email=email, ip=ip, since=now - FAILURE_WINDOW)
    if by_email >= MAX_FAILURES_PER_EMAIL or by_ip >= MAX_FAILURES_PER_ADDRESS:
        with write(db):
            users.record_attempt(db, email=email, ip=ip, now=now, success=False)
        return Login(LIMITED)
    user = users.by_email(db, email)
    valid = _verify(user["password_hash"] if user else _dummy_hash(), password or "")
    valid = valid and user is not None and bool(user["active"])
    with write(db):
        users.record_attempt(db, email=email, ip=ip, now=now, success=valid)
        if valid and _hasher.check_needs_rehash(user["password_hash"]):
            users.set_password_hash(db, user["id"], _hasher.hash(password))
        if valid:
            record(db, at=now, actor=email, action="login", entity="user", entity_id=email)
    return Login(OK, user) if valid else Login(WRONG)


def sign_out(db, user: dict, *, now: datetime) -> None:
    """End every session of ``user`` (this browser's and any other's), audited. The cookie of a
    session copied before now no longer signs in: it carries the old session version."""
    with write(db):
        users.revoke_sessions(db, user["id"])
        record(db, at=now, actor=user["email"], action="logout", entity="user", entity_id=user["email"])


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
