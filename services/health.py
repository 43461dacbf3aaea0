"""Is the app working: the database answers, and the reminder scheduler has run lately.

Each reminder pass (the scheduler's tick, or `reminders send-due`) records when it ran. When the
newest pass is older than STALE_AFTER, reminders have stopped going out: the scheduler process has
died or was never started. /healthz reports it; the nurses' board says so.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from storage import settings, write
from storage.db import parse_utc, utc_iso

LAST_PASS = "scheduler_last_pass"
# The scheduler ticks every minute: five missed ticks is a dead scheduler, not a slow pass.
STALE_AFTER = timedelta(minutes=5)


@dataclass(frozen=True)
class SchedulerHealth:
    last_pass_at: datetime | None
    stale: bool


def record_pass(db, now: datetime) -> None:
    with write(db):
        settings.put(db, LAST_PASS, utc_iso(now), actor="scheduler", now=now)


def scheduler(db, now: datetime) -> SchedulerHealth:
    stamp = settings.get(db, LAST_PASS)
    last = parse_utc(stamp) if stamp else None
    return SchedulerHealth(last, last is None or now - last > STALE_AFTER)


def check(db, now: datetime) -> dict:
    """What /healthz reports: no participant, no count, nothing identifying."""
    settings.ping(db)
    found = scheduler(db, now)
    return {"status": "ok" if not found.stale else "degraded", "database": "ok",
            "scheduler": {"last_pass_at": utc_iso(found.last_pass_at) if found.last_pass_at else None,
                          "stale": found.stale}}
