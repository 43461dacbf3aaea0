"""The append-only audit log: who did what, when, with before/after."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.db import utc_iso


def record(db: sqlite_utils.Database, *, at: datetime, actor: str, action: str, entity: str,
           entity_id: Any = None, before: Any = None, after: Any = None, reason: str | None = None) -> None:
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
           limit: int = 200) -> list[dict]:
    """Newest first, filtered; ``until`` is exclusive."""
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
    return list(db.query(f"SELECT * FROM audit_log {clause} ORDER BY id DESC LIMIT ?", [*params, limit]))
