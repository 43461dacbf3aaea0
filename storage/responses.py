"""Named queries on answers. Answers are append-only: a correction is a new version.

"The newest version of an answer" is defined once: the table newest_answers, which a trigger on
responses keeps in step (migration m007: a later version replaces an earlier one, never the other
way round). Every reader of answers (the patient pages, the report, the exports, the import) reads
through it, and the report reads its typed scores without decoding any JSON.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import sqlite_utils

from storage.db import stored_json, utc_iso

from storage.migrations import NEWEST_SCORES

# The newest version of each answer: its row in newest_answers (n), joined to the answer (r).
NEWEST = "newest_answers n JOIN responses r ON r.id = n.response_id"


def _decoded(row: dict) -> dict:
    row["answers"] = json.loads(row["answers"])
    row["scores"] = json.loads(row["scores"])
    return row


def newest(db: sqlite_utils.Database, *, participant_id: int | None = None,
           timepoint: str | None = None) -> Iterator[dict]:
    """The newest version of each answer, answers and scores decoded, ordered by participant,
    timepoint and instrument; optionally for one participant and one timepoint. Streamed."""
    where, params = ["1"], []
    if participant_id is not None:
        where.append("n.participant_id = ?")
        params.append(participant_id)
    if timepoint is not None:
        where.append("n.timepoint = ?")
        params.append(timepoint)
    sql = (f"SELECT r.* FROM {NEWEST} WHERE {' AND '.join(where)} "
           "ORDER BY n.participant_id, n.timepoint, n.instrument")
    return (_decoded(row) for row in db.query(sql, params))


# What an export needs of one answer, in this order (answers and scores decoded).
# ``version`` is the answer's version (1 unless corrected); ``corrected_reason`` the reason the
# audit log gives for the correction that made it (None for version 1).
EXPORTED = ("timepoint", "instrument", "instrument_version", "answers", "scores", "source", "submitted_at",
            "version", "corrected_reason")
# The reason given for a version of an answer: the newest reason the audit log holds on the response
# (entity 'response', entity_id its id), as storage.answer_history reads it too.
_REASON = ("(SELECT a.reason FROM audit_log a WHERE a.entity = 'response' AND a.entity_id = CAST({id} AS TEXT) "
           "AND a.reason IS NOT NULL ORDER BY a.id DESC LIMIT 1)")


def newest_lists_by_study_id(db: sqlite_utils.Database) -> Iterator[tuple[str, list[list]]]:
    """(study_id, every newest answer of theirs as a list in EXPORTED's order), ordered by study_id
    (the order of participants.every), so an export can merge the streams a participant at a time.

    Each participant's answers arrive as one JSON array built by SQLite: one decode per
    participant instead of two per answer. Their order within a participant is not defined.
    The participants are walked in study_id order (its unique index) and each one's answers found
    by the primary key of newest_answers (CROSS JOIN fixes that order): no sort of every answer.
    """
    # Each answer's array written by one printf (a chain of || copies the growing text at each step).
    sql = ("SELECT p.study_id, '[' || group_concat(printf('[%s,%s,%s,%s,%s,%s,%s,%d,%s]', json_quote(n.timepoint), "
           "json_quote(n.instrument), json_quote(r.instrument_version), r.answers, r.scores, json_quote(r.source), "
           "json_quote(r.submitted_at), n.version, "
           f"CASE WHEN n.version > 1 THEN json_quote({_REASON.format(id='r.id')}) ELSE 'null' END)) || ']' "
           "FROM participants p CROSS JOIN newest_answers n ON n.participant_id = p.id "
           "JOIN responses r ON r.id = n.response_id GROUP BY p.study_id ORDER BY p.study_id")
    for study_id, answers in db.conn.execute(sql):
        yield study_id, json.loads(answers)


def newest_by_study_id(db: sqlite_utils.Database) -> Iterator[tuple[str, list[dict]]]:
    """``newest_lists_by_study_id`` with each answer as a dict of EXPORTED."""
    for study_id, answers in newest_lists_by_study_id(db):
        yield study_id, [dict(zip(EXPORTED, answer)) for answer in answers]


def newest_scores(db: sqlite_utils.Database) -> list[tuple]:
    """(participant_id, timepoint, instrument, *NEWEST_SCORES) of every newest answer, unordered, as plain
    tuples straight from typed columns: what the report analyses, with no JSON to decode."""
    return db.conn.execute(f"SELECT participant_id, timepoint, instrument, {', '.join(NEWEST_SCORES)} "
                           "FROM newest_answers").fetchall()


def latest(db: sqlite_utils.Database, participant_id: int, timepoint: str) -> dict[str, dict]:
    """The newest version of each instrument answered at one timepoint, by instrument id."""
    return {row["instrument"]: row for row in newest(db, participant_id=participant_id, timepoint=timepoint)}


def instruments_in(db: sqlite_utils.Database, participant_id: int, timepoint: str) -> frozenset[str]:
    """The instruments answered at one timepoint: one indexed read of newest_answers, no answer decoded."""
    return frozenset(instrument for instrument, in db.conn.execute(
        "SELECT instrument FROM newest_answers WHERE participant_id = ? AND timepoint = ?", [participant_id, timepoint]))


def insert_first(db: sqlite_utils.Database, *, participant_id: int, timepoint: str, instrument: str,
                 instrument_version: str, answers: dict, scores: dict, input_mode: str, source: str,
                 submitted_at: datetime, recorded_by: str) -> int | None:
    """Store version 1 of an answer; None (and nothing stored) when one is already there.

    INSERT OR IGNORE against UNIQUE(participant, timepoint, instrument, version) makes a
    double submit, even two at the same instant, keep the first answer.
    """
    return insert_encoded_first(db, encode_first(
        participant_id=participant_id, timepoint=timepoint, instrument=instrument,
        instrument_version=instrument_version, answers=answers, scores=scores, input_mode=input_mode,
        source=source, submitted_at=submitted_at, recorded_by=recorded_by))


def encode_first(*, participant_id: int, timepoint: str, instrument: str, instrument_version: str, answers: dict,
                 scores: dict, input_mode: str, source: str, submitted_at: datetime, recorded_by: str,
                 submission_key: str | None = None, answered_at: datetime | None = None) -> tuple:
    """Version 1 of an answer as the row ``insert_encoded_first`` stores, its JSON and time encoded:
    made before a write lock is taken, so the lock is held for the INSERT alone.

    ``submission_key`` is the random key the patient's phone named the submission with;
    ``answered_at`` the time it was answered, when that is not the time it arrived."""
    return (participant_id, timepoint, instrument, instrument_version, stored_json(answers),
            stored_json(scores), input_mode, source, utc_iso(submitted_at), recorded_by,
            submission_key, None if answered_at is None else utc_iso(answered_at))


def insert_encoded_first(db: sqlite_utils.Database, row: tuple) -> int | None:
    """``insert_first`` of a row from ``encode_first``: its id, or None when version 1 is already
    there, or when its submission key already names another answer (see ``submission_key_names``)."""
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO responses (participant_id, timepoint, instrument, instrument_version, "
        "version, answers, scores, input_mode, source, submitted_at, recorded_by, submission_key, answered_at) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?, ?, ?)", row)
    return cursor.lastrowid if cursor.rowcount == 1 else None


def submission_key_names(db: sqlite_utils.Database, key: str) -> tuple[int, str, str] | None:
    """(participant_id, timepoint, instrument) of the answer a submission key was stored with, or None."""
    row = db.conn.execute("SELECT participant_id, timepoint, instrument FROM responses WHERE submission_key = ?",
                          [key]).fetchone()
    return None if row is None else tuple(row)


def versions_of(db: sqlite_utils.Database, participant_id: int, timepoint: str, instrument: str) -> list[dict]:
    """Every version of one answer, oldest first, answers and scores decoded, each with ``reason``
    and ``corrected_at``: the reason its correction gave, and when (None for version 1)."""
    rows = db.query(f"SELECT r.*, {_REASON.format(id='r.id')} AS reason, (SELECT a.at FROM audit_log a "
                    "WHERE a.entity = 'response' AND a.entity_id = CAST(r.id AS TEXT) AND a.action = 'correct_answer' "
                    "AND a.reason IS NOT NULL "
                    "ORDER BY a.id DESC LIMIT 1) AS corrected_at FROM responses r "
                    "WHERE r.participant_id = ? AND r.timepoint = ? AND r.instrument = ? ORDER BY r.version",
                    [participant_id, timepoint, instrument])
    return [_decoded(row) for row in rows]


def insert_correction(db: sqlite_utils.Database, previous: dict, *, version: int, answers: dict, scores: dict,
                      recorded_by: str) -> int | None:
    """Store a corrected answer as version ``version`` of ``previous``'s answer (a row of
    ``versions_of``), the old versions kept; its id, or None (nothing stored) when that version is
    already there: another correction came first. The form's time, source and input mode stay those
    of the answer it corrects (when it was answered does not change); who recorded it is the corrector."""
    cursor = db.conn.execute(
        "INSERT OR IGNORE INTO responses (participant_id, timepoint, instrument, instrument_version, version, answers, "
        "scores, input_mode, source, submitted_at, recorded_by, answered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (previous["participant_id"], previous["timepoint"], previous["instrument"], previous["instrument_version"],
         version, stored_json(answers), stored_json(scores), previous["input_mode"],
         previous["source"], previous["submitted_at"], recorded_by, previous.get("answered_at")))
    return cursor.lastrowid if cursor.rowcount == 1 else None
