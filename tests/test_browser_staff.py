"""The staff pages in a real browser: headless Chromium at a phone viewport (and once at a desktop).

The app runs on a real HTTP server in a thread, on the same SQLite file the tests (and a reminder
pass run here, in an app context) write to. SMS go to the console gateway's outbox file. The
nurse's path runs under the app's own strict CSP; axe-core is injected only in contexts with
bypass_csp=True (so those prove nothing about the CSP).
"""
from __future__ import annotations

import json
import os
import re
from collections import Counter
from datetime import timedelta

import pytest

from app import create_app
from services import accounts, allocation
from storage.connection import open_db
from tests.browser_support import (CHROMIUM, PHONE, RECORD_CSP_VIOLATIONS, ConsoleLog,
                                   axe_violations)
from tests.conftest import START
from web import reminders

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

PASSWORD = "a long staff passphrase"
NURSE = "nurse@example.org"
INVESTIGATOR = "investigator@example.org"
ADMIN = "admin@example.org"
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1,
           "is_mobile": False, "has_touch": False, "locale": "en-GB"}
STAFF_BLUE_BAR = "rgb(11, 61, 110)"  # .bar's background in static/staff.css


# --- fixtures ---------------------------------------------------------------------------------

@pytest.fixture
def outbox(tmp_path):
    return tmp_path / "outbox.jsonl"


@pytest.fixture
def app(db_path, clock, outbox):
    """conftest's app, with SMS going to the console gateway's outbox file."""
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                       "BASE_URL": "https://pro.example.org", "SMS_GATEWAY": "console",
                       "SMS_OUTBOX": str(outbox)})


# browser, live_server and new_page are fixtures of tests/conftest.py.


@pytest.fixture
def staff(app, clock):
    """One account per role, all with PASSWORD."""
    db = open_db(app.config["DATABASE"])
    try:
        for email, role in ((NURSE, "nurse"), (INVESTIGATOR, "investigator"), (ADMIN, "admin")):
            accounts.create_user(db, email=email, password=PASSWORD, role=role, actor="test", now=clock())
    finally:
        db.close()


# --- helpers ----------------------------------------------------------------------------------

def press(locator, touch: bool = True) -> None:
    locator.tap() if touch else locator.click()


def sign_in(page, email: str, password: str = PASSWORD, touch: bool = True):
    """Sign in through the form; the response to the POST (after its redirect)."""
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation() as navigation:
        press(page.get_by_role("button", name="Sign in"), touch)
    return navigation.value


def submit(page, button: str, touch: bool = True):
    """Press a submit button; the response the browser lands on."""
    with page.expect_navigation() as navigation:
        press(page.get_by_role("button", name=button, exact=True), touch)
    return navigation.value


def board_ids(page) -> list[str]:
    return page.locator("table.board tbody th[scope=row] a").all_inner_texts()


def cell(page, study_id: str, column: int):
    """The status badge of a board row; column counts the timepoint columns from 0."""
    row = page.locator("table.board tbody tr").filter(has=page.get_by_role("link", name=study_id, exact=True))
    return row.locator("td").nth(1 + column).locator(".status")


def assert_csp_clean(page, log: ConsoleLog) -> None:
    assert page.evaluate("window.__cspViolations") == []
    assert log.csp() == []


def assert_staff_css_applied(page) -> None:
    """staff.css loaded under the page's CSP: its rules are in the document and in effect."""
    sheets = page.evaluate("""() => Array.from(document.styleSheets).map(s => ({
        href: s.href, rules: s.cssRules.length}))""")
    assert [sheet["href"].rsplit("/", 1)[-1] for sheet in sheets] == ["staff.css"]
    assert sheets[0]["rules"] > 20
    assert page.locator("header.bar").evaluate("e => getComputedStyle(e).backgroundColor") == STAFF_BLUE_BAR
    assert page.locator("main").evaluate("e => getComputedStyle(e).paddingInlineStart") == "16px"


def page_overflow(page) -> dict:
    return page.evaluate("""() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
                                    body: document.body.scrollWidth})""")


