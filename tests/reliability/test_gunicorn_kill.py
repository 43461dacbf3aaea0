"""kill -9 of the production server mid-submission: no acknowledged answer is lost.

A real gunicorn (deploy/gunicorn_conf.py, as scripts/serve runs it) on a real SQLite trial takes
1,000 concurrent VAS submissions, one per participant; partway through, its master and every
worker are SIGKILLed at once (the process group), with posts in flight. It is started again, and
then: every post that got its success redirect is in the database with the value sent, nothing
partial or invalid is (each answer has its audit entry, the invariant checker finds nothing,
integrity_check is ok), and a post that got no answer can simply be sent again. Five runs,
each killed at another point (after 100 to 500 acknowledged answers).
"""
from __future__ import annotations

import http.client
import os
import random
import shutil
import signal
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import create_app
from services import enrollment, links
from storage import init_db
from storage.connection import open_db
from tests.prism_support import free_port
from tests.reliability.invariants import problems
from tests.crash_support import wait_for
from tests.test_serve import GUNICORN, ROOT

SUBMISSIONS = 1000
CONCURRENCY = 32        # client threads: far more requests in flight than workers
WORKERS = "3"
RUNS = 5
STARTUP_SECONDS = 30
POST_TIMEOUT = 30
RESENT = 100            # of the posts that got no answer, sent again to the restarted server


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A trial of SUBMISSIONS participants, each with a baseline link open now (the procedure is
    tomorrow: the window runs from 30 days before to the procedure day, in real time, since the
    server reads the real clock). Copied for each run. Returns (database, {token: study_id})."""
    path = tmp_path_factory.mktemp("kill") / "template.sqlite3"
    init_db(path)
    protocol = create_app({"DATABASE": str(path)}).extensions["protocol"]
    now = datetime.now(timezone.utc)
    db = open_db(path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    tokens = {}
    try:
        for n in range(SUBMISSIONS):
            study_id = f"K-{n:04d}"
            enrollment.enroll(db, protocol, enrollment.validate_enrollment(
                protocol, ["en"], study_id=study_id, arm="AB"[n % 2], phone=None, timezone="UTC", language="en",
                procedure_date=now.date() + timedelta(days=1)), actor="test", now=now)
            tokens[links.issue_link(db, study_id, "baseline", actor="test", now=now)[0]] = study_id
    finally:
        db.close()
    return path, tokens


class Server:
    """gunicorn in a process group of its own, so one killpg reaches the master and its workers."""

    def __init__(self, database: Path, log: Path):
        self.port = free_port()
        env = {**os.environ, "PORT": str(self.port), "WEB_CONCURRENCY": WORKERS, "FLASK_DATABASE": str(database),
               "FLASK_SECRET_KEY": "a-long-random-secret-for-the-kill-test", "FLASK_SMS_GATEWAY": "console",
               "FLASK_SMS_OUTBOX": str(database.with_name("outbox.jsonl")),
               "FLASK_BASE_URL": f"http://127.0.0.1:{self.port}"}
        env.pop("TWILIO_ACCOUNT_SID", None)
        self.log = log.open("a")
        self.process = subprocess.Popen([str(GUNICORN), "--config", "python:deploy.gunicorn_conf", "app:create_app()"],
                                        cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.group = self.process.pid

    def up(self) -> bool:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=1)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            connection.close()
            return True
        except OSError:
            return False

    def wait_until_up(self) -> None:
        assert wait_for(lambda: self.up() or self.process.poll() is not None, STARTUP_SECONDS), "gunicorn did not start"
        assert self.process.poll() is None, "gunicorn exited at start-up"

    def alive(self) -> list[int]:
        """Processes of the group not yet dead (a zombie waiting for its parent to reap it is dead)."""
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == self.group and fields[0] != "Z":
                found.append(int(stat.parent.name))
        return found

    def kill_9(self) -> None:
        try:
            os.killpg(self.group, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)
        assert wait_for(lambda: not self.alive(), 30), f"still alive after SIGKILL: {self.alive()}"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill_9()
        self.log.close()


def submit(port: int, token: str, mm: int) -> tuple[int | None, str]:
    """(status, Location) of one VAS post; (None, the error) when the connection failed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=POST_TIMEOUT)
    try:
        connection.request("POST", f"/f/{token}/vas", f"version=1.0&mode=line&vas_mm={mm}",
                           {"Content-Type": "application/x-www-form-urlencoded"})
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    except (OSError, http.client.HTTPException) as exc:
        return None, type(exc).__name__
    finally:
        connection.close()


