"""The accounts page (admins) and the one-time password link, through the Flask test client:
every flow, every bad input, CSRF, who may see what, the audit trail, and the rules that must
hold (an active admin always remains; a link works once, for 24 hours)."""
from __future__ import annotations

import hashlib
import json
import re
from datetime import timedelta

import pytest

from scheduler.links import PASSWORD_PATH_PREFIX, redact
from services import accounts, password_links, password_policy
from storage import password_resets
from storage.connection import open_db
from tests.conftest import START
from tests.staff_support import PASSWORD, Staff, create_staff

NEW_PASSWORD = "plum orchard at dusk"
LINK = re.compile(r'id="shown-url" class="url"[^>]*>https://pro\.example\.org(/staff/password/([A-Za-z0-9_-]+))</textarea>')
ERRORS = re.compile(r'<p class="error" id="[^"]+">([^<]+)</p>')
ALERT = re.compile(r'<div class="alert" role="alert">(.*?)</div>', re.S)


@pytest.fixture
def admin(app, client, clock) -> Staff:
    """Signed in as the admin; a nurse and an investigator exist too (tests/staff_support)."""
    create_staff(app, clock)
    staff = Staff(client)
    assert staff.login("admin").status_code == 303
    return staff


def text(response) -> str:
    return response.get_data(as_text=True)


def user(trial, email: str) -> dict | None:
    rows = trial.query("SELECT * FROM users WHERE email = ?", [email])
    return rows[0] if rows else None


def audit(trial, *actions: str) -> list[dict]:
    marks = ", ".join("?" for _ in actions)
    rows = trial.query(f"SELECT actor, action, entity_id, before, after, reason, at FROM audit_log "
                       f"WHERE action IN ({marks}) AND actor != 'test' ORDER BY id", list(actions))   # not the setup's
    return [{**row, "before": json.loads(row["before"]) if row["before"] else None,
             "after": json.loads(row["after"]) if row["after"] else None} for row in rows]


def everything(trial) -> dict:
    """What the actions may change: the accounts, their links, and the audit log."""
    return {"users": trial.query("SELECT * FROM users ORDER BY id"),
            "links": trial.query("SELECT * FROM password_resets ORDER BY id"),
            "audit": trial.query("SELECT COUNT(*) AS n FROM audit_log")}


def shown_link(client) -> tuple[str, str]:
    """(path, token) of the link the accounts page shows once."""
    found = LINK.search(text(client.get("/staff/accounts")))
    assert found, "no password link shown"
    return found.group(1), found.group(2)


def issue(admin: Staff, email: str = "nurse@hospital.example", reason: str = "forgot the password") -> tuple[str, str]:
    """(path, token) of a new password link for ``email``, as the admin is shown it."""
    response = admin.post("/staff/accounts/password-link", {"email": email, "reason": reason})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/accounts", text(response)
    page = text(admin.client.get("/staff/accounts"))
    assert f"Password link issued for {email}; any older one no longer works." in page
    path, token = LINK.search(page).groups()
    return path, token


def set_password(app, path: str, password: str = NEW_PASSWORD, confirm: str | None = None):
    """The user's own browser (no sign-in) opens the link and sends the form (the session's CSRF
    token is the sign-in page's too: an ended link's page has no form)."""
    browser = app.test_client()
    browser.get(path)
    token = Staff(browser).csrf()
    return browser.post(path, data={"csrf_token": token, "password": password,
                                    "confirm": password if confirm is None else confirm})


def signs_in(app, email: str, password: str) -> bool:
    return Staff(app.test_client()).login(email=email, password=password).status_code == 303


# --- Who may see the page ---------------------------------------------------------------

@pytest.mark.parametrize("role", ["nurse", "investigator"])
def test_only_admins_see_the_accounts_page_and_its_menu_entry(app, client, clock, role):
    create_staff(app, clock)
    staff = Staff(client)
    staff.login(role)
    response = client.get("/staff/accounts")
    assert response.status_code == 403 and "Not allowed" in text(response)
    assert 'href="/staff/accounts"' not in text(client.get("/staff/"))
    admin = Staff(app.test_client())
    admin.login("admin")
    page = admin.client.get("/staff/accounts")
    assert page.status_code == 200 and "<h1>Accounts</h1>" in text(page)
    assert '<a href="/staff/accounts" aria-current="page">Accounts</a>' in text(page)
    assert '<a href="/staff/accounts">Accounts</a>' in text(admin.client.get("/staff/"))


