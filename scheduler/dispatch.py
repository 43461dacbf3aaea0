"""One pass of the reminder dispatcher: recover, claim, decide, send, record, a group at a time.

The database is the source of truth. A pass:

1. Recovers reminders a dead pass left 'sending' (claimed longer ago than the lease): takes them
   over first, as a claim, then asks the provider (scheduler.recovery).
2. Claims up to CLAIM_BATCH due reminders and, in the same transaction (BEGIN IMMEDIATE; see
   storage.reminders), reads every participant and window in one query, decides each
   (scheduler.reminders.decide: cancel, defer past quiet hours, or send), settles the cancelled
   and deferred, and for each one to send writes its link and an 'in_doubt' message row. (A
   reminder claimed earlier, as a nurse's request is, first has its lease renewed; one that
   another pass recovered meanwhile is theirs and is left alone.)
3. Sends the group outside any transaction: the console gateway appends it to its outbox in one
   write and one fsync; a gateway that sends one message at a time (Twilio) is asked for each in
   turn, and starts no send once half the lease has gone (those go back to pending, unsent).
4. Records the outcomes and settles the group's reminders, in one transaction (scheduler.outcomes).

So a group of CLAIM_BATCH reminders costs two commits and, on the console, one outbox fsync.

Crash window. If the process dies after the provider accepted a message but before step 4's
write, its reminder stays 'sending' and its message 'in_doubt'; with groups, that is up to a
group of CLAIM_BATCH reminders at once. The next pass, once the lease has run out, asks the
provider about each in-doubt message: whether a message to that number, sent since the row was
written, carries this message's link (the body holds the token; we hold its hash). If so, it
records that SID and nothing is resent; if not, the provider never had it and the reminder goes
back to pending and is sent. If the provider cannot be asked (it is down), the reminder stays in
doubt and is asked about again after the lease: a reminder is never resent on a guess. So a crash
neither duplicates nor loses a reminder; at worst a group is late by the lease. A reminder that
comes back to pending after a later attempt of its window went out is superseded by it, not sent.

SMS questions. For a participant who answers by SMS, a reminder at one of the question's
timepoints (scheduler.reminders.sms_question_at) carries the pain question (``ask``) instead of a
link, until the question is answered. It has no link token, so it carries a short random
reference (scheduler.sms_text), written with its in-doubt row as the token's hash is; recovery
looks for that reference in the provider's copy exactly as it looks for a link's token.

Several passes at once (a second scheduler by mistake, a cron pass) are safe: every row a pass
acts on it holds by a claim, and a pass that meets another's write lock waits (LOCK_PATIENCE)
instead of dying mid-pass.

WhatsApp. A participant on WhatsApp (scheduler.channels) gets the same reminders by the same rules;
only the message differs (scheduler.outgoing: free text inside their 24-hour window, the approved
template outside it). A WhatsApp reminder the provider refuses is recorded failed and, in the same
transaction, gets the one SMS that replaces it: a reminder forced onto SMS, due at once
(storage.reminders.insert_fallback), which any pass then claims, sends and recovers like any other.
A pass killed between the refusal and that write leaves neither, so the reminder is in doubt, and
recovery finds the provider never had it; one killed after leaves both. The provider reports a
later failure (63016, 63003...) by status callback, which makes the replacement the same way
(services.messaging.record_status). The unique index on the failed reminder keeps it to one.

Deciding in step 2 and sending in step 3 are not one instant: a STOP that arrives (or a nurse's
change) between them is not seen by that group. The window is one group's sends: one outbox
write for the console, at most half the lease for a gateway sending one at a time. A number that
replied STOP is refused by Twilio itself (error 21610), which step 4 records as an opt-out.
"""
from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Protocol as Interface
from zoneinfo import ZoneInfo

from questionnaires.protocol import Protocol
from scheduler import channels, outcomes, outgoing, recovery
from scheduler.outcomes import HELD_BACK, MAX_TRIES, RETRY_BASE  # noqa: F401  (named here too: the pass's rules)
from scheduler import reminders as policy
from scheduler.sms_text import new_reference
from sms import gateway as sms
from storage import messages, tokens, write
from storage import reminders as rows
from storage.db import parse_utc

log = logging.getLogger(__name__)

# A claim whose lease (renewed when its group is decided, before the group's sends) is older
# than this belongs to a pass that died. It must outlast the sends a group may start
# (SEND_WITHIN_LEASE of it) plus one send, i.e. the gateway's request timeout, with a wide margin.
CLAIM_LEASE = timedelta(minutes=2)
# Reminders claimed per transaction, and decided, sent and recorded as one group: small, so a
# pass holds few reminders at a time and a crash leaves few in doubt; 20 already shares each
# commit and fsync among 20 reminders.
CLAIM_BATCH = 20
# A group sent one message at a time starts no send once this share of its lease has gone, so
# the last send ends well inside the lease (CLAIM_LEASE is 8 of Twilio's 15 s request timeouts).
SEND_WITHIN_LEASE = 0.5
ACTOR = "reminders"
# A pass that meets another writer's lock (a second pass, a cron pass, a burst of submissions)
# keeps waiting this long, rather than dying mid-pass; well inside the lease.
LOCK_PATIENCE = 30.0


