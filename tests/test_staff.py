"""Staff pages through the test client: every page x every role, login, CSRF, enrollment, actions."""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from app import create_app
from storage.connection import open_db
from tests.staff_support import INCLUSION, PASSWORD, ROLES, staff_and_list


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def staff(app, client, clock):
    return staff_and_list(app, client, clock)


def text(response) -> str:
    return response.get_data(as_text=True)


def audit(trial, action):
    return trial.query("SELECT actor, entity_id, before, after, reason FROM audit_log WHERE action = ?", [action])


# --- Every page x every role -----------------------------------------------------------

PAGES = {
    "/staff/": ("nurse", "investigator", "admin"),
    "/staff/?filter=overdue": ("nurse", "investigator", "admin"),
    "/staff/participants/P-001": ("nurse", "investigator", "admin"),
    "/staff/inbox": ("nurse", "investigator", "admin"),
    "/staff/enroll": ("investigator", "admin"),
    "/staff/report": ("investigator", "admin"),
    "/staff/dataset": ("investigator", "admin"),
    "/staff/audit": ("admin",),
}


@pytest.mark.parametrize("path,allowed", PAGES.items())
@pytest.mark.parametrize("role", [None, *ROLES])
def test_every_page_for_every_role(staff, trial, client, path, allowed, role):
    trial.enroll()
    if role:
        staff.login(role)
    response = client.get(path)
    if role is None:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/staff/login?next=")
    elif role in allowed:
        assert response.status_code == 200
    else:
        assert response.status_code == 403
        assert "Your role does not give access to this page." in text(response)


def test_every_staff_route_requires_login(app, client, staff, trial):
    trial.enroll()
    token = staff.csrf()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/staff") or rule.endpoint.startswith("auth."):
            continue
        path = rule.rule.replace("<study_id>", "P-001").replace("<int:message_id>", "1").replace("<int:item>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, data={"csrf_token": token, "study_id": "P-001"})
            assert response.status_code == 302 and "/staff/login" in response.headers["Location"], (method, path)
    assert trial.query("SELECT status, sms_opt_out FROM participants") == [{"status": "active", "sms_opt_out": 0}]


@pytest.mark.parametrize("role,path,data", [
    ("nurse", "/staff/enroll", {"study_id": "X-1", "punctures": "2", "procedure_date": "2026-03-10",
                                "timezone": "UTC", "language": "en", "allocation": "randomize"}),
])
def test_another_roles_action_is_403_and_changes_nothing(staff, trial, role, path, data):
    staff.login(role)
    assert staff.post(path, data).status_code == 403
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]


# --- Login, sessions ----------------------------------------------------------------------

def test_a_cookie_copied_before_logout_no_longer_signs_in(staff, client, app, trial):
    from tests.staff_support import Staff
    staff.login("nurse")
    copied = client.get_cookie("session").value
    other_device = app.test_client()
    Staff(other_device).login("nurse")                       # the same nurse on a second device
    assert client.get("/staff/").status_code == 200
    assert staff.post("/staff/logout", {}).status_code == 303
    thief = app.test_client()
    thief.set_cookie("session", copied)
    after = thief.get("/staff/")
    assert after.status_code in (302, 303) and "/staff/login" in after.headers["Location"]
    assert other_device.get("/staff/").status_code in (302, 303)  # every session of the user ends
    assert [r["action"] for r in trial.query("SELECT action FROM audit_log WHERE action IN ('login', 'logout')")] \
        == ["login", "login", "logout"]


def test_a_deactivated_user_is_signed_out_at_the_next_request(staff, client, app):
    staff.login("nurse")
    db = open_db(app.config["DATABASE"])
    try:
        db.execute("UPDATE users SET active = 0 WHERE email = 'nurse@hospital.example'")
    finally:
        db.close()
    assert client.get("/staff/").status_code in (302, 303)


def test_login_then_logout(staff, client):
    response = staff.login("nurse")
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    assert "nurse@hospital.example · Nurse" in text(client.get("/staff/"))
    assert staff.post("/staff/logout", {}).status_code == 303
    assert client.get("/staff/").status_code == 302


@pytest.mark.parametrize("email,password", [
    ("nurse@hospital.example", "wrong password!"),
    ("nobody@hospital.example", PASSWORD),
    ("nobody@hospital.example", "wrong password!"),
    ("", ""),
])
def test_a_failed_login_never_says_which_part_was_wrong(staff, client, email, password):
    response = staff.login(email=email, password=password)
    assert response.status_code == 401
    assert "Email or password is incorrect." in text(response)
    assert client.get("/staff/").status_code == 302


