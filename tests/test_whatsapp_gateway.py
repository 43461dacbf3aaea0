"""WhatsApp through the official twilio client: the request (whatsapp: addresses, a template's
ContentSid and ContentVariables and no Body), Twilio's WhatsApp errors sorted into outcomes, the
find-sent lookup among WhatsApp messages, and the contract test against Prism serving Twilio's own
OpenAPI spec: a reminder pass sends the template outside the 24-hour window and free text inside."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from twilio.rest import Client

from app import create_app
from sms import whatsapp
from sms.gateway import ACCEPTED, FAILED, NOT_ON_WHATSAPP, Outgoing
from sms.twilio import TwilioGateway
from tests.test_sms_gateway import (  # noqa: F401  (prism: the session's Prism server)
    ACCOUNT_SID,
    AUTH_TOKEN,
    FROM,
    MESSAGES_URL,
    SERVICE_SID,
    SID_FORMAT,
    StubHttpClient,
    created,
    listed,
    message,
    prism,
    prism_config,
    prism_log_after,
    twilio_error,
)
from tests.whatsapp_support import AUTH_TOKEN as WEBHOOK_TOKEN
from tests.whatsapp_support import DAY1_SEND, PHONE, REMINDER_EN, TEMPLATES, WhatsApp, app_config

TO = "+201001234567"
WHATSAPP_FROM = "whatsapp:+16175550199"
LINK = "https://pro.example.org/f/AbCdEfGhIjKlMnOpQrStUvWx"
BODY = f"Your follow-up questionnaire is ready: {LINK}. Reply STOP to opt out."
CALLBACK = "https://pro.example.org/twilio/status"


def gateway_with(stub, **sender) -> TwilioGateway:
    sender = sender or {"from_number": FROM, "whatsapp_from": WHATSAPP_FROM}
    return TwilioGateway(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=stub), **sender)


def template(to: str = TO) -> Outgoing:
    return Outgoing(to, BODY, CALLBACK, channel="whatsapp", content_sid=REMINDER_EN, content_variables={"1": LINK})


# --- The request ----------------------------------------------------------------------------------

def test_a_template_goes_with_its_sid_and_variables_and_no_body_to_the_whatsapp_address():
    stub = StubHttpClient(created())
    assert gateway_with(stub).send(template()).outcome == ACCEPTED
    assert stub.requests[0]["data"] == {"To": f"whatsapp:{TO}", "From": WHATSAPP_FROM, "ContentSid": REMINDER_EN,
                                        "ContentVariables": json.dumps({"1": LINK}), "StatusCallback": CALLBACK}


def test_free_text_goes_as_a_body_to_the_whatsapp_address():
    stub = StubHttpClient(created())
    gateway_with(stub).send(Outgoing(TO, BODY, channel="whatsapp"))
    assert stub.requests[0]["data"] == {"To": f"whatsapp:{TO}", "From": WHATSAPP_FROM, "Body": BODY}


def test_an_sms_is_unchanged_beside_a_whatsapp_sender():
    stub = StubHttpClient(created())
    gateway_with(stub).send(Outgoing(TO, BODY))
    assert stub.requests[0]["data"] == {"To": TO, "From": FROM, "Body": BODY}


def test_without_a_whatsapp_sender_the_messaging_service_sends_whatsapp():
    stub = StubHttpClient(created())
    gateway_with(stub, messaging_service_sid=SERVICE_SID).send(template())
    assert stub.requests[0]["data"]["MessagingServiceSid"] == SERVICE_SID
    assert "From" not in stub.requests[0]["data"]


def test_without_any_whatsapp_sender_nothing_is_sent():
    stub = StubHttpClient(created())
    result = gateway_with(stub, from_number=FROM).send(template())
    assert result.outcome == FAILED and stub.requests == []


@pytest.mark.parametrize("code, outcome, words", [
    (63003, NOT_ON_WHATSAPP, "not a WhatsApp user"),
    (63024, NOT_ON_WHATSAPP, "not a WhatsApp user"),
    (21656, FAILED, "the template's ContentVariables were rejected"),
    (63016, FAILED, "outside WhatsApp's 24-hour window"),
])
def test_whatsapp_errors_are_sorted_and_said_in_fixed_words(code, outcome, words):
    answer = twilio_error(400, code, f"Message to whatsapp:{TO} failed")
    result = gateway_with(StubHttpClient(answer)).send(template())
    assert (result.outcome, result.error_code) == (outcome, code)
    assert words in result.error_message and TO[1:] not in result.error_message


def test_find_sent_lists_whatsapp_messages_and_matches_the_rendered_template():
    stub = StubHttpClient(listed(
        {**message("SM" + "1" * 32, BODY, "Tue, 03 Mar 2026 10:00:05 +0000"), "to": f"whatsapp:{TO}"}))
    since = DAY1_SEND - timedelta(minutes=5)
    found = gateway_with(stub).find_sent(TO, since, lambda body: LINK in body, channel="whatsapp")
    assert found == "SM" + "1" * 32
    assert stub.requests[0]["params"]["To"] == f"whatsapp:{TO}"


def test_find_sent_gives_an_empty_whatsapp_body_to_the_matcher():
    empty = {**message("SM" + "2" * 32, "", "Tue, 03 Mar 2026 10:00:05 +0000"), "body": None}
    since = DAY1_SEND - timedelta(minutes=5)
    seen = []
    gateway_with(StubHttpClient(listed(empty))).find_sent(TO, since, lambda body: seen.append(body), channel="whatsapp")
    assert seen == [""]
    seen.clear()
    gateway_with(StubHttpClient(listed(empty))).find_sent(TO, since, lambda body: seen.append(body))
    assert seen == []      # an SMS without a body is never ours


def test_from_config_reads_the_whatsapp_sender_and_checks_it():
    config = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM,
              "TWILIO_WHATSAPP_FROM": WHATSAPP_FROM}
    with TwilioGateway.from_config(config) as gateway:
        assert gateway.whatsapp_from == WHATSAPP_FROM and gateway.sends_whatsapp
    with pytest.raises(ValueError, match="TWILIO_WHATSAPP_FROM must be a WhatsApp sender"):
        TwilioGateway.from_config({**config, "TWILIO_WHATSAPP_FROM": "+16175550199"})


@pytest.mark.parametrize("value", ["+201001234567", "whatsapp:", "whatsapp:+0123456789", "whatsapp:+20 100",
                                   "WhatsApp:+201001234567", "whatsapp:+2010012345678901"])
def test_only_a_whatsapp_address_gives_a_number(value):
    with pytest.raises(ValueError):
        whatsapp.number_of(value)


def test_a_whatsapp_address_gives_its_e164_number():
    assert whatsapp.number_of("whatsapp:+201001234567") == "+201001234567"
    assert whatsapp.address("+201001234567", "whatsapp") == "whatsapp:+201001234567"
    assert whatsapp.address("+201001234567", "sms") == "+201001234567"


# --- Contract: Prism serving Twilio's OpenAPI spec ------------------------------------------------

def test_prism_accepts_a_whatsapp_template_and_free_text_as_twilio_documents_them(prism):
    config = prism_config(prism, TWILIO_WHATSAPP_FROM=WHATSAPP_FROM)
    for outgoing, expected in ((template(), {"To": f"whatsapp:{TO}", "From": WHATSAPP_FROM,
                                             "ContentSid": REMINDER_EN, "ContentVariables": json.dumps({"1": LINK}),
                                             "StatusCallback": CALLBACK}),
                               (Outgoing(TO, BODY, channel="whatsapp"),
                                {"To": f"whatsapp:{TO}", "From": WHATSAPP_FROM, "Body": BODY})):
        offset = len(prism.log_text())
        with TwilioGateway.from_config(config) as gateway:
            result = gateway.send(outgoing)
            sent = gateway.client.http_client._test_only_last_request
        assert result.outcome == ACCEPTED and SID_FORMAT.fullmatch(result.sid), result
        assert sent.data == expected
        log = prism_log_after(prism, offset, "Responding with")
        assert "The request passed the validation rules" in log and "did not pass" not in log


def test_prism_rejects_a_malformed_content_sid(prism):
    with TwilioGateway.from_config(prism_config(prism, TWILIO_WHATSAPP_FROM=WHATSAPP_FROM)) as gateway:
        result = gateway.send(Outgoing(TO, BODY, channel="whatsapp", content_sid="HX123",
                                       content_variables={"1": LINK}))
    assert (result.outcome, result.error_code) == (FAILED, 422)


def test_a_whatsapp_reminder_pass_through_prism_sends_the_template_outside_the_window_and_text_inside(
        prism, db_path, clock, tmp_path, trial):
    config = app_config(db_path, clock, tmp_path, SMS_GATEWAY="twilio",
                        **prism_config(prism, TWILIO_WHATSAPP_FROM=WHATSAPP_FROM, TWILIO_AUTH_TOKEN=WEBHOOK_TOKEN))
    app = create_app(config)
    wa = WhatsApp(app, trial, clock)
    wa.enroll("P-001", phone=PHONE)                       # no message from them: outside the window
    wa.enroll("P-002", phone="+201001234568")
    clock.now = DAY1_SEND - timedelta(hours=2)
    assert wa.inbound("Hello", sender="+201001234568")[0] == 200     # inside the window
    offset = len(prism.log_text())
    result = app.test_cli_runner().invoke(args=["reminders", "send-due", "--now", DAY1_SEND.isoformat()])
    assert result.exit_code == 0 and "sent 2" in result.output, result.output
    log = prism_log_after(prism, offset, "Responding with")
    assert log.count("The request passed the validation rules") == 2 and "did not pass" not in log
    stored = {m["to_number"]: m for m in wa.messages()}
    assert all(SID_FORMAT.fullmatch(m["sid"]) and m["status"] == "queued" and m["channel"] == "whatsapp"
               for m in stored.values())
    assert stored[PHONE]["content_sid"] == TEMPLATES["reminder"]["en"]
    assert stored["+201001234568"]["content_sid"] is None
    app.extensions["sms_gateway"].close()


def test_recovery_through_prism_lists_whatsapp_messages_as_the_spec_allows(prism):
    since = datetime(2019, 5, 24, 17, 0, tzinfo=timezone.utc)
    offset = len(prism.log_text())
    with TwilioGateway.from_config(prism_config(prism, TWILIO_WHATSAPP_FROM=WHATSAPP_FROM)) as gateway:
        assert gateway.find_sent(TO, since, lambda body: body == "testing", channel="whatsapp") is not None
    log = prism_log_after(prism, offset, "Responding with")
    assert "The request passed the validation rules" in log and "did not pass" not in log
