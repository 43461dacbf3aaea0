"""One reminder pass over 200, 2,000 and 20,000 due reminders, beside two floors.

Usage: .venv/bin/python benchmarks/reminder_pass.py [--sizes 200 2000 20000] [--gateway console|prism]
       [--profile N]

Each participant has its day1 reminder due at the pass's ``now``. The pass is the app's own
(``Dispatcher.send_due`` with the app's SMS text, the console gateway, synchronous=FULL): claim,
decide, mint and hash a link, commit the links and in-doubt message rows, append to the outbox
(fsync), commit the outcomes.

Two floors do the same work on the same rows in plain sqlite3 and no more: claim the reminders
with their participant's number and window, CLAIM_BATCH at a time, make and hash each token,
insert its link, audit row and in-doubt message, append the SMS to an outbox file, record the
outcome. (No deciding, no translated SMS text, no segment count: those are the app's own work.)
They differ only in their commits and fsyncs:
* **1-by-1** (the pass before it was batched): a transaction claims a group, then each reminder
  has a transaction for its link and message, an fsync for its outbox line and a transaction for
  its outcome: 2 commits and an fsync a reminder.
* **batched** (the pass now): one transaction claims a group and writes its links and messages,
  one outbox fsync, one transaction for the group's outcomes: 2 commits and an fsync a group.

Seconds are the best of five runs, each on a fresh copy of the database, the pass and the
floors interleaved so that a spell of slow fsyncs falls on all alike, with nothing tracing. "cpu
s" is the least CPU time of the runs: a busy disk does not move it (waiting for fsync is not
CPU). Peak MB is the rise of the resident set during one more run of its own. ``--profile N``
prints cProfile's top functions of one pass over N reminders instead. With ``--gateway prism``
the pass sends through the official twilio client to Stoplight Prism (needs `npm ci`); the
network dominates there, so no floor is printed.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import secrets
import shutil
import sqlite3
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from _harness import CACHE, SIZES, peak_mb, seconds
from app import create_app
from scheduler.dispatch import CLAIM_BATCH, Dispatcher
from scheduler.reminders import plan
from scheduler.schedule import schedule
from services import messaging
from sms import gateway as sms
from storage import init_db, participants, reminders
from storage.connection import open_db
from web.reminders import compose_body

PROCEDURE = date(2026, 3, 2)
DUE = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)
BASE_URL = "https://pro.example.org"
REPEAT = 5
TEMPLATE_VERSION = 1  # bump when prepare() changes, so cached databases are rebuilt


def template(size: int) -> Path:
    """A database with ``size`` participants whose day1 reminder is due at DUE; built once, kept in
    /tmp/pro-benchmarks, and copied for every run (a pass changes it)."""
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"reminders-{size}-v{TEMPLATE_VERSION}.sqlite3"
    if path.exists():
        init_db(path)   # one cached by an earlier version gets the migrations since
        return path
    partial = path.with_suffix(".partial")
    partial.unlink(missing_ok=True)
    init_db(partial)
    protocol = create_app({"DATABASE": str(partial), "TESTING": True}).extensions["protocol"]
    db = open_db(partial)
    db.execute("PRAGMA synchronous = OFF")  # setup only; the pass runs with FULL
    db.conn.execute("BEGIN")
    windows = schedule(protocol, PROCEDURE, ZoneInfo("UTC"))
    first = plan(protocol.reminders, windows[1].opens_at, windows[1].closes_at, ZoneInfo("UTC"))[:1]
    for n in range(size):
        participant_id = participants.insert(db, {
            "study_id": f"B-{n:05d}", "arm": "AB"[n % 2], "phone": "+12025550101", "timezone": "UTC",
            "language": "en", "procedure_date": PROCEDURE.isoformat(),
            "enrolled_at": "2026-03-01T00:00:00+00:00", "enrolled_by": "bench"})
        participants.insert_timepoints(db, participant_id, windows)
        reminders.insert_planned(db, participant_id, "day1", first, DUE)
    db.conn.execute("COMMIT")
    db.close()
    partial.rename(path)
    return path


def fresh(size: int, work: Path) -> tuple[Path, Path]:
    """A copy of the size's template database and an empty outbox, in ``work``."""
    for name in ("pass.sqlite3", "pass.sqlite3-wal", "pass.sqlite3-shm", "outbox.jsonl"):
        (work / name).unlink(missing_ok=True)
    shutil.copyfile(template(size), work / "pass.sqlite3")
    os.sync()  # the copy's dirty pages must not be flushed by the first timed fsync
    return work / "pass.sqlite3", work / "outbox.jsonl"


