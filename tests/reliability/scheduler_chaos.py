"""kill -9 the scheduler process mid-pass, again and again, while two cron passes
(`flask --app app reminders send-due`) run beside it, over the same due reminders.

What must hold (``Outcome.problems`` is empty): every due reminder's SMS went out exactly once
(0 duplicates, 0 lost), every reminder ends 'sent', every SMS the outbox holds is recorded with
its SID, and no cron pass died (a pass that meets another's lock waits: LOCK_PATIENCE).

Used by tests/reliability/test_scheduler_chaos.py (sized for CI) and benchmarks/scheduler_chaos.py
(the issue's 20 kills over 2,000 reminders).
"""
from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from scheduler.links import token_in
from storage.connection import open_db
from storage.tokens import hash_token
from tests.crash_support import enroll_due

ROOT = Path(__file__).resolve().parents[2]
FLASK = str(Path(sys.executable).with_name("flask"))


@dataclass
class Outcome:
    participants: int
    kills: int = 0
    kills_mid_pass: int = 0          # the outbox grew while that scheduler ran, and reminders remained
    cron_passes: int = 0
    crashes: list[str] = field(default_factory=list)
    sent_lines: int = 0
    duplicates: int = 0
    lost: int = 0
    statuses: dict = field(default_factory=dict)
    unrecorded: int = 0
    seconds: float = 0.0

    @property
    def problems(self) -> list[str]:
        found = [f"{self.duplicates} reminders sent twice"] * bool(self.duplicates)
        found += [f"{self.lost} reminders never sent"] * bool(self.lost)
        found += [f"reminder statuses {self.statuses}"] * (self.statuses != {"sent": self.participants})
        found += [f"{self.unrecorded} SMS without their SID recorded"] * bool(self.unrecorded)
        return found + [f"a pass crashed: {crash}" for crash in self.crashes]


def prepare(db_path: Path, participants: int) -> None:
    """A trial whose ``participants`` each have their day-1 reminder due now."""
    enroll_due(db_path, participants, study_id=lambda n: f"C-{n:04d}", phone=lambda n: f"+2010{n:08d}",
               arm=lambda n: "AB"[n % 2])


def run(tmp: Path, *, participants: int, kills: int, send_delay: float, seed: int = 7,
        timeout: float = 600) -> Outcome:
    db_path, outbox = tmp / "chaos.sqlite3", tmp / "outbox.jsonl"
    prepare(db_path, participants)
    env = {**os.environ, "FLASK_DATABASE": str(db_path), "FLASK_SMS_GATEWAY": "console",
           "FLASK_SMS_OUTBOX": str(outbox), "FLASK_REMINDER_LEASE_SECONDS": "1",
           "CHAOS_SEND_DELAY": str(send_delay),
           "PYTHONPATH": os.pathsep.join([str(Path(__file__).with_name("slow_console")), str(ROOT),
                                          os.environ.get("PYTHONPATH", "")])}
    outcome = Outcome(participants)
    started = time.monotonic()
    deadline = started + timeout
    stop = threading.Event()
    lock = threading.Lock()

    def cron_loop() -> None:
        while not stop.is_set() and time.monotonic() < deadline:
            done = subprocess.run([FLASK, "--app", "app", "reminders", "send-due"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
            with lock:
                outcome.cron_passes += 1
                if done.returncode != 0:
                    outcome.crashes.append(done.stderr.decode(errors="replace")[-2000:])

    crons = [threading.Thread(target=cron_loop) for _ in range(2)]
    for cron in crons:
        cron.start()
    chance = random.Random(seed)
    try:
        while outcome.kills < kills and sent_count(db_path) < participants and time.monotonic() < deadline:
            before = outbox_lines(outbox)
            process = subprocess.Popen([FLASK, "--app", "app", "scheduler"], cwd=ROOT, env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            # Let it start its pass, then kill it a little way in.
            wait_for(lambda: outbox_lines(outbox) > before or process.poll() is not None, deadline)
            time.sleep(chance.uniform(0, 4 * send_delay))   # where in the pass the kill lands
            mid_pass = sent_count(db_path) < participants
            process.send_signal(signal.SIGKILL)
            process.wait()
            outcome.kills += 1
            outcome.kills_mid_pass += mid_pass and outbox_lines(outbox) > before
    finally:
        stop.set()
        for cron in crons:
            cron.join()
    # The last reminders a killed pass held come back once its lease runs out: passes until done.
    while sent_count(db_path) < participants and time.monotonic() < deadline:
        done = subprocess.run([FLASK, "--app", "app", "reminders", "send-due"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
        if done.returncode != 0:
            outcome.crashes.append(done.stderr.decode(errors="replace")[-2000:])
        time.sleep(0.5)   # the lease is stored to the second: give it time to run out
    outcome.seconds = time.monotonic() - started
    check(db_path, outbox, outcome)
    return outcome


def check(db_path: Path, outbox: Path, outcome: Outcome) -> None:
    sent = [json.loads(line) for line in outbox.read_text().splitlines() if line.endswith("}")]
    db = open_db(db_path)
    try:
        reminder_of = dict(db.execute("SELECT token_hash, reminder_id FROM messages").fetchall())
        reminders = [reminder_of.get(hash_token(token_in(line["body"]))) for line in sent]
        outcome.sent_lines = len(sent)
        outcome.duplicates = len(reminders) - len(set(reminders))
        due = {row[0] for row in db.execute(
            "SELECT id FROM reminders WHERE timepoint = 'day1' AND attempt = 1").fetchall()}
        outcome.lost = len(due - set(reminders))
        outcome.statuses = dict(db.execute("SELECT status, COUNT(*) FROM reminders WHERE timepoint = 'day1' "
                                           "AND attempt = 1 GROUP BY status").fetchall())
        recorded = {row[0] for row in db.execute("SELECT sid FROM messages WHERE status = 'sent' OR sent_at IS NOT NULL")}
        outcome.unrecorded = len({line["sid"] for line in sent} - recorded)
    finally:
        db.close()


def sent_count(db_path: Path) -> int:
    db = open_db(db_path)
    try:
        return db.execute("SELECT COUNT(*) FROM reminders WHERE timepoint = 'day1' AND attempt = 1 "
                          "AND status = 'sent'").fetchone()[0]
    finally:
        db.close()


def outbox_lines(outbox: Path) -> int:
    try:
        with outbox.open("rb") as lines:
            return sum(1 for line in lines if line.endswith(b"}\n"))
    except FileNotFoundError:
        return 0


def wait_for(condition, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False
