"""The CLI: init-db, enroll, link and demo, including the bad input each refuses."""
from __future__ import annotations

import re

import pytest

from storage.tokens import hash_token

URL = re.compile(r"^https://pro\.example\.org/f/([A-Za-z0-9_-]{22,})$")


def test_init_db_is_safe_to_repeat(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert "0 migration(s) applied" in result.output


def test_enroll_stores_participant_and_schedule(runner, trial):
    result = runner.invoke(args=["enroll", "P-010", "--arm", "B", "--phone", "+20 100 123 4567",
                                 "--procedure-date", "2026-01-31", "--timezone", "Africa/Cairo"])
    assert result.exit_code == 0, result.output
    participant = trial.query("SELECT study_id, arm, phone, timezone, language, procedure_date FROM participants")[0]
    assert participant == {"study_id": "P-010", "arm": "B", "phone": "+201001234567", "timezone": "Africa/Cairo",
                           "language": "en", "procedure_date": "2026-01-31"}
    rows = trial.query("SELECT timepoint, due_date, opens_at FROM timepoints ORDER BY id")
    assert [(r["timepoint"], r["due_date"]) for r in rows] == [
        ("baseline", "2026-01-31"), ("day1", "2026-02-01"), ("week1", "2026-02-07"),
        ("month1", "2026-02-28"), ("month3", "2026-04-30"), ("month6", "2026-07-31")]
    assert rows[1]["opens_at"] == "2026-01-31T22:00:00+00:00"
    audit = trial.query("SELECT actor, action, entity_id, after FROM audit_log")[0]
    assert (audit["actor"], audit["action"], audit["entity_id"]) == ("cli", "enroll", "P-010")
    assert "+20" not in audit["after"]  # the audit log names the change, not the phone number


@pytest.mark.parametrize("args,message", [
    (["P-1", "--arm", "C"], "--arm: must be one of A, B"),
    (["P-1", "--arm", "A", "--phone", "12345"], "--phone: not a phone number"),
    (["P-1", "--arm", "A", "--phone", "+999 1234 5678"], "--phone: not a phone number"),
    (["P-1", "--arm", "A", "--timezone", "Mars/Olympus"], "--timezone: unknown IANA time zone"),
    (["P-1", "--arm", "A", "--procedure-date", "2026-02-30"], "--procedure-date: must be a date"),
    (["P-1", "--arm", "A", "--language", "xx"], "--language: must be one of en"),
    (["P 1; drop", "--arm", "A"], "STUDY_ID: 1-32 letters"),
])
def test_enroll_refuses_bad_input_and_stores_nothing(runner, trial, args, message):
    result = runner.invoke(args=["enroll", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM participants")[0]["n"] == 0


def test_enroll_refuses_a_duplicate_study_id(runner, trial):
    assert runner.invoke(args=["enroll", "P-1", "--arm", "A"]).exit_code == 0
    result = runner.invoke(args=["enroll", "P-1", "--arm", "B"])
    assert result.exit_code == 1 and "P-1 is already enrolled" in result.output
    assert trial.query("SELECT arm FROM participants") == [{"arm": "A"}]


def test_link_prints_a_full_url_whose_token_is_stored_hashed(runner, trial):
    trial.enroll("P-020")
    result = runner.invoke(args=["link", "P-020", "baseline"])
    assert result.exit_code == 0, result.output
    token = URL.match(result.output.strip()).group(1)
    assert trial.query("SELECT timepoint FROM link_tokens WHERE token_hash = ?", [hash_token(token)]) == [
        {"timepoint": "baseline"}]


@pytest.mark.parametrize("args,message", [
    (["NOPE", "baseline"], "no participant 'NOPE'"),
    (["P-020", "month9"], "unknown timepoint 'month9'"),
])
def test_link_refuses_unknown_participant_or_timepoint(runner, trial, args, message):
    trial.enroll("P-020")
    result = runner.invoke(args=["link", *args])
    assert result.exit_code == 1 and message in result.output


def test_link_refuses_a_closed_window(runner, trial, clock):
    from datetime import timedelta
    trial.enroll("P-020")
    clock.now += timedelta(days=2)
    result = runner.invoke(args=["link", "P-020", "day1"])
    assert result.exit_code == 0  # day1 is open on days 1-3
    clock.now += timedelta(days=5)
    result = runner.invoke(args=["link", "P-020", "day1"])
    assert result.exit_code == 1 and "window for P-020 closed" in result.output


def test_link_needs_a_procedure_date(runner, trial):
    trial.enroll("P-021", procedure_date=None)
    result = runner.invoke(args=["link", "P-021", "baseline"])
    assert result.exit_code == 1 and "no procedure date" in result.output


def test_demo_enrolls_once_and_prints_working_links(runner, client, trial):
    first = runner.invoke(args=["demo"])
    second = runner.invoke(args=["demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert trial.query("SELECT COUNT(*) AS n FROM participants")[0]["n"] == 203  # 200 synthetic, 3 to try
    urls = re.findall(r"https://pro\.example\.org(/f/\S+)", first.output)
    assert len(urls) == 3
    for path in urls:
        assert client.get(path).status_code == 303  # each opens its first form


def test_every_cli_command_has_help_with_an_example(app):
    ours = ["init-db", "enroll", "link", "demo", "scheduler"]
    for name in ours:
        command = app.cli.commands[name]
        assert command.help and "Example: flask --app app" in command.help, name


@pytest.mark.parametrize("group,command", [("reminders", "send-due"), ("messages", "list")])
def test_every_grouped_command_has_help_with_an_example(app, group, command):
    assert "Example: flask --app app" in app.cli.commands[group].commands[command].help


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_enroll_refuses_an_impossible_date_without_a_traceback(runner, trial, day):
    result = runner.invoke(args=["enroll", "P-900", "--arm", "A", "--procedure-date", day, "--confirm-date"])
    assert result.exit_code == 1 and result.exception is None or isinstance(result.exception, SystemExit)
    assert f"{day} is not a possible procedure date" in result.output and "Traceback" not in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
