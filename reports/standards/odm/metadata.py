"""The ODM Study (its MetaDataVersion: events, forms, item groups, items, code lists, methods)
and the AdminData an audit trail refers to, built with odmlib's ODM 1.3.2 model."""
from __future__ import annotations

from datetime import datetime

import odmlib.odm_1_3_2.model as odm

from questionnaires.protocol import Protocol
from reports.standards import terminology
from reports.standards.odm import layout
from reports.variables import Variable

LANGUAGE = "en"
# Code lists shared by several items take a name of their own.
SHARED_CODE_LISTS = {"sat_procedure": "CL.SATISFACTION", "sat_results": "CL.SATISFACTION"}
# Where an answer was recorded (an audit record's LocationRef), by the answer's source.
LOCATIONS = {"site": ("LOC.SITE", "The trial site (enrolment, derived values)", "Site"),
             "web": ("LOC.WEB", "The participant's own phone, by the web link", "Other"),
             "sms": ("LOC.SMS", "The participant's own phone, by SMS reply", "Other"),
             "paper": ("LOC.PAPER", "A paper form, entered at the site", "Site")}
SYSTEM_USER = "USR.SYSTEM"


def _text(text: str, element=odm.Description):
    return element(TranslatedText=[odm.TranslatedText(_content=text, lang=LANGUAGE)])


def study_oid(protocol: Protocol) -> str:
    return f"ST.{protocol.id}"


def version_oid(protocol: Protocol) -> str:
    return f"MDV.{protocol.version}"


def study(protocol: Protocol, forms: dict[str, layout.Form]) -> odm.Study:
    units = {}
    for form in forms.values():
        for variable in form.items:
            if variable.unit and variable.unit not in units:
                units[variable.unit] = f"MU.{len(units) + 1}"
    version = odm.MetaDataVersion(OID=version_oid(protocol),
                                  Name=f"{protocol.title}, protocol version {protocol.version}")
    version.Protocol = odm.Protocol(StudyEventRef=[
        odm.StudyEventRef(StudyEventOID=oid, OrderNumber=n, Mandatory="No")
        for n, oid in enumerate([layout.ENROLMENT_EVENT, *(layout.event_oid(tp.id) for tp in protocol.timepoints)], 1)])
    version.StudyEventDef = _events(protocol, forms)
    coded = terminology.coded_columns(protocol)
    version.CodeList, code_lists = _code_lists(protocol, forms)
    for form in forms.values():
        version.FormDef.append(odm.FormDef(
            OID=form.oid, Name=layout.FORM_NAMES[form.key], Repeating="No",
            ItemGroupRef=[odm.ItemGroupRef(ItemGroupOID=form.group_oid, Mandatory="Yes", OrderNumber=1)]))
        version.ItemGroupDef.append(odm.ItemGroupDef(
            OID=form.group_oid, Name=layout.FORM_NAMES[form.key], Repeating="No",
            ItemRef=[_item_ref(variable, n) for n, variable in enumerate(form.items, 1)]))
        version.ItemDef.extend(_item_def(variable, units, code_lists.get(variable.name), coded.get(variable.name))
                               for variable in form.items)
    version.MethodDef = [odm.MethodDef(OID=f"MT.{v.name}", Name=f"Derivation of {v.name}", Type="Computation",
                                       Description=_text(v.derivation))
                         for form in forms.values() for v in form.items if terminology.is_derived(v)]
    definitions = odm.BasicDefinitions(MeasurementUnit=[
        odm.MeasurementUnit(OID=oid, Name=unit, Symbol=_text(unit, odm.Symbol)) for unit, oid in units.items()])
    variables = odm.GlobalVariables(StudyName=odm.StudyName(_content=protocol.title),
                                    StudyDescription=odm.StudyDescription(_content=protocol.title),
                                    ProtocolName=odm.ProtocolName(_content=protocol.id))
    return odm.Study(OID=study_oid(protocol), GlobalVariables=variables, BasicDefinitions=definitions,
                     MetaDataVersion=[version])