def test_login_is_rate_limited_per_email_then_recovers(staff, client, clock):
    for _ in range(5):
        assert staff.login("nurse", password="not it at all").status_code == 401
    limited = staff.login("nurse")  # the right password, too late
    assert limited.status_code == 401 and "Too many attempts" in text(limited)
    assert client.get("/staff/").status_code == 302
    clock.now += timedelta(minutes=16)
    assert staff.login("nurse").status_code == 303


def test_rate_limit_for_an_unknown_email_looks_the_same(staff):
    for _ in range(5):
        staff.login(email="ghost@hospital.example", password="x" * 12)
    assert "Too many attempts" in text(staff.login(email="ghost@hospital.example", password="x" * 12))


def test_idle_session_is_signed_out(staff, client, clock):
    staff.login("nurse")
    clock.now += timedelta(minutes=29)
    assert client.get("/staff/").status_code == 200  # activity renews the idle timer
    clock.now += timedelta(minutes=29)
    assert client.get("/staff/").status_code == 200
    clock.now += timedelta(minutes=31)
    response = client.get("/staff/")
    assert response.status_code == 302
    assert "signed out after a period without activity" in text(client.get(response.headers["Location"]))


def test_login_never_redirects_off_site(staff, client):
    token = staff.csrf()
    response = client.post("/staff/login?next=https://evil.example/x",
                           data={"csrf_token": token, "email": "nurse@hospital.example", "password": PASSWORD})
    assert response.headers["Location"] == "/staff/"


def test_forged_csrf_token_is_refused_and_changes_nothing(staff, trial, client):
    trial.enroll()
    staff.login("nurse")
    response = client.post("/staff/participants/P-001/withdraw",
                           data={"csrf_token": "forged", "study_id": "P-001", "reason": "moved", "confirm": "y"})
    assert response.status_code == 400 and "nothing was changed" in text(response)
    response = client.post("/staff/participants/P-001/withdraw", data={"study_id": "P-001", "reason": "moved", "confirm": "y"})
    assert response.status_code == 400
    assert trial.query("SELECT status FROM participants") == [{"status": "active"}]


def test_session_cookie_is_http_only_and_same_site(staff, client):
    response = staff.login("nurse")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- Users CLI ----------------------------------------------------------------------------

def test_users_create_reads_the_password_from_stdin(runner, trial):
    result = runner.invoke(args=["users", "create", "Sara@Hospital.example", "--role", "investigator"],
                           input="a long enough password\n")
    assert result.exit_code == 0, result.output
    assert "a long enough password" not in result.output
    rows = trial.query("SELECT email, role, password_hash FROM users")
    assert rows[0]["email"] == "sara@hospital.example" and rows[0]["role"] == "investigator"
    assert rows[0]["password_hash"].startswith("$argon2id$")


@pytest.mark.parametrize("args,stdin,message", [
    (["users", "create", "x@y.org", "--role", "nurse"], "short\n", "at least 12 characters"),
    (["users", "create", "not-an-email", "--role", "nurse"], "a long enough password\n", "not an email address"),
    (["users", "create", "x@y.org", "--role", "boss"], "a long enough password\n", "Invalid value for '--role'"),
])
def test_users_create_refuses_bad_input(runner, trial, args, stdin, message):
    result = runner.invoke(args=args, input=stdin)
    assert result.exit_code != 0 and message in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM users") == [{"n": 0}]


def test_users_create_has_no_password_option(app):
    params = {p.name for p in app.cli.commands["users"].commands["create"].params}
    assert params == {"email", "role"}


# --- Enrollment page ----------------------------------------------------------------------

ENROLL = {"study_id": "P-100", "punctures": "4", "procedure_date": "2026-03-20", "timezone": "Africa/Cairo",
          "language": "en", "phone": "+20 100 123 4567", "allocation": "randomize", "criteria": INCLUSION}


def test_investigator_randomizes_a_participant(staff, trial, client):
    staff.login("investigator")
    response = staff.post("/staff/enroll", ENROLL)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/participants/P-100"
    row = trial.query("SELECT arm, stratum, punctures, allocation, phone FROM participants")[0]
    expected = trial.query("SELECT arm FROM allocations WHERE stratum = '3-4' ORDER BY position LIMIT 1")[0]["arm"]
    assert row == {"arm": expected, "stratum": "3-4", "punctures": 4, "allocation": "randomized",
                   "phone": "+201001234567"}
    assert f"P-100 randomized to arm {expected}" in text(client.get("/staff/participants/P-100"))
    allocated = audit(trial, "allocate")[0]
    assert allocated["actor"] == "investigator@hospital.example"
    assert json.loads(allocated["after"])["list_position"] == 1


