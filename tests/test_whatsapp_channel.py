"""A participant's channel, SMS or WhatsApp: chosen at enrollment (staff page and CLI) and changed
by a nurse (audited), the WhatsApp opt-in (time, source, wording version), what the page says when
a participant chosen for WhatsApp still gets SMS, and WhatsApp's start-up checks."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from app import create_app
from services import enrollment, participant_admin
from services.participant_admin import AdminError
from tests.staff_support import INCLUSION, staff_and_list
from tests.whatsapp_support import PHONE, TEMPLATES, WhatsApp, app_config
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

URL = "/staff/participants/P-001/channel"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def wa(app, trial, clock) -> WhatsApp:
    return WhatsApp(app, trial, clock)


@pytest.fixture
def staff(app, client, clock):
    return staff_and_list(app, client, clock)


def text(response) -> str:
    return response.get_data(as_text=True)


def opt_in_of(participant: dict) -> tuple:
    return (participant["channel"], participant["whatsapp_opt_in_at"], participant["whatsapp_opt_in_source"],
            participant["whatsapp_opt_in_version"])


# --- Enrollment ---------------------------------------------------------------------------------

def test_enrollment_records_the_channel_and_the_clinic_opt_in_with_its_wording_version(wa, clock):
    wa.enroll()
    assert opt_in_of(wa.participant()) == ("whatsapp", "2026-03-02T12:00:00+00:00", "clinic", OPT_IN_WORDING_VERSION)
    [entry] = wa.audit("whatsapp_opt_in")
    assert (entry["actor"], entry["entity_id"], json.loads(entry["after"])) == (
        "test", "P-001", {"source": "clinic", "wording_version": OPT_IN_WORDING_VERSION})
    assert json.loads(wa.audit("enroll")[0]["after"])["channel"] == "whatsapp"


def test_sms_is_the_default_channel(wa):
    wa.enroll(channel=None, opt_in=False)
    assert opt_in_of(wa.participant()) == ("sms", None, None, None)


@pytest.mark.parametrize("changes, field, message", [
    ({"channel": "telegram"}, "channel", "must be one of sms, whatsapp"),
    ({"channel": "whatsapp", "phone": None}, "channel", "WhatsApp needs the participant's mobile number"),
    ({"channel": "sms", "whatsapp_opt_in": "1"}, "whatsapp_opt_in", "an opt-in is to WhatsApp"),
])
def test_bad_channel_input_is_refused_by_field(app, changes, field, message):
    kwargs = {"study_id": "P-001", "arm": "A", "phone": PHONE, "timezone": "UTC", "language": "en",
              "procedure_date": "2026-03-02", **changes}
    with pytest.raises(enrollment.EnrollmentError) as raised:
        enrollment.validate_enrollment(app.extensions["protocol"], ["en"], **kwargs)
    assert message in raised.value.errors[field]


def test_the_enroll_command_takes_a_channel_and_a_clinic_opt_in(app, wa):
    runner = app.test_cli_runner()
    base = ["enroll", "--arm", "A", "--phone", PHONE, "--procedure-date", "2026-03-02"]
    result = runner.invoke(args=[*base[:1], "P-001", *base[1:], "--channel", "whatsapp", "--whatsapp-opt-in"])
    assert result.exit_code == 0, result.output
    assert "Note:" not in result.output
    assert opt_in_of(wa.participant())[::2] == ("whatsapp", "clinic")
    result = runner.invoke(args=["enroll", "P-002", *base[1:], "--channel", "whatsapp"])
    assert result.exit_code == 0, result.output
    assert "Note: reminders go by SMS for now: no WhatsApp opt-in is recorded yet" in result.output
    assert opt_in_of(wa.participant("P-002")) == ("whatsapp", None, None, None)


@pytest.mark.parametrize("args, message", [
    (["--channel", "telegram"], "Invalid value for '--channel'"),
    (["--whatsapp-opt-in"], "--whatsapp-opt-in: an opt-in is to WhatsApp"),
])
def test_the_enroll_command_refuses_a_bad_channel_and_stores_nothing(app, wa, args, message):
    result = app.test_cli_runner().invoke(args=["enroll", "P-001", "--arm", "A", "--phone", PHONE,
                                                "--procedure-date", "2026-03-02", *args])
    assert result.exit_code != 0 and message in result.output
    assert wa.trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]


def test_the_enroll_page_records_whatsapp_and_the_opt_in(staff, client, wa):
    staff.login("investigator")
    page = text(client.get("/staff/enroll"))
    assert "Reminders by" in page and f"opt-in wording, version {OPT_IN_WORDING_VERSION}" in page
    response = staff.post("/staff/enroll", {
        "study_id": "P-001", "punctures": "2", "procedure_date": "2026-03-02", "timezone": "UTC", "language": "ar",
        "phone": PHONE, "allocation": "randomize", "criteria": INCLUSION, "channel": "whatsapp",
        "whatsapp_opt_in": "y"}, token=staff.csrf("/staff/enroll"))
    assert response.status_code == 303, text(response)[:2000]
    assert opt_in_of(wa.participant())[::2] == ("whatsapp", "clinic")


def test_the_enroll_page_refuses_whatsapp_without_a_phone_and_stores_nothing(staff, client, wa):
    staff.login("investigator")
    response = staff.post("/staff/enroll", {
        "study_id": "P-001", "punctures": "2", "procedure_date": "2026-03-02", "timezone": "UTC", "language": "en",
        "allocation": "randomize", "criteria": INCLUSION, "channel": "whatsapp"}, token=staff.csrf("/staff/enroll"))
    assert response.status_code == 400
    assert "WhatsApp needs the participant&#39;s mobile number" in text(response)
    assert wa.trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]


# --- A nurse's change ---------------------------------------------------------------------------

def test_a_nurse_changes_the_channel_audited_and_the_same_change_again_changes_nothing(wa):
    wa.enroll(channel="sms", opt_in=False)
    assert wa.set_channel("P-001", "whatsapp") == ["channel"]
    assert wa.set_channel("P-001", "whatsapp") == []
    assert wa.set_channel("P-001", "sms") == ["channel"]
    assert [(json.loads(e["before"]), json.loads(e["after"]), e["actor"]) for e in wa.audit("set_channel")] == [
        ({"channel": "sms"}, {"channel": "whatsapp"}, "nurse@hospital.example"),
        ({"channel": "whatsapp"}, {"channel": "sms"}, "nurse@hospital.example")]


def test_an_opt_in_recorded_twice_keeps_the_first(wa, clock):
    wa.enroll(channel="sms", opt_in=False)
    assert wa.set_channel("P-001", "whatsapp", opt_in=True) == ["channel", "opt_in"]
    first = opt_in_of(wa.participant())
    clock.now += timedelta(days=1)
    assert wa.set_channel("P-001", "whatsapp", opt_in=True) == []
    assert opt_in_of(wa.participant()) == first
    assert len(wa.audit("whatsapp_opt_in")) == 1


@pytest.mark.parametrize("channel, opt_in, field, message", [
    ("telegram", False, "channel", "choose SMS or WhatsApp"),
    ("sms", True, "opt_in", "an opt-in is to WhatsApp"),
])
def test_a_bad_change_is_refused_and_changes_nothing(wa, channel, opt_in, field, message):
    wa.enroll(channel="sms", opt_in=False)
    with pytest.raises(AdminError) as raised:
        wa.set_channel("P-001", channel, opt_in=opt_in)
    assert message in raised.value.errors[field]
    assert opt_in_of(wa.participant()) == ("sms", None, None, None)


def test_a_withdrawn_participant_s_channel_cannot_change(wa, clock):
    wa.enroll(channel="sms", opt_in=False)
    db = wa.db()
    try:
        participant_admin.withdraw(db, "P-001", reason="moved away", actor="nurse", now=clock())
    finally:
        db.close()
    with pytest.raises(AdminError) as raised:
        wa.set_channel("P-001", "whatsapp", opt_in=True)
    assert raised.value.errors == {"channel": "P-001 is withdrawn: no message goes to them on any channel"}
    assert opt_in_of(wa.participant()) == ("sms", None, None, None)
    assert wa.audit("set_channel", "whatsapp_opt_in") == []


# --- The participant page -----------------------------------------------------------------------

def test_the_page_says_why_a_whatsapp_participant_still_gets_sms_and_the_nurse_records_the_opt_in(staff, client, wa):
    wa.enroll(opt_in=False)
    staff.login("nurse")
    page = text(client.get("/staff/participants/P-001"))
    assert "WhatsApp chosen, but SMS for now: no whatsapp opt-in recorded yet" in page
    assert "I agree to get reminders of my follow-up questionnaires" in page
    response = staff.post(URL, {"study_id": "P-001", "channel": "whatsapp", "whatsapp_opt_in": "y"})
    assert response.status_code == 303
    page = text(client.get("/staff/participants/P-001"))
    assert "Saved: WhatsApp opt-in recorded." in page
    assert "WhatsApp chosen, but SMS" not in page
    assert f"in clinic, wording version {OPT_IN_WORDING_VERSION}" in page


def test_the_page_refuses_a_withdrawn_participant_s_change_with_the_reason(staff, client, wa, clock):
    wa.enroll(channel="sms", opt_in=False)
    staff.login("nurse")
    staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-001", "reason": "moved", "confirm": "y"})
    response = staff.post(URL, {"study_id": "P-001", "channel": "whatsapp"})
    assert response.status_code == 400
    assert "P-001 is withdrawn: no message goes to them on any channel" in text(response)
    assert wa.participant()["channel"] == "sms"


def test_on_a_site_without_whatsapp_the_page_says_so(db_path, clock, tmp_path, trial, client):
    app = create_app(app_config(db_path, clock, tmp_path, WHATSAPP_TEMPLATES=None))
    site = WhatsApp(app, trial, clock)
    site.enroll()
    staff = staff_and_list(app, app.test_client(), clock)
    staff.login("nurse")
    page = text(staff.client.get("/staff/participants/P-001"))
    assert "WhatsApp chosen, but SMS for now: whatsapp is not set up on this site" in page


# --- Start-up ---------------------------------------------------------------------------------

@pytest.mark.parametrize("overrides, message", [
    ({"WHATSAPP_TEMPLATES": {"reminder": {"en": TEMPLATES["reminder"]["en"]}}},
     "'ar' has no approved reminder template"),
    ({"WHATSAPP_TEMPLATES": {"reminder": {"en": "HX123", "ar": TEMPLATES["reminder"]["ar"]}}},
     "must be a Content Template SID (HX and 32 hex digits), not 'HX123'"),
    ({"WHATSAPP_TEMPLATES": {"reminders": TEMPLATES["reminder"]}}, "unknown kind of message 'reminders'"),
    ({"WHATSAPP_TEMPLATES": {**TEMPLATES, "question": {"fr": TEMPLATES["question"]["en"]}}},
     "names 'fr', which FLASK_LANGUAGES does not offer"),
    ({"WHATSAPP_TEMPLATES": ["HX"]}, "must be a JSON object of kinds"),
    ({"WHATSAPP_TEMPLATES": None, "TWILIO_WHATSAPP_FROM": "whatsapp:+16175550199"},
     "TWILIO_WHATSAPP_FROM is set but FLASK_WHATSAPP_TEMPLATES is not"),
    ({"TWILIO_WHATSAPP_FROM": "+16175550199"}, "TWILIO_WHATSAPP_FROM must be a WhatsApp sender"),
    ({"SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_FROM_NUMBER": "+16175550199"},
     "there is no WhatsApp sender"),
], ids=["language-without-reminder", "malformed-sid", "unknown-kind", "unoffered-language", "not-an-object",
        "sender-without-templates", "sender-without-prefix", "twilio-without-whatsapp-sender"])
def test_a_whatsapp_set_up_amiss_stops_start_up_with_a_clear_message(db_path, clock, tmp_path, overrides, message):
    with pytest.raises(RuntimeError) as raised:
        create_app(app_config(db_path, clock, tmp_path, **overrides))
    assert message in str(raised.value)


def test_a_site_with_templates_for_every_language_starts(app):
    assert app.extensions["whatsapp"].templates.sid("reminder", "ar") == TEMPLATES["reminder"]["ar"]
    assert app.extensions["whatsapp"].templates.sid("question", "ar") is None
