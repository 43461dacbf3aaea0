"""Recovering reminders a dead pass left in doubt (see scheduler.dispatch for the crash window).

A pass that died after writing a reminder's 'in_doubt' message may or may not have handed it to
the provider. Once its lease has run out, the next pass takes the reminder over, asks the
provider whether a message carrying this one's link went to that number, and records the answer:
sent (with the provider's id; nothing is resent) or never sent (back to pending, and sent). An
SMS question has no link: the provider's copy is matched on its reference instead.

The takeover comes first, in one transaction, as a claim does: a pass asks only about reminders
it holds, so two passes can never both hear "not found" and both send. It asks while the
takeover's lease runs (no lookup starts once ``lookup_within`` of it has gone), and settles a
reminder only if it still holds it then: one it no longer holds is another pass's. If the
provider cannot be asked, the reminder stays in doubt, ours until the lease runs out, and is
asked about again after that: a reminder is never resent on a guess.

A WhatsApp message is looked for among the provider's WhatsApp messages to that number. A template
message's body, as the provider lists it, is the template rendered with its variable, the link:
the token is found in it as in an SMS. A listed template message with no body at all (a Messaging
Service's has been seen so: twilio-node #1081) cannot be told apart from ours, so it counts as ours:
better one reminder fewer (the next attempt follows) than one twice.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from scheduler import channels, links, sms_text
from sms import gateway as sms
from storage import messages, tokens, write
from storage import reminders as rows
from storage.db import parse_utc

log = logging.getLogger(__name__)

# The provider's clock and ours may differ a little; look a bit before our row was written.
LOOKUP_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Recovery:
    gateway: sms.Gateway
    runner: str
    lease: timedelta
    clock: Callable[[], datetime]
    lookup_within: float          # share of the lease after which no lookup starts
    wait_for_lock: float          # seconds a write keeps waiting for another writer's lock
    messaging: Any = None         # services.messaging (scheduler.dispatch.Messaging): applies early statuses

    def run(self, db, now: datetime, counts: Counter) -> None:
        with write(db, wait_for_lock=self.wait_for_lock):
            taken_at = self.clock()
            stale = rows.claim_stale(db, taken_at - self.lease, self.runner, taken_at)
        for reminder in stale:
            if self.clock() - taken_at >= self.lease * self.lookup_within:
                counts["in_doubt"] += 1
                continue
            try:
                found = [(m, self._find(m)) for m in messages.in_doubt_for(db, reminder["id"])]
            except Exception as exc:  # the provider cannot be asked now
                log.warning("reminder %s stays in doubt: %s", reminder["id"], type(exc).__name__)
                counts["in_doubt"] += 1
                continue
            with write(db, wait_for_lock=self.wait_for_lock):
                if not rows.keep_claims(db, [reminder["id"]], self.runner, self.clock()):
                    counts["lost_claim"] += 1  # our lookup outlived the lease: another pass took it
                    continue
                _settle(db, reminder, found, now, counts)
                if self.messaging is not None:
                    self.messaging.apply_early_statuses(db, [sid for _, sid in found if sid])


    def _find(self, message: dict) -> str | None:
        since = parse_utc(message["created_at"]) - LOOKUP_SLACK
        if message["channel"] == channels.WHATSAPP:
            return self.gateway.find_sent(message["to_number"], since, _carries(message), channel=channels.WHATSAPP)
        return self.gateway.find_sent(message["to_number"], since, _carries(message))


def _settle(db, reminder: dict, found: list[tuple[dict, str | None]], now: datetime, counts: Counter) -> None:
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


def _carries(message: dict) -> Callable[[str], bool]:
    """Whether a body the provider holds is this message: the same link token (we hold its hash),
    or, for an SMS question, the same reference."""
    reference, token_hash = message["reference"], message["token_hash"]
    template = message["channel"] == channels.WHATSAPP and message["content_sid"] is not None

    def matches(body: str) -> bool:
        if template and not body:
            return True   # a template message listed without its rendered body: taken as ours
        if reference is not None:
            return sms_text.reference_in(body) == reference
        token = links.token_in(body)
        return token is not None and tokens.hash_token(token) == token_hash
    return matches
