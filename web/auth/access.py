"""Who the staff user is, idle sign-out, and the role each page needs."""
from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _

from storage import users
from storage.db import parse_utc, utc_iso
from web.context import now
from web.database import get_db
from web.errors import message_page

# Roles allowed on each kind of page. Nurses follow participants up; investigators also enroll
# and read the comparison report; admins also read the audit log and manage staff accounts.
FOLLOW_UP = ("nurse", "investigator", "admin")
ENROLL = ("investigator", "admin")
REPORTS = ("investigator", "admin")
AUDIT = ("admin",)
ACCOUNTS = ("admin",)


def current_user() -> dict | None:
    """The signed-in, active user; signs out a session idle longer than STAFF_IDLE_MINUTES."""
    if "user" in g:
        return g.user
    g.user = None
    user_id, seen = session.get("user_id"), session.get("seen")
    if user_id is None:
        return None
    idle = timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    if seen is None or now() - parse_utc(seen) > idle:
        session.clear()
        session["signed_out_idle"] = True
        return None
    user = users.by_id(get_db(), user_id)
    # Deactivated, or signed out since this cookie was issued (on this device or another one).
    if user is None or not user["active"] or session.get("session_version") != user["session_version"]:
        session.clear()
        return None
    session["seen"] = utc_iso(now())
    g.user = user
    return user


def form_expired(_error):
    """A form without a valid CSRF token. Only staff forms carry one (patient forms and Twilio's
    webhooks are exempt), so this is a staff page."""
    return message_page(400, _("This form has expired"), _(
        "The form was open too long, or did not come from this site, so nothing was changed. "
        "Please go back, reload the page and try again."))


def requires(roles: tuple[str, ...]):
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
            if user["role"] not in roles:
                return message_page(403, _("Not allowed"), _("Your role does not give access to this page."))
            return view(*args, **kwargs)
        return wrapped
    return decorator
