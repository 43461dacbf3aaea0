"""One-time links to set a staff password: issued by an admin (a reset, or a new account's first
password), used once by the user, with no sign-in.

A link works for LINK_LIFETIME, once. Issuing one voids the user's older open links. Using it
sets the password, ends the link and every session of the user, and is audited; a link that has
ended (used, expired, voided, its account deactivated) changes nothing. There is no email here:
the admin is shown the link once and passes it on.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler.links import looks_like_token
from services import accounts
from services.accounts import AccountError
from storage import password_resets, users, write
from storage.audit import record
from storage.db import parse_utc, utc_iso

LINK_LIFETIME = timedelta(hours=24)   # issue 17: a reset link expires in 24 hours
# What a link is when it is opened.
OPEN, USED, EXPIRED, VOIDED, UNKNOWN = "open", "used", "expired", "voided", "unknown"


@dataclass(frozen=True)
class IssuedLink:
    """A link just issued: its token is shown once, to the admin, and stored only hashed."""

    email: str
    token: str
    expires_at: datetime


@dataclass(frozen=True)
class Opened:
    state: str
    link: dict | None = None    # the stored link (with the user's email) unless UNKNOWN


class LinkEnded(Exception):
    """The link cannot be used (any state but OPEN); nothing was changed."""

    def __init__(self, state: str):
        self.state = state
        super().__init__(state)


def issue(db, user: dict, *, actor: str, now: datetime, reason: str, created: bool = False) -> IssuedLink:
    """A new link for ``user`` (older open ones voided), audited. Call inside the caller's write
    transaction. ``created``: the link of a new account, for its first password."""
    expires_at = now + LINK_LIFETIME
    voided = password_resets.void_open(db, user["id"], now=now)
    token = password_resets.issue(db, user_id=user["id"], expires_at=expires_at, actor=actor, now=now)
    record(db, at=now, actor=actor, action="issue_password_link", entity="user", entity_id=user["email"],
           before={"open_links": voided} if voided else None,
           after={"expires_at": utc_iso(expires_at), "first_password": created}, reason=reason)
    return IssuedLink(user["email"], token, expires_at)


def opened(db, token: str, *, now: datetime) -> Opened:
    """What the link ``token`` is now. A token not shaped like one is UNKNOWN, never looked up."""
    link = password_resets.by_token(db, token) if looks_like_token(token) else None
    if link is None:
        return Opened(UNKNOWN)
    if link["used_at"]:
        return Opened(USED, link)
    if link["voided_at"] or not link["active"]:
        return Opened(VOIDED, link)
    if parse_utc(link["expires_at"]) <= now:
        return Opened(EXPIRED, link)
    return Opened(OPEN, link)


def set_password(db, token: str, *, password: str, confirm: str, now: datetime) -> str:
    """Set the password of the link's user; returns their email. Raises LinkEnded when the link
    cannot be used, AccountError (field "password" or "confirm") when the password is refused;
    either way nothing changes."""
    state = opened(db, token, now=now)
    if state.state != OPEN:
        raise LinkEnded(state.state)
    email = state.link["email"]
    accounts.check_password(password, email=email)
    if password != confirm:
        raise AccountError("the two passwords are not the same", "confirm")
    password_hash = accounts.hash_password(password)     # before the write lock: hashing is slow
    with write(db):
        # Checked again under the lock: a link used or voided since it was opened stays as it is.
        if not password_resets.mark_used(db, state.link["id"], now=now):
            raise LinkEnded(opened(db, token, now=now).state)
        user = users.by_id(db, state.link["user_id"])
        if not user["active"]:
            raise LinkEnded(VOIDED)
        users.set_password_hash(db, user["id"], password_hash)
        users.revoke_sessions(db, user["id"])
        record(db, at=now, actor=email, action="set_password", entity="user", entity_id=email,
               before={"session_version": user["session_version"]},
               after={"session_version": user["session_version"] + 1},
               reason=f"with the link issued by {state.link['created_by']} at {state.link['created_at']}")
    return email
