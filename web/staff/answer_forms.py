"""An instrument's answer as staff correct it: one form class per instrument, built in the staff
language, with the instrument's own items (the fields its validate() reads) and the version the
form was opened on and the reason (web.staff.clinical_forms.ClinicalForm). No rules here: the
instrument validates what is typed."""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from wtforms import RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice

from questionnaires.medication import DRUGS, MAX_ROWS, row_fields
from questionnaires.satisfaction import ITEMS, LEVELS
from questionnaires.vas import MODE_LINE, MODE_NRS
from web.staff.clinical_forms import NUMBER, WHOLE, ClinicalForm, as_input


def title(instrument: str) -> str:
    """An instrument's name as staff read it."""
    return {"vas": _("Pain (visual analogue scale)"), "odi": _("Oswestry Disability Index"),
            "satisfaction": _("Satisfaction with the procedure"),
            "medication": _("Pain medicines, past 7 days")}.get(instrument, instrument)


def _radio(label: str, choices: list[tuple[str, str]]) -> RadioField:
    return RadioField(label, choices=[SelectChoice(value, text) for value, text in choices], validate_choice=False)


def form_class(instrument) -> type[ClinicalForm]:
    """The correction form of ``instrument`` (a protocol instrument), its fields in the form's order."""
    fields: dict[str, Any] = {}
    if instrument.id == "vas":
        fields["mode"] = _radio(_("How it was answered"), [(MODE_LINE, _("On the 100 mm line")),
                                                           (MODE_NRS, _("As a number from 0 to 10"))])
        fields["value"] = StringField(_("Value: millimetres on the line (0 to 100), or the number (0 to 10)"),
                                      render_kw=WHOLE)
    elif instrument.id == "odi":
        for section in instrument.sections:
            fields[section.field] = _radio(f"{section.number}. {_(section.title)}", [("", _("Not answered"))] + [
                (str(score), f"{score}: {_(statement)}") for score, statement in enumerate(section.statements)])
    elif instrument.id == "satisfaction":
        for name, question in ITEMS:
            fields[name] = _radio(_(question), [(str(level), f"{level}: {_(label)}") for level, label in LEVELS])
    elif instrument.id == "medication":
        fields["took_any"] = _radio(_(instrument.question), [("yes", _("Yes")), ("no", _("No"))])
        drugs = [SelectChoice("", _("None"))] + [SelectChoice(drug.id, _(drug.name)) for drug in DRUGS]
        for n in range(1, MAX_ROWS + 1):
            drug, strength, doses = row_fields(n)
            fields[drug] = SelectField(_("Medicine %(n)s", n=n), choices=drugs, validate_choice=False)
            fields[strength] = StringField(_("Medicine %(n)s: strength of one dose (mg)", n=n), render_kw=NUMBER)
            fields[doses] = StringField(_("Medicine %(n)s: doses per day", n=n), render_kw=WHOLE)
    return type(f"{instrument.id.title()}Correction", (ClinicalForm,), fields)


def form_values(instrument: str, answers: dict[str, Any]) -> dict[str, str]:
    """A stored answer as its correction form shows it."""
    if instrument == "medication":
        values = {"took_any": answers.get("took_any") or ""}
        for n, item in enumerate(answers.get("items", []), 1):
            drug, strength, doses = row_fields(n)
            values.update({drug: item["drug"], strength: as_input(item["strength_mg"]),
                           doses: as_input(item["doses_per_day"])})
        return values
    return {name: as_input(value) for name, value in answers.items()}


def shown(form: ClinicalForm, values: dict[str, str]) -> list[tuple[str, str]]:
    """[(label, value in words)] of an answer's form values, in the form's order, blanks left out."""
    found = []
    for f in form:
        value = values.get(f.name, "")
        if f.name in ("csrf_token", "version", "reason") or value == "":
            continue
        if isinstance(f, (RadioField, SelectField)):
            value = next((str(choice.label) for choice in f.choices if choice.value == value), value)
        found.append((str(f.label.text), value))
    return found
