"""The SMS gateway: the only module that imports twilio.

Two gateways share one small interface:

* ``TwilioGateway`` sends through the official client (optionally pointed at a Twilio-compatible
  mock by TWILIO_API_BASE) and sorts Twilio's errors into outcomes the dispatcher acts on.
* ``ConsoleGateway`` is for demos and development: it prints each SMS and appends it to an
  outbox file, which stands in for the provider's own message log (it is not our database).

``find_sent`` answers the one question crash recovery needs: did the provider already accept
a message to this number, since this time, whose body matches? (See scheduler/dispatch.py.)
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TextIO
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse

# Outcomes of one send attempt.
ACCEPTED = "accepted"        # the provider took it; sid is set
OPTED_OUT = "opted_out"      # the recipient replied STOP (Twilio 21610): never send again
BAD_NUMBER = "bad_number"    # not a valid (mobile) number (21211, 21614): nurses must fix it
RETRY = "retry"              # rate limit, 5xx or timeout: try again later, with backoff
FAILED = "failed"            # anything else: give up on this message


@dataclass(frozen=True)
class Outgoing:
    to: str
    body: str
    status_callback: str | None = None


@dataclass(frozen=True)
class SendResult:
    outcome: str
    sid: str | None = None
    status: str | None = None
    error_code: int | None = None
    error_message: str | None = None


class Gateway(Protocol):
    name: str

    def send(self, message: Outgoing) -> SendResult: ...

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool]) -> str | None: ...


class ConsoleGateway:
    """Prints each SMS (number masked) and appends it to a JSON-lines outbox file.

    Each outbox line is written with one O_APPEND write and fsync'd, so two processes can share
    the file and a line is either wholly there or not at all.
    """

    name = "console"

    def __init__(self, outbox: str | Path, stream: TextIO | None = None):
        self.outbox = Path(outbox)
        self.stream = stream

    def send(self, message: Outgoing) -> SendResult:
        sid = "SM" + secrets.token_hex(16)
        line = json.dumps({"sid": sid, "to": message.to, "body": message.body,
                           "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}) + "\n"
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outbox, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        stream = self.stream if self.stream is not None else sys.stdout
        print(f"SMS to {mask_number(message.to)}: {message.body}", file=stream, flush=True)
        return SendResult(ACCEPTED, sid=sid, status="sent")

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool]) -> str | None:
        if not self.outbox.exists():
            return None
        with self.outbox.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    sent = json.loads(line)
                except ValueError:
                    continue  # a torn last line from a crash: that message was never accepted
                if sent["to"] == to and datetime.fromisoformat(sent["at"]) >= since.replace(microsecond=0) \
                        and matches(sent["body"]):
                    return sent["sid"]
        return None


def mask_number(number: str) -> str:
    """+12025550101 -> +1202•••••01: enough for a demo to tell messages apart, no more."""
    return number[:5] + "•" * max(len(number) - 7, 0) + number[-2:]


def make_gateway(config: Mapping) -> Gateway:
    """FLASK_SMS_GATEWAY=console|twilio; by default twilio when TWILIO_ACCOUNT_SID is set."""
    choice = config.get("SMS_GATEWAY") or ("twilio" if config.get("TWILIO_ACCOUNT_SID") else "console")
    if choice == "console":
        return ConsoleGateway(config["SMS_OUTBOX"])
    if choice == "twilio":
        return TwilioGateway.from_config(config)
    raise ValueError(f"SMS_GATEWAY must be console or twilio, not {choice!r}")


# ---------------------------------------------------------------------------------------------
# Twilio

# Twilio error codes the dispatcher treats specially (https://www.twilio.com/docs/api/errors).
TWILIO_OPTED_OUT = 21610        # "Attempt to send to unsubscribed recipient": they replied STOP
TWILIO_INVALID_TO = 21211       # "Invalid 'To' Phone Number"
TWILIO_NOT_MOBILE = 21614       # "'To' number is not a valid mobile number": cannot receive SMS
TWILIO_TOO_MANY_REQUESTS = 20429  # Twilio's own rate limit (sent with HTTP 429)
HTTP_TOO_MANY_REQUESTS = 429    # a rate limit from anything in between, with or without a code

# Seconds to wait for Twilio to connect and to answer each read. Messages.create normally answers
# in well under a second; 15 s rides out a slow moment, yet a hung connection cannot hold a
# dispatcher run for long (twilio's own default is no timeout at all). A timeout is reported as
# RETRY; the message may still have been accepted, which find_sent exists to find out.
REQUEST_TIMEOUT_SECONDS = 15.0

# find_sent reads at most this many of the newest messages to one number since a given time (one
# API page). A participant gets a few SMS a week, so 50 covers any crash-recovery window.
FIND_SENT_LIMIT = 50

# error_message texts: fixed wording, never Twilio's own message, which can quote the number.
_ERROR_TEXT = {
    TWILIO_OPTED_OUT: "recipient has opted out (replied STOP)",
    TWILIO_INVALID_TO: "invalid 'To' number",
    TWILIO_NOT_MOBILE: "'To' number cannot receive SMS",
    TWILIO_TOO_MANY_REQUESTS: "rate limited by Twilio",
}


class GatewayError(Exception):
    """A provider call (find_sent) failed. outcome is RETRY or FAILED, as for a send; message
    is PHI-free. Callers outside this module catch this, never twilio's own exceptions."""

    def __init__(self, outcome: str, error_code: int | None, message: str):
        super().__init__(message)
        self.outcome = outcome
        self.error_code = error_code
        self.message = message


