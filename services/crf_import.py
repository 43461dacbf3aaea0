"""Importing paper-collected clinician data: baseline and procedure records a row per participant,
and adverse events a row each. Validated whole, then stored in one transaction, or nothing.

Participants not yet enrolled are created as the answers import creates them (and a later answers
import adds to them). Importing the same file again changes nothing; a record that differs from
what is stored is refused: correct it on the participant's page, as a new version with a reason.
"""
from __future__ import annotations

from datetime import datetime

from questionnaires.crf import BASELINE_FORM, EVENT_FORM, PROCEDURE_FORM
from questionnaires.protocol import Protocol
from reports import crf_importer
from reports.importer import ImportError_, Problem
from services.dataset import create_from_paper
from storage import crf, participants, write
from storage.audit import record


def _store(db, participant: dict, form: str, item: int, data: dict, *, actor: str, now: datetime) -> None:
    crf.insert_version(db, participant_id=participant["id"], form=form, item=item, version=1, data=data, at=now,
                       by=actor, reason=None)
    record(db, at=now, actor=actor, action="record_form", entity="participant", entity_id=participant["study_id"],
           after={"form": form, "item": item, "version": 1, "source": "paper"})


def import_records(db, protocol: Protocol, data: bytes, *, actor: str, now: datetime) -> dict[str, int]:
    """`crf import`: raises ImportError_ with every problem (row, column, message)."""
    parsed = crf_importer.parse(data, protocol, participants.arms_by_study_id(db), now.date())
    counts = {"participants_created": 0, "records_stored": 0, "records_unchanged": 0, "events_stored": 0}
    rows = {study_id: number for number, study_id, _ in parsed.events}
    with write(db):
        conflicts = []
        for study_id, arm in parsed.arms.items():
            participant = participants.by_study_id(db, study_id)
            if participant is None:
                create_from_paper(db, study_id, arm, parsed.punctures.get(study_id), actor=actor, now=now)
                participant = participants.by_study_id(db, study_id)
                counts["participants_created"] += 1
            for form, records in ((BASELINE_FORM, parsed.baseline), (PROCEDURE_FORM, parsed.procedure)):
                if study_id not in records:
                    continue
                existing = crf.current(db, participant["id"], form, 0)
                if existing is None:
                    _store(db, participant, form, 0, records[study_id], actor=actor, now=now)
                    counts["records_stored"] += 1
                elif existing["data"] == records[study_id]:
                    counts["records_unchanged"] += 1
                else:
                    conflicts.append(Problem(rows.get(study_id, 0), form, f"{study_id} already has a different "
                                             f"{form} record: correct it on the participant's page, with a reason"))
        for number, study_id, event in parsed.events:
            participant = participants.by_study_id(db, study_id)
            counts["events_stored"] += _store_event(db, participant, event, actor=actor, now=now)
        if conflicts:
            raise ImportError_(conflicts)   # rolls the whole transaction back
        record(db, at=now, actor=actor, action="import_crf", entity="dataset", entity_id="crf", after=counts)
    return counts


def import_events(db, data: bytes, *, actor: str, now: datetime) -> dict[str, int]:
    """`crf import-events`: one adverse event a row, for participants already in the database."""
    enrolled = set(participants.arms_by_study_id(db))
    events = crf_importer.parse_events(data, enrolled, now.date())
    counts = {"events_stored": 0, "events_unchanged": 0}
    with write(db):
        for _, study_id, event in events:
            stored = _store_event(db, participants.by_study_id(db, study_id), event, actor=actor, now=now)
            counts["events_stored" if stored else "events_unchanged"] += 1
        record(db, at=now, actor=actor, action="import_crf", entity="dataset", entity_id="events", after=counts)
    return counts


def _store_event(db, participant: dict, event: dict, *, actor: str, now: datetime) -> int:
    """1 when stored; 0 when the same event is there already (the same file imported again)."""
    if any(row["data"] == event for row in crf.newest(db, form=EVENT_FORM, participant_id=participant["id"])):
        return 0
    _store(db, participant, EVENT_FORM, crf.next_item(db, participant["id"], EVENT_FORM), event, actor=actor, now=now)
    return 1
