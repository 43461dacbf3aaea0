"""The scheduler killed mid-pass again and again beside two cron passes: the issue's full size.

Usage: .venv/bin/python benchmarks/scheduler_chaos.py [--participants 2000] [--kills 20]
       [--send-delay 0.01] [--runs 1]

Each run enrolls ``--participants`` whose day-1 reminder is due now, then starts the real
`flask --app app scheduler` and SIGKILLs it a little way into its pass, ``--kills`` times, while two
loops of `flask --app app reminders send-due` run beside it; then passes run until every reminder
is settled. The console gateway takes ``--send-delay`` s per SMS (a provider's round trip), so
passes overlap. It prints kills (and how many landed mid-pass), cron passes, SMS sent, duplicates,
lost reminders, crashed passes, and the seconds the run took. The goal is 0, 0 and 0.

There is no floor: this measures correctness under faults, not speed (tests/reliability runs a
smaller size in CI).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.reliability import scheduler_chaos  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--send-delay", type=float, default=0.01)
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    failed = 0
    print("run  kills (mid-pass)  cron passes  SMS sent  duplicates  lost  crashed passes  seconds")
    for run in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory() as tmp:
            o = scheduler_chaos.run(Path(tmp), participants=args.participants, kills=args.kills,
                                    send_delay=args.send_delay, seed=run)
        print(f"{run:>3}  {o.kills:>5} ({o.kills_mid_pass:>2})       {o.cron_passes:>11}  {o.sent_lines:>8}  "
              f"{o.duplicates:>10}  {o.lost:>4}  {len(o.crashes):>14}  {o.seconds:>7.1f}")
        for problem in o.problems:
            print("     problem:", problem)
        failed += bool(o.problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
