"""The staff pages in a real browser: headless Chromium at a phone's width (390 CSS px, touch).

One realistic trial is built once per module and copied for each test: 40 participants per arm
from tests/trial_data (every window closed), five more enrolled through services.enrollment at a
Cairo site (Egyptian mobile numbers, Africa/Cairo), a reminder pass, one patient's reply waiting
in the inbox, and enough audit entries for the audit log to have a second page. The app runs on
a real HTTP server in a thread, on the copy; SMS go to the console gateway's outbox file.

The nurse's path and the opt-out run under the app's own strict CSP. axe-core is injected only in
contexts with bypass_csp=True (so those prove nothing about the CSP). Every staff page, for every
role that may see it, is saved as a full-page screenshot under tests/artifacts/screenshots/.
"""
from __future__ import annotations

import json
import os
import re
import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from flask import Flask

from app import create_app
from services import accounts, allocation, enrollment, messaging, participant_admin
from storage import init_db, settings
from storage.connection import open_db
from tests.browser_support import CHROMIUM, PHONE, RECORD_CSP_VIOLATIONS, ConsoleLog, axe_violations
from tests.conftest import START, Clock
from tests.trial_data import populate
from web import reminders
from web.staff.board import PAGE_SIZE as BOARD_PAGE

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
PASSWORD = "a long staff passphrase"
NURSE = "nurse@example.org"
INVESTIGATOR = "investigator@example.org"
ADMIN = "admin@example.org"
EMAILS = {"nurse": NURSE, "investigator": INVESTIGATOR, "admin": ADMIN}
SITE_ZONE = "Africa/Cairo"     # the site: UTC+2 in March (Egypt's summer time starts in April)
SITE_COUNTRY = "EG"
PER_ARM = 40                   # simulated participants per arm (all windows closed by START)
STAFF_BLUE_BAR = "rgb(11, 61, 110)"  # .bar's background in static/staff.css

# Enrolled at the site through services.enrollment: (study ID, procedure date, phone, punctures).
# EG-001's day1 and EG-003's week1 are open and reminded (overdue); EG-002's baseline is open;
# EG-004 and EG-005 are on the waiting list.
SITE_PARTICIPANTS = (
    ("EG-001", START.date() - timedelta(days=1), "+20 10 0123 4567", 2),
    ("EG-002", START.date() + timedelta(days=10), "+20 11 2345 6789", 3),
    ("EG-003", START.date() - timedelta(days=8), "+20 12 3456 7890", 5),
    ("EG-004", START.date() + timedelta(days=40), "+20 15 5123 4567", 1),
    ("EG-005", START.date() + timedelta(days=60), "010 9876 5432", 4),  # national format
)
TOTAL = 2 * PER_ARM + len(SITE_PARTICIPANTS)
REPLIER, REPLIER_PHONE = "EG-001", "+201001234567"
REPLY = "I am in Alexandria until Thursday. Can I fill it in then?"
CALLED = 45                    # simulated participants the nurse called about a missed timepoint
MENUS = {"nurse": ["Board", "Inbox 1"],
         "investigator": ["Board", "Inbox 1", "Enroll", "Report", "Dataset"],
         "admin": ["Board", "Inbox 1", "Enroll", "Report", "Dataset", "Audit", "Accounts"]}
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


# --- the trial, built once ----------------------------------------------------------------------

def site_app(database: Path, outbox: Path, clock) -> Flask:
    return create_app({"TESTING": True, "DATABASE": str(database), "CLOCK": clock,
                       "BASE_URL": "https://pro.example.org", "SMS_GATEWAY": "console",
                       "SMS_OUTBOX": str(outbox), "DEFAULT_TIMEZONE": SITE_ZONE,
                       "DEFAULT_COUNTRY": SITE_COUNTRY})


@pytest.fixture(scope="module")
def trial_file(tmp_path_factory) -> Path:
    """The populated trial's SQLite file (closed, so it can be copied)."""
    folder = tmp_path_factory.mktemp("trial")
    path = folder / "trial.sqlite3"
    init_db(path)
    clock = Clock(START - timedelta(hours=3))  # 09:00 UTC, 11:00 in Cairo
    app = site_app(path, folder / "outbox.jsonl", clock)
    protocol = app.extensions["protocol"]
    populate(path, protocol, PER_ARM)
    db = open_db(path)
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(accounts, "_hasher", CHEAP_HASHER)
            for email, role in ((NURSE, "nurse"), (INVESTIGATOR, "investigator"), (ADMIN, "admin")):
                accounts.create_user(db, email=email, password=PASSWORD, role=role, actor="cli", now=clock())
        allocation.generate_list(db, seed=7, per_stratum=16, actor="cli", now=clock())
        for study_id, procedure, phone, punctures in SITE_PARTICIPANTS:
            clean = enrollment.validate_enrollment(
                protocol, ["en"], study_id=study_id, arm=None, phone=phone, timezone=SITE_ZONE, language="en",
                procedure_date=procedure, punctures=punctures, country=SITE_COUNTRY)
            enrollment.enroll(db, protocol, clean, actor=INVESTIGATOR, now=clock())
        # The nurse rang 45 of the simulated participants about their six-month forms.
        for n in range(CALLED):
            participant_admin.log_contact(db, protocol, f"{'AB'[n % 2]}-{n // 2:05d}", kind="call",
                                          outcome="will_complete" if n % 3 else "no_answer", timepoint="month6",
                                          note=None, actor=NURSE, now=clock())
    finally:
        db.close()
    clock.now = START - timedelta(hours=2)  # 12:00 in Cairo: EG-001's and EG-003's reminders go
    with app.app_context():
        # EG-003's closed day1 (two reminders) and its superseded first week1 reminder: cancelled.
        assert reminders.send_due(clock()) == Counter({"sent": 2, "cancelled": 3})
    clock.now = START - timedelta(hours=1)
    db = open_db(path)
    try:
        reply = messaging.receive_reply(db, sender=REPLIER_PHONE, body=REPLY, sid="SM" + "f" * 32, now=clock())
        assert reply.keyword is None
    finally:
        db.close()
    assert not Path(f"{path}-wal").exists()  # every write is in the file itself
    return path


@pytest.fixture
def db_path(trial_file, tmp_path):
    """A fresh copy of the populated trial for each test."""
    path = tmp_path / "pro.sqlite3"
    shutil.copyfile(trial_file, path)
    return path


@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox.jsonl"


