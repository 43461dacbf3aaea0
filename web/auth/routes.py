"""Staff sign-in and sign-out."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from questionnaires import N_
from services import accounts
from storage.db import utc_iso
from web.auth.access import current_user
from web.context import now
from web.database import get_db

bp = Blueprint("auth", __name__, url_prefix="/staff")

# Marked here, translated when shown (in the staff language).
WRONG = N_("Email or password is incorrect.")
LIMITED = N_("Too many attempts. Please wait 15 minutes and try again.")


class LoginForm(FlaskForm):
    # The page labels these fields itself (templates/staff/login.html).
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=1024)])


@bp.route("/login", methods=["GET", "POST"])
def login():
    form = LoginForm()
    idle = session.pop("signed_out_idle", None)
    notice = _("You were signed out after a period without activity.") if idle else None
    error = None
    if form.validate_on_submit():
        outcome = accounts.authenticate(get_db(), email=form.email.data, password=form.password.data,
                                        ip=request.remote_addr, now=now())
        if outcome.outcome == accounts.OK:
            session.clear()
            session.permanent = True
            session["user_id"] = outcome.user["id"]
            session["session_version"] = outcome.user["session_version"]
            session["seen"] = utc_iso(now())
            return redirect(_safe_next(request.args.get("next")), 303)
        error = LIMITED if outcome.outcome == accounts.LIMITED else WRONG
    elif request.method == "POST":
        error = WRONG
    status = 401 if error else 200
    return render_template("staff/login.html", form=form, error=_(error) if error else None, notice=notice), status


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if target and target.startswith("/staff") and not urlsplit(target).netloc and not target.startswith("//"):
        return target
    return url_for("staff.dashboard")


@bp.post("/logout")
def logout():
    user = current_user()
    if user is not None:
        accounts.sign_out(get_db(), user, now=now())
    session.clear()
    return redirect(url_for("auth.login"), 303)


@bp.app_context_processor
def user_in_templates():
    return {"current_user": current_user}
