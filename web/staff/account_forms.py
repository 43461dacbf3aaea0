"""The accounts page's forms (admins). Each carries a CSRF token.

A form about one account names it by email (a hidden field); the role is a free choice here and
checked by services.accounts, so a role that does not exist gets its own clear refusal. Labels
are lazy, read in the staff language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from services.accounts import MAX_EMAIL_LENGTH, ROLES
from services.free_text import MAX_REASON_LENGTH
from web.labels import words


# Lazy words (web.labels), read in the staff language when the page is shown.
ROLE_CHOICES = [SelectChoice(role, words(role)) for role in ROLES]


class CreateAccountForm(FlaskForm):
    email = EmailField(_("Email"), validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)],
                       render_kw={"autocomplete": "off"})
    role = SelectField(_("Role"), choices=ROLE_CHOICES, validate_choice=False)
    reason = TextAreaField(_("Why"), validators=[DataRequired(), Length(max=MAX_REASON_LENGTH)])


class AccountForm(FlaskForm):
    """An action on one account: which one, and why."""

    email = HiddenField(validators=[DataRequired(), Length(max=MAX_EMAIL_LENGTH)])
    reason = TextAreaField(_("Why"), validators=[DataRequired(), Length(max=MAX_REASON_LENGTH)])


class ActiveForm(AccountForm):
    active = HiddenField(validators=[DataRequired()])      # "yes" to reactivate, "no" to deactivate


class RoleForm(AccountForm):
    role = SelectField(_("New role"), choices=ROLE_CHOICES, validate_choice=False)


class PasswordLinkForm(AccountForm):
    pass
