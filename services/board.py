"""The nurses' follow-up board: every participant's status at every timepoint, flags, counts."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from questionnaires.protocol import Protocol
from scheduler import channels, followup
from scheduler.reminders import SMS_QUESTION_INSTRUMENT
from storage import channels as channel_rows
from storage import messages, participants, reminders, sms_answers
from storage.db import parse_utc

FILTERS = {
    "overdue": "Overdue",
    "missed": "Missed",
    "replied": "Reply waiting",
    "opted_out": "Opted out",
    "sms_failed": "SMS failed",
    "not_on_whatsapp": "Not on WhatsApp",
}
# Shown only where the site sends WhatsApp.
WHATSAPP_FILTERS = ("not_on_whatsapp",)


@dataclass
class Row:
    participant: dict
    cells: dict[str, str]                      # timepoint -> status
    closes: dict[str, datetime | None] = field(default_factory=dict)
    sms_failed: bool = False
    reply_waiting: bool = False              # an SMS from the participant waits in the inbox
    sms_answers: dict[str, int] = field(default_factory=dict)  # timepoint -> the pain (0-10) they replied by SMS
    channel: channels.Channel = channels.Channel(channels.SMS)   # where their messages go now, and why not WhatsApp
    last_reminder: dict | None = None       # their newest reminder sent: its channel, and read_at (WhatsApp)

    @property
    def not_on_whatsapp(self) -> bool:
        return bool(self.participant["whatsapp_problem"])

    @property
    def opted_out(self) -> bool:
        return bool(self.participant["sms_opt_out"])

    def has(self, status: str) -> bool:
        return status in self.cells.values()

    def urgency(self) -> tuple:
        """Overdue first (soonest to close first), then SMS problems, missed, open, upcoming, done."""
        ranks = [followup.URGENCY.index(status) for status in self.cells.values()] or [len(followup.URGENCY)]
        best = min(ranks)
        if (self.sms_failed or self.not_on_whatsapp) and best > 0:
            best = 0.5
        soonest = min((closes for tp, closes in self.closes.items()
                       if closes and self.cells[tp] in (followup.OVERDUE, followup.OPEN)), default=None)
        return (best, soonest.isoformat() if soonest else "9999", self.participant["study_id"])


def _instants(window: dict | None) -> dict[str, datetime | None]:
    """A stored window's opening, closing and completion as instants (None where there is none)."""
    def instant(key: str) -> datetime | None:
        return parse_utc(window[key]) if window and window[key] else None
    return {"opens_at": instant("opens_at"), "closes_at": instant("closes_at"),
            "completed_at": instant("completed_at")}


def _withdrawn_at(participant: dict) -> datetime | None:
    return parse_utc(participant["withdrawn_at"]) if participant["withdrawn_at"] else None


def build(db, protocol: Protocol, now: datetime, *, whatsapp: bool = False) -> list[Row]:
    """Every participant's row, most urgent first; ``whatsapp``: the site sends WhatsApp."""
    people = list(participants.every(db))
    windows = defaultdict(dict)
    for row in participants.every_timepoint(db):
        windows[row["participant_id"]][row["timepoint"]] = row
    reminded = reminders.sent_timepoints(db)
    failed = reminders.participants_with_failures(db)
    replied = messages.participants_with_unhandled_replies(db)
    by_sms = sms_answers.answers_by_participant(db, SMS_QUESTION_INSTRUMENT)
    last_sent = channel_rows.last_reminders(db)
    rows = []
    for person in people:
        withdrawn_at = _withdrawn_at(person)
        cells, closes = {}, {}
        for timepoint in protocol.timepoints:
            instants = _instants(windows[person["id"]].get(timepoint.id))
            cells[timepoint.id] = followup.timepoint_status(
                now, **instants, reminded=(person["id"], timepoint.id) in reminded, withdrawn_at=withdrawn_at)
            closes[timepoint.id] = instants["closes_at"]
        rows.append(Row(person, cells, closes, sms_failed=person["id"] in failed or bool(person["phone_problem"]),
                        reply_waiting=person["id"] in replied, sms_answers=by_sms.get(person["id"], {}),
                        channel=channels.effective_channel(
                            person["channel"], opted_in=bool(person["whatsapp_opt_in_at"]),
                            problem=person["whatsapp_problem"], available=whatsapp),
                        last_reminder=last_sent.get(person["id"])))
    rows.sort(key=Row.urgency)
    return rows


def apply_filter(rows: list[Row], name: str | None) -> list[Row]:
    if not name:
        return rows
    tests = {
        "overdue": lambda row: row.has(followup.OVERDUE),
        "missed": lambda row: row.has(followup.MISSED),
        "replied": lambda row: row.reply_waiting,
        "opted_out": lambda row: row.opted_out,
        "sms_failed": lambda row: row.sms_failed,
        "not_on_whatsapp": lambda row: row.not_on_whatsapp,
    }
    return [row for row in rows if tests[name](row)]


def completion(rows: list[Row], protocol: Protocol) -> list[dict]:
    """Per timepoint, per arm: how many completed, are open now (overdue included), missed,
    and were due so far (every status but upcoming and not applicable)."""
    table = counts(rows, protocol)
    result = []
    for tp in protocol.timepoints:
        by_arm = {}
        for arm in protocol.arms:
            c = table.get(arm.code, {}).get(tp.id, Counter())
            by_arm[arm.code] = {"completed": c[followup.COMPLETED], "open": c[followup.OPEN] + c[followup.OVERDUE],
                                "overdue": c[followup.OVERDUE], "missed": c[followup.MISSED],
                                "due": c[followup.COMPLETED] + c[followup.OPEN] + c[followup.OVERDUE] + c[followup.MISSED]}
        result.append({"timepoint": tp, "arms": by_arm})
    return result


def counts(rows: list[Row], protocol: Protocol) -> dict[str, dict[str, Counter]]:
    """arm -> timepoint -> Counter of statuses."""
    table: dict[str, dict[str, Counter]] = {arm.code: {tp.id: Counter() for tp in protocol.timepoints}
                                            for arm in protocol.arms}
    for row in rows:
        for timepoint, status in row.cells.items():
            table.setdefault(row.participant["arm"], {}).setdefault(timepoint, Counter())[status] += 1
    return table


def timeline(db, participant: dict, protocol: Protocol, now: datetime) -> list[dict]:
    """Per timepoint, in protocol order: its window and status, and every SMS about it."""
    windows = {row["timepoint"]: row for row in participants.timepoints(db, participant["id"])}
    sms = defaultdict(list)
    for row in reminders.history(db, participant["id"]):
        sms[row["timepoint"]].append(row)
    reminded = {tp for tp, items in sms.items() if any(item["reminder_status"] == "sent" for item in items)}
    withdrawn_at = _withdrawn_at(participant)
    result = []
    for timepoint in protocol.timepoints:
        window = windows.get(timepoint.id)
        status = followup.timepoint_status(now, **_instants(window), reminded=timepoint.id in reminded,
                                           withdrawn_at=withdrawn_at)
        result.append({"timepoint": timepoint, "window": window, "status": status, "sms": sms.get(timepoint.id, [])})
    return result


def open_and_unfinished(db, participant: dict, timepoint: str, now: datetime) -> bool:
    """Whether this timepoint's window is open now and its forms are not all in."""
    window = participants.timepoint(db, participant["id"], timepoint)
    return followup.open_and_unfinished(now, **_instants(window))
