"""The patient pages in a real browser: a phone-sized headless Chromium, driven by touch.

The app runs on a real HTTP server in a thread (its `app` fixture: a temp SQLite file and a
clock set to 2026-03-02 12:00 UTC). Pages are checked under their own strict CSP, except
where axe-core is injected (that needs bypass_csp=True, so it proves nothing about the CSP).
"""
from __future__ import annotations

import json
import os
import re
import time
from datetime import timedelta

import pytest

from tests.browser_support import (CHROMIUM, RECORD_CSP_VIOLATIONS, ConsoleLog,
                                   axe_violations)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

TOLERANCE_MM = 3
SAVE = "Save and continue"
SEND = "Send my answers"


# --- fixtures ---------------------------------------------------------------------------------

# browser, live_server and new_page are fixtures of tests/conftest.py.


# --- helpers ----------------------------------------------------------------------------------

def stored(trial) -> dict[str, dict]:
    rows = trial.query("SELECT instrument, input_mode, answers, scores FROM responses ORDER BY id")
    return {row["instrument"]: {"input_mode": row["input_mode"], "answers": json.loads(row["answers"]),
                                "scores": json.loads(row["scores"])} for row in rows}


def count_responses(trial) -> int:
    return trial.query("SELECT count(*) AS n FROM responses")[0]["n"]


def line_box(page) -> dict:
    """The drawn line's box (the track around it is wider: it has padding to catch the ends)."""
    page.locator("#vas-track").scroll_into_view_if_needed()
    return page.locator("#vas-track .vas-line").bounding_box()


def tap_line(page, fraction: float) -> float:
    """Tap the VAS line `fraction` of the way along it; the x tapped (viewport CSS px)."""
    line = line_box(page)
    track = page.locator("#vas-track").bounding_box()
    x = line["x"] + fraction * line["width"]
    page.locator("#vas-track").tap(position={"x": x - track["x"], "y": line["y"] + 1 - track["y"]})
    return x


def value_now(page) -> int:
    return int(page.locator("#vas-track").get_attribute("aria-valuenow"))


def tap_button(page, name: str) -> None:
    page.get_by_role("button", name=name).tap()


def assert_csp_clean(page, log: ConsoleLog) -> None:
    """The page loaded under its CSP header, and nothing of it was refused."""
    assert page.evaluate("window.__cspViolations") == []
    assert log.csp() == []


class Finger:
    """One finger on the touch screen, through CDP `Input.dispatchTouchEvent`.

    Events carry timestamps 50 ms apart, the pace of a deliberate movement. Without them they
    all arrive at once, the browser computes a huge velocity and starts a fling, and a real
    phone's rule then applies: the next tap only stops the fling and clicks nothing.
    """

    STEP_S = 0.05

    def __init__(self, cdp):
        self.cdp, self.at, self.point = cdp, time.time(), None

    def _send(self, kind: str, wait: float | None = None) -> None:
        self.at += self.STEP_S if wait is None else wait
        points = [] if kind == "touchEnd" else [self.point]
        self.cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points, "timestamp": self.at})

    def down(self, x: float, y: float) -> None:
        self.point = {"x": x, "y": y}
        self._send("touchStart")

    def move(self, x: float, y: float) -> None:
        self.point = {"x": x, "y": y}
        self._send("touchMove")

    def up(self, hold: float = 0.3) -> None:
        """Rest still for `hold` seconds, then lift: no fling."""
        self._send("touchMove", wait=hold)
        self._send("touchEnd")


# --- the patient's path -----------------------------------------------------------------------

