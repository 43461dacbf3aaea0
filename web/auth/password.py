"""The one-time password link (services.password_links): no sign-in; the user sets a password.

A link that cannot be used (used, expired, voided, unknown) shows a page that says which, and
what to do, and changes nothing. Its page answers 200, as a page about the link, and a form sent
on such a link is sent back to that page (303). The token is in the path, so the logs hide it
as they hide a patient link's (scheduler.links.redact).
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired

from services import password_links
from services.accounts import AccountError
from services.password_policy import MIN_LENGTH
from web.auth.routes import bp
from web.context import now
from web.database import get_db


class SetPasswordForm(FlaskForm):
    # The page labels these fields itself (templates/staff/accounts_password.html). Lengths and
    # the rest are services.password_policy's, each with its own reason.
    password = PasswordField("New password", validators=[DataRequired()])
    confirm = PasswordField("New password again", validators=[DataRequired()])


def _ended(state: str) -> tuple[str, str]:
    """The title and words of the page for a link that cannot be used."""
    pages = {
        password_links.USED: (_("This link has been used"), _(
            "A password link works once, and this one has set a password already. If that was not you, "
            "tell an admin at once. An admin can give you a new link.")),
        password_links.EXPIRED: (_("This link has expired"), _(
            "A password link works for %(hours)s hours. Ask an admin for a new one.",
            hours=int(password_links.LINK_LIFETIME.total_seconds() // 3600))),
        password_links.VOIDED: (_("This link no longer works"), _(
            "A newer link was issued for this account, or the account was deactivated. Use the newest link you "
            "were given, or ask an admin.")),
    }
    return pages.get(state, (_("Link not recognised"), _(
        "Please check that the whole link was copied, or ask an admin for a new one.")))


def _form_page(form: SetPasswordForm, link: dict, errors: dict, status: int = 200):
    return render_template("staff/accounts_password.html", form=form, email=link["email"], errors=errors,
                           min_length=MIN_LENGTH, ended=None), status


@bp.route("/password/<token>", methods=["GET", "POST"])
def password(token: str):
    form = SetPasswordForm()
    opened = password_links.opened(get_db(), token, now=now())
    if opened.state != password_links.OPEN:
        if form.is_submitted():
            return redirect(url_for(".password", token=token), 303)
        title, message = _ended(opened.state)
        return render_template("staff/accounts_password.html", ended={"title": title, "message": message})
    if not form.is_submitted():
        return _form_page(form, opened.link, {})
    if not form.validate():
        return _form_page(form, opened.link, {name: "; ".join(map(str, messages))
                                              for name, messages in form.errors.items()}, 400)
    try:
        password_links.set_password(get_db(), token, password=form.password.data, confirm=form.confirm.data,
                                    now=now())
    except password_links.LinkEnded:
        return redirect(url_for(".password", token=token), 303)
    except AccountError as exc:
        return _form_page(form, opened.link, {exc.field: str(exc)}, 400)
    flash(_("Your password is set, and any other session of yours has ended. Sign in with it now."), "success")
    return redirect(url_for(".login"), 303)
