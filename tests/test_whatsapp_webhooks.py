"""WhatsApp's signed webhooks: inbound messages (normalised and matched, STOP and START on both
channels, a quick-reply button, the patient's own opt-in, answers by reply, media, unknown numbers,
bad input, replays) and status callbacks (read with its time, the fallback to SMS made once, a
callback for a message we did not send, one that comes before its SID is recorded)."""
from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest

from app import create_app
from services import messaging, sms_answers
from sms import gateway as sms
from tests.sms_fakes import RecordingGateway
from tests.staff_support import staff_and_list
from tests.whatsapp_support import (
    DAY1_SEND,
    INBOUND_URL,
    OTHER_PHONE,
    PHONE,
    SENDER,
    SMS_INBOUND_URL,
    STATUS_URL,
    WhatsApp,
    app_config,
    new_sid,
    signed,
)
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

CONFIRMED = "Thank you: your follow-up reminders will now come here on WhatsApp. Reply STOP to stop them."
STOPPED = "You will get no more reminders from us, by WhatsApp or SMS. Reply START to get them again by SMS."


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def wa(app, trial, clock) -> WhatsApp:
    return WhatsApp(app, trial, clock)


def inbox(wa: WhatsApp) -> list[tuple]:
    return [(m["participant_id"], m["from_number"], m["body"], m["channel"], m["handled_by"])
            for m in wa.messages("inbound")]


def snapshot(wa: WhatsApp) -> tuple:
    return tuple(wa.trial.query(f"SELECT * FROM {table} ORDER BY 1") for table in
                 ("messages", "participants", "reminders", "audit_log", "number_opt_outs", "responses"))


# --- Inbound: matching and bad input ------------------------------------------------------------

def test_a_whatsapp_message_is_normalised_matched_and_kept_without_the_profile(wa, caplog):
    wa.enroll()
    with caplog.at_level(logging.DEBUG):
        assert wa.inbound("When is my next visit?") == (200, None)
    assert inbox(wa) == [(1, PHONE, "When is my next visit?", "whatsapp", None)]
    stored = json.dumps(snapshot(wa))
    assert "Amina" not in stored and "Amina" not in caplog.text
    assert PHONE.lstrip("+") not in caplog.text and PHONE not in caplog.text


def test_a_messaging_service_posts_whatsapp_to_the_sms_address_and_it_is_whatsapp_there_too(wa):
    wa.enroll()
    assert wa.inbound("Hello", url=SMS_INBOUND_URL) == (200, None)
    assert inbox(wa) == [(1, PHONE, "Hello", "whatsapp", None)]


@pytest.mark.parametrize("url, sender", [
    (INBOUND_URL, PHONE),                      # no whatsapp: prefix on the WhatsApp route
    (INBOUND_URL, "whatsapp:"),
    (INBOUND_URL, "whatsapp:+20 100 123"),
    (INBOUND_URL, "whatsapp:0100123456"),
    (INBOUND_URL, ""),
    (SMS_INBOUND_URL, "whatsapp:not-a-number"),
], ids=["no-prefix", "prefix-only", "spaces", "no-plus", "empty", "malformed-on-the-sms-route"])
def test_a_from_that_is_not_a_whatsapp_address_is_400_and_nothing_is_stored(wa, url, sender):
    wa.enroll()
    before = snapshot(wa)
    response = signed(wa.client, url, {"From": sender, "Body": "STOP", "MessageSid": new_sid(), "To": SENDER})
    assert response.status_code == 400
    assert snapshot(wa) == before


@pytest.mark.parametrize("extra", [{"NumMedia": "x"}, {"NumMedia": "11"}, {"Body": None}])
def test_a_malformed_whatsapp_message_is_400_and_nothing_is_stored(wa, extra):
    wa.enroll()
    before = snapshot(wa)
    params = {"From": f"whatsapp:{PHONE}", "Body": "hi", "MessageSid": new_sid(), **extra}
    assert signed(wa.client, INBOUND_URL, {k: v for k, v in params.items() if v is not None}).status_code == 400
    assert snapshot(wa) == before


def test_an_unsigned_whatsapp_message_is_403_and_nothing_is_stored(wa):
    wa.enroll()
    before = snapshot(wa)
    response = wa.client.post(INBOUND_URL, data={"From": f"whatsapp:{PHONE}", "Body": "STOP", "MessageSid": "SMx"})
    assert response.status_code == 403 and snapshot(wa) == before