@pytest.fixture
def app(db_path, clock, outbox):
    """The Cairo site's app on the copy, SMS to the console gateway's outbox file, clock at START."""
    return site_app(db_path, outbox, clock)


# browser, live_server, new_page (phone contexts) and trial (its query()) are in tests/conftest.py.


# --- helpers ------------------------------------------------------------------------------------

def sign_in(page, email: str, password: str = PASSWORD):
    """Sign in through the form, by touch; the response to the POST (after its redirect)."""
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Sign in").tap()
    return navigation.value


def submit(page, button: str, scope=None):
    """Tap a submit button (in ``scope``, else anywhere on the page); the response landed on."""
    with page.expect_navigation() as navigation:
        (scope or page).get_by_role("button", name=button, exact=True).tap()
    return navigation.value


def open_details(page, summary: str):
    """Open a <details> by tapping its summary; the <details> locator."""
    details = page.locator("details").filter(has=page.locator("summary", has_text=summary))
    details.locator("summary").tap()
    expect(details).to_have_attribute("open", "")
    return details


def card(page, study_id: str):
    return page.locator("ul.cards > li.card").filter(
        has=page.get_by_role("link", name=study_id, exact=True))


def card_ids(page) -> list[str]:
    return page.locator("ul.cards > li.card .card-head > a").all_inner_texts()


def marks(card_locator) -> list[str]:
    """A card's timepoint statuses, from each mark's class."""
    return card_locator.locator("ol.marks > li").evaluate_all("items => items.map(li => li.className)")


def menu(page):
    return page.get_by_role("navigation", name="Staff menu")


def width(page) -> dict:
    return page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")


def assert_fits(page) -> None:
    sizes = width(page)
    assert sizes["inner"] == PHONE["viewport"]["width"] and sizes["scroll"] <= sizes["inner"], (page.url, sizes)


def assert_csp_clean(page, log: ConsoleLog) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert log.csp() == []


def assert_staff_css_applied(page) -> None:
    """staff.css loaded under the page's CSP: its rules are in the document and in effect."""
    sheets = page.evaluate("""() => Array.from(document.styleSheets).filter(s => s.href).map(s => ({
        href: s.href, rules: s.cssRules.length}))""")
    assert [sheet["href"].rsplit("/", 1)[-1] for sheet in sheets] == ["staff.css"]
    assert sheets[0]["rules"] > 50
    assert page.locator("header.bar").evaluate("e => getComputedStyle(e).backgroundColor") == STAFF_BLUE_BAR


def assert_axe_clean(page, name: str) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{name}: " + json.dumps(violations, indent=1)


def posts_of(page) -> list[str]:
    """Every POST the page makes from now on (a list that fills as it goes)."""
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    return posts


def audit_rows(trial, action: str) -> list[dict]:
    return trial.query("SELECT actor, entity_id, before, after, reason FROM audit_log WHERE action = ? ORDER BY id",
                       [action])


# --- every page, every role, on a phone ---------------------------------------------------------

STAFF_ROLES = ("nurse", "investigator", "admin")
# (screenshot name, path, expected status, roles that may see it, its h1)
PAGES = (
    ("board", "/staff/", 200, STAFF_ROLES, "Follow-up board"),
    ("board-overdue", "/staff/?filter=overdue", 200, STAFF_ROLES, "Follow-up board"),
    ("participant", f"/staff/participants/{REPLIER}", 200, STAFF_ROLES, f"{REPLIER} Arm "),
    ("inbox", "/staff/inbox", 200, STAFF_ROLES, "Inbox"),
    ("enroll", "/staff/enroll", 200, ("investigator", "admin"), "Enroll a participant"),
    ("report", "/staff/report", 200, ("investigator", "admin"), "Fluoroscopy- vs CT-guided"),
    ("dataset", "/staff/dataset", 200, ("investigator", "admin"), "Report and dataset"),
    ("audit", "/staff/audit", 200, ("admin",), "Audit log"),
    ("audit-page2", "/staff/audit?page=2", 200, ("admin",), "Audit log"),
    ("403", "/staff/audit", 403, ("nurse", "investigator"), "Not allowed"),
    ("404", "/staff/participants/EG-999", 404, STAFF_ROLES, "Page not found"),
)
SIGNED_OUT_PAGES = (("login", "/staff/login", 200, "Sign in"), ("home", "/", 200, "Follow-up questionnaires"))


def pages_for(role: str) -> list[tuple[str, str, int, str]]:
    if role == "signed-out":
        return list(SIGNED_OUT_PAGES)
    return [(name, path, status, heading) for name, path, status, roles, heading in PAGES if role in roles]


