"""The Twilio SMS gateway: error sorting against canned Twilio answers, configuration, webhook
signatures, TwiML, and a contract test against Prism serving Twilio's own OpenAPI spec."""
from __future__ import annotations

import io
import json
import logging
import re
import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
import requests
from twilio.http import HttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from werkzeug.datastructures import ImmutableMultiDict

from sms import gateway as sms
from sms import twilio as twilio_gateway
from sms.gateway import ACCEPTED, BAD_NUMBER, FAILED, OPTED_OUT, RETRY, GatewayError, Outgoing
from sms.twilio import ApiBaseHttpClient, PhiSafeHttpClient, TwilioGateway
from sms.webhook import twiml_message, validate_signature
from tests.prism_support import SPEC, PrismServer

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token"
SERVICE_SID = "MG" + "fedcba9876543210" * 2
TO = "+12025550123"
FROM = "+12025550199"
BODY = "Your follow-up questionnaire is ready: https://pro.example.org/f/abc. Reply STOP to opt out."
CALLBACK = "https://pro.example.org/sms/status"
MESSAGES_URL = f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
SID_FORMAT = re.compile(r"SM[0-9a-fA-F]{32}")


# --- a stub HttpClient with canned answers --------------------------------------------------

class StubHttpClient(HttpClient):
    """Records every request the twilio client makes; answers from a list (a Response, or an
    exception to raise), the last answer repeating."""

    def __init__(self, *answers: Response | BaseException):
        super().__init__(logging.getLogger("tests.stub_http"), False)
        self.answers = list(answers)
        self.requests: list[dict] = []

    def request(self, method, url, params=None, data=None, headers=None, auth=None, timeout=None,
                allow_redirects=False):
        self.requests.append({"method": method, "url": url, "params": params, "data": data,
                              "headers": headers, "auth": auth})
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer


def twilio_error(status: int, code: int, message: str) -> Response:
    """An error answer in Twilio's format. Twilio's messages can quote the number, as here."""
    return Response(status, json.dumps({"code": code, "message": message, "status": status,
                                        "more_info": f"https://www.twilio.com/docs/errors/{code}"}))


def created(sid: str = "SM" + "5" * 32, status: str = "queued") -> Response:
    return Response(201, json.dumps({"sid": sid, "status": status, "to": TO, "from": FROM, "body": BODY,
                                     "account_sid": ACCOUNT_SID,
                                     "date_created": "Mon, 02 Mar 2026 12:00:01 +0000"}))


def gateway_with(stub: HttpClient, **sender) -> TwilioGateway:
    sender = sender or {"from_number": FROM}
    return TwilioGateway(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=stub), **sender)


# --- send: the request -----------------------------------------------------------------------

def test_send_posts_the_message_form_to_the_messages_resource():
    stub = StubHttpClient(created(sid="SM" + "a1" * 16))
    result = gateway_with(stub).send(Outgoing(TO, BODY, CALLBACK))
    assert result == sms.SendResult(ACCEPTED, sid="SM" + "a1" * 16, status="queued")
    [request] = stub.requests
    assert request["method"] == "POST"
    assert request["url"] == MESSAGES_URL
    assert request["data"] == {"To": TO, "Body": BODY, "From": FROM, "StatusCallback": CALLBACK}
    assert request["auth"] == (ACCOUNT_SID, AUTH_TOKEN)
    assert request["headers"]["Content-Type"] == "application/x-www-form-urlencoded"


def test_send_through_a_messaging_service_without_a_status_callback():
    stub = StubHttpClient(created())
    result = gateway_with(stub, messaging_service_sid=SERVICE_SID).send(Outgoing(TO, BODY))
    assert result.outcome == ACCEPTED
    assert stub.requests[0]["data"] == {"To": TO, "Body": BODY, "MessagingServiceSid": SERVICE_SID}


def test_a_gateway_needs_exactly_one_sender():
    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=StubHttpClient(created()))
    with pytest.raises(ValueError, match="exactly one"):
        TwilioGateway(client)
    with pytest.raises(ValueError, match="exactly one"):
        TwilioGateway(client, from_number=FROM, messaging_service_sid=SERVICE_SID)


