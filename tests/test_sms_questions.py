"""The SMS question through the reminder dispatcher: who gets it instead of a link, the reminder
rules (quiet hours, once, cancelled when answered, STOP and blocked numbers), crash recovery by
its reference, and its texts: one SMS segment in each language."""
from __future__ import annotations

import io
from collections import Counter
from datetime import datetime, timedelta

import pytest

from app import create_app
from scheduler.sms_text import GSM7, UCS2, count_segments, reference_in
from services import messaging, participant_admin, sms_answers
from sms import gateway as sms_gateway
from storage import participants
from storage.connection import open_db
from tests.sms_answers_support import (
    DAY1_SEND,
    EGYPT,
    QUESTION_EN,
    SHARED,
    UTC,
    WEEK1_SEND,
    SmsAnswers,
    app_config,
)
from tests.sms_fakes import RecordingGateway
from web import sms_questions

MONTH1_SEND = datetime(2026, 3, 26, 10, 0, tzinfo=UTC)


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def sms(app, trial, clock) -> SmsAnswers:
    return SmsAnswers(app, trial, clock)


def outbound(trial) -> list[dict]:
    return trial.query("SELECT p.study_id, r.timepoint, r.attempt, m.body, m.token_hash, m.reference, m.status, "
                       "m.segments, m.encoding FROM messages m JOIN reminders r ON r.id = m.reminder_id "
                       "JOIN participants p ON p.id = m.participant_id WHERE m.direction = 'outbound' ORDER BY m.id")


def reminder_rows(trial, study_id="P-001", timepoint="day1") -> list[tuple]:
    return [(r["attempt"], r["status"], r["reason"]) for r in trial.query(
        "SELECT r.attempt, r.status, r.reason FROM reminders r JOIN participants p ON p.id = r.participant_id "
        "WHERE p.study_id = ? AND r.timepoint = ? ORDER BY r.attempt", [study_id, timepoint])]


# --- Who gets the question --------------------------------------------------------------------

def test_a_participant_marked_sms_answers_gets_the_question_instead_of_a_link(sms):
    sms.enroll()
    assert sms.send_due(DAY1_SEND) == {"sent": 1}
    body = sms.gateway.sent[0].body
    reference = reference_in(body)
    assert body == f"{QUESTION_EN} #{reference}" and len(reference) == 4
    assert "/f/" not in body
    assert outbound(sms.trial) == [{"study_id": "P-001", "timepoint": "day1", "attempt": 1, "body": body,
                                    "token_hash": None, "reference": reference, "status": "queued", "segments": 1,
                                    "encoding": GSM7}]
    assert sms.trial.query("SELECT COUNT(*) AS n FROM link_tokens") == [{"n": 0}]   # no link was issued


def test_the_question_carries_no_name_diagnosis_or_study(sms):
    sms.enroll("SPINE-CT-042")
    sms.send_due(DAY1_SEND)
    body = sms.gateway.sent[0].body.lower()
    for word in ("spine", "ct-042", "ct-guided", "fluoro", "injection", "back", "leg", "trial", "study", "tramadol"):
        assert word not in body


def test_participants_by_link_and_later_timepoints_keep_their_link(sms):
    sms.enroll("P-001")
    sms.enroll("P-002", phone="+16175550124", by_sms=False)
    assert sms.send_due(DAY1_SEND) == {"sent": 2}
    assert [("/f/" in m.body, reference_in(m.body) is None) for m in sms.gateway.sent] == [(False, False), (True, True)]
    assert sms.send_due(MONTH1_SEND) == Counter(cancelled=6, sent=2)   # day1 and week1 closed unanswered
    month1 = [m for m in outbound(sms.trial) if m["timepoint"] == "month1"]
    assert [(m["study_id"], "/f/<token>" in m["body"], m["reference"]) for m in month1] == [
        ("P-001", True, None), ("P-002", True, None)]


def test_switched_back_to_links_the_next_reminder_carries_a_link(sms):
    sms.enroll()
    sms.send_due(DAY1_SEND)
    sms.mark("P-001", False)
    assert sms.send_due(DAY1_SEND + timedelta(days=2)) == {"sent": 1}
    assert [m["reference"] is None for m in outbound(sms.trial)] == [False, True]


# --- The reminder rules --------------------------------------------------------------------------

def test_the_question_waits_out_quiet_hours(sms):
    sms.enroll(phone=EGYPT, timezone="Africa/Cairo")
    night = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)   # 22:00 in Cairo
    assert sms.send_due(night) == {"deferred": 1}
    assert sms.send_due(datetime(2026, 3, 4, 6, 59, tzinfo=UTC)) == {}
    assert sms.gateway.sent == []
    assert sms.send_due(datetime(2026, 3, 4, 7, 0, tzinfo=UTC)) == {"sent": 1}   # 09:00 in Cairo
    assert reference_in(sms.gateway.sent[0].body) is not None


def test_the_question_is_sent_once(sms):
    sms.enroll()
    assert sms.send_due(DAY1_SEND) == {"sent": 1}
    assert sms.send_due(DAY1_SEND) == {}
    assert sms.send_due(DAY1_SEND + timedelta(hours=5)) == {}
    assert len(sms.gateway.sent) == 1


