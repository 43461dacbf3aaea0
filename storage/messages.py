"""Named queries on SMS, outbound and inbound."""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

import sqlite_utils

from storage.db import utc_iso

# Twilio's message statuses in the order they can follow one another. Callbacks arrive out of
# order; a status only ever replaces one of lower rank (delivered never goes back to sent).
STATUS_RANK = {
    "sending_unconfirmed": 0, "accepted": 1, "scheduled": 1, "queued": 2, "sending": 3, "sent": 4,
    "delivered": 5, "undelivered": 5, "failed": 5, "read": 6,
}
IN_DOUBT = "in_doubt"        # our row exists, the provider may or may not have accepted it
NOT_SENT = "not_sent"        # the provider never had it (checked after a crash)


class Outbound(NamedTuple):
    """One outbound SMS to write before it is sent (status in_doubt until its outcome is known)."""

    participant_id: int
    reminder_id: int | None
    to: str
    body: str                # with the link's token redacted: the token itself is never stored
    token_hash: str | None   # the link's token, hashed; None for an SMS question (it has no link)
    gateway: str
    segments: int
    encoding: str
    reference: str | None = None  # an SMS question's reference, as its body shows it (see scheduler.sms_text)
    channel: str = "sms"          # sms or whatsapp (scheduler.channels)
    content_sid: str | None = None  # the WhatsApp template it went as; None: its body as written


class Result(NamedTuple):
    """The outcome of one send, for ``record_results``."""

    message_id: int
    status: str
    sid: str | None = None
    error_code: int | None = None
    sent: bool = False       # the provider accepted it: sent_at is stamped


_INSERT_OUTBOUND = (
    "INSERT INTO messages (direction, participant_id, reminder_id, to_number, body, token_hash, gateway, status, "
    "segments, encoding, created_at, reference, channel, content_sid) "
    "VALUES ('outbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")


def insert_outbound(db: sqlite_utils.Database, *, participant_id: int, reminder_id: int | None,
                    to: str, body: str, token_hash: str, gateway: str, segments: int, encoding: str,
                    now: datetime) -> int:
    return insert_outbound_many(db, [Outbound(participant_id, reminder_id, to, body, token_hash, gateway, segments,
                                              encoding)], now=now)[0]


def insert_outbound_many(db: sqlite_utils.Database, outbound: list[Outbound], *, now: datetime) -> list[int]:
    """Write outbound messages as in_doubt; returns their ids in order. Call inside the caller's
    write transaction. (One prepared statement, stepped per row: executemany gives no ids.)"""
    stamp = utc_iso(now)
    execute = db.conn.execute
    return [execute(_INSERT_OUTBOUND, (m.participant_id, m.reminder_id, m.to, m.body, m.token_hash, m.gateway,
                                       IN_DOUBT, m.segments, m.encoding, stamp, m.reference, m.channel,
                                       m.content_sid)).lastrowid
            for m in outbound]


def record_result(db: sqlite_utils.Database, message_id: int, *, status: str, now: datetime,
                  sid: str | None = None, error_code: int | None = None, sent: bool = False) -> None:
    record_results(db, [Result(message_id, status, sid, error_code, sent)], now=now)


def record_results(db: sqlite_utils.Database, results: list[Result], *, now: datetime) -> None:
    """The outcomes of sends, in one executemany; call inside the caller's write transaction."""
    stamp = utc_iso(now)
    db.conn.executemany(
        "UPDATE messages SET status = ?, sid = COALESCE(?, sid), error_code = ?, status_at = ?, "
        "sent_at = CASE WHEN ? THEN ? ELSE sent_at END WHERE id = ?",
        [(r.status, r.sid, r.error_code, stamp, r.sent, stamp, r.message_id) for r in results])


def in_doubt_for(db: sqlite_utils.Database, reminder_id: int) -> list[dict]:
    return list(db.query(
        "SELECT * FROM messages WHERE reminder_id = ? AND status = ? ORDER BY id", [reminder_id, IN_DOUBT]))


def by_sid(db: sqlite_utils.Database, sid: str) -> dict | None:
    """The outbound message with this SID. Twilio's SIDs are unique; a mock's may not be, so
    the SID is indexed but not constrained, and the newest row wins."""
    return next(db["messages"].rows_where("sid = ? AND direction = 'outbound'", [sid], order_by="id DESC"), None)


_RANK_OF_STATUS = "(CASE status " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in STATUS_RANK.items()) + " ELSE -1 END)"


def advance_status(db: sqlite_utils.Database, sid: str, status: str, error_code: int | None,
                   now: datetime) -> bool:
    """Move a message's status forward only; True when it changed. Delivered and read (WhatsApp)
    keep their times: a read message was delivered, so read after delivered keeps both."""
    rank = STATUS_RANK[status]
    stamp = utc_iso(now)
    cursor = db.execute(
        "UPDATE messages SET status = ?, error_code = COALESCE(?, error_code), status_at = ?, "
        "delivered_at = CASE WHEN ? = 'delivered' THEN COALESCE(delivered_at, ?) ELSE delivered_at END, "
        "read_at = CASE WHEN ? = 'read' THEN COALESCE(read_at, ?) ELSE read_at END "
        f"WHERE sid = ? AND direction = 'outbound' AND {_RANK_OF_STATUS} < ?",
        [status, error_code, stamp, status, stamp, status, stamp, sid, rank])
    return cursor.rowcount == 1


