"""Named queries on clinician forms (versioned, append-only) and the screening log."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

import sqlite_utils

from storage.db import utc_iso

# The newest version of each form item, as storage/responses.py defines it for answers.
NEWEST_VERSION = """c.version = (SELECT MAX(v.version) FROM crf_records v WHERE v.participant_id = c.participant_id
                                  AND v.form = c.form AND v.item = c.item)"""


def _decoded(row: dict) -> dict:
    row["data"] = json.loads(row["data"])
    return row


def newest(db: sqlite_utils.Database, *, form: str | None = None, participant_id: int | None = None) -> Iterator[dict]:
    """The newest version of every form item (optionally one form, one participant), with the
    participant's study_id and arm, ordered by study_id, form and item. Streamed."""
    where, params = [NEWEST_VERSION], []
    if form is not None:
        where.append("c.form = ?")
        params.append(form)
    if participant_id is not None:
        where.append("c.participant_id = ?")
        params.append(participant_id)
    return (_decoded(row) for row in db.query(
        f"SELECT c.*, p.study_id, p.arm FROM crf_records c JOIN participants p ON p.id = c.participant_id "
        f"WHERE {' AND '.join(where)} ORDER BY p.study_id, c.form, c.item", params))


def newest_data_by_study_id(db: sqlite_utils.Database) -> Iterator[tuple[str, list[list]]]:
    """(study_id, [form, data decoded] of the newest version of each of their form items), ordered
    by study_id (the order of participants.every), for an export merging its streams a participant
    at a time. Each participant's forms come as one JSON array built by SQLite: one decode per
    participant, and no row dict per form. Their order within a participant is not defined."""
    sql = ("SELECT p.study_id, '[' || group_concat('[' || json_quote(c.form) || ',' || c.data || ']') || ']' "
           f"FROM participants p CROSS JOIN crf_records c ON c.participant_id = p.id WHERE {NEWEST_VERSION} "
           "GROUP BY p.study_id ORDER BY p.study_id")
    for study_id, forms in db.conn.execute(sql):
        yield study_id, json.loads(forms)


def current(db: sqlite_utils.Database, participant_id: int, form: str, item: int = 0) -> dict | None:
    row = next(db.query("SELECT * FROM crf_records WHERE participant_id = ? AND form = ? AND item = ? "
                        "ORDER BY version DESC LIMIT 1", [participant_id, form, item]), None)
    return None if row is None else _decoded(row)


def versions(db: sqlite_utils.Database, participant_id: int, form: str, item: int = 0) -> list[dict]:
    return [_decoded(row) for row in db.query(
        "SELECT * FROM crf_records WHERE participant_id = ? AND form = ? AND item = ? ORDER BY version",
        [participant_id, form, item])]


def next_item(db: sqlite_utils.Database, participant_id: int, form: str) -> int:
    return db.execute("SELECT COALESCE(MAX(item), 0) + 1 FROM crf_records WHERE participant_id = ? AND form = ?",
                      [participant_id, form]).fetchone()[0]


def insert_version(db: sqlite_utils.Database, *, participant_id: int, form: str, item: int, version: int,
                   data: dict, at: datetime, by: str, reason: str | None) -> int:
    """Store one version; UNIQUE(participant, form, item, version) refuses a version stored twice
    (two people editing at once: the second must start again from the newest)."""
    return db.execute(
        "INSERT INTO crf_records (participant_id, form, item, version, data, recorded_at, recorded_by, reason) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [participant_id, form, item, version, json.dumps(data, sort_keys=True), utc_iso(at), by, reason]).lastrowid


def insert_screening(db: sqlite_utils.Database, *, at: datetime, by: str, answers: dict, failed: list[str],
                     outcome: str, override_reason: str | None) -> int:
    return db.execute(
        "INSERT INTO screenings (screened_at, screened_by, answers, failed, outcome, override_reason) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [utc_iso(at), by, json.dumps(answers, sort_keys=True), json.dumps(failed), outcome, override_reason]).lastrowid


def screening_counts(db: sqlite_utils.Database) -> dict:
    """Screened, by outcome, and the exclusion reasons of those not enrolled (criterion id: count)."""
    outcomes = {row["outcome"]: row["n"] for row in db.query(
        "SELECT outcome, COUNT(*) AS n FROM screenings GROUP BY outcome")}
    reasons: dict[str, int] = {}
    for row in db.query("SELECT failed FROM screenings WHERE outcome = 'not_enrolled'"):
        for criterion in json.loads(row["failed"]):
            reasons[criterion] = reasons.get(criterion, 0) + 1
    return {"outcomes": outcomes, "reasons": reasons}