def test_signed_out_the_page_asks_to_sign_in(client):
    response = client.get("/staff/accounts")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/login?next=/staff/accounts"


@pytest.mark.parametrize("role", ["nurse", "investigator"])
@pytest.mark.parametrize("path,data", [
    ("/staff/accounts", {"email": "new@hospital.example", "role": "admin", "reason": "promote myself"}),
    ("/staff/accounts/active", {"email": "admin@hospital.example", "active": "no", "reason": "take over"}),
    ("/staff/accounts/role", {"email": "{role}@hospital.example", "role": "admin", "reason": "take over"}),
    ("/staff/accounts/password-link", {"email": "admin@hospital.example", "reason": "take over"}),
])
def test_other_roles_cannot_act_on_accounts(app, client, clock, trial, role, path, data):
    create_staff(app, clock)
    staff = Staff(client)
    staff.login(role)
    before = everything(trial)
    response = staff.post(path, {key: value.format(role=role) for key, value in data.items()})
    assert response.status_code == 403 and "Not allowed" in text(response)
    assert everything(trial) == before


def test_the_page_lists_every_account(admin, trial, clock):
    admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "left"})
    page = text(admin.client.get("/staff/accounts"))
    cards = re.findall(r'<p class="card-head"><strong>([^<]+)</strong> <span class="tag">([^<]+)</span>'
                       r'(<span class="tag problem">Deactivated</span>)?', page)
    assert cards == [("admin@hospital.example", "Admin", ""), ("investigator@hospital.example", "Investigator", ""),
                     ("nurse@hospital.example", "Nurse", '<span class="tag problem">Deactivated</span>')]
    assert "last signed in 02 Mar 2026 12:00 UTC" in page      # the admin, just now
    assert page.count("never signed in") == 2


# --- CSRF -------------------------------------------------------------------------------

