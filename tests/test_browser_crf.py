"""The clinician pages in a real browser: headless Chromium at a phone's width (390 CSS px, touch).

An investigator records P-001's procedure (choosing CT hides the fluoroscopy dose fields, and what
was typed in them is not sent), corrects it with a reason, records a serious complication, and
acknowledges it from the board. axe-core checks every state of each page (new, error, saved,
correction); no state is wider than the phone. The dose fields' switch also runs under the app's
own strict CSP. A screenshot of each state is kept in tests/artifacts/screenshots/crf-*.png.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from app import create_app
from tests.browser_support import CHROMIUM, PHONE, RECORD_CSP_VIOLATIONS, ConsoleLog, axe_violations
from tests.staff_support import PASSWORD, create_staff

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
INVESTIGATOR = "investigator@hospital.example"
NURSE = "nurse@hospital.example"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def enrolled(app, clock, trial):
    """Staff of every role, and P-001 in arm A (fluoroscopy), enrolled and operated today."""
    create_staff(app, clock)
    trial.enroll("P-001", arm="A", procedure_date=clock().date())
    return "P-001"


def sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()


def submit(page, button: str):
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name=button, exact=True).tap()
    return navigation.value


def checked(page, name: str, response=None, status: int | None = None) -> None:
    """One page state: the status it came with, axe clean, no wider than the phone, a screenshot."""
    if status is not None:
        assert response is not None and response.status == status, (name, response and response.status)
    violations = axe_violations(page)
    assert violations == [], f"{name}: " + json.dumps(violations, indent=1)
    sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert sizes["inner"] == PHONE["viewport"]["width"] and sizes["scroll"] <= sizes["inner"], (name, sizes)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"crf-{name}.png", full_page=True, scale="css")


def dose_fields(page, modality: str):
    return page.locator(f"fieldset[data-modality={modality}]")


def test_an_investigator_records_a_procedure_and_a_complication(new_page, enrolled, trial):
    page = new_page(bypass_csp=True)
    log = ConsoleLog(page)
    sign_in(page, INVESTIGATOR)
    page.goto("/staff/participants/P-001")
    clinical = page.locator("section.clinical")
    expect(clinical.locator("li")).to_have_text(["Baseline characteristics: not recorded",
                                                 "Procedure record: not recorded"])
    with page.expect_navigation():
        clinical.get_by_role("link", name="Procedure record").tap()

    # New: arm A's guidance is chosen, so only the fluoroscopy dose fields show.
    expect(page.get_by_role("heading", level=1)).to_have_text("Procedure record P-001 · Arm A: Fluoroscopy-guided")
    expect(page.get_by_role("radio", name="Fluoroscopy")).to_be_checked()
    expect(dose_fields(page, "fluoroscopy")).to_be_visible()
    expect(dose_fields(page, "ct")).to_be_hidden()
    expect(page.get_by_label("Temperature (°C)")).to_have_value("42")
    expect(page.get_by_label("Procedure date")).to_have_value("2026-03-02")
    checked(page, "procedure-new")

    # A DAP typed, then CT chosen: the fluoroscopy fields hide (and are not sent), CT's show.
    page.get_by_label("Dose-area product, DAP (mGy·cm²)").fill("300")
    page.get_by_role("radio", name="CT", exact=True).tap()
    expect(dose_fields(page, "fluoroscopy")).to_be_hidden()
    expect(page.get_by_label("Dose-area product, DAP (mGy·cm²)")).to_be_disabled()
    expect(dose_fields(page, "ct")).to_be_visible()
    page.get_by_label("Operators").fill("Dr Amin, Dr Saleh")
    page.get_by_label("Puncture points").fill("2")
    page.get_by_label("L4", exact=True).select_option("left")
    page.get_by_label("L5", exact=True).select_option("bilateral")
    page.get_by_label("Sacroiliac joint injection").select_option("none")
    page.get_by_label("Operative time (min)").fill("0")
    page.get_by_label("CTDIvol (mGy)").fill("9.5")
    page.get_by_label("Dose-length product, DLP (mGy·cm)").fill("347.5")
    page.get_by_role("radio", name="No", exact=True).tap()
    page.get_by_label("Methylprednisolone acetate (mg)").fill("80")
    response = submit(page, "Save the procedure record")

    # Error: the one bad field is named, at the top (a link to it) and beside it; nothing else.
    alert = page.get_by_role("alert")
    expect(alert).to_have_text(re.compile(r"Nothing was stored\. Please check:\s*"
                                          r"Operative time \(min\): 0 is implausible: more than 0 min to 600 min"))
    expect(page.locator("p.error")).to_have_count(1)
    expect(page.get_by_label("Operative time (min)")).to_have_accessible_description(
        "0 is implausible: more than 0 min to 600 min")
    expect(page.get_by_role("radio", name="CT", exact=True)).to_be_checked()
    expect(dose_fields(page, "fluoroscopy")).to_be_hidden()
    expect(page.get_by_label("Operators")).to_have_value("Dr Amin, Dr Saleh")
    checked(page, "procedure-error", response, 400)
    assert trial.query("SELECT COUNT(*) AS n FROM crf_records") == [{"n": 0}]

    # Saved: what is worked out from it, including the guidance that departs from arm A's.
    page.get_by_label("Operative time (min)").fill("30")
    response = submit(page, "Save the procedure record")
    expect(page.locator(".flash")).to_have_text("Procedure record saved.")
    derived = page.locator("dl.derived")
    expect(derived.locator("dd")).to_have_text(["15.0 min", "5.21 mSv",
                                                "Guided by CT, not as allocated (arm A: Fluoroscopy-guided)"])
    expect(page.locator("details.correct")).not_to_have_attribute("open", "")
    checked(page, "procedure-saved", response, 200)
    [record] = trial.query("SELECT version, data FROM crf_records WHERE form = 'procedure'")
    data = json.loads(record["data"])
    assert (data["guidance"], data["dap_mgycm2"], data["dlp_mgycm"], data["operative_min"]) == ("ct", None, 347.5, 30)

    # Correction: the current values, CT's fields only, and the reason it needs.
    page.locator("details.correct > summary").tap()
    expect(page.get_by_label("Operative time (min)")).to_have_value("30")
    expect(dose_fields(page, "fluoroscopy")).to_be_hidden()
    expect(page.get_by_label("CTDIvol (mGy)")).to_have_value("9.5")
    checked(page, "procedure-correction")
    page.get_by_label("Operative time (min)").fill("36")
    page.get_by_label("Reason for the change").fill("Read from the anaesthesia chart")
    response = submit(page, "Save the correction")
    expect(page.locator(".flash")).to_have_text("Procedure record corrected: version 2.")
    expect(derived.locator("dd").first).to_have_text("18.0 min")
    versions = page.locator("ol.versions > li")
    expect(versions).to_have_count(2)
    expect(versions.first.locator(".meta")).to_have_text(re.compile(rf"^Version 2: 02 Mar 2026.* 12:00.*, "
                                                                   rf"{re.escape(INVESTIGATOR)} \(current\)$"))
    expect(versions.first).to_contain_text("Why: Read from the anaesthesia chart")
    expect(versions.first.locator(".diff li")).to_have_text(["Operative time (min): 30 → 36"])
    checked(page, "procedure-corrected", response, 200)

    # A complication: a new event, refused once for its missing answers, then saved.
    with page.expect_navigation():
        page.get_by_role("link", name="Back to P-001").tap()
    with page.expect_navigation():
        page.get_by_role("link", name="Record an adverse event").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("New adverse event P-001 · Arm A: Fluoroscopy-guided")
    checked(page, "event-new")
    response = submit(page, "Save the adverse event")
    expect(page.get_by_role("alert").locator("li a")).to_have_text(
        ["Event", "Onset date", "Grade", "Serious", "Related to the procedure"])
    checked(page, "event-error", response, 400)
    page.get_by_role("radio", name="Discitis or neuritis").tap()
    page.get_by_label("Onset date").fill("2026-03-02")
    page.get_by_role("radio", name="Grade 3, severe").tap()
    page.get_by_role("group", name="Serious").get_by_role("radio", name="Yes", exact=True).tap()
    page.get_by_label("Related to the procedure").select_option("possible")
    response = submit(page, "Save the adverse event")
    expect(page).to_have_url(re.compile(r"/staff/participants/P-001/events/1$"))
    expect(page.locator(".flash")).to_have_text("Adverse event saved.")
    expect(page.locator(".serious-notice")).to_contain_text("Serious, not yet acknowledged by an investigator.")
    checked(page, "event-saved", response, 200)

    # The board puts it first, until the investigator acknowledges it there.
    page.goto("/staff/")
    serious = page.locator("section.serious")
    expect(serious.locator("li p")).to_have_text("P-001: Discitis or neuritis, grade 3, severe, onset 2026-03-02")
    checked(page, "board-serious")
    with page.expect_navigation():
        serious.get_by_role("button", name="Acknowledge P-001's discitis or neuritis").tap()
    expect(page.locator(".flash")).to_have_text("P-001's adverse event 1 acknowledged.")
    expect(page.locator("section.serious")).to_have_count(0)
    assert [row["actor"] for row in trial.query("SELECT actor FROM audit_log WHERE action = 'acknowledge_event'")] \
        == [INVESTIGATOR]
    # The browser reports each 400 page it was sent (the two refused forms); nothing else went wrong.
    assert [e for e in log.errors if "status of 400" not in e] == []
    assert len(log.errors) == 2


def test_the_dose_fields_switch_under_the_apps_own_csp(new_page, enrolled, trial, clock):
    """No bypass_csp: staff.js loads and runs, and nothing is refused."""
    page = new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(page)
    sign_in(page, INVESTIGATOR)
    response = page.goto("/staff/participants/P-001/procedure")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    expect(dose_fields(page, "ct")).to_be_hidden()
    page.get_by_role("radio", name="CT", exact=True).tap()
    expect(dose_fields(page, "fluoroscopy")).to_be_hidden()
    expect(dose_fields(page, "ct")).to_be_visible()
    page.get_by_role("radio", name="Fluoroscopy").tap()
    expect(dose_fields(page, "ct")).to_be_hidden()
    expect(page.get_by_label("CTDIvol (mGy)")).to_be_disabled()
    assert page.evaluate("window.__cspViolations") == []
    assert log.errors == []


def test_without_javascript_both_dose_sets_show_and_the_server_names_the_wrong_one(new_page, enrolled, trial):
    page = new_page(java_script_enabled=False)
    sign_in(page, INVESTIGATOR)
    page.goto("/staff/participants/P-001/procedure")
    expect(dose_fields(page, "fluoroscopy")).to_be_visible()
    expect(dose_fields(page, "ct")).to_be_visible()
    page.get_by_label("Operators").fill("Dr Amin")
    page.get_by_label("Puncture points").fill("2")
    page.get_by_label("Sacroiliac joint injection").select_option("none")
    page.get_by_label("Operative time (min)").fill("30")
    page.get_by_label("Dose-area product, DAP (mGy·cm²)").fill("352")
    page.get_by_label("CTDIvol (mGy)").fill("9.5")
    page.get_by_role("radio", name="No", exact=True).click()
    response = submit(page, "Save the procedure record")
    assert response.status == 400
    expect(page.locator("#ctdivol_mgy-error")).to_have_text("a CT dose on a fluoroscopy record")
    assert trial.query("SELECT COUNT(*) AS n FROM crf_records") == [{"n": 0}]


def test_a_nurse_sees_a_serious_event_on_the_board_without_the_button(new_page, enrolled, trial):
    page = new_page(bypass_csp=True)
    sign_in(page, NURSE)
    page.goto("/staff/participants/P-001/events/new")
    page.get_by_role("radio", name="Abscess").tap()
    page.get_by_label("Onset date").fill("2026-03-02")
    page.get_by_role("radio", name="Grade 4, life-threatening").tap()
    page.get_by_role("group", name="Serious").get_by_role("radio", name="Yes", exact=True).tap()
    page.get_by_label("Related to the procedure").select_option("probable")
    submit(page, "Save the adverse event")
    expect(page.locator(".serious-notice")).to_contain_text("Serious, not yet acknowledged by an investigator.")
    expect(page.get_by_role("button", name="Acknowledge")).to_have_count(0)
    page.goto("/staff/")
    serious = page.locator("section.serious")
    expect(serious.locator("li p")).to_have_text("P-001: Abscess, grade 4, life-threatening, onset 2026-03-02")
    expect(serious.get_by_role("button")).to_have_count(0)
    expect(serious).to_contain_text("An investigator acknowledges each one.")
    checked(page, "board-serious-nurse")
