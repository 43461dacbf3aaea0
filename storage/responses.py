"""Named queries on answers. Answers are append-only: a correction is a new version."""
from __future__ import annotations

import json
from datetime import datetime
import sqlite_utils

from storage.db import utc_iso


def latest(db: sqlite_utils.Database, participant_id: int, timepoint: str) -> dict[str, dict]:
    """The newest version of each instrument answered at one timepoint, by instrument id."""
    rows = db.query(
        "SELECT * FROM responses WHERE participant_id = ? AND timepoint = ? "
        "ORDER BY instrument, version",
        [participant_id, timepoint],
    )
    found: dict[str, dict] = {}
    for row in rows:
        row["answers"] = json.loads(row["answers"])
        row["scores"] = json.loads(row["scores"])
        found[row["instrument"]] = row
    return found


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


