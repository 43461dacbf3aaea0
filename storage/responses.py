"""Named queries on answers. Answers are append-only: a correction is a new version.

"The newest version of an answer" is defined once, here (NEWEST_VERSION), and every reader of
answers (the patient pages, the report, the exports, the import) goes through ``newest``.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

# A row is the newest version of its answer when no later version of the same participant,
# timepoint and instrument exists (UNIQUE(participant, timepoint, instrument, version) indexes it).
NEWEST_VERSION = """r.version = (SELECT MAX(v.version) FROM responses v WHERE v.participant_id = r.participant_id
                                  AND v.timepoint = r.timepoint AND v.instrument = r.instrument)"""


def _decoded(row: dict) -> dict:
    row["answers"] = json.loads(row["answers"])
    row["scores"] = json.loads(row["scores"])
    return row


def newest(db: sqlite_utils.Database, *, participant_id: int | None = None,
           timepoint: str | None = None) -> Iterator[dict]:
    """The newest version of each answer, answers and scores decoded, ordered by participant,
    timepoint and instrument; optionally for one participant and one timepoint. Streamed."""
    where, params = [NEWEST_VERSION], []
    if participant_id is not None:
        where.append("r.participant_id = ?")
        params.append(participant_id)
    if timepoint is not None:
        where.append("r.timepoint = ?")
        params.append(timepoint)
    sql = (f"SELECT r.* FROM responses r WHERE {' AND '.join(where)} "
           "ORDER BY r.participant_id, r.timepoint, r.instrument")
    return (_decoded(row) for row in db.query(sql, params))


def newest_by_study_id(db: sqlite_utils.Database) -> Iterator[dict]:
    """Every newest answer with its participant's study_id, ordered by study_id (the order of
    participants.all), timepoint and instrument, so an export can merge the two streams."""
    sql = (f"SELECT r.*, p.study_id FROM responses r JOIN participants p ON p.id = r.participant_id "
           f"WHERE {NEWEST_VERSION} ORDER BY p.study_id, r.timepoint, r.instrument")
    return (_decoded(row) for row in db.query(sql))


def latest(db: sqlite_utils.Database, participant_id: int, timepoint: str) -> dict[str, dict]:
    """The newest version of each instrument answered at one timepoint, by instrument id."""
    return {row["instrument"]: row for row in newest(db, participant_id=participant_id, timepoint=timepoint)}


def insert_first(db: sqlite_utils.Database, *, participant_id: int, timepoint: str, instrument: str,
                 instrument_version: str, answers: dict, scores: dict, input_mode: str, source: str,
                 submitted_at: datetime, recorded_by: str) -> int | None:
    """Store version 1 of an answer; None (and nothing stored) when one is already there.

    INSERT OR IGNORE against UNIQUE(participant, timepoint, instrument, version) makes a
    double submit, even two at the same instant, keep the first answer.
    """
    cursor = db.execute(
        "INSERT OR IGNORE INTO responses (participant_id, timepoint, instrument, instrument_version, "
        "version, answers, scores, input_mode, source, submitted_at, recorded_by) "
        "VALUES (?, ?, ?, ?, 1, ?, ?, ?, ?, ?, ?)",
        [participant_id, timepoint, instrument, instrument_version,
         json.dumps(answers, sort_keys=True), json.dumps(scores, sort_keys=True),
         input_mode, source, utc_iso(submitted_at), recorded_by],
    )
    return cursor.lastrowid if cursor.rowcount == 1 else None
