"""Staff forms. Every one carries a CSRF token (Flask-WTF); participant action forms also carry
the study ID they were rendered for, which must match the page's URL."""
from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import BooleanField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import html_params

from services.participant_admin import CONTACT_KINDS, CONTACT_OUTCOMES


def _choices(values, labels=None):
    return [SelectChoice(value, (labels or {}).get(value, value.replace("_", " ").capitalize())) for value in values]


SKIPPED_ZONE_PREFIXES = ("Etc/", "SystemV/", "US/", "posix/", "right/")


@cache
def _zone_options() -> str:
    """Every IANA zone as <option>s grouped by region, rendered once: WTForms' own widget takes
    some 15 ms a page for six hundred options, on every page that shows a zone."""
    groups: dict[str, list[str]] = {}
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(SKIPPED_ZONE_PREFIXES):
            continue
        region, place = name.split("/", 1)
        groups.setdefault(region, []).append(f'<option value="{escape(name)}">{escape(place.replace("_", " "))}</option>')
    groups["Other"] = ['<option value="UTC">UTC</option>']
    return "".join(f'<optgroup label="{escape(region)}">{"".join(options)}</optgroup>'
                   for region, options in groups.items())


class ZoneSelect:
    """A select of every time zone, the field's value selected."""

    def __call__(self, field, **kwargs) -> Markup:
        kwargs.setdefault("id", field.id)
        chosen = f'value="{escape(field.data or "")}"'
        options = _zone_options().replace(chosen + ">", chosen + " selected>", 1)
        return Markup(f"<select {html_params(name=field.name, **kwargs)}>{options}</select>")


class EnrollForm(FlaskForm):
    study_id = StringField("Study ID", validators=[DataRequired(), Length(max=32)])
    punctures = IntegerField("Number of puncture points", validators=[InputRequired(), NumberRange(1, 6)])
    phone = StringField("Mobile phone", validators=[Optional(), Length(max=32)])
    timezone = SelectField("Time zone", validate_choice=False, widget=ZoneSelect())
    language = SelectField("Language", validate_choice=False)
    # Text, not type=date: a phone's date picker shows the browser's own format (mm/dd/yyyy in the
    # US); staff write and read ISO dates, which the service checks.
    procedure_date = StringField("Procedure date", validators=[InputRequired(), Length(max=10)],
                                 render_kw={"placeholder": "YYYY-MM-DD", "inputmode": "numeric",
                                            "pattern": r"\d{4}-\d{2}-\d{2}", "autocomplete": "off"})
    confirm_date = BooleanField("The procedure date is right, although it is far from today")
    allocation = RadioField("Arm", default="randomize", validate_choice=False,
                            choices=[SelectChoice("randomize", "Randomize now"),
                                     SelectChoice("external", "Allocated outside the app")])
    external_arm = SelectField("Arm allocated outside the app", validate_choice=False)
    reason = StringField("Reason for the outside allocation", validators=[Optional(), Length(max=500)])


class ParticipantForm(FlaskForm):
    study_id = HiddenField(validators=[DataRequired()])


class TimepointForm(ParticipantForm):
    timepoint = SelectField("Timepoint", validate_choice=False)


class ContactDetailsForm(ParticipantForm):
    phone = StringField("Mobile phone", validators=[Optional(), Length(max=32)])
    timezone = SelectField("Time zone", validate_choice=False, widget=ZoneSelect())
    language = SelectField("Language", validate_choice=False)


class OptOutForm(ParticipantForm):
    opted_out = HiddenField(validators=[DataRequired()])
    confirm = BooleanField("Confirm", validators=[DataRequired("Tick the box to confirm.")])


class WithdrawForm(ParticipantForm):
    reason = TextAreaField("Reason", validators=[DataRequired(), Length(max=500)])
    confirm = BooleanField("Stop all reminders; keep the data collected so far", validators=[DataRequired()])


class ContactForm(ParticipantForm):
    kind = SelectField("Contact", choices=_choices(CONTACT_KINDS, {"in_person": "In person", "sms": "SMS"}),
                       validate_choice=False)
    outcome = SelectField("Outcome", choices=_choices(CONTACT_OUTCOMES), validate_choice=False)
    timepoint = SelectField("About", validate_choice=False)
    note = TextAreaField("Note", validators=[Optional(), Length(max=1000)])


class AuditFilterForm(FlaskForm):
    class Meta:
        csrf = False  # a GET search form

    actor = StringField("Who", validators=[Optional(), Length(max=254)], render_kw={"placeholder": "email or cli"})
    action = SelectField("Action", validate_choice=False)
    entity_id = StringField("Participant or record", validators=[Optional(), Length(max=64)],
                            render_kw={"placeholder": "e.g. P-001"})
    # Text, not type=date, for the same reason as the procedure date: ISO, whatever the browser.
    since = StringField("From", render_kw={"placeholder": "YYYY-MM-DD", "inputmode": "numeric"})
    until = StringField("To (inclusive)", render_kw={"placeholder": "YYYY-MM-DD", "inputmode": "numeric"})