def test_an_answer_without_a_sid_is_not_taken_for_accepted():
    result = gateway_with(StubHttpClient(Response(201, ""))).send(Outgoing(TO, BODY))
    assert result.outcome == FAILED and result.sid is None


# --- send: errors sorted into outcomes -------------------------------------------------------

ERROR_CASES = [
    # (answer, outcome, error_code)
    (twilio_error(400, 21610, f"Attempt to send to unsubscribed recipient {TO}"), OPTED_OUT, 21610),
    (twilio_error(400, 21211, f"The 'To' number {TO} is not a valid phone number."), BAD_NUMBER, 21211),
    (twilio_error(400, 21614, f"'To' number {TO} is not a valid mobile number"), BAD_NUMBER, 21614),
    (twilio_error(429, 20429, "Too Many Requests"), RETRY, 20429),
    (Response(429, ""), RETRY, 429),
    (Response(500, json.dumps({"message": "Internal Server Error", "status": 500})), RETRY, 500),
    (Response(503, "<html><body>Service Unavailable</body></html>"), RETRY, 503),
    (twilio_error(400, 21408, f"Permission to send an SMS has not been enabled for the region of {TO}"),
     FAILED, 21408),
    (twilio_error(401, 20003, "Authenticate"), FAILED, 20003),
    (twilio_error(400, 21602, "Message body is required."), FAILED, 21602),
]


@pytest.mark.parametrize("answer, outcome, error_code", ERROR_CASES,
                         ids=["21610", "21211", "21614", "20429", "429-no-code", "500-no-code", "503-html",
                              "21408", "20003", "21602"])
def test_twilio_errors_are_sorted_into_outcomes(answer, outcome, error_code):
    result = gateway_with(StubHttpClient(answer)).send(Outgoing(TO, BODY, CALLBACK))
    assert (result.outcome, result.error_code, result.sid) == (outcome, error_code, None)
    assert result.error_message
    assert "2025550123" not in result.error_message and BODY not in result.error_message
    assert f"HTTP {answer.status_code}" in result.error_message


def test_rfc9457_error_bodies_are_sorted_too():
    # twilio 9.13 raises TwilioServiceException for these, a sibling of TwilioRestException.
    answer = Response(400, json.dumps({"type": "https://www.twilio.com/docs/errors/21610",
                                       "title": f"Unsubscribed recipient {TO}",
                                       "status": 400, "code": 21610}))
    result = gateway_with(StubHttpClient(answer)).send(Outgoing(TO, BODY))
    assert (result.outcome, result.error_code) == (OPTED_OUT, 21610)
    assert "2025550123" not in result.error_message


@pytest.mark.parametrize("error", [
    requests.exceptions.Timeout(f"timed out: {MESSAGES_URL}?To={TO}"),
    requests.exceptions.ReadTimeout("read timed out"),
    requests.exceptions.ConnectTimeout("connect timed out"),
    requests.exceptions.ConnectionError(f"Connection refused: {TO}"),
    requests.exceptions.ChunkedEncodingError("Connection broken"),
], ids=lambda e: type(e).__name__)
def test_transport_errors_mean_retry(error):
    result = gateway_with(StubHttpClient(error)).send(Outgoing(TO, BODY))
    assert (result.outcome, result.error_code, result.sid) == (RETRY, None, None)
    assert result.error_message and "2025550123" not in result.error_message


def test_a_refused_connection_reaches_us_as_requests_connection_error():
    # What twilio 9.13 really raises: requests' exception, unwrapped.
    http_client = ApiBaseHttpClient(f"http://127.0.0.1:{unused_port()}", timeout=2)
    gateway = TwilioGateway(Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client), from_number=FROM)
    with gateway:
        with pytest.raises(requests.exceptions.ConnectionError):
            gateway.client.messages.create(to=TO, from_=FROM, body=BODY)
        result = gateway.send(Outgoing(TO, BODY))
    assert (result.outcome, result.error_code) == (RETRY, None)


