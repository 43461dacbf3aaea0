"""The scheduler killed mid-pass again and again, with two cron passes beside it: every reminder
goes out exactly once and no pass dies. benchmarks/scheduler_chaos.py runs the issue's full size."""
from __future__ import annotations

import os

from tests.reliability import scheduler_chaos

PARTICIPANTS = int(os.environ.get("CHAOS_PARTICIPANTS", 400))
KILLS = int(os.environ.get("CHAOS_KILLS", 8))


def test_kill_9_with_two_more_passes_beside_it_neither_duplicates_nor_loses(tmp_path):
    outcome = scheduler_chaos.run(tmp_path, participants=PARTICIPANTS, kills=KILLS, send_delay=0.01)
    assert outcome.problems == [], outcome
    assert outcome.sent_lines == PARTICIPANTS
    assert outcome.kills_mid_pass >= KILLS // 2, outcome   # the kills really landed inside passes
    assert outcome.cron_passes >= 2, outcome
