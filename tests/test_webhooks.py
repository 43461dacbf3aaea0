"""Twilio's callbacks: signatures checked, status only forward, STOP/START/HELP, nothing corrupted."""
from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from storage.connection import open_db

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
STATUS_URL = "https://pro.example.org/twilio/status"
INBOUND_URL = "https://pro.example.org/twilio/inbound"


@pytest.fixture
def app(db_path, clock):
    from app import create_app
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SMS_GATEWAY": "console"})


def signed_post(client, url, params, token=AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


@pytest.fixture
def sent(trial, app):
    """One participant with one outbound message, SID SM...01, status queued."""
    trial.enroll()
    db = open_db(app.config["DATABASE"])
    db.execute("INSERT INTO messages (direction, participant_id, to_number, body, status, sid, created_at) "
               "VALUES ('outbound', 1, '+12025550101', 'x', 'queued', 'SM01', '2026-03-02T12:00:00+00:00')")
    db.close()
    return "SM01"


def state(trial):
    return (trial.query("SELECT status, error_code FROM messages WHERE direction = 'outbound'"),
            trial.query("SELECT sms_opt_out, phone_problem FROM participants"))


def test_status_moves_forward(client, trial, sent):
    assert signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "sent"}).status_code == 204
    assert signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "delivered"}).status_code == 204
    assert state(trial)[0] == [{"status": "delivered", "error_code": None}]


def test_out_of_order_and_replayed_callbacks_never_move_status_back(client, trial, sent):
    signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "delivered"})
    for late in ("sent", "queued", "sending", "delivered"):
        assert signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": late}).status_code == 204
    assert state(trial)[0] == [{"status": "delivered", "error_code": None}]


def test_undelivered_keeps_its_error_code(client, trial, sent):
    signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "undelivered", "ErrorCode": "30003"})
    assert state(trial)[0] == [{"status": "undelivered", "error_code": 30003}]


def test_opted_out_delivery_error_opts_the_participant_out(client, trial, sent):
    signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "failed", "ErrorCode": "21610"})
    assert state(trial)[1] == [{"sms_opt_out": 1, "phone_problem": None}]


def test_landline_delivery_error_flags_the_number(client, trial, sent):
    signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "undelivered", "ErrorCode": "30006"})
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": "Twilio error 30006: landline or unreachable carrier"}]


@pytest.mark.parametrize("headers", [
    {},
    {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"},
    {"X-Twilio-Signature": RequestValidator("another-token").compute_signature(
        STATUS_URL, {"MessageSid": "SM01", "MessageStatus": "delivered"})},
])
def test_forged_or_missing_signature_is_403_and_changes_nothing(client, trial, sent, headers):
    before = state(trial)
    response = client.post(STATUS_URL, data={"MessageSid": sent, "MessageStatus": "delivered"}, headers=headers)
    assert response.status_code == 403
    assert state(trial) == before


def test_signature_for_other_parameters_is_refused(client, trial, sent):
    signature = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, {"MessageSid": sent, "MessageStatus": "sent"})
    response = client.post(STATUS_URL, data={"MessageSid": sent, "MessageStatus": "failed", "ErrorCode": "21610"},
                           headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


def test_without_an_auth_token_every_callback_is_refused(db_path, clock, trial, sent):
    from app import create_app
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "TWILIO_AUTH_TOKEN": None})
    assert signed_post(app.test_client(), STATUS_URL, {"MessageSid": sent, "MessageStatus": "sent"}).status_code == 403


def test_unknown_sid_is_acknowledged_and_changes_nothing(client, trial, sent):
    before = state(trial)
    assert signed_post(client, STATUS_URL, {"MessageSid": "SM99", "MessageStatus": "delivered"}).status_code == 204
    assert state(trial) == before


@pytest.mark.parametrize("params", [
    {},
    {"MessageSid": "SM01"},
    {"MessageStatus": "delivered"},
    {"MessageSid": "SM01", "MessageStatus": "teleported"},
    {"MessageSid": "SM01", "MessageStatus": "failed", "ErrorCode": "abc"},
])
def test_malformed_status_callback_is_400_and_changes_nothing(client, trial, sent, params):
    before = state(trial)
    assert signed_post(client, STATUS_URL, params).status_code == 400
    assert state(trial) == before


@pytest.mark.parametrize("word", ["STOP", "stop", " Stop. ", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                                  "OPTOUT", "optout", "REVOKE"])
def test_stop_words_opt_out(client, trial, sent, word):
    response = signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": word, "MessageSid": "SMin1"})
    assert response.status_code == 200
    assert response.mimetype == "application/xml"
    assert state(trial)[1] == [{"sms_opt_out": 1, "phone_problem": None}]


