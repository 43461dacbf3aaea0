"""The audit log (administrators): who changed what, when and why, filtered."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from flask import render_template, request

from storage.audit import search as audit_search
from web.auth.access import AUDIT, requires
from web.database import get_db
from web.staff import forms
from web.staff.blueprint import bp

AUDIT_PAGE_SIZE = 200


@bp.get("/audit")
@requires(AUDIT)
def audit():
    form = forms.AuditFilterForm(request.args)
    valid = form.validate()
    since = until = None
    if valid and form.since.data:
        since = datetime.combine(form.since.data, time(0), tzinfo=timezone.utc)
    if valid and form.until.data:
        until = datetime.combine(form.until.data + timedelta(days=1), time(0), tzinfo=timezone.utc)
    rows = audit_search(get_db(), actor=form.actor.data or None, action=form.action.data or None,
                        entity_id=form.entity_id.data or None, since=since, until=until,
                        limit=AUDIT_PAGE_SIZE) if valid else []
    return render_template("staff/audit.html", form=form, rows=rows, limit=AUDIT_PAGE_SIZE), 200 if valid else 400


