"""The inbox: patients' SMS replies that are not STOP, START or HELP, until a nurse marks them handled."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from services import messaging
from storage import messages
from web.auth.access import FOLLOW_UP, requires
from web.context import now
from web.database import get_db
from web.staff.blueprint import actor, bp

PAGE_SIZE = 50


class HandledForm(FlaskForm):
    """Only the CSRF token: the reply is named in the URL."""


@bp.get("/inbox")
@requires(FOLLOW_UP)
def inbox():
    handled = request.args.get("show") == "handled"
    replies = messages.inbox(get_db(), handled=handled, limit=PAGE_SIZE)
    return render_template("staff/inbox.html", replies=replies, handled=handled, form=HandledForm(),
                           page_size=PAGE_SIZE)


@bp.post("/inbox/<int:message_id>/handled")
@requires(FOLLOW_UP)
def reply_handled(message_id: int):
    form = HandledForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = messaging.mark_handled(get_db(), message_id, actor=actor(), now=now())
    except LookupError:
        abort(404)
    flash(_("Reply marked handled.") if changed else _("That reply was already marked handled."), "success")
    back = request.form.get("back", "")
    # Back to the participant's page when marked there; never to another site.
    if back.startswith("/staff/") and "//" not in back:
        return redirect(back, 303)
    return redirect(url_for(".inbox"), 303)