@pytest.mark.parametrize("role", ["signed-out", *STAFF_ROLES])
def test_every_page_a_role_may_see_fits_a_phone_and_passes_axe(new_page, role):
    """390 CSS px: the page never scrolls sideways, axe finds nothing, and a screenshot is kept."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for old in SCREENSHOTS.glob(f"{role}-*.png"):
        old.unlink()
    page = new_page(bypass_csp=True, timezone_id=SITE_ZONE)  # staff at the site
    if role != "signed-out":
        sign_in(page, EMAILS[role])
    problems: dict[str, object] = {}
    for name, path, status, heading in pages_for(role):
        response = page.goto(path)
        assert response.status == status, (role, path, response.status)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        if role != "signed-out":
            # The menu offers this role's pages, with the reply waiting counted; the demo banner
            # is only for the demo's database.
            expect(menu(page).get_by_role("link")).to_have_text(MENUS[role])
            expect(page.locator(".who")).to_have_text(f"{EMAILS[role]} · {role.capitalize()}")
            expect(page.locator(".demo")).to_have_count(0)
            # The staff bar runs edge to edge, as on every staff page.
            bar = page.locator("header.bar").bounding_box()
            if (bar["x"], bar["y"], bar["width"]) != (0, 0, PHONE["viewport"]["width"]):
                problems[f"{name}: staff bar inset"] = bar
        sizes = width(page)
        if sizes["scroll"] > sizes["inner"]:
            problems[f"{name}: wider than the screen"] = sizes
        violations = axe_violations(page)
        if violations:
            problems[f"{name}: axe"] = violations
        page.screenshot(path=SCREENSHOTS / f"{role}-{name}.png", full_page=True, scale="css")
    assert problems == {}, json.dumps(problems, indent=1)
    assert sorted(p.name for p in SCREENSHOTS.glob(f"{role}-*.png")) == sorted(
        f"{role}-{name}.png" for name, *_ in pages_for(role))


# --- the nurse's path, under the app's own CSP ---------------------------------------------------

def test_nurse_chases_an_overdue_participant_from_the_board(new_page, trial, outbox):
    """No bypass_csp: the staff stylesheet and script must load, and nothing be refused, under the CSP."""
    page = new_page(timezone_id=SITE_ZONE)
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(page)
    stylesheets = []
    page.on("response", lambda r: stylesheets.append(r.status) if r.url.endswith("/static/staff.css") else None)

    # Unsigned, the board sends to the sign-in page, and back to the board after it.
    response = page.goto("/staff/")
    assert response.status == 200 and page.url.endswith("/staff/login?next=/staff/")
    assert "style-src 'self'" in response.headers["content-security-policy"]
    assert_staff_css_applied(page)
    assert stylesheets == [200]
    expect(menu(page)).to_have_count(0)
    page.get_by_label("Email").fill(NURSE)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-up board")
    expect(page.locator(".who")).to_have_text(f"{NURSE} · Nurse")
    # A nurse's menu: the board (this page) and the inbox, with the one reply waiting.
    expect(menu(page).get_by_role("link")).to_have_text(["Board", "Inbox 1"])
    expect(menu(page).get_by_role("link", name="Board")).to_have_attribute("aria-current", "page")
    assert_csp_clean(page, log)

    # A card per participant, most urgent first, a page at a time: the two overdue (EG-001's day1
    # closes first), then EG-002's open baseline, then those with a missed timepoint.
    cards = page.locator("ul.cards > li.card")
    expect(cards).to_have_count(min(TOTAL, BOARD_PAGE))
    expect(page.get_by_role("navigation", name="Pages")).to_contain_text(
        f"Participants 1 to {BOARD_PAGE} of {TOTAL}, page 1 of {-(-TOTAL // BOARD_PAGE)}.")
    assert card_ids(page)[:3] == ["EG-001", "EG-003", "EG-002"]
    first = card(page, "EG-001")
    expect(first.locator(".arm")).to_have_text(re.compile(r"^Arm [AB]$"))
    expect(first.locator(".tag")).to_have_text(["Reply waiting"])
    assert marks(first) == ["missed", "overdue", "upcoming", "upcoming", "upcoming", "upcoming"]
    expect(first.locator("ol.marks .tp")).to_have_text(["Pre", "1 d", "1 wk", "1 mo", "3 mo", "6 mo"])
    expect(first.locator("ol.marks .visually-hidden")).to_have_text([
        "Before the procedure: Missed", "1 day: Overdue", "1 week: Upcoming", "1 month: Upcoming",
        "3 months: Upcoming", "6 months: Upcoming"])
    assert marks(card(page, "EG-003")) == ["missed", "missed", "overdue", "upcoming", "upcoming", "upcoming"]
    # The simulated participants have no phone, and every window of theirs has closed.
    simulated = card(page, "A-00000")
    expect(simulated.locator(".tag")).to_have_text(["No phone"])
    assert set(marks(simulated)) <= {"completed", "missed"}
    filters = page.get_by_role("navigation", name="Show")
    expect(filters.get_by_role("link")).to_have_text(
        [f"All ({TOTAL})", "Overdue", "Missed", "Reply waiting", "Opted out", "SMS failed"])
    expect(filters.get_by_role("link", name=f"All ({TOTAL})")).to_have_attribute("aria-current", "page")
    # The completion table: a row per timepoint, a column per arm, and it fits the phone.
    completion = page.locator("table.completion")
    expect(completion.locator("thead th")).to_have_text(["Timepoint", "Arm A", "Arm B"])
    expect(completion.locator("tbody th")).to_have_text(
        ["Before the procedure", "1 day", "1 week", "1 month", "3 months", "6 months"])
    assert completion.evaluate("t => t.getBoundingClientRect().right") <= 390
    assert_fits(page)

    # The Overdue filter: only EG-001 and EG-003 are left.
    with page.expect_navigation():
        filters.get_by_role("link", name="Overdue").tap()
    expect(page).to_have_url(re.compile(r"/staff/\?filter=overdue$"))
    expect(filters.get_by_role("link", name="Overdue")).to_have_attribute("aria-current", "page")
    expect(filters.get_by_role("link", name=f"All ({TOTAL})")).not_to_have_attribute("aria-current", "page")
    assert card_ids(page) == ["EG-001", "EG-003"]
    assert_csp_clean(page, log)

    # EG-001's page: day1 is the one open timepoint, and the only one the send form offers.
    with page.expect_navigation():
        page.get_by_role("link", name="EG-001", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/staff/participants/EG-001$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(r"^EG-001 Arm [AB]: "))
    facts = page.locator("dl.facts")
    expect(facts.locator("dt")).to_have_text(["Status", "Allocation", "Procedure", "Phone", "SMS", "Lives in"])
    expect(facts.locator("dd")).to_have_text(["Active", "Randomized, stratum 1-2", "2026-03-01", "010 01234567",
                                              "On", "Africa/Cairo · English"])
    send = page.locator("section[aria-labelledby=resend-h]")
    select = send.get_by_label("Timepoint")
    assert select.locator("option").all_inner_texts() == ["1 day"]
    expect(select).to_have_value("day1")
    assert_staff_css_applied(page)
    assert_csp_clean(page, log)

    # Send now: 12:00 UTC is 14:00 in Cairo, outside quiet hours, so it goes at once.
    submit(page, "Send by SMS now", send)
    expect(page).to_have_url(re.compile(r"/staff/participants/EG-001$"))
    expect(page.locator(".flash")).to_have_text("SMS with a new link for 1 day sent.")
    expect(page.locator(".flash")).to_have_attribute("role", "status")
    day1 = page.locator("ol.timeline > li").nth(1)
    expect(day1.locator(".tl-head")).to_have_text("1 day Overdue")
    sms = day1.locator("details.sms")
    expect(sms.locator("summary")).to_have_text("SMS: 2 sent, 1 planned")
    sms.locator("summary").tap()
    # In planned order: the pass's reminder, the nurse's (sent now), the repeat due 4 March.
    expect(sms.locator("li")).to_have_text([
        "02 Mar 2026 10:00 EET: sent",
        f"02 Mar 2026 14:00 EET: sent (asked by {NURSE})",
        "04 Mar 2026 10:00 EET: pending"])
    assert_csp_clean(page, log)

    # Record a call that was not answered, about day1.
    contact = page.locator("section[aria-labelledby=contact-h]")
    contact.get_by_label("Contact", exact=True).select_option("call")
    contact.get_by_label("Outcome").select_option("no_answer")
    contact.get_by_label("About").select_option(label="1 day")
    contact.get_by_label("Note").fill("Rang twice, no voicemail.")
    # The labels name the contact form's own fields (not those of another form on the page).
    for label in ("Contact", "Outcome", "About", "Note"):
        assert page.get_by_label(label, exact=True).count() == 1, label
    submit(page, "Record", contact)
    expect(page.locator(".flash")).to_have_text("Contact recorded.")
    earlier = page.locator("details.log")
    expect(earlier.locator("summary")).to_have_text("Earlier contacts (1)")
    earlier.locator("summary").tap()
    expect(earlier.locator("li")).to_have_text(
        [f"02 Mar 2026 14:00 EET, {NURSE}: Call, no answer (1 day): Rang twice, no voicemail."])
    assert_fits(page)
    assert_csp_clean(page, log)
    assert log.errors == []

    # What the database holds.
    asked = trial.query("SELECT r.*, p.study_id FROM reminders r JOIN participants p ON p.id = r.participant_id "
                        "WHERE requested_by = ?", [NURSE])
    assert [(r["study_id"], r["timepoint"], r["status"], r["attempt"]) for r in asked] == \
        [("EG-001", "day1", "sent", 3)]
    sent = trial.query("SELECT * FROM messages WHERE reminder_id = ?", [asked[0]["id"]])
    assert [(m["direction"], m["to_number"], m["gateway"], m["status"]) for m in sent] == \
        [("outbound", REPLIER_PHONE, "console", "sent")]
    assert sent[0]["sid"].startswith("SM") and "/f/" in sent[0]["body"] and sent[0]["token_hash"]
    outgoing = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert [(m["sid"], m["to"]) for m in outgoing] == [(sent[0]["sid"], REPLIER_PHONE)]
    assert re.fullmatch(r"Your follow-up questionnaire is ready: https://pro\.example\.org/f/[A-Za-z0-9_-]{24}\. "
                        r"Reply STOP to opt out\.", outgoing[0]["body"])
    contacts = trial.query("SELECT c.* FROM contacts c JOIN participants p ON p.id = c.participant_id "
                           "WHERE p.study_id = 'EG-001'")
    assert [{k: c[k] for k in ("by_user", "kind", "outcome", "timepoint", "note", "at")} for c in contacts] == [{
        "by_user": NURSE, "kind": "call", "outcome": "no_answer", "timepoint": "day1",
        "note": "Rang twice, no voicemail.", "at": "2026-03-02T12:00:00+00:00"}]
    logged = [row for row in audit_rows(trial, "log_contact") if row["entity_id"] == "EG-001"]
    assert [(row["actor"], json.loads(row["after"])) for row in logged] == [
        (NURSE, {"kind": "call", "outcome": "no_answer", "timepoint": "day1"})]
    assert [row["actor"] for row in audit_rows(trial, "login")] == [NURSE]
    assert [(row["actor"], row["entity_id"]) for row in audit_rows(trial, "request_sms")] == [(NURSE, "EG-001")]


# --- accessibility of every page state ----------------------------------------------------------

def test_axe_finds_no_violations_in_any_state_of_the_pages(new_page, trial):
    """The states the phone sweep does not reach: errors, refusals, open forms, empty lists."""
    checked: list[str] = []

    def audit(page, name: str, response=None, status: int | None = None) -> None:
        if status is not None:
            assert response is not None and response.status == status, (name, response and response.status)
        assert_axe_clean(page, name)
        assert_fits(page)
        checked.append(name)

    # First, that axe runs and can fail: an input without a label is caught.
    nurse = new_page(bypass_csp=True)
    response = nurse.goto("/staff/login")
    nurse.evaluate("() => { const i = document.createElement('input'); i.id = 'canary'; "
                   "document.querySelector('main').appendChild(i); }")
    assert "label" in [violation["id"] for violation in axe_violations(nurse)]
    nurse.evaluate("document.getElementById('canary').remove()")
    audit(nurse, "login", response, 200)
    response = sign_in(nurse, NURSE, "not the password at all")
    expect(nurse.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    audit(nurse, "login, wrong password", response, 401)
    sign_in(nurse, NURSE)
    response = nurse.goto("/staff/?filter=sms_failed")
    expect(nurse.get_by_text("No participants match this filter.")).to_be_visible()
    audit(nurse, "board, nothing matches", response, 200)
    response = nurse.goto("/staff/inbox?show=handled")
    expect(nurse.locator("main")).to_contain_text("No reply has been handled yet.")
    audit(nurse, "inbox, none handled", response, 200)

    # A participant page after an action, with its log open; one with nothing open to send.
    nurse.goto("/staff/participants/EG-002")
    response = submit(nurse, "Record")
    expect(nurse.locator(".flash")).to_have_text("Contact recorded.")
    open_details(nurse, "Earlier contacts (1)")
    audit(nurse, "participant, after an action", response, 200)
    response = nurse.goto("/staff/participants/A-00000")
    expect(nurse.locator("section[aria-labelledby=resend-h]")).to_contain_text("No timepoint is open and unfinished.")
    expect(nurse.locator("dl.facts dd").nth(3)).to_have_text("None")
    audit(nurse, "participant, no phone and nothing open", response, 200)

    # Every rarely used form open at once: contact details, SMS stop, withdrawal.
    nurse.goto("/staff/participants/EG-002")
    details = open_details(nurse, "Change phone, time zone or language")
    expect(details.get_by_label("Mobile phone")).to_have_value("011 23456789")
    expect(details.get_by_label("Time zone")).to_have_value(SITE_ZONE)
    expect(details.get_by_label("Language")).to_have_value("en")
    expect(details.get_by_label("Language").locator("option:checked")).to_have_text("English")
    open_details(nurse, "Stop SMS reminders")
    open_details(nurse, "Withdraw from the trial")
    audit(nurse, "participant, every rare form open")

    # Withdrawing without ticking the box: refused, nothing changed.
    nurse.goto("/staff/participants/EG-002")
    withdraw = open_details(nurse, "Withdraw from the trial")
    withdraw.get_by_label("Reason").fill("Moved abroad")
    # The browser itself stops it (the box is required), before staff.js would ask...
    posts, dialogs = posts_of(nurse), []
    nurse.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    withdraw.get_by_role("button", name="Withdraw EG-002").tap()
    box = withdraw.get_by_label("Stop all reminders; keep the data collected so far")
    assert box.evaluate("b => b.validity.valueMissing") is True
    assert posts == [] and dialogs == []
    # ...and so does the server, should that check be skipped (form.submit() runs none).
    with nurse.expect_navigation() as navigation:
        box.evaluate("b => b.form.submit()")
    response = navigation.value
    alert = nurse.get_by_role("alert")
    expect(alert).to_contain_text("Nothing was changed:")
    expect(alert).to_contain_text("confirm: This field is required.")
    # The withdrawal form is open again, its reason kept; the other forms stay shut.
    withdraw = nurse.locator("details").filter(has=nurse.locator("summary", has_text="Withdraw from the trial"))
    expect(withdraw).to_have_attribute("open", "")
    expect(withdraw.get_by_label("Reason")).to_have_value("Moved abroad")
    expect(nurse.locator("details[open]")).to_have_count(1)
    audit(nurse, "participant, withdrawal not confirmed", response, 400)
    assert trial.query("SELECT status FROM participants WHERE study_id = 'EG-002'") == [{"status": "active"}]
    assert audit_rows(trial, "withdraw") == []

    # The link and its QR code, for completion in the clinic.
    nurse.goto("/staff/participants/EG-002")
    response = submit(nurse, "Show link and QR code")
    expect(nurse.get_by_role("heading", level=1)).to_have_text("EG-002: link for Before the procedure")
    expect(nurse.locator("a.url")).to_have_text(re.compile(r"^https://pro\.example\.org/f/[A-Za-z0-9_-]{24}$"))
    audit(nurse, "link and QR code", response, 200)
    # The whole code is drawn inside its box (a clipped code does not scan).
    svg = nurse.locator(".qr svg")
    box, drawn = svg.bounding_box(), svg.locator("path").bounding_box()
    assert box["width"] >= 180 and abs(box["width"] - box["height"]) < 1, box
    assert drawn["x"] >= box["x"] - 0.5 and drawn["y"] >= box["y"] - 0.5
    assert drawn["x"] + drawn["width"] <= box["x"] + box["width"] + 0.5
    assert drawn["y"] + drawn["height"] <= box["y"] + box["height"] + 0.5
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390

    # The audit log, as an administrator: filtered, and with a date it cannot read.
    admin = new_page(bypass_csp=True)
    sign_in(admin, ADMIN)
    response = admin.goto("/staff/audit?action=issue_link&entity_id=EG-002")
    expect(admin.locator("details.filter")).to_have_attribute("open", "")
    expect(admin.locator("ol.audit-list > li")).to_have_count(1)
    expect(admin.locator("ol.audit-list > li .what")).to_have_text("Patient link issued: EG-002")
    audit(admin, "audit log, filtered", response, 200)
    response = admin.goto("/staff/audit?since=2026-3-2")
    expect(admin.locator("#since-error")).to_have_text("Write the date as year-month-day, e.g. 2026-03-02.")
    alert = admin.get_by_role("alert")
    expect(alert.locator("p")).to_have_text("The filter could not be read:")
    expect(alert.locator("li")).to_have_text(["From: Write the date as year-month-day, e.g. 2026-03-02."])
    expect(admin.get_by_label("From")).to_have_accessible_description(
        "Write the date as year-month-day, e.g. 2026-03-02.")
    expect(admin.locator("ol.audit-list > li")).to_have_text(["No entry matches this filter."])
    audit(admin, "audit log, bad date", response, 400)
    response = admin.goto("/staff/audit?actor=nobody@example.org")
    expect(admin.locator("ol.audit-list > li")).to_have_text(["No entry matches this filter."])
    audit(admin, "audit log, nothing matches", response, 200)

    assert len(checked) == 12


# --- the inbox -----------------------------------------------------------------------------------

def test_a_reply_is_seen_marked_handled_once_and_audited(new_page, trial):
    nurse = new_page(bypass_csp=True, timezone_id=SITE_ZONE)
    sign_in(nurse, NURSE)
    # The board says a reply waits, and whose.
    expect(nurse.locator("p.notice")).to_have_text("1 reply from patients waiting in the inbox")
    expect(card(nurse, REPLIER).locator(".tag.reply")).to_have_text("Reply waiting")
    expect(nurse.locator(".tag.reply")).to_have_count(1)
    expect(menu(nurse).locator(".count")).to_have_attribute("aria-label", "1 waiting")
    with nurse.expect_navigation():
        nurse.get_by_role("navigation", name="Show").get_by_role("link", name="Reply waiting").tap()
    assert card_ids(nurse) == [REPLIER]

    # The inbox lists it, with who sent it and when (in the viewer's zone).
    with nurse.expect_navigation():
        nurse.locator("p.notice a").tap()
    expect(nurse).to_have_url(re.compile(r"/staff/inbox$"))
    expect(nurse.get_by_role("navigation", name="Show").get_by_role("link", name="Waiting")).to_have_attribute(
        "aria-current", "page")
    item = nurse.locator("ul.replies > li")
    expect(item).to_have_count(1)
    expect(item.locator(".meta")).to_have_text(f"{REPLIER} · 02 Mar 2026, 13:00 EET")
    expect(item.locator("blockquote")).to_have_text(REPLY)
    # A second tab keeps the inbox open, its button still there, for later.
    stale = nurse.context.new_page()
    stale.goto("/staff/inbox")

    # On the participant's page: the reply, and the button that marks it handled.
    with nurse.expect_navigation():
        item.get_by_role("link", name=REPLIER).tap()
    replies = nurse.locator("section[aria-labelledby=replies-h]")
    expect(replies.get_by_role("heading")).to_have_text("Replies waiting")
    expect(replies.locator("blockquote")).to_have_text(REPLY)
    response = submit(nurse, "Mark handled", replies)
    assert response.status == 200
    expect(nurse).to_have_url(re.compile(rf"/staff/participants/{REPLIER}$"))
    expect(nurse.locator(".flash")).to_have_text("Reply marked handled.")
    expect(replies).to_have_count(0)
    expect(menu(nurse).get_by_role("link", name="Inbox")).to_have_text("Inbox")
    assert_axe_clean(nurse, "participant, reply handled")

    # It has left the waiting list, and shows under Handled, with who and when.
    nurse.goto("/staff/inbox")
    expect(nurse.locator("main")).to_contain_text("No reply is waiting.")
    with nurse.expect_navigation():
        nurse.get_by_role("navigation", name="Show").get_by_role("link", name="Handled").tap()
    handled = nurse.locator("ul.replies > li")
    expect(handled).to_have_count(1)
    expect(handled.locator("blockquote")).to_have_text(REPLY)
    expect(handled.locator("p.hint")).to_have_text(f"Handled 02 Mar 2026, 14:00 EET by {NURSE}")
    expect(handled.get_by_role("button")).to_have_count(0)
    assert_axe_clean(nurse, "inbox, handled")
    assert_fits(nurse)

    # Marking it again, from the tab opened before: harmless, and said so.
    with stale.expect_navigation():
        stale.get_by_role("button", name="Mark handled").tap()
    expect(stale).to_have_url(re.compile(r"/staff/inbox$"))
    expect(stale.locator(".flash")).to_have_text("That reply was already marked handled.")
    expect(stale.locator("main")).to_contain_text("No reply is waiting.")

    # The board no longer flags it.
    nurse.goto("/staff/")
    expect(nurse.locator("p.notice")).to_have_count(0)
    expect(card(nurse, REPLIER).locator(".tag")).to_have_count(0)
    nurse.goto("/staff/?filter=replied")
    expect(nurse.get_by_text("No participants match this filter.")).to_be_visible()

    stored = trial.query("SELECT id, body, handled_at, handled_by FROM messages WHERE direction = 'inbound'")
    assert [{k: m[k] for k in ("body", "handled_at", "handled_by")} for m in stored] == [
        {"body": REPLY, "handled_at": "2026-03-02T12:00:00+00:00", "handled_by": NURSE}]
    handled_rows = audit_rows(trial, "handle_reply")
    assert [(row["actor"], row["entity_id"], json.loads(row["before"]), json.loads(row["after"]))
            for row in handled_rows] == [
        (NURSE, str(stored[0]["id"]), {"handled": False}, {"handled": True, "study_id": REPLIER})]

    # The audit log shows it, found through its filter.
    admin = new_page(timezone_id=SITE_ZONE)
    sign_in(admin, ADMIN)
    admin.goto("/staff/audit")
    open_details(admin, "Filter")
    admin.get_by_label("Action").select_option(label="Reply marked handled")
    submit(admin, "Filter")
    expect(admin).to_have_url(re.compile(r"/staff/audit\?.*action=handle_reply"))
    entry = admin.locator("ol.audit-list > li")
    expect(entry).to_have_count(1)
    expect(entry.locator(".what")).to_have_text(f"Reply marked handled: message {stored[0]['id']}")
    expect(entry.locator(".meta")).to_have_text(f"02 Mar 2026, 14:00 EET · {NURSE}")
    expect(entry.locator("ul.diff > li")).to_have_text(["Handled: no → yes", f"Study id: {REPLIER}"])


# --- opting out ----------------------------------------------------------------------------------

def test_opting_out_needs_the_box_and_the_dialog_and_is_audited(new_page, trial):
    """Under the app's own CSP: staff.js (which asks window.confirm) must run there."""
    page = new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(page)
    sign_in(page, NURSE)
    page.goto("/staff/participants/EG-002")
    expect(page.locator("dl.facts dd").nth(4)).to_have_text("On")
    stop = open_details(page, "Stop SMS reminders")
    form = stop.locator("form")
    box = form.get_by_label("The participant asked to stop SMS reminders")
    posts, dialogs, answer = posts_of(page), [], {"accept": False}

    def on_dialog(dialog) -> None:
        dialogs.append((dialog.type, dialog.message))
        dialog.accept() if answer["accept"] else dialog.dismiss()

    page.on("dialog", on_dialog)

    def opted_out() -> int:
        return trial.query("SELECT sms_opt_out FROM participants WHERE study_id = 'EG-002'")[0]["sms_opt_out"]

    # Box not ticked: the browser refuses (the box is required) before anything is asked or sent...
    form.get_by_role("button", name="Stop SMS reminders").tap()
    assert box.evaluate("b => b.validity.valueMissing") is True
    assert posts == [] and dialogs == []
    # ...and so does the server, should that check be skipped (form.submit() runs none).
    with page.expect_navigation() as navigation:
        box.evaluate("b => b.form.submit()")
    assert navigation.value.status == 400
    expect(page.get_by_role("alert").locator("li")).to_have_text(["confirm: Tick the box to confirm."])
    # The same form is open again, and only it.
    expect(page.locator("details[open] > summary")).to_have_text(["Stop SMS reminders"])
    assert opted_out() == 0 and audit_rows(trial, "sms_opt_out") == []
    posts.clear()

    # Box ticked, but the nurse answers Cancel to staff.js's question: nothing is sent.
    stop = page.locator("details[open]")
    stop.get_by_label("The participant asked to stop SMS reminders").check()
    stop.get_by_role("button", name="Stop SMS reminders").tap()
    assert dialogs == [("confirm", "Stop SMS reminders for EG-002?")]
    assert posts == [] and opted_out() == 0

    # OK this time: stored, shown and audited.
    answer["accept"] = True
    with page.expect_navigation() as navigation:
        stop.get_by_role("button", name="Stop SMS reminders").tap()
    assert navigation.value.status == 200 and len(dialogs) == 2 and len(posts) == 1
    expect(page.locator(".flash")).to_have_text("SMS reminders stopped.")
    expect(page.locator("dl.facts dd").nth(4)).to_have_text("Opted out")
    expect(page.locator(".rare summary")).to_have_text(
        ["Change phone, time zone or language", "Restart SMS reminders", "Withdraw from the trial"])
    assert opted_out() == 1
    assert [(row["actor"], row["entity_id"], json.loads(row["before"]), json.loads(row["after"]), row["reason"])
            for row in audit_rows(trial, "sms_opt_out")] == [
        (NURSE, "EG-002", {"sms_opt_out": 0}, {"sms_opt_out": 1}, "recorded by staff")]

    # The board's Opted out filter finds just this participant, tagged.
    page.goto("/staff/?filter=opted_out")
    assert card_ids(page) == ["EG-002"]
    expect(card(page, "EG-002").locator(".tag")).to_have_text(["Opted out"])
    assert_csp_clean(page, log)
    # The one console error: the browser noting the server's 400 to the unconfirmed form.
    assert [error.split(" (http")[0] for error in log.errors] == [
        "Failed to load resource: the server responded with a status of 400 (BAD REQUEST)"]