def test_an_arm_allocated_outside_needs_a_reason(staff, trial):
    staff.login("investigator")
    external = {**ENROLL, "allocation": "external", "external_arm": "A"}
    response = staff.post("/staff/enroll", external)
    assert response.status_code == 400 and "say why the arm was allocated outside the app" in text(response)
    assert staff.post("/staff/enroll", {**external, "reason": "randomized by phone during an outage"}).status_code == 303
    assert trial.query("SELECT arm, allocation, allocation_reason FROM participants") == [
        {"arm": "A", "allocation": "external", "allocation_reason": "randomized by phone during an outage"}]
    assert audit(trial, "allocate")[0]["reason"] == "randomized by phone during an outage"
    assert trial.query("SELECT COUNT(*) AS n FROM allocations WHERE participant_id IS NOT NULL") == [{"n": 0}]


@pytest.mark.parametrize("change,field,message", [
    ({"phone": "12345"}, "phone", "not a phone number"),
    ({"timezone": "Mars/Olympus"}, "timezone", "unknown IANA time zone"),
    ({"punctures": "9"}, "punctures", "Number must be between 1 and 6"),
    ({"procedure_date": "2025-12-01"}, "procedure date", "more than 30 days ago: confirm it"),
    ({"procedure_date": "2027-01-01"}, "procedure date", "more than 180 days ahead: confirm it"),
    ({"procedure_date": "31/02/2026"}, "procedure date", "must be a date written YYYY-MM-DD"),
    ({"procedure_date": "2026-02-31"}, "procedure date", "must be a date written YYYY-MM-DD"),
    ({"timezone": "Cairo"}, "timezone", "unknown IANA time zone"),
    ({"language": "xx"}, "language", "must be one of en"),
    ({"study_id": "P 100!"}, "study id", "1-32 letters"),
])
def test_enrollment_refuses_bad_input_and_stores_nothing(staff, trial, change, field, message):
    staff.login("investigator")
    response = staff.post("/staff/enroll", {**ENROLL, **change})
    assert response.status_code == 400
    assert message in text(response) and f"<li>{field}:" in text(response)
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
    assert trial.query("SELECT COUNT(*) AS n FROM allocations WHERE participant_id IS NOT NULL") == [{"n": 0}]


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01", "1989-12-31", "2100-01-01"])
def test_an_impossible_procedure_date_is_refused_even_when_confirmed(staff, trial, day):
    staff.login("investigator")
    response = staff.post("/staff/enroll", {**ENROLL, "procedure_date": day, "confirm_date": "y"})
    assert response.status_code == 400
    assert f"{day} is not a possible procedure date" in text(response)
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]


def test_a_far_date_goes_through_once_confirmed(staff, trial):
    staff.login("investigator")
    assert staff.post("/staff/enroll", {**ENROLL, "procedure_date": "2025-12-01", "confirm_date": "y"}).status_code == 303


def test_a_duplicate_study_id_is_refused(staff, trial):
    staff.login("investigator")
    staff.post("/staff/enroll", ENROLL)
    response = staff.post("/staff/enroll", {**ENROLL, "punctures": "1"})
    assert response.status_code == 400 and "P-100 is already enrolled" in text(response)
    assert trial.query("SELECT COUNT(*) AS n FROM allocations WHERE participant_id IS NOT NULL") == [{"n": 1}]


def test_cli_enroll_randomizes_through_the_same_path(staff, runner, trial):
    result = runner.invoke(args=["enroll", "P-200", "--punctures", "6", "--procedure-date", "2026-03-10"])
    assert result.exit_code == 0, result.output
    first = trial.query("SELECT arm FROM allocations WHERE stratum = '5-6' ORDER BY position LIMIT 1")[0]["arm"]
    assert f"P-200 randomized to arm {first}." in result.output
    assert trial.query("SELECT allocation, stratum FROM participants") == [{"allocation": "randomized", "stratum": "5-6"}]


def test_cli_enroll_without_arm_or_punctures_is_refused(runner, trial):
    result = runner.invoke(args=["enroll", "P-201"])
    assert result.exit_code == 1 and "--punctures: needed to randomize" in result.output


