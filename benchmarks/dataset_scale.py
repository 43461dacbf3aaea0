"""Export of 20,000 participants x 6 timepoints in each format, and import of the long CSV.

Usage: .venv/bin/python benchmarks/dataset_scale.py [--participants 20000]

A simulated trial (tests/trial_data.py) is written once; each export, and the import into an
empty database, then runs in a child process of its own so its peak memory (max RSS of that
process, and tracemalloc's peak of Python allocations) is its own. Prints seconds, rows, MB.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from services import dataset as dataset_service  # noqa: E402
from storage import init_db  # noqa: E402
from storage.connection import open_db  # noqa: E402

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def child(operation: str, database: str, target: str) -> None:
    app = create_app({"DATABASE": database, "TESTING": True})
    db = open_db(database)
    tracemalloc.start()
    start = time.perf_counter()
    if operation == "import":
        count = dataset_service.import_dataset(db, app.extensions["protocol"], Path(target).read_bytes(),
                                               actor="bench", now=NOW)["answers_stored"]
    else:
        count = dataset_service.export_dataset(db, app.extensions["protocol"], operation, Path(target),
                                               actor="bench", now=NOW)
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    db.close()
    print(json.dumps({"seconds": elapsed, "count": count, "heap_mb": peak / 1e6,
                      "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                      "bytes": Path(target).stat().st_size}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--participants", type=int, default=20_000)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from tests.trial_data import populate

    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "trial.sqlite3"
        init_db(source)
        populate(source, create_app({"DATABASE": str(source), "TESTING": True}).extensions["protocol"],
                 per_arm=args.participants // 2, seed=7)
        print(f"{args.participants:,} participants x 6 timepoints")
        print(f"{'operation':<14} {'seconds':>8} {'rows':>9} {'file MB':>8} {'heap MB':>8} {'max RSS MB':>10}")
        runs = [(fmt, str(source), str(Path(tmp) / f"out.{fmt}")) for fmt in ("csv", "wide-csv", "xlsx", "sav")]
        empty = Path(tmp) / "empty.sqlite3"
        init_db(empty)
        runs.append(("import", str(empty), str(Path(tmp) / "out.csv")))
        for operation, database, target in runs:
            output = subprocess.run([sys.executable, __file__, "--child", operation, database, target],
                                    capture_output=True, text=True, check=True).stdout
            r = json.loads(output.strip().splitlines()[-1])
            label = "import csv" if operation == "import" else f"export {operation}"
            print(f"{label:<14} {r['seconds']:>8.1f} {r['count']:>9,} {r['bytes'] / 1e6:>8.1f} {r['heap_mb']:>8.1f} "
                  f"{r['rss_mb']:>10.0f}")


if __name__ == "__main__":
    main()