@dataclass(frozen=True)
class _Failure:
    outcome: str
    error_code: int | None
    message: str


# What a call through the twilio client raises when the provider or the network lets us down.
# twilio 9.13 passes requests' transport exceptions through unwrapped; an unparsable body is a
# json.JSONDecodeError.
_PROVIDER_ERRORS = (TwilioException, requests.exceptions.RequestException, json.JSONDecodeError)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _code_in_body(text: str | None) -> int | None:
    try:
        payload = json.loads(text or "")
    except ValueError:
        return None
    return _int_or_none(payload.get("code")) if isinstance(payload, dict) else None


def _classify_http(status: int | None, code: int | None) -> _Failure:
    """Sort an error answer (HTTP status, Twilio code) into an outcome."""
    error_code = code if code is not None else status
    where = f"HTTP {status}" + (f", code {code}" if code is not None and code != status else "")
    if code == TWILIO_OPTED_OUT:
        return _Failure(OPTED_OUT, code, f"{_ERROR_TEXT[code]} ({where})")
    if code in (TWILIO_INVALID_TO, TWILIO_NOT_MOBILE):
        return _Failure(BAD_NUMBER, code, f"{_ERROR_TEXT[code]} ({where})")
    if code == TWILIO_TOO_MANY_REQUESTS or status == HTTP_TOO_MANY_REQUESTS:
        return _Failure(RETRY, error_code, f"rate limited by Twilio ({where})")
    if status is not None and 500 <= status <= 599:
        return _Failure(RETRY, error_code, f"Twilio server error ({where})")
    return _Failure(FAILED, error_code, f"Twilio rejected the request ({where})")


