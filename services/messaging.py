"""The one place that changes what we know about a participant's SMS: opting out and in,
flagging a number that cannot take SMS, a message's delivery status, and a patient's reply. The
same on WhatsApp: a STOP (or a quick-reply button whose payload is STOP) opts out on both channels,
the opt-out being the number's; a failed WhatsApp reminder gets its one SMS here (``fall_back``).

The Twilio webhooks, the reminder dispatcher and the nurses' pages all come here, so each rule
(and its audit entry) is written once. Functions named for a single change (``opt_out``,
``opt_in``, ``flag_number``) run inside the caller's write transaction; the others open their own.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from scheduler import channels
from services import whatsapp
from sms.errors import delivery_problem
from sms.gateway import BAD_NUMBER, NOT_ON_WHATSAPP, OPTED_OUT
from storage import messages, opt_outs, participants, reminders, write
from storage.audit import record
from storage.db import parse_utc

log = logging.getLogger(__name__)

# Twilio's standard opt-out and opt-in keywords (Advanced Opt-Out defaults), and their Arabic:
# "stop", "cancel", "halt"; "start", "resume"; "help" (matched after folding the alef and
# taa-marbuta variants people type), and Latin-script spellings of them seen in Egyptian SMS.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE",
              "ايقاف", "الغاء", "توقف", "وقف", "اوقف", "EQAF", "IQAF", "ELGHAA", "ILGHAA"}
START_WORDS = {"START", "YES", "UNSTOP", "ابدا", "بدء", "استئناف", "اشتراك", "EBDA", "IBDA"}
HELP_WORDS = {"HELP", "INFO", "مساعده", "مساعدة", "MOSAADA", "MUSAADA"}
_FOLD = str.maketrans({"إ": "ا", "أ": "ا", "آ": "ا", "ة": "ه", "ى": "ي", "ـ": None})
_PUNCTUATION = ".!?؟۔،,"
STOP, START, HELP = "stop", "start", "help"
# Every keyword, folded once: a reply is looked up, not compared with each list.
_KEYWORDS = {word.translate(_FOLD): keyword for keyword, words in
             ((STOP, STOP_WORDS), (START, START_WORDS), (HELP, HELP_WORDS)) for word in words}
PROVIDER = "twilio"  # the actor of changes the SMS provider reports
DEFAULT_LANGUAGE = "en"
# A status callback can come before the dispatcher has recorded its message's SID (it records a
# group's SIDs after the group's sends, within half the lease; after a crash, recovery records it
# a lease and a pass later). Such a status waits this long for its SID, then is dropped.
EARLY_STATUS_HOLD = timedelta(minutes=15)


def opt_out(db, participant: dict, *, actor: str, reason: str, now: datetime, block_number: bool = False) -> bool:
    """Stop SMS to this participant (audited); False when they had already opted out.
    ``block_number``: the number itself opted out (the provider says so), so nobody on it is sent to.
    An opt-out holds on both channels: the WhatsApp opt-in goes too (a START brings SMS back, not
    WhatsApp: that needs a new opt-in)."""
    if block_number and participant["phone"]:
        opt_outs.block(db, participant["phone"], reason=reason, now=now)
    whatsapp.withdraw_opt_in(db, participant, actor=actor, reason=reason, now=now)
    return _set_opt_out(db, participant, True, actor=actor, reason=reason, now=now)


def opt_in(db, participant: dict, *, actor: str, reason: str, now: datetime) -> bool:
    """Start SMS again (audited); False when they had not opted out."""
    return _set_opt_out(db, participant, False, actor=actor, reason=reason, now=now)


def _set_opt_out(db, participant: dict, opted_out: bool, *, actor: str, reason: str, now: datetime) -> bool:
    if not participants.set_opt_out(db, participant["id"], opted_out):
        return False
    record(db, at=now, actor=actor, action="sms_opt_out" if opted_out else "sms_opt_in", entity="participant",
           entity_id=participant["study_id"], before={"sms_opt_out": int(not opted_out)},
           after={"sms_opt_out": int(opted_out)}, reason=reason)
    return True


def flag_number(db, participant: dict, *, error_code: int | None, now: datetime, detail: str | None = None,
                actor: str = PROVIDER) -> bool:
    """Mark the participant's number as unable to take SMS, for the nurses to fix (audited).
    A number already flagged keeps its first problem; False then."""
    if participant["phone_problem"]:
        return False
    problem = f"Twilio error {error_code}" + (f": {detail}" if detail else "")
    participants.set_phone_problem(db, participant["id"], problem)
    record(db, at=now, actor=actor, action="flag_phone", entity="participant",
           entity_id=participant["study_id"], after={"phone_problem": error_code})
    return True


def flag_whatsapp(db, participant: dict, *, error_code: int | None, now: datetime, detail: str | None = None) -> bool:
    """The number has no WhatsApp (services.whatsapp.flag_whatsapp): for the dispatcher."""
    return whatsapp.flag_whatsapp(db, participant, error_code=error_code, now=now, detail=detail)


def fall_back(db, reminder: dict, *, error_code: int | None, now: datetime) -> bool:
    """A WhatsApp reminder failed: the one SMS that replaces it, due now (audited). Inside the
    caller's write transaction, the one that records the failure. False when that reminder already
    has its SMS (a replayed callback, a second failure report)."""
    if reminders.insert_fallback(db, reminder, channel=channels.SMS, now=now) is None:
        return False
    participant = participants.by_id(db, reminder["participant_id"])
    record(db, at=now, actor=PROVIDER, action="whatsapp_fallback", entity="participant",
           entity_id=participant["study_id"],
           after={"timepoint": reminder["timepoint"], "attempt": reminder["attempt"], "error_code": error_code})
    return True


def set_sms_preference(db, study_id: str, opted_out: bool, *, actor: str, reason: str, now: datetime) -> bool:
    """A nurse records that the participant wants SMS stopped or restarted; False if no change.
    Raises LookupError for an unknown participant."""
    with write(db):
        participant = participants.by_study_id(db, study_id)
        if participant is None:
            raise LookupError(study_id)
        return _set_opt_out(db, participant, opted_out, actor=actor, reason=reason, now=now)


def record_status(db, *, sid: str, status: str, error_code: int | None, now: datetime) -> bool:
    """A delivery status from the provider: moves the message's status forward only, and acts on
    an error that means the patient opted out or the number is bad. False for an unknown SID."""
    if status not in messages.STATUS_RANK:
        raise ValueError(f"unknown message status {status!r}")
    with write(db):
        message = messages.by_sid(db, sid)
        if message is None:
            # Not ours, or not recorded yet: held for EARLY_STATUS_HOLD, changing no message.
            messages.hold_early_status(db, sid, status, error_code, now, keep_since=now - EARLY_STATUS_HOLD)
            log.info("status callback for a message we have not recorded; held")
            return False
        _apply_status(db, message, status, error_code, now)
    return True


def _apply_status(db, message: dict, status: str, error_code: int | None, now: datetime) -> None:
    if not messages.advance_status(db, message["sid"], status, error_code, now):
        # Not news (a replayed or late callback: the status is already this or further): a
        # signed callback posted again must change nothing, an opt-out least of all.
        return
    participant = participants.by_id(db, message["participant_id"])
    problem = delivery_problem(error_code)
    if problem and problem[0] == OPTED_OUT:
        opt_out(db, participant, actor=PROVIDER, reason=f"delivery error {error_code}", now=now, block_number=True)
    elif problem and problem[0] == BAD_NUMBER:
        flag_number(db, participant, error_code=error_code, detail=problem[1], now=now)
    elif problem and problem[0] == NOT_ON_WHATSAPP:
        flag_whatsapp(db, participant, error_code=error_code, detail=problem[1], now=now)
    failed = status in ("failed", "undelivered")
    if message["reminder_id"] and channels.falls_back(
            message["channel"], failed=failed, retried=False,
            sms_allowed=not problem or problem[0] == NOT_ON_WHATSAPP):
        fall_back(db, reminders.by_id(db, message["reminder_id"]), error_code=error_code, now=now)


def apply_early_statuses(db, sids: Sequence[str]) -> None:
    """The statuses held for these SIDs (just recorded), as if they came now, each at its own time.
    Inside the write transaction that recorded the SIDs."""
    for held in messages.take_early_statuses(db, list(sids)):
        message = messages.by_sid(db, held["sid"])
        if message is not None:
            _apply_status(db, message, held["status"], held["error_code"], parse_utc(held["at"]))


@dataclass(frozen=True)
class Reply:
    keyword: str | None     # STOP, START, HELP, or None for any other text (kept for the nurses)
    language: str           # the sender's language, for an answer
    replayed: bool = False  # a MessageSid already received: nothing was done, and nothing is answered
    answer: str | None = None  # for an answer to an SMS question: the SMS to answer with (services.sms_answers)
    value: int | None = None   # the answer recorded, for that SMS
    known: bool = True         # the number is a participant's (an unknown WhatsApp number gets no answer)
    opted_in: bool = False     # the message recorded a WhatsApp opt-in: it is confirmed


def keyword_of(body: str) -> tuple[str | None, str]:
    """(STOP, START, HELP or None, the word as the patient wrote it, normalised)."""
    word = body.strip().strip(_PUNCTUATION).strip().upper()
    return _KEYWORDS.get(word.translate(_FOLD)), word


def receive_reply(db, *, sender: str, body: str, sid: str | None, now: datetime, channel: str = channels.SMS,
                  payload: str | None = None, media: Sequence[dict] = (), wording_version: str | None = None) -> Reply:
    """Keep a patient's SMS or WhatsApp message and act on STOP or START for every participant on
    that number (two people can share a phone: each is opted out or in, each audited). On WhatsApp,
    ``payload`` is a quick-reply button's (its keyword counts first), ``media`` the attachments
    (kept, never read), and a participant's own first message is their opt-in (``wording_version``
    of what they were given to agree to)."""
    keyword, word = keyword_of(payload or body)
    if keyword is None and payload:
        keyword, word = keyword_of(body)
    with write(db):
        matched = participants.by_phone(db, sender)
        # A keyword is acted on here and now: it needs no nurse, so it never waits in the inbox.
        kept = keep_reply(db, participant_id=matched[0]["id"] if matched else None, sender=sender, body=body,
                          sid=sid, now=now, handled_by=f"automatic ({word})" if keyword else None, channel=channel,
                          media=media)
        if kept is None:
            # Twilio's signature has no timestamp: a captured START posted again after a STOP would
            # opt the participant back in. A MessageSid is acted on once, its first time.
            log.info("an inbound message already received was posted again; ignored")
            return Reply(keyword, matched[0]["language"] if matched else DEFAULT_LANGUAGE, replayed=True,
                         known=bool(matched))
        # The number itself: Twilio blocks it, and whoever is enrolled on it later must not be sent to.
        if keyword == STOP:
            opt_outs.block(db, sender, reason=f"replied {word}", now=now)
        elif keyword == START:
            opt_outs.unblock(db, sender)
        opted_in = False
        for participant in matched:
            if keyword == STOP:
                opt_out(db, participant, actor="participant", reason=f"replied {word}", now=now)
            elif keyword == START:
                opt_in(db, participant, actor="participant", reason=f"replied {word}", now=now)
            elif keyword is None and channel == channels.WHATSAPP and wording_version:
                opted_in |= whatsapp.opt_in_by_message(db, participant, wording_version=wording_version, now=now)
    return Reply(keyword, matched[0]["language"] if matched else DEFAULT_LANGUAGE, known=bool(matched),
                 opted_in=opted_in)


def keep_reply(db, *, participant_id: int | None, sender: str, body: str, sid: str | None, now: datetime,
               handled_by: str | None = None, channel: str = channels.SMS, media: Sequence[dict] = ()) -> int | None:
    """Keep a patient's SMS or WhatsApp message (inside the caller's write transaction), with its
    media's types and addresses; ``handled_by`` marks one that needs no nurse. None, and nothing
    kept, for a MessageSid already received: Twilio's signature has no timestamp, so a webhook
    posted again must change nothing."""
    return messages.insert_inbound(db, participant_id=participant_id, from_number=sender, body=body, sid=sid,
                                   now=now, handled_by=handled_by, channel=channel,
                                   media=json.dumps(list(media)) if media else None)


def mark_handled(db, message_id: int, *, actor: str, now: datetime) -> bool:
    """A nurse has dealt with a patient's reply (audited). Marking it again changes nothing and
    returns False. Raises LookupError when there is no such reply."""
    with write(db):
        reply = messages.inbound_by_id(db, message_id)
        if reply is None:
            raise LookupError(message_id)
        if not messages.mark_handled(db, message_id, by=actor, at=now):
            return False
        record(db, at=now, actor=actor, action="handle_reply", entity="message", entity_id=message_id,
               before={"handled": False}, after={"handled": True, "study_id": reply["study_id"]})
    return True