def test_patient_completes_baseline_by_tapping(new_page, trial):
    """No bypass_csp here: the page's own inline CSS and JS must run under its strict CSP."""
    trial.enroll()
    token = trial.link()
    page = new_page()
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(page)

    response = page.goto(f"/f/{token}")
    assert response.status == 200 and page.url.endswith(f"/f/{token}/vas")
    policy = response.headers["content-security-policy"]
    assert re.search(r"script-src 'self' 'sha256-[A-Za-z0-9+/=]+'", policy)
    assert re.search(r"style-src 'self' 'sha256-[A-Za-z0-9+/=]+'", policy)
    # The inline CSS applied (the button is styled) and the inline JS ran (the line replaced
    # the numeric scale).
    assert page.locator("button[type=submit]").evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(11, 92, 173)"
    expect(page.locator("#vas-line")).to_be_visible()
    expect(page.locator("#vas-nrs")).to_be_hidden()
    assert page.locator("#vas-mode").input_value() == "line"
    expect(page.locator(".progress")).to_have_text("Form 1 of 3")
    assert_csp_clean(page, log)

    # VAS: tap 70% along the line.
    x = tap_line(page, 0.70)
    thumb = page.locator("#vas-thumb")
    expect(thumb).to_be_visible()
    mark = value_now(page)
    assert abs(mark - 70) <= TOLERANCE_MM
    assert page.locator("#vas-mm").input_value() == str(mark)
    assert page.locator("#vas-track").get_attribute("aria-valuetext") is None
    thumb_box = thumb.bounding_box()
    assert abs(thumb_box["x"] + thumb_box["width"] / 2 - x) <= 2, "the mark is drawn where the line was tapped"
    tap_button(page, SAVE)

    # ODI: one card tapped in each of the ten sections.
    expect(page).to_have_url(re.compile(rf"/f/{token}/odi$"))
    expect(page.locator(".progress")).to_have_text("Form 2 of 3")
    assert_csp_clean(page, log)
    picks = (3, 1, 4, 1, 5, 0, 2, 2, 3, 5)
    sections = page.locator("form fieldset")
    assert sections.count() == 10
    for section, pick in enumerate(picks):
        cards = sections.nth(section).locator("label.card")
        assert cards.count() == 6
        cards.nth(pick).tap()
        expect(cards.nth(pick).locator("input")).to_be_checked()
    tap_button(page, SAVE)

    # Medication: yes, tramadol 50 mg twice a day.
    expect(page).to_have_url(re.compile(rf"/f/{token}/medication$"))
    expect(page.locator(".progress")).to_have_text("Form 3 of 3")
    assert_csp_clean(page, log)
    page.locator("label.card").filter(has_text=re.compile(r"^\s*Yes\s*$")).tap()
    page.locator("#drug_1").select_option("tramadol")
    page.locator("#strength_1").tap()
    page.locator("#strength_1").fill("50")
    page.locator("#doses_1").fill("2")
    tap_button(page, SEND)

    expect(page).to_have_url(re.compile(rf"/f/{token}$"))
    expect(page.locator("h1")).to_have_text("Thank you")
    assert_csp_clean(page, log)
    assert log.errors == []

    answers = stored(trial)
    assert list(answers) == ["vas", "odi", "medication"]
    assert answers["vas"] == {"input_mode": "line", "answers": {"mode": "line", "value": mark},
                              "scores": {"vas_mm": mark, "vas_cm": mark / 10, "vas_mode": "line"}}
    assert answers["odi"]["input_mode"] == "web"
    assert answers["odi"]["answers"] == {f"odi_{n}": pick for n, pick in enumerate(picks, 1)}
    expected_odi = sum(picks) / (5 * len(picks)) * 100
    assert expected_odi == 52.0
    assert answers["odi"]["scores"] == {"odi_score": expected_odi, "odi_band": "severe", "odi_answered": 10}
    assert answers["medication"]["answers"] == {
        "took_any": "yes", "items": [{"drug": "tramadol", "strength_mg": 50.0, "doses_per_day": 2}]}
    assert answers["medication"]["scores"] == {"mme_mg_day": 20.0, "nsaid_mg_day": 0.0, "paracetamol_mg_day": 0.0}

    # Opened again, the VAS is a read-only review drawing the mark at the stored value.
    page.goto(f"/f/{token}/vas")
    expect(page.locator("form")).to_have_count(0)
    drawn = page.get_by_role("img", name="Your mark on the line").locator("line").last
    assert drawn.get_attribute("x1") == drawn.get_attribute("x2") == str(mark)
    assert_csp_clean(page, log)
    assert log.errors == []


