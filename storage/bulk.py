"""Named queries for writing many rows at once: the paper-data import.

Each function issues the same few statements whatever the number of rows (an executemany, or a
set of IDs handed to SQLite as one JSON array through json_each), so an import of 120,000 rows
costs a handful of statements, not several per row. They run inside the caller's write() transaction;
storage.audit.record_many writes the audit entries of many rows the same way.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

import sqlite_utils

from storage.db import utc_iso

STAGED_ANSWERS = "temp.import_answers"
STAGED_COLUMNS = ("file_row", "study_id", "timepoint", "instrument", "answers", "scores", "input_mode")
PARTICIPANT_COLUMNS = ("study_id", "arm", "phone", "timezone", "language", "procedure_date", "punctures",
                       "allocation", "allocation_reason", "enrolled_at", "enrolled_by")


def participant_ids(db: sqlite_utils.Database, study_ids: Iterable[str]) -> dict[str, int]:
    """study_id -> id of those of ``study_ids`` that are enrolled."""
    rows = db.conn.execute("SELECT study_id, id FROM participants WHERE study_id IN (SELECT value FROM json_each(?))",
                           [json.dumps(list(study_ids))])
    return dict(rows.fetchall())


def insert_participants(db: sqlite_utils.Database, rows: Iterable[Mapping[str, Any]]) -> None:
    """Participants, each a mapping of PARTICIPANT_COLUMNS, in one executemany."""
    db.conn.executemany(
        f"INSERT INTO participants ({', '.join(PARTICIPANT_COLUMNS)}) "
        f"VALUES ({', '.join(':' + name for name in PARTICIPANT_COLUMNS)})", rows)


def newest_answers_of(db: sqlite_utils.Database, participant_ids: Iterable[int]) -> Iterator[tuple[int, str, str, dict]]:
    """(participant_id, timepoint, instrument, answers decoded) of the newest version of every
    answer of these participants. Streamed."""
    cursor = db.conn.execute(
        "SELECT n.participant_id, n.timepoint, n.instrument, r.answers "
        "FROM newest_answers n JOIN responses r ON r.id = n.response_id "
        "WHERE n.participant_id IN (SELECT value FROM json_each(?))", [json.dumps(list(participant_ids))])
    return ((participant_id, timepoint, instrument, json.loads(answers))
            for participant_id, timepoint, instrument, answers in cursor)


def insert_first_versions(db: sqlite_utils.Database, rows: Iterable[tuple], *, versions: Mapping[str, str],
                          source: str, submitted_at: datetime, recorded_by: str) -> None:
    """Version 1 of many answers, each finding its participant by study ID; like
    responses.insert_first, one already there is kept. Each row is
    STAGED_COLUMNS: (its row in the file, study_id of an enrolled participant, timepoint,
    instrument, answers JSON, scores JSON (both as stored_json writes them), input_mode), the
    rows just as the import's parse holds them; ``versions``: instrument id -> the version its
    answers are stored under. Stored in the order given, so ids follow it.

    The rows go first into a temporary table, then into responses with one INSERT ... SELECT,
    which finds each participant's id and each instrument's version: an executemany straight into
    responses is one statement per row, and each runs the responses_newest trigger inside a
    statement journal of its own that copies the pages it touches (at 300,000 answers that took
    twice as long), and building each row again in Python to put its id in cost more than the
    lookup does in SQLite.
    """
    if not versions:
        raise ValueError("no instrument versions given")
    db.conn.execute(f"CREATE TEMP TABLE {STAGED_ANSWERS} ({', '.join(STAGED_COLUMNS)})")
    db.conn.executemany(f"INSERT INTO {STAGED_ANSWERS} VALUES ({', '.join('?' * len(STAGED_COLUMNS))})", rows)
    version = "CASE s.instrument " + " ".join("WHEN ? THEN ?" for _ in versions) + " END"
    # DO NOTHING skips only an answer already there: a study ID not enrolled (no participant id), an
    # instrument without a version or JSON that is not valid fails the whole statement, as OR IGNORE
    # would not (it skips a row breaking a NOT NULL or CHECK constraint too).
    db.conn.execute(
        "INSERT INTO responses (participant_id, timepoint, instrument, instrument_version, answers, scores, "
        "input_mode, source, submitted_at, recorded_by, version) "
        f"SELECT p.id, s.timepoint, s.instrument, {version}, s.answers, s.scores, s.input_mode, ?, ?, ?, 1 "
        f"FROM {STAGED_ANSWERS} s LEFT JOIN participants p ON p.study_id = s.study_id WHERE true ORDER BY s.rowid "
        "ON CONFLICT DO NOTHING",
        [*(value for pair in versions.items() for value in pair), source, utc_iso(submitted_at), recorded_by])
    db.conn.execute(f"DROP TABLE {STAGED_ANSWERS}")  # on failure, the caller's rollback drops it


def mark_answered_timepoints_completed(db: sqlite_utils.Database, participant_ids: Iterable[int],
                                       required: Mapping[str, Iterable[str]], at: datetime) -> None:
    """Mark completed (if not already) each timepoint of these participants at which the newest
    answers include every instrument ``required`` lists for it (timepoint id -> instrument ids),
    as participants.mark_completed does one at a time."""
    db.conn.execute(
        "UPDATE timepoints SET completed_at = :at "
        "WHERE completed_at IS NULL "
        "AND participant_id IN (SELECT value FROM json_each(:participants)) "
        "AND timepoint IN (SELECT key FROM json_each(:required)) "
        "AND EXISTS (SELECT 1 FROM newest_answers n WHERE n.participant_id = timepoints.participant_id "
        "            AND n.timepoint = timepoints.timepoint) "
        "AND NOT EXISTS (SELECT 1 FROM json_each(:required) AS tp, json_each(tp.value) AS need "
        "                WHERE tp.key = timepoints.timepoint AND NOT EXISTS ("
        "                    SELECT 1 FROM newest_answers n WHERE n.participant_id = timepoints.participant_id "
        "                    AND n.timepoint = timepoints.timepoint AND n.instrument = need.value))",
        {"at": utc_iso(at), "participants": json.dumps(list(participant_ids)),
         "required": json.dumps({timepoint: list(names) for timepoint, names in required.items()})})
