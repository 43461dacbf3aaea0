"""The report as JSON or as an HTML document (A4 print stylesheet, inline SVG figure)."""
from __future__ import annotations

import json

from flask import render_template

from reports import figures, trial_report
from web.context import now, protocol
from web.database import get_db


def build():
    return trial_report.build(get_db(), protocol(), now())


def as_json(report: dict) -> str:
    # allow_nan=False: a NaN must never reach a statistician as a number.
    return json.dumps(report, indent=2, allow_nan=False)


def as_html(report: dict, observations, links: dict[str, str] | None = None) -> str:
    """``links``: label -> URL shown above the report on the staff page (not in downloads)."""
    arms = [arm.label for arm in protocol().arms]
    series = trial_report.figure_series(observations, protocol())
    svg = {}
    for variable, (title, unit) in {"vas": ("VAS", "cm"), "odi": ("ODI", "%")}.items():
        if any(values for _, per_arm in series[variable] for values in per_arm):
            svg[variable] = figures.boxplot_svg(f"{title} by timepoint", f"{title} ({unit})", series[variable], arms)
    return render_template("report/report.html", report=report, figures=svg, arms=protocol().arms,
                           links=links or {})
