"""The nurses' follow-up board: every participant's status at every timepoint, flags, counts."""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from questionnaires.protocol import Protocol
from scheduler import followup
from storage.db import parse_utc

FILTERS = {
    "overdue": "Overdue",
    "missed": "Missed",
    "opted_out": "Opted out",
    "sms_failed": "SMS failed",
}


@dataclass
class Row:
    participant: dict
    cells: dict[str, str]                      # timepoint -> status
    closes: dict[str, datetime | None] = field(default_factory=dict)
    sms_failed: bool = False

    @property
    def opted_out(self) -> bool:
        return bool(self.participant["sms_opt_out"])

    def has(self, status: str) -> bool:
        return status in self.cells.values()

    def urgency(self) -> tuple:
        """Overdue first (soonest to close first), then SMS problems, missed, open, upcoming, done."""
        ranks = [followup.URGENCY.index(status) for status in self.cells.values()] or [len(followup.URGENCY)]
        best = min(ranks)
        if self.sms_failed and best > 0:
            best = 0.5
        soonest = min((closes for tp, closes in self.closes.items()
                       if closes and self.cells[tp] in (followup.OVERDUE, followup.OPEN)), default=None)
        return (best, soonest.isoformat() if soonest else "9999", self.participant["study_id"])


def build(db, protocol: Protocol, now: datetime) -> list[Row]:
    people = list(db.query("SELECT * FROM participants ORDER BY study_id"))
    windows = defaultdict(dict)
    for row in db.query("SELECT * FROM timepoints"):
        windows[row["participant_id"]][row["timepoint"]] = row
    reminded = {(r["participant_id"], r["timepoint"]) for r in db.query(
        "SELECT DISTINCT participant_id, timepoint FROM reminders WHERE status = 'sent'")}
    failed = {r["participant_id"] for r in db.query(
        "SELECT participant_id FROM reminders WHERE status = 'failed' "
        "UNION SELECT participant_id FROM messages WHERE direction = 'outbound' AND status IN ('failed', 'undelivered')")}
    rows = []
    for person in people:
        withdrawn_at = parse_utc(person["withdrawn_at"]) if person["withdrawn_at"] else None
        cells, closes = {}, {}
        for timepoint in protocol.timepoints:
            window = windows[person["id"]].get(timepoint.id)
            opens_at = parse_utc(window["opens_at"]) if window else None
            closes_at = parse_utc(window["closes_at"]) if window else None
            cells[timepoint.id] = followup.timepoint_status(
                now, opens_at=opens_at, closes_at=closes_at,
                completed_at=parse_utc(window["completed_at"]) if window and window["completed_at"] else None,
                reminded=(person["id"], timepoint.id) in reminded, withdrawn_at=withdrawn_at)
            closes[timepoint.id] = closes_at
        rows.append(Row(person, cells, closes, sms_failed=person["id"] in failed or bool(person["phone_problem"])))
    rows.sort(key=Row.urgency)
    return rows


def apply_filter(rows: list[Row], name: str | None) -> list[Row]:
    if not name:
        return rows
    tests = {
        "overdue": lambda row: row.has(followup.OVERDUE),
        "missed": lambda row: row.has(followup.MISSED),
        "opted_out": lambda row: row.opted_out,
        "sms_failed": lambda row: row.sms_failed,
    }
    return [row for row in rows if tests[name](row)]


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
    windows = {row["timepoint"]: row for row in db.query(
        "SELECT * FROM timepoints WHERE participant_id = ?", [participant["id"]])}
    sms = defaultdict(list)
    for row in db.query(
            "SELECT r.timepoint, r.attempt, r.status AS reminder_status, r.reason, r.planned_at, r.requested_by, "
            "m.status AS delivery, m.sent_at, m.error_code FROM reminders r "
            "LEFT JOIN messages m ON m.reminder_id = r.id AND m.status NOT IN ('not_sent') "
            "WHERE r.participant_id = ? ORDER BY r.planned_at, r.attempt, m.id", [participant["id"]]):
        sms[row["timepoint"]].append(row)
    reminded = {tp for tp, items in sms.items() if any(item["reminder_status"] == "sent" for item in items)}
    withdrawn_at = parse_utc(participant["withdrawn_at"]) if participant["withdrawn_at"] else None
    result = []
    for timepoint in protocol.timepoints:
        window = windows.get(timepoint.id)
        status = followup.timepoint_status(
            now, opens_at=parse_utc(window["opens_at"]) if window else None,
            closes_at=parse_utc(window["closes_at"]) if window else None,
            completed_at=parse_utc(window["completed_at"]) if window and window["completed_at"] else None,
            reminded=timepoint.id in reminded, withdrawn_at=withdrawn_at)
        result.append({"timepoint": timepoint, "window": window, "status": status, "sms": sms.get(timepoint.id, [])})
    return result
