"""The connection a request gets (web.database): kept for the next request of the same thread and
process, never across threads or a fork, never carrying a transaction over, never piling up."""
from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from app import create_app
from storage import init_db, participants
from web.database import get_db

VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}


def request_connection(app):
    """The connection a request of ``app`` on this thread gets."""
    with app.test_request_context():
        return get_db()


def works(db) -> bool:
    return db.conn.execute("SELECT COUNT(*) FROM participants").fetchone() is not None


def stored(trial) -> int:
    return len(trial.query("SELECT id FROM responses"))


def test_requests_on_one_thread_reuse_its_connection(app, client, trial):
    trial.enroll()
    kept = request_connection(app)
    assert client.post(f"/f/{trial.link()}/vas", data=VAS_LINE).status_code == 303
    assert client.get(f"/f/{trial.link()}").status_code == 303
    assert request_connection(app) is kept and works(kept)


def test_a_command_opens_and_closes_its_own(app):
    """Outside a request (a CLI command, a reminder pass) the connection is the context's own, closed at
    its end, so the WAL is checkpointed into the file when the command is done."""
    kept = request_connection(app)
    with app.app_context():
        own = get_db()
    assert own is not kept
    with pytest.raises(sqlite3.ProgrammingError):
        works(own)
    assert works(kept)


def test_another_thread_gets_a_connection_of_its_own(app):
    kept = request_connection(app)
    seen = {}

    def in_thread():
        seen["db"] = request_connection(app)
        seen["again"] = request_connection(app)
        seen["works"] = works(seen["db"])

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join()
    assert seen["db"] is not kept and seen["again"] is seen["db"] and seen["works"]


def test_a_context_inside_a_request_gets_a_connection_of_its_own(app, db_path, clock):
    other_app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock})
    with app.test_request_context():
        outer = get_db()
        with other_app.test_request_context():
            inner = get_db()
            assert inner is not outer
        with pytest.raises(sqlite3.ProgrammingError):
            works(inner)     # closed when its context ended
        assert works(outer)  # still the outer request's
    assert request_connection(app) is outer


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")
def test_a_forked_worker_opens_its_own_connection_and_leaves_the_parents_alone(app, trial):
    """gunicorn forks its workers from a process that may have served a request: the child must
    neither use nor close the parent's connection (SQLite forbids both across a fork)."""
    trial.enroll("P-001")
    trial.enroll("P-002")
    parent_token, child_token = trial.link("P-001"), trial.link("P-002")
    kept = request_connection(app)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:   # the child: report through the pipe, and leave without running pytest's exit code
        status = 1
        try:
            mine = request_connection(app)
            posted = app.test_client().post(f"/f/{child_token}/vas", data=VAS_LINE).status_code
            if mine is not kept and posted == 303 and request_connection(app) is mine:
                status = 0
        finally:
            os.write(write, bytes([status]))
            os._exit(0)
    os.close(write)
    _, exit_status = os.waitpid(pid, 0)
    child_status = os.read(read, 1)
    os.close(read)
    assert exit_status == 0 and child_status == b"\x00", "the child's request did not get a connection of its own"
    # The parent's connection is untouched by the child's exit, and sees the child's answer.
    assert request_connection(app) is kept and works(kept)
    assert app.test_client().post(f"/f/{parent_token}/vas", data=VAS_LINE).status_code == 303
    assert stored(trial) == 2


def test_a_request_for_another_database_closes_the_kept_one(tmp_path, clock):
    """The test suite makes hundreds of apps on as many files: one connection stays open per thread."""
    apps = []
    for n in range(3):
        path = tmp_path / f"db-{n}.sqlite3"
        init_db(path)
        apps.append(create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": clock}))
    first = request_connection(apps[0])
    second = request_connection(apps[1])
    assert second is not first
    with pytest.raises(sqlite3.ProgrammingError):
        works(first)
    assert request_connection(apps[1]) is second


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files through /proc")
def test_many_apps_leave_no_file_open(tmp_path, clock):
    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    def one_app(n: int) -> None:
        path = tmp_path / f"db-{n}.sqlite3"
        init_db(path)
        app = create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": clock})
        assert app.test_client().get("/f/AAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
        works(request_connection(app))

    one_app(0)
    before = open_files()
    for n in range(1, 40):
        one_app(n)
    assert open_files() <= before


def test_a_submission_failing_mid_transaction_stores_nothing_and_the_connection_goes_on(
        app, client, trial, monkeypatch):
    from storage import audit

    trial.enroll()
    token = trial.link()
    kept = request_connection(app)

    def audit_fails(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(audit, "store", audit_fails)   # after the answer's INSERT, before COMMIT
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 500
    assert stored(trial) == 0 and not trial.query("SELECT id FROM audit_log WHERE action = 'submit'")

    monkeypatch.undo()
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 303
    assert request_connection(app) is kept
    assert stored(trial) == 1


def test_a_transaction_a_request_leaves_open_is_rolled_back_at_its_end(app, client, trial, db_path):
    """Whatever a request leaves open (a write interrupted outside storage.write), the next
    request on the kept connection starts clean, and no other connection waits for the lock."""
    trial.enroll()
    participant = trial.query("SELECT id FROM participants")[0]

    @app.get("/test/interrupted-write")   # a GET: no CSRF token needed
    def interrupted_write():
        db = get_db()
        db.conn.execute("BEGIN IMMEDIATE")
        participants.set_phone_problem(db, participant["id"], "left half-written")
        raise RuntimeError("interrupted")

    kept = request_connection(app)
    assert client.get("/test/interrupted-write").status_code == 500
    assert not kept.conn.in_transaction
    other = sqlite3.connect(db_path, timeout=0.1, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")   # the write lock is free
        other.execute("ROLLBACK")
    finally:
        other.close()
    assert trial.query("SELECT phone_problem FROM participants")[0]["phone_problem"] is None
    assert client.post(f"/f/{trial.link()}/vas", data=VAS_LINE).status_code == 303
    assert request_connection(app) is kept and stored(trial) == 1