def test_untouched_vas_is_refused(new_page, trial):
    trial.enroll()
    token = trial.link()
    page = new_page()
    posts = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    page.goto(f"/f/{token}/vas")
    error = page.locator("#vas-error")
    expect(error).to_be_hidden()

    # The script stops the submission, shows the message and puts the focus on the line.
    tap_button(page, SAVE)
    expect(error).to_be_visible()
    expect(error).to_have_text("Please mark your pain on the line.")
    expect(page.locator("#vas-track")).to_be_focused()
    assert page.url.endswith(f"/f/{token}/vas")
    assert posts == []
    assert count_responses(trial) == 0

    # The server refuses it too, should the script's check be skipped (form.submit() fires no
    # submit event): the same page again, with status 400 and the message.
    with page.expect_navigation() as navigation:
        page.evaluate("document.querySelector('form').submit()")
    assert navigation.value.status == 400
    assert page.url.endswith(f"/f/{token}/vas")
    expect(page.locator("#vas-error")).to_be_visible()
    expect(page.locator(".alert")).to_have_text("Please check the questions marked below.")
    expect(page.locator("#vas-thumb")).to_be_hidden()
    assert count_responses(trial) == 0

    # Marking the line clears the message, and the form then goes through.
    tap_line(page, 0.25)
    expect(page.locator("#vas-error")).to_be_hidden()
    tap_button(page, SAVE)
    expect(page).to_have_url(re.compile(rf"/f/{token}/odi$"))
    vas = stored(trial)["vas"]
    assert vas["input_mode"] == "line" and abs(vas["answers"]["value"] - 25) <= TOLERANCE_MM


def test_line_shows_no_mark_numbers_or_ticks_before_touch(new_page, trial):
    trial.enroll()
    token = trial.link()
    page = new_page()
    page.goto(f"/f/{token}/vas")
    track = page.locator("#vas-track")
    expect(track).to_be_visible()
    expect(page.locator("#vas-thumb")).to_be_hidden()
    assert page.locator("#vas-mm").input_value() == ""
    assert track.get_attribute("aria-valuetext") == "Not marked yet"
    # The 0-10 scale is gone, and nothing with a digit is shown anywhere on the page.
    expect(page.locator("#vas-nrs")).to_be_hidden()
    assert not re.search(r"\d", page.locator("main form").inner_text())
    # The track holds only the line and the (hidden) mark: no tick or number elements, and
    # no background drawing ticks; the line's pseudo-elements are just its two end stops.
    assert track.evaluate("t => Array.from(t.querySelectorAll('*')).map(e => e.className)") == ["vas-line", "vas-thumb"]
    styles = track.evaluate("""t => {
        const line = t.querySelector('.vas-line'), out = {};
        for (const [name, el, pseudo] of [['track', t, null], ['line', line, null],
                                          ['before', line, '::before'], ['after', line, '::after']]) {
            const s = getComputedStyle(el, pseudo);
            out[name] = {image: s.backgroundImage, content: s.content, start: s.insetInlineStart,
                         end: s.insetInlineEnd};
        }
        return out;
    }""")
    assert all(style["image"] == "none" for style in styles.values())
    assert styles["before"]["content"] == styles["after"]["content"] == '""'
    assert styles["before"]["start"] == "-1.5px" and styles["after"]["end"] == "-1.5px"


def test_line_works_with_the_keyboard(new_page, trial):
    trial.enroll()
    token = trial.link()
    page = new_page()
    page.goto(f"/f/{token}/vas")
    track = page.get_by_role("slider", name="How bad is your back and leg pain right now?")
    track.focus()
    expect(page.locator("#vas-track")).to_be_focused()
    steps = [("ArrowRight", 50), ("ArrowRight", 51), ("Home", 0), ("End", 100),
             ("ArrowLeft", 99), ("PageDown", 89), ("ArrowUp", 90)]
    for key, expected in steps:
        page.keyboard.press(key)
        expect(track).to_have_attribute("aria-valuenow", str(expected))
        assert page.locator("#vas-mm").input_value() == str(expected)
    expect(page.locator("#vas-thumb")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=SAVE)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/f/{token}/odi$"))
    assert stored(trial)["vas"]["answers"] == {"mode": "line", "value": 90}


