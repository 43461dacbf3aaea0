"""Patient link tokens, stored only as hashes."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso


def insert(db: sqlite_utils.Database, *, token_hash: str, participant_id: int, timepoint: str,
           created_at: datetime, expires_at: datetime, created_by: str) -> None:
    db["link_tokens"].insert({
        "token_hash": token_hash,
        "participant_id": participant_id,
        "timepoint": timepoint,
        "created_at": utc_iso(created_at),
        "expires_at": utc_iso(expires_at),
        "created_by": created_by,
    })


def by_hash(db: sqlite_utils.Database, token_hash: str) -> dict | None:
    return next(db["link_tokens"].rows_where("token_hash = ?", [token_hash]), None)
