"""FHIR R4 Questionnaire resources for the four instruments, as plain JSON-ready dicts.

Each item's linkId is the long CSV's column (the medicine rows are one repeating group, whose
n-th repeat is med_n_*), so a QuestionnaireResponse maps back to the long file column by column.
Item codes: LOINC where LOINC has the item (the VAS, the ODI score), the NCI Thesaurus code of the
CDISC term where CDISC has one (the ODI sections, the pain intensity question), local codes
(``terminology.LOCAL``) otherwise. The questionnaires themselves: the ODI carries its LOINC panel
code, 97908-8. Derived values (the ODI score, daily doses) are read-only items.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from questionnaires.medication import DRUGS, MAX_ROWS
from questionnaires.protocol import Protocol
from reports import dataset
from reports.standards import terminology
from reports.variables import Variable

FHIR_EXTENSION = "http://hl7.org/fhir/StructureDefinition/"
ITEM_CONTROL = "http://hl7.org/fhir/questionnaire-item-control"
UCUM = "http://unitsofmeasure.org"
# The codebook's units in UCUM, where the item has one.
UCUM_UNITS = {"cm": "cm", "%": "%", "mg": "mg", "mg/day": "mg/d", "mg/day diclofenac equivalent": "mg/d",
              "oral morphine mg equivalents/day": "mg/d"}
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:spine-pro:fhir")
INSTRUMENTS = ("vas", "odi", "satisfaction", "medication")
TITLES = {"vas": "Pain, visual analogue scale", "odi": "Oswestry Disability Index",
          "satisfaction": "Satisfaction with the procedure", "medication": "Pain medication, past 7 days"}
MEDICINE_GROUP = "medicine"
MEDICINE_PARTS = ("drug", "strength_mg", "doses_per_day")


def resource_id(*parts: str) -> str:
    """A stable id (and urn:uuid fullUrl) for a resource named by ``parts``."""
    return str(uuid.uuid5(NAMESPACE, "/".join(parts)))


def questionnaire_url(protocol: Protocol, instrument: str) -> str:
    return f"urn:uuid:{resource_id(protocol.id, 'Questionnaire', instrument)}"


def local_system(protocol: Protocol, name: str) -> str:
    return f"{terminology.LOCAL}{protocol.id}:{name}"


@dataclass(frozen=True)
class Item:
    """One answerable item: its long CSV column and how its answer is typed."""

    column: str
    kind: str                  # decimal, integer, string, choice
    system: str = ""           # for choice: the code system
    labels: tuple = ()         # for choice: (code, display) pairs


def items(protocol: Protocol, instrument: str) -> list[Item]:
    """The instrument's answerable items, in order, medicine rows as their med_1_* columns."""
    found = []
    sections = {section.field: section for section in protocol.instruments["odi"].sections}
    for variable in _variables(protocol, instrument):
        found.append(_item(protocol, variable, sections))
    return found


def _variables(protocol: Protocol, instrument: str) -> list[Variable]:
    versions = set(dataset.INSTRUMENT_VERSION_COLUMNS.values())
    asked = set(protocol.instruments["odi"].fields)
    return [v for v in dataset.codebook(protocol) if v.instrument == instrument and v.name not in versions
            and not (v.name.startswith("odi_") and v.name[4:].isdigit() and v.name not in asked)
            and not (v.name.startswith("med_") and v.name[4:5].isdigit() and not v.name.startswith("med_1_"))]


def _item(protocol: Protocol, variable: Variable, sections: dict) -> Item:
    name = variable.name
    if section := sections.get(name):
        return Item(name, "choice", local_system(protocol, f"odi-section-{section.number}"),
                    tuple((str(code), text) for code, text in enumerate(section.statements)))
    if name == "med_1_drug":
        return Item(name, "choice", local_system(protocol, "drug"), tuple((d.id, d.name) for d in DRUGS))
    if variable.value_labels:
        system = local_system(protocol, "satisfaction" if name.startswith("sat_") else name)
        return Item(name, "choice", system, tuple((str(code), label) for code, label in variable.value_labels))
    return Item(name, {"decimal": "decimal", "integer": "integer"}.get(variable.type, "string"))