def hold_early_status(db: sqlite_utils.Database, sid: str, status: str, error_code: int | None, now: datetime,
                      *, keep_since: datetime) -> None:
    """Keep a status callback for a SID we have not recorded (yet): the dispatcher records a SID
    after the provider answered, and a fast callback can come first. Held statuses older than
    ``keep_since`` are dropped here: their message was never ours."""
    db.execute("DELETE FROM early_statuses WHERE at < ?", [utc_iso(keep_since)])
    db.execute("INSERT OR IGNORE INTO early_statuses (sid, status, error_code, at) VALUES (?, ?, ?, ?)",
               [sid, status, error_code, utc_iso(now)])


def take_early_statuses(db: sqlite_utils.Database, sids: list[str]) -> list[dict]:
    """The held statuses of these SIDs, lowest rank first, removed as they are taken. Call inside
    the write transaction that recorded the SIDs."""
    if not sids:
        return []
    marks = ",".join("?" * len(sids))
    cursor = db.execute(f"DELETE FROM early_statuses WHERE sid IN ({marks}) RETURNING sid, status, error_code, at",
                        sids)
    names = [column[0] for column in cursor.description]
    found = [dict(zip(names, row)) for row in cursor.fetchall()]
    return sorted(found, key=lambda row: (row["sid"], STATUS_RANK.get(row["status"], -1)))


def insert_inbound(db: sqlite_utils.Database, *, participant_id: int | None, from_number: str,
                   body: str, sid: str | None, now: datetime, status: str = "received",
                   handled_by: str | None = None, channel: str = "sms", media: str | None = None) -> int | None:
    """Keep a reply; ``handled_by`` marks one that needs no nurse (a STOP acted on at once);
    ``media``: the JSON list of its attachments (type and provider URL), kept, never parsed."""
    cursor = db.execute(
        "INSERT OR IGNORE INTO messages (direction, participant_id, from_number, body, sid, status, created_at, "
        "handled_at, handled_by, channel, media) VALUES ('inbound', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [participant_id, from_number, body, sid, status, utc_iso(now), utc_iso(now) if handled_by else None,
         handled_by, channel, media])
    return cursor.lastrowid if cursor.rowcount == 1 else None


def inbound_seen(db: sqlite_utils.Database, sid: str) -> bool:
    """Whether a reply with this MessageSid is already kept (a webhook posted again)."""
    return db.execute("SELECT 1 FROM messages WHERE sid = ? AND direction = 'inbound'", [sid]).fetchone() is not None


INBOX = """SELECT m.id, m.participant_id, p.study_id, m.from_number, m.body, m.created_at, m.handled_at, m.handled_by,
                  m.channel, m.media, COALESCE(json_array_length(m.media), 0) AS media_count,
                  (SELECT group_concat(json_extract(a.value, '$.type'), ', ') FROM json_each(m.media) a) AS media_types
           FROM messages m LEFT JOIN participants p ON p.id = m.participant_id WHERE m.direction = 'inbound'"""


def inbox(db: sqlite_utils.Database, *, participant_id: int | None = None, handled: bool = False,
          limit: int = 100, offset: int = 0) -> list[dict]:
    """Patients' replies waiting for a nurse (or, with ``handled``, those already dealt with), newest first."""
    sql = INBOX + (" AND m.handled_at IS NOT NULL" if handled else " AND m.handled_at IS NULL")
    params: list = []
    if participant_id is not None:
        sql += " AND m.participant_id = ?"
        params.append(participant_id)
    return list(db.query(sql + " ORDER BY m.created_at DESC, m.id DESC LIMIT ? OFFSET ?", [*params, limit, offset]))


def unhandled_count(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COUNT(*) FROM messages WHERE direction = 'inbound' AND handled_at IS NULL").fetchone()[0]


def inbound_by_id(db: sqlite_utils.Database, message_id: int) -> dict | None:
    return next(db.query(INBOX + " AND m.id = ?", [message_id]), None)


def mark_handled(db: sqlite_utils.Database, message_id: int, *, by: str, at: datetime) -> bool:
    """True when this call marked it; False when it was already handled (idempotent)."""
    cursor = db.execute("UPDATE messages SET handled_at = ?, handled_by = ? "
                        "WHERE id = ? AND direction = 'inbound' AND handled_at IS NULL", [utc_iso(at), by, message_id])
    return cursor.rowcount == 1


def listing(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query(
        """SELECT m.id, m.direction, p.study_id, r.timepoint, r.attempt, m.to_number AS "to",
                  m.from_number AS "from", m.body, m.status, m.sid, m.error_code, m.segments,
                  m.created_at, m.sent_at, m.status_at, m.channel, m.content_sid, m.delivered_at, m.read_at
           FROM messages m
           LEFT JOIN participants p ON p.id = m.participant_id
           LEFT JOIN reminders r ON r.id = m.reminder_id
           ORDER BY m.id"""))


def participants_with_unhandled_replies(db: sqlite_utils.Database) -> set[int]:
    return {row["participant_id"] for row in db.query(
        "SELECT DISTINCT participant_id FROM messages WHERE direction = 'inbound' AND handled_at IS NULL "
        "AND participant_id IS NOT NULL")}
