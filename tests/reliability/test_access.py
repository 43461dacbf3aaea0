"""Who may do what: every staff route (and every other route that is not a patient's, a webhook
or a static file), tried as anonymous, nurse, investigator and admin, against ONE table.

A route the table does not list fails the suite: a new page or action cannot ship before its
access is decided here. A role that may not act gets 403 (anonymous: the sign-in page) and the
trial's tables are left exactly as they were; a role that may act does change them, with the same
request, so the refusal is what kept them unchanged. (tests/test_staff.py keeps the narrower
page-by-role test; this one is the whole table.)
"""
from __future__ import annotations

import pytest

from app import create_app
from services import answers
from services import crf as clinical_records
from storage import messages, participants
from storage.connection import open_db
from tests.reliability.invariants import digest
from tests.staff_support import INCLUSION, PASSWORD, ROLES, staff_and_list
from tests.test_crf_pages import BASELINE, EVENT, FLUORO, SERIOUS
from tests.test_import_upload import SAMPLE_UPLOAD

ANONYMOUS = None
EVERYONE = (ANONYMOUS, "nurse", "investigator", "admin")
STAFF = ("nurse", "investigator", "admin")
INVESTIGATORS = ("investigator", "admin")
ADMIN = ("admin",)

# (rule, method) -> who may. Decided here, not read from the app: the test is the second opinion.
ACCESS: dict[tuple[str, str], tuple] = {
    ("/", "GET"): EVERYONE,
    ("/healthz", "GET"): EVERYONE,
    ("/staff/login", "GET"): EVERYONE,
    ("/staff/login", "POST"): EVERYONE,
    ("/staff/logout", "POST"): EVERYONE,
    ("/staff/", "GET"): STAFF,
    ("/staff/inbox", "GET"): STAFF,
    ("/staff/inbox/<int:message_id>/handled", "POST"): STAFF,
    ("/staff/participants/<study_id>", "GET"): STAFF,
    ("/staff/participants/<study_id>/resend", "POST"): STAFF,
    ("/staff/participants/<study_id>/link", "POST"): STAFF,
    ("/staff/participants/<study_id>/contact-details", "POST"): STAFF,
    ("/staff/participants/<study_id>/sms", "POST"): STAFF,
    ("/staff/participants/<study_id>/sms-answers", "POST"): STAFF,
    ("/staff/participants/<study_id>/channel", "POST"): STAFF,
    ("/staff/participants/<study_id>/withdraw", "POST"): STAFF,
    ("/staff/participants/<study_id>/contacts", "POST"): STAFF,
    ("/staff/participants/<study_id>/events/new", "GET"): STAFF,
    ("/staff/participants/<study_id>/events/new", "POST"): STAFF,
    ("/staff/participants/<study_id>/events/<int:item>", "GET"): STAFF,
    ("/staff/participants/<study_id>/events/<int:item>", "POST"): STAFF,
    ("/staff/participants/<study_id>/events/<int:item>/acknowledge", "POST"): INVESTIGATORS,
    ("/staff/participants/<study_id>/baseline", "GET"): INVESTIGATORS,
    ("/staff/participants/<study_id>/baseline", "POST"): INVESTIGATORS,
    ("/staff/participants/<study_id>/procedure", "GET"): INVESTIGATORS,
    ("/staff/participants/<study_id>/procedure", "POST"): INVESTIGATORS,
    ("/staff/participants/<study_id>/answers/<timepoint>/<instrument>", "GET"): INVESTIGATORS,
    ("/staff/participants/<study_id>/answers/<timepoint>/<instrument>", "POST"): INVESTIGATORS,
    ("/staff/enroll", "GET"): INVESTIGATORS,
    ("/staff/enroll", "POST"): INVESTIGATORS,
    ("/staff/report", "GET"): INVESTIGATORS,
    ("/staff/dataset", "GET"): INVESTIGATORS,
    ("/staff/dataset/download", "GET"): INVESTIGATORS,
    ("/staff/dataset/import", "GET"): INVESTIGATORS,
    ("/staff/dataset/import", "POST"): INVESTIGATORS,
    ("/staff/audit", "GET"): ADMIN,
    ("/staff/accounts", "GET"): ADMIN,
    ("/staff/accounts", "POST"): ADMIN,
    ("/staff/accounts/active", "POST"): ADMIN,
    ("/staff/accounts/role", "POST"): ADMIN,
    ("/staff/accounts/password-link", "POST"): ADMIN,
    ("/staff/password/<token>", "GET"): EVERYONE,     # a one-time password link: no sign-in
    ("/staff/password/<token>", "POST"): EVERYONE,
}
# The same route asked for more: a stricter rule inside the view.
VARIANTS: dict[tuple[str, str], tuple] = {
    ("/staff/dataset/download?format=csv&identifiable=1", "GET"): ADMIN,
    ("/staff/report?download=json", "GET"): INVESTIGATORS,
}
# A route's address with its parts filled in (the message id is the inbound reply's, found at setup).
QUERY = {"/staff/dataset/download": "?format=csv"}
# A request that does something for a role that may act: the same one is then refused to the others.
ACTIONS = {
    "/staff/login": {"email": "{role}@hospital.example", "password": PASSWORD},
    "/staff/logout": {},
    "/staff/enroll": {"study_id": "P-002", "punctures": "2", "procedure_date": "2026-03-10", "timezone": "UTC",
                      "language": "en", "allocation": "randomize", "criteria": INCLUSION},
    "/staff/inbox/<int:message_id>/handled": {},
    "/staff/participants/<study_id>/resend": {"study_id": "P-001", "timepoint": "baseline"},
    "/staff/participants/<study_id>/link": {"study_id": "P-001", "timepoint": "baseline"},
    "/staff/participants/<study_id>/contact-details": {"study_id": "P-001", "phone": "+16175550123",
                                                      "timezone": "Africa/Cairo", "language": "en"},
    "/staff/participants/<study_id>/sms": {"study_id": "P-001", "opted_out": "out", "confirm": "y"},
    "/staff/participants/<study_id>/sms-answers": {"study_id": "P-001", "answers_by_sms": "on",
                                                  "sms_reason": "has no data plan"},
    "/staff/participants/<study_id>/channel": {"study_id": "P-001", "channel": "whatsapp", "whatsapp_opt_in": "y"},
    "/staff/participants/<study_id>/withdraw": {"study_id": "P-001", "reason": "moved away", "confirm": "y"},
    "/staff/participants/<study_id>/contacts": {"study_id": "P-001", "kind": "call", "outcome": "reached",
                                               "timepoint": "", "note": "will answer tonight"},
    "/staff/participants/<study_id>/events/new": {**EVENT, "version": "0"},
    "/staff/participants/<study_id>/events/<int:item>": {**SERIOUS, "grade": "4", "version": "1",
                                                         "reason": "worse on review"},
    "/staff/participants/<study_id>/events/<int:item>/acknowledge": {},
    "/staff/participants/<study_id>/baseline": {**BASELINE, "version": "0"},
    "/staff/participants/<study_id>/procedure": {**FLUORO, "version": "0"},
    "/staff/participants/<study_id>/answers/<timepoint>/<instrument>": {"mode": "line", "value": "62", "version": "1",
                                                                        "reason": "paper form misread"},
    # A file checked and kept for its confirm (audited); tests/test_import_upload.py confirms one.
    "/staff/dataset/import": {"action": "check", "kind": "answers", "file": SAMPLE_UPLOAD},
    "/staff/accounts": {"email": "new.nurse@hospital.example", "role": "nurse", "reason": "a new study nurse"},
    "/staff/accounts/active": {"email": "nurse@hospital.example", "active": "no", "reason": "left the trial"},
    "/staff/accounts/role": {"email": "nurse@hospital.example", "role": "investigator",
                             "reason": "now co-investigator"},
    "/staff/accounts/password-link": {"email": "nurse@hospital.example", "reason": "forgot the password"},
    # No link is issued in this setting: the post is sent back to the link's page, nothing changed.
    "/staff/password/<token>": {"password": "a new long passphrase", "confirm": "a new long passphrase"},
}
# Signing in and out touch the staff accounts only, never the trial's tables.
ACCOUNT_ONLY = {"/staff/login", "/staff/logout", "/staff/password/<token>"}
DENIED = "Not allowed"