@pytest.mark.parametrize("body", ["Hello, who is this?", "HELP", "STOP"])
def test_an_unknown_number_is_kept_for_the_nurses_and_gets_no_answer(wa, body):
    wa.enroll()
    assert wa.inbound(body, sender=OTHER_PHONE) == (200, None)
    assert [(m[0], m[1], m[3]) for m in inbox(wa)] == [(None, OTHER_PHONE, "whatsapp")]


def test_each_message_sid_is_processed_once(wa):
    wa.enroll()
    sid = new_sid()
    assert wa.inbound("Hello", sid=sid) == (200, None)
    before = snapshot(wa)
    assert wa.inbound("Hello", sid=sid) == (200, None)
    assert snapshot(wa) == before


def test_media_is_kept_for_the_inbox_and_not_read(wa, app, clock):
    wa.enroll()
    status, answer = wa.inbound("", NumMedia="2", MediaContentType0="image/jpeg",
                                MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                                MediaContentType1="audio/ogg",
                                MediaUrl1="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME2")
    assert (status, answer) == (200, None)
    [message] = wa.messages("inbound")
    assert message["body"] == "" and message["handled_at"] is None
    assert [m["type"] for m in json.loads(message["media"])] == ["image/jpeg", "audio/ogg"]
    staff = staff_and_list(app, app.test_client(), clock)
    staff.login("nurse")
    page = staff.client.get("/staff/inbox").get_data(as_text=True)
    assert "2 attachments (image/jpeg, audio/ogg): kept, not read by the app" in page and "WhatsApp" in page


# --- STOP, START and the opt-in -------------------------------------------------------------------

@pytest.mark.parametrize("body, extra", [
    ("STOP", {}),
    ("إيقاف", {}),
    ("Stop reminders", {"ButtonPayload": "STOP", "ButtonText": "Stop reminders"}),
], ids=["stop", "arabic", "quick-reply-button"])
def test_stop_on_whatsapp_opts_the_number_out_on_both_channels(wa, body, extra):
    wa.enroll()
    wa.enroll("P-002", channel="sms", opt_in=False)   # a household phone: both on one number
    assert wa.inbound(body, **extra) == (200, STOPPED)
    for study_id in ("P-001", "P-002"):
        participant = wa.participant(study_id)
        assert (participant["sms_opt_out"], participant["whatsapp_opt_in_at"]) == (1, None)
    assert wa.trial.query("SELECT phone FROM number_opt_outs") == [{"phone": PHONE}]
    [withdrawn] = wa.audit("whatsapp_opt_out")
    assert (withdrawn["entity_id"], json.loads(withdrawn["before"])["source"]) == ("P-001", "clinic")
    assert wa.send_due(DAY1_SEND) == {"cancelled": 2}


def test_whatsapp_answers_in_the_participant_s_language(wa):
    wa.enroll(language="ar", opt_in=False)
    assert wa.inbound("مرحبا") == (200, "شكرًا لك، ستصلك تذكيرات المتابعة هنا على واتساب من الآن. لإيقافها أرسل "
                                        "ايقاف أو STOP.")
    status, answer = wa.inbound("إيقاف")
    assert status == 200 and answer.startswith("لن تصلك منا أي تذكيرات بعد الآن")


def test_a_button_payload_that_is_not_a_keyword_is_an_ordinary_message(wa):
    wa.enroll()
    assert wa.inbound("Yes please", ButtonPayload="REMIND_LATER") == (200, None)
    assert wa.participant()["sms_opt_out"] == 0


def test_start_brings_sms_back_but_whatsapp_waits_for_a_new_opt_in(wa):
    wa.enroll()
    wa.inbound("STOP")
    status, answer = wa.inbound("START")
    assert status == 200 and answer.startswith("Your reminders will come again by SMS.")
    participant = wa.participant()
    assert (participant["sms_opt_out"], participant["whatsapp_opt_in_at"]) == (0, None)
    gateway = RecordingGateway()
    assert wa.send_due(DAY1_SEND, gateway) == {"sent": 1}
    assert gateway.sent[0].channel == "sms"
    # The patient's next own message on WhatsApp is the new opt-in.
    wa.clock.now = DAY1_SEND + timedelta(days=1)
    assert wa.inbound("Yes, on WhatsApp please") == (200, CONFIRMED)
    assert wa.participant()["whatsapp_opt_in_source"] == "patient_message"


def test_a_replayed_start_after_a_stop_changes_nothing(wa):
    wa.enroll()
    start = new_sid()
    wa.inbound("START", sid=start)
    wa.inbound("STOP")
    before = snapshot(wa)
    assert wa.inbound("START", sid=start) == (200, None)
    assert snapshot(wa) == before and wa.participant()["sms_opt_out"] == 1


