"""A FHIR R4 Bundle (type collection): the four instruments' Questionnaires, then a
QuestionnaireResponse per completed form, written as JSON a participant at a time.

The resources are plain JSON built here; the tests parse every one with the fhir.resources R4B
models (R4B is R4's technical correction; Questionnaire and QuestionnaireResponse are the same).
Validating each of them while exporting would cost about 2 ms a resource: some 10 minutes for
20,000 participants.

- A response's answers are the long CSV's values (numbers as numbers, choices as the codes of
  their Questionnaire), its ``questionnaire`` the instrument's canonical URL with the version the
  form was answered in, ``authored`` when the form was sent, and its timepoint an extension.
- Pseudonymized: the subject is the study ID only (an identifier, no Patient resource), and
  nothing else about the participant. Identifiable: a Patient per participant, with the phone
  number and language, which the responses reference.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from questionnaires.protocol import Protocol
from reports.standards import fhir_questionnaires as forms
from reports.standards import source
from storage.db import utc_iso

TIMEPOINT_EXTENSION = "urn:spine-pro:fhir:extension:timepoint"


def study_id_system(protocol: Protocol) -> str:
    return forms.local_system(protocol, "study-id")


def write(db, protocol: Protocol, path: Path, *, now: datetime, identifiable: bool = False) -> int:
    """Write the Bundle; returns the QuestionnaireResponses written."""
    items = {name: forms.items(protocol, name) for name in forms.INSTRUMENTS}
    urls = {name: forms.questionnaire_url(protocol, name) for name in forms.INSTRUMENTS}
    count = 0
    with open(path, "w", encoding="utf-8") as out:
        out.write(json.dumps({"resourceType": "Bundle", "id": forms.resource_id(protocol.id, "Bundle", utc_iso(now)),
                              "type": "collection", "timestamp": utc_iso(now)})[:-1])
        out.write(', "entry": [\n')
        first = True
        for resource in (forms.questionnaire(protocol, name) for name in forms.INSTRUMENTS):
            out.write(("" if first else ",\n") + _entry(resource))
            first = False
        for participant in source.stream(db, protocol, identifiable):
            for resource in _resources(protocol, participant, items, urls, identifiable):
                out.write(",\n" + _entry(resource))
                count += resource["resourceType"] == "QuestionnaireResponse"
        out.write("\n]}\n")
    return count


def _entry(resource: dict) -> str:
    return json.dumps({"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}, ensure_ascii=False)


def _resources(protocol: Protocol, participant: source.Participant, items: dict, urls: dict[str, str],
               identifiable: bool) -> Iterator[dict]:
    study_id = participant.study_id
    subject = {"type": "Patient", "identifier": {"system": study_id_system(protocol), "value": study_id}}
    if identifiable:
        patient = _patient(protocol, participant.person)
        subject["reference"] = f"urn:uuid:{patient['id']}"
        yield patient
    labels = {tp.id: tp.label for tp in protocol.timepoints}
    for row in participant.rows:
        timepoint = row["timepoint"]
        for instrument in forms.INSTRUMENTS:
            form = participant.forms.get((timepoint, instrument))
            if form is None:
                continue
            response = {
                "resourceType": "QuestionnaireResponse",
                "id": forms.resource_id(protocol.id, "QuestionnaireResponse", study_id, timepoint, instrument),
                "extension": [{"url": TIMEPOINT_EXTENSION, "valueCoding": {
                    "system": forms.local_system(protocol, "timepoint"), "code": timepoint,
                    "display": labels[timepoint]}}],
                "identifier": {"system": forms.local_system(protocol, "form"),
                               "value": f"{study_id}/{timepoint}/{instrument}"},
                "questionnaire": f"{urls[instrument]}|{form['instrument_version']}",
                "status": "completed", "subject": subject, "authored": form["submitted_at"]}
            if found := answers(items[instrument], row):   # FHIR JSON has no empty arrays
                response["item"] = found
            yield response


def answers(items: list[forms.Item], row: dict[str, str]) -> list[dict]:
    """The response's items from a long CSV row: every item with a value, in order; the medicine
    rows as repeats of one group."""
    found, group = [], []
    for item in items:
        if item.column.startswith("med_1_"):
            group.append(item)
            continue
        if answer := _answer(item, row[item.column]):
            found.append({"linkId": item.column, "answer": [answer]})
    for n in forms.MEDICINE_ROWS:
        parts = []
        for item in group:
            column = item.column.replace("med_1_", f"med_{n}_", 1)
            if answer := _answer(item, row.get(column, "")):
                parts.append({"linkId": forms.link_id(column), "answer": [answer]})
        if parts:
            found.append({"linkId": forms.MEDICINE_GROUP, "item": parts})
    return found


def _answer(item: forms.Item, value: str) -> dict | None:
    if not value:
        return None
    if item.kind == "decimal":
        return {"valueDecimal": float(value)}
    if item.kind == "integer":
        return {"valueInteger": int(value)}
    if item.kind == "choice":
        display = dict(item.labels).get(value)
        return {"valueCoding": {"system": item.system, "code": value, **({"display": display} if display else {})}}
    return {"valueString": value}


def _patient(protocol: Protocol, person: dict) -> dict:
    patient = {"resourceType": "Patient", "id": forms.resource_id(protocol.id, "Patient", person["study_id"]),
               "identifier": [{"system": study_id_system(protocol), "value": person["study_id"]}]}
    if person.get("phone"):
        patient["telecom"] = [{"system": "phone", "value": person["phone"], "use": "mobile"}]
    if person.get("language"):
        patient["communication"] = [{"language": {"coding": [{"system": "urn:ietf:bcp:47",
                                                               "code": person["language"]}]}}]
    return patient
