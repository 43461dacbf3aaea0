"""The SQLite file: pragmas, idempotent migrations, append-only answers and audit, hashed tokens."""
from __future__ import annotations

import json
import sqlite3

import pytest

from storage import MIGRATIONS, init_db
from storage.connection import open_db

ALL_MIGRATIONS = ["m001_initial", "m002_reminders_and_messages", "m003_staff_randomization_contacts",
                  "m004_settings_and_reply_handling", "m005_clinician_forms_and_screening", "m006_link_language",
                  "m007_newest_answers", "m008_session_version",
                  "m009_number_opt_outs", "m010_withdrawal_state", "m011_sms_answers",
                  "m012_submission_keys", "m013_password_resets", "m014_whatsapp", "m015_audit_reasons_index"]


def test_connection_pragmas(fresh_db):
    pragma = lambda name: fresh_db.execute(f"PRAGMA {name}").fetchone()[0]  # noqa: E731
    assert pragma("journal_mode") == "wal"
    assert pragma("foreign_keys") == 1
    assert pragma("synchronous") == 2  # FULL


def test_migrations_apply_once(db_path):
    assert init_db(db_path) == []
    db = open_db(db_path)
    try:
        assert [m.name for m in MIGRATIONS.applied(db)] == ALL_MIGRATIONS
        assert {"participants", "timepoints", "responses", "link_tokens", "audit_log"} <= set(db.table_names())
    finally:
        db.close()


def test_fresh_file_gets_every_migration(tmp_path):
    assert init_db(tmp_path / "sub" / "new.sqlite3") == ALL_MIGRATIONS


@pytest.mark.parametrize("table", ["responses", "audit_log"])
def test_answers_and_audit_are_append_only(trial, table):
    trial.enroll()
    token = trial.link()
    client = trial.app.test_client()
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "4"})
    db = open_db(trial.app.config["DATABASE"])
    try:
        assert db[table].count >= 1
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(f"UPDATE {table} SET id = id")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute(f"DELETE FROM {table}")
    finally:
        db.close()


def test_tokens_are_stored_only_as_hashes(trial):
    trial.enroll()
    token = trial.link()
    rows = trial.query("SELECT * FROM link_tokens")
    assert len(rows) == 1
    assert token not in repr(rows)
    assert len(rows[0]["token_hash"]) == 64
    assert len(token) >= 22  # 18 random bytes, 144 bits, base64url


def test_foreign_keys_are_enforced(fresh_db):
    with pytest.raises(sqlite3.IntegrityError):
        fresh_db.execute(
            "INSERT INTO responses (participant_id, timepoint, instrument, instrument_version, version, "
            "answers, scores, input_mode, source, submitted_at, recorded_by) "
            "VALUES (99, 'baseline', 'vas', '1.0', 1, '{}', '{}', 'line', 'web', 'x', 'y')")


def _answer(db, participant_id: int, version: int, vas_cm, instrument: str = "vas") -> None:
    db.execute("INSERT INTO responses (participant_id, timepoint, instrument, instrument_version, version, "
               "answers, scores, input_mode, source, submitted_at, recorded_by) "
               "VALUES (?, 'baseline', ?, '1.0', ?, '{}', ?, 'line', 'web', 'x', 'y')",
               [participant_id, instrument, version, json.dumps({"vas_cm": vas_cm, "vas_mode": "line"})])


def test_newest_answers_follows_every_insert_and_only_ever_moves_forward(trial, app):
    from storage import responses
    trial.enroll()
    db = open_db(app.config["DATABASE"])
    try:
        (pid,) = db.execute("SELECT id FROM participants").fetchone()
        _answer(db, pid, 1, 6.5)
        assert responses.newest_scores(db) == [(pid, "baseline", "vas", 6.5, None, None, None, None, None)]
        _answer(db, pid, 3, 4)      # a correction: its integer stays an integer
        _answer(db, pid, 2, 5.0)    # an older version arriving late never replaces a newer one
        assert responses.newest_scores(db) == [(pid, "baseline", "vas", 4, None, None, None, None, None)]
        assert [r["version"] for r in responses.newest(db)] == [3]
        assert db.execute("SELECT COUNT(*) FROM responses").fetchone() == (3,)
    finally:
        db.close()


