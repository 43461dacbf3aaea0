"""Staff accounts: create, and authenticate with a rate limit that reveals nothing.

Passwords are hashed with Argon2id (argon2-cffi's RFC 9106 low-memory profile) and must pass
services.password_policy. A login for an email that has no account still verifies against a
dummy hash, so the answer takes as long either way, and every failure gets the same words. (What
an admin does to accounts is services.account_admin's; password links, services.password_links.)
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from services import password_policy
from storage import users, write
from storage.audit import record

ROLES = ("nurse", "investigator", "admin")
MIN_PASSWORD_LENGTH = password_policy.MIN_LENGTH
# OWASP's guidance for online guessing: a handful of tries per account, then a pause. Counted per
# email (whether or not it exists, so a lockout reveals nothing) and per address.
MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_ADDRESS = 20
FAILURE_WINDOW = timedelta(minutes=15)
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_EMAIL_LENGTH = 254   # RFC 5321's longest path, as the sign-in form takes

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
    """A refused account change; ``field`` names the form field it is about ("form": none)."""

    def __init__(self, message: str, field: str = "form"):
        self.field = field
        super().__init__(message)


def clean_email(email: str | None) -> str:
    """The email as stored (trimmed, lowercase); AccountError if it is not an email address."""
    email = (email or "").strip().lower()
    if len(email) > MAX_EMAIL_LENGTH or not EMAIL_PATTERN.match(email):
        raise AccountError(f"{email[:MAX_EMAIL_LENGTH]!r} is not an email address", "email")
    return email


def check_role(role: str | None) -> str:
    if role not in ROLES:
        raise AccountError(f"{role!r} is not a role: the role must be one of {', '.join(ROLES)}", "role")
    return role


def check_password(password: str | None, *, email: str) -> str:
    problem = password_policy.refusal(password or "", email=email)
    if problem:
        raise AccountError(problem, "password")
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def unusable_password_hash() -> str:
    """For an account whose user has not set a password yet: a real hash (so a sign-in attempt
    takes as long, and fails the same way) of a secret nobody keeps."""
    return _hasher.hash(secrets.token_urlsafe(32))


def create_user(db, *, email: str, password: str, role: str, actor: str, now: datetime) -> int:
    email = clean_email(email)
    check_role(role)
    check_password(password, email=email)
    with write(db):
        if users.by_email(db, email):
            raise AccountError(f"{email} already has an account", "email")
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
