"""The staff tools through the test client: the inbox, the audit log's filters, diff and pages,
audited downloads, the home and error pages, the demo banner, and enrollment's site defaults."""
from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from app import create_app
from services import messaging
from storage import settings, write
from storage.connection import open_db
from tests.staff_support import INCLUSION, staff_and_list

PHONE = "+201001234567"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl"),
                       "DEFAULT_TIMEZONE": "Africa/Cairo", "DEFAULT_COUNTRY": "EG"})


@pytest.fixture
def staff(app, client, clock):
    return staff_and_list(app, client, clock)


@pytest.fixture
def replied(trial, app, clock):
    """P-001 on PHONE sent "I can't open the link"; an unknown number sent "Who is this?"."""
    trial.enroll("P-001", phone=PHONE, timezone="Africa/Cairo", procedure_date=(clock() - timedelta(days=1)).date())
    db = open_db(app.config["DATABASE"])
    try:
        messaging.receive_reply(db, sender=PHONE, body="I can't open the link", sid="SM1", now=clock())
        messaging.receive_reply(db, sender="+201001234599", body="Who is this?", sid="SM2", now=clock())
        messaging.receive_reply(db, sender=PHONE, body="STOP", sid="SM3", now=clock())
    finally:
        db.close()
    return trial.query("SELECT id FROM messages WHERE sid = 'SM1'")[0]["id"]


def text(response) -> str:
    return response.get_data(as_text=True)


def waiting(client) -> list[str]:
    return re.findall(r'<blockquote dir="auto">([^<]+)</blockquote>', text(client.get("/staff/inbox")))


# --- The inbox --------------------------------------------------------------------------------

