"""The SMS gateway's interface, the console gateway, and the factory that picks one.

Two gateways share one small interface (``Gateway``):

* ``sms.twilio.TwilioGateway`` sends through the official client (optionally pointed at a
  Twilio-compatible mock by TWILIO_API_BASE) and sorts Twilio's errors into the outcomes below.
* ``ConsoleGateway`` is for demos and development: it prints each SMS and appends it to an
  outbox file, which stands in for the provider's own message log (it is not our database).

``find_sent`` answers the one question crash recovery needs: did the provider already accept
a message to this number, since this time, whose body matches? (See scheduler/dispatch.py.)

This module imports no twilio: the console gateway, and every process that uses it, starts
without loading the Twilio client.
"""
from __future__ import annotations

import json
import os
import secrets
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol, TextIO, runtime_checkable

# Outcomes of one send attempt.
ACCEPTED = "accepted"        # the provider took it; sid is set
OPTED_OUT = "opted_out"      # the recipient replied STOP (Twilio 21610): never send again
BAD_NUMBER = "bad_number"    # not a valid (mobile) number (21211, 21614): nurses must fix it
NOT_ON_WHATSAPP = "not_on_whatsapp"  # the number has no WhatsApp (63003, 63024): SMS may still reach it
RETRY = "retry"              # rate limit, 5xx or timeout: try again later, with backoff
FAILED = "failed"            # anything else: give up on this message


@dataclass(frozen=True)
class Outgoing:
    to: str                      # E.164; the gateway adds a channel's prefix (sms.whatsapp.address)
    body: str                    # the text; for a template, the text it renders to (the provider's copy)
    status_callback: str | None = None
    channel: str = "sms"         # sms or whatsapp
    content_sid: str | None = None                   # WhatsApp: the approved template to send instead of body
    content_variables: Mapping[str, str] | None = None  # its variables (the link: sms.whatsapp.LINK_VARIABLE)


@dataclass(frozen=True)
class SendResult:
    outcome: str
    sid: str | None = None
    status: str | None = None
    error_code: int | None = None
    error_message: str | None = None


class GatewayError(Exception):
    """A provider call (find_sent) failed. outcome is RETRY or FAILED, as for a send; message
    is PHI-free. Callers catch this, never a provider library's own exceptions."""

    def __init__(self, outcome: str, error_code: int | None, message: str):
        super().__init__(message)
        self.outcome = outcome
        self.error_code = error_code
        self.message = message


class Gateway(Protocol):
    name: str

    def send(self, message: Outgoing) -> SendResult: ...

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool],
                  channel: str = "sms") -> str | None: ...


@runtime_checkable
class SendsMany(Protocol):
    """A gateway that can hand the provider several messages at once (the console: one outbox
    write and one fsync for all of them). One that cannot is asked for each in turn."""

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]: ...


class ConsoleGateway:
    """Prints each SMS (number masked) and appends it to a JSON-lines outbox file.

    A batch of messages is appended with one O_APPEND write and one fsync, so two processes can
    share the file, and a batch is accepted once it is on disk. A process killed during the write
    may leave a torn last line: that message was never accepted (``find_sent`` skips the line),
    and the next write starts on a new line, so the torn one never swallows a later message.
    """

    name = "console"

    def __init__(self, outbox: str | Path, stream: TextIO | None = None):
        self.outbox = Path(outbox)
        self.stream = stream

    def send(self, message: Outgoing) -> SendResult:
        return self.send_many([message])[0]

    def send_many(self, messages: Sequence[Outgoing]) -> list[SendResult]:
        if not messages:
            return []
        at = datetime.now(timezone.utc).isoformat(timespec="seconds")
        sids = ["SM" + secrets.token_hex(16) for _ in messages]
        lines = "".join(json.dumps({"sid": sid, "to": message.to, "body": message.body, "at": at,
                                    **({"channel": message.channel, "content_sid": message.content_sid}
                                       if message.channel != "sms" else {})}) + "\n"
                        for sid, message in zip(sids, messages)).encode()
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.outbox, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                lines = b"\n" + lines  # a torn line from a killed writer: end it before ours
            while lines:
                lines = lines[os.write(fd, lines):]
            os.fsync(fd)
        finally:
            os.close(fd)
        stream = self.stream if self.stream is not None else sys.stdout
        print("".join(f"{_LABEL.get(message.channel, message.channel)} to {mask_number(message.to)}: {message.body}"
                      + (f" (template {message.content_sid})" if message.content_sid else "") + "\n"
                      for message in messages), end="", file=stream, flush=True)
        return [SendResult(ACCEPTED, sid=sid, status="sent") for sid in sids]

    def find_sent(self, to: str, since: datetime, matches: Callable[[str], bool],
                  channel: str = "sms") -> str | None:
        if not self.outbox.exists():
            return None
        with self.outbox.open(encoding="utf-8") as lines:
            for line in lines:
                try:
                    sent = json.loads(line)
                except ValueError:
                    continue  # a torn last line from a crash: that message was never accepted
                if sent["to"] == to and sent.get("channel", "sms") == channel \
                        and datetime.fromisoformat(sent["at"]) >= since.replace(microsecond=0) \
                        and matches(sent["body"]):
                    return sent["sid"]
        return None


_LABEL = {"sms": "SMS", "whatsapp": "WhatsApp"}


def mask_number(number: str) -> str:
    """+12025550101 -> +1202•••••01: enough for a demo to tell messages apart, no more."""
    return number[:5] + "•" * max(len(number) - 7, 0) + number[-2:]


def gateway_choice(config: Mapping) -> str:
    """FLASK_SMS_GATEWAY=console|twilio; by default twilio when TWILIO_ACCOUNT_SID is set."""
    return config.get("SMS_GATEWAY") or ("twilio" if config.get("TWILIO_ACCOUNT_SID") else "console")


def make_gateway(config: Mapping) -> Gateway:
    """The gateway ``gateway_choice`` names, configured."""
    choice = gateway_choice(config)
    if choice == "console":
        return ConsoleGateway(config["SMS_OUTBOX"])
    if choice == "twilio":
        from sms.twilio import TwilioGateway  # only a Twilio deployment pays for loading the client

        return TwilioGateway.from_config(config)
    raise ValueError(f"SMS_GATEWAY must be console or twilio, not {choice!r}")