def test_a_silent_server_times_out_into_retry():
    # A socket that listens but never answers: the kernel completes the connection, no reply comes.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        http_client = ApiBaseHttpClient(f"http://127.0.0.1:{silent.getsockname()[1]}", timeout=0.3)
        client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=http_client)
        with TwilioGateway(client, from_number=FROM) as gateway:
            began = time.monotonic()
            result = gateway.send(Outgoing(TO, BODY))
            assert time.monotonic() - began < 5
    assert (result.outcome, result.error_code) == (RETRY, None)
    assert "timeout" in result.error_message


def unused_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- find_sent ---------------------------------------------------------------------------------

SINCE = datetime(2026, 3, 2, 12, 0, 0, tzinfo=timezone.utc)


def listed(*messages: dict) -> Response:
    return Response(200, json.dumps({"messages": list(messages), "page": 0, "page_size": 50, "start": 0,
                                     "end": len(messages) - 1, "next_page_uri": None,
                                     "first_page_uri": "/2010-04-01/...", "previous_page_uri": None,
                                     "uri": "/2010-04-01/..."}))


def message(sid: str, body: str, created_at: str, direction: str = "outbound-api") -> dict:
    return {"sid": sid, "body": body, "to": TO, "from": FROM, "direction": direction, "status": "delivered",
            "date_created": created_at, "date_sent": created_at}


def test_find_sent_lists_messages_to_the_number_since_then_and_matches_bodies():
    stub = StubHttpClient(listed(
        message("SM" + "1" * 32, "Reply received", "Mon, 02 Mar 2026 12:05:00 +0000", direction="inbound"),
        message("SM" + "2" * 32, "other link /f/zzz", "Mon, 02 Mar 2026 12:04:00 +0000"),
        message("SM" + "3" * 32, "your link /f/abc", "Mon, 02 Mar 2026 12:00:30 +0000"),
        message("SM" + "4" * 32, "your link /f/abc", "Mon, 02 Mar 2026 08:00:00 +0000"),
    ))
    gateway = gateway_with(stub)
    assert gateway.find_sent(TO, SINCE, lambda body: "/f/abc" in body) == "SM" + "3" * 32
    assert gateway.find_sent(TO, SINCE, lambda body: "/f/nope" in body) is None
    # Listed (Twilio is not asked to filter by date), but created before `since`: not it.
    assert gateway.find_sent(TO, SINCE + timedelta(minutes=30), lambda body: "/f/abc" in body) is None
    # Replies from the participant are never "sent".
    assert gateway.find_sent(TO, SINCE, lambda body: body == "Reply received") is None
    request = stub.requests[0]
    assert request["method"] == "GET" and request["url"] == MESSAGES_URL
    # No DateSent filter: a message Twilio accepted but still holds queued has no DateSent yet,
    # and it is exactly the one crash recovery must find.
    assert request["params"] == {"To": TO, "PageSize": twilio_gateway.FIND_SENT_LIMIT}


def test_find_sent_finds_a_message_still_queued():
    queued = message("SM" + "5" * 32, "your link /f/abc", "Mon, 02 Mar 2026 12:00:30 +0000")
    queued.update(status="queued", date_sent=None)
    stub = StubHttpClient(listed(queued))
    assert gateway_with(stub).find_sent(TO, SINCE, lambda body: "/f/abc" in body) == "SM" + "5" * 32


def test_find_sent_compares_creation_times_in_utc_to_the_second():
    stub = StubHttpClient(listed(
        message("SM" + "3" * 32, "link /f/abc", "Mon, 02 Mar 2026 12:00:00 +0000"),
        message("SM" + "4" * 32, "link /f/abc", "Mon, 02 Mar 2026 11:59:59 +0000")))
    since_in_paris = (SINCE + timedelta(microseconds=999_999)).astimezone(timezone(timedelta(hours=1)))
    assert gateway_with(stub).find_sent(TO, since_in_paris, lambda body: True) == "SM" + "3" * 32
    assert gateway_with(stub).find_sent(TO, SINCE + timedelta(seconds=1), lambda body: True) is None


