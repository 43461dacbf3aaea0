"""Named queries for a participant's channel (SMS or WhatsApp): the choice, the WhatsApp opt-in, a
number WhatsApp does not know, the newest inbound WhatsApp message of a number (the 24-hour window
runs from it), and which channel the reminders behind each completed timepoint went on."""
from __future__ import annotations

from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

# The channels a participant, a reminder and a message may have: m014_whatsapp's CHECK constraints
# (scheduler.channels names the same two for the pure rules, which cannot import storage).
CHANNELS = ("sms", "whatsapp")

# For a query on participants p: when the newest inbound WhatsApp message from p's number came (the
# partial index messages_whatsapp_inbound answers it from the index alone).
LAST_WHATSAPP_INBOUND = ("(SELECT MAX(w.created_at) FROM messages w WHERE w.direction = 'inbound' "
                         "AND w.channel = 'whatsapp' AND w.from_number = p.phone)")

# For a query on timepoints t: the channel of the reminder behind the timepoint. Of the reminder
# messages the provider accepted for it (sent_at set) and did not fail, the newest one sent at or
# before the timepoint was completed (storage.participants.windows_by_study_id gives it to the exports).
# The timepoint's few reminders are found first (their unique index), then each one's messages
# (messages_reminder): CROSS JOIN keeps that order. Left to itself, SQLite read messages first,
# through messages_inbox, i.e. every outbound message once per timepoint: at 2,000 participants
# with 20,000 messages the export's windows query took 161 s instead of 0.06 s.
REMINDER_CHANNEL = (
    "(SELECT m.channel FROM reminders r CROSS JOIN messages m ON m.reminder_id = r.id "
    "WHERE r.participant_id = t.participant_id AND r.timepoint = t.timepoint AND m.direction = 'outbound' "
    "AND m.sent_at IS NOT NULL AND m.status NOT IN ('failed', 'undelivered') "
    "AND (t.completed_at IS NULL OR m.sent_at <= t.completed_at) ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)")


def set_channel(db: sqlite_utils.Database, participant_id: int, channel: str) -> bool:
    """True when it changed."""
    cursor = db.execute("UPDATE participants SET channel = ? WHERE id = ? AND channel != ?",
                        [channel, participant_id, channel])
    return cursor.rowcount == 1


def record_opt_in(db: sqlite_utils.Database, participant_id: int, *, at: datetime, source: str,
                  wording_version: str) -> bool:
    """Record a WhatsApp opt-in; False (nothing changed) when one is already recorded: the first
    stands until it is withdrawn."""
    cursor = db.execute(
        "UPDATE participants SET whatsapp_opt_in_at = ?, whatsapp_opt_in_source = ?, whatsapp_opt_in_version = ? "
        "WHERE id = ? AND whatsapp_opt_in_at IS NULL", [utc_iso(at), source, wording_version, participant_id])
    return cursor.rowcount == 1


def clear_opt_in(db: sqlite_utils.Database, participant_id: int) -> bool:
    """Withdraw the WhatsApp opt-in; True when there was one."""
    cursor = db.execute(
        "UPDATE participants SET whatsapp_opt_in_at = NULL, whatsapp_opt_in_source = NULL, "
        "whatsapp_opt_in_version = NULL WHERE id = ? AND whatsapp_opt_in_at IS NOT NULL", [participant_id])
    return cursor.rowcount == 1


def set_whatsapp_problem(db: sqlite_utils.Database, participant_id: int, problem: str | None) -> bool:
    """Flag (or, with None, clear) the number as unknown to WhatsApp; True when it changed."""
    cursor = db.execute("UPDATE participants SET whatsapp_problem = ? WHERE id = ? AND whatsapp_problem IS NOT ?",
                        [problem, participant_id, problem])
    return cursor.rowcount == 1


def last_whatsapp_inbound(db: sqlite_utils.Database, phone: str | None) -> str | None:
    """When the newest inbound WhatsApp message from this number came (UTC text), or None."""
    if not phone:
        return None
    return db.execute("SELECT MAX(created_at) FROM messages WHERE direction = 'inbound' AND channel = 'whatsapp' "
                      "AND from_number = ?", [phone]).fetchone()[0]


def reminded_windows(db: sqlite_utils.Database, now: datetime) -> list[tuple]:
    """(arm, timepoint, channel, completed, closed, n): the timepoints at least one reminder was
    sent for, counted by the channel of their newest reminder sent (before completion, when
    completed). What the report's completion-by-channel table counts, a few rows whatever the
    size of the trial."""
    return db.conn.execute(
        f"SELECT p.arm, t.timepoint, {REMINDER_CHANNEL} AS channel, t.completed_at IS NOT NULL AS completed, "
        "t.closes_at <= ? AS closed, COUNT(*) FROM timepoints t JOIN participants p ON p.id = t.participant_id "
        "WHERE channel IS NOT NULL GROUP BY 1, 2, 3, 4, 5", [utc_iso(now)]).fetchall()


def last_reminders(db: sqlite_utils.Database) -> dict[int, dict]:
    """participant id -> their newest reminder message the provider accepted: its ``channel`` and
    when it was ``read_at`` (WhatsApp's read receipt; None when unread, and always for an SMS)."""
    return {row[0]: {"channel": row[1], "read_at": row[2]} for row in db.conn.execute(
        "SELECT participant_id, channel, read_at FROM messages WHERE id IN (SELECT MAX(id) FROM messages "
        "WHERE direction = 'outbound' AND reminder_id IS NOT NULL AND sent_at IS NOT NULL GROUP BY participant_id)")}
