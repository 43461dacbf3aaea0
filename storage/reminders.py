"""Named queries on reminder rows: plan, claim atomically, settle."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

PENDING, SENDING, SENT, CANCELLED, FAILED = "pending", "sending", "sent", "cancelled", "failed"


def insert_planned(db: sqlite_utils.Database, participant_id: int, timepoint: str,
                   planned: list, now: datetime) -> None:
    db["reminders"].insert_all(
        {"participant_id": participant_id, "timepoint": timepoint, "attempt": p.attempt,
         "planned_at": utc_iso(p.at), "due_at": utc_iso(p.at), "status": PENDING,
         "updated_at": utc_iso(now)}
        for p in planned
    )


def claim_due(db: sqlite_utils.Database, now: datetime, runner: str, limit: int, claimed_at: datetime) -> list[dict]:
    """Mark up to ``limit`` reminders due at ``now`` as ours, atomically; return them.

    Inside BEGIN IMMEDIATE (the caller's ``write``) no other connection can write between the
    SELECT and the UPDATE, and the UPDATE re-checks the status, so two passes never claim the
    same row. ``claimed_at`` is the wall-clock time the lease runs from.
    """
    ids = [row["id"] for row in db.query(
        "SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?",
        [utc_iso(now), limit])]
    if not ids:
        return []
    marks = ",".join("?" * len(ids))
    stamp = utc_iso(claimed_at)
    db.execute(
        f"UPDATE reminders SET status = 'sending', claimed_by = ?, claimed_at = ?, updated_at = ? "
        f"WHERE status = 'pending' AND id IN ({marks})", [runner, stamp, stamp, *ids])
    return list(db.query(
        f"SELECT * FROM reminders WHERE claimed_by = ? AND status = 'sending' AND id IN ({marks}) ORDER BY due_at, id",
        [runner, *ids]))


def keep_claim(db: sqlite_utils.Database, reminder_id: int, runner: str, at: datetime) -> bool:
    """Renew our lease on a claimed reminder; False if it is no longer ours (it was recovered)."""
    cursor = db.execute("UPDATE reminders SET claimed_at = ? WHERE id = ? AND status = 'sending' AND claimed_by = ?",
                        [utc_iso(at), reminder_id, runner])
    return cursor.rowcount == 1


def stale_claims(db: sqlite_utils.Database, claimed_before: datetime) -> list[dict]:
    """Reminders left 'sending' by a pass that died (claimed before the lease ran out)."""
    return list(db.query(
        "SELECT * FROM reminders WHERE status = 'sending' AND claimed_at < ? ORDER BY id",
        [utc_iso(claimed_before)]))


def settle(db: sqlite_utils.Database, reminder_id: int, status: str, now: datetime, *,
           reason: str | None = None, due_at: datetime | None = None, tries: int | None = None) -> None:
    sets = ["status = ?", "reason = ?", "updated_at = ?"]
    params: list = [status, reason, utc_iso(now)]
    if status == PENDING:
        sets += ["claimed_by = NULL", "claimed_at = NULL"]
    if due_at is not None:
        sets.append("due_at = ?")
        params.append(utc_iso(due_at))
    if tries is not None:
        sets.append("tries = ?")
        params.append(tries)
    db.execute(f"UPDATE reminders SET {', '.join(sets)} WHERE id = ?", [*params, reminder_id])


def later_attempt_due(db: sqlite_utils.Database, reminder: dict, now: datetime) -> bool:
    return bool(db.execute(
        "SELECT 1 FROM reminders WHERE participant_id = ? AND timepoint = ? AND attempt > ? "
        "AND planned_at <= ? AND status IN ('pending', 'sending') LIMIT 1",
        [reminder["participant_id"], reminder["timepoint"], reminder["attempt"], utc_iso(now)]).fetchone())


def pending_for(db: sqlite_utils.Database, participant_id: int, timepoint: str) -> list[dict]:
    return list(db["reminders"].rows_where("participant_id = ? AND timepoint = ? AND status = 'pending'",
                                           [participant_id, timepoint], order_by="attempt"))


def replan(db: sqlite_utils.Database, reminder_id: int, at: datetime, now: datetime) -> None:
    db.execute("UPDATE reminders SET planned_at = ?, due_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
               [utc_iso(at), utc_iso(at), utc_iso(now), reminder_id])


def cancel_pending(db: sqlite_utils.Database, participant_id: int, reason: str, now: datetime) -> int:
    cursor = db.execute("UPDATE reminders SET status = 'cancelled', reason = ?, updated_at = ? "
                        "WHERE participant_id = ? AND status = 'pending'", [reason, utc_iso(now), participant_id])
    return cursor.rowcount


def insert_requested(db: sqlite_utils.Database, participant_id: int, timepoint: str, *, now: datetime,
                     requested_by: str, runner: str, claimed_at: datetime) -> dict:
    """A reminder a nurse asked for now, inserted already claimed by the pass that will send it."""
    attempt = db.execute("SELECT COALESCE(MAX(attempt), 0) + 1 FROM reminders WHERE participant_id = ? AND timepoint = ?",
                         [participant_id, timepoint]).fetchone()[0]
    stamp = utc_iso(now)
    reminder_id = db["reminders"].insert({
        "participant_id": participant_id, "timepoint": timepoint, "attempt": attempt, "planned_at": stamp,
        "due_at": stamp, "status": SENDING, "claimed_by": runner, "claimed_at": utc_iso(claimed_at),
        "updated_at": stamp, "requested_by": requested_by}).last_pk
    return next(db["reminders"].rows_where("id = ?", [reminder_id]))


def sent_timepoints(db: sqlite_utils.Database) -> set[tuple[int, str]]:
    """(participant id, timepoint) of every timepoint at least one reminder was sent for."""
    return {(r["participant_id"], r["timepoint"]) for r in db.query(
        "SELECT DISTINCT participant_id, timepoint FROM reminders WHERE status = 'sent'")}


def participants_with_failures(db: sqlite_utils.Database) -> set[int]:
    """Participants with a reminder that failed, or an SMS the provider could not deliver."""
    return {r["participant_id"] for r in db.query(
        "SELECT participant_id FROM reminders WHERE status = 'failed' "
        "UNION SELECT participant_id FROM messages WHERE direction = 'outbound' AND status IN ('failed', 'undelivered')")}


def history(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    """Every reminder of one participant with its SMS (if one was sent or may have been), oldest first."""
    return list(db.query(
        "SELECT r.timepoint, r.attempt, r.status AS reminder_status, r.reason, r.planned_at, r.requested_by, "
        "m.status AS delivery, m.sent_at, m.error_code FROM reminders r "
        "LEFT JOIN messages m ON m.reminder_id = r.id AND m.status NOT IN ('not_sent') "
        "WHERE r.participant_id = ? ORDER BY r.planned_at, r.attempt, m.id", [participant_id]))


def pending_of(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    """Every pending reminder of one participant, in the order they fall due."""
    return list(db["reminders"].rows_where("participant_id = ? AND status = 'pending'", [participant_id],
                                           order_by="due_at, attempt"))
