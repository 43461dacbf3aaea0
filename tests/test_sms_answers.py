"""Answers by SMS reply, through the signed inbound webhook: what is recorded (VAS, numeric mode,
source sms), what is asked again once, what goes to the nurses, and what STOP and Twilio's
retries change."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
from twilio.request_validator import RequestValidator

from app import create_app
from services.sms_answers import parse_reply
from storage.connection import open_db
from tests.sms_answers_support import (
    AUTH_TOKEN,
    DAY1_CLOSES,
    DAY1_SEND,
    EGYPT,
    INBOUND_URL,
    PHONE,
    SHARED,
    WEEK1_SEND,
    SmsAnswers,
    app_config,
    new_sid,
)

THANKS_6 = "Thank you: we received your answer, 6."
CLARIFY = "Please reply with one number only, from 0 (no pain) to 10 (worst pain imaginable)."


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def sms(app, trial, clock) -> SmsAnswers:
    return SmsAnswers(app, trial, clock)


def recorded(sms) -> list[tuple]:
    return [(a["study_id"], a["timepoint"], json.loads(a["answers"]), a["input_mode"], a["source"])
            for a in sms.answers()]


# --- Reading a reply (pure) ------------------------------------------------------------------

@pytest.mark.parametrize("text,value", [
    ("6", 6), ("0", 0), ("10", 10), (" 6 ", 6), ("6.", 6), ("06", 6), ("6!", 6), ("\u200f6\u200f", 6),
    ("٦", 6), ("۶", 6), ("١٠", 10), ("١0", 10), ("٠", 0), ("٦.", 6), ("٦؟", 6),
    ("6/10", 6), ("6 / 10", 6), ("10/10", 10), ("٦/١٠", 6), ("0/10", 0),
])
def test_a_reply_with_one_number_from_0_to_10_is_read(text, value):
    assert parse_reply(text) == value


@pytest.mark.parametrize("text", [
    "", " ", "5 or 6", "5-6", "5,6", "5 6", "ok", "OK thanks", "six", "ستة", "11", "100", "-1", "+6", "6.5", "٦٫٥",
    "6/100", "3/5", "6/", "/10", "11/10", "👍", "😊😊", "6️⃣", "6 👍", "pain 6", "6 today", "٦٪", "५",
    "6" * 400, "my pain is 6 " + "very bad " * 100,
])
def test_anything_else_is_not_an_answer(text):
    assert parse_reply(text) is None


# --- Recorded ---------------------------------------------------------------------------------

def test_a_number_is_recorded_as_the_vas_in_its_numeric_mode_from_sms(sms):
    sms.asked()
    assert sms.reply("6") == THANKS_6
    assert recorded(sms) == [("P-001", "day1", {"mode": "nrs", "value": 6}, "nrs", "sms")]
    answer = sms.answers()[0]
    assert json.loads(answer["scores"]) == {"vas_cm": 6.0, "vas_mm": 60, "vas_mode": "nrs"}
    assert answer["recorded_by"] == "participant"
    # day1 asks the VAS alone: the timepoint is complete, and the reply needs no nurse.
    assert sms.trial.query("SELECT completed_at FROM timepoints WHERE timepoint = 'day1'") == [
        {"completed_at": "2026-03-03T11:00:00+00:00"}]
    assert sms.inbox() == [{"participant_id": 1, "body": "6", "handled_by": "automatic (answer to the 1 day question)"}]
    assert [(row["actor"], json.loads(row["after"])) for row in sms.trial.query(
        "SELECT actor, after FROM audit_log WHERE action = 'submit'")] == [
        ("participant", {"study_id": "P-001", "timepoint": "day1", "instrument": "vas", "version": 1})]


@pytest.mark.parametrize("text,value", [("٦", 6), ("۶", 6), ("١0", 10), ("6/10", 6), (" 0 ", 0)])
def test_arabic_indic_digits_and_n_out_of_10_are_recorded(sms, text, value):
    sms.asked()
    assert sms.reply(text) == f"Thank you: we received your answer, {value}."
    assert recorded(sms) == [("P-001", "day1", {"mode": "nrs", "value": value}, "nrs", "sms")]


def test_an_arabic_participant_is_answered_in_arabic(sms):
    sms.enroll("P-AR", phone=EGYPT, language="ar")
    assert sms.send_due(DAY1_SEND) == {"sent": 1}
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("٧", sender=EGYPT) == "شكرًا لك، وصلتنا إجابتك: 7."
    assert recorded(sms) == [("P-AR", "day1", {"mode": "nrs", "value": 7}, "nrs", "sms")]


def test_the_week1_question_is_answered_and_the_satisfaction_is_left_for_the_nurses(sms):
    sms.enroll()
    sms.send_due(DAY1_SEND)
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    sms.reply("7")
    assert sms.send_due(WEEK1_SEND) == {"cancelled": 1, "sent": 1}   # day1's repeat: day1 is complete
    sms.clock.now = WEEK1_SEND + timedelta(hours=2)
    assert sms.reply("4") == "Thank you: we received your answer, 4."
    assert [(tp, answer["value"]) for _, tp, answer, _, _ in recorded(sms)] == [("day1", 7), ("week1", 4)]
    # week1 also asks the satisfaction: not complete, so the board shows it open for a call.
    assert sms.trial.query("SELECT timepoint, completed_at IS NOT NULL AS done FROM timepoints "
                           "WHERE timepoint IN ('day1', 'week1') ORDER BY opens_at") == [
        {"timepoint": "day1", "done": 1}, {"timepoint": "week1", "done": 0}]


# --- Asked again once, then the nurses ----------------------------------------------------------

@pytest.mark.parametrize("unclear", ["5 or 6", "ok", "11", "6.5", "six", "👍", "", "pain " * 300, "3/5"])
def test_an_unclear_reply_is_asked_again_once_then_goes_to_the_nurses(sms, unclear):
    sms.asked()
    assert sms.reply(unclear) == CLARIFY
    assert sms.reply(unclear) is None           # the next unclear reply gets no SMS: a nurse will call
    assert recorded(sms) == []
    assert sms.inbox() == [{"participant_id": 1, "body": unclear, "handled_by": "automatic (asked again)"},
                           {"participant_id": 1, "body": unclear, "handled_by": None}]
    assert sms.trial.query("SELECT timepoint, message_id FROM sms_clarifications") == [
        {"timepoint": "day1", "message_id": 2}]   # message 1 is the question
    assert sms.reply("6") == THANKS_6            # a clear answer is still taken while the window is open
    assert recorded(sms) == [("P-001", "day1", {"mode": "nrs", "value": 6}, "nrs", "sms")]


def test_the_clarifying_sms_is_in_arabic_for_an_arabic_participant(sms):
    sms.enroll("P-AR", phone=EGYPT, language="ar")
    sms.send_due(DAY1_SEND)
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("خمسة أو ستة", sender=EGYPT) == "رد برقم واحد فقط من 0 (لا ألم) إلى 10 (أسوأ ألم يمكن تخيله)."


def test_each_timepoint_gets_its_own_one_clarification(sms):
    sms.asked()
    assert sms.reply("ok") == CLARIFY
    assert sms.reply("ok") is None
    assert sms.send_due(WEEK1_SEND) == {"cancelled": 1, "sent": 1}   # day1's repeat closed with its window
    sms.clock.now = WEEK1_SEND + timedelta(hours=1)
    assert sms.reply("ok") == CLARIFY


# --- STOP first ---------------------------------------------------------------------------------

@pytest.mark.parametrize("word", ["STOP", "stop", "إيقاف", "Cancel."])
def test_stop_wins_over_an_awaited_answer(sms, word):
    sms.asked()
    assert sms.reply(word) is None
    assert sms.trial.query("SELECT sms_opt_out FROM participants") == [{"sms_opt_out": 1}]
    assert recorded(sms) == []
    assert sms.trial.query("SELECT COUNT(*) AS n FROM sms_clarifications") == [{"n": 0}]
    assert sms.inbox()[0]["handled_by"].startswith("automatic (")
    assert sms.send_due(DAY1_SEND + timedelta(days=2)) == {"cancelled": 1}   # and no question again


def test_help_is_answered_with_help_not_taken_as_an_answer(sms):
    sms.asked()
    assert sms.reply("HELP").startswith("These messages are reminders")
    assert recorded(sms) == [] and sms.trial.query("SELECT COUNT(*) AS n FROM sms_clarifications") == [{"n": 0}]


def test_after_stop_an_answer_is_still_recorded_but_nothing_is_sent_back(sms):
    sms.asked()
    sms.reply("STOP")
    assert sms.reply("6") is None
    assert recorded(sms) == [("P-001", "day1", {"mode": "nrs", "value": 6}, "nrs", "sms")]
    assert sms.reply("ok", sender=PHONE) is None   # no clarifying SMS to a number that said STOP


# --- Kept for the nurses, not recorded -----------------------------------------------------------

def test_a_late_reply_for_a_closed_window_is_kept_for_the_nurses_but_not_recorded(sms):
    sms.asked()
    sms.clock.now = DAY1_CLOSES + timedelta(minutes=1)
    assert sms.reply("6") is None
    assert recorded(sms) == []
    assert sms.inbox() == [{"participant_id": 1, "body": "6", "handled_by": None}]


def test_a_reply_before_any_question_was_asked_is_kept_for_the_nurses(sms):
    sms.enroll()
    sms.clock.now = DAY1_SEND - timedelta(hours=1)   # day1's window is open, its question not yet sent
    assert sms.reply("6") is None
    assert recorded(sms) == [] and sms.inbox() == [{"participant_id": 1, "body": "6", "handled_by": None}]


def test_a_reply_from_a_participant_who_answers_by_link_is_kept_for_the_nurses(sms):
    sms.enroll(by_sms=False)
    assert sms.send_due(DAY1_SEND) == {"sent": 1}
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("6") is None
    assert recorded(sms) == [] and sms.inbox() == [{"participant_id": 1, "body": "6", "handled_by": None}]


def test_a_reply_from_an_unknown_number_is_kept_unmatched(sms):
    sms.asked()
    assert sms.reply("6", sender="+16175550188") is None
    assert recorded(sms) == []
    assert sms.inbox() == [{"participant_id": None, "body": "6", "handled_by": None}]


def test_a_reply_after_the_answer_came_by_the_web_form_is_kept_for_the_nurses(sms):
    sms.asked()
    token = sms.trial.link("P-001", "day1")
    sms.client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "35"})
    assert sms.reply("7") is None
    assert recorded(sms) == [("P-001", "day1", {"mode": "line", "value": 35}, "line", "web")]
    assert sms.inbox() == [{"participant_id": 1, "body": "7", "handled_by": None}]


def test_a_second_number_after_an_answer_is_kept_for_the_nurses(sms):
    sms.asked()
    sms.reply("6")
    assert sms.reply("actually 7") is None and sms.reply("7") is None
    assert [a["value"] for _, _, a, _, _ in recorded(sms)] == [6]
    assert [m["handled_by"] for m in sms.inbox()] == ["automatic (answer to the 1 day question)", None, None]


def test_a_withdrawn_participants_reply_is_kept_for_the_nurses(sms):
    sms.asked()
    db = open_db(sms.app.config["DATABASE"])
    db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = '2026-03-03T10:30:00+00:00', "
               "withdrawal_reason = 'asked to leave'")
    db.close()
    assert sms.reply("6") is None
    assert recorded(sms) == [] and sms.inbox()[0]["handled_by"] is None


# --- A household phone ----------------------------------------------------------------------------

def test_two_on_one_number_both_awaiting_an_answer_goes_to_the_nurses(sms):
    sms.enroll("P-001", phone=SHARED)
    sms.enroll("P-002", phone=SHARED)
    assert sms.send_due(DAY1_SEND) == {"sent": 2}
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("6", sender=SHARED) is None    # whose pain is it? A nurse asks.
    assert sms.reply("5 or 6", sender=SHARED) is None
    assert recorded(sms) == []
    assert [m["handled_by"] for m in sms.inbox()] == [None, None]


@pytest.mark.parametrize("second", ["by link", "answered"])
def test_two_on_one_number_with_one_awaiting_an_answer_answer_that_one(sms, second):
    if second == "by link":   # P-001 answers by link; P-002, on the same phone, by SMS
        sms.enroll("P-001", phone=SHARED, by_sms=False)
        sms.enroll("P-002", phone=SHARED)
        sms.send_due(DAY1_SEND)
    else:                     # both by SMS, and P-001 has answered already (on the web)
        sms.enroll("P-001", phone=SHARED)
        sms.enroll("P-002", phone=SHARED)
        sms.send_due(DAY1_SEND)
        token = sms.trial.link("P-001", "day1")
        sms.clock.now = DAY1_SEND
        sms.client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "3"})
    sms.clock.now = DAY1_SEND + timedelta(hours=1)
    assert sms.reply("6", sender=SHARED) == THANKS_6
    assert ("P-002", "day1", {"mode": "nrs", "value": 6}, "nrs", "sms") in recorded(sms)
    assert all(not (study_id == "P-001" and source == "sms") for study_id, _, _, _, source in recorded(sms))
    assert sms.inbox() == [{"participant_id": 2, "body": "6", "handled_by": "automatic (answer to the 1 day question)"}]


# --- Twilio posting the same reply again ------------------------------------------------------------

def test_the_same_answer_posted_twice_is_recorded_once_and_thanked_once(sms):
    sms.asked()
    sid = new_sid()
    assert sms.reply("6", sid=sid) == THANKS_6
    assert sms.reply("6", sid=sid) is None
    assert len(recorded(sms)) == 1
    assert len(sms.inbox()) == 1


def test_the_same_unclear_reply_posted_twice_is_asked_again_once_and_not_sent_to_the_nurses(sms):
    sms.asked()
    sid = new_sid()
    assert sms.reply("ok", sid=sid) == CLARIFY
    assert sms.reply("ok", sid=sid) is None
    assert sms.inbox() == [{"participant_id": 1, "body": "ok", "handled_by": "automatic (asked again)"}]
    assert sms.reply("ok") is None   # a new unclear reply: the nurses'
    assert [m["handled_by"] for m in sms.inbox()] == ["automatic (asked again)", None]


def test_an_answer_posted_again_after_the_first_post_died_before_keeping_it_is_recorded_once(sms, monkeypatch):
    """The answer was stored, then the request died before the SMS itself was kept: Twilio posts
    it again. The answer is in already, so the second post records nothing and the SMS waits for
    the nurses: never two answers."""
    from services import messaging
    sms.asked()
    sid = new_sid()
    keep = messaging.keep_reply

    def dies(*args, **kwargs):
        raise RuntimeError("worker killed")
    monkeypatch.setattr(messaging, "keep_reply", dies)
    sms.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    params = {"From": PHONE, "Body": "6", "MessageSid": sid}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(INBOUND_URL, params)
    assert sms.client.post(INBOUND_URL, data=params, headers={"X-Twilio-Signature": signature}).status_code == 500
    monkeypatch.setattr(messaging, "keep_reply", keep)
    assert sms.reply("6", sid=sid) is None
    assert len(recorded(sms)) == 1
    assert sms.inbox() == [{"participant_id": 1, "body": "6", "handled_by": None}]


def test_a_forged_reply_is_refused_and_records_nothing(sms):
    sms.asked()
    params = {"From": PHONE, "Body": "6", "MessageSid": new_sid()}
    forged = RequestValidator("another-token").compute_signature(INBOUND_URL, params)
    assert sms.client.post(INBOUND_URL, data=params, headers={"X-Twilio-Signature": forged}).status_code == 403
    assert recorded(sms) == [] and sms.inbox() == []
