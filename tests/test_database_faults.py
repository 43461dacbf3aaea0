"""A locked, full or damaged database: a quick 503 with Retry-After and plain words, never a 500
or a traceback, and nothing half-stored."""
from __future__ import annotations

import logging
import os
import threading
import time

import pytest

from storage import connection
from storage.connection import open_db
from tests.staff_support import staff_and_list
from tests.test_submission import VAS_LINE
from web.database import get_db

SHORT_BUSY_TIMEOUT_MS = 200


@pytest.fixture
def short_busy_timeout(monkeypatch):
    """The app's connections give up on a lock after 0.2 s instead of 5 s, to keep the test quick."""
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", SHORT_BUSY_TIMEOUT_MS)


def in_a_new_thread(request):
    """A request served by a thread with no kept connection yet, as after a restart."""
    outcome = []
    worker = threading.Thread(target=lambda: outcome.append(request()))
    worker.start()
    worker.join(timeout=30)
    return outcome[0]


def answers(trial) -> int:
    return trial.query("SELECT COUNT(*) AS n FROM responses")[0]["n"]


def test_a_submission_meeting_a_held_lock_gets_a_quick_503_and_stores_nothing(short_busy_timeout, app, client, trial):
    trial.enroll()
    token = trial.link()
    before = answers(trial)
    holder = open_db(app.config["DATABASE"])
    holder.conn.execute("BEGIN IMMEDIATE")       # another writer holds the lock: a long import, say
    started = time.monotonic()
    response = client.post(f"/f/{token}/vas", data=VAS_LINE)
    elapsed = time.monotonic() - started
    holder.conn.execute("ROLLBACK")
    holder.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "What you just sent was not saved." in page and "Please try again in a few seconds." in page
    assert "Traceback" not in page
    assert elapsed < SHORT_BUSY_TIMEOUT_MS / 1000 + 2   # one busy timeout, not several
    assert answers(trial) == before
    # The lock gone, the same post goes through on the same kept connection.
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 303
    assert answers(trial) == before + 1


def counts(trial) -> dict[str, int]:
    return {table: trial.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
            for table in ("responses", "newest_answers", "audit_log", "link_tokens")}


def test_a_full_disk_gets_a_503_and_the_answer_is_not_half_stored(app, client, trial):
    """The database may not grow by one page (SQLite's SQLITE_FULL, as from a full disk): patients
    answer until a submission needs a new page; that one is refused whole, the rest stand."""
    with app.test_request_context():
        kept = get_db()                          # the connection this thread's requests use
    kept.execute(f"PRAGMA max_page_count = {kept.execute('PRAGMA page_count').fetchone()[0]}")
    refused = None
    for n in range(1, 60):
        trial.enroll(f"P-{n:03d}")
        token = trial.link(f"P-{n:03d}")
        before = counts(trial)
        response = client.post(f"/f/{token}/vas", data=VAS_LINE)
        if response.status_code != 303:
            refused = response
            break
    assert refused is not None and refused.status_code == 503, refused and refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "300"
    assert "was not saved" in refused.get_data(as_text=True)
    assert counts(trial) == before               # nothing of the refused answer, all of the others
    assert before["responses"] == n - 1
    assert not kept.conn.in_transaction
    kept.execute("PRAGMA max_page_count = 1073741823")  # space freed: the same answer goes in
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 303
    assert counts(trial)["responses"] == n


@pytest.mark.parametrize("path", ["/f/{token}", "/staff/", "/staff/participants/P-001", "/staff/no-such-page"])
def test_a_damaged_database_file_gets_a_503_naming_the_file_in_the_log_only(app, client, clock, trial, caplog, path):
    trial.enroll()
    token = trial.link()
    staff_and_list(app, client, clock).login("investigator")
    database = app.config["DATABASE"]
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(f"{database}{suffix}"):
            os.remove(f"{database}{suffix}")
    with open(database, "wb") as damaged:
        damaged.write(b"this is not a database " * 500)
    with caplog.at_level(logging.ERROR, logger="web.errors"):
        response = in_a_new_thread(lambda: client.get(path.format(token=token)))
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "Not available right now" in page and str(database) not in page and "Traceback" not in page
    assert [r.getMessage() for r in caplog.records if r.name == "web.errors"] == [
        f"database {database} is corrupt (SQLITE_NOTADB): answered 503"]


def test_a_bug_in_a_statement_is_still_a_500_not_a_503(app):
    """Only faults of the database file answer 503: a bad statement is a bug, and says so."""
    from storage import faults
    db = open_db(app.config["DATABASE"])
    with pytest.raises(faults.DatabaseFault) as caught:
        db.execute("SELECT no_such_column FROM participants")
    db.close()
    assert faults.kind(caught.value) is None


def test_a_command_meeting_a_held_lock_says_so_in_one_line_and_exits_1(short_busy_timeout, app, runner, trial, db_path):
    trial.enroll()
    holder = open_db(app.config["DATABASE"])
    holder.conn.execute("BEGIN IMMEDIATE")
    result = runner.invoke(args=["link", "P-001", "baseline"])
    holder.conn.execute("ROLLBACK")
    holder.close()
    assert result.exit_code == 1
    assert result.output == (f"Error: database {db_path} is locked: another process held its write lock too long; "
                             "try again in a moment\n")
    assert runner.invoke(args=["link", "P-001", "baseline"]).exit_code == 0


def test_a_command_on_a_damaged_file_names_it_without_a_traceback(app, runner, db_path):
    for suffix in ("-wal", "-shm"):
        if os.path.exists(f"{db_path}{suffix}"):
            os.remove(f"{db_path}{suffix}")
    db_path.write_bytes(b"not a database " * 300)
    result = runner.invoke(args=["messages", "list"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.output.startswith(f"Error: database {db_path} is corrupt: it is damaged or not a database")
