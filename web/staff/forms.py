"""Staff forms. Every one carries a CSRF token (Flask-WTF); participant action forms also carry
the study ID they were rendered for, which must match the page's URL."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields import IntegerField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from services.participant_admin import CONTACT_KINDS, CONTACT_OUTCOMES


def _choices(values, labels=None):
    return [SelectChoice(value, (labels or {}).get(value, value.replace("_", " ").capitalize())) for value in values]


class EnrollForm(FlaskForm):
    study_id = StringField("Study ID", validators=[DataRequired(), Length(max=32)])
    punctures = IntegerField("Number of puncture points", validators=[InputRequired(), NumberRange(1, 6)])
    phone = StringField("Mobile phone (with country code)", validators=[Optional(), Length(max=32)])
    timezone = StringField("Time zone", default="UTC", validators=[DataRequired(), Length(max=64)])
    language = SelectField("Language", validate_choice=False)
    procedure_date = DateField("Procedure date", validators=[InputRequired()])  # keeps "Not a valid date"
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
    timezone = StringField("Time zone", validators=[DataRequired(), Length(max=64)])
    language = SelectField("Language", validate_choice=False)


class OptOutForm(ParticipantForm):
    opted_out = HiddenField(validators=[DataRequired()])


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

    actor = StringField("Who", validators=[Optional(), Length(max=254)])
    action = StringField("Action", validators=[Optional(), Length(max=64)])
    entity_id = StringField("Participant or record", validators=[Optional(), Length(max=64)])
    since = DateField("From", validators=[Optional()])
    until = DateField("To", validators=[Optional()])