def test_an_unanswered_question_is_asked_again_by_the_next_reminder(sms):
    sms.enroll()
    sms.send_due(DAY1_SEND)
    assert sms.send_due(DAY1_SEND + timedelta(days=2)) == {"sent": 1}
    assert [reference_in(m.body) is not None for m in sms.gateway.sent] == [True, True]
    assert [m["reference"] for m in outbound(sms.trial)] == [reference_in(m.body) for m in sms.gateway.sent]


def test_an_answer_cancels_the_repeats(sms):
    sms.enroll()
    sms.send_due(DAY1_SEND)
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    sms.reply("6")
    assert sms.send_due(DAY1_SEND + timedelta(days=2)) == {"cancelled": 1}
    assert reminder_rows(sms.trial) == [(1, "sent", None), (2, "cancelled", "completed")]
    # week1 also asks the satisfaction, so it is not complete: the answer alone ends the questions.
    sms.send_due(WEEK1_SEND)
    sms.clock.now = WEEK1_SEND + timedelta(hours=1)
    sms.reply("4")
    assert sms.send_due(WEEK1_SEND + timedelta(days=2)) == {"cancelled": 1}
    assert reminder_rows(sms.trial, timepoint="week1") == [(1, "sent", None), (2, "cancelled", "answered")]
    assert len(sms.gateway.sent) == 2


def test_an_answer_by_the_web_form_cancels_the_questions_too(sms):
    sms.enroll()
    token = sms.trial.link("P-001", "week1")
    sms.clock.now = WEEK1_SEND - timedelta(hours=2)
    sms.client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "44"})
    assert sms.send_due(WEEK1_SEND) == Counter(cancelled=3)   # day1's two closed; week1 answered
    assert reminder_rows(sms.trial, timepoint="week1")[0] == (1, "cancelled", "answered")


@pytest.mark.parametrize("how", ["opted_out", "number_blocked", "withdrawn", "no_phone"])
def test_nobody_who_must_not_get_sms_gets_the_question(sms, how):
    sms.enroll("P-001", phone=SHARED)
    db = open_db(sms.app.config["DATABASE"])
    try:
        if how == "opted_out":
            messaging.set_sms_preference(db, "P-001", True, actor="nurse", reason="asked", now=sms.clock())
        elif how == "number_blocked":   # someone else on the same phone replied STOP
            sms.trial.enroll("P-002", procedure_date=None, phone=SHARED)
            messaging.receive_reply(db, sender=SHARED, body="STOP", sid="SM" + "9" * 32, now=sms.clock())
            messaging.set_sms_preference(db, "P-001", False, actor="nurse", reason="asked", now=sms.clock())
        elif how == "withdrawn":
            participant_admin.withdraw(db, "P-001", reason="moved away", actor="nurse", now=sms.clock())
        else:
            db.execute("UPDATE participants SET phone = NULL")
    finally:
        db.close()
    sms.send_due(DAY1_SEND)
    assert sms.gateway.sent == []
    reason = {"opted_out": "opted_out", "number_blocked": "opted_out", "withdrawn": "withdrawn", "no_phone": "no_phone"}
    assert reminder_rows(sms.trial)[0] == (1, "cancelled", reason[how])


def test_a_nurses_send_now_asks_the_question_and_a_link_once_it_is_answered(sms, app):
    sms.enroll()
    sms.clock.now = WEEK1_SEND + timedelta(hours=1)
    with app.app_context():
        db = open_db(app.config["DATABASE"])
        try:
            dispatcher = sms.dispatcher()
            participant = participants.by_study_id(db, "P-001")
            assert participant_admin.resend_link(db, dispatcher, participant, "week1", actor="nurse",
                                                 now=sms.clock()) == "sent"
            assert reference_in(sms.gateway.sent[-1].body) is not None and "/f/" not in sms.gateway.sent[-1].body
            sms.reply("5")
            # The satisfaction is still to come: a nurse's request now sends its link.
            assert participant_admin.resend_link(db, dispatcher, participant, "week1", actor="nurse",
                                                 now=sms.clock()) == "sent"
            assert "/f/" in sms.gateway.sent[-1].body
        finally:
            db.close()


# --- Crash recovery ---------------------------------------------------------------------------------

class CrashAfterAccept(RecordingGateway):
    """The provider accepts the question, then the process dies before recording it."""

    def send(self, message):
        super().send(message)
        raise SystemExit("killed")


class CrashBeforeSend(RecordingGateway):
    def send(self, message):
        raise SystemExit("killed before the request left")


class CrashAfterFirstAccept(RecordingGateway):
    def send(self, message):
        result = super().send(message)
        if len(self.sent) == 1:
            raise SystemExit("killed")
        return result


class Unreachable(RecordingGateway):
    def find_sent(self, to, since, matches):
        raise ConnectionError("provider down")


class AppendsToBodies(RecordingGateway):
    """A provider whose copy of each message has words added after ours (an opt-out footer)."""

    def find_sent(self, to, since, matches):
        self.lookups += 1
        return next((sid for sid, message in self.accepted
                     if message.to == to and matches(message.body + " Reply STOP to unsubscribe.")), None)