def test_replies_wait_in_the_inbox_until_a_nurse_marks_them_handled(staff, client, trial, replied):
    staff.login("nurse")
    # STOP was acted on at once: only the free-text replies wait, newest first.
    assert waiting(client) == ["Who is this?", "I can&#39;t open the link"]
    board = text(client.get("/staff/"))
    assert "2 replies from patients waiting in the inbox" in board and "Reply waiting" in board
    assert re.findall(r'/staff/participants/([A-Z0-9-]+)"', text(client.get("/staff/?filter=replied"))) == ["P-001"]
    page = text(client.get("/staff/participants/P-001"))
    assert "Replies waiting" in page and "I can&#39;t open the link" in page and "Who is this?" not in page

    token = staff.csrf("/staff/inbox")
    response = client.post(f"/staff/inbox/{replied}/handled", data={"csrf_token": token,
                                                                   "back": "/staff/participants/P-001"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/participants/P-001"
    assert waiting(client) == ["Who is this?"]
    assert "I can&#39;t open the link" in text(client.get("/staff/inbox?show=handled"))
    # Twice: nothing changes, no second audit entry, and no error.
    again = client.post(f"/staff/inbox/{replied}/handled", data={"csrf_token": token})
    assert again.status_code == 303 and again.headers["Location"] == "/staff/inbox"
    assert "already marked handled" in text(client.get("/staff/inbox"))
    entries = trial.query("SELECT actor, entity_id, after FROM audit_log WHERE action = 'handle_reply'")
    assert [(e["actor"], e["entity_id"], json.loads(e["after"])) for e in entries] == [
        ("nurse@hospital.example", str(replied), {"handled": True, "study_id": "P-001"})]
    assert trial.query("SELECT handled_by FROM messages WHERE id = ?", [replied]) == [
        {"handled_by": "nurse@hospital.example"}]


def test_marking_a_reply_refuses_a_forged_form_an_unknown_reply_and_an_offsite_return(staff, client, trial, replied):
    staff.login("nurse")
    assert client.post(f"/staff/inbox/{replied}/handled", data={"csrf_token": "forged"}).status_code == 400
    token = staff.csrf("/staff/inbox")
    assert client.post("/staff/inbox/99999/handled", data={"csrf_token": token}).status_code == 404
    assert trial.query("SELECT COUNT(*) AS n FROM messages WHERE handled_at IS NOT NULL AND body != 'STOP'") == [
        {"n": 0}]
    response = client.post(f"/staff/inbox/{replied}/handled", data={"csrf_token": token,
                                                                   "back": "https://evil.example/staff/"})
    assert response.headers["Location"] == "/staff/inbox"


# --- The audit log ----------------------------------------------------------------------------

def test_audit_log_shows_changes_field_by_field_in_words(staff, client, trial, replied):
    staff.login("nurse")
    staff.post("/staff/participants/P-001/contact-details", {"study_id": "P-001", "phone": "010 0123 4568",
                                                            "timezone": "Europe/London", "language": "en"})
    staff.login("admin")
    page = text(client.get("/staff/audit?action=update_contact"))
    assert "<strong>Contact details changed</strong>" in page
    assert "Phone: <del>…67</del> → <ins>…68</ins>" in page
    assert "Timezone: <del>Africa/Cairo</del> → <ins>Europe/London</ins>" in page
    assert re.search(r'<time datetime="2026-03-02T12:00:00\+00:00" data-viewer>02 Mar 2026 14:00 EET</time>', page)


@pytest.mark.parametrize("query,message", [
    ("since=02/03/2026", "Write the date as year-month-day, e.g. 2026-03-02."),
    ("until=2026-02-31", "Write the date as year-month-day, e.g. 2026-03-02."),
    ("action=drop_table", "Choose an action from the list."),
])
def test_audit_filter_with_bad_input_says_what_is_wrong(staff, client, query, message):
    staff.login("admin")
    response = client.get(f"/staff/audit?{query}")
    assert response.status_code == 400 and message in text(response)


def test_audit_log_pages_through_every_entry(staff, client, trial, app, clock):
    db = open_db(app.config["DATABASE"])
    try:
        from storage.audit import record
        with write(db):
            for n in range(120):
                record(db, at=clock(), actor="test", action="log_contact", entity="participant", entity_id=f"P-{n:03d}")
    finally:
        db.close()
    staff.login("admin")
    seen = []
    for page in (1, 2, 3):
        body = text(client.get(f"/staff/audit?action=log_contact&page={page}"))
        seen += re.findall(r">P-(\d{3})</a>", body)
        assert ("Older entries" in body) == (page < 3) and ("Newer entries" in body) == (page > 1)
    assert seen == [f"{n:03d}" for n in range(119, -1, -1)]
    assert "action=log_contact" in re.search(r'href="([^"]+)">Older entries', text(
        client.get("/staff/audit?action=log_contact"))).group(1)


# --- Audited downloads ------------------------------------------------------------------------

def test_report_and_dataset_downloads_are_audited(staff, client, trial):
    trial.enroll("P-001")
    staff.login("investigator")
    assert client.get("/staff/report").status_code == 200
    assert trial.query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'download_report'") == [{"n": 0}]
    assert client.get("/staff/report?download=json").status_code == 200
    assert client.get("/staff/report?download=html").status_code == 200
    for fmt in ("csv", "xlsx", "codebook-html"):  # a codebook holds no data: not an export
        with client.get(f"/staff/dataset/download?format={fmt}") as response:
            assert response.status_code == 200 and response.get_data()
    entries = trial.query("SELECT action, actor, entity_id FROM audit_log WHERE action IN "
                          "('download_report', 'export') ORDER BY id")
    assert [(e["action"], e["entity_id"]) for e in entries] == [
        ("download_report", "json"), ("download_report", "html"), ("export", "csv"), ("export", "xlsx")]
    assert {e["actor"] for e in entries} == {"investigator@hospital.example"}


# --- Pages around the edges -------------------------------------------------------------------

def test_home_page_shows_staff_and_patients_the_way(client):
    response = client.get("/")
    assert response.status_code == 200
    assert 'href="/staff/login"' in text(response) and "open the link your care team sent you" in text(response)


@pytest.mark.parametrize("role,path,status", [("nurse", "/staff/audit", 403), ("nurse", "/staff/participants/NOPE", 404),
                                              ("nurse", "/staff/nothing-here", 404)])
def test_staff_403_and_404_lead_back_to_the_board(staff, client, role, path, status):
    staff.login(role)
    response = client.get(path)
    assert response.status_code == status
    assert '<a href="/staff/">Back to the follow-up board</a>' in text(response)
    assert 'aria-label="Staff menu"' in text(response)


def test_a_patient_404_has_nothing_of_the_staff_side(client):
    page = text(client.get("/f/not-a-real-token-at-all-000000"))
    assert "Back to the follow-up board" not in page and "Staff menu" not in page


def test_demo_data_is_marked_on_every_staff_page(staff, client, app, clock, trial):
    trial.enroll("P-001")
    staff.login("admin")
    assert "DEMO DATA" not in text(client.get("/staff/"))
    db = open_db(app.config["DATABASE"])
    try:
        with write(db):
            settings.put(db, settings.DEMO, "1", actor="test", now=clock())
    finally:
        db.close()
    for path in ("/staff/", "/staff/participants/P-001", "/staff/inbox", "/staff/enroll", "/staff/report",
                 "/staff/dataset", "/staff/audit"):
        assert "<strong>DEMO DATA</strong>" in text(client.get(path)), path


# --- Enrollment with the site's defaults ------------------------------------------------------

def test_enrollment_defaults_to_the_site_zone_and_takes_a_national_number(staff, client, trial):
    staff.login("investigator")
    form = text(client.get("/staff/enroll"))
    assert '<option value="Africa/Cairo" selected>Cairo</option>' in form and form.count(" selected>") == 1
    assert '<option selected value="en">English</option>' in form
    assert 'placeholder="YYYY-MM-DD"' in form and 'type="date"' not in form
    response = staff.post("/staff/enroll", {"study_id": "P-020", "punctures": "2", "procedure_date": "2026-03-10",
                                            "phone": "010 0123 4567", "timezone": "Africa/Cairo", "language": "en",
                                            "allocation": "randomize", "criteria": INCLUSION},
                          token=staff.csrf("/staff/enroll"))
    assert response.status_code == 303
    assert trial.query("SELECT phone, timezone FROM participants WHERE study_id = 'P-020'") == [
        {"phone": PHONE, "timezone": "Africa/Cairo"}]
    page = text(client.get("/staff/participants/P-020"))
    assert "010 01234567" in page and "Africa/Cairo · English" in page


@pytest.mark.parametrize("setting,value,message", [
    ("DEFAULT_TIMEZONE", "Cairo", "FLASK_DEFAULT_TIMEZONE: unknown IANA time zone 'Cairo'"),
    ("DEFAULT_COUNTRY", "Egypt", "FLASK_DEFAULT_COUNTRY: 'Egypt' is not a country code"),
])
def test_a_mistyped_site_default_stops_the_app_at_start_up(db_path, setting, value, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        create_app({"TESTING": True, "DATABASE": str(db_path), setting: value})