# --- the app's pass ------------------------------------------------------------------------

def make_pass(app, gateway_name: str, outbox: Path, prism_url: str | None = None):
    """The app's pass as ``flask reminders send-due`` runs it: (db path) -> counts."""
    if gateway_name == "console":
        gateway = sms.ConsoleGateway(outbox, stream=open(os.devnull, "w"))
    else:
        from sms.twilio import TwilioGateway
        gateway = TwilioGateway.from_config({
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x" * 32,
            "TWILIO_FROM_NUMBER": "+12025550199", "TWILIO_API_BASE": prism_url})
    dispatcher = Dispatcher(gateway=gateway, protocol=app.extensions["protocol"], compose=compose_body,
                            link_url=lambda token: f"{BASE_URL}/f/{token}", messaging=messaging,
                            status_callback=f"{BASE_URL}/twilio/status" if gateway_name != "console" else None)

    def run(db_path: Path):
        db = open_db(db_path)
        try:
            with app.app_context():  # compose_body translates, as in the scheduler's tick
                return dispatcher.send_due(db, DUE)
        finally:
            db.close()
    return run


# --- the floors ----------------------------------------------------------------------------

CLAIM = ("SELECT r.id, p.id, p.study_id, p.phone, t.closes_at FROM reminders r "
         "JOIN participants p ON p.id = r.participant_id "
         "JOIN timepoints t ON t.participant_id = r.participant_id AND t.timepoint = r.timepoint "
         "WHERE r.status = 'pending' AND r.due_at <= ? ORDER BY r.due_at, r.id LIMIT ?")