# --- Participant actions ------------------------------------------------------------------

@pytest.fixture
def day1_open(trial, clock):
    """P-001 whose day1 window is open now (procedure yesterday, UTC)."""
    trial.enroll("P-001", procedure_date=(clock() - timedelta(days=1)).date())
    trial.enroll("P-002", procedure_date=(clock() - timedelta(days=1)).date())
    return "P-001"


def test_nurse_resends_the_link_now(staff, trial, client, day1_open, tmp_path):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/resend", {"study_id": "P-001", "timepoint": "day1"})
    assert response.status_code == 303
    assert "SMS with a new link for 1 day sent." in text(client.get("/staff/participants/P-001"))
    outbox = (tmp_path / "outbox.jsonl").read_text().splitlines()
    assert len(outbox) == 1 and "/f/" in json.loads(outbox[0])["body"]
    reminder = trial.query("SELECT requested_by, status FROM reminders WHERE requested_by IS NOT NULL")
    assert reminder == [{"requested_by": "nurse@hospital.example", "status": "sent"}]
    assert [(row["actor"], row["entity_id"], json.loads(row["after"])) for row in audit(trial, "request_sms")] == [
        ("nurse@hospital.example", "P-001", {"timepoint": "day1", "outcome": "sent"})]


def test_resend_for_a_timepoint_not_open_is_refused(staff, trial, day1_open, tmp_path):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/resend", {"study_id": "P-001", "timepoint": "month3"})
    assert response.status_code == 400 and "3 months is not open and unfinished" in text(response)
    assert not (tmp_path / "outbox.jsonl").exists()
    assert audit(trial, "request_sms") == []


def test_show_link_gives_a_working_link_and_a_qr_code(staff, client, day1_open):
    staff.login("nurse")
    page = text(staff.post("/staff/participants/P-001/link", {"study_id": "P-001", "timepoint": "day1"}))
    url = re.search(r'href="(https://pro\.example\.org/f/[^"]+)"', page).group(1)
    assert "<svg" in page and "style=" not in page
    assert client.get(url.replace("https://pro.example.org", "")).status_code == 303


def test_tampered_participant_id_changes_nothing(staff, trial, day1_open):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-002", "reason": "moved", "confirm": "y"})
    assert response.status_code == 400 and "This form was for another participant" in text(response)
    assert staff.post("/staff/participants/P-404/withdraw",
                      {"study_id": "P-404", "reason": "x", "confirm": "y"}).status_code == 404
    assert trial.query("SELECT status FROM participants") == [{"status": "active"}, {"status": "active"}]


def test_update_phone_and_time_zone_moves_the_schedule(staff, trial, day1_open):
    staff.login("nurse")
    before = trial.query("SELECT due_at FROM reminders WHERE timepoint = 'month1' AND attempt = 1 "
                         "AND participant_id = 1")[0]["due_at"]
    response = staff.post("/staff/participants/P-001/contact-details",
                          {"study_id": "P-001", "phone": "+1 202 555 0199", "timezone": "America/New_York",
                           "language": "en"})
    assert response.status_code == 303
    row = trial.query("SELECT phone, timezone FROM participants WHERE study_id = 'P-001'")[0]
    assert row == {"phone": "+12025550199", "timezone": "America/New_York"}
    after = trial.query("SELECT due_at FROM reminders WHERE timepoint = 'month1' AND attempt = 1 "
                        "AND participant_id = 1")[0]["due_at"]
    # month1 opens 25 March: first SMS at 10:00 UTC, and after the move at 10:00 EDT.
    assert (before, after) == ("2026-03-25T10:00:00+00:00", "2026-03-25T14:00:00+00:00")
    change = audit(trial, "update_contact")[0]
    assert json.loads(change["after"]) == {"phone": "…99", "timezone": "America/New_York"}


@pytest.mark.parametrize("data,message", [
    ({"phone": "+1 555", "timezone": "UTC", "language": "en"}, "not a"),
    ({"phone": "", "timezone": "Nowhere/Land", "language": "en"}, "unknown IANA time zone"),
    ({"phone": "", "timezone": "UTC", "language": "xx"}, "must be one of en"),
])
def test_bad_contact_details_change_nothing(staff, trial, day1_open, data, message):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/contact-details", {"study_id": "P-001", **data})
    assert response.status_code == 400 and message in text(response)
    assert trial.query("SELECT phone, timezone, language FROM participants WHERE study_id = 'P-001'") == [
        {"phone": "+12025550101", "timezone": "UTC", "language": "en"}]