def test_the_patient_s_first_whatsapp_message_is_their_opt_in_once(wa):
    wa.enroll(opt_in=False)
    assert wa.inbound("Hi") == (200, CONFIRMED)
    participant = wa.participant()
    assert (participant["whatsapp_opt_in_at"], participant["whatsapp_opt_in_source"],
            participant["whatsapp_opt_in_version"]) == ("2026-03-02T12:00:00+00:00", "patient_message",
                                                       OPT_IN_WORDING_VERSION)
    assert wa.inbound("Thanks") == (200, None)
    assert len(wa.audit("whatsapp_opt_in")) == 1


def test_no_opt_in_by_message_for_an_sms_participant_or_a_blocked_number(wa):
    wa.enroll("P-001", channel="sms", opt_in=False)
    assert wa.inbound("Hi") == (200, None)
    assert wa.participant()["whatsapp_opt_in_at"] is None
    wa.enroll("P-002", phone=OTHER_PHONE, opt_in=False)
    wa.inbound("STOP", sender=OTHER_PHONE)
    wa.inbound("Hi", sender=OTHER_PHONE)
    assert wa.participant("P-002")["whatsapp_opt_in_at"] is None


# --- Answers by reply on WhatsApp -----------------------------------------------------------------

def test_the_pain_question_is_answered_by_whatsapp_reply_in_arabic_indic_digits(wa):
    wa.enroll()
    db = wa.db()
    try:
        sms_answers.set_answers_by_sms(db, "P-001", True, reason="no data", actor="nurse", now=wa.clock())
    finally:
        db.close()
    gateway = RecordingGateway()
    assert wa.send_due(DAY1_SEND, gateway) == {"sent": 1}
    assert gateway.sent[0].channel == "whatsapp"
    wa.clock.now = DAY1_SEND + timedelta(hours=1)
    assert wa.inbound("", NumMedia="1", MediaContentType0="audio/ogg", MediaUrl0="https://x/ME1") == (200, None)
    assert wa.inbound("٦") == (200, "Thank you: we received your answer, 6.")
    [answer] = wa.trial.query("SELECT instrument, answers, source FROM responses")
    assert (answer["instrument"], json.loads(answer["answers"])["value"], answer["source"]) == ("vas", 6, "sms")
    assert [m[3] for m in inbox(wa)] == ["whatsapp", "whatsapp"]


# --- Status callbacks ---------------------------------------------------------------------------

def sent_on_whatsapp(wa: WhatsApp) -> str:
    """P-001 on WhatsApp with their day1 reminder sent; returns its SID."""
    wa.enroll()
    assert wa.send_due(DAY1_SEND) == {"sent": 1}
    return wa.messages()[0]["sid"]


def test_read_is_recorded_with_its_time_after_delivered_and_a_replay_changes_nothing(wa, clock):
    sid = sent_on_whatsapp(wa)
    clock.now = DAY1_SEND + timedelta(minutes=1)
    assert wa.status(sid, "delivered").status_code == 204
    clock.now = DAY1_SEND + timedelta(minutes=30)
    assert wa.status(sid, "read").status_code == 204
    before = snapshot(wa)
    clock.now = DAY1_SEND + timedelta(hours=2)
    for replay in ("read", "delivered", "sent"):
        assert wa.status(sid, replay).status_code == 204
    assert snapshot(wa) == before
    [message] = wa.messages()
    assert (message["status"], message["delivered_at"], message["read_at"]) == (
        "read", "2026-03-03T10:01:00+00:00", "2026-03-03T10:30:00+00:00")


def test_the_board_shows_the_channel_whether_the_last_reminder_was_read_and_not_on_whatsapp(wa, app, clock):
    wa.enroll("P-001")
    wa.enroll("P-002", phone=OTHER_PHONE, opt_in=False)
    wa.enroll("P-003", phone="+201001234569")
    assert wa.send_due(DAY1_SEND) == {"sent": 3}
    sids = {m["to_number"]: m["sid"] for m in wa.messages()}
    staff = staff_and_list(app, app.test_client(), clock)
    staff.login("nurse")
    page = staff.client.get("/staff/").get_data(as_text=True)
    assert page.count("Last reminder not read yet") == 2 and "WhatsApp chosen, SMS for now" in page
    assert "/staff/?filter=not_on_whatsapp" in page     # a WhatsApp site's board has the filter
    wa.status(sids[PHONE], "read")
    page = staff.client.get("/staff/").get_data(as_text=True)
    assert page.count("Last reminder read") == 1 and page.count("Last reminder not read yet") == 1
    wa.status(sids["+201001234569"], "failed", 63003)
    page = staff.client.get("/staff/?filter=not_on_whatsapp").get_data(as_text=True)
    assert "Not on WhatsApp" in page and "P-003" in page and "P-001" not in page and "P-002" not in page