def test_the_migration_fills_newest_answers_from_answers_already_stored(tmp_path):
    db = open_db(tmp_path / "old.sqlite3")
    try:
        MIGRATIONS.apply(db, stop_before="m007_newest_answers")     # as the previous release left it
        db.execute("INSERT INTO participants (study_id, arm, timezone, language, enrolled_at, enrolled_by) "
                   "VALUES ('P-1', 'A', 'UTC', 'en', 'x', 'y')")
        for version, vas in ((1, 7.0), (2, 6.0)):
            _answer(db, 1, version, vas)
        _answer(db, 1, 1, None, instrument="odi")
        MIGRATIONS.apply(db)
        assert db.execute("SELECT instrument, version, vas_cm FROM newest_answers ORDER BY instrument").fetchall() == [
            ("odi", 1, None), ("vas", 2, 6.0)]
    finally:
        db.close()


@pytest.mark.parametrize("sql", [
    "UPDATE participants SET withdrawal_reason = 'moved' WHERE study_id = 'P-001'",             # active, with a reason
    "UPDATE participants SET status = 'withdrawn' WHERE study_id = 'P-001'",                    # no time, no reason
    "UPDATE participants SET status = 'withdrawn', withdrawn_at = 'x', withdrawal_reason = ' ' WHERE study_id = 'P-001'",
    "UPDATE participants SET withdrawn_at = 'x' WHERE study_id = 'P-001'",
])
def test_the_database_refuses_an_inconsistent_withdrawal_state(trial, app, sql):
    trial.enroll()
    db = open_db(app.config["DATABASE"])
    try:
        with pytest.raises(sqlite3.IntegrityError, match="a participant is active, or withdrawn"):
            db.execute(sql)
        db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = 'x', withdrawal_reason = 'moved' "
                   "WHERE study_id = 'P-001'")                                              # the consistent change
        db.execute("UPDATE participants SET phone = '+16175550123' WHERE study_id = 'P-001'")  # untouched state
    finally:
        db.close()


def test_every_reader_of_a_correction_s_reason_uses_the_reasons_index(trial):
    """m015: only entries with a reason are indexed; each reader of an answer's reason asks for
    one, so SQLite searches the partial index instead of scanning the whole audit log."""
    from services import answer_corrections
    from storage import answer_history, responses

    trial.enroll()
    client = trial.app.test_client()
    client.post(f"/f/{trial.link()}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "4"})
    db = open_db(trial.app.config["DATABASE"])
    try:
        answer_corrections.correct(db, trial.app.extensions["protocol"], study_id="P-001", timepoint="baseline",
                                   instrument="vas", answers={"mode": "nrs", "value": 5}, reason="misread",
                                   opened_version=1, actor="investigator@hospital.example", now=trial.clock())
        statements: list[str] = []
        db.conn.set_trace_callback(statements.append)
        participant_id = db.execute("SELECT id FROM participants").fetchone()[0]
        versions = responses.versions_of(db, participant_id, "baseline", "vas")
        lists = list(responses.newest_lists_by_study_id(db))
        history = list(answer_history.versions_by_study_id(db))
        db.conn.set_trace_callback(None)
        assert [(v["reason"], v["corrected_at"] is not None) for v in versions] == [(None, False), ("misread", True)]
        assert lists[0][1][0][-1] == "misread" and history[0][1][-1]["reason"] == "misread"
        readers = [s for s in statements if "audit_log" in s]
        assert len(readers) == 3
        for statement in readers:
            plan = " | ".join(row[3] for row in db.execute(f"EXPLAIN QUERY PLAN {statement}").fetchall())
            assert "USING INDEX audit_log_reasons" in plan and "SCAN a" not in plan, plan
    finally:
        db.close()