def acknowledged(token: str, outcome: tuple) -> bool:
    """The success redirect: on to the next form of the link."""
    status, location = outcome
    return status == 303 and location.endswith(f"/f/{token}/odi")


@pytest.mark.parametrize("run", range(1, RUNS + 1))
def test_kill_9_of_gunicorn_mid_submissions_loses_no_acknowledged_answer(template, tmp_path, run):
    source, tokens = template
    database = tmp_path / "trial.sqlite3"
    shutil.copy(source, database)
    rng = random.Random(run)
    sent = {token: rng.randint(0, 100) for token in tokens}
    kill_after = rng.randint(SUBMISSIONS // 10, SUBMISSIONS // 2)   # acknowledged answers before the kill
    log = tmp_path / "gunicorn.log"
    outcomes: dict[str, tuple] = {}
    acks = []
    lock = threading.Lock()

    server = Server(database, log)
    try:
        server.wait_until_up()

        def one(token: str) -> None:
            outcome = submit(server.port, token, sent[token])
            with lock:
                outcomes[token] = outcome
                if acknowledged(token, outcome):
                    acks.append(token)

        with ThreadPoolExecutor(CONCURRENCY) as pool:
            for token in tokens:
                pool.submit(one, token)
            reached = wait_for(lambda: len(acks) >= kill_after, 120)
            server.kill_9()
            acked_at_kill = len(acks)
        assert reached, f"only {len(acks)} answers acknowledged before the deadline:\n{log.read_text()[-3000:]}"
    finally:
        server.stop()
    acked = {token for token, outcome in outcomes.items() if acknowledged(token, outcome)}
    unanswered = [token for token, outcome in outcomes.items() if outcome[0] is None]
    assert len(outcomes) == SUBMISSIONS
    assert acked_at_kill < SUBMISSIONS and unanswered, "the server was not killed mid-run"
    # A busy server may refuse with 503 (nothing stored, "try again"); never a 500.
    assert {outcome[0] for outcome in outcomes.values()} <= {303, 503, None}, outcomes

    db = open_db(database)
    try:
        stored = {row["study_id"]: row for row in db.query(
            "SELECT p.study_id, r.id, json_extract(r.answers, '$.value') AS mm FROM responses r "
            "JOIN participants p ON p.id = r.participant_id WHERE r.instrument = 'vas'")}
    finally:
        db.close()
    lost = [tokens[token] for token in acked if tokens[token] not in stored]
    assert not lost, f"{len(lost)} acknowledged answers lost: {lost[:10]}"
    by_study_id = {study_id: token for token, study_id in tokens.items()}
    assert all(row["mm"] == sent[by_study_id[study_id]] for study_id, row in stored.items())

    # Started again on the same file: it serves, and a post that got no answer can simply be sent
    # again (a sample of them: the run stays a few seconds).
    resent = rng.sample(unanswered, min(RESENT, len(unanswered)))
    server = Server(database, log)
    try:
        server.wait_until_up()
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            again = dict(zip(resent, pool.map(lambda token: submit(server.port, token, sent[token]), resent)))
    finally:
        server.stop()
    assert all(status == 303 for status, _ in again.values()), again

    db = open_db(database)
    try:
        answers = {row["study_id"]: row["mm"] for row in db.query(
            "SELECT p.study_id, json_extract(r.answers, '$.value') AS mm FROM responses r "
            "JOIN participants p ON p.id = r.participant_id WHERE r.instrument = 'vas'")}
        unaudited = db.execute("SELECT COUNT(*) FROM responses r WHERE (SELECT COUNT(*) FROM audit_log a WHERE "
                               "a.action = 'submit' AND a.entity = 'response' AND a.entity_id = CAST(r.id AS TEXT)) "
                               "!= 1").fetchone()[0]
        total = db.execute("SELECT COUNT(*) FROM responses").fetchone()[0]
    finally:
        db.close()
    expected = {tokens[token]: sent[token] for token in acked | set(resent)}
    assert {study_id: answers.get(study_id) for study_id in expected} == expected
    assert all(answers[study_id] == sent[by_study_id[study_id]] for study_id in answers)
    assert total == len(answers) and unaudited == 0      # VAS answers only, each with its audit entry
    assert problems(database, create_app({"DATABASE": str(database)}).extensions["protocol"], ["en"]) == []