@pytest.mark.parametrize("gateway", [RecordingGateway, AppendsToBodies])
def test_a_crash_after_the_provider_accepted_the_question_never_resends_it(sms, gateway):
    sms.enroll()
    crashing = CrashAfterAccept()
    with pytest.raises(SystemExit):
        sms.send_due(DAY1_SEND, crashing)
    assert reminder_rows(sms.trial)[0] == (1, "sending", None)
    assert [(m["status"], m["reference"] is not None) for m in outbound(sms.trial)] == [("in_doubt", True)]
    provider = gateway()
    provider.accepted, provider.sent = crashing.accepted, list(crashing.sent)   # the provider's own record
    sms.clock.now += timedelta(minutes=1)
    assert sms.send_due(DAY1_SEND, provider) == {}   # the dead pass's lease has not run out
    sms.clock.now += timedelta(minutes=2)
    assert sms.send_due(DAY1_SEND, provider) == {"recovered_sent": 1}
    assert len(provider.sent) == 1 and provider.lookups == 1
    assert sms.trial.query("SELECT status, sid FROM messages") == [{"status": "sent", "sid": crashing.accepted[0][0]}]
    assert reminder_rows(sms.trial)[0] == (1, "sent", "recovered")
    # ...and the patient's answer to it is taken: the question counts as asked.
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("6") == "Thank you: we received your answer, 6."


def test_a_crash_before_the_provider_had_the_question_sends_it_once(sms):
    sms.enroll()
    with pytest.raises(SystemExit):
        sms.send_due(DAY1_SEND, CrashBeforeSend())
    sms.clock.now += timedelta(minutes=3)
    assert sms.send_due(DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}
    assert len(sms.gateway.sent) == 1
    assert [m["status"] for m in outbound(sms.trial)] == ["not_sent", "queued"]


def test_a_question_in_doubt_is_never_resent_on_a_guess(sms):
    sms.enroll()
    with pytest.raises(SystemExit):
        sms.send_due(DAY1_SEND, CrashAfterAccept())
    down = Unreachable()
    sms.clock.now += timedelta(minutes=5)
    assert sms.send_due(DAY1_SEND, down) == {"in_doubt": 1}
    assert down.sent == []
    assert reminder_rows(sms.trial)[0][1] == "sending"
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("6") == "Thank you: we received your answer, 6."   # it may have arrived: a reply counts


def test_two_identical_questions_to_one_phone_are_told_apart_by_their_references(sms):
    """A household phone: both participants' questions (the same words) go in one group, and the
    process dies after the provider accepted the first. Recovery finds the first by its reference
    and sends the second: each asked exactly once."""
    sms.enroll("P-001", phone=SHARED)
    sms.enroll("P-002", phone=SHARED)
    crashing = CrashAfterFirstAccept()
    with pytest.raises(SystemExit):
        sms.send_due(DAY1_SEND, crashing)
    sms.clock.now += timedelta(minutes=3)
    assert sms.send_due(DAY1_SEND, crashing) == {"recovered_sent": 1, "recovered_unsent": 1, "sent": 1}
    assert [m.body.rsplit(" #", 1)[0] for m in crashing.sent] == [QUESTION_EN, QUESTION_EN]
    assert len({reference_in(m.body) for m in crashing.sent}) == 2
    assert reminder_rows(sms.trial, "P-001")[0][1:] == ("sent", "recovered")
    assert reminder_rows(sms.trial, "P-002")[0][1:] == ("sent", None)


def test_recovery_with_the_console_gateway_finds_the_question_in_its_outbox(sms, tmp_path):
    class DiesAfterOutbox(sms_gateway.ConsoleGateway):
        def send_many(self, messages):
            super().send_many(messages)
            raise SystemExit("killed")

    outbox = tmp_path / "outbox.jsonl"
    sms.enroll()
    with pytest.raises(SystemExit):
        sms.send_due(DAY1_SEND, DiesAfterOutbox(outbox, stream=io.StringIO()))
    sms.clock.now += timedelta(minutes=3)
    console = sms_gateway.ConsoleGateway(outbox, stream=io.StringIO())
    assert sms.send_due(DAY1_SEND, console) == {"recovered_sent": 1}
    assert len(outbox.read_text().splitlines()) == 1


# --- The texts: one segment in each language ----------------------------------------------------------

@pytest.mark.parametrize("language,encoding", [("en", GSM7), ("ar", UCS2)])
def test_every_sms_of_answers_by_sms_is_one_segment(app, language, encoding):
    with app.app_context():
        texts = [sms_questions.compose_question({"language": language}, "KQTZ"),
                 sms_questions.answer_to_reply(sms_answers.CLARIFY, language),
                 sms_questions.answer_to_reply(sms_answers.THANKS, language, 10)]
    for text in texts:
        segments = count_segments(text)
        assert (segments.encoding, segments.count) == (encoding, 1), (text, segments)
    assert reference_in(texts[0]) == "KQTZ" and "STOP" in texts[0]
    assert "10" in texts[2]
