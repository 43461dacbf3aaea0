"""storage.bulk's answers of a paper import: each row finds its participant and its version in
SQL; an answer already there is kept, and a row that cannot be stored fails the whole write."""
from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest

from storage import bulk, write

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
VERSIONS = {"vas": "1.0", "odi": "2.1a"}


def enroll(db, *study_ids: str) -> dict[str, int]:
    bulk.insert_participants(db, [{"study_id": study_id, "arm": "A", "phone": None, "timezone": "UTC", "language": "en",
                                   "procedure_date": None, "punctures": None, "allocation": "external",
                                   "allocation_reason": "test", "enrolled_at": "2026-03-01T09:00:00+00:00",
                                   "enrolled_by": "test"} for study_id in study_ids])
    return bulk.participant_ids(db, study_ids)


def store(db, rows) -> None:
    with write(db):
        bulk.insert_first_versions(db, rows, versions=VERSIONS, source="paper", submitted_at=NOW, recorded_by="nurse")


def stored(db) -> list[tuple]:
    return db.conn.execute(
        "SELECT participant_id, timepoint, instrument, instrument_version, version, answers, scores, input_mode, "
        "source, submitted_at, recorded_by FROM responses ORDER BY id").fetchall()


def test_each_answer_is_stored_under_its_participant_and_version_in_the_order_given(fresh_db):
    with write(fresh_db):
        ids = enroll(fresh_db, "P-1", "P-2")
    store(fresh_db, [(2, "P-2", "day1", "odi", '{"a": 1}', '{"odi_score": 10}', "paper"),
                     (3, "P-1", "day1", "vas", '{"v": 4}', '{"vas_cm": 4.0}', "nrs")])
    at = "2026-03-01T09:30:00+00:00"
    assert stored(fresh_db) == [
        (ids["P-2"], "day1", "odi", "2.1a", 1, '{"a": 1}', '{"odi_score": 10}', "paper", "paper", at, "nurse"),
        (ids["P-1"], "day1", "vas", "1.0", 1, '{"v": 4}', '{"vas_cm": 4.0}', "nrs", "paper", at, "nurse")]
    # The trigger keeps the newest answers, as for any other answer.
    assert fresh_db.conn.execute("SELECT participant_id, instrument, vas_cm, odi_score FROM newest_answers "
                                 "ORDER BY response_id").fetchall() == [(ids["P-2"], "odi", None, 10),
                                                                        (ids["P-1"], "vas", 4.0, None)]


def test_an_answer_already_there_is_kept_and_the_others_are_stored(fresh_db):
    with write(fresh_db):
        enroll(fresh_db, "P-1")
    store(fresh_db, [(2, "P-1", "day1", "vas", '{"v": 4}', '{"vas_cm": 4.0}', "nrs")])
    store(fresh_db, [(2, "P-1", "day1", "vas", '{"v": 9}', '{"vas_cm": 9.0}', "nrs"),
                     (3, "P-1", "week1", "vas", '{"v": 2}', '{"vas_cm": 2.0}', "nrs")])
    assert [(row[1], row[5]) for row in stored(fresh_db)] == [("day1", '{"v": 4}'), ("week1", '{"v": 2}')]


@pytest.mark.parametrize("bad", [
    (3, "P-404", "day1", "vas", '{"v": 2}', '{"vas_cm": 2.0}', "nrs"),       # a study ID not enrolled
    (3, "P-1", "day1", "sf36", '{"v": 2}', '{"x": 2.0}', "paper"),           # an instrument with no version
    (3, "P-1", "day1", "odi", '{"v": ', '{"odi_score": 2}', "paper"),        # answers that are not JSON
])
def test_a_row_that_cannot_be_stored_fails_the_write_and_nothing_is_stored(fresh_db, bad):
    with write(fresh_db):
        enroll(fresh_db, "P-1")
    with pytest.raises(sqlite3.IntegrityError):
        store(fresh_db, [(2, "P-1", "day1", "vas", '{"v": 4}', '{"vas_cm": 4.0}', "nrs"), bad])
    assert stored(fresh_db) == []
    assert fresh_db.conn.execute("SELECT COUNT(*) FROM newest_answers").fetchone()[0] == 0


def test_the_staged_columns_are_the_import_parse_s_answer_fields():
    from reports.importer import Answer
    assert bulk.STAGED_COLUMNS == ("file_row", *Answer._fields[1:])
