"""What an admin does to staff accounts: create one (its user sets the password on a one-time
link), deactivate and reactivate it, change its role, issue a password link.

Every change needs a reason and is audited with who, when, before and after. There is always an
active admin: the last one cannot be deactivated or given another role (checked inside the write
transaction, so two admins acting at once cannot both pass). Deactivating an account ends its
sessions and voids its open password links.
"""
from __future__ import annotations

from datetime import datetime

from services import accounts, password_links
from services.accounts import AccountError
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import password_resets, users, write
from storage.audit import record


def listing(db, *, now: datetime) -> list[dict]:
    """Every account, with when its open password link (if any) expires."""
    open_until = password_resets.open_until(db, now=now)
    return [{**user, "link_open_until": open_until.get(user["id"])} for user in users.listing(db)]


def is_active_admin(db, email: str) -> bool:
    user = users.by_email(db, email)
    return bool(user and user["active"] and user["role"] == "admin")


def _reason(reason: str | None, what: str) -> str:
    reason = clean_text(reason)
    if not reason:
        raise AccountError(f"say why {what}", "reason")
    if len(reason) > MAX_REASON_LENGTH:
        raise AccountError(f"at most {MAX_REASON_LENGTH} characters", "reason")
    return reason


def _account(db, email: str | None) -> dict:
    email = (email or "").strip().lower()
    user = users.by_email(db, email) if email else None
    if user is None:
        raise AccountError(f"there is no account {email[:accounts.MAX_EMAIL_LENGTH]!r}", "email")
    return user


def _keep_an_admin(db, user: dict, *, role: str, active: bool) -> None:
    """Refuse a change that would leave no active admin."""
    stays_admin = role == "admin" and active
    if user["role"] == "admin" and user["active"] and not stays_admin and users.active_admins(db) <= 1:
        raise AccountError(f"{user['email']} is the last active admin: make another account admin first")


def create(db, *, email: str, role: str, reason: str | None, actor: str,
           now: datetime) -> password_links.IssuedLink:
    """A new account with no usable password, and the one-time link on which its user sets one."""
    email = accounts.clean_email(email)
    accounts.check_role(role)
    reason = _reason(reason, "the account is made")
    password_hash = accounts.unusable_password_hash()
    with write(db):
        if users.by_email(db, email):
            raise AccountError(f"{email} already has an account", "email")
        user_id = users.insert(db, email=email, password_hash=password_hash, role=role, now=now)
        record(db, at=now, actor=actor, action="create_user", entity="user", entity_id=email,
               after={"role": role, "active": True}, reason=reason)
        return password_links.issue(db, users.by_id(db, user_id), actor=actor, now=now, reason=reason, created=True)


def set_active(db, *, email: str, active: bool, reason: str | None, actor: str, now: datetime) -> None:
    """Deactivate (its sessions end, its open password links are voided) or reactivate an account."""
    reason = _reason(reason, "the account is deactivated" if not active else "the account is reactivated")
    with write(db):
        user = _account(db, email)
        if bool(user["active"]) == active:
            raise AccountError(f"{user['email']} is already {'active' if active else 'deactivated'}")
        _keep_an_admin(db, user, role=user["role"], active=active)
        users.set_active(db, user["id"], active)
        before, after = {"active": not active}, {"active": active}
        if not active:
            users.revoke_sessions(db, user["id"])
            voided = password_resets.void_open(db, user["id"], now=now)
            before.update({"session_version": user["session_version"], "open_links": voided})
            after.update({"session_version": user["session_version"] + 1, "open_links": 0})
        record(db, at=now, actor=actor, action="reactivate_user" if active else "deactivate_user", entity="user",
               entity_id=user["email"], before=before, after=after, reason=reason)


def change_role(db, *, email: str, role: str, reason: str | None, actor: str, now: datetime) -> None:
    role = accounts.check_role(role)
    reason = _reason(reason, "the role changes")
    with write(db):
        user = _account(db, email)
        if user["role"] == role:
            raise AccountError(f"{user['email']} is already {role}", "role")
        _keep_an_admin(db, user, role=role, active=bool(user["active"]))
        users.set_role(db, user["id"], role)
        record(db, at=now, actor=actor, action="change_role", entity="user", entity_id=user["email"],
               before={"role": user["role"]}, after={"role": role}, reason=reason)


def issue_password_link(db, *, email: str, reason: str | None, actor: str, now: datetime) -> password_links.IssuedLink:
    """A one-time link to set a new password (the user's older open links voided)."""
    reason = _reason(reason, "a password link is issued")
    with write(db):
        user = _account(db, email)
        if not user["active"]:
            raise AccountError(f"{user['email']} is deactivated: reactivate the account first")
        return password_links.issue(db, user, actor=actor, now=now, reason=reason)