@pytest.mark.parametrize("code", [63016, 63024, 21656])
def test_a_failed_whatsapp_reminder_gets_one_sms_whatever_the_callbacks(wa, code):
    sid = sent_on_whatsapp(wa)
    assert wa.status(sid, "failed", code).status_code == 204
    for replay in ("failed", "undelivered"):
        wa.status(sid, replay, code)
    fallbacks = [r for r in wa.reminders() if r["fallback_of"]]
    assert [(r["status"], r["channel"]) for r in fallbacks] == [("pending", "sms")]
    gateway = RecordingGateway()
    assert wa.send_due(DAY1_SEND + timedelta(minutes=1), gateway) == {"sent": 1}
    assert [m.channel for m in gateway.sent] == ["sms"]
    assert wa.send_due(DAY1_SEND + timedelta(minutes=2), gateway) == {}
    [entry] = wa.audit("whatsapp_fallback")
    assert json.loads(entry["after"])["error_code"] == code
    assert (wa.participant()["whatsapp_problem"] is not None) is (code == 63024)


def test_a_failure_that_means_stop_opts_out_and_sends_no_sms(wa):
    sid = sent_on_whatsapp(wa)
    wa.status(sid, "failed", 21610)
    assert wa.participant()["sms_opt_out"] == 1
    assert [r for r in wa.reminders() if r["fallback_of"]] == []


def test_a_status_for_a_message_we_did_not_send_changes_nothing(wa):
    sent_on_whatsapp(wa)
    before = snapshot(wa)
    for status in ("delivered", "read", "failed"):
        assert wa.status("SM" + "f" * 32, status, 63016 if status == "failed" else None).status_code == 204
    assert snapshot(wa) == before


def test_a_callback_killed_between_failure_and_fallback_leaves_nothing_half_done(wa, monkeypatch):
    """The request dies as it makes the fallback: the failure is not recorded either; Twilio's
    retry of the callback then makes the one SMS."""
    sid = sent_on_whatsapp(wa)
    before = snapshot(wa)

    def killed(*args, **kwargs):
        raise SystemExit("killed between the failure and the fallback")

    with monkeypatch.context() as patch:
        patch.setattr(messaging, "fall_back", killed)
        with pytest.raises(SystemExit):
            wa.status(sid, "failed", 63016)
    assert snapshot(wa) == before
    wa.status(sid, "failed", 63016)
    assert len([r for r in wa.reminders() if r["fallback_of"]]) == 1


class CallbackBeforeRecord(RecordingGateway):
    """Twilio's failure callback arrives while the pass has not yet recorded the SID it got."""

    def __init__(self, wa: WhatsApp):
        super().__init__()
        self.wa = wa

    def send(self, message):
        result = super().send(message)
        if message.channel == "whatsapp":
            assert self.wa.status(result.sid, "failed", 63016).status_code == 204
        return result


def test_a_failure_reported_before_the_sid_is_recorded_still_gets_its_one_sms(wa):
    wa.enroll()
    gateway = CallbackBeforeRecord(wa)
    assert wa.send_due(DAY1_SEND, gateway) == {"sent": 2}
    assert [(m["channel"], m["status"], m["error_code"]) for m in wa.messages()] == [
        ("whatsapp", "failed", 63016), ("sms", "queued", None)]
    assert wa.trial.query("SELECT COUNT(*) AS n FROM early_statuses") == [{"n": 0}]


def test_a_held_status_is_dropped_after_its_hold_and_never_applied(wa, clock):
    sent_on_whatsapp(wa)
    wa.status("SM" + "e" * 32, "failed", 63016)
    clock.now += messaging.EARLY_STATUS_HOLD + timedelta(minutes=1)
    wa.status("SM" + "d" * 32, "delivered")
    assert wa.trial.query("SELECT sid FROM early_statuses") == [{"sid": "SM" + "d" * 32}]


def test_status_callbacks_for_whatsapp_are_signed_like_any_other(wa):
    sid = sent_on_whatsapp(wa)
    before = snapshot(wa)
    response = wa.client.post(STATUS_URL, data={"MessageSid": sid, "MessageStatus": "failed", "ErrorCode": "63016"})
    assert response.status_code == 403 and snapshot(wa) == before
    assert sms.NOT_ON_WHATSAPP == "not_on_whatsapp"
