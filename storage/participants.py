"""Named queries on participants and their scheduled timepoints."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.channels import REMINDER_CHANNEL
from storage.db import one, utc_iso


def by_study_id(db: sqlite_utils.Database, study_id: str) -> dict | None:
    return next(db["participants"].rows_where("study_id = ?", [study_id]), None)


def by_id(db: sqlite_utils.Database, participant_id: int) -> dict | None:
    return one(db, "SELECT * FROM participants WHERE id = ?", [participant_id])


def insert(db: sqlite_utils.Database, row: dict[str, Any]) -> int:
    return db["participants"].insert(row).last_pk


def insert_timepoints(db: sqlite_utils.Database, participant_id: int, windows: list) -> None:
    db["timepoints"].insert_all(
        {
            "participant_id": participant_id,
            "timepoint": window.timepoint,
            "due_date": window.due_date.isoformat(),
            "opens_at": utc_iso(window.opens_at),
            "closes_at": utc_iso(window.closes_at),
        }
        for window in windows
    )


def timepoint(db: sqlite_utils.Database, participant_id: int, timepoint_id: str) -> dict | None:
    return one(db, "SELECT * FROM timepoints WHERE participant_id = ? AND timepoint = ?", [participant_id, timepoint_id])


def timepoints(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    return list(db["timepoints"].rows_where("participant_id = ?", [participant_id], order_by="opens_at"))


def mark_completed(db: sqlite_utils.Database, participant_id: int, timepoint_id: str, at: datetime) -> None:
    db.execute(
        "UPDATE timepoints SET completed_at = ? WHERE participant_id = ? AND timepoint = ? "
        "AND completed_at IS NULL",
        [utc_iso(at), participant_id, timepoint_id],
    )


def by_phone(db: sqlite_utils.Database, phone: str) -> list[dict]:
    return list(db["participants"].rows_where("phone = ?", [phone], order_by="id"))


def set_opt_out(db: sqlite_utils.Database, participant_id: int, opted_out: bool) -> bool:
    """True when it changed."""
    cursor = db.execute("UPDATE participants SET sms_opt_out = ? WHERE id = ? AND sms_opt_out != ?",
                        [int(opted_out), participant_id, int(opted_out)])
    return cursor.rowcount == 1


def set_phone_problem(db: sqlite_utils.Database, participant_id: int, problem: str | None) -> None:
    db.execute("UPDATE participants SET phone_problem = ? WHERE id = ?", [problem, participant_id])


# Contact details a nurse may change; a new phone number clears the old number's problem flag.
CONTACT_FIELDS = ("phone", "timezone", "language")


def update_contact(db: sqlite_utils.Database, participant_id: int, changed: dict[str, Any]) -> None:
    unknown = set(changed) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not contact details: {', '.join(sorted(unknown))}")
    sets = dict(changed)
    if "phone" in changed:
        sets["phone_problem"] = None  # a new number gets a fresh chance
        sets["whatsapp_problem"] = None  # on WhatsApp too
    db["participants"].update(participant_id, sets)


def withdraw(db: sqlite_utils.Database, participant_id: int, *, reason: str, at: datetime) -> None:
    db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = ?, withdrawal_reason = ? WHERE id = ?",
               [utc_iso(at), reason, participant_id])


def move_window(db: sqlite_utils.Database, timepoint_row_id: int, opens_at: datetime, closes_at: datetime) -> None:
    db.execute("UPDATE timepoints SET opens_at = ?, closes_at = ? WHERE id = ?",
               [utc_iso(opens_at), utc_iso(closes_at), timepoint_row_id])


def arms_by_study_id(db: sqlite_utils.Database) -> dict[str, str]:
    return {row["study_id"]: row["arm"] for row in db.query("SELECT study_id, arm FROM participants")}


def every(db: sqlite_utils.Database) -> Iterator[dict]:
    """Every participant, ordered by study_id (the order of every listing and export). Streamed."""
    return db.query("SELECT * FROM participants ORDER BY study_id")


def windows_by_study_id(db: sqlite_utils.Database) -> Iterator[sqlite3.Row]:
    """Every scheduled timepoint (timepoint, completed_at, and reminder_channel: the channel of the
    reminder that led to its completion, storage.channels) with its participant's study_id, ordered
    by study_id: for the exports, as light rows read by column name."""
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute(f"SELECT p.study_id, t.timepoint, t.completed_at, CASE WHEN t.completed_at IS NOT NULL "
                          f"THEN {REMINDER_CHANNEL} END AS reminder_channel FROM timepoints t "
                          "JOIN participants p ON p.id = t.participant_id ORDER BY p.study_id")


def every_timepoint(db: sqlite_utils.Database) -> Iterator[sqlite3.Row]:
    """Every scheduled timepoint, with its participant's study_id, ordered by study_id and opening,
    as light rows read by column name (the board reads all of them: no dict built per row)."""
    cursor = db.conn.cursor()
    cursor.row_factory = sqlite3.Row
    return cursor.execute("SELECT t.*, p.study_id FROM timepoints t JOIN participants p ON p.id = t.participant_id "
                          "ORDER BY p.study_id, t.opens_at, t.id")


def windows(db: sqlite_utils.Database) -> list[tuple]:
    """(participant_id, timepoint, completed_at, closes_at) of every scheduled timepoint: what the
    report's CONSORT counts need, as plain tuples."""
    return db.conn.execute("SELECT participant_id, timepoint, completed_at, closes_at FROM timepoints").fetchall()
