"""Patient forms, generated from the instruments' data.

WTForms re-displays the posted values; the instrument (pure, in questionnaires/) decides what is
valid, so the web form, the paper import and the scoring share one rule set. A submission is
checked without binding WTForms' fields (``read_form``): building a form's field objects cost a
patient's POST more than scoring and storing the answer, and a stored answer renders nothing.
Forms carry no CSRF token: the authority to answer is the unguessable link token in the path,
not an ambient cookie a cross-site request could ride on, and older phones that refuse
cookies can still answer.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from questionnaires import MEDICATION, N_, ODI, SATISFACTION, VAS, AnswerError
from questionnaires.base import Instrument
from questionnaires.medication import MAX_ROWS, row_fields
from questionnaires.odi import SECTIONS as ODI_SECTIONS
from questionnaires.vas import MODE_LINE, MODE_NRS, NRS_MAX

# Fields a patient never sees: a problem with one of them means the page was tampered with
# or is out of date, and gets a general message instead of a message beside a question.
HIDDEN_PROBLEM = "form"


class PatientForm(FlaskForm):
    class Meta:
        csrf = False

        def get_translations(self, form):
            # WTForms' own catalogue holds only its validators' messages; a patient form has no
            # validator (the instrument decides, in the patient's words) and no CSRF token, so it
            # needs none, and Flask-WTF would parse the catalogue again on every request.
            return None

    instrument_id: str = ""
    instrument: Instrument      # as the protocol asks it; set by make_form and read_form
    version = HiddenField()
    _posted: dict[str, Any] | None = None    # set by read_form: the values, with no field bound

    @classmethod
    def read(cls, instrument: Instrument, formdata: Mapping[str, Any]) -> PatientForm:
        """This form as posted, for ``check`` and ``input_mode`` only: each field's value as
        WTForms reads it into these fields (the first value sent under its name, else its
        default), with no field object bound. Rendering it needs ``make_form``."""
        form = cls.__new__(cls)
        form.instrument = instrument
        form._posted = {name: posted(formdata, name, default) for name, default in _defaults(cls).items()}
        return form

    def value(self, field: str) -> Any:
        """What the patient sent in a field (its default when nothing was sent)."""
        return self[field].data if self._posted is None else self._posted[field]

    def answers(self) -> dict[str, Any]:
        raise NotImplementedError

    def input_mode(self) -> str:
        return "web"

    def check(self) -> tuple[dict[str, Any] | None, dict[str, str]]:
        """(clean answers, {}) or (None, {form field: message}).

        A problem the patient could not have caused (a hidden field changed, a value no
        control on the page can send) becomes the general HIDDEN_PROBLEM instead.
        """
        instrument = self.instrument
        if self.value("version") != instrument.version:
            return None, {HIDDEN_PROBLEM: "stale"}
        try:
            return self.validate_instrument(instrument), {}
        except AnswerError as exc:
            problems: dict[str, str] = {}
            for field, message in exc.errors.items():
                target = self.form_field(field)
                if target is not None and self.patient_can_fix(target):
                    problems[target] = message
                else:
                    problems[HIDDEN_PROBLEM] = "tampered"
            return None, problems

    def form_field(self, instrument_field: str) -> str | None:
        """The form field an instrument's field is answered with; None if there is none."""
        return instrument_field if instrument_field in _defaults(type(self)) else None

    def patient_can_fix(self, field: str) -> bool:
        return field not in _hidden(type(self))

    def validate_instrument(self, instrument):
        return instrument.validate(self.answers())


class VasForm(PatientForm):
    instrument_id = VAS.id
    mode = HiddenField(default=MODE_NRS)
    vas_mm = HiddenField()
    nrs = RadioField(choices=[SelectChoice(str(n)) for n in range(NRS_MAX + 1)], validate_choice=False)

    def answers(self) -> dict[str, Any]:
        mode = self.value("mode")
        return {"mode": mode, "value": self.value("vas_mm" if mode == MODE_LINE else "nrs")}

    def input_mode(self) -> str:
        return self.value("mode")

    def form_field(self, instrument_field: str) -> str | None:
        if instrument_field == "value":
            return "vas_mm" if self.value("mode") == MODE_LINE else "nrs"
        return None

    def patient_can_fix(self, field: str) -> bool:
        # The line writes its hidden input; left empty, the line was simply not touched.
        # Holding a number the line cannot produce, the page was tampered with.
        if field == "vas_mm":
            return self.value("vas_mm") in (None, "")
        return super().patient_can_fix(field)


