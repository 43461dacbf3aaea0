"""What the kill -9 tests of the scheduler share: a trial whose day-1 reminders are due now, the
real scheduler process and its console outbox, and killing it a little way into its pass."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from services import enrollment
from storage import init_db
from storage.connection import open_db

ROOT = Path(__file__).resolve().parent.parent
LOCAL_HOUR = 13  # participants live where it is early afternoon now: not quiet hours


def afternoon_zone(now: datetime) -> tuple[str, datetime]:
    """A fixed-offset IANA zone where it is about 13:00 now, and the local time there."""
    offset = (LOCAL_HOUR - now.hour + 12) % 24 - 12  # -12..+11
    name = "Etc/GMT" + (f"{-offset:+d}" if offset else "+0")  # Etc/GMT-3 is UTC+3
    return name, now + timedelta(hours=offset)


def enroll_due(db_path: Path, participants: int, study_id: Callable[[int], str], phone: Callable[[int], str],
               arm: Callable[[int], str] = lambda n: "A", **details) -> None:
    """A new database at ``db_path`` whose ``participants`` each have their day-1 reminder due now
    (``details``: more enrollment fields, the same for all)."""
    from app import create_app

    init_db(db_path)
    protocol = create_app({"DATABASE": str(db_path)}).extensions["protocol"]
    now = datetime.now(timezone.utc)
    zone, local_now = afternoon_zone(now)
    db = open_db(db_path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    for n in range(participants):
        enrollment.enroll(db, protocol, enrollment.validate_enrollment(
            protocol, ["en"], study_id=study_id(n), arm=arm(n), phone=phone(n), timezone=zone, language="en",
            procedure_date=local_now.date() - timedelta(days=1), **details), actor="test", now=now)
    db.close()


def scheduler(env) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("flask")), "--app", "app", "scheduler"], cwd=ROOT,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_for(condition, timeout: float, every: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def outbox_lines(outbox: Path) -> list[dict]:
    """The SMS the console gateway accepted (a torn last line from a kill is not one)."""
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text().splitlines() if line.endswith("}")]


def kill_mid_pass(env, outbox: Path, participants: int, kills: int) -> int:
    """Start the scheduler and SIGKILL it a few sends into its pass, up to ``kills`` times or until
    every reminder went out; returns how many kills landed with reminders still to send."""
    landed = 0
    for _ in range(kills):
        # Killed as soon as the outbox grows: a few sends into the pass (a claimed group's messages
        # are written together). A pass sends thousands a second, so the outbox's size is watched
        # every millisecond: parsing it every 20 ms let a pass of 300 finish after two kills.
        before = _size(outbox)
        process = scheduler(env)
        try:
            grew = wait_for(lambda: _size(outbox) > before, timeout=60, every=0.001)
            if not grew and process.poll() is not None:
                pytest.fail(process.stderr.read().decode())
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
        if len(outbox_lines(outbox)) >= participants:
            break
        landed += 1
        time.sleep(2.1)  # let the dead pass's lease (1 s, stored to the second) run out
    return landed


def all_sent_in_the_end(env, db_path: Path, participants: int) -> bool:
    """Run the scheduler until every day-1 reminder is sent (recovering what the kills left in
    doubt), then stop it; whether they all were."""
    process = scheduler(env)
    try:
        db = open_db(db_path)
        done = wait_for(lambda: db.execute(
            "SELECT COUNT(*) FROM reminders WHERE timepoint = 'day1' AND attempt = 1 AND status = 'sent'"
        ).fetchone()[0] == participants, timeout=120)
        db.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process.stderr.close()
    return done