# --- enrollment ----------------------------------------------------------------------------------

def test_enrollment_at_a_cairo_site_announces_its_errors_then_randomizes(new_page, trial, app):
    page = new_page(bypass_csp=True)
    sign_in(page, INVESTIGATOR)
    response = page.goto("/staff/enroll")
    expect(menu(page).get_by_role("link", name="Enroll")).to_have_attribute("aria-current", "page")
    # The site's zone is chosen already, in a list grouped by region; languages by their names.
    zone = page.get_by_label("Time zone", exact=True)
    expect(zone).to_have_value(SITE_ZONE)
    expect(zone.locator("option:checked")).to_have_text("Cairo")
    groups = zone.locator("optgroup").evaluate_all("gs => gs.map(g => g.label)")
    assert {"Africa", "America", "Asia", "Europe"} <= set(groups) and groups[-1] == "Other"
    expect(zone.locator("optgroup[label=Other] option")).to_have_text(["UTC"])
    language = page.get_by_label("Language", exact=True)
    expect(language.locator("option")).to_have_text(["English"])
    expect(language).to_have_value("en")
    # A field's hint is its description, so a screen reader reads it with the field.
    date_field = page.get_by_label("Procedure date", exact=True)
    expect(date_field).to_have_attribute("placeholder", "YYYY-MM-DD")
    expect(date_field).to_have_accessible_description("Year-month-day, e.g. 2026-03-02")
    phone = page.get_by_label("Mobile phone", exact=True)
    expect(phone).to_have_accessible_description("As written in Egypt, e.g. 010 01234567, or with the country code")
    assert response.status == 200

    # Nothing filled in: three fields are required.
    response = submit(page, "Enroll")
    assert response.status == 400
    expect(page.get_by_role("alert").locator("p")).to_have_text("Nothing was stored. Please check:")
    expect(page.locator("p.error")).to_have_count(3)
    expect(page.get_by_label("Study ID", exact=True)).to_have_accessible_description("This field is required.")
    expect(page.get_by_label("Number of puncture points", exact=True)).to_have_accessible_description(
        "1-6; the randomization stratum (1-2, 3-4, 5-6) This field is required.")
    expect(date_field).to_have_accessible_description("Year-month-day, e.g. 2026-03-02 This field is required.")
    assert_axe_clean(page, "enroll, required fields")

    # A date in the local style and a short number: the service says what is wrong with each.
    page.get_by_label("Study ID", exact=True).fill("EG-010")
    page.get_by_label("Number of puncture points", exact=True).fill("2")
    date_field.fill("20/03/2026")
    phone.fill("12345")
    response = submit(page, "Enroll")
    assert response.status == 400
    # ...and, with no criterion ticked, that the person is not eligible.
    expect(page.locator("p.error")).to_have_count(3)
    expect(page.locator("#eligibility-error")).to_contain_text("not met: Aged 18 or over")
    expect(date_field).to_have_accessible_description(
        "Year-month-day, e.g. 2026-03-02 must be a date written YYYY-MM-DD")
    expect(phone).to_have_accessible_description(
        "As written in Egypt, e.g. 010 01234567, or with the country code not a valid mobile number for its country")
    expect(page.get_by_label("Study ID", exact=True)).to_have_value("EG-010")
    assert_axe_clean(page, "enroll, service errors")

    # Put right: an ISO date, a number written the Egyptian way, and every inclusion criterion met.
    date_field.fill("2026-03-20")
    phone.fill("010 0123 4599")
    for criterion in app.extensions["protocol"].clinical.inclusion:
        page.get_by_label(criterion.text, exact=True).check()
    submit(page, "Enroll")
    expect(page).to_have_url(re.compile(r"/staff/participants/EG-010$"))
    stored = trial.query("SELECT arm, phone, timezone, language, procedure_date, punctures, stratum, allocation "
                         "FROM participants WHERE study_id = 'EG-010'")
    assert stored == [{"arm": stored[0]["arm"], "phone": "+201001234599", "timezone": SITE_ZONE, "language": "en",
                       "procedure_date": "2026-03-20", "punctures": 2, "stratum": "1-2", "allocation": "randomized"}]
    label = {"A": "Fluoroscopy-guided", "B": "CT-guided"}[stored[0]["arm"]]
    expect(page.locator(".flash")).to_have_text(f"EG-010 randomized to arm {stored[0]['arm']} ({label}).")
    expect(page.locator("dl.facts dd")).to_have_text(["Active", "Randomized, stratum 1-2", "2026-03-20",
                                                      "010 01234599", "On", "Africa/Cairo · English"])
    assert_axe_clean(page, "participant, just enrolled")
    assert_fits(page)
    assert [(row["actor"], row["entity_id"]) for row in audit_rows(trial, "enroll")][-1] == (INVESTIGATOR, "EG-010")