def test_scrolling_over_the_line_does_not_mark_it_but_dragging_along_it_does(new_page, trial):
    """Touches sent through CDP `Input.dispatchTouchEvent` go through Chromium's own gesture
    detection, as a finger's would: the track's `touch-action: pan-y` lets the browser take a
    vertical swipe as a page scroll, and the browser then sends the page `pointercancel`
    (patient.js's cancel path). The second swipe, a CDP synthesized touch scroll gesture,
    reaches the page here as pointer moves ended by `pointerup`, with no cancel: patient.js
    must also refuse a mostly vertical movement ending that way (its slop check), as browsers
    differ in when, or whether, they cancel. Nothing here sleeps: each CDP call returns once
    the browser has taken the input, and outcomes on the page are polled for.
    """
    trial.enroll()
    token = trial.link()
    page = new_page()
    page.goto(f"/f/{token}/vas")
    # Something to scroll to below the line (as with larger text or a longer form), so the
    # swipe really scrolls the page. Made with DOM calls: allowed under the CSP.
    page.evaluate("""() => { const spacer = document.createElement('div');
        spacer.style.blockSize = '150vh'; document.querySelector('main').appendChild(spacer); }""")
    cdp = page.context.new_cdp_session(page)
    try:
        finger = Finger(cdp)
        line = line_box(page)
        x, y = line["x"] + 0.5 * line["width"], line["y"] + 1
        assert page.evaluate("window.scrollY") == 0

        # A finger swipe up, starting on the line: the page scrolls, the line stays unmarked.
        finger.down(x, y)
        for step in range(1, 11):
            finger.move(x + step % 2, y - 15 * step)
        finger.up()
        page.wait_for_function("() => window.scrollY > 0")
        line = line_box(page)
        y = line["y"] + 1
        cdp.send("Input.synthesizeScrollGesture", {"x": x, "y": y, "yDistance": -150, "xDistance": 4,
                                                   "gestureSourceType": "touch", "speed": 800})
        assert page.locator("#vas-mm").input_value() == ""
        expect(page.locator("#vas-thumb")).to_be_hidden()
        assert page.locator("#vas-track").get_attribute("aria-valuetext") == "Not marked yet"

        # A drag along the line, from 20% to 80%: the mark follows the finger.
        page.evaluate("window.scrollTo(0, 0)")
        page.wait_for_function("() => window.scrollY === 0")
        line = line_box(page)
        y = line["y"] + 1
        start, end = line["x"] + 0.2 * line["width"], line["x"] + 0.8 * line["width"]
        finger.down(start, y)
        for step in range(1, 6):
            finger.move(start + (end - start) * step / 10, y + step % 2)
        page.wait_for_function(
            f"() => Math.abs(+document.getElementById('vas-track').getAttribute('aria-valuenow') - 50) <= {TOLERANCE_MM}")
        expect(page.locator("#vas-thumb")).to_be_visible()
        for step in range(6, 11):
            finger.move(start + (end - start) * step / 10, y)
        finger.up()
        page.wait_for_function(
            f"() => Math.abs(+document.getElementById('vas-mm').value - 80) <= {TOLERANCE_MM}")
        assert page.evaluate("window.scrollY") == 0, "a horizontal drag does not scroll the page"
    finally:
        cdp.detach()
    mark = value_now(page)
    tap_button(page, SAVE)
    expect(page).to_have_url(re.compile(rf"/f/{token}/odi$"))
    assert stored(trial)["vas"]["answers"] == {"mode": "line", "value": mark}


def test_without_javascript_the_vas_is_a_0_to_10_scale(new_page, trial):
    trial.enroll()
    token = trial.link()
    page = new_page(java_script_enabled=False)
    page.goto(f"/f/{token}/vas")
    expect(page.locator("#vas-line")).to_be_hidden()
    scale = page.locator("#vas-nrs")
    expect(scale).to_be_visible()
    expect(scale.locator("label")).to_have_text([str(n) for n in range(11)])
    scale.locator("label").filter(has=page.locator("input[value='6']")).tap()
    expect(scale.locator("input[value='6']")).to_be_checked()
    tap_button(page, SAVE)
    expect(page).to_have_url(re.compile(rf"/f/{token}/odi$"))
    assert stored(trial)["vas"] == {"input_mode": "nrs", "answers": {"mode": "nrs", "value": 6},
                                    "scores": {"vas_mm": 60, "vas_cm": 6.0, "vas_mode": "nrs"}}


# --- accessibility ----------------------------------------------------------------------------

