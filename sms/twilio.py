"""Twilio: the client, error sorting and the find-sent lookup. The only module that sends
through twilio (``sms.webhook`` checks its signatures).

Errors are sorted into the gateway's outcomes (``sms.gateway``): 21610 is OPTED_OUT, 21211 and
21614 BAD_NUMBER, 63003 and 63024 NOT_ON_WHATSAPP, 20429, HTTP 429, 5xx and timeouts RETRY (the
dispatcher backs off), anything else FAILED. Messages are fixed wording: Twilio's own can quote the
number.

WhatsApp (issue 18) goes through the same ``messages.create``: to ``whatsapp:+E164``, from
TWILIO_WHATSAPP_FROM (``whatsapp:+E164``) or else the Messaging Service, as free text (``body``)
or as an approved template (``content_sid`` and ``content_variables``, and no body: Twilio refuses
the two together, error 35127).
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from sms import whatsapp
from sms.errors import (
    HTTP_TOO_MANY_REQUESTS,
    TWILIO_INVALID_TO,
    TWILIO_NOT_MOBILE,
    TWILIO_OPTED_OUT,
    TWILIO_TOO_MANY_REQUESTS,
    WHATSAPP_ERRORS,
    WHATSAPP_NOT_A_USER,
)
from sms.gateway import (
    ACCEPTED,
    BAD_NUMBER,
    FAILED,
    NOT_ON_WHATSAPP,
    OPTED_OUT,
    RETRY,
    GatewayError,
    Outgoing,
    SendResult,
)

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
    if code in WHATSAPP_NOT_A_USER:
        return _Failure(NOT_ON_WHATSAPP, code, f"{WHATSAPP_NOT_A_USER[code]} ({where})")
    if code == TWILIO_TOO_MANY_REQUESTS or status == HTTP_TOO_MANY_REQUESTS:
        return _Failure(RETRY, error_code, f"rate limited by Twilio ({where})")
    if status is not None and 500 <= status <= 599:
        return _Failure(RETRY, error_code, f"Twilio server error ({where})")
    if code in WHATSAPP_ERRORS:
        return _Failure(FAILED, code, f"{WHATSAPP_ERRORS[code]} ({where})")
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
    a phone number (From) or a Messaging Service SID; for WhatsApp, optionally a WhatsApp sender
    (``whatsapp:+E164``), else the Messaging Service sends it too (its sender pool holds the
    WhatsApp sender). ``from_config`` builds the real thing.
    """

    name = "twilio"

    def __init__(self, client: Client, from_number: str | None = None,
                 messaging_service_sid: str | None = None, whatsapp_from: str | None = None):
        if bool(from_number) == bool(messaging_service_sid):
            raise ValueError("TwilioGateway needs exactly one of from_number and messaging_service_sid")
        self.client = client
        self.from_number = from_number or None
        self.messaging_service_sid = messaging_service_sid or None
        self.whatsapp_from = whatsapp.check_sender(whatsapp_from) if whatsapp_from else None

    @property
    def sends_whatsapp(self) -> bool:
        """Whether this gateway has a WhatsApp sender: its own, or the Messaging Service's pool."""
        return bool(self.whatsapp_from or self.messaging_service_sid)

    @classmethod
    def from_config(cls, config: Mapping) -> "TwilioGateway":
        """TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, and TWILIO_FROM_NUMBER or
        TWILIO_MESSAGING_SERVICE_SID (one only); TWILIO_WHATSAPP_FROM, the WhatsApp sender;
        TWILIO_API_BASE optionally redirects the API."""
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
        return cls(client, from_number=from_number, messaging_service_sid=service_sid,
                   whatsapp_from=config.get("TWILIO_WHATSAPP_FROM") or None)

    def _request(self, message: Outgoing) -> dict[str, Any]:
        """messages.create's arguments for one message."""
        kwargs: dict[str, Any] = {"to": whatsapp.address(message.to, message.channel)}
        if message.channel == "whatsapp" and self.whatsapp_from:
            kwargs["from_"] = self.whatsapp_from
        elif self.messaging_service_sid:
            kwargs["messaging_service_sid"] = self.messaging_service_sid
        else:
            kwargs["from_"] = self.from_number
        if message.content_sid:
            kwargs["content_sid"] = message.content_sid
            kwargs["content_variables"] = json.dumps(dict(message.content_variables or {}), ensure_ascii=False)
        else:
            kwargs["body"] = message.body
        return kwargs

    def send(self, message: Outgoing) -> SendResult:
        if message.channel == "whatsapp" and not self.sends_whatsapp:
            return SendResult(FAILED, error_message="no WhatsApp sender: set TWILIO_WHATSAPP_FROM or "
                                                    "TWILIO_MESSAGING_SERVICE_SID")
        kwargs = self._request(message)
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

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool],
                  channel: str = "sms") -> str | None:
        """The sid of the newest message Twilio holds to `to` on `channel`, created at or after
        `since` (to the second), whose body satisfies `matches`; None if there is none.

        A WhatsApp template message's body, as Twilio lists it, is the template rendered with its
        variables: our link is in it, as in an SMS. (Through a Messaging Service, Twilio has been
        seen to answer with an empty body: twilio-node #1081. `matches` is given "" then, and
        decides.) Twilio's timestamps come from Twilio's clock: allowing for skew is the caller's
        job (it passes an earlier `since`). Raises GatewayError when the listing fails: "could
        not tell" is not "not sent".
        """
        if since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        # twilio formats the filter as %Y-%m-%dT%H:%M:%SZ without converting: it must be UTC.
        start = since.astimezone(timezone.utc).replace(microsecond=0)
        try:
            # No date filter: Twilio filters on DateSent, which a message still queued does not
            # have yet, and a queued message is exactly the one recovery must not miss. A
            # participant receives a handful of SMS, so their newest FIND_SENT_LIMIT suffice.
            listed = self.client.messages.list(to=whatsapp.address(to, channel), limit=FIND_SENT_LIMIT)
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
            body = sent.body if sent.body is not None or channel != "whatsapp" else ""
            if body is not None and matches(body):
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