class Messaging(Interface):
    """What the dispatcher asks of services.messaging, the one place that opts a participant out
    or flags a number. It is passed in, because services sit above the dispatcher."""

    def opt_out(self, db, participant: dict, *, actor: str, reason: str, now: datetime,
                block_number: bool = False) -> bool: ...

    def flag_number(self, db, participant: dict, *, error_code: int | None, now: datetime,
                    detail: str | None = None, actor: str = ...) -> bool: ...

    def flag_whatsapp(self, db, participant: dict, *, error_code: int | None, now: datetime,
                      detail: str | None = None) -> bool: ...

    def fall_back(self, db, reminder: dict, *, error_code: int | None, now: datetime) -> bool: ...

    def apply_early_statuses(self, db, sids: list[str]) -> None: ...


@dataclass
class _Group:
    """A claimed group between its two transactions: what was decided, and what is to be sent."""

    claimed: list[dict]
    leased_at: datetime
    requested: bool                                               # a nurse's request (see decide)
    outcomes: dict[int, str] = field(default_factory=dict)       # reminder id -> outcome
    to_send: list[tuple[dict, dict]] = field(default_factory=list)  # (reminder, its due_details)
    outgoing: list[sms.Outgoing] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)


@dataclass
class Dispatcher:
    gateway: sms.Gateway
    protocol: Protocol
    compose: Callable[[dict, str], str]      # (participant, link URL) -> SMS body
    link_url: Callable[[str], str]           # token -> full patient URL (scheduler.links.patient_url)
    messaging: Messaging                     # services.messaging
    # (participant, reference) -> the SMS question's body; None: every reminder carries a link.
    ask: Callable[[dict, str], str] | None = None
    status_callback: str | None = None
    whatsapp: outgoing.WhatsAppSetup | None = None   # None: every message goes by SMS
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
            # Claimed, decided, and links and in-doubt messages written: one commit.
            with write(db, wait_for_lock=LOCK_PATIENCE):
                leased_at = self.clock()
                claimed = rows.claim_due(db, now, self.runner, self.batch, claimed_at=leased_at)
                if not claimed:
                    return counts
                group = self._prepare(db, claimed, {r["id"] for r in claimed}, leased_at, now)
            counts.update(self._finish(db, group, now))

    def send_now(self, db, participant_id: int, timepoint: str, now: datetime, *, requested_by: str) -> str:
        """A reminder a nurse asks for: decided and sent at once by the same rules as any other
        (so never to an opted-out number, and deferred in the participant's quiet hours)."""
        with write(db):  # a nurse is waiting on the page: no long wait for the lock
            reminder = rows.insert_requested(db, participant_id, timepoint, now=now, requested_by=requested_by,
                                             runner=self.runner, claimed_at=self.clock())
        return self.process(db, reminder, now, requested=True)

    def recover(self, db, now: datetime, counts: Counter) -> None:
        """Take over and settle the reminders a dead pass left in doubt (scheduler.recovery)."""
        recovery.Recovery(self.gateway, self.runner, self.lease, self.clock, SEND_WITHIN_LEASE,
                          LOCK_PATIENCE, self.messaging).run(db, now, counts)

    def process(self, db, reminder: dict, now: datetime, requested: bool = False) -> str:
        """One claimed reminder through ``process_group``; returns its outcome."""
        return self.process_group(db, [reminder], now, requested)[0]

    def process_group(self, db, claimed: list[dict], now: datetime, requested: bool = False) -> list[str]:
        """Reminders claimed earlier (a nurse's request, or a pass's group): renew the lease on
        those still ours, then decide, send and record them as ``send_due`` does. Returns the
        outcomes in the order of ``claimed``."""
        with write(db, wait_for_lock=LOCK_PATIENCE):
            leased_at = self.clock()
            ours = rows.keep_claims(db, [r["id"] for r in claimed], self.runner, leased_at)
            group = self._prepare(db, claimed, ours, leased_at, now, requested)
        return self._finish(db, group, now)

    def _prepare(self, db, claimed: list[dict], ours: set[int], leased_at: datetime, now: datetime,
                 requested: bool = False) -> _Group:
        """Inside the caller's write transaction: decide each reminder still ours, settle those
        cancelled or deferred, and write the link and in-doubt message of each one to send."""
        group = _Group(claimed, leased_at, requested)
        details = self._details(db, [r["id"] for r in claimed if r["id"] in ours], now)
        settled = []
        for reminder in claimed:
            if reminder["id"] not in ours:
                group.outcomes[reminder["id"]] = "lost_claim"  # recovered by another pass: theirs now
                continue
            detail = details[reminder["id"]]
            decision = self.decide(reminder, detail, now, requested)
            if decision.action == policy.CANCEL:
                settled.append(rows.Settlement(reminder["id"], rows.CANCELLED, decision.reason))
                group.outcomes[reminder["id"]] = "cancelled"
            elif decision.action == policy.DEFER:
                settled.append(rows.Settlement(reminder["id"], rows.PENDING, "quiet_hours", decision.until))
                group.outcomes[reminder["id"]] = "deferred"
            else:
                group.to_send.append((reminder, detail))
        rows.settle_many(db, settled, now)
        # decide() cancelled withdrawn participants and closed windows: these links may be issued.
        issued = iter(tokens.mint_many(db, [tokens.LinkRequest(d["participant"], r["timepoint"],
                                                               parse_utc(d["closes_at"]))
                                            for r, d in group.to_send if not self._asks(r, d)], actor=ACTOR, now=now))
        outbound = []
        for reminder, detail in group.to_send:
            participant = detail["participant"]
            if self._asks(reminder, detail):
                token_hash, reference = None, new_reference()
                kind, variable, body = channels.QUESTION, reference, self.ask(participant, reference)
            else:
                token, reference = next(issued), None
                url = self.link_url(token)
                token_hash, kind, variable, body = tokens.hash_token(token), channels.REMINDER, url, \
                    self.compose(participant, url)
            message, row = outgoing.build(participant, reminder, body=body, kind=kind, variable=variable,
                                          token_hash=token_hash, reference=reference, whatsapp=self.whatsapp,
                                          gateway=self.gateway.name, status_callback=self.status_callback, now=now)
            group.outgoing.append(message)
            outbound.append(row)
        group.message_ids = messages.insert_outbound_many(db, outbound, now=now)
        return group

    def _finish(self, db, group: _Group, now: datetime) -> list[str]:
        """Send a prepared group outside any transaction, then record the outcomes in one."""
        if group.to_send:
            results = self._send(db, group, now)
            with write(db, wait_for_lock=LOCK_PATIENCE):   # sent: the outcome must be recorded
                group.outcomes.update(outcomes.record(self.messaging, db, group.to_send, group.message_ids,
                                                      results, now, group.outgoing))
        return [group.outcomes[r["id"]] for r in group.claimed]

    def decide(self, reminder: dict, detail: dict, now: datetime, requested: bool = False) -> policy.Decision:
        """``detail`` is the reminder's entry in storage.reminders.due_details."""
        participant = detail["participant"]
        return policy.decide(self.protocol.reminders, policy.Situation(
            now=now, zone=ZoneInfo(participant["timezone"]), closes_at=parse_utc(detail["closes_at"]),
            withdrawn=participant["status"] != "active",
            # The participant's STOP, or one from their number (theirs, or whoever had it before).
            opted_out=bool(participant["sms_opt_out"] or participant["number_opted_out"]),
            phone=participant["phone"], phone_problem=participant["phone_problem"],
            completed=detail["completed_at"] is not None,
            # A nurse's request supersedes nothing and is superseded by nothing; and once the SMS
            # question is answered, it sends the link instead (for the rest of the timepoint's forms).
            later_attempt_due=False if requested else detail["later_attempt_due"],
            answered=not requested and self._question_at(reminder, detail) and detail["answered"]))

    def _question_at(self, reminder: dict, detail: dict) -> bool:
        """Whether this reminder's timepoint is asked by SMS question for its participant."""
        return self.ask is not None and policy.sms_question_at(
            bool(detail["participant"]["answers_by_sms"]), self.protocol.timepoint(reminder["timepoint"]))

    def _asks(self, reminder: dict, detail: dict) -> bool:
        """Whether this reminder goes as the SMS question (not yet answered) rather than a link."""
        return self._question_at(reminder, detail) and not detail["answered"]

    def _details(self, db, reminder_ids: list[int], now: datetime) -> dict[int, dict]:
        return rows.due_details(db, reminder_ids, now, instrument=policy.SMS_QUESTION_INSTRUMENT)

    def _send(self, db, group: _Group, now: datetime) -> list[sms.SendResult]:
        """The gateway's results, in order; HELD_BACK for a message not handed to it.

        A gateway that takes the whole group at once (the console) gets it straight after the
        decisions were committed. One that sends a message at a time (Twilio: a request each, so
        a group's sends take a while) has each reminder decided again just before its send, so a
        STOP or a withdrawal recorded meanwhile stops it as it did when a pass went one reminder
        at a time; and no send starts once half the lease has gone (each send must end well
        inside the lease: see CLAIM_LEASE)."""
        if isinstance(self.gateway, sms.SendsMany):
            return self.gateway.send_many(group.outgoing)
        results = []
        for (reminder, _), message in zip(group.to_send, group.outgoing):
            in_time = self.clock() - group.leased_at < self.lease * SEND_WITHIN_LEASE
            still_due = in_time and self._still_to_send(db, reminder, now, group.requested)
            results.append(self.gateway.send(message) if still_due else HELD_BACK)
        return results

    def _still_to_send(self, db, reminder: dict, now: datetime, requested: bool) -> bool:
        detail = self._details(db, [reminder["id"]], now)[reminder["id"]]
        return self.decide(reminder, detail, now, requested).action == policy.SEND