@pytest.mark.parametrize("path,data", [
    ("/staff/accounts", {"email": "new@hospital.example", "role": "nurse", "reason": "new nurse"}),
    ("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "left"}),
    ("/staff/accounts/role", {"email": "nurse@hospital.example", "role": "investigator", "reason": "promoted"}),
    ("/staff/accounts/password-link", {"email": "nurse@hospital.example", "reason": "forgot it"}),
])
def test_a_forged_csrf_token_is_refused_and_changes_nothing(admin, trial, path, data):
    before = everything(trial)
    response = admin.client.post(path, data={"csrf_token": "forged", **data})
    assert response.status_code == 400 and "This form has expired" in text(response)
    missing = admin.client.post(path, data=data)
    assert missing.status_code == 400 and "This form has expired" in text(missing)
    assert everything(trial) == before


def test_the_password_link_form_needs_its_csrf_token(admin, app, trial):
    path, _ = issue(admin)
    before = everything(trial)
    browser = app.test_client()
    response = browser.post(path, data={"csrf_token": "forged", "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 400 and "This form has expired" in text(response)
    assert everything(trial) == before
    assert set_password(app, path).status_code == 303       # the link still works


# --- Creating an account ----------------------------------------------------------------

def test_an_admin_creates_an_account_and_its_user_sets_a_password_on_the_link(admin, app, trial, clock):
    response = admin.post("/staff/accounts", {"email": " Sara.Ahmed@Hospital.example ", "role": "nurse",
                                              "reason": "new study nurse"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/accounts"
    created = user(trial, "sara.ahmed@hospital.example")
    assert (created["role"], created["active"]) == ("nurse", 1)
    assert created["password_hash"].startswith("$argon2id$")
    page = text(admin.client.get("/staff/accounts"))
    assert "Account sara.ahmed@hospital.example created." in page
    assert "Password link for sara.ahmed@hospital.example" in page and "until 03 Mar 2026 12:00 UTC" in page
    path, token = LINK.search(page).groups()
    # Shown once: the next view of the page no longer has it.
    again = text(admin.client.get("/staff/accounts"))
    assert token not in again and "Password link for" not in again
    assert "password link open until 03 Mar 2026 12:00 UTC" in again
    # No password works before the user sets one, and the refusal is the usual one.
    refused = Staff(app.test_client()).login(email="sara.ahmed@hospital.example", password="new study nurse")
    assert refused.status_code == 401 and "Email or password is incorrect." in text(refused)
    form = app.test_client().get(path)
    assert form.status_code == 200 and "Set your password" in text(form)
    assert 'value="sara.ahmed@hospital.example" autocomplete="username" readonly' in text(form)
    assert set_password(app, path).headers["Location"] == "/staff/login"
    assert signs_in(app, "sara.ahmed@hospital.example", NEW_PASSWORD)
    entries = audit(trial, "create_user", "issue_password_link", "set_password")
    assert [(e["actor"], e["action"], e["entity_id"], e["reason"]) for e in entries] == [
        ("admin@hospital.example", "create_user", "sara.ahmed@hospital.example", "new study nurse"),
        ("admin@hospital.example", "issue_password_link", "sara.ahmed@hospital.example", "new study nurse"),
        ("sara.ahmed@hospital.example", "set_password", "sara.ahmed@hospital.example",
         "with the link issued by admin@hospital.example at 2026-03-02T12:00:00+00:00")]
    assert entries[0]["after"] == {"role": "nurse", "active": True} and entries[0]["before"] is None
    assert entries[1]["after"] == {"expires_at": "2026-03-03T12:00:00+00:00", "first_password": True}
    assert entries[2]["before"] == {"session_version": 1} and entries[2]["after"] == {"session_version": 2}


def test_the_link_is_stored_only_as_its_hash(admin, app, trial):
    admin.post("/staff/accounts", {"email": "new@hospital.example", "role": "nurse", "reason": "new nurse"})
    _, token = shown_link(admin.client)
    assert trial.query("SELECT token_hash FROM password_resets") == [
        {"token_hash": hashlib.sha256(token.encode()).hexdigest()}]
    db = open_db(app.config["DATABASE"])
    try:
        dump = "\n".join(db.conn.iterdump())
    finally:
        db.close()
    assert token not in dump


@pytest.mark.parametrize("data,field,message", [
    ({"email": "", "role": "nurse", "reason": "x"}, "email", "This field is required."),
    ({"email": "not-an-email", "role": "nurse", "reason": "x"}, "email", "&#39;not-an-email&#39; is not an email address"),
    ({"email": "a@" + "b" * 250 + ".org", "role": "nurse", "reason": "x"}, "email", "Field cannot be longer than 254"),
    ({"email": "Nurse@Hospital.example", "role": "nurse", "reason": "x"}, "email",
     "nurse@hospital.example already has an account"),
    ({"email": "new@hospital.example", "role": "boss", "reason": "x"}, "role",
     "&#39;boss&#39; is not a role: the role must be one of nurse, investigator, admin"),
    ({"email": "new@hospital.example", "role": "", "reason": "x"}, "role", "&#39;&#39; is not a role"),
    ({"email": "new@hospital.example", "role": "nurse", "reason": ""}, "reason", "This field is required."),
    ({"email": "new@hospital.example", "role": "nurse", "reason": "\u200b\u200b"}, "reason",
     "say why the account is made"),
    ({"email": "new@hospital.example", "role": "nurse", "reason": "x" * 501}, "reason",
     "Field cannot be longer than 500 characters."),
    ({"email": "new@hospital.example", "role": "nurse"}, "reason", "This field is required."),
])
def test_a_bad_new_account_is_refused_with_its_reason_and_nothing_stored(admin, trial, data, field, message):
    before = everything(trial)
    response = admin.post("/staff/accounts", data)
    assert response.status_code == 400
    page = text(response)
    assert message in ALERT.search(page).group(1) and f"<li>{field}: " in page
    assert message in " ".join(ERRORS.findall(page))           # beside the field too
    assert everything(trial) == before
    assert "Password link for" not in page


# --- Deactivating and reactivating ------------------------------------------------------

def test_deactivating_ends_every_session_and_open_link_and_is_audited(admin, app, trial):
    nurse = Staff(app.test_client())
    nurse.login("nurse")
    copied = nurse.client.get_cookie("session").value
    path, _ = issue(admin)
    response = admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no",
                                                     "reason": "left the trial"})
    assert response.status_code == 303
    assert "nurse@hospital.example deactivated: signed out everywhere" in text(admin.client.get("/staff/accounts"))
    assert user(trial, "nurse@hospital.example")["active"] == 0
    assert nurse.client.get("/staff/").status_code == 302             # signed out at the next request
    refused = Staff(app.test_client()).login("nurse")
    assert refused.status_code == 401 and "Email or password is incorrect." in text(refused)
    assert "This link no longer works" in text(app.test_client().get(path))
    assert audit(trial, "deactivate_user") == [{
        "actor": "admin@hospital.example", "action": "deactivate_user", "entity_id": "nurse@hospital.example",
        "before": {"active": True, "session_version": 1, "open_links": 1},
        "after": {"active": False, "session_version": 2, "open_links": 0},
        "reason": "left the trial", "at": "2026-03-02T12:00:00+00:00"}]
    # Reactivated, the old password signs in again, but a cookie from before stays dead.
    assert admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "yes",
                                                 "reason": "back from leave"}).status_code == 303
    assert signs_in(app, "nurse@hospital.example", PASSWORD)
    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert thief.get("/staff/").status_code == 302
    assert "This link no longer works" in text(app.test_client().get(path))   # voided for good
    reactivated = audit(trial, "reactivate_user")
    assert [(e["before"], e["after"], e["reason"]) for e in reactivated] == [
        ({"active": False}, {"active": True}, "back from leave")]


@pytest.mark.parametrize("data,field,message", [
    ({"email": "nurse@hospital.example", "active": "maybe", "reason": "x"}, "form", "Choose deactivate or reactivate."),
    ({"email": "nurse@hospital.example", "active": "yes", "reason": "x"}, "form",
     "nurse@hospital.example is already active"),
    ({"email": "nobody@hospital.example", "active": "no", "reason": "x"}, "email",
     "there is no account &#39;nobody@hospital.example&#39;"),
    ({"email": "", "active": "no", "reason": "x"}, "email", "This field is required."),
    ({"email": "nurse@hospital.example", "active": "no", "reason": " "}, "reason", "This field is required."),
    ({"email": "nurse@hospital.example", "active": "no", "reason": "\u200b"}, "reason",
     "say why the account is deactivated"),
    ({"email": "nurse@hospital.example", "active": "", "reason": "x"}, "active", "This field is required."),
])
def test_a_bad_activation_change_is_refused_and_changes_nothing(admin, trial, data, field, message):
    before = everything(trial)
    response = admin.post("/staff/accounts/active", data)
    assert response.status_code == 400
    page = text(response)
    assert f"<li>{field}: {message}" in ALERT.search(page).group(1)
    assert everything(trial) == before


def test_deactivating_a_deactivated_account_is_refused(admin, trial):
    admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "left"})
    before = everything(trial)
    response = admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "x"})
    assert response.status_code == 400 and "nurse@hospital.example is already deactivated" in text(response)
    assert everything(trial) == before