@pytest.mark.parametrize("word", ["إيقاف", "ايقاف", "إلغاء", "الغاء.", "توقف", "Eqaf"])
def test_arabic_stop_words_opt_out(client, trial, sent, word):
    """Twilio's own opt-out list knows only English: the app honours the Arabic words itself."""
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": word, "MessageSid": "SMin1"})
    assert state(trial)[1] == [{"sms_opt_out": 1, "phone_problem": None}]
    audit = trial.query("SELECT reason FROM audit_log WHERE action = 'sms_opt_out'")
    assert audit == [{"reason": f"replied {word.strip('.').upper()}"}]


@pytest.mark.parametrize("word", ["ابدأ", "ابدا", "استئناف"])
def test_arabic_start_words_opt_back_in(client, trial, sent, word):
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "ايقاف", "MessageSid": "SMin1"})
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": word, "MessageSid": "SMin2"})
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


def test_arabic_help_gets_the_help_reply(client, trial, sent):
    response = signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "مساعدة", "MessageSid": "SMin1"})
    assert "<Message>" in response.get_data(as_text=True)
    assert trial.query("SELECT handled_by FROM messages WHERE direction = 'inbound'") == [
        {"handled_by": "automatic (مساعدة)"}]


@pytest.mark.parametrize("word", ["START", "yes", "UNSTOP"])
def test_start_words_opt_back_in(client, trial, sent, word):
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "STOP", "MessageSid": "SMin1"})
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": word, "MessageSid": "SMin2"})
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]
    actions = [row["action"] for row in trial.query("SELECT action FROM audit_log WHERE action LIKE 'sms_opt%'")]
    assert actions == ["sms_opt_out", "sms_opt_in"]


def test_two_participants_on_one_phone_both_follow_stop_and_start(client, trial, sent):
    """A household phone: STOP from it opts out everyone enrolled with that number, each audited."""
    trial.enroll("P-002", phone="+12025550101")
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "STOP", "MessageSid": "SMin1"})
    assert trial.query("SELECT study_id, sms_opt_out FROM participants ORDER BY study_id") == [
        {"study_id": "P-001", "sms_opt_out": 1}, {"study_id": "P-002", "sms_opt_out": 1}]
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "START", "MessageSid": "SMin2"})
    assert trial.query("SELECT study_id, sms_opt_out FROM participants ORDER BY study_id") == [
        {"study_id": "P-001", "sms_opt_out": 0}, {"study_id": "P-002", "sms_opt_out": 0}]
    assert trial.query("SELECT entity_id, action, actor, reason FROM audit_log WHERE action LIKE 'sms_opt%' "
                       "ORDER BY id") == [
        {"entity_id": "P-001", "action": "sms_opt_out", "actor": "participant", "reason": "replied STOP"},
        {"entity_id": "P-002", "action": "sms_opt_out", "actor": "participant", "reason": "replied STOP"},
        {"entity_id": "P-001", "action": "sms_opt_in", "actor": "participant", "reason": "replied START"},
        {"entity_id": "P-002", "action": "sms_opt_in", "actor": "participant", "reason": "replied START"}]
    assert trial.query("SELECT COUNT(*) AS n FROM messages WHERE direction = 'inbound'") == [{"n": 2}]


def test_help_gets_a_help_reply_without_health_information(client, trial, sent):
    response = signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "help", "MessageSid": "SMin1"})
    body = response.get_data(as_text=True)
    assert "<Message>" in body and "reply STOP" in body
    assert "pain" not in body.lower() and "spine" not in body.lower()


def test_other_replies_are_kept_for_the_nurses(client, trial, sent):
    response = signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "I can't open the link",
                                                  "MessageSid": "SMin1"})
    assert response.get_data(as_text=True).strip().endswith("<Response />")
    rows = trial.query("SELECT participant_id, from_number, body FROM messages WHERE direction = 'inbound'")
    assert rows == [{"participant_id": 1, "from_number": "+12025550101", "body": "I can't open the link"}]
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


def test_reply_from_an_unknown_number_is_kept_unmatched(client, trial, sent):
    signed_post(client, INBOUND_URL, {"From": "+447911123456", "Body": "STOP", "MessageSid": "SMin1"})
    assert trial.query("SELECT participant_id FROM messages WHERE direction = 'inbound'") == [{"participant_id": None}]
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


