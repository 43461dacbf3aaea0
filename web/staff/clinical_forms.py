"""The clinician forms as staff fill them in: the fields of questionnaires/crf.py, labelled in
words, with a CSRF token, the version the form was opened on and, for a correction, its reason.

There are no rules here: every value goes as typed to the pure validators, which name each bad
field. Numbers and dates are text inputs (a phone's own number and date widgets reformat what is
typed; staff write ISO dates and decimal points, which the validators read).

Labels are lazy (``_`` is ``lazy_gettext`` here, and web.labels' words are lazy too): made at
import, read in the staff language.
"""
from __future__ import annotations

import re
from typing import Any

from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice

from questionnaires.clinical import GUIDANCES
from questionnaires.crf import EVENT_TYPES, LATERALITY, OUTCOMES, RELATEDNESS, SEXES, SIDES, YES_NO
from web.labels import GRADES, words
from web.staff.forms import DATE_PLACEHOLDER

NUMBER = {"inputmode": "decimal", "autocomplete": "off"}
WHOLE = {"inputmode": "numeric", "autocomplete": "off"}
DATE = {"placeholder": DATE_PLACEHOLDER, "inputmode": "numeric", "autocomplete": "off"}
NOT_ANSWERS = ("csrf_token", "version", "reason")
VERSION = re.compile(r"[0-9]{1,9}")    # a record's version as its form carries it


def _levels(values) -> list[SelectChoice]:
    return [SelectChoice(str(value), words(value)) for value in values]


def _text(name: str, render_kw: dict | None = None, label: str | None = None) -> StringField:
    return StringField(label or words(name), render_kw=render_kw)


def _radio(name: str, levels, label: str | None = None) -> RadioField:
    return RadioField(label or words(name), choices=_levels(levels), validate_choice=False)


def _select(name: str, levels, label: str | None = None, *, choose: bool = False) -> SelectField:
    """A list of levels; ``choose``: it starts on an empty "Choose" (the answer is required and
    has no sensible default)."""
    first = [SelectChoice("", _("Choose"))] if choose else []
    return SelectField(label or words(name), choices=first + _levels(levels), validate_choice=False)


class ActionForm(FlaskForm):
    """Only the CSRF token: what is acted on is named in the URL."""


class ClinicalForm(FlaskForm):
    """What every clinician form carries besides its answers."""

    # The version the form was opened on (0: a new record). A correction saved against an older
    # version than the newest would silently undo someone else's.
    version = HiddenField(default="0")
    reason = TextAreaField(_("Reason for the change"), render_kw={"rows": 2})

    def answers(self) -> dict[str, Any]:
        """The posted answers, as typed, for the pure validator."""
        return {field.name: field.data for field in self if field.name not in NOT_ANSWERS}

    def opened_version(self) -> int | None:
        text = (self.version.data or "0").strip()
        # ASCII digits, and few: str.isdigit() also takes "²" and a number past int()'s 4,300 digits.
        return int(text) if VERSION.fullmatch(text) else None


class BaselineForm(ClinicalForm):
    age = _text("age", WHOLE)
    date_of_birth = _text("date_of_birth", DATE)
    sex = _radio("sex", SEXES)
    root_l3 = _radio("root_l3", LATERALITY, "L3")
    root_l4 = _radio("root_l4", LATERALITY, "L4")
    root_l5 = _radio("root_l5", LATERALITY, "L5")
    mri_finding = TextAreaField(words("mri_finding"), render_kw={"rows": 3})


class ProcedureForm(ClinicalForm):
    procedure_date = _text("procedure_date", DATE)
    guidance = _radio("guidance", GUIDANCES, _("Guided by"))
    operators = _text("operators", {"autocomplete": "off"})
    punctures = _text("punctures", WHOLE)
    injected_l3 = _select("injected_l3", SIDES, "L3")
    injected_l4 = _select("injected_l4", SIDES, "L4")
    injected_l5 = _select("injected_l5", SIDES, "L5")
    si_side = _select("si_side", SIDES, choose=True)
    operative_min = _text("operative_min", NUMBER)
    dap_mgycm2 = _text("dap_mgycm2", NUMBER)
    fluoro_time_s = _text("fluoro_time_s", NUMBER)
    ctdivol_mgy = _text("ctdivol_mgy", NUMBER)
    dlp_mgycm = _text("dlp_mgycm", NUMBER)
    contrast_extravasation = _radio("contrast_extravasation", YES_NO)
    dexamethasone_mg = _text("dexamethasone_mg", NUMBER)
    lidocaine_mg = _text("lidocaine_mg", NUMBER)
    bupivacaine_mg = _text("bupivacaine_mg", NUMBER)
    methylprednisolone_mg = _text("methylprednisolone_mg", NUMBER)
    rf_temperature_c = _text("rf_temperature_c", NUMBER, _("Temperature (°C)"))
    rf_frequency_hz = _text("rf_frequency_hz", NUMBER, _("Frequency (Hz)"))
    rf_pulse_width_ms = _text("rf_pulse_width_ms", NUMBER, _("Pulse width (ms)"))
    rf_duration_s = _text("rf_duration_s", NUMBER, _("Duration (s)"))
    deviation_reason = TextAreaField(_("Reason for any deviation from the protocol"), render_kw={"rows": 2})


class EventForm(ClinicalForm):
    event = _radio("event", EVENT_TYPES)
    description = TextAreaField(_("Description"), render_kw={"rows": 3})
    onset_date = _text("onset_date", DATE)
    grade = RadioField(_("Grade (CTCAE v5)"), choices=[SelectChoice(str(g), label) for g, label in GRADES.items()],
                       validate_choice=False)
    serious = _radio("serious", YES_NO)
    related = _select("related", RELATEDNESS, choose=True)
    outcome = _select("outcome", OUTCOMES, choose=True)


def as_input(value: Any) -> str:
    """A stored value as a form shows it: 22.5 -> "22.5", 80.0 -> "80", None -> ""."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def as_inputs(data: dict[str, Any]) -> dict[str, str]:
    return {key: as_input(value) for key, value in data.items()}
