"""Reminders on WhatsApp: the approved template outside the 24-hour window, free text inside it,
the same reminder rules as SMS, crash recovery, and the one SMS that replaces a failed WhatsApp
reminder, exactly once even when the pass is killed between the failure and the fallback."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest

from scheduler import recovery
from scheduler.links import token_in
from services import answers, messaging, sms_answers
from sms import gateway as sms
from storage import messages as message_rows
from tests.sms_fakes import BatchRecordingGateway, RecordingGateway
from tests.whatsapp_support import (
    DAY1_SEND,
    PHONE,
    QUESTION_EN,
    REMINDER_AR,
    REMINDER_EN,
    WhatsApp,
    app_config,
)
from app import create_app

LINK_TEXT = "Your follow-up questionnaire is ready: https://pro.example.org/f/"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture(params=["one_at_a_time", "whole_group"])
def gateway(request):
    return RecordingGateway() if request.param == "one_at_a_time" else BatchRecordingGateway()


@pytest.fixture
def wa(app, trial, clock, gateway) -> WhatsApp:
    return WhatsApp(app, trial, clock, gateway)


def inbound_at(wa: WhatsApp, moment, body="Hello", sender=PHONE) -> None:
    """An inbound WhatsApp message received at ``moment`` (the window runs from it)."""
    wa.clock.now = moment
    assert wa.inbound(body, sender=sender)[0] == 200


class Refusing(RecordingGateway):
    """Refuses every WhatsApp message as told (an outcome and a code); accepts SMS."""

    def __init__(self, outcome=sms.FAILED, code=21656):
        super().__init__()
        self.refusal = sms.SendResult(outcome, error_code=code, error_message="refused")
        self.refused: list[sms.Outgoing] = []

    def send(self, message):
        if message.channel == "whatsapp":
            self.refused.append(message)
            return self.refusal
        return super().send(message)


def sms_sent(gateway: RecordingGateway) -> list[sms.Outgoing]:
    return [m for m in gateway.sent if m.channel == "sms"]


# --- Sending --------------------------------------------------------------------------------------

def test_outside_the_window_the_reminder_goes_as_the_approved_template_with_the_link_as_its_variable(wa, gateway):
    wa.enroll()
    assert wa.send_due(DAY1_SEND) == {"sent": 1}
    [message] = gateway.sent
    assert (message.channel, message.to, message.content_sid) == ("whatsapp", PHONE, REMINDER_EN)
    [variable] = message.content_variables.values()
    assert variable.startswith("https://pro.example.org/f/") and list(message.content_variables) == ["1"]
    assert token_in(message.body) == token_in(variable)   # the rendered text carries the same link
    [stored] = wa.messages()
    assert (stored["channel"], stored["content_sid"], stored["segments"]) == ("whatsapp", REMINDER_EN, None)
    assert token_in(variable) not in stored["body"] and "/f/<token>" in stored["body"]


def test_inside_the_window_the_reminder_goes_as_free_text(wa, gateway):
    wa.enroll()
    inbound_at(wa, DAY1_SEND - timedelta(hours=23, minutes=59))
    assert wa.send_due(DAY1_SEND) == {"sent": 1}
    [message] = gateway.sent
    assert (message.channel, message.content_sid, message.content_variables) == ("whatsapp", None, None)
    assert message.body.startswith(LINK_TEXT)
    assert wa.messages()[0]["content_sid"] is None


def test_a_minute_after_the_window_shut_the_template_goes_again(wa, gateway):
    wa.enroll()
    inbound_at(wa, DAY1_SEND - timedelta(hours=24, minutes=1))
    wa.send_due(DAY1_SEND)
    assert gateway.sent[0].content_sid == REMINDER_EN


def test_each_language_gets_its_own_template(wa, gateway):
    wa.enroll(language="ar")
    wa.send_due(DAY1_SEND)
    assert gateway.sent[0].content_sid == REMINDER_AR


@pytest.mark.parametrize("channel, opt_in", [("sms", False), ("whatsapp", False)], ids=["sms", "no-opt-in"])
def test_without_whatsapp_and_its_opt_in_the_reminder_goes_by_sms(wa, gateway, channel, opt_in):
    wa.enroll(channel=channel, opt_in=opt_in)
    wa.send_due(DAY1_SEND)
    [message] = gateway.sent
    assert (message.channel, message.content_sid) == ("sms", None)
    assert wa.messages()[0]["channel"] == "sms" and wa.messages()[0]["segments"] == 1


def test_the_reminder_rules_are_the_same_on_whatsapp(wa, gateway, app):
    """Quiet hours defer it, it goes once, and completing the forms cancels the repeat."""
    wa.enroll(timezone="Africa/Cairo")
    quiet = DAY1_SEND.replace(hour=20)          # 22:00 in Cairo: quiet hours
    assert wa.send_due(quiet - timedelta(days=1)) == {}
    wa.enroll("P-002")
    assert wa.send_due(DAY1_SEND) == {"sent": 2}
    assert wa.send_due(DAY1_SEND + timedelta(minutes=1)) == {}
    db = wa.db()
    try:
        participant = wa.participant("P-002")
        answers.submit(db, app.extensions["protocol"], participant=participant, timepoint_id="day1",
                       instrument_id="vas", answers={"mode": "line", "value": 30}, input_mode="line",
                       now=DAY1_SEND + timedelta(hours=1))
    finally:
        db.close()
    counts = wa.send_due(DAY1_SEND + timedelta(days=2))
    assert counts == {"cancelled": 1, "sent": 1}
    assert [m.channel for m in gateway.sent] == ["whatsapp"] * 3


def test_a_stop_on_whatsapp_stops_the_reminders(wa, gateway):
    wa.enroll()
    assert wa.inbound("STOP")[0] == 200
    assert wa.send_due(DAY1_SEND) == {"cancelled": 1}
    assert gateway.sent == []


def test_the_pain_question_goes_as_its_template_and_without_one_by_sms(wa, gateway):
    wa.enroll("P-001")
    wa.enroll("P-002", phone="+201001234568", language="ar")
    db = wa.db()
    try:
        for study_id in ("P-001", "P-002"):
            sms_answers.set_answers_by_sms(db, study_id, True, reason="no data", actor="nurse", now=wa.clock())
    finally:
        db.close()
    assert wa.send_due(DAY1_SEND) == {"sent": 2}
    english, arabic = sorted(gateway.sent, key=lambda m: m.to)
    assert (english.channel, english.content_sid) == ("whatsapp", QUESTION_EN)
    reference = english.content_variables["1"]
    assert len(reference) == 4 and english.body.endswith(f"#{reference}")
    assert (arabic.channel, arabic.content_sid) == ("sms", None)   # no Arabic question template: SMS


# --- Recovery -------------------------------------------------------------------------------------

class CrashAfterAccept(RecordingGateway):
    def send(self, message):
        super().send(message)
        raise SystemExit("killed")


@pytest.mark.parametrize("window", [False, True], ids=["template", "free-text"])
def test_a_whatsapp_reminder_in_doubt_after_a_crash_is_found_and_not_resent(wa, clock, window):
    wa.enroll()
    if window:
        inbound_at(wa, DAY1_SEND - timedelta(hours=1))
    crashing = CrashAfterAccept()
    with pytest.raises(SystemExit):
        wa.send_due(DAY1_SEND, crashing)
    assert [m["status"] for m in wa.messages()] == ["in_doubt"]
    clock.now += timedelta(minutes=3)
    assert wa.send_due(DAY1_SEND, crashing) == {"recovered_sent": 1}
    assert len(crashing.sent) == 1 and crashing.lookups == 1
    assert [m["status"] for m in wa.messages()] == ["sent"]


def test_recovery_looks_among_whatsapp_messages_not_sms(wa, clock):
    """The provider holds an SMS with the same link to that number: not the WhatsApp message."""
    wa.enroll()
    crashing = CrashAfterAccept()
    with pytest.raises(SystemExit):
        wa.send_due(DAY1_SEND, crashing)
    [(sid, sent)] = crashing.accepted
    provider = RecordingGateway()
    provider.accepted = [(sid, sms.Outgoing(sent.to, sent.body))]   # as if it had gone by SMS
    clock.now += timedelta(minutes=3)
    assert wa.send_due(DAY1_SEND, provider) == {"recovered_unsent": 1, "sent": 1}
    assert [m.channel for m in provider.sent] == ["whatsapp"]


def test_a_template_message_listed_without_its_body_counts_as_ours():
    row = {"reference": None, "token_hash": "x", "channel": "whatsapp", "content_sid": REMINDER_EN}
    assert recovery._carries(row)("") is True
    assert recovery._carries({**row, "content_sid": None})("") is False
    assert recovery._carries({**row, "channel": "sms", "content_sid": None})("") is False


def test_the_console_outbox_keeps_the_channel_and_recovery_finds_the_whatsapp_message(db_path, clock, tmp_path,
                                                                                   trial):
    app = create_app(app_config(db_path, clock, tmp_path))
    wa = WhatsApp(app, trial, clock, sms.ConsoleGateway(tmp_path / "outbox.jsonl", stream=io.StringIO()))
    wa.enroll()

    class Killed(sms.ConsoleGateway):
        def send_many(self, outgoing):
            super().send_many(outgoing)
            raise SystemExit("killed after the outbox write")

    killed = Killed(tmp_path / "outbox.jsonl", stream=io.StringIO())
    with pytest.raises(SystemExit):
        wa.send_due(DAY1_SEND, killed)
    clock.now += timedelta(minutes=3)
    assert wa.send_due(DAY1_SEND, wa.gateway) == {"recovered_sent": 1}
    lines = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert len(lines) == 1 and '"channel": "whatsapp"' in lines[0] and REMINDER_EN in lines[0]


# --- The fallback to SMS ----------------------------------------------------------------------------

def test_a_rejected_template_is_failed_with_its_code_and_one_sms_goes_instead(wa, clock):
    wa.enroll()
    refusing = Refusing(code=21656)
    assert wa.send_due(DAY1_SEND, refusing) == {"fell_back": 1, "sent": 1}
    [refused] = refusing.refused
    [replacement] = refusing.sent
    assert (replacement.channel, replacement.to, replacement.content_sid) == ("sms", PHONE, None)
    assert token_in(replacement.body) and token_in(replacement.body) != token_in(refused.body)
    first, second = wa.reminders()[0], wa.reminders()[-1]
    assert (first["status"], first["reason"]) == ("failed", "error 21656")
    assert (second["status"], second["channel"], second["fallback_of"]) == ("sent", "sms", first["id"])
    assert [(m["channel"], m["status"], m["error_code"]) for m in wa.messages()] == [
        ("whatsapp", "failed", 21656), ("sms", "queued", None)]
    [entry] = wa.audit("whatsapp_fallback")
    assert (entry["actor"], entry["entity_id"]) == ("twilio", "P-001")
    # Later passes send nothing more for it.
    assert wa.send_due(DAY1_SEND + timedelta(minutes=5), refusing) == {}
    assert len(sms_sent(refusing)) == 1


def test_a_number_not_on_whatsapp_is_flagged_and_its_reminders_go_by_sms_from_then_on(wa):
    wa.enroll()
    refusing = Refusing(sms.NOT_ON_WHATSAPP, 63003)
    assert wa.send_due(DAY1_SEND, refusing) == {"fell_back": 1, "sent": 1}
    assert wa.participant()["whatsapp_problem"] == "Twilio error 63003"
    assert wa.send_due(DAY1_SEND + timedelta(days=2), refusing) == {"sent": 1}
    assert len(refusing.refused) == 1 and len(sms_sent(refusing)) == 2


@pytest.mark.parametrize("outcome, code, counts", [
    (sms.OPTED_OUT, 21610, {"opted_out": 1}),
    (sms.RETRY, 20429, {"retried": 1}),
], ids=["opted-out", "rate-limited"])
def test_no_fallback_when_the_number_opted_out_or_the_send_is_retried(wa, outcome, code, counts):
    wa.enroll()
    refusing = Refusing(outcome, code)
    assert wa.send_due(DAY1_SEND, refusing) == counts
    assert sms_sent(refusing) == []
    assert [r for r in wa.reminders() if r["fallback_of"]] == []


def test_the_fallback_is_one_sms_even_when_the_pass_is_killed_between_the_failure_and_the_fallback(wa, clock,
                                                                                               monkeypatch):
    """The pass dies at the moment it makes the fallback: the failure is not recorded either (one
    transaction), so the reminder is in doubt; the next pass finds the provider never had it, sends
    it again on WhatsApp, is refused again, and this time the one SMS goes."""
    wa.enroll()
    refusing = Refusing(code=21656)

    def killed(*args, **kwargs):
        raise SystemExit("killed between the failure and the fallback")

    with monkeypatch.context() as patch:
        patch.setattr(messaging, "fall_back", killed)
        with pytest.raises(SystemExit):
            wa.send_due(DAY1_SEND, refusing)
    assert [(r["attempt"], r["status"]) for r in wa.reminders()] == [(1, "sending"), (2, "pending")]
    assert [m["status"] for m in wa.messages()] == ["in_doubt"]
    clock.now += timedelta(minutes=3)
    assert wa.send_due(DAY1_SEND, refusing) == {"recovered_unsent": 1, "fell_back": 1, "sent": 1}
    for later in (timedelta(minutes=5), timedelta(hours=1)):
        wa.send_due(DAY1_SEND + later, refusing)
    assert len(refusing.refused) == 2 and len(sms_sent(refusing)) == 1
    assert len([r for r in wa.reminders() if r["fallback_of"]]) == 1


class RefusingThenKilledOnSms(Refusing):
    """Refuses the WhatsApp reminder; accepts its SMS, then the process dies before recording it."""

    def send(self, message):
        result = super().send(message)
        if message.channel == "sms":
            raise SystemExit("killed after the SMS was accepted")
        return result


def test_the_fallback_sms_in_doubt_after_a_crash_is_recovered_not_resent(wa, clock):
    wa.enroll()
    killing = RefusingThenKilledOnSms()
    with pytest.raises(SystemExit):
        wa.send_due(DAY1_SEND, killing)
    clock.now += timedelta(minutes=3)
    refusing = Refusing()
    refusing.accepted = killing.accepted          # the provider's log: the SMS it accepted
    assert wa.send_due(DAY1_SEND, refusing) == {"recovered_sent": 1}
    assert len(sms_sent(killing)) == 1 and sms_sent(refusing) == []
    assert [(m["channel"], m["status"]) for m in wa.messages()] == [("whatsapp", "failed"), ("sms", "sent")]


def test_a_second_failure_report_for_the_same_reminder_makes_no_second_sms(wa, app):
    wa.enroll()
    wa.send_due(DAY1_SEND, Refusing())
    db = wa.db()
    try:
        failed = wa.reminders()[0]
        from storage import write
        with write(db):
            assert messaging.fall_back(db, failed, error_code=63016, now=wa.clock()) is False
    finally:
        db.close()
    assert len([r for r in wa.reminders() if r["fallback_of"]]) == 1
    assert message_rows.STATUS_RANK["read"] > message_rows.STATUS_RANK["delivered"]
