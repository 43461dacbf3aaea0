"""Correcting an answer in a real browser: headless Chromium at a phone's width (390 CSS px, touch).

An investigator opens P-001's baseline pain answer from the timeline, saves an out-of-range value
(refused with the instrument's message, nothing stored), then a valid one without a reason
(refused), then with a reason: a new version, the timeline says so, and the page lists both
versions with the reason. axe-core checks every state; no state is wider than the phone. A
screenshot of each state is kept in tests/artifacts/screenshots/correction-*.png.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import create_app
from services import answers
from storage import participants
from storage.connection import open_db
from tests.browser_support import CHROMIUM, PHONE, ConsoleLog, axe_violations
from tests.staff_support import PASSWORD, create_staff

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

SCREENSHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def answered(app, clock, trial):
    """Staff of every role; P-001 enrolled, their baseline pain answered: 45 mm on the line."""
    create_staff(app, clock)
    trial.enroll("P-001", arm="A", procedure_date=clock().date())
    db = open_db(app.config["DATABASE"])
    try:
        assert answers.submit(db, app.extensions["protocol"], participant=participants.by_study_id(db, "P-001"),
                              timepoint_id="baseline", instrument_id="vas", answers={"mode": "line", "value": 45},
                              input_mode="web", now=clock()) == answers.SAVED
    finally:
        db.close()


def sign_in(page, email: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()


def save(page):
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Save the correction", exact=True).tap()
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
    page.screenshot(path=SCREENSHOTS / f"correction-{name}.png", full_page=True, scale="css")


def test_an_investigator_corrects_an_answer_from_the_timeline(new_page, answered, trial):
    page = new_page(bypass_csp=True)   # axe-core is injected as an inline script
    log = ConsoleLog(page)
    sign_in(page, "investigator@hospital.example")
    page.goto("/staff/participants/P-001")
    checked(page, "timeline")
    with page.expect_navigation():
        page.locator("ol.timeline").get_by_role("link", name="Pain (visual analogue scale)").tap()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Pain (visual analogue scale) at")
    expect(page.get_by_label("Value: millimetres on the line (0 to 100), or the number (0 to 10)")).to_have_value("45")
    expect(page.get_by_role("radio", name="On the 100 mm line")).to_be_checked()
    checked(page, "open")

    value = page.get_by_label("Value: millimetres on the line (0 to 100), or the number (0 to 10)")
    value.fill("150")
    page.get_by_label("Reason for the change").fill("paper form misread")
    response = save(page)
    expect(page.get_by_role("alert")).to_contain_text("Please mark your pain on the line.")
    expect(value).to_have_accessible_description("Please mark your pain on the line.")
    checked(page, "out-of-range", response, 400)

    value.fill("62")
    page.get_by_label("Reason for the change").fill("")
    response = save(page)
    expect(page.get_by_label("Reason for the change")).to_have_accessible_description(
        "Required: what was wrong, and how it is known Say why the answer is corrected.")
    checked(page, "no-reason", response, 400)
    assert [row["version"] for row in trial.query("SELECT version FROM responses")] == [1]

    page.get_by_label("Reason for the change").fill("paper form misread: 62 mm")
    response = save(page)
    assert response.status == 200 and page.url.endswith("/staff/participants/P-001")
    expect(page.locator("ol.timeline")).to_contain_text("(corrected, version 2)")
    checked(page, "saved")

    with page.expect_navigation():
        page.locator("ol.timeline").get_by_role("link", name="Pain (visual analogue scale)").tap()
    versions = page.locator("ol.versions > li")
    expect(versions).to_have_count(2)
    expect(versions.first).to_contain_text("Why: paper form misread: 62 mm")
    expect(versions.first).to_contain_text("45 → 62")
    checked(page, "versions")
    # The refused saves came back 400, as they should; nothing else went wrong on the pages.
    assert [error for error in log.errors if "status of 400" not in error] == []