def _events(protocol: Protocol, forms: dict[str, layout.Form]) -> list:
    events = [odm.StudyEventDef(OID=layout.ENROLMENT_EVENT, Name="Enrolment", Repeating="No", Type="Common",
                                FormRef=[odm.FormRef(FormOID=forms[layout.PARTICIPANT].oid, Mandatory="Yes",
                                                     OrderNumber=1)])]
    for tp in protocol.timepoints:
        keys = [layout.VISIT, *(name for name in tp.instruments if name in forms)]
        events.append(odm.StudyEventDef(
            OID=layout.event_oid(tp.id), Name=tp.label, Repeating="No", Type="Scheduled",
            FormRef=[odm.FormRef(FormOID=forms[key].oid, Mandatory="No", OrderNumber=n)
                     for n, key in enumerate(keys, 1)],
            Alias=[odm.Alias(Context="spine-pro timepoint", Name=tp.id)]))
    return events


def _item_ref(variable: Variable, order: int):
    ref = odm.ItemRef(ItemOID=layout.item_oid(variable.name), Mandatory="No", OrderNumber=order)
    if terminology.is_derived(variable):
        ref.MethodOID = f"MT.{variable.name}"
    return ref


def _item_def(variable: Variable, units: dict[str, str], code_list: str | None, coded: terminology.Coded | None):
    item = odm.ItemDef(OID=layout.item_oid(variable.name), Name=variable.name,
                       DataType=layout.DATA_TYPES.get(variable.type, "text"),
                       Question=_text(variable.label, odm.Question))
    if variable.unit:
        item.MeasurementUnitRef = [odm.MeasurementUnitRef(MeasurementUnitOID=units[variable.unit])]
    if code_list:
        item.CodeListRef = odm.CodeListRef(CodeListOID=code_list)
    if coded:
        item.Alias.append(odm.Alias(Context="CDISC SDTM QSCAT/QSTESTCD", Name=f"{coded.qscat}/{coded.qstestcd}"))
        if coded.cdisc != terminology.SPONSOR:
            item.Alias.append(odm.Alias(Context="nci:ExtCodeID", Name=coded.cdisc))
        if coded.loinc:
            item.Alias.append(odm.Alias(Context="LOINC", Name=coded.loinc))
    return item


def _code_lists(protocol: Protocol, forms: dict[str, layout.Form]) -> tuple[list, dict[str, str]]:
    """The code lists (arm, timepoint, satisfaction, each ODI section's statements, every other
    variable with value labels) and each item's code list OID, by item name."""
    lists, by_item = {}, {}
    sections = {section.field: section for section in protocol.instruments["odi"].sections}
    for form in forms.values():
        for variable in form.items:
            if section := sections.get(variable.name):
                name, labels = f"ODI section {section.number}: {section.title}", tuple(enumerate(section.statements))
            elif variable.value_labels:
                name, labels = variable.label, variable.value_labels
            else:
                continue
            oid = SHARED_CODE_LISTS.get(variable.name, f"CL.{variable.name}")
            by_item[variable.name] = oid
            if oid in lists:
                continue
            numeric = all(isinstance(code, int) for code, _ in labels)
            lists[oid] = odm.CodeList(OID=oid, Name=name, DataType="integer" if numeric else "text", CodeListItem=[
                odm.CodeListItem(CodedValue=str(code), Decode=_text(label, odm.Decode)) for code, label in labels])
    return list(lists.values()), by_item


def admin(protocol: Protocol, actors: list[str], users: dict[str, str], now: datetime) -> odm.AdminData:
    """Users (everyone who recorded an answer or enrolled a participant, and the app itself) and
    the locations an audit record names."""
    reference = odm.MetaDataVersionRef(StudyOID=study_oid(protocol), MetaDataVersionOID=version_oid(protocol),
                                       EffectiveDate=now.date().isoformat())
    people = [odm.User(OID=SYSTEM_USER, UserType="Other", LoginName=odm.LoginName(_content="spine-pro (derived)"))]
    people += [odm.User(OID=users[name], UserType="Other", LoginName=odm.LoginName(_content=name)) for name in actors]
    places = [odm.Location(OID=oid, Name=name, LocationType=kind, MetaDataVersionRef=[reference])
              for oid, name, kind in LOCATIONS.values()]
    return odm.AdminData(StudyOID=study_oid(protocol), User=people, Location=places)
