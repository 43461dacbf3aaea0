"""A participant's ClinicalData as an ODM SubjectData (odmlib), from the standards row source.

Snapshot (pseudonymized): each form's newest values, exactly the long CSV's, no audit records.
Transactional (identifiable): the same final values, reached through every version of every
answer in order. Version 1 of a form is an Insert, each later version an Update (an item it
empties is sent IsNull), and each carries an AuditRecord: who recorded it, from where (the
participant's phone by web or SMS, or a paper form at the site), when, and the reason the audit
log gives for a correction. The subject's enrolment is the SubjectData's own AuditRecord.
"""
from __future__ import annotations

import odmlib.odm_1_3_2.model as odm

from reports import dataset_rows
from reports.standards.odm import layout
from reports.standards.odm.metadata import LOCATIONS, SYSTEM_USER
from reports.standards.source import Participant


# ItemData elements already built, by (item, value): most values recur (codes, scores, versions),
# and an odmlib element is only read when it is serialised, so one element serves every subject
# with that value. Building one is most of the ODM export's time. Bounded: cleared when full.
_ITEM_DATA: dict[tuple[str, str], object] = {}
ITEM_DATA_CACHE_MAX = 50_000


def _item_data(name: str, value: str):
    key = (name, value)
    element = _ITEM_DATA.get(key)
    if element is None:
        if len(_ITEM_DATA) >= ITEM_DATA_CACHE_MAX:
            _ITEM_DATA.clear()
        element = _ITEM_DATA[key] = odm.ItemData(ItemOID=layout.item_oid(name), Value=value)
    return element


def _items(form: layout.Form, values: dict[str, str], before: dict[str, str] | None = None) -> list:
    """The form's ItemData: each non-blank value; with ``before`` (an Update), IsNull for an item
    that had a value and has none now."""
    found = []
    for variable in form.items:
        value = values.get(variable.name, "")
        if value:
            found.append(_item_data(variable.name, value))
        elif before and before.get(variable.name):
            found.append(odm.ItemData(ItemOID=layout.item_oid(variable.name), IsNull="Yes"))
    return found


def _form(form: layout.Form, items: list, **attributes):
    return odm.FormData(FormOID=form.oid, ItemGroupData=[odm.ItemGroupData(ItemGroupOID=form.group_oid,
                                                                            ItemData=items)], **attributes)


def _audit(user: str, location: str, at: str, reason: str | None = None, source_id: str | None = None,
           edit_point: str = "Monitoring"):
    record = odm.AuditRecord(EditPoint=edit_point, UserRef=odm.UserRef(UserOID=user),
                             LocationRef=odm.LocationRef(LocationOID=location),
                             DateTimeStamp=odm.DateTimeStamp(_content=at))
    if reason:
        record.ReasonForChange = odm.ReasonForChange(_content=reason)
    if source_id:
        record.SourceID = odm.SourceID(_content=source_id)
    return record


def subject(participant: Participant, forms: dict[str, layout.Form], timepoints: list[str],
            users: dict[str, str] | None = None):
    """The participant's SubjectData; with ``users`` (actor name -> User OID), transactional,
    with the audit trail."""
    person = participant.person
    data = odm.SubjectData(SubjectKey=participant.study_id)
    if users is not None:
        data.TransactionType = "Insert"
        data.AuditRecord = _audit(users[person["enrolled_by"]], LOCATIONS["site"][0], person["enrolled_at"])
    first = participant.rows[0] if participant.rows else {}
    items = _items(forms[layout.PARTICIPANT], first)
    if items:
        data.StudyEventData.append(odm.StudyEventData(StudyEventOID=layout.ENROLMENT_EVENT,
                                                      FormData=[_form(forms[layout.PARTICIPANT], items)]))
    versions = _versions_by_form(participant) if users is not None else {}
    visit = forms[layout.VISIT]
    for timepoint, row in zip(timepoints, participant.rows):
        event = odm.StudyEventData(StudyEventOID=layout.event_oid(timepoint))
        if any(row.get(v.name) for v in visit.items if v.name != "timepoint"):
            attributes = {}
            if users is not None:
                attributes["AuditRecord"] = _audit(SYSTEM_USER, LOCATIONS["site"][0], row["submitted_at"]
                                                   or row["completed_at"] or person["enrolled_at"],
                                                   edit_point="DataManagement")
            event.FormData.append(_form(visit, _items(visit, row), **attributes))
        for key in layout.INSTRUMENT_FORMS:
            form = forms[key]
            history = versions.get((timepoint, key))
            if history:
                event.FormData.extend(_transactions(form, history, row, users))
            elif items := _items(form, row):
                event.FormData.append(_form(form, items))
        if event.FormData:
            data.StudyEventData.append(event)
    return data


def _versions_by_form(participant: Participant) -> dict[tuple[str, str], list[dict]]:
    grouped: dict[tuple[str, str], list[dict]] = {}
    for version in participant.history:
        grouped.setdefault((version["timepoint"], version["instrument"]), []).append(version)
    return grouped


def _transactions(form: layout.Form, history: list[dict], newest_row: dict[str, str], users: dict[str, str]) -> list:
    """A FormData per version, oldest first. The newest takes the long CSV's row (so the final
    state is the long file's); earlier ones are formatted by the same function from their answers."""
    found, before = [], None
    names = tuple(newest_row)
    for n, version in enumerate(history):
        values = newest_row if n == len(history) - 1 else dataset_rows.answer_cells(
            names, version["timepoint"], {version["instrument"]: version})
        location = LOCATIONS.get(version["source"], LOCATIONS["site"])[0]
        audit = _audit(users[version["recorded_by"]], location, version["submitted_at"], version["reason"],
                       f"response {version['id']} version {version['version']}")
        found.append(_form(form, _items(form, values, before), TransactionType="Insert" if n == 0 else "Update",
                           AuditRecord=audit))
        before = values
    return found
