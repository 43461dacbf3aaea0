"""A whole six-month follow-up, pass by pass, for one participant in Cairo and one in New York.

Both have their procedure on 20 February 2026. New York springs forward on 8 March, Cairo on
24 April: reminders must stay at 10:00 local through both changes, never fall in quiet hours,
and stop once a timepoint is completed.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from services import messaging
from scheduler.dispatch import Dispatcher
from services import answers
from storage.connection import open_db
from tests.sms_fakes import RecordingGateway

UTC = timezone.utc
PROCEDURE = date(2026, 2, 20)
PASS_EVERY = timedelta(hours=1)

# (timepoint, attempt, local send time) for the full schedule of the default protocol.
FULL_SCHEDULE = [
    ("day1", 1, datetime(2026, 2, 21, 10)), ("day1", 2, datetime(2026, 2, 23, 10)),
    ("week1", 1, datetime(2026, 2, 26, 10)), ("week1", 2, datetime(2026, 2, 28, 10)),
    ("month1", 1, datetime(2026, 3, 13, 10)), ("month1", 2, datetime(2026, 3, 15, 10)),
    ("month1", 3, datetime(2026, 3, 18, 10)),
    ("month3", 1, datetime(2026, 5, 6, 10)), ("month3", 2, datetime(2026, 5, 8, 10)),
    ("month3", 3, datetime(2026, 5, 11, 10)),
    ("month6", 1, datetime(2026, 7, 21, 10)), ("month6", 2, datetime(2026, 7, 23, 10)),
    ("month6", 3, datetime(2026, 7, 26, 10)),
]


def test_six_months_of_reminders_in_cairo_and_new_york(app, trial):
    trial.enroll("CAI-1", procedure_date=PROCEDURE, timezone="Africa/Cairo", phone="+201001234567")
    trial.enroll("NYC-1", procedure_date=PROCEDURE, timezone="America/New_York", phone="+12025550123")
    gateway = RecordingGateway()
    protocol = app.extensions["protocol"]

    def compose(participant, url):
        return f"Your follow-up questionnaire is ready: {url}. Reply STOP to opt out."

    dispatcher = Dispatcher(gateway=gateway, protocol=protocol, compose=compose,
                            link_url=lambda token: f"https://pro.example.org/f/{token}", messaging=messaging)
    db = open_db(app.config["DATABASE"])
    cairo = trial.query("SELECT * FROM participants WHERE study_id = 'CAI-1'")[0]
    sent_at: list[tuple[str, datetime]] = []
    moment = datetime(2026, 2, 20, 0, 0, tzinfo=UTC)
    try:
        while moment < datetime(2026, 9, 25, tzinfo=UTC):
            before = len(gateway.sent)
            dispatcher.send_due(db, moment)
            sent_at += [(message.to, moment) for message in gateway.sent[before:]]
            if moment == datetime(2026, 3, 13, 9, 0, tzinfo=UTC):  # 11:00 in Cairo: after the first month1 SMS
                for instrument, given in (("vas", {"mode": "line", "value": 20}),
                                          ("odi", {f"odi_{n}": 1 for n in range(1, 11)}),
                                          ("satisfaction", {"sat_procedure": 4, "sat_results": 3}),
                                          ("medication", {"took_any": "no"})):
                    answers.submit(db, protocol, participant=cairo, timepoint_id="month1", instrument_id=instrument,
                                   answers=given, input_mode="web", now=moment)
            moment += PASS_EVERY
    finally:
        db.close()

    def local_times(phone: str, zone: str) -> list[datetime]:
        return [at.astimezone(ZoneInfo(zone)).replace(tzinfo=None) for to, at in sent_at if to == phone]

    assert local_times("+12025550123", "America/New_York") == [at for _, _, at in FULL_SCHEDULE]
    assert local_times("+201001234567", "Africa/Cairo") == [
        at for tp, attempt, at in FULL_SCHEDULE if not (tp == "month1" and attempt > 1)]
    # The same local time is a different UTC hour on either side of each DST change.
    new_york_utc_hours = sorted({at.hour for to, at in sent_at if to == "+12025550123"})
    cairo_utc_hours = sorted({at.hour for to, at in sent_at if to == "+201001234567"})
    assert new_york_utc_hours == [14, 15] and cairo_utc_hours == [7, 8]
    rows = trial.query("SELECT p.study_id, r.timepoint, r.attempt, r.status, r.reason FROM reminders r "
                       "JOIN participants p ON p.id = r.participant_id WHERE r.status != 'sent' ORDER BY r.id")
    assert rows == [
        {"study_id": "CAI-1", "timepoint": "month1", "attempt": 2, "status": "cancelled", "reason": "completed"},
        {"study_id": "CAI-1", "timepoint": "month1", "attempt": 3, "status": "cancelled", "reason": "completed"},
    ]
