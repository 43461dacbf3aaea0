"""One reminder pass over N due reminders: reminders per second and peak memory.

Usage: .venv/bin/python benchmarks/reminder_pass.py [--reminders 10000] [--gateway console|prism|both]

Each participant has its day1 reminder due at the pass's `now`. The pass does everything it does
in production for each one: renew the claim, decide, create and hash a link, commit the link and
an in-doubt message row (fsync), send, commit the outcome (fsync). "console" appends to an
outbox file (fsync per message); "prism" sends through the official twilio client to Stoplight
Prism serving Twilio's OpenAPI spec (needs `npm ci`; started and stopped here). Peak memory is
tracemalloc's peak of Python allocations during the pass, and the process's max RSS.
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from sms import gateway as sms  # noqa: E402
from sms.twilio import TwilioGateway  # noqa: E402
from services import messaging  # noqa: E402
from scheduler.dispatch import Dispatcher  # noqa: E402
from scheduler.reminders import plan  # noqa: E402
from scheduler.schedule import schedule  # noqa: E402
from storage import init_db, participants, reminders  # noqa: E402
from storage.connection import open_db  # noqa: E402

PROCEDURE = date(2026, 3, 2)
DUE = datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc)


def prepare(db_path: Path, count: int):
    init_db(db_path)
    app = create_app({"DATABASE": str(db_path), "TESTING": True})
    protocol = app.extensions["protocol"]
    db = open_db(db_path)
    db.execute("PRAGMA synchronous = OFF")  # setup only; the pass itself runs with FULL
    db.conn.execute("BEGIN")
    for n in range(count):
        row = {"study_id": f"B-{n:05d}", "arm": "AB"[n % 2], "phone": "+12025550101", "timezone": "UTC",
               "language": "en", "procedure_date": PROCEDURE.isoformat(), "enrolled_at": "2026-03-01T00:00:00+00:00",
               "enrolled_by": "bench"}
        participant_id = db["participants"].insert(row).last_pk
        windows = schedule(protocol, PROCEDURE, ZoneInfo("UTC"))
        participants.insert_timepoints(db, participant_id, windows)
        day1 = windows[1]
        reminders.insert_planned(db, participant_id, "day1",
                                 plan(protocol.reminders, day1.opens_at, day1.closes_at, ZoneInfo("UTC"))[:1], DUE)
    db.conn.execute("COMMIT")
    db.close()
    return app


def run(gateway_name: str, count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = prepare(Path(tmp) / "bench.sqlite3", count)
        prism = None
        if gateway_name == "console":
            gateway = sms.ConsoleGateway(Path(tmp) / "outbox.jsonl", stream=open("/dev/null", "w"))
        else:
            from tests.prism_support import SPEC, PrismServer
            prism = PrismServer(SPEC, Path(tmp) / "prism.log").start()
            gateway = TwilioGateway.from_config({
                "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x" * 32,
                "TWILIO_FROM_NUMBER": "+12025550199", "TWILIO_API_BASE": prism.url})
        try:
            dispatcher = Dispatcher(gateway=gateway, protocol=app.extensions["protocol"],
                                    compose=lambda p, url: f"Your follow-up questionnaire is ready: {url}. "
                                                           "Reply STOP to opt out.",
                                    link_url=lambda token: f"https://pro.example.org/f/{token}", messaging=messaging,
                                    status_callback="https://pro.example.org/twilio/status")
            db = open_db(app.config["DATABASE"])
            tracemalloc.start()
            start = time.perf_counter()
            counts = dispatcher.send_due(db, DUE)
            elapsed = time.perf_counter() - start
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
            db.close()
        finally:
            if prism is not None:
                prism.stop()
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{gateway_name:<8} {count:>7,} reminders  sent {counts['sent']:>7,}  {elapsed:8.1f} s  "
              f"{counts['sent'] / elapsed:8.1f} /s  peak Python heap {peak / 1e6:6.1f} MB  max RSS {rss_mb:6.0f} MB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--gateway", choices=["console", "prism", "both"], default="both")
    args = parser.parse_args()
    for name in (["console", "prism"] if args.gateway == "both" else [args.gateway]):
        run(name, args.reminders)


if __name__ == "__main__":
    main()