def test_opt_out_and_back_in(staff, trial, day1_open):
    staff.login("nurse")
    unconfirmed = staff.post("/staff/participants/P-001/sms", {"study_id": "P-001", "opted_out": "out"})
    assert unconfirmed.status_code == 400 and "Tick the box to confirm." in text(unconfirmed)
    assert trial.query("SELECT sms_opt_out FROM participants WHERE study_id = 'P-001'") == [{"sms_opt_out": 0}]
    staff.post("/staff/participants/P-001/sms", {"study_id": "P-001", "opted_out": "out", "confirm": "y"})
    assert trial.query("SELECT sms_opt_out FROM participants WHERE study_id = 'P-001'") == [{"sms_opt_out": 1}]
    staff.post("/staff/participants/P-001/sms", {"study_id": "P-001", "opted_out": "in", "confirm": "y"})
    assert trial.query("SELECT sms_opt_out FROM participants WHERE study_id = 'P-001'") == [{"sms_opt_out": 0}]
    assert [row["actor"] for row in audit(trial, "sms_opt_out") + audit(trial, "sms_opt_in")] == [
        "nurse@hospital.example"] * 2


def test_withdrawal_stops_reminders_and_keeps_data(staff, trial, client, day1_open, clock):
    token = trial.link("P-001", "day1")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "5"})
    staff.login("nurse")
    missing = staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-001", "reason": "moved away"})
    assert missing.status_code == 400  # the confirm box was not ticked
    response = staff.post("/staff/participants/P-001/withdraw",
                          {"study_id": "P-001", "reason": "moved away", "confirm": "y"})
    assert response.status_code == 303
    assert trial.query("SELECT status, withdrawal_reason FROM participants WHERE study_id = 'P-001'") == [
        {"status": "withdrawn", "withdrawal_reason": "moved away"}]
    assert trial.query("SELECT COUNT(*) AS n FROM reminders WHERE participant_id = 1 AND status = 'pending'") == [{"n": 0}]
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 1}]
    assert audit(trial, "withdraw")[0]["reason"] == "moved away"


@pytest.mark.parametrize("reason", ["\x00", "\u200b\u200b", " \u200e\ufeff ", "\x00\x07\x1b\r\n"])
def test_an_invisible_or_control_only_withdrawal_reason_is_refused(staff, trial, day1_open, reason):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-001", "reason": reason, "confirm": "y"})
    assert response.status_code == 400 and "say why the participant is withdrawn" in text(response)
    assert trial.query("SELECT status, withdrawal_reason FROM participants WHERE study_id = 'P-001'") == [
        {"status": "active", "withdrawal_reason": None}]


def test_a_withdrawal_reason_is_stored_without_control_characters(staff, trial, day1_open):
    staff.login("nurse")
    staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-001", "reason": "moved\x00 away\x1b[31m\r\nto Aswan",
                                                      "confirm": "y"})
    assert trial.query("SELECT withdrawal_reason FROM participants WHERE study_id = 'P-001'") == [
        {"withdrawal_reason": "moved away[31m\nto Aswan"}]


def test_contact_log(staff, trial, client, day1_open):
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/contacts", {"study_id": "P-001", "kind": "call",
                                                                  "outcome": "no_answer", "timepoint": "day1",
                                                                  "note": "try after 5pm"})
    assert response.status_code == 303
    assert "Call, no answer (1 day): try after 5pm" in text(client.get("/staff/participants/P-001"))
    bad = staff.post("/staff/participants/P-001/contacts", {"study_id": "P-001", "kind": "telepathy",
                                                             "outcome": "no_answer"})
    assert bad.status_code == 400
    assert trial.query("SELECT COUNT(*) AS n FROM contacts") == [{"n": 1}]


# --- The board ----------------------------------------------------------------------------