@pytest.mark.parametrize("answer, outcome, error_code", [
    (Response(503, "Service Unavailable"), RETRY, 503),
    (twilio_error(429, 20429, "Too Many Requests"), RETRY, 20429),
    (twilio_error(401, 20003, "Authenticate"), FAILED, 20003),
    (requests.exceptions.ReadTimeout("read timed out"), RETRY, None),
], ids=["503", "20429", "20003", "timeout"])
def test_find_sent_raises_gateway_error_when_listing_fails(answer, outcome, error_code):
    with pytest.raises(GatewayError) as raised:
        gateway_with(StubHttpClient(answer)).find_sent(TO, SINCE, lambda body: True)
    assert (raised.value.outcome, raised.value.error_code) == (outcome, error_code)
    assert "2025550123" not in str(raised.value)


# --- configuration -------------------------------------------------------------------------

def test_from_config_names_every_missing_variable():
    with pytest.raises(ValueError) as raised:
        TwilioGateway.from_config({})
    assert str(raised.value) == ("The Twilio SMS gateway is not configured: set TWILIO_ACCOUNT_SID; "
                                 "TWILIO_AUTH_TOKEN; TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
    with pytest.raises(ValueError) as raised:
        TwilioGateway.from_config({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": "",
                                   "TWILIO_FROM_NUMBER": FROM})
    assert str(raised.value) == "The Twilio SMS gateway is not configured: set TWILIO_AUTH_TOKEN"
    with pytest.raises(ValueError, match="TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID$"):
        TwilioGateway.from_config({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN})


def test_from_config_refuses_two_senders():
    with pytest.raises(ValueError, match="only one of TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID"):
        TwilioGateway.from_config({"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
                                   "TWILIO_FROM_NUMBER": FROM, "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID})


def test_from_config_builds_a_client_with_a_timeout_and_talks_to_twilio_by_default():
    config = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
              "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID}
    with TwilioGateway.from_config(config) as gateway:
        assert (gateway.from_number, gateway.messaging_service_sid) == (None, SERVICE_SID)
        assert gateway.client.account_sid == ACCOUNT_SID and gateway.client.password == AUTH_TOKEN
        assert type(gateway.client.http_client) is PhiSafeHttpClient
        assert gateway.client.http_client.timeout == twilio_gateway.REQUEST_TIMEOUT_SECONDS


def test_make_gateway_chooses_twilio_when_an_account_is_configured():
    config = {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
              "TWILIO_FROM_NUMBER": FROM, "TWILIO_API_BASE": "http://127.0.0.1:4010",
              "SMS_OUTBOX": "unused"}
    gateway = sms.make_gateway(config)
    try:
        assert isinstance(gateway, TwilioGateway) and gateway.from_number == FROM
        assert isinstance(gateway.client.http_client, ApiBaseHttpClient)
        assert gateway.client.http_client.api_base == "http://127.0.0.1:4010"
    finally:
        gateway.close()


@pytest.mark.parametrize("url, expected", [
    (f"{MESSAGES_URL}?To=%2B12025550123&PageSize=50",
     f"http://127.0.0.1:4010/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
     "?To=%2B12025550123&PageSize=50"),
    ("https://messaging.twilio.com/v1/Services", "http://127.0.0.1:4010/v1/Services"),
    ("https://api.dublin.ie1.twilio.com/2010-04-01/Accounts.json",
     "http://127.0.0.1:4010/2010-04-01/Accounts.json"),
    ("https://API.Twilio.com:443/x", "http://127.0.0.1:4010/x"),
    # Not Twilio's API: left alone.
    ("https://example.org/2010-04-01/x.json", "https://example.org/2010-04-01/x.json"),
    ("https://api.twilio.com.example.org/x", "https://api.twilio.com.example.org/x"),
    ("https://nottwilio.com/x", "https://nottwilio.com/x"),
    ("http://api.twilio.com/x", "http://api.twilio.com/x"),
])
def test_api_base_rewrites_twilio_hosts_and_keeps_path_and_query(url, expected):
    assert ApiBaseHttpClient("http://127.0.0.1:4010").rewrite(url) == expected


def test_api_base_may_carry_a_path_prefix_and_must_be_a_url():
    client = ApiBaseHttpClient("https://mock.example.org/twilio/")
    assert client.rewrite(f"{MESSAGES_URL}?Page=1") == \
        f"https://mock.example.org/twilio/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json?Page=1"
    for bad in ["127.0.0.1:4010", "ftp://127.0.0.1", "http://127.0.0.1:4010/?x=1"]:
        with pytest.raises(ValueError, match="TWILIO_API_BASE"):
            ApiBaseHttpClient(bad)


def test_request_logging_leaves_out_the_query_with_the_number(caplog):
    client = PhiSafeHttpClient(logger=logging.getLogger("tests.phi_safe"))
    with caplog.at_level(logging.INFO, logger="tests.phi_safe"):
        client.log_request({"method": "GET", "url": MESSAGES_URL, "params": {"To": TO},
                            "headers": {"Authorization": "Basic secret"}})
    assert caplog.messages == [f"Twilio API request: GET {MESSAGES_URL}"]


# --- webhook signatures ------------------------------------------------------------------------

STATUS_URL = "https://pro.example.org/sms/status?attempt=7"
STATUS_PARAMS = {"MessageSid": "SM" + "9" * 32, "MessageStatus": "delivered", "To": TO,
                 "AccountSid": ACCOUNT_SID}


def test_a_signature_from_twilio_validates():
    signature = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, STATUS_PARAMS)
    assert validate_signature(AUTH_TOKEN, STATUS_URL, STATUS_PARAMS, signature) is True
    # Flask's request.form is a MultiDict.
    assert validate_signature(AUTH_TOKEN, STATUS_URL, ImmutableMultiDict(STATUS_PARAMS), signature) is True


def test_forged_or_mismatched_signatures_do_not_validate():
    signature = RequestValidator(AUTH_TOKEN).compute_signature(STATUS_URL, STATUS_PARAMS)
    assert validate_signature(AUTH_TOKEN, STATUS_URL, STATUS_PARAMS, "AAAA" + signature[4:]) is False
    assert validate_signature(AUTH_TOKEN, STATUS_URL, {**STATUS_PARAMS, "MessageStatus": "failed"},
                              signature) is False
    assert validate_signature(AUTH_TOKEN, "https://pro.example.org/sms/status?attempt=8", STATUS_PARAMS,
                              signature) is False
    assert validate_signature("another-token", STATUS_URL, STATUS_PARAMS, signature) is False
    assert validate_signature(AUTH_TOKEN, STATUS_URL, STATUS_PARAMS, None) is False
    assert validate_signature(AUTH_TOKEN, STATUS_URL, STATUS_PARAMS, "") is False


def test_no_token_validates_nothing():
    # Anyone can compute an HMAC with an empty key: a missing token must not make requests valid.
    signature = RequestValidator("").compute_signature(STATUS_URL, STATUS_PARAMS)
    assert validate_signature("", STATUS_URL, STATUS_PARAMS, signature) is False


# --- TwiML -------------------------------------------------------------------------------------

def test_twiml_without_text_is_an_empty_response():
    assert twiml_message(None) == '<?xml version="1.0" encoding="UTF-8"?><Response />'


def test_twiml_escapes_the_reply_text():
    assert twiml_message("Q&A <today>: reply 1 & 2") == (
        '<?xml version="1.0" encoding="UTF-8"?>'
        "<Response><Message>Q&amp;A &lt;today&gt;: reply 1 &amp; 2</Message></Response>")


# --- contract: Prism serving Twilio's OpenAPI spec -------------------------------------------

@pytest.fixture(scope="session")
def prism(tmp_path_factory):
    """`prism mock` of Twilio's API, started once per test session."""
    assert SPEC.exists(), f"Twilio's OpenAPI spec is missing from {SPEC}"
    with PrismServer(SPEC, tmp_path_factory.mktemp("prism") / "prism.log") as server:
        yield server


def prism_config(prism, **overrides) -> dict:
    return {"TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "TWILIO_FROM_NUMBER": FROM,
            "TWILIO_API_BASE": prism.url, **overrides}


def prism_log_after(prism, offset: int, needle: str, timeout: float = 5.0) -> str:
    """Prism's log from offset on, once it holds needle (Prism may write just after answering)."""
    deadline = time.monotonic() + timeout
    while True:
        text = prism.log_text()[offset:]
        if needle in text or time.monotonic() > deadline:
            return text
        time.sleep(0.05)


def test_prism_accepts_our_message_as_twilio_documents_it(prism):
    offset = len(prism.log_text())
    with TwilioGateway.from_config(prism_config(prism)) as gateway:
        result = gateway.send(Outgoing(TO, BODY, CALLBACK))
        sent = gateway.client.http_client._test_only_last_request
    assert result.outcome == ACCEPTED, result
    assert SID_FORMAT.fullmatch(result.sid) and result.status == "queued"
    assert sent.url == f"{prism.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert sent.data == {"To": TO, "From": FROM, "Body": BODY, "StatusCallback": CALLBACK}
    log = prism_log_after(prism, offset, "Responding with")
    assert "The request passed the validation rules" in log and "did not pass" not in log


def test_prism_accepts_a_message_through_a_messaging_service(prism):
    config = prism_config(prism, TWILIO_FROM_NUMBER="", TWILIO_MESSAGING_SERVICE_SID=SERVICE_SID)
    with TwilioGateway.from_config(config) as gateway:
        result = gateway.send(Outgoing(TO, BODY))
    assert result.outcome == ACCEPTED and SID_FORMAT.fullmatch(result.sid)


@pytest.mark.parametrize("overrides, message", [
    ({"TWILIO_FROM_NUMBER": "", "TWILIO_MESSAGING_SERVICE_SID": "MG123"}, Outgoing(TO, BODY)),
    ({"TWILIO_ACCOUNT_SID": "AC123"}, Outgoing(TO, BODY)),
    ({}, Outgoing(TO, BODY, status_callback="/sms/status")),  # StatusCallback must be an absolute URI
], ids=["short-service-sid", "short-account-sid", "relative-callback"])
def test_prism_rejects_off_contract_sends_and_we_give_up_on_them(prism, overrides, message):
    with TwilioGateway.from_config(prism_config(prism, **overrides)) as gateway:
        result = gateway.send(message)
    assert (result.outcome, result.error_code) == (FAILED, 422)


def test_prism_really_validates_requests(prism):
    with TwilioGateway.from_config(prism_config(prism)) as gateway:
        client = gateway.client
        no_to = client.request("POST", MESSAGES_URL, data={"Body": BODY, "From": FROM})
        assert no_to.status_code == 422
        assert "must have required property 'To'" in no_to.text
        as_json = client.request("POST", MESSAGES_URL, data={"To": TO, "Body": BODY, "From": FROM},
                                 headers={"Content-Type": "application/json"})
        assert as_json.status_code == 415
        unauthenticated = client.http_client.request("POST", MESSAGES_URL, data={"To": TO, "Body": BODY})
        assert unauthenticated.status_code == 401
        bad_page_size = client.request("GET", MESSAGES_URL, params={"PageSize": "many"})
        assert bad_page_size.status_code == 422


EXAMPLE_SID = "SMded05904ccb347238880ca9264e8fe1c"  # the outbound message in the spec's list example


def test_find_sent_against_prism_list_example(prism, caplog):
    # Prism answers every list with the spec's first example, whatever the filters: two messages
    # from 24 May 2019, "testing" (outbound, SMded05904ccb347238880ca9264e8fe1c) and an inbound one.
    since = datetime(2019, 5, 24, 17, 0, tzinfo=timezone.utc)
    with caplog.at_level(logging.INFO), TwilioGateway.from_config(prism_config(prism)) as gateway:
        assert gateway.find_sent(TO, since, lambda body: body == "testing") == EXAMPLE_SID
        assert gateway.find_sent(TO, since, lambda body: "media" in body) is None  # the inbound one
        assert gateway.find_sent(TO, since, lambda body: False) is None
        assert gateway.find_sent(TO, datetime(2026, 3, 2, tzinfo=timezone.utc), lambda body: True) is None
    assert "2025550123" not in caplog.text


def test_find_sent_against_prism_raises_when_the_listing_is_refused(prism):
    with TwilioGateway.from_config(prism_config(prism, TWILIO_ACCOUNT_SID="AC123")) as gateway:
        with pytest.raises(GatewayError) as raised:
            gateway.find_sent(TO, datetime(2019, 5, 24, tzinfo=timezone.utc), lambda body: True)
    assert (raised.value.outcome, raised.value.error_code) == (FAILED, 422)


def test_a_reminder_pass_through_prism_stores_twilios_sid(prism, app, trial):
    """End to end: `reminders send-due` with the Twilio gateway, against Twilio's contract."""
    from datetime import date

    from app import create_app

    trial.enroll(procedure_date=date(2026, 3, 2))
    twilio_app = create_app({"TESTING": True, "DATABASE": app.config["DATABASE"], "CLOCK": trial.clock,
                             "BASE_URL": "https://pro.example.org", "SMS_GATEWAY": "twilio",
                             **prism_config(prism)})
    result = twilio_app.test_cli_runner().invoke(args=["reminders", "send-due", "--now", "2026-03-03T10:00:00+00:00"])
    assert result.exit_code == 0 and "sent 1" in result.output, result.output
    stored = trial.query("SELECT sid, status, to_number FROM messages")
    assert len(stored) == 1 and SID_FORMAT.fullmatch(stored[0]["sid"])
    assert (stored[0]["status"], stored[0]["to_number"]) == ("queued", "+12025550101")
    twilio_app.extensions["sms_gateway"].close()


# --- the console gateway's outbox ------------------------------------------------------------

def test_console_gateway_appends_a_group_one_line_each_and_finds_each_again(tmp_path):
    outbox, printed = tmp_path / "outbox.jsonl", io.StringIO()
    gateway = sms.ConsoleGateway(outbox, stream=printed)
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    results = gateway.send_many([Outgoing(TO, BODY + " 1"), Outgoing(FROM, BODY + " 2")])
    assert [r.outcome for r in results] == [ACCEPTED, ACCEPTED]
    assert all(SID_FORMAT.fullmatch(r.sid) for r in results) and results[0].sid != results[1].sid
    lines = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [(line["sid"], line["to"], line["body"]) for line in lines] == [
        (results[0].sid, TO, BODY + " 1"), (results[1].sid, FROM, BODY + " 2")]
    assert gateway.find_sent(TO, since, lambda body: body.endswith(" 1")) == results[0].sid
    assert gateway.find_sent(TO, since, lambda body: body.endswith(" 2")) is None  # that one went to FROM
    assert TO not in printed.getvalue() and sms.mask_number(TO) in printed.getvalue()


def test_a_torn_line_left_by_a_killed_writer_never_swallows_the_next_group(tmp_path):
    outbox = tmp_path / "outbox.jsonl"
    outbox.write_text('{"sid": "SM' + "0" * 32 + '", "to": "+1202555')  # killed mid-write: never accepted
    gateway = sms.ConsoleGateway(outbox, stream=io.StringIO())
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    [result] = gateway.send_many([Outgoing(TO, BODY)])
    torn, ours = outbox.read_text().splitlines()
    assert torn.endswith('"+1202555') and json.loads(ours)["sid"] == result.sid
    assert gateway.find_sent(TO, since, lambda body: body == BODY) == result.sid
