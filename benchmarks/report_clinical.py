"""What the clinician tables add to the report: 20,000 participants with and without clinician forms.

Usage: .venv/bin/python benchmarks/report_clinical.py [--size 20000] [--repeat 3]

Two SQLite files hold the same simulated trial (tests/trial_data.py, same seed, so the same answers);
the second also holds every participant's baseline and procedure records and a few adverse events
(about 41,000 form rows for 20,000 participants). The report is built from each as `flask report`
builds it, in the same run: reading and analysing (JSON), and the HTML (analysis, figures, template).
Prints the best of --repeat runs in seconds for each, the seconds the clinician data add, and the ratio.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app import create_app  # noqa: E402
from storage import init_db  # noqa: E402
from tests.trial_data import populate  # noqa: E402
from web import report as report_view  # noqa: E402


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def timings(path: Path, size: int, clinical: bool, repeat: int) -> tuple[float, float]:
    init_db(path)
    app = create_app({"DATABASE": str(path), "TESTING": True})
    populate(path, app.extensions["protocol"], per_arm=size // 2, seed=size, clinical=clinical)
    with app.app_context(), app.test_request_context():
        report_view.build()  # warm imports (scipy, statsmodels) and SQLite's cache outside the timing
        json_s = best_of(repeat, lambda: report_view.as_json(report_view.build()[0]))
        html_s = best_of(repeat, lambda: report_view.as_html(*report_view.build()))
    return json_s, html_s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=20000, help="participants, half in each arm")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        without = timings(Path(tmp) / "without.sqlite3", args.size, False, args.repeat)
        with_forms = timings(Path(tmp) / "with.sqlite3", args.size, True, args.repeat)
    print(f"{args.size:,} participants, best of {args.repeat}")
    print(f"{'':>6} {'without s':>10} {'with s':>8} {'added s':>8} {'ratio':>6}")
    for label, a, b in (("json", without[0], with_forms[0]), ("html", without[1], with_forms[1])):
        print(f"{label:>6} {a:>10.2f} {b:>8.2f} {b - a:>8.2f} {b / a:>6.2f}")


if __name__ == "__main__":
    main()
