"""Answers by SMS reply: a nurse marks a participant "SMS answers" (audited), the reminder
dispatcher asks them the pain question by SMS at the question's timepoints
(scheduler.reminders.SMS_QUESTION_TIMEPOINTS), and their reply is recorded here.

A reply that is not STOP, START or HELP (those come first, always: services.messaging) answers a
question when exactly one question asked by SMS to that number waits for its answer: asked (the
question SMS went, or may have), its window open, not answered by any means yet. Then:

- one whole number from 0 to 10, in ASCII, Arabic-Indic or Eastern Arabic-Indic digits, alone
  or written "N/10" (``parse_reply``): recorded through services.answers.submit, the web form's
  own path, as the VAS in its numeric mode (``input_mode='nrs'``, ``source='sms'``; NRS 6 is
  reported as 6.0 cm), and thanked;
- anything else: the question's one clarifying SMS, then, for the next such reply, the nurses'
  inbox.

Everything else is kept for the nurses as any reply is: an unknown number, a late reply (the
window closed), a reply where nothing was asked or the answer is already in, and a number shared
by two participants who both wait for an answer (nothing tells whose it is). A MessageSid is
acted on once: a webhook posted again records nothing and is answered with nothing.
"""
from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from questionnaires.base import normalise_digits
from questionnaires.protocol import Protocol
from questionnaires.vas import MODE_NRS, NRS_MAX
from scheduler.reminders import (
    SMS_QUESTION_INSTRUMENT,
    SMS_QUESTION_TIMEPOINTS,
    sms_question_at,
)
from scheduler import channels
from scheduler.schedule import OPEN, window_state
from services import answers, messaging
from services.free_text import MAX_REASON_LENGTH, clean_text
from services.participant_admin import AdminError
from storage import messages, opt_outs, participants, write
from storage import sms_answers as store
from storage.audit import record
from storage.db import parse_utc

SOURCE = "sms"
THANKS, CLARIFY = "thanks", "clarify"   # the SMS that answers a reply (web.sms_questions has the texts)

# A number alone, or "N/10": how a 0-10 pain score is written ("6/10" is the scale's own notation,
# naming the same 0-10 scale, so it is read as 6; any other denominator, "6/100" or "3/5", is not
# rescaled but asked again). ASCII digits only, after normalise_digits: "\d" would also take
# digits of other scripts, which int() reads.
_ANSWER = re.compile(r"([0-9]{1,2})(?:\s*/\s*10)?")
# Around the number: the direction marks an Arabic keyboard inserts, unseen, and end punctuation.
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200e\u200f\u061c\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
                                    "\ufeff"))
_END_PUNCTUATION = ".!?؟۔،,"


def parse_reply(text: str) -> int | None:
    """The 0-10 answer a reply gives, or None when it gives none unambiguously: "6", "٦", "۶",
    " 6. ", "06" and "6/10" are 6; "5 or 6", "6.5", "11", "six", "ok", an emoji or nothing is None."""
    clean = normalise_digits(text).translate(_INVISIBLE).strip().strip(_END_PUNCTUATION).strip()
    found = _ANSWER.fullmatch(clean)
    if found is None:
        return None
    value = int(found.group(1))
    return value if value <= NRS_MAX else None


def set_answers_by_sms(db, study_id: str, on: bool, *, reason: str | None, actor: str, now: datetime) -> bool:
    """A nurse marks a participant as answering the pain question by SMS reply, or back to links
    (audited with the reason); False when it was already so. Raises AdminError for a missing or
    overlong reason, or for switching it on for a participant who gets no SMS (withdrawn, no phone,
    opted out), and LookupError for an unknown participant."""
    reason = clean_text(reason)
    if not reason:
        raise AdminError({"reason": "say why the participant answers by SMS, or no longer does"})
    if len(reason) > MAX_REASON_LENGTH:
        raise AdminError({"reason": f"at most {MAX_REASON_LENGTH} characters"})
    with write(db):
        participant = participants.by_study_id(db, study_id)
        if participant is None:
            raise LookupError(study_id)
        if on and participant["status"] != "active":
            raise AdminError({"answers_by_sms": f"{study_id} is withdrawn: no SMS goes to them"})
        if on and not participant["phone"]:
            raise AdminError({"answers_by_sms": f"{study_id} has no phone number to send the question to"})
        if on and participant["sms_opt_out"]:
            raise AdminError({"answers_by_sms": f"{study_id} opted out of SMS: restart SMS first"})
        if not store.set_answers_by_sms(db, participant["id"], on):
            return False
        record(db, at=now, actor=actor, action="sms_answers", entity="participant", entity_id=study_id,
               before={"answers_by_sms": int(not on)}, after={"answers_by_sms": int(on)}, reason=reason)
    return True


