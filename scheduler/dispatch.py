"""One pass of the reminder dispatcher: recover, claim, decide, send, record.

The database is the source of truth. A pass:

1. Recovers reminders a dead pass left 'sending' (claimed longer ago than the lease).
2. Claims due reminders in batches, atomically (BEGIN IMMEDIATE; see storage.reminders).
3. For each, decides (scheduler.reminders.decide): cancel, defer past quiet hours, or send.
4. To send: creates the link and an 'in_doubt' message row and commits them, then calls the
   gateway outside any transaction, then records the outcome and settles the reminder.

Crash window. If the process dies after the provider accepted a message but before step 4's
last write, the reminder stays 'sending' and its message 'in_doubt'. The next pass, once the
lease has run out, asks the provider whether a message to that number, sent since the row was
written, carries this message's link (the body holds the token; we hold its hash). If so, it
records that SID and nothing is resent; if not, the provider never had it and the reminder goes
back to pending and is sent. If the provider cannot be asked (it is down), the reminder stays in
doubt and is asked about again next pass: a reminder is never resent on a guess. So a crash
neither duplicates nor loses a reminder; at worst one is late by the lease.
"""
from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol as Interface
from zoneinfo import ZoneInfo

from questionnaires.protocol import Protocol
from scheduler import links
from scheduler import reminders as policy
from scheduler.sms_text import count_segments
from sms import gateway as sms
from storage import messages, participants, tokens, write
from storage import reminders as rows
from storage.db import parse_utc

log = logging.getLogger(__name__)

# A claim whose lease (renewed before each send) is older than this belongs to a pass that
# died. It must outlast one send, i.e. the gateway's request timeout, with a wide margin.
CLAIM_LEASE = timedelta(minutes=2)
# Reminders claimed per transaction: small, so a pass holds few reminders at a time.
CLAIM_BATCH = 20
# Rate limits (20429/429), 5xx and timeouts: retried 1, 2, 4, 8 minutes later, then the
# reminder is marked failed for the nurses. Twilio asks for exponential backoff on 429s.
MAX_TRIES = 5
RETRY_BASE = timedelta(minutes=1)
# The provider's clock and ours may differ a little; look a bit before our row was written.
LOOKUP_SLACK = timedelta(minutes=5)
ACTOR = "reminders"


class Messaging(Interface):
    """What the dispatcher asks of services.messaging, the one place that opts a participant out
    or flags a number. It is passed in, because services sit above the dispatcher."""

    def opt_out(self, db, participant: dict, *, actor: str, reason: str, now: datetime) -> bool: ...

    def flag_number(self, db, participant: dict, *, error_code: int | None, now: datetime,
                    detail: str | None = None, actor: str = ...) -> bool: ...


