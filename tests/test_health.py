"""/healthz and the board's warning when reminders have stopped going out."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.staff_support import staff_and_list


@pytest.fixture
def staff(app, client, clock):
    return staff_and_list(app, client, clock)


def test_healthz_needs_no_login_and_reports_a_scheduler_that_never_ran(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert response.get_json() == {"status": "degraded", "database": "ok",
                                   "scheduler": {"last_pass_at": None, "stale": True}}


def test_a_pass_makes_the_scheduler_fresh_and_five_silent_minutes_make_it_stale(client, runner, clock, trial):
    trial.enroll()   # a participant in the database: nothing of them may show
    assert runner.invoke(args=["reminders", "send-due"]).exit_code == 0
    fresh = client.get("/healthz").get_json()
    assert fresh == {"status": "ok", "database": "ok",
                     "scheduler": {"last_pass_at": "2026-03-02T12:00:00+00:00", "stale": False}}
    clock.now += timedelta(minutes=5, seconds=1)
    assert client.get("/healthz").get_json()["scheduler"]["stale"] is True
    assert "P-001" not in client.get("/healthz").get_data(as_text=True)


def test_an_unreadable_database_is_a_quick_503_without_a_traceback(app, client, db_path):
    db_path.write_bytes(b"this is not a database" * 100)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "error", "database": "unreadable"}


def test_the_board_tells_nurses_when_reminders_have_stopped(staff, client, runner, clock):
    staff.login("nurse")
    assert "The reminder scheduler has never run on this server" in client.get("/staff/").get_data(as_text=True)
    runner.invoke(args=["reminders", "send-due"])
    assert 'class="alert" role="alert"' not in client.get("/staff/").get_data(as_text=True)
    clock.now += timedelta(minutes=10)    # within the staff session's idle limit
    page = client.get("/staff/").get_data(as_text=True)
    assert "No reminder SMS has gone out since 02 Mar 2026 12:00 UTC: the scheduler is not running" in page
