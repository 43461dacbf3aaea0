"""The report as JSON or as an HTML document (A4 print stylesheet, inline SVG figure)."""
from __future__ import annotations

import json

from flask import render_template
from flask_babel import gettext as _

from questionnaires import N_
from reports import figures, trial_report
from web.context import now, protocol
from web.database import get_db


def build():
    return trial_report.build(get_db(), protocol(), now())


def as_json(report: dict) -> str:
    # allow_nan=False: a NaN must never reach a statistician as a number.
    return json.dumps(report, indent=2, allow_nan=False)


# Why a row has no p, for each kind of value: (none at all, none in an arm, one in an arm, all the
# same). Whole sentences, for translators.
NO_P = {
    "answer": (N_("No answers yet."), N_("No answers yet in arm %(arm)s."),
               N_("Only one answer so far in arm %(arm)s: too few to compare."),
               N_("Every answer is the same, so the arms cannot be told apart.")),
    "record": (N_("No records yet."), N_("No records yet in arm %(arm)s."),
               N_("Only one record so far in arm %(arm)s: too few to compare."),
               N_("Every record is the same, so the arms cannot be told apart.")),
}


def plain_note(entry: dict, noun: str = "answer") -> str | None:
    """Why a row of the between-arm table has no p, said once, in plain words; None when it has one.
    ``noun``: what a value is, "answer" (the patients') or "record" (the clinicians' forms)."""
    if entry.get("p") is not None:
        return None
    none, none_in_arm, one_in_arm, all_same = NO_P[noun]
    arm_a, arm_b = protocol().arms[0].code, protocol().arms[1].code
    n_a, n_b = entry[arm_a]["n"], entry[arm_b]["n"]
    if n_a == 0 and n_b == 0:
        return _(none)
    for arm, n in ((arm_a, n_a), (arm_b, n_b)):
        if n == 0:
            return _(none_in_arm, arm=arm)
    for arm, n in ((arm_a, n_a), (arm_b, n_b)):
        if n < 2:
            return _(one_in_arm, arm=arm)
    return _(all_same)


def as_html(report: dict, observations, links: dict[str, str] | None = None, page: bool = False) -> str:
    """The report as a document to keep (``page`` False), or as the staff page, inside the staff
    menu with ``links`` (label -> URL) to its downloads. Either is in the staff language (the
    CLI's file too: web.i18n.select_locale)."""
    arms = [arm.label for arm in protocol().arms]
    series = trial_report.figure_series(observations, protocol())
    svg = {}
    for variable, (title, unit) in {"vas": ("VAS", "cm"), "odi": ("ODI", "%")}.items():
        if any(values for _, per_arm in series[variable] for values in per_arm):
            svg[variable] = figures.boxplot_svg(_("%(measure)s by timepoint", measure=title), f"{title} ({unit})",
                                                series[variable], arms)
    return render_template("staff/report.html" if page else "report/report.html", report=report, figures=svg,
                           arms=protocol().arms, links=links or {}, plain_note=plain_note,
                           labels={tp.id: tp.label for tp in protocol().timepoints})
