"""WhatsApp in tests: a site with WhatsApp set up (templates per language), participants on
WhatsApp with an opt-in, reminder passes through the app's own dispatcher wiring, and signed
WhatsApp webhooks (inbound and status)."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from itertools import count
from xml.etree import ElementTree

from twilio.request_validator import RequestValidator

from scheduler.dispatch import Dispatcher
from services import enrollment, participant_admin
from storage.connection import open_db
from tests.sms_fakes import RecordingGateway
from web import reminders
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
BASE = "https://pro.example.org"
INBOUND_URL = f"{BASE}/twilio/whatsapp"
SMS_INBOUND_URL = f"{BASE}/twilio/inbound"
STATUS_URL = f"{BASE}/twilio/status"
PROCEDURE = date(2026, 3, 2)
DAY1_SEND = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)   # day1's first reminder: 10:00 local (UTC)
PHONE = "+201001234567"
OTHER_PHONE = "+201001234568"
SENDER = "whatsapp:+16175550199"
REMINDER_EN = "HX" + "a1" * 16
REMINDER_AR = "HX" + "b2" * 16
QUESTION_EN = "HX" + "c3" * 16
TEMPLATES = {"reminder": {"en": REMINDER_EN, "ar": REMINDER_AR}, "question": {"en": QUESTION_EN}}

_sids = count(1)


def app_config(db_path, clock, tmp_path, **overrides) -> dict:
    return {"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": BASE,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl"),
            "LANGUAGES": ["en", "ar"], "WHATSAPP_TEMPLATES": TEMPLATES, **overrides}


def new_sid(prefix: str = "SM") -> str:
    return f"{prefix}{next(_sids):032d}"


def signed(client, url: str, params: dict, token: str = AUTH_TOKEN):
    signature = RequestValidator(token).compute_signature(url, params)
    return client.post(url, data=params, headers={"X-Twilio-Signature": signature})


class WhatsApp:
    """One trial on a WhatsApp site: enroll, run reminder passes, post signed webhooks."""

    def __init__(self, app, trial, clock, gateway: RecordingGateway | None = None):
        self.app, self.trial, self.clock = app, trial, clock
        self.gateway = gateway or RecordingGateway()
        self.client = app.test_client()

    def db(self):
        return open_db(self.app.config["DATABASE"])

    def enroll(self, study_id="P-001", *, phone=PHONE, language="en", channel="whatsapp", opt_in=True,
               timezone="UTC", procedure_date=PROCEDURE) -> str:
        protocol = self.app.extensions["protocol"]
        clean = enrollment.validate_enrollment(
            protocol, self.app.config["LANGUAGES"], study_id=study_id, arm="A", phone=phone, timezone=timezone,
            language=language, procedure_date=procedure_date, channel=channel,
            whatsapp_opt_in=OPT_IN_WORDING_VERSION if opt_in else None)
        db = self.db()
        try:
            enrollment.enroll(db, protocol, clean, actor="test", now=self.clock())
        finally:
            db.close()
        return study_id

    def set_channel(self, study_id: str, channel: str, opt_in: bool = False) -> list[str]:
        db = self.db()
        try:
            return participant_admin.set_channel(db, study_id, channel, opt_in=opt_in,
                                                 wording_version=OPT_IN_WORDING_VERSION,
                                                 actor="nurse@hospital.example", now=self.clock())
        finally:
            db.close()

    def dispatcher(self, gateway=None) -> Dispatcher:
        self.app.extensions["sms_gateway"] = gateway or self.gateway
        dispatcher = reminders.dispatcher(self.app)
        dispatcher.clock = self.clock
        return dispatcher

    def send_due(self, moment: datetime, gateway=None) -> Counter:
        with self.app.app_context():
            db = self.db()
            try:
                return self.dispatcher(gateway).send_due(db, moment)
            finally:
                db.close()

    def inbound(self, body: str, *, sender: str = PHONE, sid: str | None = None, url: str = INBOUND_URL,
                **extra) -> tuple[int, str | None]:
        """Post a signed inbound WhatsApp message; (HTTP status, the text answered with or None)."""
        params = {"From": f"whatsapp:{sender}", "To": SENDER, "Body": body, "MessageSid": sid or new_sid(),
                  "ProfileName": "Amina Hassan", "WaId": sender.lstrip("+"), "NumMedia": "0", **extra}
        response = signed(self.client, url, params)
        if response.status_code != 200:
            return response.status_code, None
        message = ElementTree.fromstring(response.get_data()).find("Message")
        return 200, None if message is None else message.text

    def status(self, sid: str, status: str, error_code: int | None = None):
        params = {"MessageSid": sid, "MessageStatus": status, "ChannelPrefix": "whatsapp",
                  **({"ErrorCode": str(error_code)} if error_code else {})}
        return signed(self.client, STATUS_URL, params)

    def participant(self, study_id="P-001") -> dict:
        return self.trial.query("SELECT * FROM participants WHERE study_id = ?", [study_id])[0]

    def messages(self, direction="outbound") -> list[dict]:
        return self.trial.query("SELECT * FROM messages WHERE direction = ? ORDER BY id", [direction])

    def reminders(self, study_id="P-001", timepoint="day1") -> list[dict]:
        return self.trial.query(
            "SELECT r.* FROM reminders r JOIN participants p ON p.id = r.participant_id "
            "WHERE p.study_id = ? AND r.timepoint = ? ORDER BY r.attempt", [study_id, timepoint])

    def audit(self, *actions: str) -> list[dict]:
        marks = ",".join("?" * len(actions))
        return self.trial.query(f"SELECT * FROM audit_log WHERE action IN ({marks}) ORDER BY id", list(actions))