def in_scope(app) -> set[tuple[str, str]]:
    """Every (rule, method) of the app but a patient's, a webhook's and the static files'."""
    from web.patient import bp as patient_bp
    from web.webhooks import bp as webhooks_bp

    outside = (f"{patient_bp.name}.", f"{webhooks_bp.name}.")
    return {(rule.rule, method) for rule in app.url_map.iter_rules()
            if rule.endpoint != "static" and not rule.endpoint.startswith(outside)
            for method in rule.methods - {"HEAD", "OPTIONS"}}


CASES = [(rule, method, role, allowed) for (rule, method), allowed in {**ACCESS, **VARIANTS}.items()
         for role in EVERYONE]


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def setting(app, client, clock, trial):
    """Staff of each role, P-001 enrolled with a serious adverse event (item 1) not yet
    acknowledged, and a reply of theirs in the inbox: something for every route to act on."""
    staff = staff_and_list(app, client, clock)
    trial.enroll("P-001", procedure_date=clock().date())
    db = open_db(app.config["DATABASE"])
    try:
        clinical_records.record_event(db, app.extensions["protocol"], "P-001", SERIOUS, actor="test", now=clock())
        participant_id = db.execute("SELECT id FROM participants WHERE study_id = 'P-001'").fetchone()[0]
        answers.submit(db, app.extensions["protocol"], participant=participants.by_study_id(db, "P-001"),
                       timepoint_id="baseline", instrument_id="vas", answers={"mode": "line", "value": 45},
                       input_mode="web", now=clock())   # an answer to correct
        message_id = messages.insert_inbound(db, participant_id=participant_id, from_number="+12025550101",
                                             body="Which day is my next visit?", sid="SM-access-1", now=clock())
    finally:
        db.close()
    return staff, {"<study_id>": "P-001", "<int:item>": "1", "<int:message_id>": str(message_id),
                   "<timepoint>": "baseline", "<instrument>": "vas"}


