"""Named queries on reminder rows: plan, claim atomically, settle."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlite_utils

from storage.channels import LAST_WHATSAPP_INBOUND
from storage.db import one, utc_iso
from storage.opt_outs import NUMBER_OPTED_OUT

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
    """Mark up to ``limit`` reminders due at ``now`` as ours, atomically; return them, soonest due first.

    One statement: the subquery picks the pending reminders soonest due (through reminders_due),
    and the UPDATE marks those rows by id, so nothing can claim them in between; inside BEGIN
    IMMEDIATE (the caller's ``write``) no other connection writes at all, so two passes never
    claim the same row. (Marking by id matters: an UPDATE filtered on status = 'pending' would
    walk every pending reminder for each group.) ``claimed_at`` is the wall-clock time the lease
    runs from.
    """
    stamp = utc_iso(claimed_at)
    cursor = db.execute(
        "UPDATE reminders SET status = 'sending', claimed_by = ?, claimed_at = ?, updated_at = ? WHERE id IN "
        "(SELECT id FROM reminders WHERE status = 'pending' AND due_at <= ? ORDER BY due_at, id LIMIT ?) RETURNING *",
        [runner, stamp, stamp, utc_iso(now), limit])
    names = [column[0] for column in cursor.description]
    return sorted((dict(zip(names, row)) for row in cursor.fetchall()), key=lambda r: (r["due_at"], r["id"]))


def keep_claim(db: sqlite_utils.Database, reminder_id: int, runner: str, at: datetime) -> bool:
    """Renew our lease on a claimed reminder; False if it is no longer ours (it was recovered)."""
    return reminder_id in keep_claims(db, [reminder_id], runner, at)


def keep_claims(db: sqlite_utils.Database, reminder_ids: list[int], runner: str, at: datetime) -> set[int]:
    """Renew our lease on claimed reminders, in one statement; returns the ids still ours (a
    reminder held past its lease may have been recovered by another pass: it is theirs now)."""
    if not reminder_ids:
        return set()
    marks = ",".join("?" * len(reminder_ids))
    return {row[0] for row in db.execute(
        f"UPDATE reminders SET claimed_at = ? WHERE id IN ({marks}) AND status = 'sending' AND claimed_by = ? "
        "RETURNING id", [utc_iso(at), *reminder_ids, runner]).fetchall()}


def claim_stale(db: sqlite_utils.Database, claimed_before: datetime, runner: str, at: datetime) -> list[dict]:
    """Take over the reminders a dead pass left 'sending' (claimed before ``claimed_before``, i.e.
    past the lease), atomically, as ``claim_due`` takes due ones; return them, oldest first.

    Recovery must own a reminder before it asks the provider about it: two passes that both
    asked, both heard "not found" and both requeued would each send it. Call inside ``write``."""
    stamp = utc_iso(at)
    cursor = db.execute(
        "UPDATE reminders SET claimed_by = ?, claimed_at = ?, updated_at = ? "
        "WHERE status = 'sending' AND claimed_at < ? RETURNING *",
        [runner, stamp, stamp, utc_iso(claimed_before)])
    names = [column[0] for column in cursor.description]
    return sorted((dict(zip(names, row)) for row in cursor.fetchall()), key=lambda r: r["id"])


class Settlement(NamedTuple):
    """What becomes of one claimed reminder. Back to PENDING releases the claim."""

    reminder_id: int
    status: str
    reason: str | None = None
    due_at: datetime | None = None   # None keeps the reminder's due time
    tries: int | None = None         # None keeps its count of tries


def settle(db: sqlite_utils.Database, reminder_id: int, status: str, now: datetime, *,
           reason: str | None = None, due_at: datetime | None = None, tries: int | None = None) -> None:
    settle_many(db, [Settlement(reminder_id, status, reason, due_at, tries)], now)


def settle_many(db: sqlite_utils.Database, settlements: list[Settlement], now: datetime) -> None:
    """Settle reminders in one executemany; call inside the caller's write transaction."""
    stamp = utc_iso(now)
    db.conn.executemany(
        "UPDATE reminders SET status = ?, reason = ?, updated_at = ?, "
        "claimed_by = CASE WHEN ? THEN NULL ELSE claimed_by END, "
        "claimed_at = CASE WHEN ? THEN NULL ELSE claimed_at END, "
        "due_at = COALESCE(?, due_at), tries = COALESCE(?, tries) WHERE id = ?",
        [(s.status, s.reason, stamp, s.status == PENDING, s.status == PENDING,
          None if s.due_at is None else utc_iso(s.due_at), s.tries, s.reminder_id) for s in settlements])


# A later attempt of the same timepoint, planned by now, that is still to go out or has gone out
# supersedes this one: its SMS carries the same request. (An in-doubt first attempt that comes
# back to pending after the second was sent must not send a second SMS for the window.) A nurse's
# request supersedes nothing: the planned repeats go on after it; nor does the SMS that replaces a
# failed WhatsApp reminder (it stands for the failed one, not for those planned after it).
_SUPERSEDED_BY_LATER = (
    "EXISTS (SELECT 1 FROM reminders l WHERE l.participant_id = r.participant_id AND l.timepoint = r.timepoint "
    "AND l.attempt > r.attempt AND l.planned_at <= ? AND l.status IN ('pending', 'sending', 'sent') "
    "AND l.requested_by IS NULL AND l.fallback_of IS NULL)")


# The columns of ``due_details`` that are not the participant's, in the order selected.
_DETAIL_COLUMNS = ("reminder_id", "closes_at", "completed_at", "later_attempt_due", "answered")
# Whether the reminder's timepoint has an answer to one instrument (the SMS question's).
_ANSWERED = ("EXISTS (SELECT 1 FROM newest_answers n WHERE n.participant_id = r.participant_id "
             "AND n.timepoint = r.timepoint AND n.instrument = ?)")


def due_details(db: sqlite_utils.Database, reminder_ids: list[int], now: datetime, *,
                instrument: str | None = None) -> dict[int, dict]:
    """What deciding a group of claimed reminders needs, in one query: for each reminder id, its
    ``participant`` (the whole row), its window's ``closes_at`` and ``completed_at``,
    ``later_attempt_due`` (a later attempt of the same timepoint, planned by ``now``, is pending,
    being sent or sent: ``_SUPERSEDED_BY_LATER``), and ``answered`` (the timepoint has an answer
    to ``instrument``: the one an SMS question asks; always False without one). The participant
    row also carries ``number_opted_out`` and ``whatsapp_last_inbound`` (storage.channels)."""
    if not reminder_ids:
        return {}
    marks = ",".join("?" * len(reminder_ids))
    cursor = db.execute(
        f"SELECT r.id, t.closes_at, t.completed_at, {_SUPERSEDED_BY_LATER}, {_ANSWERED}, p.*, "
        f"{NUMBER_OPTED_OUT} AS number_opted_out, {LAST_WHATSAPP_INBOUND} AS whatsapp_last_inbound "
        "FROM reminders r JOIN participants p ON p.id = r.participant_id "
        "JOIN timepoints t ON t.participant_id = r.participant_id AND t.timepoint = r.timepoint "
        f"WHERE r.id IN ({marks})", [utc_iso(now), instrument, *reminder_ids])
    names = [column[0] for column in cursor.description][len(_DETAIL_COLUMNS):]
    details = {}
    for row in cursor.fetchall():
        extra = dict(zip(_DETAIL_COLUMNS, row))
        extra["later_attempt_due"] = bool(extra["later_attempt_due"])
        extra["answered"] = bool(extra["answered"])
        extra["participant"] = dict(zip(names, row[len(_DETAIL_COLUMNS):]))
        details[extra.pop("reminder_id")] = extra
    return details


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


def insert_fallback(db: sqlite_utils.Database, failed: dict, *, channel: str, now: datetime) -> int | None:
    """The reminder that replaces a failed one on another channel, due now, as the next attempt of
    its timepoint; None (nothing inserted) when the failed reminder already has one. Call inside
    the write transaction that records the failure: then a pass killed between the failure and its
    replacement leaves either both or neither, and the unique index keeps it to one."""
    stamp = utc_iso(now)
    cursor = db.execute(
        "INSERT OR IGNORE INTO reminders (participant_id, timepoint, attempt, planned_at, due_at, status, "
        "updated_at, channel, fallback_of) SELECT ?, ?, COALESCE(MAX(attempt), 0) + 1, ?, ?, 'pending', ?, ?, ? "
        "FROM reminders WHERE participant_id = ? AND timepoint = ?",
        [failed["participant_id"], failed["timepoint"], stamp, stamp, stamp, channel, failed["id"],
         failed["participant_id"], failed["timepoint"]])
    return cursor.lastrowid if cursor.rowcount == 1 else None


def by_id(db: sqlite_utils.Database, reminder_id: int) -> dict | None:
    return one(db, "SELECT * FROM reminders WHERE id = ?", [reminder_id])


def sent_timepoints(db: sqlite_utils.Database) -> set[tuple[int, str]]:
    """(participant id, timepoint) of every timepoint at least one reminder was sent for."""
    return set(db.conn.execute("SELECT DISTINCT participant_id, timepoint FROM reminders WHERE status = 'sent'"))


# A reminder whose failure got its SMS instead (a failed WhatsApp reminder): not a failure to flag.
_REPLACED = "EXISTS (SELECT 1 FROM reminders f WHERE f.fallback_of = {reminder})"


def participants_with_failures(db: sqlite_utils.Database) -> set[int]:
    """Participants with a reminder that failed, or an SMS the provider could not deliver (a failed
    WhatsApp reminder that its SMS replaced is not one)."""
    return {r["participant_id"] for r in db.query(
        f"SELECT participant_id FROM reminders r WHERE status = 'failed' AND NOT {_REPLACED.format(reminder='r.id')} "
        "UNION SELECT participant_id FROM messages m WHERE direction = 'outbound' "
        "AND status IN ('failed', 'undelivered') "
        f"AND NOT (m.reminder_id IS NOT NULL AND {_REPLACED.format(reminder='m.reminder_id')})")}


def history(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    """Every reminder of one participant with its SMS (if one was sent or may have been), oldest first."""
    return list(db.query(
        "SELECT r.timepoint, r.attempt, r.status AS reminder_status, r.reason, r.planned_at, r.requested_by, "
        "m.status AS delivery, m.sent_at, m.error_code, m.reference IS NOT NULL AS question, "
        "r.fallback_of IS NOT NULL AS fallback, m.channel, m.content_sid IS NOT NULL AS template, m.read_at "
        "FROM reminders r "
        "LEFT JOIN messages m ON m.reminder_id = r.id AND m.status NOT IN ('not_sent') "
        "WHERE r.participant_id = ? ORDER BY r.planned_at, r.attempt, m.id", [participant_id]))


def pending_of(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    """Every pending reminder of one participant, in the order they fall due."""
    return list(db["reminders"].rows_where("participant_id = ? AND status = 'pending'", [participant_id],
                                           order_by="due_at, attempt"))
