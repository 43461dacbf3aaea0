"""The reads behind the exports and the report grow linearly with the trial, counted in SQLite's own
work (virtual machine steps, through its progress handler), never in seconds.

A trial ten times as large may cost ten times the steps, with some slack; a query whose plan walks
a whole table once per row (a correlated subquery on the wrong index) costs a hundred times. Such a
plan is invisible in a small test and in a benchmark trial without that table's rows: the reminder
channel of each window once read every outbound message, so that the long CSV of 2,000
participants with their 20,000 messages took 161 s for one query. The simulated trials here carry
the reminders and messages a live trial has (tests.trial_data, reminders=True).
"""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from reports import dataset_rows
from storage import channels, init_db, participants, responses
from storage.connection import open_db
from tests.trial_data import populate

SMALL, LARGE = 10, 100          # participants per arm
STEPS_PER_TICK = 100            # the progress handler is called every this many VM steps
LINEAR = (LARGE / SMALL) * 1.6  # allowed growth for ten times the participants


@pytest.fixture(scope="module")
def trials(tmp_path_factory):
    from app import create_app

    made = {}
    for per_arm in (SMALL, LARGE):
        path = tmp_path_factory.mktemp("scaling") / f"trial-{per_arm}.sqlite3"
        init_db(path)
        app = create_app({"DATABASE": str(path), "TESTING": True})
        populate(path, app.extensions["protocol"], per_arm=per_arm, seed=7, clinical=True, reminders=True)
        made[per_arm] = (path, app.extensions["protocol"])
    return made


def _steps(path, read) -> int:
    db = open_db(path)
    try:
        return _steps_of(db, lambda: read(db))
    finally:
        db.close()


READS = {
    "windows with their reminder channel (exports)": lambda db, protocol: list(participants.windows_by_study_id(db)),
    "reminded windows (report: completion by channel)":
        lambda db, protocol: channels.reminded_windows(db, datetime(2027, 1, 1, tzinfo=timezone.utc)),
    "newest answers by participant (exports)": lambda db, protocol: list(responses.newest_lists_by_study_id(db)),
    "the long rows, whole": lambda db, protocol: list(dataset_rows.long_lists(db, protocol)),
}


@pytest.mark.parametrize("name", READS)
def test_a_read_grows_linearly_with_the_trial(trials, name):
    small = _steps(trials[SMALL][0], lambda db: READS[name](db, trials[SMALL][1]))
    large = _steps(trials[LARGE][0], lambda db: READS[name](db, trials[LARGE][1]))
    assert small > 0
    assert large / small < LINEAR, f"{name}: {small} -> {large} ticks for {LARGE // SMALL} times the participants"


def test_the_simulated_trials_hold_reminders_and_their_messages(trials):
    db = open_db(trials[SMALL][0])
    try:
        windows = list(participants.windows_by_study_id(db))
        channels_seen = {row["reminder_channel"] for row in windows if row["completed_at"]}
    finally:
        db.close()
    assert {"sms", "whatsapp"} <= channels_seen


# Every staff page a trial's size changes, and every download: the SQLite steps of one request.
PAGES = ("/staff/", "/staff/inbox", "/staff/participants/A-00003", "/staff/report", "/staff/report?download=json",
         "/staff/dataset", "/staff/audit",
         *(f"/staff/dataset/download?format={fmt}" for fmt in
           ("csv", "wide-csv", "xlsx", "sav", "events-csv", "odm", "sdtm-qs", "sdtm-qs-csv", "fhir")),
         "/staff/dataset/download?format=csv&identifiable=1")


@pytest.fixture(scope="module")
def staff_sites(trials):
    from app import create_app
    from tests.conftest import Clock
    from tests.staff_support import Staff, create_staff

    sites = {}
    for per_arm, (path, _) in trials.items():
        app = create_app({"DATABASE": str(path), "TESTING": True, "SECRET_KEY": "scaling"})
        create_staff(app, Clock(datetime(2026, 1, 1, tzinfo=timezone.utc)), roles=("admin",))
        staff = Staff(app.test_client())
        staff.login("admin")
        sites[per_arm] = staff
    return sites


def _request_steps(monkeypatch, staff, page: str) -> int:
    """SQLite steps of every connection opened while one GET of ``page`` runs."""
    import sqlite3

    ticks = [0]
    connect = sqlite3.connect

    def counted(*args, **kwargs):
        connection = connect(*args, **kwargs)
        connection.set_progress_handler(lambda: ticks.__setitem__(0, ticks[0] + 1) or 0, STEPS_PER_TICK)
        return connection
    with monkeypatch.context() as patched:
        patched.setattr(sqlite3, "connect", counted)
        response = staff.client.get(page)
        response.get_data()          # a streamed download reads the database while it is sent
        response.close()
    assert response.status_code == 200, page
    return ticks[0]


@pytest.mark.parametrize("page", PAGES)
def test_a_staff_page_grows_linearly_with_the_trial(staff_sites, monkeypatch, page):
    small = _request_steps(monkeypatch, staff_sites[SMALL], page)
    large = _request_steps(monkeypatch, staff_sites[LARGE], page)
    assert large / max(small, 1) < LINEAR, f"{page}: {small} -> {large} ticks for {LARGE // SMALL} times the participants"


def test_a_reminder_pass_costs_the_same_however_long_the_trial_s_history(trials, tmp_path):
    """Five participants' reminders fall due in a trial of 20 and in one of 200 with their reminders
    and messages: the pass that sends them does the same work in both."""
    import shutil
    from datetime import timedelta

    from app import create_app
    from services import enrollment
    from tests.conftest import START, Clock
    from tests.sms_fakes import RecordingGateway
    from web import reminders

    steps, sent = {}, {}
    for per_arm, (source, protocol) in trials.items():
        path = tmp_path / f"pass-{per_arm}.sqlite3"
        shutil.copy(source, path)
        clock = Clock(START)
        app = create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": clock, "SMS_GATEWAY": "console",
                          "SMS_OUTBOX": str(tmp_path / f"outbox-{per_arm}.jsonl"), "BASE_URL": "https://pro.example.org"})
        db = open_db(path)
        try:
            for n in range(5):
                clean = enrollment.validate_enrollment(
                    protocol, app.config["LANGUAGES"], study_id=f"N-{n}", arm="A", phone=f"+2010012345{n:02d}",
                    timezone="UTC", language="en", procedure_date=START.date())
                enrollment.enroll(db, protocol, clean, actor="test", now=START)
            app.extensions["sms_gateway"] = gateway = RecordingGateway()
            with app.app_context():
                dispatcher = reminders.dispatcher(app)
                dispatcher.clock = clock
                steps[per_arm] = _steps_of(db, lambda: dispatcher.send_due(db, START + timedelta(days=2)))
            sent[per_arm] = len(gateway.sent)
        finally:
            db.close()
    assert sent[SMALL] == sent[LARGE] >= 5
    assert steps[LARGE] / steps[SMALL] < 1.5, steps


def _steps_of(db, work) -> int:
    ticks = [0]
    db.conn.set_progress_handler(lambda: ticks.__setitem__(0, ticks[0] + 1) or 0, STEPS_PER_TICK)
    try:
        work()
    finally:
        db.conn.set_progress_handler(None, 0)
    return ticks[0]