def address(rule: str, parts: dict[str, str]) -> str:
    path = rule
    for part, value in parts.items():
        path = path.replace(part, value)
    return path if "?" in path else path + QUERY.get(rule, "")


def test_the_table_lists_every_route_and_only_routes_that_exist(app):
    routes = in_scope(app)
    unlisted = routes - set(ACCESS)
    assert not unlisted, f"decide who may use these routes and add them to ACCESS: {sorted(unlisted)}"
    gone = set(ACCESS) - routes
    assert not gone, f"ACCESS lists routes the app no longer has: {sorted(gone)}"
    assert {path.split("?")[0] for path, _ in VARIANTS} <= {rule for rule, _ in ACCESS}
    assert set(ROLES) == set(STAFF), "a new role needs its column in ACCESS"
    posts = {rule for rule, method in ACCESS if method == "POST"}
    assert posts == set(ACTIONS), "every POST route needs an action that changes something"


@pytest.mark.parametrize("rule,method,role,allowed", CASES,
                         ids=[f"{m} {r} as {role or 'anonymous'}" for r, m, role, _ in CASES])
def test_each_route_as_each_role(app, client, setting, rule, method, role, allowed):
    staff, parts = setting
    if role:
        assert staff.login(role).status_code == 303
    path = address(rule, parts)
    token = staff.csrf()
    before = digest(app.config["DATABASE"])
    if method == "GET":
        response = client.get(path)
    else:
        data = {key: value.format(role=role or "nurse") if isinstance(value, str) else value
                for key, value in ACTIONS[rule].items()}
        response = client.post(path, data={"csrf_token": token, **data})
    after = digest(app.config["DATABASE"])
    body = response.get_data(as_text=True)
    if role in allowed:
        assert response.status_code == (303 if method == "POST" and rule != "/staff/participants/<study_id>/link"
                                        else 200), body[:2000]
        if method == "POST" and rule not in ACCOUNT_ONLY:
            assert after != before, "the action changed nothing for a role that may act: the refusals prove nothing"
    elif role is ANONYMOUS:
        assert response.status_code == 302, body[:2000]
        assert response.headers["Location"].startswith("/staff/login?next=")
        assert after == before
    else:
        assert response.status_code == 403, body[:2000]
        assert DENIED in body
        assert after == before


def test_a_forbidden_role_is_refused_before_its_form_is_read(app, client, setting):
    """A nurse's enrollment with a broken form is still 403, not a 400 about the form: the role is
    checked first, so a refused role learns nothing from validation."""
    staff, _ = setting
    staff.login("nurse")
    response = staff.post("/staff/enroll", {"study_id": "", "punctures": "99"})
    assert response.status_code == 403


@pytest.mark.parametrize("rule", sorted(rule for rule, method in ACCESS if method == "POST"))
def test_every_post_route_refuses_a_request_without_its_csrf_token(app, client, setting, rule):
    """web.csrf checks every POST but a patient's and a webhook's: sent by an admin (whom every
    route lets act) without the form's token, each is refused and changes nothing."""
    staff, parts = setting
    assert staff.login("admin").status_code == 303
    data = {key: value.format(role="admin") if isinstance(value, str) else value for key, value in ACTIONS[rule].items()}
    before = digest(app.config["DATABASE"])
    response = client.post(address(rule, parts), data=data)
    assert response.status_code == 400, response.get_data(as_text=True)[:2000]
    assert "nothing was changed" in response.get_data(as_text=True)
    assert digest(app.config["DATABASE"]) == before
