"""Named queries for answers by SMS reply: who answers by SMS, which questions wait for a reply,
the one clarifying SMS a question gets, and the answers that came by SMS."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

# A question SMS counts as asked unless the provider never had it or could not deliver it; one
# still in doubt after a crash may well have reached the phone, so a reply to it is an answer.
_NOT_ASKED = ("not_sent", "failed", "undelivered")
# The newest version of each answer to an instrument (the first parameter) that came by SMS:
# read from the few SMS answers (index responses_by_sms), each checked against newest_answers.
_NEWEST_BY_SMS = ("responses r JOIN newest_answers n ON n.response_id = r.id "
                  "WHERE r.source = 'sms' AND r.instrument = ?")


def set_answers_by_sms(db: sqlite_utils.Database, participant_id: int, on: bool) -> bool:
    """True when it changed."""
    cursor = db.execute("UPDATE participants SET answers_by_sms = ? WHERE id = ? AND answers_by_sms != ?",
                        [int(on), participant_id, int(on)])
    return cursor.rowcount == 1


def asked_and_unanswered(db: sqlite_utils.Database, phone: str, timepoints: Sequence[str],
                         instrument: str) -> list[dict]:
    """Every question asked by SMS to a participant on this number (active, at one of these
    timepoints) whose ``instrument`` is not answered yet: the participant's row, with the
    question's ``question_timepoint`` and its window's ``opens_at`` and ``closes_at``. Whether the
    window is open is the caller's test (scheduler.schedule.window_state)."""
    if not timepoints:
        return []
    marks = ",".join("?" * len(timepoints))
    cursor = db.execute(
        "SELECT p.*, t.timepoint AS question_timepoint, t.opens_at AS question_opens_at, "
        "t.closes_at AS question_closes_at FROM participants p "
        "JOIN timepoints t ON t.participant_id = p.id "
        f"WHERE p.phone = ? AND p.status = 'active' AND t.timepoint IN ({marks}) "
        "AND NOT EXISTS (SELECT 1 FROM newest_answers n WHERE n.participant_id = p.id "
        "                AND n.timepoint = t.timepoint AND n.instrument = ?) "
        "AND EXISTS (SELECT 1 FROM messages m JOIN reminders r ON r.id = m.reminder_id "
        "            WHERE m.participant_id = p.id AND r.timepoint = t.timepoint AND m.reference IS NOT NULL "
        f"           AND m.direction = 'outbound' AND m.status NOT IN ({','.join('?' * len(_NOT_ASKED))})) "
        "ORDER BY p.id, t.opens_at",
        [phone, *timepoints, instrument, *_NOT_ASKED])
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def clarify_once(db: sqlite_utils.Database, participant_id: int, timepoint: str, message_id: int,
                 now: datetime) -> bool:
    """Record that this question gets its clarifying SMS, for the reply ``message_id``; False (and
    nothing recorded) when it already had one. Call inside the caller's write transaction."""
    cursor = db.execute("INSERT OR IGNORE INTO sms_clarifications (participant_id, timepoint, message_id, "
                        "clarified_at) VALUES (?, ?, ?, ?)", [participant_id, timepoint, message_id, utc_iso(now)])
    return cursor.rowcount == 1


def clarified(db: sqlite_utils.Database, participant_id: int) -> dict[str, str]:
    """timepoint -> when its question got the clarifying SMS, for one participant."""
    return dict(db.execute("SELECT timepoint, clarified_at FROM sms_clarifications WHERE participant_id = ?",
                           [participant_id]).fetchall())


def answers_of(db: sqlite_utils.Database, participant_id: int, instrument: str) -> dict[str, dict]:
    """timepoint -> the newest answer to ``instrument`` if it came by SMS (``value`` as given on
    the 0-10 scale, ``submitted_at``), for one participant."""
    return {timepoint: {"value": value, "submitted_at": at} for timepoint, value, at in db.execute(
        f"SELECT r.timepoint, json_extract(r.answers, '$.value'), r.submitted_at FROM {_NEWEST_BY_SMS} "
        "AND r.participant_id = ?", [instrument, participant_id])}


def answers_by_participant(db: sqlite_utils.Database, instrument: str) -> dict[int, dict[str, int]]:
    """participant id -> timepoint -> the 0-10 value of each newest ``instrument`` answer that
    came by SMS: what the nurses' board shows."""
    found: dict[int, dict[str, int]] = defaultdict(dict)
    for participant_id, timepoint, value in db.execute(
            f"SELECT r.participant_id, r.timepoint, json_extract(r.answers, '$.value') FROM {_NEWEST_BY_SMS}",
            [instrument]):
        found[participant_id][timepoint] = value
    return dict(found)

