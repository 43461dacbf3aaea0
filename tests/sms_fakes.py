"""A gateway double that records what it is asked to send and answers as told."""
from __future__ import annotations

import threading
import time
from collections import deque
from datetime import datetime

from sms import gateway as sms


class RecordingGateway:
    name = "fake"

    def __init__(self, outcomes=(), latency: float = 0.0):
        self.latency = latency  # seconds each send takes, like a network round trip
        self.sent: list[sms.Outgoing] = []
        self.outcomes = deque(outcomes)  # SendResults to answer with, in order; then ACCEPTED
        self.accepted: list[tuple[str, sms.Outgoing]] = []
        self.lock = threading.Lock()
        self.lookups = 0

    def send(self, message: sms.Outgoing) -> sms.SendResult:
        if self.latency:
            time.sleep(self.latency)
        with self.lock:
            self.sent.append(message)
            result = self.outcomes.popleft() if self.outcomes else sms.SendResult(sms.ACCEPTED, status="queued")
            if result.outcome == sms.ACCEPTED:
                sid = result.sid or f"SM{len(self.sent):032d}"
                result = sms.SendResult(sms.ACCEPTED, sid=sid, status=result.status or "queued")
                self.accepted.append((sid, message))
            return result

    def find_sent(self, to: str, since: datetime, matches, channel: str = "sms") -> str | None:
        self.lookups += 1
        return next((sid for sid, message in self.accepted
                     if message.to == to and message.channel == channel and matches(message.body)), None)


class BatchRecordingGateway(RecordingGateway):
    """The same double, taking a whole group in one call as the console gateway does."""

    def send_many(self, messages: list[sms.Outgoing]) -> list[sms.SendResult]:
        return [self.send(message) for message in messages]