# --- The last admin ---------------------------------------------------------------------

@pytest.mark.parametrize("path,data", [
    ("/staff/accounts/active", {"email": "admin@hospital.example", "active": "no", "reason": "leaving"}),
    ("/staff/accounts/role", {"email": "admin@hospital.example", "role": "investigator", "reason": "leaving"}),
])
def test_the_last_active_admin_cannot_be_deactivated_or_demoted(admin, app, trial, path, data):
    before = everything(trial)
    response = admin.post(path, data)
    assert response.status_code == 400
    assert ("admin@hospital.example is the last active admin: make another account admin first"
            in ALERT.search(text(response)).group(1))
    assert everything(trial) == before
    assert admin.client.get("/staff/accounts").status_code == 200     # still an admin


def test_a_deactivated_admin_does_not_count_as_the_other_admin(admin, trial):
    admin.post("/staff/accounts/role", {"email": "investigator@hospital.example", "role": "admin", "reason": "cover"})
    admin.post("/staff/accounts/active", {"email": "investigator@hospital.example", "active": "no", "reason": "left"})
    response = admin.post("/staff/accounts/active", {"email": "admin@hospital.example", "active": "no", "reason": "x"})
    assert response.status_code == 400 and "is the last active admin" in text(response)
    assert user(trial, "admin@hospital.example")["active"] == 1


