"""The append-only audit log: who did what, when, with before/after."""
from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import sqlite_utils

from storage.db import stored_json, utc_iso

# Every action the audit log records, with the words staff read. record() refuses any other, so
# the audit page's list of actions is always complete.
ACTIONS = {
    "enroll": "Enrolled",
    "allocate": "Arm allocated",
    "generate_randomization": "Randomization list generated",
    "issue_link": "Patient link issued",
    "request_sms": "SMS asked for by staff",
    "submit": "Answers received",
    "correct_answer": "Answer corrected (a new version, the old one kept)",
    "update_contact": "Contact details changed",
    "sms_opt_out": "SMS stopped (opted out)",
    "sms_opt_in": "SMS restarted (opted in)",
    "sms_answers": "Answers by SMS reply switched on or off",
    "flag_phone": "Phone number flagged",
    "handle_reply": "Reply marked handled",
    "log_contact": "Contact recorded",
    "withdraw": "Withdrawn",
    "create_user": "Staff account created",
    "deactivate_user": "Staff account deactivated (its sessions ended)",
    "reactivate_user": "Staff account reactivated",
    "change_role": "Staff role changed",
    "issue_password_link": "Password link issued",
    "set_password": "Password set with a link (every session of the user ended)",
    "login": "Signed in",
    "logout": "Signed out (every session of the user ended)",
    "export": "Dataset exported",
    "export_identifiable": "Identifiable dataset exported",
    "download_report": "Report downloaded",
    "import": "Paper data imported",
    "upload_import": "Paper data uploaded and checked (imported only once confirmed)",
    "seed_demo": "Demo trial created",
    "record_form": "Clinician form recorded",
    "edit_form": "Clinician form corrected",
    "acknowledge_event": "Serious event acknowledged",
    "screen": "Screened for eligibility",
    "import_crf": "Clinician data imported",
    "set_channel": "Reminder channel changed (SMS or WhatsApp)",
    "whatsapp_opt_in": "WhatsApp opt-in recorded",
    "whatsapp_opt_out": "WhatsApp opt-in withdrawn",
    "flag_whatsapp": "Number flagged: not on WhatsApp",
    "whatsapp_fallback": "WhatsApp reminder failed: sent by SMS instead",
}


def record(db: sqlite_utils.Database, *, at: datetime, actor: str, action: str, entity: str,
           entity_id: Any = None, before: Any = None, after: Any = None, reason: str | None = None) -> None:
    # One plain INSERT: db["audit_log"].insert spent five more statements on sqlite_master and a savepoint.
    record_many(db, [Entry(at, actor, action, entity, entity_id, before, after, reason)])


class Entry(NamedTuple):
    """One audit entry, as ``record`` takes it, for ``record_many``."""

    at: datetime
    actor: str
    action: str
    entity: str
    entity_id: Any = None
    before: Any = None
    after: Any = None
    reason: str | None = None


class Row(NamedTuple):
    """An entry as audit_log stores it (checked, times and JSON encoded), from ``encode_fields``."""

    at: str
    actor: str
    action: str
    entity: str
    entity_id: str | None
    before: str | None
    after: str | None
    reason: str | None


_INSERT = ("INSERT INTO audit_log (at, actor, action, entity, entity_id, before, after, reason) "
           "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def encode_fields(at: datetime, actor: str, action: str, entity: str, entity_id: Any = None, before: Any = None,
                  after: Any = None, reason: str | None = None) -> Row:
    """An entry, given as the fields of an Entry (a patient's every answer has one, so none is
    made), checked and encoded before a write lock is taken; ``store`` inserts it. Raises
    ValueError for an unknown action, as ``record`` does."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to storage.audit.ACTIONS")
    return Row(utc_iso(at), actor, action, entity, None if entity_id is None else str(entity_id),
               None if before is None else stored_json(before), None if after is None else stored_json(after), reason)


def store(db: sqlite_utils.Database, row: Row, entity_id: str | None = None) -> None:
    """One encoded entry, in one plain INSERT; ``entity_id``, when given, in place of the row's:
    the id of what the entry is about, when that is stored in the same transaction."""
    db.conn.execute(_INSERT, row if entity_id is None else (*row[:4], entity_id, *row[5:]))


def record_many(db: sqlite_utils.Database, entries: list[Entry]) -> None:
    """Several entries in one executemany (a reminder pass's links, an import's participants),
    checked and encoded as ``encode_fields`` does (entries of one pass share their instant, which
    utc_iso then formats once)."""
    unknown = {entry.action for entry in entries} - ACTIONS.keys()
    if unknown:
        raise ValueError(f"unknown audit action {min(unknown)!r}: add it to storage.audit.ACTIONS")
    db.conn.executemany(_INSERT, [encode_fields(*entry) for entry in entries])


def search(db: sqlite_utils.Database, *, actor: str | None = None, action: str | None = None,
           entity_id: str | None = None, since: datetime | None = None, until: datetime | None = None,
           limit: int = 200, offset: int = 0) -> list[dict]:
    """Newest first, filtered; ``until`` is exclusive; ``offset`` rows skipped, for paging."""
    where, params = [], []
    for column, value in (("actor", actor), ("action", action), ("entity_id", entity_id)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if since:
        where.append("at >= ?")
        params.append(utc_iso(since))
    if until:
        where.append("at < ?")
        params.append(utc_iso(until))
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    return list(db.query(f"SELECT * FROM audit_log {clause} ORDER BY id DESC LIMIT ? OFFSET ?",
                         [*params, limit, offset]))
