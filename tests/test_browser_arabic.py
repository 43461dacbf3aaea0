"""A patient completes baseline in Arabic in real Chromium at a phone viewport: the VAS line by
touch right to left, the ODI, medication with Arabic-Indic digits. The same taps in English store
the same values; axe finds nothing on any Arabic page; each Arabic page is kept as a screenshot."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from app import create_app
from tests.browser_support import CHROMIUM, axe_violations

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}")]

SHOTS = Path(__file__).resolve().parent / "artifacts" / "screenshots"
PICKS = (3, 1, 4, 1, 5, 0, 2, 2, 3, 5)
TOLERANCE_MM = 1


@pytest.fixture
def app(db_path, clock):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                       "BASE_URL": "https://pro.example.org", "LANGUAGES": ["en", "ar"]})


def save(page) -> None:
    """The form's own submit button (the language switch has buttons too)."""
    with page.expect_navigation():
        page.locator("form:not(.lang) button[type=submit]").tap()


def tap_from_no_pain(page, fraction: float) -> None:
    """Tap the line `fraction` of its length from its "no pain" end: the right in RTL."""
    page.locator("#vas-track").scroll_into_view_if_needed()
    line = page.locator("#vas-track .vas-line").bounding_box()
    track = page.locator("#vas-track").bounding_box()
    rtl = page.locator("#vas-track").evaluate("t => getComputedStyle(t).direction") == "rtl"
    x = line["x"] + (1 - fraction if rtl else fraction) * line["width"]
    page.locator("#vas-track").tap(position={"x": x - track["x"], "y": line["y"] + 1 - track["y"]})


def complete_baseline(page, token: str, digits: tuple[str, str], shoot: str | None = None) -> list[dict]:
    found = []

    def check(name: str) -> None:
        if shoot:
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / f"{shoot}-{name}.png"), full_page=True)
            found.append({"page": name, "violations": axe_violations(page),
                          "wider": page.evaluate("document.documentElement.scrollWidth") > 390})

    page.goto(f"/f/{token}")
    check("vas")
    tap_from_no_pain(page, 0.70)
    save(page)
    sections = page.locator("form:not(.lang) fieldset")
    assert sections.count() == 10
    for section, pick in enumerate(PICKS):
        sections.nth(section).locator("label.card").nth(pick).tap()
    check("odi")
    save(page)
    page.locator("label.card input[value=yes]").locator("xpath=..").tap()
    page.locator("#drug_1").select_option("diclofenac")
    page.locator("#strength_1").fill(digits[0])
    page.locator("#doses_1").fill(digits[1])
    check("medication")
    save(page)
    check("thanks")
    page.goto(f"/f/{token}/vas")
    check("vas-review")
    return found


def answers_of(trial, study_id: str) -> dict:
    rows = trial.query("SELECT r.instrument, r.answers FROM responses r JOIN participants p "
                       "ON p.id = r.participant_id WHERE p.study_id = ? ORDER BY r.id", [study_id])
    return {row["instrument"]: json.loads(row["answers"]) for row in rows}


def test_arabic_baseline_stores_what_the_same_taps_store_in_english(new_page, trial):
    trial.enroll("P-AR", language="ar")
    trial.enroll("P-EN", language="en")
    arabic = new_page(bypass_csp=True, locale="ar-EG")
    checks = complete_baseline(arabic, trial.link("P-AR", "baseline"), ("٥٠", "٢"), shoot="ar")
    english = new_page(bypass_csp=True)
    complete_baseline(english, trial.link("P-EN", "baseline"), ("50", "2"))

    assert [c["page"] for c in checks] == ["vas", "odi", "medication", "thanks", "vas-review"]
    assert {c["page"]: c["violations"] for c in checks if c["violations"]} == {}
    assert [c["page"] for c in checks if c["wider"]] == []
    ar, en = answers_of(trial, "P-AR"), answers_of(trial, "P-EN")
    assert abs(ar["vas"]["value"] - 70) <= TOLERANCE_MM and abs(ar["vas"]["value"] - en["vas"]["value"]) <= 1
    assert ar["odi"] == en["odi"] == {f"odi_{n}": pick for n, pick in enumerate(PICKS, 1)}
    assert ar["medication"] == en["medication"] == {
        "took_any": "yes", "items": [{"drug": "diclofenac", "strength_mg": 50.0, "doses_per_day": 2}]}


def test_arabic_pages_are_right_to_left_with_the_keyboard_following_the_line(new_page, trial):
    trial.enroll("P-AR", language="ar")
    page = new_page(bypass_csp=True, locale="ar-EG")
    page.goto(f"/f/{trial.link('P-AR', 'baseline')}")
    assert page.evaluate("[document.documentElement.lang, document.documentElement.dir]") == ["ar", "rtl"]
    track = page.locator("#vas-track")
    track.focus()
    page.keyboard.press("ArrowLeft")          # first key: the middle
    page.keyboard.press("ArrowLeft")          # right to left: away from "no pain", so more pain
    assert track.get_attribute("aria-valuenow") == "51"
    thumb, line = page.locator("#vas-thumb").bounding_box(), page.locator("#vas-track .vas-line").bounding_box()
    centre = thumb["x"] + thumb["width"] / 2
    assert abs((line["x"] + line["width"] - centre) / line["width"] * 100 - 51) <= 1   # measured from the right