# --- the audit log -------------------------------------------------------------------------------

def test_the_audit_log_pages_shows_changes_field_by_field_in_the_viewers_zone(new_page, trial):
    admin = new_page(timezone_id="Asia/Tokyo")  # an administrator abroad: UTC+9
    sign_in(admin, ADMIN)
    # A change to record first: EG-002 moves to London.
    admin.goto("/staff/participants/EG-002")
    details = open_details(admin, "Change phone, time zone or language")
    details.get_by_label("Time zone").select_option("Europe/London")
    submit(admin, "Save", details)
    expect(admin.locator(".flash")).to_have_text("Saved: timezone")
    expect(admin.locator("dl.facts dd").nth(5)).to_have_text("Europe/London · English")

    total = trial.query("SELECT count(*) AS n FROM audit_log")[0]["n"]
    assert 50 < total <= 100, total
    admin.goto("/staff/audit")
    entries = admin.locator("ol.audit-list > li")
    expect(entries).to_have_count(50)
    expect(admin.locator("main > p.hint")).to_have_text(
        "Newest first, 50 on this page. Dates in the filter are days in Africa/Cairo.")
    expect(admin.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_text(["Older entries"])
    newest = entries.first
    expect(newest.locator(".what")).to_have_text("Contact details changed: EG-002")
    expect(newest.locator("ul.diff > li")).to_have_text(["Timezone: Africa/Cairo → Europe/London"])
    # Stored in UTC, rendered in the site's zone, rewritten by staff.js in the viewer's.
    when = newest.locator("time")
    expect(when).to_have_attribute("datetime", "2026-03-02T12:00:00+00:00")
    expect(when).to_have_text("02 Mar 2026, 21:00 GMT+9")
    expect(newest.locator(".meta")).to_have_text(f"02 Mar 2026, 21:00 GMT+9 · {ADMIN}")
    assert_fits(admin)

    # Page 2: the oldest entries, the staff accounts made at the command line first of all.
    with admin.expect_navigation():
        admin.get_by_role("link", name="Older entries").tap()
    expect(admin).to_have_url(re.compile(r"/staff/audit\?page=2$"))
    expect(entries).to_have_count(total - 50)
    expect(admin.locator("main > p.hint")).to_contain_text(f"{total - 50} on this page (page 2).")
    expect(admin.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_text(["Newer entries"])
    oldest = entries.last
    expect(oldest.locator(".what")).to_have_text(re.compile(r"^Staff account created"))
    expect(oldest.locator(".meta")).to_have_text("02 Mar 2026, 18:00 GMT+9 · cli")
    enrolled = entries.filter(has=admin.locator(".what", has_text="Enrolled: EG-001"))
    expect(enrolled.locator("p.fields")).to_contain_text("Timezone: Africa/Cairo")
    expect(enrolled.locator("p.fields")).to_contain_text("Procedure date: 2026-03-01")
    assert_fits(admin)

    # The filter, in its <details>: the nurse's calls on 2 March (the site's day).
    open_details(admin, "Filter")
    admin.get_by_label("Who").fill(NURSE)
    admin.get_by_label("Action").select_option(label="Contact recorded")
    admin.get_by_label("From").fill("2026-03-02")
    admin.get_by_label("To (inclusive)").fill("2026-03-02")
    submit(admin, "Filter")
    expect(entries).to_have_count(CALLED)
    # Newest first: the last call logged, to A-00022.
    expect(entries.first.locator(".what")).to_have_text("Contact recorded: A-00022")
    expect(entries.first.locator(".fields")).to_contain_text("Kind: Call; Outcome: Will complete;")
    expect(entries.first.locator(".fields")).to_contain_text("Timepoint: 6 months")
    expect(admin.get_by_role("navigation", name="Pages").get_by_role("link")).to_have_count(0)
    admin.get_by_label("From").fill("2026-03-03")
    admin.get_by_label("To (inclusive)").fill("")
    submit(admin, "Filter")
    expect(entries).to_have_text(["No entry matches this filter."])


# --- the report ----------------------------------------------------------------------------------

def test_the_report_sits_in_the_staff_menu_and_its_tables_scroll_in_their_own_box(new_page, trial):
    """Under the report page's own CSP (inline styles for matplotlib's SVG, staff.css and staff.js)."""
    page = new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(page)
    sign_in(page, INVESTIGATOR)
    response = page.goto("/staff/report")
    assert response.status == 200 and "script-src 'self'" in response.headers["content-security-policy"]
    expect(menu(page).get_by_role("link", name="Report")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("navigation", name="Downloads").get_by_role("link")).to_have_text(
        ["Download HTML (to print or keep)", "Download JSON (for scripts)"])
    assert_staff_css_applied(page)

    arms = {row["arm"]: row["n"] for row in trial.query("SELECT arm, count(*) AS n FROM participants GROUP BY arm")}
    flow = page.locator("div.flow")
    expect(flow).to_have_attribute("role", "group")
    boxes = flow.locator(".box")
    expect(boxes.locator("strong")).to_have_text(
        ["Assessed for eligibility", "Excluded", "Enrolled and randomized", "Allocated to A", "Allocated to B",
         "Follow-up", "Follow-up", "Analysed at 6 months", "Analysed at 6 months"])
    assert boxes.nth(2).inner_text().splitlines()[:2] == ["Enrolled and randomized", f"n = {TOTAL}"]
    assert boxes.nth(3).inner_text().splitlines()[:3] == ["Allocated to A", "Fluoroscopy-guided", f"n = {arms['A']}"]
    assert boxes.nth(4).inner_text().splitlines()[:3] == ["Allocated to B", "CT-guided", f"n = {arms['B']}"]
    # The two arms' boxes side by side, within the screen.
    a, b = boxes.nth(3).bounding_box(), boxes.nth(4).bounding_box()
    assert a["y"] == b["y"] and a["x"] + a["width"] <= b["x"] and b["x"] + b["width"] <= 390

    # Each wide table scrolls in its own box; the page itself never does.
    table_boxes = page.locator("div.table-box")
    assert table_boxes.count() >= 4
    sizes = table_boxes.evaluate_all("bs => bs.map(b => ({label: b.getAttribute('aria-label'), "
                                     "scroll: b.scrollWidth, client: b.clientWidth, "
                                     "right: b.getBoundingClientRect().right}))")
    assert all(s["right"] <= 390 for s in sizes), sizes
    wide = [s for s in sizes if s["scroll"] > s["client"]]
    assert "Table 3. ODI and VAS by group" in [s["label"] for s in wide], sizes
    table3 = page.get_by_role("region", name="Table 3. ODI and VAS by group")
    table3.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
    assert table3.evaluate("b => b.scrollLeft") > 0
    assert page.evaluate("window.scrollX") == 0
    assert_fits(page)
    assert_csp_clean(page, log)
    assert log.errors == []


# --- the demo's database -------------------------------------------------------------------------

def test_the_demo_database_is_marked_on_every_staff_page(new_page, clock, db_path):
    db = open_db(db_path)
    try:
        settings.put(db, settings.DEMO, "synthetic data made by `flask demo`", actor="cli", now=clock())
    finally:
        db.close()
    page = new_page(bypass_csp=True)
    page.goto("/staff/login")
    expect(page.locator(".demo")).to_have_count(0)  # nothing of the trial shows before signing in
    sign_in(page, NURSE)
    for path in ("/staff/", f"/staff/participants/{REPLIER}", "/staff/inbox", "/staff/participants/EG-999"):
        page.goto(path)
        banner = page.get_by_role("complementary", name="Demo data")
        expect(banner).to_have_text("DEMO DATA: synthetic participants made by flask demo, not a real trial.")
        expect(banner.locator("strong")).to_have_text("DEMO DATA")
        assert_fits(page)
    assert_axe_clean(page, "404 with the demo banner")
    page.goto("/staff/")
    assert_axe_clean(page, "board with the demo banner")
