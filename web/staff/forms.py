"""Staff forms. Every one carries a CSRF token (Flask-WTF); participant action forms also carry
the study ID they were rendered for, which must match the page's URL.

Labels are lazy (``_`` is ``lazy_gettext`` here): made at import, read in the staff language."""
from __future__ import annotations

import math
import sys
from functools import cache
from zoneinfo import available_timezones

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import html_params

from services.participant_admin import CONTACT_KINDS, CONTACT_OUTCOMES
from web.labels import words

DATE_PLACEHOLDER = _("YYYY-MM-DD")


def _choices(values):
    return [SelectChoice(value, words(value)) for value in values]


SKIPPED_ZONE_PREFIXES = ("Etc/", "SystemV/", "US/", "posix/", "right/")


@cache
def _zone_options(other: str) -> str:
    """Every IANA zone as <option>s grouped by region, rendered once (per name of the ``other``
    group): WTForms' own widget takes some 15 ms a page for six hundred options, on every page
    that shows a zone."""
    groups: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(SKIPPED_ZONE_PREFIXES):
            continue
        region, place = name.split("/", 1)
        groups.setdefault(region, []).append(f'<option value="{escape(name)}">{escape(place.replace("_", " "))}</option>')
    groups[other] = ['<option value="UTC">UTC</option>']
    return "".join(f'<optgroup label="{escape(region)}">{"".join(options)}</optgroup>'
                   for region, options in groups.items())


class ZoneSelect:
    """A select of every time zone, the field's value selected."""

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        chosen = f'value="{escape(field.data or "")}"'
        options = _zone_options(str(_("Other"))).replace(chosen + ">", chosen + " selected>", 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class WholeNumberRange(NumberRange):
    """NumberRange for a whole number of any size: WTForms tests the number with math.isnan(), which
    makes it a float, and an integer of 309 digits or more overflows one (an OverflowError, a 500)."""

    def __call__(self, form, field):
        if isinstance(field.data, int) and abs(field.data) > sys.float_info.max:
            field.data = math.inf if field.data > 0 else -math.inf   # as far out of range, as a float
        super().__call__(form, field)


class EnrollForm(FlaskForm):
    study_id = StringField(_("Study ID"), validators=[DataRequired(), Length(max=32)])
    punctures = IntegerField(_("Number of puncture points"), validators=[InputRequired(), WholeNumberRange(1, 6)])
    phone = StringField(_("Mobile phone"), validators=[Optional(), Length(max=32)])
    timezone = SelectField(_("Time zone"), validate_choice=False, widget=ZoneSelect())
    language = SelectField(_("Language"), validate_choice=False)
    # Text, not type=date: a phone's date picker shows the browser's own format (mm/dd/yyyy in the
    # US); staff write and read ISO dates, which the service checks.
    procedure_date = StringField(_("Procedure date"), validators=[InputRequired(), Length(max=10)],
                                 render_kw={"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric",
                                            "pattern": r"\d{4}-\d{2}-\d{2}", "autocomplete": "off"})
    confirm_date = BooleanField(_("The procedure date is right, although it is far from today"))
    allocation = RadioField(_("Arm"), default="randomize", validate_choice=False,
                            choices=[SelectChoice("randomize", _("Randomize now")),
                                     SelectChoice("external", _("Allocated outside the app"))])
    external_arm = SelectField(_("Arm allocated outside the app"), validate_choice=False)
    reason = StringField(_("Reason for the outside allocation"), validators=[Optional(), Length(max=500)])
    channel = RadioField(_("Reminders by"), default="sms", validate_choice=False,
                         choices=[SelectChoice("sms", _("SMS")), SelectChoice("whatsapp", _("WhatsApp"))])
    whatsapp_opt_in = BooleanField(_("The patient agreed, here in clinic, to WhatsApp reminders (the wording below)"))


class ParticipantForm(FlaskForm):
    study_id = HiddenField(validators=[DataRequired()])


class TimepointForm(ParticipantForm):
    timepoint = SelectField(_("Timepoint"), validate_choice=False)


class ContactDetailsForm(ParticipantForm):
    phone = StringField(_("Mobile phone"), validators=[Optional(), Length(max=32)])
    timezone = SelectField(_("Time zone"), validate_choice=False, widget=ZoneSelect())
    language = SelectField(_("Language"), validate_choice=False)


class OptOutForm(ParticipantForm):
    opted_out = HiddenField(validators=[DataRequired()])
    confirm = BooleanField(_("Confirm"), validators=[DataRequired(_("Tick the box to confirm."))])


class SmsAnswersForm(ParticipantForm):
    answers_by_sms = HiddenField(validators=[DataRequired()])    # "on" or "off": what the button asks for
    sms_reason = TextAreaField(_("Why"), validators=[DataRequired(), Length(max=500)])


class ChannelForm(ParticipantForm):
    channel = RadioField(_("Reminders by"), validate_choice=False,
                         choices=[SelectChoice("sms", _("SMS")), SelectChoice("whatsapp", _("WhatsApp"))])
    whatsapp_opt_in = BooleanField(_("The patient agreed, here in clinic, to WhatsApp reminders (the wording below)"))


class WithdrawForm(ParticipantForm):
    reason = TextAreaField(_("Reason"), validators=[DataRequired(), Length(max=500)])
    confirm = BooleanField(_("Stop all reminders; keep the data collected so far"), validators=[DataRequired()])


class ContactForm(ParticipantForm):
    kind = SelectField(_("Contact"), choices=_choices(CONTACT_KINDS), validate_choice=False)
    outcome = SelectField(_("Outcome"), choices=_choices(CONTACT_OUTCOMES), validate_choice=False)
    timepoint = SelectField(_("About"), validate_choice=False)
    note = TextAreaField(_("Note"), validators=[Optional(), Length(max=1000)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    actor = StringField(_("Who"), validators=[Optional(), Length(max=254)],
                        render_kw={"placeholder": _("email or cli")})
    action = SelectField(_("Action"), validate_choice=False)
    entity_id = StringField(_("Participant or record"), validators=[Optional(), Length(max=64)],
                            render_kw={"placeholder": _("e.g. %(study_id)s", study_id="P-001")})
    # Text, not type=date, for the same reason as the procedure date: ISO, whatever the browser.
    since = StringField(_("From"), render_kw={"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric"})
    until = StringField(_("To (inclusive)"), render_kw={"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric"})
