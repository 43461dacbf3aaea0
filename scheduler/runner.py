"""The scheduler process: APScheduler 3.x ticking one reminder pass a minute.

This is the only module that imports apscheduler, and only `flask --app app scheduler` starts
it: never a web worker (several workers would each run their own scheduler). The database
does the real coordination, so a second scheduler process by mistake, or a cron job running
`flask --app app reminders send-due` beside it, still never sends a reminder twice.
"""
from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from datetime import datetime, timezone

from apscheduler.schedulers.blocking import BlockingScheduler

log = logging.getLogger(__name__)

TICK_SECONDS = 60
# A tick missed by more than this (the process was suspended, a pass overran) is dropped;
# coalesce=True folds a backlog into one run, and the next pass catches up on everything due.
MISFIRE_GRACE_SECONDS = 30


def build(job: Callable[[], object], *, tick_seconds: int = TICK_SECONDS) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=timezone.utc)
    scheduler.add_job(job, "interval", seconds=tick_seconds, id="reminders-send-due",
                      coalesce=True, max_instances=1, misfire_grace_time=MISFIRE_GRACE_SECONDS,
                      next_run_time=datetime.now(timezone.utc))
    return scheduler


def run(job: Callable[[], object], *, tick_seconds: int = TICK_SECONDS) -> None:
    """Run ``job`` every tick until SIGTERM or SIGINT; a failing pass is logged, not fatal."""
    scheduler = build(job, tick_seconds=tick_seconds)

    def stop(signum, _frame):
        log.info("signal %s: stopping after the current pass", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    scheduler.start()