def floor(db_path: Path, outbox: Path, per_reminder: bool) -> int:
    """The same work in plain sqlite3, with a pass's commits and fsyncs either one reminder at a
    time or one claimed group at a time. Returns how many were sent."""
    connection = sqlite3.connect(db_path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    now, sent = DUE.isoformat(timespec="seconds"), 0
    while True:
        connection.execute("BEGIN IMMEDIATE")
        claimed = connection.execute(CLAIM, [now, CLAIM_BATCH]).fetchall()
        connection.executemany("UPDATE reminders SET status = 'sending', claimed_by = 'floor', claimed_at = ? "
                               "WHERE id = ?", [(now, r[0]) for r in claimed])
        if not claimed:
            connection.execute("COMMIT")
            connection.close()
            return sent
        if per_reminder:
            connection.execute("COMMIT")
        for part in ([r] for r in claimed) if per_reminder else [claimed]:
            if per_reminder:  # a transaction of its own, which renews the claim first
                connection.execute("BEGIN IMMEDIATE")
                connection.execute("UPDATE reminders SET claimed_at = ? WHERE id = ? AND claimed_by = 'floor'",
                                   [now, part[0][0]])
            tokens = [secrets.token_urlsafe(18) for _ in part]
            hashes = [hashlib.sha256(t.encode()).hexdigest() for t in tokens]
            bodies = [f"Your follow-up questionnaire is ready: {BASE_URL}/f/{t}. Reply STOP to opt out."
                      for t in tokens]
            connection.executemany(
                "INSERT INTO link_tokens (token_hash, participant_id, timepoint, created_at, expires_at, created_by) "
                "VALUES (?, ?, 'day1', ?, ?, 'reminders')", [(h, r[1], now, r[4]) for h, r in zip(hashes, part)])
            connection.executemany(
                "INSERT INTO audit_log (at, actor, action, entity, entity_id, after) "
                "VALUES (?, 'reminders', 'issue_link', 'participant', ?, ?)",
                [(now, r[2], '{"timepoint": "day1"}') for r in part])
            message_ids = [connection.execute(
                "INSERT INTO messages (direction, participant_id, reminder_id, to_number, body, token_hash, gateway, "
                "status, segments, encoding, created_at) VALUES ('outbound', ?, ?, ?, ?, ?, 'console', 'in_doubt', "
                "1, 'GSM-7', ?)", [r[1], r[0], r[3], f"{BASE_URL}/f/<token>", h, now]).lastrowid
                for h, r in zip(hashes, part)]
            connection.execute("COMMIT")
            sids = ["SM" + secrets.token_hex(16) for _ in part]
            lines = "".join(json.dumps({"sid": sid, "to": r[3], "body": body, "at": now}) + "\n"
                            for sid, r, body in zip(sids, part, bodies))
            fd = os.open(outbox, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, lines.encode())
            os.fsync(fd)
            os.close(fd)
            connection.execute("BEGIN IMMEDIATE")
            connection.executemany("UPDATE messages SET status = 'sent', sid = ?, status_at = ?, sent_at = ? "
                                   "WHERE id = ?", [(sid, now, now, m) for sid, m in zip(sids, message_ids)])
            connection.executemany("UPDATE reminders SET status = 'sent', updated_at = ? WHERE id = ?",
                                   [(now, r[0]) for r in part])
            connection.execute("COMMIT")
            sent += len(part)


# --- measuring -----------------------------------------------------------------------------

class Best:
    """The best wall-clock and CPU seconds of a job's runs so far, and its last result."""

    def __init__(self, job):
        self.job, self.wall, self.cpu, self.result = job, float("inf"), float("inf"), None

    def run(self, size: int, work: Path) -> None:
        db_path, outbox = fresh(size, work)
        began = time.process_time()

        def once():
            self.result = self.job(db_path, outbox)
        self.wall = min(self.wall, seconds(once))
        self.cpu = min(self.cpu, time.process_time() - began)


HEADER = (f"{'reminders':>9} {'seconds':>8} {'per s':>7} {'cpu s':>6} {'peak MB':>7} | "
          f"{'1-by-1 s':>8} {'per s':>7} {'ratio':>5} | {'batched s':>9} {'per s':>7} {'cpu s':>6} {'ratio':>5}")


def console(sizes: list[int]) -> None:
    app = create_app({"TESTING": True, "DATABASE": str(CACHE / "unused.sqlite3")})
    print(f"reminder pass, console gateway, claim batch {CLAIM_BATCH}; ratio = pass seconds / floor seconds")
    print(HEADER)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for size in sizes:
            template(size)
            app_pass = Best(lambda db, outbox: make_pass(app, "console", outbox)(db))
            one_by_one = Best(lambda db, outbox: floor(db, outbox, per_reminder=True))
            batched = Best(lambda db, outbox: floor(db, outbox, per_reminder=False))
            for attempt in range(REPEAT):
                app_pass.run(size, work)
                batched.run(size, work)
                if attempt == 0 or size <= 2_000:  # 1-by-1 spends minutes in fsync at 20,000: one run
                    one_by_one.run(size, work)
            assert app_pass.result == {"sent": size}, app_pass.result
            assert one_by_one.result == batched.result == size
            db_path, outbox = fresh(size, work)
            peak = peak_mb(lambda: make_pass(app, "console", outbox)(db_path))
            took, one, least = app_pass.wall, one_by_one.wall, batched.wall
            print(f"{size:>9,} {took:>8.2f} {size / took:>7,.0f} {app_pass.cpu:>6.2f} {peak:>7.1f} | "
                  f"{one:>8.2f} {size / one:>7,.0f} {took / one:>5.2f} | "
                  f"{least:>9.2f} {size / least:>7,.0f} {batched.cpu:>6.2f} {took / least:>5.2f}")


def prism(sizes: list[int]) -> None:
    from tests.prism_support import SPEC, PrismServer

    app = create_app({"TESTING": True, "DATABASE": str(CACHE / "unused.sqlite3")})
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        server = PrismServer(SPEC, work / "prism.log").start()
        try:
            for size in sizes:
                db_path, outbox = fresh(size, work)
                run = make_pass(app, "prism", outbox, server.url)
                counts = {}
                took = seconds(lambda: counts.update(run(db_path)))
                print(f"prism {size:>9,} reminders  sent {counts.get('sent', 0):>7,}  {took:8.2f} s  "
                      f"{size / took:8.1f} /s")
        finally:
            server.stop()


def profile(size: int) -> None:
    app = create_app({"TESTING": True, "DATABASE": str(CACHE / "unused.sqlite3")})
    with tempfile.TemporaryDirectory() as tmp:
        db_path, outbox = fresh(size, Path(tmp))
        run = make_pass(app, "console", outbox)
        profiler = cProfile.Profile()
        profiler.runcall(run, db_path)
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(40)
        stats.sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--gateway", choices=["console", "prism"], default="console")
    parser.add_argument("--profile", type=int, metavar="N", help="profile one pass over N reminders instead")
    args = parser.parse_args()
    if args.profile:
        profile(args.profile)
    elif args.gateway == "console":
        console(args.sizes)
    else:
        prism(args.sizes)


if __name__ == "__main__":
    main()
