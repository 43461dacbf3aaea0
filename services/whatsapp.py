"""A participant's channel, SMS or WhatsApp: choosing it, the WhatsApp opt-in, and a number
WhatsApp does not know. Which channel a message then takes is scheduler.channels' rule.

WhatsApp needs the participant's recorded opt-in: when (the time), how (staff in clinic, or the
patient's own first WhatsApp message) and which wording they agreed to (its version). Without it,
a participant chosen for WhatsApp stays on SMS, and the participant page says why. A STOP, on
either channel, withdraws the opt-in with the SMS opt-out (services.messaging.opt_out); a START
restarts SMS only: WhatsApp waits for a new opt-in.

Every change is audited, inside the caller's write transaction. A nurse's choice of channel is
services.participant_admin.set_channel.
"""
from __future__ import annotations

from datetime import datetime

from scheduler import channels
from storage import channels as store
from storage import opt_outs
from storage.audit import record

PROVIDER = "twilio"


def record_opt_in(db, participant: dict, *, source: str, wording_version: str, actor: str, now: datetime) -> bool:
    """Record the participant's WhatsApp opt-in (audited); False when one is already recorded."""
    if source not in channels.OPT_IN_SOURCES:
        raise ValueError(f"an opt-in comes from {' or '.join(channels.OPT_IN_SOURCES)}, not {source!r}")
    if not store.record_opt_in(db, participant["id"], at=now, source=source, wording_version=wording_version):
        return False
    record(db, at=now, actor=actor, action="whatsapp_opt_in", entity="participant", entity_id=participant["study_id"],
           after={"source": source, "wording_version": wording_version})
    return True


def withdraw_opt_in(db, participant: dict, *, actor: str, reason: str, now: datetime) -> bool:
    """Withdraw the WhatsApp opt-in (audited, with what it was); False when there was none."""
    if not store.clear_opt_in(db, participant["id"]):
        return False
    record(db, at=now, actor=actor, action="whatsapp_opt_out", entity="participant", entity_id=participant["study_id"],
           before={"opted_in_at": participant["whatsapp_opt_in_at"], "source": participant["whatsapp_opt_in_source"],
                   "wording_version": participant["whatsapp_opt_in_version"]}, reason=reason)
    return True


def opt_in_by_message(db, participant: dict, *, wording_version: str, now: datetime) -> bool:
    """The patient's own WhatsApp message is their opt-in, for a participant chosen for WhatsApp who
    has none yet, is active, and whose number is not blocked (a STOP stands until START); False
    when it records nothing."""
    if participant["channel"] != channels.WHATSAPP or participant["whatsapp_opt_in_at"] \
            or participant["status"] != "active" or opt_outs.blocked(db, participant["phone"]):
        return False
    return record_opt_in(db, participant, source=channels.PATIENT_MESSAGE, wording_version=wording_version,
                         actor="participant", now=now)


def flag_whatsapp(db, participant: dict, *, error_code: int | None, now: datetime, detail: str | None = None) -> bool:
    """Flag the participant's number as unknown to WhatsApp (audited): their messages go by SMS
    until a nurse chooses WhatsApp again or changes the number. False when already flagged."""
    if participant["whatsapp_problem"]:
        return False
    problem = f"Twilio error {error_code}" + (f": {detail}" if detail else "")
    store.set_whatsapp_problem(db, participant["id"], problem)
    record(db, at=now, actor=PROVIDER, action="flag_whatsapp", entity="participant", entity_id=participant["study_id"],
           after={"whatsapp_problem": error_code})
    return True


def channel_now(participant: dict, available: bool) -> channels.Channel:
    """The channel the participant's messages go on now, and why not WhatsApp if they chose it."""
    return channels.effective_channel(participant["channel"], opted_in=bool(participant["whatsapp_opt_in_at"]),
                                      problem=participant["whatsapp_problem"], available=available)
