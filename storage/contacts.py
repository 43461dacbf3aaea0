"""The nurses' contact log: calls and their outcomes. Append-only."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso


def insert(db: sqlite_utils.Database, *, participant_id: int, at: datetime, by_user: str, kind: str,
           outcome: str, timepoint: str | None, note: str | None) -> int:
    return db["contacts"].insert({"participant_id": participant_id, "at": utc_iso(at), "by_user": by_user,
                                  "kind": kind, "outcome": outcome, "timepoint": timepoint,
                                  "note": note}).last_pk


def for_participant(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    return list(db["contacts"].rows_where("participant_id = ?", [participant_id], order_by="at DESC, id DESC"))
