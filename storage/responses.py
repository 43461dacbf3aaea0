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

from storage.db import utc_iso

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
EXPORTED = ("timepoint", "instrument", "instrument_version", "answers", "scores", "source", "submitted_at")


def newest_by_study_id(db: sqlite_utils.Database) -> Iterator[tuple[str, list[dict]]]:
    """(study_id, every newest answer of theirs as a dict of EXPORTED), ordered by study_id (the
    order of participants.every), so an export can merge the streams a participant at a time.

    Each participant's answers arrive as one JSON array built by SQLite: one decode per
    participant instead of two per answer. Their order within a participant is not defined.
    """
    sql = ("SELECT p.study_id, '[' || group_concat('[' || json_quote(n.timepoint) || ',' || json_quote(n.instrument) "
           "|| ',' || json_quote(r.instrument_version) || ',' || r.answers || ',' || r.scores || ',' "
           "|| json_quote(r.source) || ',' || json_quote(r.submitted_at) || ']') || ']' "
           f"FROM {NEWEST} JOIN participants p ON p.id = n.participant_id "
           "GROUP BY p.study_id ORDER BY p.study_id")
    for study_id, answers in db.conn.execute(sql):
        yield study_id, [dict(zip(EXPORTED, answer)) for answer in json.loads(answers)]


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
    return (participant_id, timepoint, instrument, instrument_version, json.dumps(answers, sort_keys=True),
            json.dumps(scores, sort_keys=True), input_mode, source, utc_iso(submitted_at), recorded_by,
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
