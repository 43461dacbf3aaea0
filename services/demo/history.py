"""What happened to each demo participant before today: answers, reminders sent and settled as
the dispatcher would have, STOP replies, withdrawals and free-text replies for the inbox."""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from questionnaires.protocol import Protocol, Timepoint
from scheduler import links as link_text
from scheduler.dispatch import ACTOR as REMINDER_ACTOR
from scheduler.schedule import due_date
from scheduler.sms_text import count_segments
from services import messaging, participant_admin
from services.demo.answers import Profile, answers_for
from services.demo.config import (
    ATTEMPT_WEIGHTS,
    DELIVERY_DELAY,
    GATEWAY,
    NURSE,
    SECONDS_PER_FORM,
    Person,
    Texts,
    local_instant,
)
from storage import messages, participants, reminders, responses, tokens, write
from storage.audit import record
from storage.db import parse_utc


@dataclass
class History:
    """One participant's past, written inside the caller's transaction."""

    db: object
    protocol: Protocol
    person: Person
    participant: dict
    texts: Texts
    now: datetime
    rng: random.Random
    profile: Profile = field(init=False)
    opted_out_at: datetime | None = None
    stop_timepoint: str | None = None
    withdrawn_at: datetime | None = None

    def __post_init__(self) -> None:
        self.profile = Profile.draw(self.rng)

    def write(self) -> None:
        windows = {row["timepoint"]: row for row in participants.timepoints(self.db, self.participant["id"])}
        pending: dict[str, list[dict]] = {}
        for reminder in reminders.pending_of(self.db, self.participant["id"]):
            pending.setdefault(reminder["timepoint"], []).append(reminder)
        withdrawn_at = withdrawal_time(self.protocol, self.person, self.participant)
        self.withdrawn_at = withdrawn_at if withdrawn_at and withdrawn_at <= self.now else None
        if self.person.opts_out:
            self._plan_stop(pending)
        open_from = self.protocol.timepoint_ids.index(self.person.open_from) if self.person.open_from else None
        for index, timepoint in enumerate(self.protocol.timepoints):
            window = windows[timepoint.id]
            due = pending.get(timepoint.id, [])
            left_open = open_from is not None and index >= open_from
            answered_at = None if left_open else self._answered_at(timepoint, window, due)
            if answered_at is not None:
                self._answer(timepoint, answered_at)
            self._settle(timepoint, window, due, answered_at)
            if timepoint.id == self.stop_timepoint:
                self._stop()

    def _plan_stop(self, pending: dict[str, list[dict]]) -> None:
        """They reply STOP to the first SMS of a follow-up sent at least a day ago."""
        firsts = [(timepoint, parse_utc(due[0]["due_at"])) for timepoint, due in pending.items()
                  if parse_utc(due[0]["due_at"]) <= self.now - timedelta(days=1)]
        if firsts:
            self.stop_timepoint, sent_at = self.rng.choice(sorted(firsts, key=lambda item: item[1]))
            self.opted_out_at = sent_at + timedelta(minutes=20)

    def _answered_at(self, timepoint: Timepoint, window: dict, due: list[dict]) -> datetime | None:
        opens, closes = parse_utc(window["opens_at"]), parse_utc(window["closes_at"])
        if opens > self.now:
            return None
        if timepoint.id == self.protocol.baseline.id:
            at = self.person.enrolled_at + timedelta(minutes=self.rng.randint(5, 25))  # in clinic
        elif self.rng.random() >= self.person.answer_rate or timepoint.id == self.stop_timepoint:
            return None
        elif due:
            attempt = self.rng.choices(range(len(due)), ATTEMPT_WEIGHTS[:len(due)])[0]
            at = parse_utc(due[attempt]["due_at"]) + _reply_delay(self.rng)
        else:   # a timepoint without reminders: answered in clinic some day in its window
            at = opens + (closes - opens) * self.rng.random() / 2
        if at >= closes or at > self.now:
            return None
        if (self.opted_out_at and at >= self.opted_out_at) or (self.withdrawn_at and at >= self.withdrawn_at):
            return None
        return at

    def _answer(self, timepoint: Timepoint, at: datetime) -> None:
        for index, name in enumerate(timepoint.instruments):
            instrument = self.protocol.instruments[name]
            clean = instrument.validate(answers_for(name, timepoint.id, self.participant["arm"], self.profile,
                                                    self.rng))
            submitted = at + timedelta(seconds=SECONDS_PER_FORM * index)
            response_id = responses.insert_first(
                self.db, participant_id=self.participant["id"], timepoint=timepoint.id, instrument=name,
                instrument_version=instrument.version, answers=clean, scores=instrument.score_valid(clean),
                input_mode=clean["mode"] if name == "vas" else "web", source="web", submitted_at=submitted,
                recorded_by="participant")
            if response_id is not None:
                record(self.db, at=submitted, actor="participant", action="submit", entity="response",
                       entity_id=response_id, after={"study_id": self.person.study_id, "timepoint": timepoint.id,
                                                     "instrument": name, "version": 1})
        participants.mark_completed(self.db, self.participant["id"], timepoint.id, submitted)

    def _settle(self, timepoint: Timepoint, window: dict, due: list[dict], answered_at: datetime | None) -> None:
        """Each reminder already due as the dispatcher settled it; those to come stay pending (and
        a withdrawal's are cancelled by participant_admin.withdraw)."""
        for reminder in due:
            at = parse_utc(reminder["due_at"])
            if at > self.now or (self.withdrawn_at and at >= self.withdrawn_at):
                continue
            if answered_at is not None and answered_at <= at:
                reminders.settle(self.db, reminder["id"], reminders.CANCELLED, at, reason="completed")
            elif self.opted_out_at and at >= self.opted_out_at:
                reminders.settle(self.db, reminder["id"], reminders.CANCELLED, at, reason="opted_out")
            else:
                self._send(reminder, parse_utc(window["closes_at"]), at)

    def _send(self, reminder: dict, closes: datetime, at: datetime) -> None:
        token = tokens.mint(self.db, participant=self.participant, timepoint=reminder["timepoint"], expires_at=closes,
                            actor=REMINDER_ACTOR, now=at)
        body = self.texts.compose(self.participant, self.texts.link_url(token))
        segments = count_segments(body)
        message_id = messages.insert_outbound(
            self.db, participant_id=self.participant["id"], reminder_id=reminder["id"], to=self.participant["phone"],
            body=link_text.redact(body), token_hash=tokens.hash_token(token), gateway=GATEWAY,
            segments=segments.count, encoding=segments.encoding, now=at)
        sid = f"SM{self.rng.getrandbits(128):032x}"
        messages.record_result(self.db, message_id, status="sent", sid=sid, now=at, sent=True)
        messages.advance_status(self.db, sid, "delivered", None, min(at + DELIVERY_DELAY, self.now))
        reminders.settle(self.db, reminder["id"], reminders.SENT, at)

    def _stop(self) -> None:
        word = "STOP"
        messages.insert_inbound(self.db, participant_id=self.participant["id"], from_number=self.participant["phone"],
                                body=word, sid=_sid("stop", self.person.study_id), now=self.opted_out_at,
                                handled_by=f"automatic ({word})")
        messaging.opt_out(self.db, self.participant, actor="participant", reason=f"replied {word}",
                          now=self.opted_out_at)