def overdue_and_upcoming(trial, app, clock) -> None:
    """P-001: procedure yesterday, so day1 is open (2 to 4 March, UTC) and its first reminder
    (10:00) is due: one reminder pass makes it overdue. P-002: procedure in 60 days, all upcoming."""
    trial.enroll("P-001", procedure_date=START.date() - timedelta(days=1), phone="+12025550101")
    trial.enroll("P-002", procedure_date=START.date() + timedelta(days=60), phone="+12025550102")
    with app.app_context():
        assert reminders.send_due(clock()) == Counter({"sent": 1})


# --- the nurse's path -------------------------------------------------------------------------

def test_nurse_chases_an_overdue_participant_from_the_board(new_page, trial, app, clock, staff, outbox):
    """No bypass_csp: the staff stylesheet must load, and nothing be refused, under the CSP."""
    overdue_and_upcoming(trial, app, clock)
    assert len(outbox.read_text().splitlines()) == 1

    page = new_page()
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
    assert_csp_clean(page, log)
    page.get_by_label("Email").fill(NURSE)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()
    expect(page).to_have_url(re.compile(r"/staff/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Follow-up board")
    expect(page.locator(".who")).to_have_text(f"{NURSE} (nurse)")
    # A nurse gets the board only: no enrollment or audit log in the menu.
    expect(page.get_by_role("navigation", name="Staff").get_by_role("link")).to_have_text(["Board"])

    # Most urgent first: P-001 (day1 overdue) above P-002 (all upcoming).
    assert board_ids(page) == ["P-001", "P-002"]
    expect(cell(page, "P-001", 1)).to_have_text("overdue")
    expect(cell(page, "P-002", 1)).to_have_text("upcoming")
    filters = page.get_by_role("navigation", name="Filters")
    expect(filters.get_by_role("link", name="All (2)")).to_have_attribute("aria-current", "page")
    assert_csp_clean(page, log)

    # The Overdue filter: P-002 disappears.
    with page.expect_navigation():
        filters.get_by_role("link", name="Overdue").tap()
    expect(page).to_have_url(re.compile(r"/staff/\?filter=overdue$"))
    expect(filters.get_by_role("link", name="Overdue")).to_have_attribute("aria-current", "page")
    expect(filters.get_by_role("link", name="All (2)")).not_to_have_attribute("aria-current", "page")
    assert board_ids(page) == ["P-001"]
    expect(page.get_by_role("link", name="P-002")).to_have_count(0)
    assert_csp_clean(page, log)

    # P-001's page: day1 is the one open timepoint, and the only one the resend form offers.
    with page.expect_navigation():
        page.get_by_role("link", name="P-001", exact=True).tap()
    expect(page).to_have_url(re.compile(r"/staff/participants/P-001$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("P-001")
    resend_form = page.locator("section[aria-labelledby=resend-h] form")
    resend_select = resend_form.get_by_label("Timepoint")
    assert resend_select.locator("option").all_inner_texts() == ["day1"]
    expect(resend_select).to_have_value("day1")
    assert_staff_css_applied(page)
    assert_csp_clean(page, log)

    # Resend: 12:00 UTC is outside the participant's quiet hours (21:00-09:00 UTC), so it goes now.
    submit(page, "Resend the link by SMS now")
    expect(page).to_have_url(re.compile(r"/staff/participants/P-001$"))
    expect(page.locator(".flash")).to_have_text("SMS with a new day1 link sent.")
    expect(page.locator(".flash")).to_have_attribute("role", "status")
    day1 = page.locator("ol.timeline > li").nth(1)
    expect(day1.locator("h3")).to_contain_text("1 day")
    # In planned order: the pass's reminder (sent), the nurse's (sent now), the repeat due 4 March.
    expect(day1.locator("li")).to_have_text([
        re.compile(r"^SMS 1: 02 Mar 2026 10:00, sent, delivery: sent$"),
        re.compile(rf"^SMS 3 \(asked by {re.escape(NURSE)}\): 02 Mar 2026 12:00, sent, delivery: sent$"),
        re.compile(r"^SMS 2: 04 Mar 2026 10:00, pending$")])
    assert_csp_clean(page, log)

    # Record a call that was not answered, about day1.
    contact_form = page.locator("section[aria-labelledby=contact-h] form")
    page.get_by_label("Contact", exact=True).select_option("call")
    page.get_by_label("Outcome").select_option("no_answer")
    page.get_by_label("About").select_option("day1")
    page.get_by_label("Note").fill("Rang twice, no voicemail.")
    # The labels name the contact form's own fields (not those of another form on the page).
    for label in ("Contact", "Outcome", "About", "Note"):
        assert contact_form.get_by_label(label, exact=True).count() == 1, label
    with page.expect_navigation():
        contact_form.get_by_role("button", name="Record").tap()
    expect(page.locator(".flash")).to_have_text("Contact recorded.")
    log_items = page.locator("ul.log li")
    expect(log_items).to_have_count(1)
    expect(log_items).to_have_text(f"02 Mar 2026 12:00, {NURSE}: call, no answer (day1): Rang twice, no voicemail.")
    assert_csp_clean(page, log)
    assert log.errors == []

    # What the database holds.
    nurse_reminders = trial.query("SELECT r.*, p.study_id FROM reminders r JOIN participants p "
                                   "ON p.id = r.participant_id WHERE requested_by = ?", [NURSE])
    assert len(nurse_reminders) == 1
    requested = nurse_reminders[0]
    assert (requested["study_id"], requested["timepoint"], requested["status"], requested["attempt"]) == \
        ("P-001", "day1", "sent", 3)
    sent = trial.query("SELECT * FROM messages WHERE reminder_id = ?", [requested["id"]])
    assert len(sent) == 1
    assert (sent[0]["direction"], sent[0]["to_number"], sent[0]["gateway"], sent[0]["status"]) == \
        ("outbound", "+12025550101", "console", "sent")
    assert sent[0]["sid"].startswith("SM") and sent[0]["sent_at"]
    assert "/f/" in sent[0]["body"] and sent[0]["token_hash"]
    outgoing = [json.loads(line) for line in outbox.read_text().splitlines()]
    assert len(outgoing) == 2 and outgoing[1]["sid"] == sent[0]["sid"] and outgoing[1]["to"] == "+12025550101"
    assert re.search(r"https://pro\.example\.org/f/[A-Za-z0-9_-]+", outgoing[1]["body"])

    contact_rows = trial.query("SELECT * FROM contacts")
    assert len(contact_rows) == 1
    assert {k: contact_rows[0][k] for k in ("by_user", "kind", "outcome", "timepoint", "note", "at")} == {
        "by_user": NURSE, "kind": "call", "outcome": "no_answer", "timepoint": "day1",
        "note": "Rang twice, no voicemail.", "at": "2026-03-02T12:00:00+00:00"}
    audit = trial.query("SELECT * FROM audit_log WHERE action = 'log_contact'")
    assert len(audit) == 1
    assert (audit[0]["actor"], audit[0]["entity"], audit[0]["entity_id"]) == (NURSE, "participant", "P-001")
    assert json.loads(audit[0]["after"]) == {"kind": "call", "outcome": "no_answer", "timepoint": "day1"}
    assert trial.query("SELECT actor FROM audit_log WHERE action = 'login'") == [{"actor": NURSE}]


# --- phone and desktop layout -----------------------------------------------------------------

def test_board_fits_a_phone_and_a_desktop(new_page, trial, app, clock, staff):
    overdue_and_upcoming(trial, app, clock)
    for options, touch in ((PHONE, True), (DESKTOP, False)):
        page = new_page(**options)
        sign_in(page, NURSE, touch=touch)
        expect(page).to_have_url(re.compile(r"/staff/$"))
        board = page.locator("table.board")
        expect(board).to_be_visible()
        expect(board.locator("thead th")).to_have_text(
            ["Participant", "Arm", "Before the procedure", "1 day", "1 week", "1 month", "3 months", "6 months", "SMS"])
        assert board_ids(page) == ["P-001", "P-002"]
        expect(page.locator("table.counts")).to_be_visible()
        width = options["viewport"]["width"]
        overflow = page_overflow(page)
        # The page itself never scrolls sideways: a table too wide scrolls inside its wrapper.
        assert overflow["scroll"] <= overflow["inner"] + 1, (options["viewport"], overflow)
        assert overflow["scroll"] <= width + 1 and overflow["inner"] == width, (options["viewport"], overflow)
        wrapper = page.locator(".scroll").first
        sizes = wrapper.evaluate("e => ({scroll: e.scrollWidth, client: e.clientWidth})")
        if touch:
            assert sizes["scroll"] > sizes["client"], "at a phone's width the board is wider than the screen"
            # ...and it scrolls inside its wrapper, which brings the last column into view.
            wrapper.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
            assert wrapper.evaluate("e => e.scrollLeft") > 0
            assert page.evaluate("window.scrollX") == 0
        else:
            assert sizes["scroll"] <= sizes["client"], "on a desktop the board fits"
        # The filters work the same on both.
        with page.expect_navigation():
            press(page.get_by_role("navigation", name="Filters").get_by_role("link", name="Overdue"), touch)
        assert board_ids(page) == ["P-001"]

    # The participant page fits a phone too (actions stack; long texts wrap).
    phone = new_page()
    sign_in(phone, NURSE)
    for path in ("/staff/participants/P-001", "/staff/participants/P-002"):
        phone.goto(path)
        overflow = page_overflow(phone)
        assert overflow["scroll"] <= overflow["inner"] + 1 and overflow["inner"] == 390, (path, overflow)


# --- accessibility ----------------------------------------------------------------------------

def test_axe_finds_no_violations_on_the_staff_pages(new_page, trial, app, clock, staff):
    overdue_and_upcoming(trial, app, clock)
    found: dict[str, list] = {}

    def audit(page, name: str, response=None, status: int | None = None) -> None:
        if status is not None:
            assert response is not None and response.status == status, (name, response and response.status)
        found[name] = axe_violations(page)

    # Signing in, wrongly then rightly, as the nurse.
    nurse = new_page(bypass_csp=True)
    response = nurse.goto("/staff/login")
    # First, that axe runs and can fail: an input without a label is caught.
    nurse.evaluate("() => { const i = document.createElement('input'); i.id = 'canary'; "
                   "document.querySelector('main').appendChild(i); }")
    assert "label" in [violation["id"] for violation in axe_violations(nurse)]
    nurse.evaluate("document.getElementById('canary').remove()")
    audit(nurse, "login", response, 200)
    response = sign_in(nurse, NURSE, "not the password at all")
    expect(nurse.get_by_role("alert")).to_have_text("Email or password is incorrect.")
    audit(nurse, "login, wrong password", response, 401)
    response = sign_in(nurse, NURSE)
    audit(nurse, "board", response, 200)
    audit(nurse, "board, overdue", nurse.goto("/staff/?filter=overdue"), 200)
    audit(nurse, "board, nothing matches", nurse.goto("/staff/?filter=sms_failed"), 200)
    expect(nurse.get_by_text("No participants match this filter.")).to_be_visible()

    # A participant page, with an SMS in its timeline and a contact in its log.
    audit(nurse, "participant", nurse.goto("/staff/participants/P-001"), 200)
    submit(nurse, "Record")
    expect(nurse.locator("ul.log li")).to_have_count(1)
    audit(nurse, "participant, after an action")
    audit(nurse, "participant, nothing open", nurse.goto("/staff/participants/P-002"), 200)

    # Withdrawing without ticking the box: refused, nothing changed.
    nurse.goto("/staff/participants/P-001")
    nurse.get_by_label("Reason").fill("Moved abroad")
    # The browser itself stops it (the box is required)...
    posts = []
    nurse.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    nurse.get_by_role("button", name="Withdraw P-001").tap()
    box = nurse.get_by_label("Stop all reminders; keep the data collected so far")
    assert box.evaluate("b => b.validity.valueMissing") is True
    assert posts == []
    # ...and so does the server, should that check be skipped (form.submit() runs none).
    with nurse.expect_navigation() as navigation:
        box.evaluate("b => b.form.submit()")
    response = navigation.value
    expect(nurse.get_by_role("alert")).to_contain_text("Nothing was changed")
    expect(nurse.get_by_role("alert")).to_contain_text("confirm")
    audit(nurse, "participant, withdraw not confirmed", response, 400)
    assert trial.query("SELECT status FROM participants WHERE study_id = 'P-001'") == [{"status": "active"}]

    # The link and its QR code.
    nurse.goto("/staff/participants/P-001")
    response = submit(nurse, "Show the link and QR code")
    expect(nurse.get_by_role("heading", level=1)).to_have_text("P-001: day1 link")
    expect(nurse.locator("a.url")).to_have_text(re.compile(r"^https://pro\.example\.org/f/[A-Za-z0-9_-]+$"))
    audit(nurse, "link and QR code", response, 200)
    # The whole code is drawn inside its box (a clipped code does not scan).
    svg = nurse.locator(".qr svg")
    box, drawn = svg.bounding_box(), svg.locator("path").bounding_box()
    assert box["width"] >= 180 and abs(box["width"] - box["height"]) < 1, box
    assert drawn["x"] >= box["x"] - 0.5 and drawn["y"] >= box["y"] - 0.5
    assert drawn["x"] + drawn["width"] <= box["x"] + box["width"] + 0.5
    assert drawn["y"] + drawn["height"] <= box["y"] + box["height"] + 0.5
    assert page_overflow(nurse)["scroll"] <= 391

    # Enrollment, as an investigator: errors, then a participant randomized.
    db = open_db(app.config["DATABASE"])
    try:
        allocation.generate_list(db, seed=7, per_stratum=8, actor="test", now=clock())
    finally:
        db.close()
    investigator = new_page(bypass_csp=True)
    sign_in(investigator, INVESTIGATOR)
    audit(investigator, "enroll", investigator.goto("/staff/enroll"), 200)
    # A field's hint is its description, so a screen reader reads it with the field.
    phone_field = investigator.get_by_label("Mobile phone (with country code)", exact=True)
    expect(phone_field).to_have_accessible_description("With the country code, e.g. +20 100 123 4567")
    response = submit(investigator, "Enroll")
    expect(investigator.get_by_role("alert")).to_contain_text("Nothing was stored")
    expect(investigator.locator("p.error")).to_have_count(3)  # study ID, punctures, procedure date
    audit(investigator, "enroll, errors", response, 400)
    investigator.get_by_label("Study ID", exact=True).fill("P-010")
    investigator.get_by_label("Number of puncture points", exact=True).fill("2")
    investigator.get_by_label("Procedure date", exact=True).fill("2026-03-20")
    investigator.get_by_label("Time zone", exact=True).fill("Mars/Olympus")
    response = submit(investigator, "Enroll")
    expect(investigator.locator("#timezone-error")).to_be_visible()
    # ...and an error joins the hint in the description.
    expect(investigator.get_by_label("Time zone", exact=True)).to_have_accessible_description(
        re.compile(r"^IANA name, e\.g\. Africa/Cairo unknown IANA time zone 'Mars/Olympus'"))
    audit(investigator, "enroll, service error", response, 400)
    investigator.get_by_label("Time zone", exact=True).fill("Africa/Cairo")
    investigator.get_by_label("Mobile phone (with country code)", exact=True).fill("+20 100 123 4567")
    response = submit(investigator, "Enroll")
    expect(investigator).to_have_url(re.compile(r"/staff/participants/P-010$"))
    expect(investigator.locator(".flash")).to_have_text(re.compile(r"^P-010 randomized to arm [AB] "))
    audit(investigator, "participant, just enrolled", response, 200)

    # The audit log, as an administrator: all, filtered, and a bad date.
    admin = new_page(bypass_csp=True)
    sign_in(admin, ADMIN)
    audit(admin, "audit log", admin.goto("/staff/audit"), 200)
    response = admin.goto("/staff/audit?action=log_contact")
    expect(admin.locator("table tbody tr")).to_have_count(1)
    audit(admin, "audit log, filtered", response, 200)
    response = admin.goto("/staff/audit?since=2026-02-31")
    expect(admin.locator("#since-error")).to_have_text("Not a valid date value.")
    audit(admin, "audit log, bad date", response, 400)
    # A nurse may not read it.
    audit(nurse, "audit log, not allowed", nurse.goto("/staff/audit"), 403)

    assert len(found) == 18
    bad = {name: violations for name, violations in found.items() if violations}
    assert bad == {}, json.dumps(bad, indent=1)
