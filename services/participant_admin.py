"""What nurses do to a participant: fix contact details, choose SMS or WhatsApp, withdraw, log a
call. (Opting out or in is services.messaging's; the WhatsApp opt-in services.whatsapp's.)

Every change is audited with who, when, before and after.
"""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from questionnaires.protocol import Protocol
from scheduler import channels
from scheduler.reminders import plan
from scheduler.schedule import window_for
from services.board import open_and_unfinished
from services.enrollment import check_contact
from services import whatsapp
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import channels as channel_rows
from storage import contacts as contact_log
from storage import participants, reminders, tokens, write
from storage.audit import record

CONTACT_KINDS = ("call", "sms", "in_person", "email")
CONTACT_OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number", "will_complete", "declined", "other")
MAX_NOTE_LENGTH = 1000


class AdminError(ValueError):
    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


def _participant(db, study_id: str) -> dict:
    participant = participants.by_study_id(db, study_id)
    if participant is None:
        raise LookupError(study_id)
    return participant


def update_contact(db, protocol: Protocol, languages: list[str], study_id: str, *, phone: str | None,
                   timezone: str, language: str, actor: str, now: datetime, country: str | None = None) -> dict:
    """Change phone, time zone and language; a new time zone moves the open windows and the
    reminders still pending to the new local days. Returns the fields that changed."""
    errors: dict[str, str] = {}
    clean_phone = check_contact(phone, timezone, language, languages, errors, country)
    if errors:
        raise AdminError(errors)
    with write(db):
        participant = _participant(db, study_id)
        after = {"phone": clean_phone, "timezone": timezone, "language": language}
        changed = {key: value for key, value in after.items() if participant[key] != value}
        if not changed:
            return {}
        participants.update_contact(db, participant["id"], changed)
        if "timezone" in changed and participant["procedure_date"]:
            _reschedule(db, protocol, participant, ZoneInfo(timezone), now)
        record(db, at=now, actor=actor, action="update_contact", entity="participant", entity_id=study_id,
               before={key: _masked(key, participant[key]) for key in changed},
               after={key: _masked(key, value) for key, value in changed.items()})
    return changed


def _masked(key: str, value):
    # The audit log records that a number changed and its last digits, not the number itself.
    return f"…{value[-2:]}" if key == "phone" and value else value


def _reschedule(db, protocol: Protocol, participant: dict, zone: ZoneInfo, now: datetime) -> None:
    procedure = date.fromisoformat(participant["procedure_date"])
    for row in participants.timepoints(db, participant["id"]):
        if row["completed_at"]:
            continue
        timepoint = protocol.timepoint(row["timepoint"])
        window = window_for(timepoint, procedure, zone)
        participants.move_window(db, row["id"], window.opens_at, window.closes_at)
        tokens.move_expiry(db, participant["id"], row["timepoint"], window.closes_at)
        planned = {p.attempt: p.at for p in plan(protocol.reminders, window.opens_at, window.closes_at, zone)}
        for reminder in reminders.pending_for(db, participant["id"], row["timepoint"]):
            if reminder["requested_by"]:
                continue  # a nurse's "send now" stays as asked
            at = planned.get(reminder["attempt"])
            if at is None:
                reminders.settle(db, reminder["id"], reminders.CANCELLED, now, reason="rescheduled")
            else:
                reminders.replan(db, reminder["id"], at, now)


def withdraw(db, study_id: str, *, reason: str, actor: str, now: datetime) -> None:
    """Stop all contact and keep every answer given so far."""
    reason = clean_text(reason)
    if not reason:
        raise AdminError({"reason": "say why the participant is withdrawn"})
    if len(reason) > MAX_REASON_LENGTH:
        raise AdminError({"reason": f"at most {MAX_REASON_LENGTH} characters"})
    with write(db):
        participant = _participant(db, study_id)
        if participant["status"] == "withdrawn":
            raise AdminError({"reason": f"{study_id} was already withdrawn"})
        participants.withdraw(db, participant["id"], reason=reason, at=now)
        cancelled = reminders.cancel_pending(db, participant["id"], "withdrawn", now)
        record(db, at=now, actor=actor, action="withdraw", entity="participant", entity_id=study_id,
               before={"status": participant["status"]}, after={"status": "withdrawn", "reminders_cancelled": cancelled},
               reason=reason)


