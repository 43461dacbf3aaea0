"""The accounts page (admins): every staff account; create one, deactivate or reactivate it,
change its role, issue a one-time password link. Every change needs a reason and is audited
(services.account_admin).

A password link is shown once: the action stores it in the admin's session and redirects, and
the next view of this page takes it out of the session as it shows it. Only the hash of its
token is kept anywhere else.
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, session, url_for
from flask_babel import gettext as _

from services import account_admin
from services.accounts import AccountError
from services.password_links import LINK_LIFETIME, IssuedLink
from storage.db import utc_iso
from web.auth.access import ACCOUNTS, current_user, requires
from web.context import now
from web.database import get_db
from web.labels import words
from web.staff import account_forms as forms
from web.staff.blueprint import actor, bp

SHOWN_ONCE = "password_link"    # the session key of a link waiting to be shown


def password_link_url(token: str) -> str:
    """A password link in full, on this deployment's public address (FLASK_BASE_URL)."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for("auth.password", token=token)


# Each account's forms on the page, by the action's name in ``failed``.
ROW_FORMS = {"role": forms.RoleForm, "link": forms.PasswordLinkForm, "active": forms.ActiveForm}


def _page(status: int = 200, errors: dict | None = None, failed: tuple[str, str] | None = None):
    """The page; ``failed`` is the (action, email) of the form sent with ``errors``: that form is
    opened with what was typed in it, every other one is empty."""
    def form(action: str, email: str, **defaults):
        sent = failed == (action, email)
        return ROW_FORMS.get(action, forms.CreateAccountForm)(**({} if sent else {"formdata": None}), **defaults)

    def row(user: dict) -> dict:
        forms_of = {action: form(action, user["email"], **({"role": user["role"]} if action == "role" else {}))
                    for action in ROW_FORMS}
        forms_of["active"].active.data = "no" if user["active"] else "yes"    # what its button does, whatever was sent
        return {**user, "forms": forms_of}

    rows = [row(user) for user in account_admin.listing(get_db(), now=now())]
    return render_template("staff/accounts.html", rows=rows, me=current_user(), create=form("create", ""),
                           errors=errors or {}, failed=failed, shown=session.pop(SHOWN_ONCE, None),
                           link_hours=int(LINK_LIFETIME.total_seconds() // 3600)), status


def _problems(form) -> dict[str, str]:
    return {name: "; ".join(map(str, messages)) for name, messages in form.errors.items()}


def _show_once(issued: IssuedLink) -> None:
    session[SHOWN_ONCE] = {"email": issued.email, "url": password_link_url(issued.token),
                           "expires_at": utc_iso(issued.expires_at)}


@bp.get("/accounts")
@requires(ACCOUNTS)
def accounts():
    return _page()


@bp.post("/accounts")
@requires(ACCOUNTS)
def create_account():
    form = forms.CreateAccountForm()
    if not form.validate_on_submit():
        return _page(400, _problems(form), ("create", ""))
    try:
        issued = account_admin.create(get_db(), email=form.email.data, role=form.role.data, reason=form.reason.data,
                                      actor=actor(), now=now())
    except AccountError as exc:
        return _page(400, {exc.field: str(exc)}, ("create", ""))
    _show_once(issued)
    flash(_("Account %(email)s created. Its user sets a password on the link below.", email=issued.email), "success")
    return redirect(url_for(".accounts"), 303)


def _act(form_class, action: str, change):
    """An action on one account: a valid form, then ``change(form)``, which returns the message to
    show, or raises AccountError, shown on the page with nothing changed. An admin who has just
    taken their own admin role away goes to the board (this page is no longer theirs)."""
    form = form_class()
    email = (form.email.data or "").strip().lower()
    if not form.validate_on_submit():
        return _page(400, _problems(form), (action, email))
    me = actor()
    try:
        done = change(form)
    except AccountError as exc:
        return _page(400, {exc.field: str(exc)}, (action, email))
    flash(done, "success")
    still_admin = email != me or account_admin.is_active_admin(get_db(), me)
    return redirect(url_for(".accounts" if still_admin else ".dashboard"), 303)


@bp.post("/accounts/active")
@requires(ACCOUNTS)
def account_active():
    def change(form):
        if form.active.data not in ("yes", "no"):
            raise AccountError(_("Choose deactivate or reactivate."))
        active = form.active.data == "yes"
        account_admin.set_active(get_db(), email=form.email.data, active=active, reason=form.reason.data,
                                 actor=actor(), now=now())
        email = form.email.data.strip().lower()
        return _("%(email)s reactivated.", email=email) if active else _(
            "%(email)s deactivated: signed out everywhere, and any password link voided.", email=email)
    return _act(forms.ActiveForm, "active", change)


@bp.post("/accounts/role")
@requires(ACCOUNTS)
def account_role():
    def change(form):
        account_admin.change_role(get_db(), email=form.email.data, role=form.role.data, reason=form.reason.data,
                                  actor=actor(), now=now())
        return _("%(email)s is now: %(role)s.", email=form.email.data.strip().lower(), role=words(form.role.data))
    return _act(forms.RoleForm, "role", change)


@bp.post("/accounts/password-link")
@requires(ACCOUNTS)
def account_password_link():
    def change(form):
        issued = account_admin.issue_password_link(get_db(), email=form.email.data, reason=form.reason.data,
                                                   actor=actor(), now=now())
        _show_once(issued)
        return _("Password link issued for %(email)s; any older one no longer works.", email=issued.email)
    return _act(forms.PasswordLinkForm, "link", change)