def asks_by_sms(db, protocol: Protocol, participant: dict, timepoint: str) -> bool:
    """Whether an SMS to this participant for this timepoint now carries the pain question rather
    than a link (the dispatcher's rule: scheduler.dispatch)."""
    return sms_question_at(bool(participant["answers_by_sms"]), protocol.timepoint(timepoint)) and \
        SMS_QUESTION_INSTRUMENT not in answers.instruments_received(db, participant["id"], timepoint)


def waiting(db, sender: str, now: datetime) -> list[dict]:
    """The questions asked by SMS to this number that wait for their answer now: each a
    participant's row with its ``question_timepoint``."""
    return [row for row in store.asked_and_unanswered(db, sender, SMS_QUESTION_TIMEPOINTS, SMS_QUESTION_INSTRUMENT)
            if window_state(now, parse_utc(row["question_opens_at"]), parse_utc(row["question_closes_at"])) == OPEN]


def receive_reply(db, protocol: Protocol, *, sender: str, body: str, sid: str | None, now: datetime,
                  channel: str = channels.SMS, payload: str | None = None, media: Sequence[dict] = (),
                  wording_version: str | None = None) -> messaging.Reply:
    """Keep a patient's SMS or WhatsApp message and act on it: STOP, START or HELP first (a
    WhatsApp button's ``payload`` too: services.messaging), then an answer to the one question
    waiting on that number, else kept for the nurses. A message with media (a photo, a voice note)
    is kept, never read as an answer."""
    keyword = messaging.keyword_of(payload)[0] if payload else None
    keyword = keyword or messaging.keyword_of(body)[0]
    questions = [] if keyword or media else waiting(db, sender, now)
    if len(questions) != 1:
        return messaging.receive_reply(db, sender=sender, body=body, sid=sid, now=now, channel=channel,
                                       payload=payload, media=media, wording_version=wording_version)
    participant = questions[0]
    timepoint, language = participant["question_timepoint"], participant["language"]
    # No SMS goes back to a participant or number that opted out (Twilio would refuse it anyway).
    may_answer = not participant["sms_opt_out"] and opt_outs.blocked(db, sender) is None
    value = parse_reply(body)
    if value is None:
        return _unclear(db, participant, timepoint, sender=sender, body=body, sid=sid, now=now,
                        may_answer=may_answer, channel=channel)
    # The answer is stored before the SMS that brought it (services.answers.submit takes its own
    # transaction), so a webhook posted again is recognised by its MessageSid first. A request that
    # dies between the two leaves the answer in: Twilio's retry finds nothing waiting, and its SMS
    # goes to the nurses. Never two answers.
    if sid is not None and messages.inbound_seen(db, sid):
        return messaging.Reply(None, language, replayed=True)
    saved = answers.submit(db, protocol, participant=participant, timepoint_id=timepoint,
                           instrument_id=SMS_QUESTION_INSTRUMENT, answers={"mode": MODE_NRS, "value": value},
                           input_mode=MODE_NRS, now=now, source=SOURCE, recorded_by="participant") == answers.SAVED
    with write(db):
        # Recorded: it needs no nurse. Not recorded (an answer came in first, by the web form or a
        # reply a moment before): the nurses see it.
        kept = messaging.keep_reply(db, participant_id=participant["id"], sender=sender, body=body, sid=sid, now=now,
                                    handled_by=f"automatic (answer to the {protocol.timepoint(timepoint).label} "
                                               "question)" if saved else None, channel=channel)
    if kept is None:
        return messaging.Reply(None, language, replayed=True)
    return messaging.Reply(None, language, answer=THANKS if saved and may_answer else None, value=value)


def _unclear(db, participant: dict, timepoint: str, *, sender: str, body: str, sid: str | None, now: datetime,
             may_answer: bool, channel: str) -> messaging.Reply:
    """A reply that answers nothing clearly: the question's one clarifying SMS, else the inbox."""
    language = participant["language"]
    with write(db):
        kept = messaging.keep_reply(db, participant_id=participant["id"], sender=sender, body=body, sid=sid, now=now,
                                    channel=channel)
        if kept is None:
            return messaging.Reply(None, language, replayed=True)
        if may_answer and store.clarify_once(db, participant["id"], timepoint, kept, now):
            messages.mark_handled(db, kept, by="automatic (asked again)", at=now)
            return messaging.Reply(None, language, answer=CLARIFY)
    return messaging.Reply(None, language)
