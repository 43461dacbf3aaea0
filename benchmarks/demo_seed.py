"""Time of `flask --app app demo` on an empty database, against a floor for the same rows.

Usage: .venv/bin/python benchmarks/demo_seed.py [--runs 3]

Ours: the command as scripts/demo runs it, as a subprocess on a new, empty database file each
run, so interpreter, Flask and app start-up, the migrations, 203 enrollments through the real
path (one BEGIN IMMEDIATE each), the staff accounts (Argon2id at production cost), the answers,
the settled reminders and their SMS rows, and the three links are all in it.

Floor: the same participant, timepoint, reminder and response rows (read back from the database
our run made, so the same number and sizes), written with plain sqlite-utils ``insert_all`` in
one transaction into a fresh database with the same schema (``storage.init_db``, not timed) and
the same connection settings (WAL, synchronous=FULL). It skips what the demo does besides: the
audit log, link tokens, SMS rows, allocations, validation and scoring. Runs are interleaved, so
a noisy moment hits both. Prints the median and fastest of each and the ratio of medians, with
the start-up of a command that does no work (`flask --app app init-db` on a migrated file) to
show how much of ours is fixed cost.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")
sys.path.insert(0, str(ROOT))

from storage import init_db  # noqa: E402
from storage.connection import open_db  # noqa: E402

FLOOR_TABLES = ("participants", "timepoints", "reminders", "responses")  # in foreign-key order


def timed(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def rows_of(path: Path) -> dict[str, list[dict]]:
    db = open_db(path)
    try:
        return {table: list(db[table].rows) for table in FLOOR_TABLES}
    finally:
        db.close()


def all_counts(path: Path) -> int:
    db = open_db(path)
    try:
        return sum(db[table].count for table in db.table_names() if not table.startswith("_"))
    finally:
        db.close()


def floor(path: Path, rows: dict[str, list[dict]]) -> float:
    init_db(path)
    db = open_db(path)
    try:
        start = time.perf_counter()
        db.conn.execute("BEGIN IMMEDIATE")
        for table in FLOOR_TABLES:
            db[table].insert_all(rows[table])
        db.conn.execute("COMMIT")
        return time.perf_counter() - start
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ours, floors, startup = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        base = {**os.environ, "FLASK_SMS_GATEWAY": "console", "FLASK_SMS_OUTBOX": str(tmp / "outbox.jsonl")}
        base.pop("TWILIO_ACCOUNT_SID", None)
        rows: dict[str, list[dict]] = {}
        for run in range(args.runs):
            path = tmp / f"demo-{run}.sqlite3"
            ours.append(timed([str(FLASK), "--app", "app", "demo"], {**base, "FLASK_DATABASE": str(path)}))
            rows = rows or rows_of(path)
            floors.append(floor(tmp / f"floor-{run}.sqlite3", rows))
            startup.append(timed([str(FLASK), "--app", "app", "init-db"], {**base, "FLASK_DATABASE": str(path)}))
        written = {table: len(found) for table, found in rows.items()}
        everything = all_counts(tmp / "demo-0.sqlite3")
    median_ours, median_floor = statistics.median(ours), statistics.median(floors)
    print("rows: " + ", ".join(f"{table} {n}" for table, n in written.items())
          + f" ({sum(written.values())}; the demo writes {everything} rows in all tables)")
    print(f"{'':<52} {'median s':>9} {'best s':>8}")
    print(f"{'flask --app app demo (empty database)':<52} {median_ours:>9.3f} {min(ours):>8.3f}")
    print(f"{'floor: sqlite-utils insert_all, one transaction':<52} {median_floor:>9.3f} {min(floors):>8.3f}")
    print(f"{'start-up alone: flask --app app init-db (migrated)':<52} {statistics.median(startup):>9.3f} "
          f"{min(startup):>8.3f}")
    print(f"ratio (medians): {median_ours / median_floor:.1f}x over {args.runs} runs each; "
          f"without start-up: {(median_ours - statistics.median(startup)) / median_floor:.1f}x")


if __name__ == "__main__":
    main()