def log_contact(db, protocol: Protocol, study_id: str, *, kind: str, outcome: str, timepoint: str | None,
                note: str | None, actor: str, now: datetime) -> int:
    errors: dict[str, str] = {}
    if kind not in CONTACT_KINDS:
        errors["kind"] = f"one of {', '.join(CONTACT_KINDS)}"
    if outcome not in CONTACT_OUTCOMES:
        errors["outcome"] = f"one of {', '.join(CONTACT_OUTCOMES)}"
    timepoint = timepoint or None
    if timepoint is not None and protocol.timepoint(timepoint) is None:
        errors["timepoint"] = "not a timepoint of this protocol"
    note = clean_text(note) or None      # controls dropped; nothing visible is no note
    if note and len(note) > MAX_NOTE_LENGTH:
        errors["note"] = f"at most {MAX_NOTE_LENGTH} characters"
    if errors:
        raise AdminError(errors)
    with write(db):
        participant = _participant(db, study_id)
        contact_id = contact_log.insert(db, participant_id=participant["id"], at=now, by_user=actor, kind=kind,
                                        outcome=outcome, timepoint=timepoint, note=note)
        record(db, at=now, actor=actor, action="log_contact", entity="participant", entity_id=study_id,
               after={"kind": kind, "outcome": outcome, "timepoint": timepoint})
    return contact_id


class NotOpen(AdminError):
    pass


def resend_link(db, dispatcher, participant: dict, timepoint: str, *, actor: str, now: datetime) -> str:
    """A nurse asks for a fresh link by SMS now: sent by the dispatcher's own rules (never to an
    opted-out number, deferred in the participant's quiet hours); the request and its outcome
    are audited. Raises NotOpen when the timepoint is not open and unfinished."""
    if not open_and_unfinished(db, participant, timepoint, now):
        found = dispatcher.protocol.timepoint(timepoint) if timepoint else None
        raise NotOpen({"timepoint": f"{found.label if found else 'That timepoint'} is not open and unfinished."})
    outcome = dispatcher.send_now(db, participant["id"], timepoint, now, requested_by=actor)
    with write(db):
        record(db, at=now, actor=actor, action="request_sms", entity="participant", entity_id=participant["study_id"],
               after={"timepoint": timepoint, "outcome": outcome})
    return outcome


def set_channel(db, study_id: str, channel: str, *, opt_in: bool, wording_version: str, actor: str,
                now: datetime) -> list[str]:
    """A nurse chooses the participant's channel and, for WhatsApp, may record the opt-in the
    patient gave in clinic. Returns what changed (``channel``, ``opt_in``, ``whatsapp_problem``):
    nothing when all was already so (an opt-in recorded twice keeps the first). Choosing WhatsApp
    again clears a "not on WhatsApp" flag (the patient may have installed it since). Raises
    AdminError for an unknown channel, an opt-in without WhatsApp, a withdrawn participant or one
    without a phone, and LookupError for an unknown participant."""
    if channel not in channels.CHANNELS:
        raise AdminError({"channel": "choose SMS or WhatsApp"})
    if opt_in and channel != channels.WHATSAPP:
        raise AdminError({"opt_in": "an opt-in is to WhatsApp: choose WhatsApp to record it"})
    with write(db):
        participant = participants.by_study_id(db, study_id)
        if participant is None:
            raise LookupError(study_id)
        if participant["status"] != "active":
            raise AdminError({"channel": f"{study_id} is withdrawn: no message goes to them on any channel"})
        if channel == channels.WHATSAPP and not participant["phone"]:
            raise AdminError({"channel": f"{study_id} has no phone number for WhatsApp"})
        changed = []
        if channel_rows.set_channel(db, participant["id"], channel):
            record(db, at=now, actor=actor, action="set_channel", entity="participant", entity_id=study_id,
                   before={"channel": participant["channel"]}, after={"channel": channel})
            changed.append("channel")
        if channel == channels.WHATSAPP and participant["whatsapp_problem"]:
            channel_rows.set_whatsapp_problem(db, participant["id"], None)
            record(db, at=now, actor=actor, action="flag_whatsapp", entity="participant", entity_id=study_id,
                   before={"whatsapp_problem": participant["whatsapp_problem"]}, after={"whatsapp_problem": None},
                   reason="WhatsApp chosen again")
            changed.append("whatsapp_problem")
        if opt_in and whatsapp.record_opt_in(db, participant, source=channels.CLINIC,
                                             wording_version=wording_version, actor=actor, now=now):
            changed.append("opt_in")
    return changed
