"""What a group's sends mean, recorded in the transaction that ends the group (scheduler.dispatch):
each message's result, each reminder settled (sent, back to pending, retried later, cancelled,
failed), an opt-out or a flagged number the provider reported, and, for a WhatsApp reminder that
failed, its one SMS fallback, written in the same transaction as the failure."""
from __future__ import annotations

from datetime import datetime, timedelta

from scheduler import channels
from scheduler import reminders as policy
from sms import gateway as sms
from storage import messages, participants
from storage import reminders as rows

# Rate limits (20429/429), 5xx and timeouts: retried 1, 2, 4, 8 minutes later, then the
# reminder is marked failed for the nurses. Twilio asks for exponential backoff on 429s.
MAX_TRIES = 5
RETRY_BASE = timedelta(minutes=1)
# What a pass's send gives for a message of a group it did not hand to the gateway: that reminder
# goes back to pending, unsent. (Compared by identity: no gateway can return this object.)
HELD_BACK = sms.SendResult("held_back")


def record(messaging, db, to_send: list[tuple[dict, dict]], message_ids: list[int],
           results: list[sms.SendResult], now: datetime, outgoing_of: list[sms.Outgoing]) -> dict[int, str]:
    """Inside the caller's write transaction: record each result of a group's sends and settle its
    reminders; ``messaging`` is services.messaging (scheduler.dispatch.Messaging). Returns each
    reminder's outcome by id."""
    outcomes: dict[int, str] = {}
    recorded: list[messages.Result] = []
    settled: list[rows.Settlement] = []
    fallbacks: list[tuple[dict, int | None]] = []
    for (reminder, detail), message_id, result, message in zip(to_send, message_ids, results, outgoing_of):
        if result is HELD_BACK:
            recorded.append(messages.Result(message_id, messages.NOT_SENT))
            settled.append(rows.Settlement(reminder["id"], rows.PENDING))
            outcomes[reminder["id"]] = "requeued"
        elif result.outcome == sms.ACCEPTED:
            recorded.append(messages.Result(message_id, result.status or "queued", result.sid, sent=True))
            settled.append(rows.Settlement(reminder["id"], rows.SENT))
            outcomes[reminder["id"]] = "sent"
        else:
            recorded.append(messages.Result(message_id, "failed", error_code=result.error_code))
            outcome, settlement = _refused(messaging, db, reminder, detail["participant"]["id"], result, now)
            settled.append(settlement)
            outcomes[reminder["id"]] = outcome
            if channels.falls_back(message.channel, failed=settlement.status == rows.FAILED, retried=False,
                                   sms_allowed=result.outcome not in (sms.OPTED_OUT, sms.BAD_NUMBER)):
                fallbacks.append((reminder, result.error_code))
                outcomes[reminder["id"]] = "fell_back"
    messages.record_results(db, recorded, now=now)
    rows.settle_many(db, settled, now)
    # The failure and the SMS that replaces it commit together (see the module's docstring).
    for reminder, error_code in fallbacks:
        messaging.fall_back(db, reminder, error_code=error_code, now=now)
    messaging.apply_early_statuses(db, [r.sid for r in recorded if r.sid])
    return outcomes

def _refused(messaging, db, reminder: dict, participant_id: int, result: sms.SendResult,
             now: datetime) -> tuple[str, rows.Settlement]:
    """A send the provider did not accept: what it means for the participant and the reminder."""
    if result.outcome in (sms.OPTED_OUT, sms.BAD_NUMBER):
        # Read afresh: an earlier send of this group may have opted out or flagged them already.
        participant = participants.by_id(db, participant_id)
        if result.outcome == sms.OPTED_OUT:
            messaging.opt_out(db, participant, actor="twilio", reason=f"Twilio error {result.error_code}",
                                   now=now, block_number=True)
            return "opted_out", rows.Settlement(reminder["id"], rows.CANCELLED, policy.OPTED_OUT)
        messaging.flag_number(db, participant, error_code=result.error_code, now=now)
        return "bad_number", rows.Settlement(reminder["id"], rows.FAILED, policy.BAD_NUMBER)
    if result.outcome == sms.NOT_ON_WHATSAPP:
        participant = participants.by_id(db, participant_id)
        messaging.flag_whatsapp(db, participant, error_code=result.error_code, now=now)
        return "not_on_whatsapp", rows.Settlement(reminder["id"], rows.FAILED, channels.NOT_ON_WHATSAPP)
    tries = reminder["tries"] + 1
    if result.outcome == sms.RETRY and tries < MAX_TRIES:
        return "retried", rows.Settlement(reminder["id"], rows.PENDING, f"retry after {result.error_code}",
                                          now + RETRY_BASE * 2 ** (tries - 1), tries)
    reason = "gateway_unavailable" if result.outcome == sms.RETRY else f"error {result.error_code}"
    return "failed", rows.Settlement(reminder["id"], rows.FAILED, reason, tries=tries)
