"""Scored answers for reports and exports: the newest version of each answer, with its participant."""
from __future__ import annotations

import json
from collections.abc import Iterator

import sqlite_utils

LATEST_RESPONSES = """
    SELECT r.participant_id, r.timepoint, r.instrument, r.instrument_version, r.version, r.answers, r.scores,
           r.input_mode, r.source, r.submitted_at
    FROM responses r
    WHERE r.version = (SELECT MAX(version) FROM responses v WHERE v.participant_id = r.participant_id
                       AND v.timepoint = r.timepoint AND v.instrument = r.instrument)
    ORDER BY r.participant_id, r.timepoint, r.instrument
"""


def participants(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT * FROM participants ORDER BY study_id"))


def timepoints(db: sqlite_utils.Database) -> list[dict]:
    return list(db.query("SELECT * FROM timepoints ORDER BY participant_id, opens_at"))


def latest_responses(db: sqlite_utils.Database) -> Iterator[dict]:
    """One row per participant, timepoint and instrument, answers and scores decoded; streamed."""
    for row in db.query(LATEST_RESPONSES):
        row["answers"] = json.loads(row["answers"])
        row["scores"] = json.loads(row["scores"])
        yield row


def iter_participants(db: sqlite_utils.Database) -> Iterator[dict]:
    return db.query("SELECT * FROM participants ORDER BY study_id")


def responses_of(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    """The newest version of each answer of one participant."""
    rows = []
    for row in db.query(
            "SELECT r.* FROM responses r WHERE r.participant_id = ? AND r.version = (SELECT MAX(version) "
            "FROM responses v WHERE v.participant_id = r.participant_id AND v.timepoint = r.timepoint "
            "AND v.instrument = r.instrument)", [participant_id]):
        row["answers"] = json.loads(row["answers"])
        row["scores"] = json.loads(row["scores"])
        rows.append(row)
    return rows


def timepoints_of(db: sqlite_utils.Database, participant_id: int) -> list[dict]:
    return list(db.query("SELECT * FROM timepoints WHERE participant_id = ?", [participant_id]))
