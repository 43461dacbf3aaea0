"""The concealed allocation list: stored up front, handed out one row at a time."""
from __future__ import annotations

import json
from datetime import datetime

import sqlite_utils

from storage.db import utc_iso


def insert_list(db: sqlite_utils.Database, *, seed: int, per_stratum: int, block_sizes, allocations,
                now: datetime, actor: str) -> int:
    list_id = db["randomization_lists"].insert({
        "seed": str(seed), "per_stratum": per_stratum, "block_sizes": json.dumps(list(block_sizes)),
        "created_at": utc_iso(now), "created_by": actor}).last_pk
    db["allocations"].insert_all(
        {"list_id": list_id, "stratum": a.stratum, "position": a.position, "arm": a.arm, "block": a.block,
         "block_size": a.block_size} for a in allocations)
    return list_id


def peek_next(db: sqlite_utils.Database, stratum: str) -> dict | None:
    """The next unused allocation of a stratum. Only call it inside BEGIN IMMEDIATE, and assign
    it in the same transaction: then no other enrollment can be given the same row."""
    return next(db.query(
        "SELECT id, arm, position FROM allocations WHERE stratum = ? AND participant_id IS NULL "
        "ORDER BY list_id, position LIMIT 1", [stratum]), None)


def assign(db: sqlite_utils.Database, allocation_id: int, participant_id: int, now: datetime) -> None:
    cursor = db.execute("UPDATE allocations SET participant_id = ?, allocated_at = ? "
                        "WHERE id = ? AND participant_id IS NULL", [participant_id, utc_iso(now), allocation_id])
    if cursor.rowcount != 1:
        raise RuntimeError(f"allocation {allocation_id} was already used")


def remaining(db: sqlite_utils.Database) -> dict[str, dict[str, int]]:
    """Used and unused allocations per stratum: counts only, never which arm comes next."""
    found: dict[str, dict[str, int]] = {}
    for row in db.query("SELECT stratum, SUM(participant_id IS NOT NULL) AS used, SUM(participant_id IS NULL) AS unused "
                        "FROM allocations GROUP BY stratum ORDER BY stratum"):
        found[row["stratum"]] = {"used": row["used"], "unused": row["unused"]}
    return found


def has_list(db: sqlite_utils.Database) -> bool:
    return db["randomization_lists"].count > 0
