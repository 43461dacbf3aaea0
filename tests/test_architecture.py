"""Project rules enforced as tests: the pure core stays pure, one owner per outside library."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), "--config", str(ROOT / "pyproject.toml")], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 5 kept, 0 broken." in result.stdout


def test_pure_core_never_reads_the_clock():
    pure = ["schedule.py", "reminders.py", "sms_text.py", "followup.py"]
    for path in [*(ROOT / "questionnaires").glob("*.py"), *(ROOT / "randomization").glob("*.py"),
                 *(ROOT / "scheduler" / name for name in pure), ROOT / "reports" / "statistics.py"]:
        source = path.read_text()
        assert "datetime.now" not in source and "date.today" not in source and "time.time" not in source, path
