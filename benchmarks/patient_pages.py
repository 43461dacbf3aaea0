"""Weight of every patient page, and how long a form takes to render and to accept.

Usage: .venv/bin/python benchmarks/patient_pages.py [--runs 200]

Prints, per page, the bytes of the whole page as delivered (HTML with its inline CSS and JS:
there are no other requests) raw and gzip-compressed, whether it fits the first TCP round trip
(10 segments of 1,460 bytes = 14,600 bytes; the target is under 14 KB = 14,336 bytes), any
third-party reference; then the service worker a form page installs (/f/sw.js, its own request),
and the ODI page with the worker against the 14 KB budget (each gzip-compressed, as each is sent;
benchmarks/offline.py times a form kept offline in a browser); then the median and 95th percentile time to render a form (GET) and to
accept a submission (POST, through to the committed write) with the Flask test client on a real
SQLite file. Times depend on the machine; the bytes do not.
"""
from __future__ import annotations

import argparse
import gzip
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import create_app  # noqa: E402
from services import enrollment, links  # noqa: E402
from storage import init_db  # noqa: E402
from storage.connection import open_db  # noqa: E402

FIRST_ROUND_TRIP_BYTES = 14 * 1024
NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
THIRD_PARTY = re.compile(r"""(?:src|href|url)\s*[=(]\s*["']?(?:https?:)?//""", re.I)


def setup(db_path: Path):
    init_db(db_path)
    app = create_app({"DATABASE": str(db_path), "CLOCK": lambda: NOW, "TESTING": True})
    return app


def enroll(app, study_id: str, days_before: int) -> None:
    protocol = app.extensions["protocol"]
    clean = enrollment.validate_enrollment(
        protocol, ["en"], study_id=study_id, arm="A", phone=None, timezone="UTC", language="en",
        procedure_date=(NOW - timedelta(days=days_before)).date())
    db = open_db(app.config["DATABASE"])
    try:
        enrollment.enroll(db, protocol, clean, actor="bench", now=NOW)
    finally:
        db.close()


def link(app, study_id: str, timepoint: str) -> str:
    db = open_db(app.config["DATABASE"])
    try:
        return links.issue_link(db, study_id, timepoint, actor="bench", now=NOW)[0]
    finally:
        db.close()


def weigh(name: str, body: bytes) -> int:
    packed = len(gzip.compress(body, compresslevel=6))
    fits = "yes" if packed < FIRST_ROUND_TRIP_BYTES else "NO"
    third = "none" if not THIRD_PARTY.search(body.decode()) else "FOUND"
    print(f"{name:<28} {len(body):>8,} {packed:>8,}   {fits:<5} {third}")
    return packed


def timed(fn, runs: int) -> tuple[float, float]:
    samples = []
    for i in range(runs):
        start = time.perf_counter()
        fn(i)
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        app = setup(Path(tmp) / "bench.sqlite3")
        client = app.test_client()
        enroll(app, "W-1", 30)
        token = link(app, "W-1", "month1")
        print(f"{'page':<28} {'raw B':>8} {'gzip B':>8}   <14KB  third-party")
        packed = {instrument: weigh(f"form: {instrument}", client.get(f"/f/{token}/{instrument}").data)
                  for instrument in ("vas", "odi", "satisfaction", "medication")}
        worker = weigh("service worker (/f/sw.js)", client.get("/f/sw.js").data)
        with_worker = packed["odi"] + worker
        print(f"{'form: odi + worker':<28} {'':>8} {with_worker:>8,}   "
              f"{'yes' if with_worker <= FIRST_ROUND_TRIP_BYTES else 'NO':<5} (budget {FIRST_ROUND_TRIP_BYTES:,} B)")
        client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "40"})
        client.post(f"/f/{token}/odi", data={"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11)}})
        weigh("review: odi", client.get(f"/f/{token}/odi").data)
        weigh("error: satisfaction, blank", client.post(f"/f/{token}/satisfaction", data={"version": "1.0"}).data)
        client.post(f"/f/{token}/satisfaction", data={"version": "1.0", "sat_procedure": "3", "sat_results": "3"})
        client.post(f"/f/{token}/medication", data={"version": "1.0", "took_any": "no"})
        weigh("thank-you", client.get(f"/f/{token}").data)
        weigh("unknown link (404)", client.get("/f/AAAAAAAAAAAAAAAAAAAAAAAA").data)

        print(f"\n{'operation':<40} {'median ms':>10} {'p95 ms':>8}   (runs={args.runs})")
        for instrument in ("vas", "odi"):
            median, p95 = timed(lambda i, inst=instrument: client.get(f"/f/{token}/{inst}"), args.runs)
            print(f"{'render review: ' + instrument:<40} {median:>10.2f} {p95:>8.2f}")
        tokens = []
        for i in range(args.runs):
            enroll(app, f"T-{i}", 0)
            tokens.append(link(app, f"T-{i}", "baseline"))
        median, p95 = timed(lambda i: client.get(f"/f/{tokens[i]}/odi"), args.runs)
        print(f"{'render form: odi (60 statements)':<40} {median:>10.2f} {p95:>8.2f}")
        median, p95 = timed(lambda i: client.get(f"/f/{tokens[i]}/vas"), args.runs)
        print(f"{'render form: vas':<40} {median:>10.2f} {p95:>8.2f}")
        median, p95 = timed(lambda i: client.post(f"/f/{tokens[i]}/vas",
                                                  data={"version": "1.0", "mode": "line", "vas_mm": str(i % 101)}),
                            args.runs)
        print(f"{'accept submission: vas (fsync commit)':<40} {median:>10.2f} {p95:>8.2f}")
        odi = {"version": "2.1a", **{f"odi_{n}": str(n % 6) for n in range(1, 11)}}
        median, p95 = timed(lambda i: client.post(f"/f/{tokens[i]}/odi", data=odi), args.runs)
        print(f"{'accept submission: odi (fsync commit)':<40} {median:>10.2f} {p95:>8.2f}")


if __name__ == "__main__":
    main()
