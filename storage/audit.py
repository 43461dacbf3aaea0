"""The append-only audit log: who did what, when, with before/after."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.db import utc_iso

# Every action the audit log records, with the words staff read. record() refuses any other, so
# the audit page's list of actions is always complete.
ACTIONS = {
    "enroll": "Enrolled",
    "allocate": "Arm allocated",
    "generate_randomization": "Randomization list generated",
    "issue_link": "Patient link issued",
    "request_sms": "SMS asked for by staff",
    "submit": "Answers received",
    "update_contact": "Contact details changed",
    "sms_opt_out": "SMS stopped (opted out)",
    "sms_opt_in": "SMS restarted (opted in)",
    "flag_phone": "Phone number flagged",
    "handle_reply": "Reply marked handled",
    "log_contact": "Contact recorded",
    "withdraw": "Withdrawn",
    "create_user": "Staff account created",
    "login": "Signed in",
    "export": "Dataset exported",
    "export_identifiable": "Identifiable dataset exported",
    "download_report": "Report downloaded",
    "import": "Paper data imported",
    "seed_demo": "Demo trial created",
    "record_form": "Clinician form recorded",
    "edit_form": "Clinician form corrected",
    "acknowledge_event": "Serious event acknowledged",
    "screen": "Screened for eligibility",
    "import_crf": "Clinician data imported",
}


def record(db: sqlite_utils.Database, *, at: datetime, actor: str, action: str, entity: str,
           entity_id: Any = None, before: Any = None, after: Any = None, reason: str | None = None) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}: add it to storage.audit.ACTIONS")
    db["audit_log"].insert({
        "at": utc_iso(at),
        "actor": actor,
        "action": action,
        "entity": entity,
        "entity_id": None if entity_id is None else str(entity_id),
        "before": None if before is None else json.dumps(before, sort_keys=True),
        "after": None if after is None else json.dumps(after, sort_keys=True),
        "reason": reason,
    })


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
