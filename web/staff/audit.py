"""The audit log (administrators): who changed what, when and why; filtered, paged, and each
change shown field by field."""
from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta

from flask import render_template, request
from flask_babel import gettext as _

from questionnaires import N_
from storage.audit import ACTIONS
from storage.audit import search as audit_search
from web.auth.access import AUDIT, requires
from web.database import get_db
from web.labels import language, timepoint, words
from web.staff import forms
from web.staff.blueprint import bp, local_time, site_zone

PAGE_SIZE = 50
DATE_MESSAGE = N_("Write the date as year-month-day, e.g. 2026-03-02.")
# A filter's days are held to these: wider than any trial, and clear of the calendar's ends, where
# the site's midnight after 9999-12-31 (or before 0001-01-01, east of UTC) cannot be written.
EARLIEST_DAY, LATEST_DAY = date(1900, 1, 1), date(9000, 12, 31)
MAX_PAGE = 10**9   # far past any last page; its offset stays within SQLite's 64-bit integers


def _day(text: str, field: str, errors: dict[str, str]) -> date | None:
    if not text:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        errors[field] = _(DATE_MESSAGE)
        return None
    return min(max(day, EARLIEST_DAY), LATEST_DAY)


# Fields whose values are codes, shown as words ("will_complete" -> "Will complete").
CODE_FIELDS = {"kind", "outcome", "allocation", "status", "role", "source", "format", "event", "guidance", "sex",
               "serious", "related", "si_side", "contrast_extravasation", "root_l3", "root_l4", "root_l5",
               "injected_l3", "injected_l4", "injected_l5", "form"}


def _shown(key: str, value) -> str:
    if value is None:
        return _("(none)")
    if key == "timepoint":
        return timepoint(value)
    if key == "language":
        return language(value)
    if key in CODE_FIELDS and isinstance(value, str):
        return words(value)
    if key.endswith("_at") and isinstance(value, str):
        return local_time(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (dict, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def diff(before: str | None, after: str | None) -> list[dict]:
    """Field by field: what each field was and became (either side may be missing)."""
    old = json.loads(before) if before else {}
    new = json.loads(after) if after else {}
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [{"field": _("value"), "before": _shown("", old or None), "after": _shown("", new or None)}]
    changes = []
    for key in sorted(set(old) | set(new)):
        if key not in old and new[key] is None:
            continue  # a new record's empty field says nothing
        change = {"field": words(key)}
        if key in old:
            change["before"] = _shown(key, old[key])
        if key in new:
            change["after"] = _shown(key, new[key])
        if change.get("before") != change.get("after"):
            changes.append(change)
    return changes


@bp.get("/audit")
@requires(AUDIT)
def audit():
    form = forms.AuditFilterForm(request.args)
    form.action.choices = [forms.SelectChoice("", _("(any)"))] + [
        forms.SelectChoice(code, label) for code, label in sorted(ACTIONS.items(), key=lambda item: item[1])]
    errors: dict[str, str] = {}
    if request.args.get("action") and request.args["action"] not in ACTIONS:
        errors["action"] = _("Choose an action from the list.")
    since = _day(request.args.get("since", ""), "since", errors)
    until = _day(request.args.get("until", ""), "until", errors)
    try:
        page = min(max(1, int(request.args.get("page", "1"))), MAX_PAGE)
    except ValueError:
        page = 1
    rows, more = [], False
    if not errors:
        zone = site_zone()
        found = audit_search(
            get_db(), actor=(request.args.get("actor") or "").strip() or None,
            action=request.args.get("action") or None, entity_id=(request.args.get("entity_id") or "").strip() or None,
            since=datetime.combine(since, time(0), tzinfo=zone) if since else None,
            until=datetime.combine(until + timedelta(days=1), time(0), tzinfo=zone) if until else None,
            limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE)
        more, rows = len(found) > PAGE_SIZE, found[:PAGE_SIZE]
    args = {key: value for key, value in request.args.items() if key != "page" and value}
    return render_template("staff/audit.html", form=form, rows=rows, errors=errors, diff=diff, page=page,
                           more=more, args=args, zone=site_zone().key), 400 if errors else 200
