"""The comparison report (JSON and HTML) for 200, 2,000 and 20,000 participants.

Usage: .venv/bin/python benchmarks/report_scale.py [--sizes 200 2000 20000]

A simulated trial (tests/trial_data.py: every instrument scored by the real code, 90% completion)
is written to a SQLite file; then the report is built from it as `flask report` builds it.
Prints seconds and peak Python heap (tracemalloc) for: reading and analysing (JSON), and for the
HTML (analysis plus figures and template). Growth is read off successive rows.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from storage import init_db  # noqa: E402
from tests.trial_data import populate  # noqa: E402
from web import report as report_view  # noqa: E402


def measure(fn):
    tracemalloc.start()
    start = time.perf_counter()
    result = fn()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, elapsed, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 2000, 20000])
    args = parser.parse_args()
    print(f"{'participants':>12} {'json s':>8} {'json MB':>8} {'html s':>8} {'html MB':>8} {'json KB':>8} {'html KB':>8}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "report.sqlite3"
            init_db(path)
            app = create_app({"DATABASE": str(path), "TESTING": True})
            populate(path, app.extensions["protocol"], per_arm=size // 2, seed=size)
            with app.app_context():
                report_view.build()  # warm imports (scipy, statsmodels) outside the timing
                (data, _), json_s, json_peak = measure(lambda: report_view.build())
                text = report_view.as_json(data)
                html, html_s, html_peak = measure(lambda: report_view.as_html(*report_view.build()))
            print(f"{size:>12,} {json_s:>8.2f} {json_peak / 1e6:>8.1f} {html_s:>8.2f} {html_peak / 1e6:>8.1f} "
                  f"{len(text) / 1e3:>8.0f} {len(html) / 1e3:>8.0f}")


if __name__ == "__main__":
    main()