def questionnaire(protocol: Protocol, instrument: str) -> dict:
    version = protocol.instruments[instrument].version
    resource = {"resourceType": "Questionnaire", "id": resource_id(protocol.id, "Questionnaire", instrument),
                "url": questionnaire_url(protocol, instrument), "version": version,
                "name": instrument.capitalize(), "title": f"{TITLES[instrument]} (version {version})",
                "status": "active", "subjectType": ["Patient"]}
    if instrument == "odi":
        resource["code"] = [{"system": terminology.LOINC, "code": terminology.ODI_LOINC_PANEL[0],
                             "display": terminology.ODI_LOINC_PANEL[1]}]
    variables = {v.name: v for v in _variables(protocol, instrument)}
    coded = terminology.coded_columns(protocol)
    entries, group = [], None
    for item in items(protocol, instrument):
        entry = _definition(protocol, item, variables[item.column], coded.get(item.column))
        if item.column.startswith("med_1_"):
            if group is None:
                group = {"linkId": MEDICINE_GROUP, "text": "A pain medicine taken", "type": "group", "repeats": True,
                         "item": []}
                entries.append(group)
            group["item"].append(entry)
        else:
            entries.append(entry)
    resource["item"] = entries
    return resource


def link_id(column: str) -> str:
    """The linkId of a long CSV column: itself, or med_<part> for a medicine row's column."""
    if column.startswith("med_") and column[4:5].isdigit():
        return "med_" + column.split("_", 2)[2]
    return column


def _definition(protocol: Protocol, item: Item, variable: Variable, coded: terminology.Coded | None) -> dict:
    label = variable.label
    if item.column.startswith("med_1_"):
        label = label.replace("Medicine 1: ", "").replace("Medicine 1", "Medicine")
    entry = {"linkId": link_id(item.column), "code": _codes(protocol, item.column, coded), "text": label,
             "type": item.kind}
    if terminology.is_derived(variable) and item.column != "vas":
        entry["readOnly"] = True
    if item.kind == "choice":
        entry["answerOption"] = [
            {"valueCoding": {"system": item.system, "code": code, "display": display},
             **({"extension": [{"url": FHIR_EXTENSION + "ordinalValue", "valueDecimal": int(code)}]}
                if code.isdigit() else {})}
            for code, display in item.labels]
    extensions = []
    if item.column == "vas":
        extensions += [
            {"url": FHIR_EXTENSION + "questionnaire-itemControl",
             "valueCodeableConcept": {"coding": [{"system": ITEM_CONTROL, "code": "slider", "display": "Slider"}]}},
            {"url": FHIR_EXTENSION + "minValue", "valueDecimal": 0},
            {"url": FHIR_EXTENSION + "maxValue", "valueDecimal": 10}]
    if unit := UCUM_UNITS.get(variable.unit):
        extensions.append({"url": FHIR_EXTENSION + "questionnaire-unit",
                           "valueCoding": {"system": UCUM, "code": unit, "display": variable.unit}})
    if extensions:
        entry["extension"] = extensions
    return entry


def _codes(protocol: Protocol, column: str, coded: terminology.Coded | None) -> list[dict]:
    codes = []
    if coded and coded.loinc:
        codes.append({"system": terminology.LOINC, "code": coded.loinc, "display": coded.loinc_display})
    if coded and coded.cdisc and coded.cdisc != terminology.SPONSOR:
        codes.append({"system": terminology.NCIT, "code": coded.cdisc, "display": coded.qstest})
    if not codes:
        codes.append({"system": local_system(protocol, "item"), "code": link_id(column)})
    return codes


def medicine_columns(n: int) -> tuple[str, ...]:
    return tuple(f"med_{n}_{part}" for part in MEDICINE_PARTS)


MEDICINE_ROWS = range(1, MAX_ROWS + 1)
