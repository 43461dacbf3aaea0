"""Where each column of the long dataset sits in the ODM file: which form of which study event,
under which OID. Pure; shared by the metadata and the clinical data so the two always agree.

Study events: one "ENROLMENT" event (the participant's own columns, the clinician forms and, in
the identifiable file, the identifying columns) and one event per protocol timepoint. A timepoint
holds a VISIT form (the row's timepoint, completion and submission times, source) and one form per
instrument given there. Every column of the long file but study_id (the SubjectKey) is an item.
"""
from __future__ import annotations

from dataclasses import dataclass

from questionnaires.protocol import Protocol
from reports import clinical_dataset, dataset
from reports.variables import Variable

INSTRUMENT_FORMS = ("vas", "odi", "satisfaction", "medication")
PARTICIPANT, VISIT = "participant", "visit"
ENROLMENT_EVENT = "SE.ENROLMENT"
FORM_NAMES = {PARTICIPANT: "Participant", VISIT: "Visit", "vas": "Pain, visual analogue scale",
              "odi": "Oswestry Disability Index", "satisfaction": "Satisfaction with the procedure",
              "medication": "Pain medication, past 7 days"}
PARTICIPANT_LEVEL = frozenset((*dataset.PARTICIPANT_COLUMNS, *dataset.IDENTIFIABLE_COLUMNS,
                               *clinical_dataset.CLINICAL_IDENTIFIABLE))
DATA_TYPES = {"decimal": "float", "integer": "integer", "string": "text", "datetime": "datetime", "date": "date"}


@dataclass(frozen=True)
class Form:
    key: str                       # participant, visit, or an instrument id
    items: tuple[Variable, ...]

    @property
    def oid(self) -> str:
        return f"F.{self.key.upper()}"

    @property
    def group_oid(self) -> str:
        return f"IG.{self.key.upper()}"


def form_of(variable: Variable) -> str | None:
    if variable.name == "study_id":
        return None
    if variable.instrument in INSTRUMENT_FORMS:
        return variable.instrument
    if variable.instrument == "clinician form" or variable.name in PARTICIPANT_LEVEL:
        return PARTICIPANT
    return VISIT


def forms(protocol: Protocol, identifiable: bool) -> dict[str, Form]:
    """Every form, by key, its items in the long file's column order."""
    grouped: dict[str, list[Variable]] = {key: [] for key in (PARTICIPANT, VISIT, *INSTRUMENT_FORMS)}
    for variable in dataset.codebook(protocol, identifiable):
        key = form_of(variable)
        if key:
            grouped[key].append(variable)
    return {key: Form(key, tuple(items)) for key, items in grouped.items()}


def item_oid(name: str) -> str:
    return f"IT.{name}"


def event_oid(timepoint_id: str) -> str:
    return f"SE.{timepoint_id}"

