"""Project rules enforced as tests: the pure core stays pure, one owner per outside library, SQL
only in storage, the CLI's start-up stays light, and every command is documented."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PURE = [*(ROOT / "questionnaires").glob("*.py"), *(ROOT / "randomization").glob("*.py"),
        *(ROOT / "scheduler" / name for name in ("schedule.py", "reminders.py", "sms_text.py", "followup.py",
                                                 "links.py", "channels.py")),
        *(ROOT / "reports" / "statistics").glob("*.py"), ROOT / "reports" / "derived.py"]
# Ways of reading the clock; pure code takes `now` instead.
CLOCK_READS = ("datetime.now", "datetime.utcnow", "utcnow(", "date.today", "time.time(", "time.monotonic",
               "monotonic(", "perf_counter", "time_ns(")
# What only storage may call on a connection: SQL, and sqlite-utils' table access.
RAW_DATABASE_CALLS = {"execute", "executemany", "executescript", "query", "rows_where", "insert_all", "upsert",
                      "upsert_all"}
OUTSIDE_STORAGE = ("questionnaires", "randomization", "scheduler", "sms", "services", "reports", "web")


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint), str(ROOT / "pyproject.toml")], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 9 kept, 0 broken." in result.stdout


@pytest.mark.parametrize("path", PURE, ids=lambda path: str(path.relative_to(ROOT)))
def test_pure_core_never_reads_the_clock(path):
    source = path.read_text()
    assert not [read for read in CLOCK_READS if read in source]


def _raw_database_uses(source: str, where: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, where)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in RAW_DATABASE_CALLS:
            found.append(f"{where}:{node.lineno} .{node.func.attr}")
        if isinstance(node, ast.Attribute) and node.attr == "conn":
            found.append(f"{where}:{node.lineno} .conn")
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) \
                and node.value.id in ("db", "connection") and isinstance(node.slice, ast.Constant):
            found.append(f"{where}:{node.lineno} {node.value.id}[...]")
    return found


def test_sql_lives_only_in_storage():
    uses = [use for package in OUTSIDE_STORAGE for path in sorted((ROOT / package).rglob("*.py"))
            for use in _raw_database_uses(path.read_text(), str(path.relative_to(ROOT)))]
    assert uses == []


def test_the_check_for_sql_outside_storage_can_fail():
    sneaky = "def f(db, url):\n    db.execute('DELETE FROM responses')\n    return db['participants'], url.query\n"
    uses = _raw_database_uses(sneaky, "services/sneaky.py")
    assert sorted(use.split(" ", 1)[1] for use in uses) == [".execute", "db[...]"]


def test_cli_and_scheduler_start_without_the_statistics_stack():
    """`flask reminders send-due` and the scheduler run every minute: numpy's statistics stack
    (scipy, statsmodels) and matplotlib load only when a report is built."""
    code = ("import sys, app; app.create_app(); "
            "print(' '.join(sorted(m for m in ('scipy', 'statsmodels', 'matplotlib', 'rustpy_xlsxwriter', 'pyreadstat', "
            "'apscheduler') if m in sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def _commands(group, prefix=()):
    import click

    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))
        else:
            yield " ".join((*prefix, name))


def test_every_cli_command_is_documented_in_the_readme(app):
    """As sqlite-utils' test_commands_are_documented: a command nobody can find is not there."""
    readme = (ROOT / "README.md").read_text()
    ours = [name for name in _commands(app.cli) if name not in ("routes", "run", "shell")]
    assert len(ours) >= 13
    missing = [name for name in ours if not re.search(r"flask --app app " + re.escape(name) + r"\b", readme)]
    assert missing == []


def test_every_cli_command_has_help_with_an_example(app):
    import click

    def walk(group):
        for command in group.commands.values():
            yield from walk(command) if isinstance(command, click.Group) else [command]
    ours = [c for c in walk(app.cli) if c.name not in ("routes", "run", "shell")]
    assert [c.name for c in ours if "Example:" not in (c.help or "")] == []