@dataclass
class Dispatcher:
    gateway: sms.Gateway
    protocol: Protocol
    compose: Callable[[dict, str], str]      # (participant, link URL) -> SMS body
    link_url: Callable[[str], str]           # token -> full patient URL (scheduler.links.patient_url)
    messaging: Messaging                     # services.messaging
    status_callback: str | None = None
    lease: timedelta = CLAIM_LEASE
    batch: int = CLAIM_BATCH
    runner: str = ""
    # Leases run on the wall clock, not on a pass's ``now``: ``--now`` moves what is due, but
    # another process can only judge a claim dead by how long ago it really was taken.
    clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)

    def __post_init__(self) -> None:
        self.runner = self.runner or f"pass-{secrets.token_hex(4)}"

    def send_due(self, db, now: datetime) -> Counter:
        """Run one pass at ``now``; returns counts of what happened."""
        counts: Counter = Counter()
        self.recover(db, now, counts)
        while True:
            with write(db):
                claimed = rows.claim_due(db, now, self.runner, self.batch, claimed_at=self.clock())
            if not claimed:
                return counts
            for reminder in claimed:
                counts[self.process(db, reminder, now)] += 1

    def send_now(self, db, participant_id: int, timepoint: str, now: datetime, *, requested_by: str) -> str:
        """A reminder a nurse asks for: decided and sent at once by the same rules as any other
        (so never to an opted-out number, and deferred in the participant's quiet hours)."""
        with write(db):
            reminder = rows.insert_requested(db, participant_id, timepoint, now=now, requested_by=requested_by,
                                             runner=self.runner, claimed_at=self.clock())
        return self.process(db, reminder, now, requested=True)

    def recover(self, db, now: datetime, counts: Counter) -> None:
        for reminder in rows.stale_claims(db, self.clock() - self.lease):
            in_doubt = messages.in_doubt_for(db, reminder["id"])
            try:
                found = [(m, self.gateway.find_sent(m["to_number"], parse_utc(m["created_at"]) - LOOKUP_SLACK,
                                                    _carries(m["token_hash"]))) for m in in_doubt]
            except Exception as exc:  # the provider cannot be asked now: ask again next pass
                log.warning("reminder %s stays in doubt: %s", reminder["id"], type(exc).__name__)
                counts["in_doubt"] += 1
                continue
            with write(db):
                accepted = [(m, sid) for m, sid in found if sid]
                for message, sid in found:
                    if not sid:
                        messages.record_result(db, message["id"], status=messages.NOT_SENT, now=now)
                if accepted:
                    message, sid = accepted[0]
                    messages.record_result(db, message["id"], status="sent", sid=sid, now=now, sent=True)
                    rows.settle(db, reminder["id"], rows.SENT, now, reason="recovered")
                    counts["recovered_sent"] += 1
                else:
                    rows.settle(db, reminder["id"], rows.PENDING, now, due_at=now)
                    counts["recovered_unsent"] += 1

    def process(self, db, reminder: dict, now: datetime, requested: bool = False) -> str:
        """Decide and, to send, commit the link and an in-doubt message row; then send."""
        with write(db):
            if not rows.keep_claim(db, reminder["id"], self.runner, self.clock()):
                return "lost_claim"  # held too long and recovered by another pass: it is theirs now
            participant = participants.by_id(db, reminder["participant_id"])
            window = participants.timepoint(db, reminder["participant_id"], reminder["timepoint"])
            decision = self.decide(db, reminder, participant, window, now, requested)
            if decision.action == policy.CANCEL:
                rows.settle(db, reminder["id"], rows.CANCELLED, now, reason=decision.reason)
                return "cancelled"
            if decision.action == policy.DEFER:
                rows.settle(db, reminder["id"], rows.PENDING, now, due_at=decision.until, reason="quiet_hours")
                return "deferred"
            # decide() cancelled a withdrawn participant and a closed window: a link may be issued.
            token = tokens.mint(db, participant=participant, timepoint=reminder["timepoint"],
                                expires_at=parse_utc(window["closes_at"]), actor=ACTOR, now=now)
            body = self.compose(participant, self.link_url(token))
            segments = count_segments(body)
            message_id = messages.insert_outbound(
                db, participant_id=participant["id"], reminder_id=reminder["id"], to=participant["phone"],
                body=links.redact(body), token_hash=tokens.hash_token(token), gateway=self.gateway.name,
                segments=segments.count, encoding=segments.encoding, now=now)
        result = self.gateway.send(sms.Outgoing(participant["phone"], body, self.status_callback))
        with write(db):
            return self._record(db, reminder, participant, message_id, result, now)

    def decide(self, db, reminder: dict, participant: dict, window: dict, now: datetime,
               requested: bool = False) -> policy.Decision:
        return policy.decide(self.protocol.reminders, policy.Situation(
            now=now, zone=ZoneInfo(participant["timezone"]), closes_at=parse_utc(window["closes_at"]),
            withdrawn=participant["status"] != "active", opted_out=bool(participant["sms_opt_out"]),
            phone=participant["phone"], phone_problem=participant["phone_problem"],
            completed=window["completed_at"] is not None,
            # A nurse's request supersedes nothing and is superseded by nothing.
            later_attempt_due=False if requested else rows.later_attempt_due(db, reminder, now)))

    def _record(self, db, reminder: dict, participant: dict, message_id: int, result: sms.SendResult,
                now: datetime) -> str:
        if result.outcome == sms.ACCEPTED:
            messages.record_result(db, message_id, status=result.status or "queued", sid=result.sid, now=now,
                                   sent=True)
            rows.settle(db, reminder["id"], rows.SENT, now)
            return "sent"
        messages.record_result(db, message_id, status="failed", error_code=result.error_code, now=now)
        if result.outcome == sms.OPTED_OUT:
            self.messaging.opt_out(db, participant, actor="twilio", reason=f"Twilio error {result.error_code}",
                                   now=now)
            rows.settle(db, reminder["id"], rows.CANCELLED, now, reason=policy.OPTED_OUT)
            return "opted_out"
        if result.outcome == sms.BAD_NUMBER:
            self.messaging.flag_number(db, participant, error_code=result.error_code, now=now)
            rows.settle(db, reminder["id"], rows.FAILED, now, reason=policy.BAD_NUMBER)
            return "bad_number"
        tries = reminder["tries"] + 1
        if result.outcome == sms.RETRY and tries < MAX_TRIES:
            rows.settle(db, reminder["id"], rows.PENDING, now, tries=tries, reason=f"retry after {result.error_code}",
                        due_at=now + RETRY_BASE * 2 ** (tries - 1))
            return "retried"
        reason = "gateway_unavailable" if result.outcome == sms.RETRY else f"error {result.error_code}"
        rows.settle(db, reminder["id"], rows.FAILED, now, tries=tries, reason=reason)
        return "failed"


def _carries(token_hash: str) -> Callable[[str], bool]:
    def matches(body: str) -> bool:
        token = links.token_in(body)
        return token is not None and tokens.hash_token(token) == token_hash
    return matches
