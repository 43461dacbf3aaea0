"""The comparison report (JSON and HTML) at 200, 2,000 and 20,000 participants, beside a floor.

Usage: .venv/bin/python benchmarks/report_scale.py [--sizes 200 2000 20000]

A simulated trial (tests/trial_data.py, with the clinician forms: every instrument scored by the
real code, 90% completion) is built once per size and kept in /tmp/pro-benchmarks. The report is
built as `flask report` builds it: JSON (read, analyse) and HTML (analysis, figures, template).

The floor is the least the same job can cost on this machine: one query that pulls the VAS and
ODI scores of the newest answers into numpy, then scipy's Mann-Whitney for each timepoint and
Friedman for each arm. The report does far more (every table of the paper, normality, effect
sizes, the clinician tables, CONSORT), so its ratio to the floor is what the work costs beyond
the bare statistics. Seconds are the best of three, with nothing tracing; peak MB is the rise of
the resident set during one more run of its own.
"""
from __future__ import annotations

import argparse
import sqlite3
from datetime import datetime, timezone

import numpy as np
from scipy import stats

from _harness import HEADER, SIZES, line, peak_mb, seconds, trial_database
from app import create_app
from web import report as report_view

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def floor(path) -> None:
    connection = sqlite3.connect(path)
    rows = connection.execute(
        "SELECT p.arm, n.timepoint, n.participant_id, n.vas_cm, n.odi_score FROM newest_answers n "
        "JOIN participants p ON p.id = n.participant_id WHERE n.instrument IN ('vas', 'odi')").fetchall()
    connection.close()
    arm = np.array([r[0] for r in rows])
    timepoint = np.array([r[1] for r in rows])
    person = np.array([r[2] for r in rows])
    for column in (3, 4):
        value = np.array([r[column] for r in rows], dtype=float)
        present = ~np.isnan(value)
        timepoints = sorted(set(timepoint[present]))
        for tp in timepoints:
            at = present & (timepoint == tp)
            stats.mannwhitneyu(value[at & (arm == "A")], value[at & (arm == "B")])
        for code in ("A", "B"):
            mine = present & (arm == code)
            columns = []
            for tp in timepoints:
                at = mine & (timepoint == tp)
                columns.append(dict(zip(person[at].tolist(), value[at].tolist())))
            complete = sorted(set.intersection(*(set(c) for c in columns)))
            stats.friedmanchisquare(*([c[p] for p in complete] for c in columns))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    print(HEADER)
    for size in args.sizes:
        path = trial_database(size, clinical=True)
        app = create_app({"DATABASE": str(path), "TESTING": True, "CLOCK": lambda: NOW})
        with app.app_context():
            report_view.build()     # warm the imports (scipy, statsmodels) outside the timing
            floor(path)
            floor_s, floor_peak = seconds(lambda: floor(path), 3), peak_mb(lambda: floor(path))
            json_s = seconds(lambda: report_view.as_json(report_view.build()[0]), 3)
            json_peak = peak_mb(lambda: report_view.as_json(report_view.build()[0]))
            html_s = seconds(lambda: report_view.as_html(*report_view.build()), 3)
            html_peak = peak_mb(lambda: report_view.as_html(*report_view.build()))
        print(line("report, JSON", size, json_s, json_peak, floor_s, floor_peak))
        print(line("report, HTML", size, html_s, html_peak, floor_s, floor_peak))


if __name__ == "__main__":
    main()
