"""Each staff page's bytes and render time: the demo trial (203 participants, 2,300 answers)
against the same page with an empty trial, and against a floor.

Usage: .venv/bin/python benchmarks/staff_pages.py [--runs 15]

Pages are fetched through Flask's test client as the demo's administrator (the real app, a real
SQLite file, gzip on). The "empty" trial has the same staff accounts and one participant, so every
page exists. The floor is a bare Flask app serving the demo page's own bytes from memory, gzipped
the same way: what the framework costs for that response, with no query and no template. Printed:
raw and gzip bytes, median milliseconds, and the ratios demo/empty and demo/floor.
"""
from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flask import Flask, Response  # noqa: E402

from app import create_app  # noqa: E402
from services import demo, enrollment  # noqa: E402
from storage import init_db  # noqa: E402
from storage.connection import open_db  # noqa: E402

PAGES = ("/staff/", "/staff/?filter=overdue", "/staff/participants/DEMO-002", "/staff/inbox", "/staff/enroll",
         "/staff/report", "/staff/dataset", "/staff/audit")
ADMIN = "admin@demo.example"


def make_app(path: Path, outbox: Path):
    return create_app({"DATABASE": str(path), "SMS_GATEWAY": "console", "SMS_OUTBOX": str(outbox),
                       "SECRET_KEY": "benchmark", "DEFAULT_TIMEZONE": "Africa/Cairo", "DEFAULT_COUNTRY": "EG"})


def demo_trial(folder: Path):
    path = folder / "demo.sqlite3"
    app = make_app(path, folder / "outbox-demo")
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return app


def empty_trial(folder: Path):
    path = folder / "empty.sqlite3"
    init_db(path)
    app = make_app(path, folder / "outbox-empty")
    db = open_db(path)
    try:
        demo.ensure_staff(db, app.config["CLOCK"]())
        protocol = app.extensions["protocol"]
        clean = enrollment.validate_enrollment(protocol, ["en"], study_id="DEMO-002", arm="A", phone="+201001290002",
                                               timezone="Africa/Cairo", language="en", procedure_date=date.today())
        enrollment.enroll(db, protocol, clean, actor="benchmark", now=app.config["CLOCK"]())
    finally:
        db.close()
    return app


def signed_in(app):
    client = app.test_client()
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"',
                      client.get("/staff/login").get_data(as_text=True)).group(1)
    response = client.post("/staff/login", data={"csrf_token": token, "email": ADMIN, "password": demo.PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    return client


def measure(client, path: str, runs: int) -> tuple[float, bytes]:
    times, body = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        body = response.get_data()
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times), body


def floor_client(pages: dict[str, bytes]):
    """A bare Flask app answering each path with stored, already gzipped bytes."""
    floor = Flask("floor")

    @floor.get("/<path:anything>")
    def serve(anything):
        return Response(pages["/" + anything.split("?")[0]], mimetype="text/html",
                        headers={"Content-Encoding": "gzip"})
    return floor.test_client()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        demo_app = demo_trial(folder)
        seeded = time.perf_counter() - started
        empty_app = empty_trial(folder)
        demo_client, empty_client = signed_in(demo_app), signed_in(empty_app)
        for client in (demo_client, empty_client):  # warm imports (the report's scipy) outside the timing
            client.get("/staff/report")
        print(f"demo trial seeded in {seeded:.1f} s (flask demo, in process)")
        print(f"{'page':<30} {'raw KB':>7} {'gzip KB':>8} {'empty ms':>9} {'demo ms':>8} {'floor ms':>9} "
              f"{'demo/empty':>10} {'demo/floor':>10}")
        for path in PAGES:
            empty_ms, _ = measure(empty_client, path, args.runs)
            demo_ms, body = measure(demo_client, path, args.runs)
            raw = gzip.decompress(body) if body[:2] == b"\x1f\x8b" else body
            floor_ms, _ = measure(floor_client({path.split("?")[0]: body if body[:2] == b"\x1f\x8b"
                                                else gzip.compress(body)}), path, args.runs)
            print(f"{path:<30} {len(raw) / 1024:>7.1f} {len(body) / 1024:>8.1f} {empty_ms * 1000:>9.1f} "
                  f"{demo_ms * 1000:>8.1f} {floor_ms * 1000:>9.2f} {demo_ms / empty_ms:>9.1f}x "
                  f"{demo_ms / floor_ms:>9.0f}x")


if __name__ == "__main__":
    main()
