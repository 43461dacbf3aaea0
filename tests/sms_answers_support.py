"""Answers by SMS reply in tests: the app's own dispatcher wiring with a recording gateway, the
signed inbound webhook, and a participant marked "SMS answers" whose question has gone out."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from itertools import count
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from scheduler.dispatch import Dispatcher
from services import sms_answers
from storage.connection import open_db
from tests.sms_fakes import RecordingGateway
from web import reminders

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
INBOUND_URL = "https://pro.example.org/twilio/inbound"
PROCEDURE = date(2026, 3, 2)
DAY1_SEND = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)    # day1's first reminder: 10:00 local (UTC), window 3-5 March
DAY1_CLOSES = datetime(2026, 3, 6, 0, 0, tzinfo=UTC)
WEEK1_SEND = datetime(2026, 3, 8, 10, 0, tzinfo=UTC)   # week1's first reminder, window 8-12 March
PHONE = "+16175550123"
EGYPT = "+201001234567"
SHARED = "+201001234599"  # a household phone: two participants on one number
QUESTION_EN = "Reply with a number from 0 (no pain) to 10 (worst pain imaginable). Reply STOP to opt out."

_sids = count(1)


def app_config(db_path, clock, tmp_path) -> dict:
    return {"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl"),
            "LANGUAGES": ["en", "ar"]}


def new_sid() -> str:
    return f"SM{next(_sids):032d}"


class SmsAnswers:
    """One trial's SMS answers: mark participants, run reminder passes, reply by SMS."""

    def __init__(self, app, trial, clock, gateway: RecordingGateway | None = None):
        self.app, self.trial, self.clock = app, trial, clock
        self.gateway = gateway or RecordingGateway()
        self.client = app.test_client()

    def dispatcher(self, gateway=None) -> Dispatcher:
        """The app's own dispatcher (web.reminders: its texts, its question), with a test gateway
        and the test clock for its leases."""
        self.app.extensions["sms_gateway"] = gateway or self.gateway
        dispatcher = reminders.dispatcher(self.app)
        dispatcher.clock = self.clock
        return dispatcher

    def send_due(self, moment: datetime, gateway=None) -> Counter:
        with self.app.app_context():
            db = open_db(self.app.config["DATABASE"])
            try:
                return self.dispatcher(gateway).send_due(db, moment)
            finally:
                db.close()

    def enroll(self, study_id="P-001", *, phone=PHONE, language="en", by_sms=True, timezone="UTC") -> str:
        self.trial.enroll(study_id, procedure_date=PROCEDURE, phone=phone, language=language, timezone=timezone)
        if by_sms:
            self.mark(study_id, True)
        return study_id

    def mark(self, study_id: str, on: bool, reason: str = "basic phone, no data") -> bool:
        db = open_db(self.app.config["DATABASE"])
        try:
            return sms_answers.set_answers_by_sms(db, study_id, on, reason=reason, actor="nurse@hospital.example",
                                                  now=self.clock())
        finally:
            db.close()

    def asked(self, *study_ids, at: datetime = DAY1_SEND) -> None:
        """Enroll each (marked SMS answers) and send their day1 question."""
        for study_id in study_ids or ("P-001",):
            self.enroll(study_id)
        assert self.send_due(at) == {"sent": len(study_ids or ("P-001",))}
        self.clock.now = at + timedelta(hours=1)

    def reply(self, body: str, *, sid: str | None = None, sender: str = PHONE) -> str | None:
        """Post a signed inbound SMS; returns the text of the SMS answered with (TwiML), or None."""
        params = {"From": sender, "To": "+16175550199", "Body": body, "MessageSid": sid or new_sid()}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(INBOUND_URL, params)
        response = self.client.post(INBOUND_URL, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.status_code
        message = ElementTree.fromstring(response.get_data()).find("Message")
        return None if message is None else message.text

    def answers(self) -> list[dict]:
        return self.trial.query(
            "SELECT p.study_id, r.timepoint, r.instrument, r.answers, r.scores, r.input_mode, r.source, r.recorded_by "
            "FROM responses r JOIN participants p ON p.id = r.participant_id ORDER BY r.id")

    def inbox(self) -> list[dict]:
        return self.trial.query("SELECT participant_id, body, handled_by FROM messages WHERE direction = 'inbound' "
                                "ORDER BY id")