def _classify(exc: BaseException) -> _Failure:
    """Sort an exception from the twilio client into an outcome, code and PHI-free message."""
    if isinstance(exc, (TwilioRestException, TwilioServiceException)):
        # TwilioRestException.code is the HTTP status when the body had no code;
        # TwilioServiceException (RFC 9457 bodies) is a sibling class, not a subclass.
        return _classify_http(_int_or_none(exc.status), _int_or_none(exc.code))
    if isinstance(exc, TwilioException):
        # A list page that is not HTTP 200 raises a bare TwilioException("Unable to fetch page",
        # response): no status or code attributes, the answer is its second argument.
        response = next((arg for arg in exc.args if isinstance(arg, Response)), None)
        if response is not None:
            return _classify_http(response.status_code, _code_in_body(response.text))
        return _Failure(FAILED, None, f"Twilio client error ({type(exc).__name__})")
    # str() of a requests exception names the URL, whose query can hold the number: not used.
    if isinstance(exc, requests.exceptions.Timeout):
        return _Failure(RETRY, None, "no answer from Twilio in time (timeout)")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        return _Failure(RETRY, None, f"could not reach Twilio ({type(exc).__name__})")
    if isinstance(exc, json.JSONDecodeError):
        return _Failure(FAILED, None, "unreadable answer from Twilio (not JSON)")
    return _Failure(FAILED, None, f"request to Twilio failed ({type(exc).__name__})")


class PhiSafeHttpClient(TwilioHttpClient):
    """twilio's HTTP client, logging without query strings.

    The stock client logs every request's query parameters at INFO level, and listing messages
    puts the participant's number in the query (To=...): that would write PHI to the app's log.
    """

    def log_request(self, kwargs: dict[str, Any]) -> None:
        url = urlsplit(kwargs["url"])
        self.logger.info("Twilio API request: %s %s", kwargs["method"],
                         urlunsplit((url.scheme, url.netloc, url.path, "", "")))


class ApiBaseHttpClient(PhiSafeHttpClient):
    """Sends every https://*.twilio.com request to another base URL (TWILIO_API_BASE), such as
    a local Prism mock of Twilio's API: scheme and host are replaced, path and query kept."""

    def __init__(self, api_base: str, **kwargs: Any):
        base = urlsplit(api_base)
        if base.scheme not in ("http", "https") or not base.netloc or base.query or base.fragment:
            raise ValueError(f"TWILIO_API_BASE must be a base URL such as http://127.0.0.1:4010, "
                             f"not {api_base!r}")
        self.api_base = api_base
        self._base = base
        super().__init__(**kwargs)

    def rewrite(self, url: str) -> str:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme != "https" or not (host == "twilio.com" or host.endswith(".twilio.com")):
            return url
        return urlunsplit((self._base.scheme, self._base.netloc,
                           self._base.path.rstrip("/") + parts.path, parts.query, parts.fragment))

    def request(self, method: str, url: str, params: dict[str, object] | None = None,
                data: dict[str, object] | None = None, headers: dict[str, str] | None = None,
                auth: tuple[str, str] | None = None, timeout: float | None = None,
                allow_redirects: bool = False) -> Response:
        return super().request(method, self.rewrite(url), params=params, data=data, headers=headers,
                               auth=auth, timeout=timeout, allow_redirects=allow_redirects)


