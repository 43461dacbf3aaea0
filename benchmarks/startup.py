"""Start-up time of the CLI: `flask --app app reminders send-due` on an empty database.

Usage: .venv/bin/python benchmarks/startup.py [--runs 15]

The scheduler process and cron jobs start this command often, so what it imports at start-up is
paid every time. The floor is the same job done by the plain libraries: a Flask app whose one CLI
command opens the SQLite file with sqlite-utils and reads the due reminders, started the same way
(`flask --app ... cmd`), so interpreter and Flask start-up are in both. Prints the median and the
fastest wall time of each, the ratio of medians, and which heavy modules the command imported
(`-X importtime` is not used: it slows what it measures).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FLASK = Path(sys.executable).with_name("flask")
HEAVY = ("scipy", "statsmodels", "numpy", "pandas", "matplotlib", "openpyxl", "pyreadstat", "twilio",
         "apscheduler", "segno", "argon2")

FLOOR_APP = '''
import click, sqlite_utils
from flask import Flask
app = Flask(__name__)

@app.cli.command("send-due")
def send_due():
    db = sqlite_utils.Database(__import__("os").environ["FLOOR_DB"])
    rows = list(db.query("SELECT * FROM reminders WHERE status = 'pending' AND due_at <= ?", ["9999"]))
    click.echo(f"nothing due ({len(rows)})")
'''

PROBE = '''
import sys, runpy
sys.argv = ["flask", "--app", sys.argv[1], *sys.argv[2:]]
try:
    runpy.run_module("flask", run_name="__main__")
except SystemExit:
    pass
print("LOADED", " ".join(sorted({name.split(".")[0] for name in sys.modules})), file=sys.stderr)
'''


def timed(args: list[str], env: dict, cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - start


def _loaded(args: list[str], env: dict, cwd: Path) -> set[str]:
    """Top-level modules imported by one run of a flask command."""
    probe = subprocess.run([sys.executable, "-c", PROBE, *args], env=env, cwd=cwd, capture_output=True, text=True)
    return next((set(line.split()[1:]) for line in probe.stderr.splitlines() if line.startswith("LOADED")), set())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "FLASK_DATABASE": str(tmp / "empty.sqlite3"), "FLASK_SMS_OUTBOX": str(tmp / "outbox"),
               "FLOOR_DB": str(tmp / "empty.sqlite3")}
        env.pop("TWILIO_ACCOUNT_SID", None)
        subprocess.run([str(FLASK), "--app", "app", "init-db"], env=env, cwd=ROOT, check=True, capture_output=True)
        (tmp / "floor_app.py").write_text(FLOOR_APP)
        ours_cmd = [str(FLASK), "--app", "app", "reminders", "send-due"]
        floor_cmd = [str(FLASK), "--app", "floor_app", "send-due"]
        ours, floor = [], []
        for _ in range(args.runs):  # interleaved, so a noisy moment hits both
            ours.append(timed(ours_cmd, env, ROOT))
            floor.append(timed(floor_cmd, env, tmp))
        loaded = _loaded(["app", "reminders", "send-due"], env, ROOT)
        floor_loaded = _loaded(["floor_app", "send-due"], env, tmp)
    median_ours, median_floor = statistics.median(ours), statistics.median(floor)
    print(f"{'command':<44} {'median s':>9} {'best s':>8}")
    print(f"{'flask --app app reminders send-due':<44} {median_ours:>9.3f} {min(ours):>8.3f}")
    print(f"{'floor: Flask + sqlite-utils, same query':<44} {median_floor:>9.3f} {min(floor):>8.3f}")
    print(f"ratio (medians): {median_ours / median_floor:.2f}x over {args.runs} runs each")
    print("heavy modules imported: " + (", ".join(name for name in HEAVY if name in loaded) or "none")
          + "; by the floor too: " + (", ".join(name for name in HEAVY if name in floor_loaded) or "none"))


if __name__ == "__main__":
    main()
