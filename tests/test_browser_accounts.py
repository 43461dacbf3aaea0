"""The accounts page and a password link in real Chromium, at a phone's width (390 CSS px, touch).

The admin creates an account and then issues a new link for it (the first one stops working);
the new user opens the link on their own phone, is told why a common password is refused, sets
a good one and signs in. axe-core checks each page it passes (in contexts with bypass_csp=True,
which it needs); the user's own phone runs under the app's CSP, and nothing there is refused.
"""
from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest

from tests.browser_support import CHROMIUM, PHONE, RECORD_CSP_VIOLATIONS, ConsoleLog, axe_violations
from tests.staff_support import PASSWORD, create_staff

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

ADMIN = "admin@hospital.example"
NEW_USER = "sara.ahmed@hospital.example"
NEW_PASSWORD = "plum orchard at dusk"


def submit(page, button: str, scope=None):
    """Tap a submit button (in ``scope``, else anywhere on the page); the response landed on."""
    with page.expect_navigation() as navigation:
        (scope or page).get_by_role("button", name=button, exact=True).tap()
    return navigation.value


def sign_in(page, email: str, password: str):
    page.goto("/staff/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    return submit(page, "Sign in")


def checked(page) -> None:
    """The page fits the phone's width and axe finds nothing."""
    sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    assert sizes["inner"] == PHONE["viewport"]["width"] and sizes["scroll"] <= sizes["inner"], (page.url, sizes)
    assert axe_violations(page) == [], page.url


def shown_link(page) -> str:
    """The link the accounts page shows once, as a path on this test's server."""
    field = page.get_by_label("Link", exact=True)
    expect(field).to_have_attribute("readonly", "")
    url = field.input_value()
    assert url.startswith("https://pro.example.org/staff/password/")
    return urlsplit(url).path


def test_admin_creates_an_account_and_its_user_sets_a_password_and_signs_in(app, clock, new_page):
    create_staff(app, clock, roles=("admin",))
    admin = new_page(bypass_csp=True)
    assert sign_in(admin, ADMIN, PASSWORD).status == 200
    admin.get_by_role("navigation", name="Staff menu").get_by_role("link", name="Accounts").tap()
    expect(admin.get_by_role("heading", level=1)).to_have_text("Accounts")
    checked(admin)

    # Create: no password here, a one-time link instead, shown once.
    create = admin.locator("form").filter(has=admin.get_by_role("button", name="Create and show the link"))
    create.get_by_label("Email").fill(NEW_USER)
    create.get_by_label("Role").select_option("investigator")
    create.get_by_label("Why").fill("the new data manager")
    assert submit(admin, "Create and show the link").status == 200
    expect(admin.get_by_role("status")).to_contain_text(f"Account {NEW_USER} created.")
    first = shown_link(admin)
    checked(admin)

    # Then a new link for the same account (say the first one was lost): the first stops working.
    account = admin.locator("ul.cards > li.card").filter(has_text=NEW_USER)
    expect(account.locator(".card-head .tag").first).to_have_text("Investigator")
    details = account.locator("details").filter(has=admin.locator("summary", has_text="Issue a password link"))
    details.locator("summary").tap()
    expect(details).to_have_attribute("open", "")
    details.get_by_label("Why").fill("the first link was lost")
    assert submit(admin, "Issue a password link", details).status == 200
    second = shown_link(admin)
    assert second != first
    expect(admin.locator("ul.cards > li.card").filter(has_text=NEW_USER)).to_contain_text("password link open until")
    admin.reload()
    expect(admin.get_by_label("Link", exact=True)).to_have_count(0)        # shown once
    checked(admin)

    # The link's page and its refusal, checked by axe (opening it uses nothing up).
    look = new_page(bypass_csp=True)
    look.goto(second)
    expect(look.get_by_role("heading", level=1)).to_have_text("Set your password")
    checked(look)
    look.get_by_label("New password", exact=True).fill("Password123456")
    look.get_by_label("New password again").fill("Password123456")
    assert submit(look, "Set the password").status == 400
    expect(look.get_by_role("alert")).to_contain_text("one of the most common passwords")
    expect(look.get_by_label("New password", exact=True)).to_have_attribute("aria-describedby",
                                                                            "password-hint password-error")
    checked(look)
    look.goto(first)
    expect(look.get_by_role("heading", level=1)).to_have_text("This link no longer works")
    checked(look)

    # The new user, on their own phone under the app's CSP.
    phone = new_page()
    phone.add_init_script(RECORD_CSP_VIOLATIONS)
    log = ConsoleLog(phone)
    phone.goto(second)
    expect(phone.get_by_label("Account")).to_have_value(NEW_USER)
    phone.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    phone.get_by_label("New password again").fill(NEW_PASSWORD)
    landed = submit(phone, "Set the password")
    assert landed.status == 200 and urlsplit(phone.url).path == "/staff/login"
    expect(phone.get_by_role("status")).to_contain_text("Your password is set")
    assert sign_in(phone, NEW_USER, NEW_PASSWORD).status == 200
    expect(phone.locator(".who")).to_have_text(f"{NEW_USER} · Investigator")
    expect(phone.get_by_role("navigation", name="Staff menu").get_by_role("link")).to_have_text(
        ["Board", "Inbox", "Enroll", "Report", "Dataset"])
    assert phone.evaluate("window.__cspViolations") == [] and log.errors == []

    # Used once: the link now says so, and the password stays.
    phone.goto(second)
    expect(phone.get_by_role("heading", level=1)).to_have_text("This link has been used")
    look.goto(second)
    checked(look)
