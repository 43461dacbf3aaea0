"""`reminders send-due`, `messages list` and `scheduler` from the command line."""
from __future__ import annotations

import json
from datetime import date

import pytest

from app import create_app


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


def test_send_due_sends_through_the_console_gateway_once(runner, trial, app, tmp_path):
    trial.enroll(procedure_date=date(2026, 3, 2))
    first = runner.invoke(args=["reminders", "send-due", "--now", "2026-03-03T10:00:00+00:00"])
    assert first.exit_code == 0, first.output
    assert "SMS to +1202•••••01: Your follow-up questionnaire is ready: https://pro.example.org/f/" in first.output
    assert "Reminder pass at 2026-03-03T10:00:00+00:00: sent 1." in first.output
    again = runner.invoke(args=["reminders", "send-due", "--now", "2026-03-03T10:05:00+00:00"])
    assert "nothing due" in again.output
    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert len(outbox) == 1 and outbox[0]["to"] == "+12025550101"


@pytest.mark.parametrize("value,message", [
    ("tomorrow", "is not an ISO 8601 instant"),
    ("2026-03-03T10:00:00", "give the offset too"),
])
def test_send_due_refuses_a_bad_now(runner, value, message):
    result = runner.invoke(args=["reminders", "send-due", "--now", value])
    assert result.exit_code == 2 and message in result.output


def test_misconfigured_gateway_is_a_clear_error(db_path, clock):
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "SMS_GATEWAY": "twilio",
                      "TWILIO_ACCOUNT_SID": None, "TWILIO_AUTH_TOKEN": None})
    result = app.test_cli_runner().invoke(args=["reminders", "send-due"])
    assert result.exit_code == 1
    assert "TWILIO_ACCOUNT_SID" in result.output and "Traceback" not in result.output


def test_messages_list_json_has_the_contract_keys(runner, trial, app):
    trial.enroll(procedure_date=date(2026, 3, 2))
    runner.invoke(args=["reminders", "send-due", "--now", "2026-03-03T10:00:00+00:00"])
    result = runner.invoke(args=["messages", "list", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 1
    row = rows[0]
    assert {"study_id", "timepoint", "attempt", "to", "body", "status", "sid", "created_at", "sent_at"} <= set(row)
    assert (row["study_id"], row["timepoint"], row["attempt"], row["to"], row["status"]) == (
        "P-001", "day1", 1, "+12025550101", "sent")
    assert row["body"] == "Your follow-up questionnaire is ready: https://pro.example.org/f/<token>. Reply STOP to opt out."
    assert row["sid"].startswith("SM") and row["sent_at"] == "2026-03-03T10:00:00+00:00"


def test_messages_list_text(runner, trial):
    trial.enroll(procedure_date=date(2026, 3, 2))
    runner.invoke(args=["reminders", "send-due", "--now", "2026-03-03T10:00:00+00:00"])
    result = runner.invoke(args=["messages", "list"])
    assert "outbound" in result.output and "P-001" in result.output and "day1" in result.output


def test_scheduler_runs_apscheduler_with_coalescing_and_one_instance():
    from scheduler.runner import MISFIRE_GRACE_SECONDS, TICK_SECONDS, build

    calls = []
    scheduler = build(lambda: calls.append(1))
    job = scheduler.get_jobs()[0]
    assert job.coalesce is True and job.max_instances == 1
    assert job.misfire_grace_time == MISFIRE_GRACE_SECONDS
    assert job.trigger.interval.total_seconds() == TICK_SECONDS == 60


def test_messages_list_shows_escape_sequences_in_replies_instead_of_obeying_them(runner, trial, app):
    from services import messaging
    from storage.connection import open_db
    trial.enroll(procedure_date=date(2026, 3, 2))
    db = open_db(app.config["DATABASE"])
    try:
        messaging.receive_reply(db, sender="+12025550101", body="hi\x1b]0;pwned\x07\x1b[2J", sid="SMx", now=trial.clock())
    finally:
        db.close()
    result = runner.invoke(args=["messages", "list"])
    assert result.exit_code == 0 and "\x1b" not in result.output and "\x07" not in result.output
    assert "hi\\u001b]0;pwned\\u0007\\u001b[2J" in result.output


def _reply(app, sender: str, body: str, sid: str, now):
    from services import messaging
    from storage.connection import open_db
    db = open_db(app.config["DATABASE"])
    try:
        messaging.receive_reply(db, sender=sender, body=body, sid=sid, now=now)
    finally:
        db.close()


def _sent_to(runner, when: str) -> list[tuple[str, str]]:
    runner.invoke(args=["reminders", "send-due", "--now", when])
    rows = json.loads(runner.invoke(args=["messages", "list", "--json"]).output)
    return [(row["study_id"], row["to"]) for row in rows if row["direction"] == "outbound"]


SHARED = "+12025550101"


def test_a_stop_from_a_number_holds_for_whoever_is_enrolled_on_it_later(runner, trial, app):
    """Twilio blocks the number: a participant enrolled onto a number that replied STOP, even
    from nobody we knew, gets no SMS until START comes from that number."""
    _reply(app, SHARED, "STOP", "SMstop", trial.clock())                   # nobody enrolled on it yet
    trial.enroll("P-001", procedure_date=date(2026, 3, 2), phone=SHARED)
    assert _sent_to(runner, "2026-03-03T10:00:00+00:00") == []
    _reply(app, SHARED, "START", "SMstart", trial.clock())
    runner.invoke(args=["reminders", "send-due", "--now", "2026-03-05T10:00:00+00:00"])   # the repeat
    assert ("P-001", SHARED) in _sent_to(runner, "2026-03-05T10:00:00+00:00")


def test_a_participant_moved_onto_a_number_that_replied_stop_gets_nothing(runner, trial, app):
    from services import participant_admin
    from storage.connection import open_db
    trial.enroll("P-001", procedure_date=date(2026, 3, 2), phone=SHARED)
    trial.enroll("P-002", procedure_date=date(2026, 3, 2), phone="+16175550123")
    _reply(app, SHARED, "STOP", "SMstop", trial.clock())
    db = open_db(app.config["DATABASE"])
    try:
        participant_admin.update_contact(db, app.extensions["protocol"], app.config["LANGUAGES"], "P-002",
                                         phone=SHARED, timezone="UTC", language="en", actor="nurse", now=trial.clock())
    finally:
        db.close()
    assert _sent_to(runner, "2026-03-03T10:00:00+00:00") == []