def test_replayed_inbound_is_stored_once(client, trial, sent):
    for _ in range(2):
        signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "hello", "MessageSid": "SMin1"})
    assert trial.query("SELECT COUNT(*) AS n FROM messages WHERE direction = 'inbound'") == [{"n": 1}]


def test_a_replayed_start_after_a_stop_changes_nothing(client, trial, sent):
    """Twilio's signature has no timestamp: a captured, signed START posted again after the
    participant's STOP must not opt them back in; nor a replayed STOP after a START."""
    start = {"From": "+12025550101", "Body": "START", "MessageSid": "SMstart1"}
    stop = {"From": "+12025550101", "Body": "STOP", "MessageSid": "SMstop1"}
    signed_post(client, INBOUND_URL, start)
    signed_post(client, INBOUND_URL, stop)
    assert signed_post(client, INBOUND_URL, start).status_code == 200       # the replay
    assert state(trial)[1] == [{"sms_opt_out": 1, "phone_problem": None}]
    signed_post(client, INBOUND_URL, {**start, "MessageSid": "SMstart2"})    # a real, new START
    assert signed_post(client, INBOUND_URL, stop).status_code == 200        # the STOP replayed
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]
    assert [r["action"] for r in trial.query("SELECT action FROM audit_log WHERE action IN ('sms_opt_out', 'sms_opt_in')")] \
        == ["sms_opt_out", "sms_opt_in"]


def test_a_replayed_help_is_not_answered_twice(client, trial, sent):
    help_ = {"From": "+12025550101", "Body": "HELP", "MessageSid": "SMhelp1"}
    assert "<Message>" in signed_post(client, INBOUND_URL, help_).get_data(as_text=True)
    assert "<Message>" not in signed_post(client, INBOUND_URL, help_).get_data(as_text=True)


def test_a_replayed_opted_out_status_callback_changes_nothing(client, trial, sent):
    failed = {"MessageSid": sent, "MessageStatus": "failed", "ErrorCode": "21610"}
    signed_post(client, STATUS_URL, failed)
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "START", "MessageSid": "SMstart1"})
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]
    assert signed_post(client, STATUS_URL, failed).status_code == 204        # the callback replayed
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


@pytest.mark.parametrize("params", [{}, {"From": "+12025550101"}, {"Body": "STOP"}])
def test_malformed_inbound_is_400(client, trial, sent, params):
    assert signed_post(client, INBOUND_URL, params).status_code == 400
    assert state(trial)[1] == [{"sms_opt_out": 0, "phone_problem": None}]


def test_behind_a_proxy_the_signed_url_is_the_public_one(db_path, clock, trial, sent):
    from app import create_app
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                      "BEHIND_PROXY": True})
    params = {"MessageSid": sent, "MessageStatus": "delivered"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, params)
    response = app.test_client().post("/twilio/status", data=params, base_url="http://10.0.0.5:8000",
                                      headers={"X-Twilio-Signature": signature, "X-Forwarded-Proto": "https",
                                               "X-Forwarded-Host": "pro.example.org", "X-Forwarded-Port": "443"})
    assert response.status_code == 204


def test_the_participant_page_says_when_their_number_is_blocked(app, client, clock, trial, sent):
    """A participant moved onto a number that replied STOP gets no SMS: the nurse sees why."""
    from tests.staff_support import staff_and_list
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "STOP", "MessageSid": "SMin1"})
    trial.enroll("P-002", phone="+12025550101")       # enrolled onto the blocked number afterwards
    trial.enroll("P-003", phone="+16175550123")
    staff_and_list(app, client, clock).login("nurse")
    page = client.get("/staff/participants/P-002").get_data(as_text=True)
    assert "Number blocked since" in page and "until a START comes from it" in page
    assert "Number blocked since" not in client.get("/staff/participants/P-003").get_data(as_text=True)
    signed_post(client, INBOUND_URL, {"From": "+12025550101", "Body": "START", "MessageSid": "SMin2"})
    assert "Number blocked since" not in client.get("/staff/participants/P-002").get_data(as_text=True)


@pytest.mark.parametrize("code", ["9" * 20, "²", "-1", "30003x"])
def test_a_status_callback_with_an_error_code_twilio_never_sends_is_refused_and_changes_nothing(client, trial, sent,
                                                                                                  code):
    before = state(trial)
    response = signed_post(client, STATUS_URL, {"MessageSid": sent, "MessageStatus": "undelivered", "ErrorCode": code})
    assert response.status_code == 400
    assert state(trial) == before