def test_board_statuses_filters_and_counts(staff, trial, client, clock, app):
    trial.enroll("OVER-1", procedure_date=date(2026, 3, 1))       # day1 open, reminded -> overdue
    trial.enroll("MISS-1", procedure_date=date(2026, 2, 10))      # day1 and week1 closed -> missed
    trial.enroll("LATE-1", procedure_date=date(2026, 3, 20))      # baseline open, rest upcoming
    trial.enroll("OPT-1", procedure_date=date(2026, 3, 20))
    db = open_db(app.config["DATABASE"])
    db.execute("UPDATE participants SET sms_opt_out = 1 WHERE study_id = 'OPT-1'")
    db.execute("UPDATE participants SET phone_problem = 'Twilio error 21614' WHERE study_id = 'LATE-1'")
    db.close()
    with app.app_context():
        from web.reminders import send_due
        send_due(clock())  # sends OVER-1's day1 reminder (due 10:00 today)
    staff.login("nurse")

    def listed(filter_name=None):
        page = text(client.get("/staff/" + (f"?filter={filter_name}" if filter_name else "")))
        return re.findall(r'/staff/participants/([A-Z0-9-]+)"', page)

    # Most urgent first: overdue, then an SMS problem, then open, then missed.
    assert listed() == ["OVER-1", "LATE-1", "OPT-1", "MISS-1"]
    assert listed("overdue") == ["OVER-1"]
    assert listed("missed") == ["OVER-1", "MISS-1"]  # OVER-1's baseline closed undone too
    assert listed("opted_out") == ["OPT-1"]
    assert listed("sms_failed") == ["LATE-1"]
    assert client.get("/staff/?filter=bogus").status_code == 404
    page = text(client.get("/staff/"))
    assert '<span class="visually-hidden">1 day: Overdue</span>' in page
    from services import board
    rows = board.build(open_db(app.config["DATABASE"]), app.extensions["protocol"], clock())
    counts = board.counts(rows, app.extensions["protocol"])
    arm_a = counts["A"]
    assert arm_a["day1"]["overdue"] == 1 and arm_a["day1"]["missed"] == 1 and arm_a["day1"]["upcoming"] == 2


def test_the_board_draws_a_page_of_cards_at_a_time_most_urgent_first(staff, trial, client, clock, app, monkeypatch):
    from web.staff import board as board_view
    monkeypatch.setattr(board_view, "PAGE_SIZE", 2)
    trial.enroll("OVER-1", procedure_date=date(2026, 3, 1))
    trial.enroll("MISS-1", procedure_date=date(2026, 2, 10))
    trial.enroll("LATE-1", procedure_date=date(2026, 3, 20))
    trial.enroll("OPT-1", procedure_date=date(2026, 3, 20))
    trial.enroll("OPT-2", procedure_date=date(2026, 3, 21))
    with app.app_context():
        from web.reminders import send_due
        send_due(clock())
    staff.login("nurse")

    def listed(query=""):
        page = text(client.get("/staff/" + query))
        return re.findall(r'/staff/participants/([A-Z0-9-]+)"', page), page

    first, page = listed()
    assert first == ["OVER-1", "LATE-1"]
    assert "Participants 1 to 2 of 5, page 1 of 3." in page and "All (5)" in page
    assert 'href="/staff/?page=2">Less urgent' in page and "More urgent" not in page
    assert listed("?page=2")[0] == ["OPT-1", "OPT-2"]
    last, page = listed("?page=3")
    assert last == ["MISS-1"] and "Participants 5 to 5 of 5, page 3 of 3." in page
    assert 'href="/staff/?page=2">More urgent' in page and "Less urgent" not in page
    # A page past either end, or not a number, shows the nearest page: never an error.
    assert listed("?page=99")[0] == ["MISS-1"] and listed("?page=99999999999999999999999")[0] == ["MISS-1"]
    assert listed("?page=0")[0] == listed("?page=-4")[0] == listed("?page=abc")[0] == first
    # The filter is kept from page to page.
    missed, page = listed("?filter=missed")
    assert missed == ["OVER-1", "MISS-1"] and "page 1 of" not in page       # one page: no pager
    monkeypatch.setattr(board_view, "PAGE_SIZE", 1)
    missed, page = listed("?filter=missed")
    assert missed == ["OVER-1"] and 'href="/staff/?page=2&amp;filter=missed">Less urgent' in page
    assert listed("?filter=missed&page=2")[0] == ["MISS-1"]


def test_audit_page_filters(staff, trial, client):
    trial.enroll("P-001")
    staff.login("admin")
    page = text(client.get("/staff/audit?actor=test&entity_id=P-001"))
    assert re.findall(r"<strong>([^<]+)</strong>:", page) == ["Arm allocated", "Enrolled"]
    assert "P-001" in page and "<strong>Signed in</strong>" not in page
    page = text(client.get("/staff/audit?action=login"))
    assert re.findall(r"<strong>([^<]+)</strong>", page) == ["Signed in"]
