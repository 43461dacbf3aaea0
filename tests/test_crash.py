"""kill -9 the real scheduler process mid-pass, again and again: every reminder ends sent once."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services import enrollment
from scheduler.links import token_in
from storage.tokens import hash_token
from storage import init_db
from storage.connection import open_db

ROOT = Path(__file__).resolve().parent.parent
PARTICIPANTS = 300
KILLS = 6
LOCAL_HOUR = 13  # participants live where it is early afternoon now: not quiet hours


def afternoon_zone(now: datetime) -> tuple[str, datetime]:
    """A fixed-offset IANA zone where it is about 13:00 now, and the local time there."""
    offset = (LOCAL_HOUR - now.hour + 12) % 24 - 12  # -12..+11
    name = "Etc/GMT" + (f"{-offset:+d}" if offset else "+0")  # Etc/GMT-3 is UTC+3
    return name, now + timedelta(hours=offset)


def scheduler(env) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "app", "scheduler"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def test_kill_9_mid_pass_neither_duplicates_nor_loses_a_reminder(tmp_path):
    db_path, outbox = tmp_path / "crash.sqlite3", tmp_path / "outbox.jsonl"
    init_db(db_path)
    from app import create_app
    protocol = create_app({"DATABASE": str(db_path)}).extensions["protocol"]
    now = datetime.now(timezone.utc)
    zone, local_now = afternoon_zone(now)
    db = open_db(db_path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    for n in range(PARTICIPANTS):
        enrollment.enroll(db, protocol, enrollment.validate_enrollment(
            protocol, ["en"], study_id=f"K-{n:03d}", arm="A", phone="+12025550101", timezone=zone, language="en",
            procedure_date=local_now.date() - timedelta(days=1)), actor="test", now=now)
    db.close()
    env = {**os.environ, "FLASK_DATABASE": str(db_path), "FLASK_SMS_GATEWAY": "console",
           "FLASK_SMS_OUTBOX": str(outbox), "FLASK_REMINDER_LEASE_SECONDS": "1"}

    def outbox_lines() -> list[dict]:
        if not outbox.exists():
            return []
        return [json.loads(line) for line in outbox.read_text().splitlines() if line.endswith("}")]

    kills = 0
    for _ in range(KILLS):
        before = len(outbox_lines())
        target = min(before + 10, PARTICIPANTS)  # kill a few sends into the pass
        process = scheduler(env)
        try:
            grew = wait_for(lambda: len(outbox_lines()) >= target, timeout=60)
            if not grew and process.poll() is not None:
                pytest.fail(process.stderr.read().decode())
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
        if len(outbox_lines()) >= PARTICIPANTS:
            break
        kills += 1
        time.sleep(2.1)  # let the dead pass's lease (1 s, stored to the second) run out

    process = scheduler(env)
    try:
        db = open_db(db_path)
        done = wait_for(lambda: db.execute(
            "SELECT COUNT(*) FROM reminders WHERE timepoint = 'day1' AND attempt = 1 AND status = 'sent'"
        ).fetchone()[0] == PARTICIPANTS, timeout=120)
        db.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process.stderr.close()
    assert done, "not every due reminder was sent"
    assert kills >= 3, f"the process finished before it could be killed often enough ({kills} kills)"

    db = open_db(db_path)
    try:
        sent = outbox_lines()
        hashes = [hash_token(token_in(line["body"])) for line in sent]
        reminder_of = dict(db.execute("SELECT token_hash, reminder_id FROM messages").fetchall())
        reminders_sent = [reminder_of[h] for h in hashes]
        assert len(reminders_sent) == PARTICIPANTS == len(set(reminders_sent)), "a reminder went twice"
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM reminders WHERE timepoint = 'day1' "
                                   "AND attempt = 1 GROUP BY status").fetchall())
        assert statuses == {"sent": PARTICIPANTS}
        sids = {line["sid"] for line in sent}
        recorded = {row[0] for row in db.execute("SELECT sid FROM messages WHERE status = 'sent'")}
        assert recorded == sids
    finally:
        db.close()