def test_with_a_second_admin_the_first_may_step_down(admin, app, trial):
    assert admin.post("/staff/accounts/role", {"email": "investigator@hospital.example", "role": "admin",
                                               "reason": "the new data manager"}).status_code == 303
    response = admin.post("/staff/accounts/role", {"email": "admin@hospital.example", "role": "investigator",
                                                   "reason": "handing over"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"    # no longer their page
    assert admin.client.get("/staff/accounts").status_code == 403
    other = Staff(app.test_client())
    other.login("investigator")                     # now the admin
    assert other.post("/staff/accounts/active", {"email": "admin@hospital.example", "active": "no",
                                                 "reason": "left the site"}).status_code == 303
    assert admin.client.get("/staff/").status_code == 302
    assert [(e["entity_id"], e["before"], e["after"]) for e in audit(trial, "change_role")] == [
        ("investigator@hospital.example", {"role": "investigator"}, {"role": "admin"}),
        ("admin@hospital.example", {"role": "admin"}, {"role": "investigator"})]


# --- Changing a role --------------------------------------------------------------------

def test_a_role_change_takes_effect_at_the_users_next_request(admin, app, trial):
    nurse = Staff(app.test_client())
    nurse.login("nurse")
    assert nurse.client.get("/staff/enroll").status_code == 403
    response = admin.post("/staff/accounts/role", {"email": "nurse@hospital.example", "role": "investigator",
                                                   "reason": "now a sub-investigator"})
    assert response.status_code == 303
    assert "nurse@hospital.example is now: Investigator." in text(admin.client.get("/staff/accounts"))
    assert nurse.client.get("/staff/enroll").status_code == 200
    assert audit(trial, "change_role") == [{
        "actor": "admin@hospital.example", "action": "change_role", "entity_id": "nurse@hospital.example",
        "before": {"role": "nurse"}, "after": {"role": "investigator"}, "reason": "now a sub-investigator",
        "at": "2026-03-02T12:00:00+00:00"}]


@pytest.mark.parametrize("data,field,message", [
    ({"email": "nurse@hospital.example", "role": "boss", "reason": "x"}, "role",
     "&#39;boss&#39; is not a role: the role must be one of nurse, investigator, admin"),
    ({"email": "nurse@hospital.example", "role": "Admin", "reason": "x"}, "role", "&#39;Admin&#39; is not a role"),
    ({"email": "nurse@hospital.example", "role": "", "reason": "x"}, "role", "&#39;&#39; is not a role"),
    ({"email": "nurse@hospital.example", "role": "nurse", "reason": "x"}, "role",
     "nurse@hospital.example is already nurse"),
    ({"email": "nobody@hospital.example", "role": "nurse", "reason": "x"}, "email", "there is no account"),
    ({"email": "nurse@hospital.example", "role": "investigator", "reason": ""}, "reason", "This field is required."),
])
def test_a_bad_role_change_is_refused_clearly_and_changes_nothing(admin, trial, data, field, message):
    before = everything(trial)
    response = admin.post("/staff/accounts/role", data)
    assert response.status_code == 400
    assert f"<li>{field}: {message}" in ALERT.search(text(response)).group(1)
    assert everything(trial) == before


def test_the_failed_form_is_opened_with_what_was_typed_and_no_other(admin, trial):
    page = text(admin.post("/staff/accounts/role", {"email": "nurse@hospital.example", "role": "boss",
                                                    "reason": "typed reason"}))
    assert page.count("typed reason") == 1 and page.count("<details open>") == 1
    nurse_id = user(trial, "nurse@hospital.example")["id"]
    assert re.search(rf'<textarea id="role-reason-{nurse_id}"[^>]*>\r?\ntyped reason</textarea>', page)


# --- Issuing a password link ------------------------------------------------------------

def test_a_reset_link_sets_a_new_password_once_and_ends_every_session(admin, app, trial, clock):
    nurse = Staff(app.test_client())
    nurse.login("nurse")
    path, token = issue(admin, reason="forgot the password")
    assert path == f"/staff/password/{token}"
    old_hash = user(trial, "nurse@hospital.example")["password_hash"]
    clock.now = START + timedelta(hours=23, minutes=59)       # still open, a minute before it expires
    response = set_password(app, path)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/login"
    assert user(trial, "nurse@hospital.example")["password_hash"] != old_hash
    assert nurse.client.get("/staff/").status_code == 302                   # the old session ended
    assert not signs_in(app, "nurse@hospital.example", PASSWORD)
    assert signs_in(app, "nurse@hospital.example", NEW_PASSWORD)
    assert trial.query("SELECT used_at, voided_at FROM password_resets") == [
        {"used_at": "2026-03-03T11:59:00+00:00", "voided_at": None}]
    issued, used = audit(trial, "issue_password_link"), audit(trial, "set_password")
    assert [(e["actor"], e["entity_id"], e["reason"], e["before"], e["after"]) for e in issued] == [
        ("admin@hospital.example", "nurse@hospital.example", "forgot the password", None,
         {"expires_at": "2026-03-03T12:00:00+00:00", "first_password": False})]
    assert [(e["actor"], e["at"]) for e in used] == [("nurse@hospital.example", "2026-03-03T11:59:00+00:00")]


def test_the_flash_after_a_password_is_set_is_on_the_sign_in_page(admin, app):
    path, _ = issue(admin)
    browser = app.test_client()
    token = Staff(browser).csrf(path)
    browser.post(path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert "Your password is set" in text(browser.get("/staff/login"))


def test_a_link_used_twice_shows_a_clear_page_and_changes_nothing(admin, app, trial):
    path, _ = issue(admin)
    assert set_password(app, path).status_code == 303
    before = everything(trial)
    page = app.test_client().get(path)
    assert page.status_code == 200 and "<h1>This link has been used</h1>" in text(page)
    assert 'name="password"' not in text(page)
    again = set_password(app, path, "another good passphrase")
    assert again.status_code == 303 and again.headers["Location"] == path
    assert everything(trial) == before
    assert not signs_in(app, "nurse@hospital.example", "another good passphrase")


def test_an_expired_link_shows_a_clear_page_and_changes_nothing(admin, app, trial, clock):
    path, _ = issue(admin)
    clock.now = START + password_links.LINK_LIFETIME
    before = everything(trial)
    page = app.test_client().get(path)
    assert "<h1>This link has expired</h1>" in text(page) and "works for 24 hours" in text(page)
    assert set_password(app, path).headers["Location"] == path
    assert everything(trial) == before
    assert signs_in(app, "nurse@hospital.example", PASSWORD)
    assert "password link open until" not in text(admin.client.get("/staff/accounts"))


def test_a_new_link_voids_the_older_one(admin, app, trial):
    first, _ = issue(admin, reason="forgot it")
    second, _ = issue(admin, reason="lost the first link")
    assert first != second
    assert "<h1>This link no longer works</h1>" in text(app.test_client().get(first))
    assert set_password(app, first).headers["Location"] == first
    assert set_password(app, second).headers["Location"] == "/staff/login"
    assert audit(trial, "issue_password_link")[1]["before"] == {"open_links": 1}


def test_no_link_for_a_deactivated_account(admin, trial):
    admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "left"})
    before = everything(trial)
    response = admin.post("/staff/accounts/password-link", {"email": "nurse@hospital.example", "reason": "x"})
    assert response.status_code == 400
    assert "nurse@hospital.example is deactivated: reactivate the account first" in text(response)
    assert everything(trial) == before


@pytest.mark.parametrize("data,message", [
    ({"email": "nobody@hospital.example", "reason": "x"}, "there is no account"),
    ({"email": "nurse@hospital.example", "reason": ""}, "This field is required."),
    ({"email": "nurse@hospital.example", "reason": "x" * 501}, "Field cannot be longer than 500 characters."),
])
def test_a_bad_link_request_is_refused(admin, trial, data, message):
    before = everything(trial)
    response = admin.post("/staff/accounts/password-link", data)
    assert response.status_code == 400 and message in text(response)
    assert everything(trial) == before


@pytest.mark.parametrize("token", ["<token>", "x" * 22, "short", "é" * 30, "a" * 5000, "abc.def~ghi", "%00abc",
                                   "%E2%80%AEabc"])
def test_an_unknown_or_malformed_link_is_not_recognised(app, trial, token):
    before = everything(trial)
    page = app.test_client().get(f"/staff/password/{token}")
    assert page.status_code == 200 and "<h1>Link not recognised</h1>" in text(page)
    assert set_password(app, f"/staff/password/{token}").status_code == 303
    assert everything(trial) == before


# --- The new password -------------------------------------------------------------------

@pytest.mark.parametrize("password,confirm,field,message", [
    ("short pass", None, "password", "the password must have at least 12 characters"),
    ("x" * 600 + "y" * 425, None, "password", "the password must have at most 1024 characters"),
    ("aaaaaaaaaaaaaaa", None, "password", "the password repeats too few characters"),
    ("abababababab12", None, "password", "the password repeats too few characters"),
    ("qwertyuiop123", None, "password", "this is one of the most common passwords"),
    ("Password123456", None, "password", "this is one of the most common passwords"),
    ("!!dragon2024!!", None, "password", "this is one of the most common passwords"),
    ("I love you 1234!", None, "password", "this is one of the most common passwords"),
    ("123456789012", None, "password", "the password is a run of consecutive characters"),
    ("zyxwvutsrqponm", None, "password", "the password is a run of consecutive characters"),
    ("nurse@hospital.example", None, "password", "the password must not be the email address or its name part"),
    ("my nurse@hospital.example!", None, "password", "the password must not be the email address"),
    (NEW_PASSWORD, "plum orchard at dawn", "confirm", "the two passwords are not the same"),
    ("", "", "password", "This field is required."),
    (NEW_PASSWORD, "", "confirm", "This field is required."),
])
def test_a_refused_password_says_why_and_changes_nothing(admin, app, trial, password, confirm, field, message):
    path, _ = issue(admin)
    before = everything(trial)
    response = set_password(app, path, password, confirm)
    assert response.status_code == 400
    page = text(response)
    assert f"<li>{field}: {message}" in ALERT.search(page).group(1)
    assert message in " ".join(ERRORS.findall(page))
    assert not re.search(r'type="password" value="[^"]', page)     # a typed password is never sent back
    assert everything(trial) == before
    assert set_password(app, path).status_code == 303      # the link still works afterwards


def test_the_name_part_of_the_email_is_refused_as_a_password(admin, app):
    admin.post("/staff/accounts", {"email": "sara.ahmed@hospital.example", "role": "nurse", "reason": "new"})
    path, _ = shown_link(admin.client)
    response = set_password(app, path, "Sara.Ahmed2026!")
    assert response.status_code == 400
    assert "the password must not be the email address or its name part" in text(response)


@pytest.mark.parametrize("password,refused", [
    ("correct horse battery staple", False),
    ("plum orchard at dusk", False),
    ("Tr0ub4dor&3 extra", False),
    ("password", True),
    ("password1234", True),
    ("PASSWORD1234", True),
    ("1234567890123", True),
    ("567890123456", True),                      # a run, through 9 to 0
    ("pass word 1234", True),                    # "password" with a space and digits
    ("zxcvbnmasdfg", False),                     # a keyboard walk the list lacks passes (zxcvbn would object)
])
def test_the_policy_on_its_own(password, refused):
    assert (password_policy.refusal(password, email="someone@hospital.example") is not None) == refused


def test_the_shipped_list_is_the_documented_one():
    common = password_policy.common_passwords()
    assert len(common) == 19_640
    assert {"123456", "password", "qwerty", "iloveyou"} <= common
    assert all(word == word.lower() for word in common)


def test_users_create_on_the_command_line_follows_the_same_policy(runner, trial):
    result = runner.invoke(args=["users", "create", "x@hospital.example", "--role", "nurse"], input="password1234\n")
    assert result.exit_code != 0 and "one of the most common passwords" in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM users") == [{"n": 0}]
    ok = runner.invoke(args=["users", "create", "x@hospital.example", "--role", "nurse"], input=NEW_PASSWORD + "\n")
    assert ok.exit_code == 0 and "Created x@hospital.example (nurse)." in ok.output


# --- The one-time rule under a race, and in the database ---------------------------------

def test_a_link_used_by_another_request_meanwhile_is_not_used_again(admin, app, trial, monkeypatch):
    """The slow step (hashing the new password) runs before the write lock: if another request
    uses the same link meanwhile, this one changes nothing."""
    path, token = issue(admin)
    real_hash = accounts.hash_password

    def hash_while_the_other_request_finishes(password):
        monkeypatch.setattr(accounts, "hash_password", real_hash)    # the other request hashes as usual
        other = open_db(app.config["DATABASE"])
        try:
            password_links.set_password(other, token, password="the other request", confirm="the other request",
                                        now=START)
        finally:
            other.close()
        return real_hash(password)

    monkeypatch.setattr(accounts, "hash_password", hash_while_the_other_request_finishes)
    db = open_db(app.config["DATABASE"])
    try:
        with pytest.raises(password_links.LinkEnded) as ended:
            password_links.set_password(db, token, password=NEW_PASSWORD, confirm=NEW_PASSWORD, now=START)
    finally:
        db.close()
    assert ended.value.state == password_links.USED
    assert [e["actor"] for e in audit(trial, "set_password")] == ["nurse@hospital.example"]    # once
    assert signs_in(app, "nurse@hospital.example", "the other request")
    assert not signs_in(app, "nurse@hospital.example", NEW_PASSWORD)


def test_the_database_keeps_an_ended_link_ended(admin, app):
    path, token = issue(admin)
    assert set_password(app, path).status_code == 303
    db = open_db(app.config["DATABASE"])
    try:
        for sql in ("UPDATE password_resets SET used_at = NULL", "DELETE FROM password_resets"):
            with pytest.raises(Exception, match="password link"):
                db.execute(sql)
        assert password_resets.mark_used(db, 1, now=START) is False
    finally:
        db.close()


# --- Sign-in stays as it was ------------------------------------------------------------

def test_sign_in_still_never_says_which_part_was_wrong_and_still_pauses(admin, app):
    admin.post("/staff/accounts", {"email": "new@hospital.example", "role": "nurse", "reason": "new nurse"})
    admin.post("/staff/accounts/active", {"email": "investigator@hospital.example", "active": "no", "reason": "left"})
    answers = set()
    for email, password in [("new@hospital.example", "anything at all"), ("investigator@hospital.example", PASSWORD),
                            ("nobody@hospital.example", PASSWORD), ("nurse@hospital.example", "wrong password")]:
        response = Staff(app.test_client()).login(email=email, password=password)
        answers.add((response.status_code, ALERT.search(text(response)).group(1)))
    assert answers == {(401, "Email or password is incorrect.")}
    for _ in range(accounts.MAX_FAILURES_PER_EMAIL):
        Staff(app.test_client()).login(email="nurse@hospital.example", password="wrong password")
    limited = Staff(app.test_client()).login("nurse")
    assert limited.status_code == 401 and "Too many attempts" in text(limited)


# --- Logs -------------------------------------------------------------------------------

def test_a_password_link_is_hidden_in_the_logs_as_a_patient_link_is(admin):
    path, token = issue(admin)
    assert path.startswith(PASSWORD_PATH_PREFIX + "/")
    line = f'127.0.0.1 "GET {path} HTTP/1.1" 200 and "POST /f/{token}/vas HTTP/1.1"'
    assert redact(line) == '127.0.0.1 "GET /staff/password/<token> HTTP/1.1" 200 and "POST /f/<token>/vas HTTP/1.1"'


def test_the_audit_log_shows_account_changes_field_by_field(admin):
    admin.post("/staff/accounts/active", {"email": "nurse@hospital.example", "active": "no", "reason": "left the trial"})
    issue(admin, "investigator@hospital.example")
    page = text(admin.client.get("/staff/audit?action=deactivate_user"))
    assert "Staff account deactivated (its sessions ended)" in page and "left the trial" in page
    assert re.search(r"Active\W+yes\W+no", re.sub(r"<[^>]+>", " ", page))
    links = re.sub(r"<[^>]+>", " ", text(admin.client.get("/staff/audit?action=issue_password_link")))
    assert "Password link issued" in links and "03 Mar 2026 12:00 UTC" in links    # when it expires