class OdiForm(PatientForm):
    """Every section of version 2.1a is a field; the protocol's version decides which are asked."""
    instrument_id = ODI.id

    @property
    def min_answered(self) -> int:
        return self.instrument.min_sections

    def still_needed(self) -> int:
        """Sections still to answer before the form is accepted (0 once enough are)."""
        return self.instrument.sections_still_needed(self.answers(), self.min_answered)

    def answers(self) -> dict[str, Any]:
        return {section.field: self.value(section.field) for section in self.instrument.sections}

    def validate_instrument(self, instrument):
        return instrument.validate(self.answers(), min_answered=self.min_answered)


for _section in ODI_SECTIONS:
    setattr(OdiForm, _section.field, RadioField(
        choices=[SelectChoice(str(score), text) for score, text in enumerate(_section.statements)], validate_choice=False))


class SatisfactionForm(PatientForm):
    instrument_id = SATISFACTION.id

    def answers(self) -> dict[str, Any]:
        return {field: self.value(field) for field, _ in SATISFACTION.items}


for _field, _question in SATISFACTION.items:
    setattr(SatisfactionForm, _field, RadioField(
        choices=[SelectChoice(str(level), label) for level, label in SATISFACTION.levels], validate_choice=False))


class MedicationForm(PatientForm):
    instrument_id = MEDICATION.id
    took_any = RadioField(choices=[SelectChoice("yes", N_("Yes")), SelectChoice("no", N_("No"))],
                          validate_choice=False)

    def answers(self) -> dict[str, Any]:
        answers: dict[str, Any] = {"took_any": self.value("took_any")}
        for index in range(1, MAX_ROWS + 1):
            for field in row_fields(index):
                answers[field] = (self.value(field) or "").strip()
        return answers

    def rows(self):
        return [tuple(self[field] for field in row_fields(index)) for index in range(1, MAX_ROWS + 1)]


for _index in range(1, MAX_ROWS + 1):
    _drug, _strength, _doses = row_fields(_index)
    setattr(MedicationForm, _drug, SelectField(
        choices=[SelectChoice("", N_("(none)"))] + [SelectChoice(drug.id, drug.name) for drug in MEDICATION.drugs], validate_choice=False))
    setattr(MedicationForm, _strength, StringField())
    setattr(MedicationForm, _doses, StringField())


FORMS: dict[str, type[PatientForm]] = {
    form.instrument_id: form for form in (VasForm, OdiForm, SatisfactionForm, MedicationForm)
}


def posted(formdata: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """The first value sent under ``name``, else ``default``: what ``formdata.get`` gives, without
    the exception werkzeug's MultiDict raises and catches inside ``get`` for every name not sent
    (a patient's POST leaves out most of the optional fields)."""
    return formdata[name] if name in formdata else default  # noqa: SIM401 (that get is what this avoids)


def make_form(instrument: Instrument) -> PatientForm:
    """The form for an instrument as the protocol asks it, reading the current request: to render."""
    form = FORMS[instrument.id]()
    form.instrument = instrument
    return form


def read_form(instrument: Instrument, formdata: Mapping[str, Any]) -> PatientForm:
    """The form for an instrument as posted in ``formdata`` (the request's form): to check it."""
    return FORMS[instrument.id].read(instrument, formdata)


@cache
def _defaults(form: type[PatientForm]) -> dict[str, Any]:
    """Every field of a form class, with the value WTForms gives it when nothing is sent: found
    as WTForms finds them (the class's unbound fields). A class never changes once defined."""
    fields = {name: getattr(form, name) for name in dir(form)
              if not name.startswith("_") and hasattr(getattr(form, name), "_formfield")}
    return {name: field.kwargs.get("default") for name, field in fields.items()}


@cache
def _hidden(form: type[PatientForm]) -> frozenset[str]:
    """The fields of a form class a patient never sees."""
    return frozenset(name for name in _defaults(form) if issubclass(getattr(form, name).field_class, HiddenField))
