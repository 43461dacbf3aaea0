"""Recording clinician forms: baseline characteristics, the procedure record and adverse events.

Every form is versioned like the answers: the first save is version 1; an edit needs a reason and
stores a new version, keeping the old; every save is audited with who, when, before and after.
Validation is the pure forms' (questionnaires/crf.py); nothing invalid or partial is stored.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from questionnaires.base import AnswerError
from questionnaires.crf import (
    BASELINE_FORM,
    EVENT_FORM,
    PROCEDURE_FORM,
    validate_baseline,
    validate_event,
    validate_procedure,
)
from questionnaires.protocol import Protocol
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import crf, participants, write
from storage.audit import record
from storage.db import parse_utc

ACKNOWLEDGED = "acknowledged by an investigator"


def _participant(db, study_id: str) -> dict:
    participant = participants.by_study_id(db, (study_id or "").strip())
    if participant is None:
        raise AnswerError({"study_id": f"no participant {study_id!r}"})
    return participant


def local_dates(participant: dict, now: datetime) -> tuple[date, date]:
    """(the day the participant was enrolled, today), in the participant's own calendar."""
    zone = ZoneInfo(participant["timezone"])
    return parse_utc(participant["enrolled_at"]).astimezone(zone).date(), now.astimezone(zone).date()


def _save(db, participant: dict, form: str, item: int, clean: dict, *, actor: str, now: datetime,
          edit: bool, reason: str | None, expected_version: int | None = None) -> dict:
    """Store ``clean`` as the next version of one form item, inside the caller's transaction.
    ``expected_version``: the version the editor saw; if another was saved since, nothing is stored."""
    reason = clean_text(reason) or None
    existing = crf.current(db, participant["id"], form, item)
    if existing is not None and expected_version is not None and existing["version"] != expected_version:
        raise AnswerError({"form": f"{existing['recorded_by']} saved version {existing['version']} of this record "
                                   "after you opened it, so nothing was stored: check it and correct it again"})
    if existing is None and edit:
        raise AnswerError({"form": f"{participant['study_id']} has no {form.replace('_', ' ')} record to edit"})
    if existing is not None and not edit:
        raise AnswerError({"form": f"{participant['study_id']} already has a {form.replace('_', ' ')} record: "
                                   "edit it, with the reason for the change"})
    if existing is not None:
        if not reason:
            raise AnswerError({"reason": "say why the record is changed"})
        if len(reason) > MAX_REASON_LENGTH:
            raise AnswerError({"reason": f"at most {MAX_REASON_LENGTH} characters"})
        if existing["data"] == clean:
            return existing
    version = 1 if existing is None else existing["version"] + 1
    crf.insert_version(db, participant_id=participant["id"], form=form, item=item, version=version, data=clean,
                       at=now, by=actor, reason=reason if existing else None)
    changed = {k: v for k, v in clean.items() if existing is None or existing["data"].get(k) != v}
    record(db, at=now, actor=actor, action="edit_form" if existing else "record_form", entity="participant",
           entity_id=participant["study_id"],
           before={"form": form, "item": item, **{k: existing["data"].get(k) for k in changed}} if existing else None,
           after={"form": form, "item": item, "version": version, **changed}, reason=reason if existing else None)
    return crf.current(db, participant["id"], form, item)


def record_baseline(db, protocol: Protocol, study_id: str, data: dict[str, Any], *, actor: str, now: datetime,
                    edit: bool = False, reason: str | None = None, expected_version: int | None = None) -> dict:
    with write(db):
        participant = _participant(db, study_id)
        enrolled_on, _ = local_dates(participant, now)
        clean = validate_baseline(data, enrolled_on=enrolled_on)
        return _save(db, participant, BASELINE_FORM, 0, clean, actor=actor, now=now, edit=edit, reason=reason,
                     expected_version=expected_version)


def record_procedure(db, protocol: Protocol, study_id: str, data: dict[str, Any], *, actor: str, now: datetime,
                    edit: bool = False, reason: str | None = None, expected_version: int | None = None) -> dict:
    """One procedure record per participant: a second save must be an edit, with a reason."""
    with write(db):
        participant = _participant(db, study_id)
        enrolled_on, today = local_dates(participant, now)
        clean = validate_procedure(data, protocol.clinical, enrolled_on=enrolled_on, today=today)
        return _save(db, participant, PROCEDURE_FORM, 0, clean, actor=actor, now=now, edit=edit, reason=reason,
                     expected_version=expected_version)


def record_event(db, protocol: Protocol, study_id: str, data: dict[str, Any], *, actor: str, now: datetime,
                 item: int | None = None, reason: str | None = None, expected_version: int | None = None) -> dict:
    """A new adverse event (``item`` None), or an edit of event ``item`` with a reason."""
    with write(db):
        participant = _participant(db, study_id)
        enrolled_on, today = local_dates(participant, now)
        clean = validate_event(data, enrolled_on=enrolled_on, today=today)
        if item is None:
            return _save(db, participant, EVENT_FORM, crf.next_item(db, participant["id"], EVENT_FORM), clean,
                         actor=actor, now=now, edit=False, reason=None)
        existing = crf.current(db, participant["id"], EVENT_FORM, item)
        if existing and existing["data"].get("acknowledged_by"):   # an edit keeps the acknowledgement
            clean = {**clean, **{k: existing["data"][k] for k in ("acknowledged_by", "acknowledged_at")}}
        return _save(db, participant, EVENT_FORM, item, clean, actor=actor, now=now, edit=True, reason=reason,
                     expected_version=expected_version)


def acknowledge_event(db, study_id: str, item: int, *, actor: str, now: datetime) -> bool:
    """An investigator has seen a serious event: it leaves the top of the board. Idempotent."""
    with write(db):
        participant = _participant(db, study_id)
        existing = crf.current(db, participant["id"], EVENT_FORM, item)
        if existing is None:
            raise AnswerError({"item": f"{study_id} has no adverse event {item}"})
        if existing["data"].get("acknowledged_by"):
            return False
        data = {**existing["data"], "acknowledged_by": actor, "acknowledged_at": now.isoformat(timespec="seconds")}
        crf.insert_version(db, participant_id=participant["id"], form=EVENT_FORM, item=item,
                           version=existing["version"] + 1, data=data, at=now, by=actor, reason=ACKNOWLEDGED)
        record(db, at=now, actor=actor, action="acknowledge_event", entity="participant", entity_id=study_id,
               after={"item": item, "event": existing["data"]["event"]}, reason=ACKNOWLEDGED)
    return True


def serious_unacknowledged(db) -> list[dict]:
    """Serious adverse events no investigator has acknowledged yet, newest onset first."""
    found = [row for row in crf.newest(db, form=EVENT_FORM)
             if row["data"].get("serious") == "yes" and not row["data"].get("acknowledged_by")]
    # A serious event imported from paper may have no onset date: it sorts last, never fails.
    return sorted(found, key=lambda row: row["data"].get("onset_date") or "", reverse=True)
