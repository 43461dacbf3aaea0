"""A WhatsApp reminder pass against an SMS pass: 2,000 due participants, the same fake latency.

Usage: .venv/bin/python benchmarks/whatsapp_pass.py [--size 2000] [--latency-ms 5] [--gateway fake|prism]

Each participant has their day1 reminder due at the pass's ``now`` (benchmarks/reminder_pass.py's
database). The pass is the app's own (``web.reminders.dispatcher``: its texts, its WhatsApp
templates, synchronous=FULL) through a gateway that sends one message at a time, as Twilio does,
each send taking the same fake latency whatever the channel (``--gateway prism``: the official
twilio client against Stoplight Prism instead, the network deciding). Three passes over copies of
the same database:

* **sms**: every participant on SMS (the floor: what the WhatsApp passes are compared with);
* **whatsapp, template**: every participant on WhatsApp with an opt-in and no message from them,
  so outside the 24-hour window: each reminder goes as the approved template;
* **whatsapp, free text**: the same, each with an inbound WhatsApp message an hour before (their
  own number), so inside the window: free text, and the pass reads the window from that message.

Seconds are the best of REPEAT runs, the passes interleaved so that a slow spell falls on all alike;
"cpu s" is the least CPU time of the runs (sleeping out the latency is not CPU). The ratio is a
pass's seconds over the SMS pass's.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _harness import seconds
from app import create_app
from reminder_pass import BASE_URL, DUE, template
from storage import init_db
from storage.connection import open_db
from tests.sms_fakes import RecordingGateway
from web import reminders

REPEAT = 3
TEMPLATES = {"reminder": {"en": "HX" + "a1" * 16}}
VARIANTS = ("sms", "whatsapp, template", "whatsapp, free text")


def prepare(size: int, work: Path, variant: str) -> Path:
    """A fresh copy of the size's database, its participants set up for ``variant``."""
    path = work / "pass.sqlite3"
    for name in ("pass.sqlite3", "pass.sqlite3-wal", "pass.sqlite3-shm"):
        (work / name).unlink(missing_ok=True)
    shutil.copyfile(template(size), path)
    init_db(path)   # a template kept from before the newest migrations gets them here
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")
    # Each participant on a number of their own (the window is a number's), in every variant alike.
    connection.execute("UPDATE participants SET phone = '+1617555' || printf('%04d', id)")
    if variant != "sms":
        connection.execute("UPDATE participants SET channel = 'whatsapp', whatsapp_opt_in_at = enrolled_at, "
                           "whatsapp_opt_in_source = 'clinic', whatsapp_opt_in_version = '1'")
    if variant == "whatsapp, free text":
        connection.execute(
            "INSERT INTO messages (direction, participant_id, from_number, body, sid, status, created_at, channel) "
            "SELECT 'inbound', id, phone, 'Hello', 'SMin' || id, 'received', ?, 'whatsapp' FROM participants",
            [(DUE - timedelta(hours=1)).isoformat()])
    connection.execute("COMMIT")
    connection.close()
    os.sync()  # the copy's dirty pages must not be flushed by the first timed fsync
    return path


def gateway_for(kind: str, latency: float, prism_url: str | None):
    if kind == "fake":
        return RecordingGateway(latency=latency)
    from sms.twilio import TwilioGateway
    return TwilioGateway.from_config({
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x" * 32, "TWILIO_FROM_NUMBER": "+12025550199",
        "TWILIO_WHATSAPP_FROM": "whatsapp:+12025550199", "TWILIO_API_BASE": prism_url})


class Best:
    def __init__(self):
        self.wall, self.cpu, self.counts = float("inf"), float("inf"), None


def run_pass(app, db_path: Path, gateway) -> dict:
    app.extensions["sms_gateway"] = gateway
    with app.app_context():
        dispatcher = reminders.dispatcher(app)
        db = open_db(db_path)
        try:
            return dict(dispatcher.send_due(db, DUE))
        finally:
            db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=2_000)
    parser.add_argument("--latency-ms", type=float, default=5.0, help="each fake send's latency (fake gateway)")
    parser.add_argument("--gateway", choices=["fake", "prism"], default="fake")
    args = parser.parse_args()
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.gateway == "prism":
            from tests.prism_support import SPEC, PrismServer
            server = PrismServer(SPEC, work / "prism.log").start()
        try:
            app = create_app({"TESTING": True, "DATABASE": str(work / "unused.sqlite3"), "BASE_URL": BASE_URL,
                              "WHATSAPP_TEMPLATES": TEMPLATES})
            template(args.size)
            best = {variant: Best() for variant in VARIANTS}
            for _ in range(REPEAT):
                for variant in VARIANTS:
                    db_path = prepare(args.size, work, variant)
                    gateway = gateway_for(args.gateway, args.latency_ms / 1000, server.url if server else None)
                    began = time.process_time()
                    result = {}
                    took = seconds(lambda: result.update(run_pass(app, db_path, gateway)))
                    record = best[variant]
                    record.wall, record.cpu = min(record.wall, took), min(record.cpu, time.process_time() - began)
                    record.counts = result
                    channels = {m.channel for m in getattr(gateway, "sent", [])} or {"?"}
                    assert result == {"sent": args.size}, (variant, result)
                    assert args.gateway != "fake" or channels == {"sms" if variant == "sms" else "whatsapp"}
                    if hasattr(gateway, "close"):
                        gateway.close()
            latency = f"fake latency {args.latency_ms:g} ms a send" if args.gateway == "fake" else "Prism"
            print(f"reminder pass over {args.size:,} due participants, one send at a time, {latency}; "
                  f"ratio = seconds / the SMS pass's")
            print(f"{'pass':<22} {'seconds':>8} {'per s':>8} {'cpu s':>6} {'ratio':>6}")
            floor = best["sms"].wall
            for variant in VARIANTS:
                record = best[variant]
                print(f"{variant:<22} {record.wall:>8.2f} {args.size / record.wall:>8,.0f} {record.cpu:>6.2f} "
                      f"{record.wall / floor:>6.2f}")
        finally:
            if server is not None:
                server.stop()


if __name__ == "__main__":
    main()