def _reply_delay(rng: random.Random) -> timedelta:
    """Most answer within an hour or two of the SMS; some that evening."""
    if rng.random() < 0.7:
        return timedelta(minutes=rng.randint(3, 90))
    return timedelta(minutes=rng.randint(120, 600))


def _sid(kind: str, study_id: str) -> str:
    """A Twilio-shaped SID that is the same on every run, so a reply is stored once."""
    return "SM" + hashlib.sha256(f"demo/{kind}/{study_id}".encode()).hexdigest()[:32]


def withdrawal_time(protocol: Protocol, person: Person, participant: dict) -> datetime | None:
    """Twelve days after month 1 was due (by the stored procedure date), in the morning. Pure."""
    if person.withdrawal is None:
        return None
    procedure = date.fromisoformat(participant["procedure_date"])
    return local_instant(due_date(protocol.timepoint("month1"), procedure) + timedelta(days=12), time(11))


def write_histories(db, protocol: Protocol, people: list[Person], texts: Texts, now: datetime,
                     rng_seed: int) -> None:
    """The past of every participant who has none yet (no baseline answer), in one transaction."""
    todo = []
    for person in people:
        participant = participants.by_study_id(db, person.study_id)
        if not responses.latest(db, participant["id"], protocol.baseline.id):
            todo.append((person, participant))
    if not todo:
        return
    with write(db):
        for person, participant in todo:
            rng = random.Random(f"{rng_seed}/{person.study_id}")   # one stream each: skipping one shifts nobody
            History(db, protocol, person, participant, texts, now, rng).write()


def withdraw(db, protocol: Protocol, person: Person, now: datetime) -> None:
    if person.withdrawal is None:
        return
    participant = participants.by_study_id(db, person.study_id)
    at = withdrawal_time(protocol, person, participant)
    if at <= now and participant["status"] != "withdrawn":
        participant_admin.withdraw(db, person.study_id, reason=person.withdrawal, actor=NURSE, now=at)


def reply(db, person: Person, now: datetime) -> None:
    """A free-text SMS 25 minutes after the last reminder delivered to them (at least an hour ago)."""
    if person.reply is None:
        return
    participant = participants.by_study_id(db, person.study_id)
    kept = [*messages.inbox(db, participant_id=participant["id"]),
            *messages.inbox(db, participant_id=participant["id"], handled=True)]
    if any(message["body"] == person.reply for message in kept):
        return
    sent = [parse_utc(row["sent_at"]) for row in reminders.history(db, participant["id"])
            if row["sent_at"] and parse_utc(row["sent_at"]) <= now - timedelta(hours=1)]
    if sent:
        messaging.receive_reply(db, sender=participant["phone"], body=person.reply, sid=_sid("reply", person.study_id),
                                now=max(sent) + timedelta(minutes=25))