class TwilioGateway:
    """Sends through Twilio's Messages API with the official client.

    Give it a twilio ``Client`` (tests give one with a stub HttpClient), and exactly one sender:
    a phone number (From) or a Messaging Service SID. ``from_config`` builds the real thing.
    """

    name = "twilio"

    def __init__(self, client: Client, from_number: str | None = None,
                 messaging_service_sid: str | None = None):
        if bool(from_number) == bool(messaging_service_sid):
            raise ValueError("TwilioGateway needs exactly one of from_number and messaging_service_sid")
        self.client = client
        self.from_number = from_number or None
        self.messaging_service_sid = messaging_service_sid or None

    @classmethod
    def from_config(cls, config: Mapping) -> "TwilioGateway":
        """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM_NUMBER or
        TWILIO_MESSAGING_SERVICE_SID (one only); TWILIO_API_BASE optionally redirects the API."""
        account_sid = config.get("TWILIO_ACCOUNT_SID") or None
        auth_token = config.get("TWILIO_AUTH_TOKEN") or None
        from_number = config.get("TWILIO_FROM_NUMBER") or None
        service_sid = config.get("TWILIO_MESSAGING_SERVICE_SID") or None
        missing = [name for name, value in [("TWILIO_ACCOUNT_SID", account_sid),
                                            ("TWILIO_AUTH_TOKEN", auth_token)] if not value]
        if not from_number and not service_sid:
            missing.append("TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID")
        if missing:
            raise ValueError("The Twilio SMS gateway is not configured: set " + "; ".join(missing))
        if from_number and service_sid:
            raise ValueError("Set only one of TWILIO_FROM_NUMBER and TWILIO_MESSAGING_SERVICE_SID, "
                             "not both")
        api_base = config.get("TWILIO_API_BASE") or None
        http_client = (ApiBaseHttpClient(api_base, timeout=REQUEST_TIMEOUT_SECONDS) if api_base
                       else PhiSafeHttpClient(timeout=REQUEST_TIMEOUT_SECONDS))
        client = Client(account_sid, auth_token, http_client=http_client)
        return cls(client, from_number=from_number, messaging_service_sid=service_sid)

    def send(self, message: Outgoing) -> SendResult:
        kwargs: dict[str, Any] = {"to": message.to, "body": message.body}
        if self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if message.status_callback:
            kwargs["status_callback"] = message.status_callback
        try:
            created = self.client.messages.create(**kwargs)
        except _PROVIDER_ERRORS as exc:
            failure = _classify(exc)
            return SendResult(failure.outcome, error_code=failure.error_code,
                              error_message=failure.message)
        if not created.sid:  # a 2xx with an empty body: we cannot tell what happened; never resend
            return SendResult(FAILED, status=created.status,
                              error_message="Twilio's answer had no message sid")
        return SendResult(ACCEPTED, sid=created.sid, status=created.status)

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool]) -> str | None:
        """The sid of the newest message Twilio holds to `to`, created at or after `since`
        (to the second), whose body satisfies `matches`; None if there is none.

        Twilio's timestamps come from Twilio's clock: allowing for skew is the caller's job
        (it passes an earlier `since`). Raises GatewayError when the listing fails: "could not
        tell" is not "not sent".
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        # twilio formats the filter as %Y-%m-%dT%H:%M:%SZ without converting: it must be UTC.
        start = since.astimezone(timezone.utc).replace(microsecond=0)
        try:
            # No date filter: Twilio filters on DateSent, which a message still queued does not
            # have yet, and a queued message is exactly the one recovery must not miss. A
            # participant receives a handful of SMS, so their newest FIND_SENT_LIMIT suffice.
            listed = self.client.messages.list(to=to, limit=FIND_SENT_LIMIT)
        except _PROVIDER_ERRORS as exc:
            failure = _classify(exc)
            raise GatewayError(failure.outcome, failure.error_code,
                               "listing messages failed: " + failure.message) from exc
        for sent in listed:
            when = sent.date_created or sent.date_sent
            if isinstance(when, datetime) and when < start:
                continue
            if sent.direction == "inbound":  # a reply from the participant, not a message to them
                continue
            if sent.body is not None and matches(sent.body):
                return sent.sid
        return None

    def close(self) -> None:
        """Close the HTTP connection pool (the client keeps one requests.Session)."""
        session = getattr(self.client.http_client, "session", None)
        if session is not None:
            session.close()

    def __enter__(self) -> "TwilioGateway":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def validate_signature(auth_token: str, url: str, params: Mapping, signature: str | None) -> bool:
    """Whether a webhook request (status callback, incoming SMS) really comes from Twilio.

    url is the full URL Twilio requested (scheme, host, path and query as Twilio saw them);
    params are the POSTed form fields. No signature, or no token to check it with, is False.
    """
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def twiml_message(text: str | None) -> str:
    """TwiML answer to an incoming SMS: one reply Message, or an empty Response for none."""
    response = MessagingResponse()
    if text is not None:
        response.message(text)
    return response.to_xml()
