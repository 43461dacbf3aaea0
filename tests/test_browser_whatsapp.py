"""The WhatsApp parts of the staff pages in headless Chromium at a phone's width: the board's tags,
the participant page's channel and opt-in, the enroll page's channel; each fits the screen and axe
finds nothing; a nurse records the opt-in by touch."""
from __future__ import annotations

import os
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from app import create_app
from tests.browser_support import CHROMIUM
from tests.staff_support import PASSWORD, create_staff
from tests.test_browser_staff import assert_axe_clean, assert_fits
from tests.whatsapp_support import DAY1_SEND, OTHER_PHONE, WhatsApp, app_config

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def site(app, trial, clock) -> WhatsApp:
    """P-001 on WhatsApp, reminded and read; P-002 chose WhatsApp, no opt-in yet."""
    wa = WhatsApp(app, trial, clock)
    create_staff(app, clock, ("nurse", "investigator"))
    wa.enroll("P-001")
    wa.enroll("P-002", phone=OTHER_PHONE, opt_in=False)
    assert wa.send_due(DAY1_SEND) == {"sent": 2}
    wa.status(wa.messages()[0]["sid"], "read")
    clock.now = DAY1_SEND + timedelta(hours=1)
    return wa


def sign_in(page, role: str) -> None:
    page.goto("/staff/login")
    page.get_by_label("Email").fill(f"{role}@hospital.example")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").tap()


def test_whatsapp_on_the_staff_pages_fits_a_phone_passes_axe_and_records_an_opt_in(new_page, site):
    page = new_page(bypass_csp=True)
    sign_in(page, "nurse")
    page.goto("/staff/")
    p1 = page.locator("li.card", has=page.get_by_role("link", name="P-001"))
    expect(p1.locator(".tag")).to_have_text(["WhatsApp", "Last reminder read"])
    p2 = page.locator("li.card", has=page.get_by_role("link", name="P-002"))
    expect(p2.locator(".tag")).to_have_text(["WhatsApp chosen, SMS for now"])   # its reminder went by SMS
    assert_fits(page)
    assert_axe_clean(page, "board with WhatsApp")

    page.goto("/staff/participants/P-002")
    expect(page.locator("dl.facts")).to_contain_text("WhatsApp chosen, but SMS for now: no whatsapp opt-in")
    page.get_by_text("SMS or WhatsApp").tap()
    page.get_by_text("What the patient agrees to").tap()
    expect(page.get_by_text("I agree to get reminders of my follow-up questionnaires")).to_be_visible()
    assert_fits(page)
    assert_axe_clean(page, "participant, WhatsApp without an opt-in")
    page.get_by_label("The patient agreed, here in clinic").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").last.tap()
    expect(page.get_by_text("Saved: WhatsApp opt-in recorded.")).to_be_visible()
    expect(page.locator("dl.facts")).to_contain_text("wording version 1")
    assert site.participant("P-002")["whatsapp_opt_in_source"] == "clinic"
    assert_axe_clean(page, "participant, opted in")


def test_the_enroll_page_offers_the_channel_and_passes_axe(new_page, site):
    page = new_page(bypass_csp=True)
    sign_in(page, "investigator")
    page.goto("/staff/enroll")
    expect(page.get_by_role("group", name="Reminders by")).to_be_visible()
    assert_fits(page)
    assert_axe_clean(page, "enroll with WhatsApp")