def test_axe_finds_no_violations_on_any_patient_page(new_page, trial, clock):
    trial.enroll("P-001")
    token = trial.link("P-001")
    start = clock.now
    trial.enroll("P-002", procedure_date=start.date() - timedelta(days=7))  # week1 is open
    week1 = trial.link("P-002", "week1")
    month1 = trial.link("P-001", "month1")  # issued now, opens in about three weeks

    page = new_page(bypass_csp=True, service_workers="block")   # page.route cannot see a worker's requests
    found: dict[str, list] = {}

    def audit(name: str, status: int | None = None, response=None) -> None:
        if status is not None:
            assert response is not None and response.status == status, name
        found[name] = axe_violations(page)

    def visit(name: str, path: str, status: int = 200) -> None:
        audit(name, status, page.goto(path))

    def submit(name: str, button: str, status: int) -> None:
        with page.expect_navigation() as navigation:
            tap_button(page, button)
        audit(name, status, navigation.value)

    response = page.goto(f"/f/{token}/vas")
    # First, that axe runs and can fail: an image without a text alternative is caught.
    page.evaluate("() => { const img = document.createElement('img'); img.id = 'canary'; "
                  "img.src = 'data:image/gif;base64,R0lGODlhAQABAAAAACw='; document.body.appendChild(img); }")
    assert "image-alt" in [violation["id"] for violation in axe_violations(page)]
    page.evaluate("document.getElementById('canary').remove()")
    audit("vas", 200, response)
    tap_button(page, SAVE)
    expect(page.locator("#vas-error")).to_be_visible()
    audit("vas, not marked (script)")
    with page.expect_navigation() as navigation:
        page.evaluate("document.querySelector('form').submit()")
    audit("vas, not marked (server)", 400, navigation.value)

    # The numeric fallback, as a browser without JavaScript gets it: the same HTML without
    # its script (axe itself needs JavaScript, so it cannot run with JavaScript off).
    def without_script(route):
        response = route.fetch()
        body = re.sub(r"<script>.*?</script>", "", response.text(), flags=re.S)
        route.fulfill(response=response, body=body)

    page.route(re.compile(rf"/f/{token}/vas$"), without_script)
    visit("vas, 0-10 scale", f"/f/{token}/vas")
    expect(page.locator("#vas-nrs")).to_be_visible()
    submit("vas, 0-10 scale, not answered", SAVE, 400)
    expect(page.locator("#nrs-error")).to_be_visible()
    page.unroute(re.compile(rf"/f/{token}/vas$"))

    visit("vas again", f"/f/{token}/vas")
    tap_line(page, 0.4)
    submit("odi", SAVE, 200)
    submit("odi, not answered", SAVE, 400)
    # Every blank section is marked but sex life, which may be skipped; the alert says how many.
    expect(page.locator("p.error")).to_have_count(9)
    expect(page.get_by_role("alert")).to_contain_text("8 more are needed")
    for section in range(10):
        page.locator("form fieldset").nth(section).locator("label.card").nth(section % 6).tap()
    submit("medication", SAVE, 200)
    page.locator("label.card").filter(has_text=re.compile(r"^\s*Yes\s*$")).tap()
    submit("medication, no medicine given", SEND, 400)
    expect(page.locator("#drug_1-error")).to_be_visible()
    page.locator("label.card").filter(has_text=re.compile(r"^\s*No\s*$")).tap()
    submit("thank you", SEND, 200)
    expect(page.locator("h1")).to_have_text("Thank you")

    visit("review vas", f"/f/{token}/vas")
    expect(page.get_by_role("img", name="Your mark on the line")).to_be_visible()
    visit("review odi", f"/f/{token}/odi")
    visit("review medication", f"/f/{token}/medication")
    visit("review, already received", f"/f/{token}/vas?received=1")
    expect(page.locator(".notice")).to_be_visible()

    visit("week1 vas", f"/f/{week1}")
    expect(page.locator(".progress")).to_have_text("Form 1 of 2")
    visit("satisfaction", f"/f/{week1}/satisfaction")
    submit("satisfaction, not answered", SEND, 400)
    expect(page.locator("p.error")).to_have_count(2)

    visit("form not in this questionnaire", f"/f/{token}/satisfaction", 404)
    visit("unknown link", "/f/" + "x" * 24, 404)
    expect(page.locator("h1")).to_have_text("Link not recognised")
    visit("not open yet", f"/f/{month1}", 410)
    expect(page.locator("h1")).to_have_text("Not open yet")
    clock.now = start + timedelta(days=2)  # past the baseline window
    visit("closed", f"/f/{token}", 410)
    expect(page.locator("h1")).to_have_text("This questionnaire has closed")

    assert len(found) == 22
    assert {name: violations for name, violations in found.items() if violations} == {}
