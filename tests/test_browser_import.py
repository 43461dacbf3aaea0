"""The paper-data import in real Chromium, at a phone's width (390 CSS px, touch): an investigator
goes from the dataset page to the import, uploads a file with mistakes and reads them by row and
column, uploads the corrected file, reads its preview and imports it. axe-core checks every page
it passes (in a context with bypass_csp=True, which it needs), and each page fits the screen."""
from __future__ import annotations

import os

import pytest

from tests.browser_support import CHROMIUM, ConsoleLog
from tests.staff_support import PASSWORD, create_staff
from tests.test_browser_accounts import checked, sign_in, submit
from tests.test_import_upload import BAD, GOOD

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason=f"no Chromium at {CHROMIUM}"),
]

INVESTIGATOR = "investigator@hospital.example"


def choose(page, text: str) -> None:
    page.get_by_label("CSV file").set_input_files({"name": "ward-3.csv", "mimeType": "text/csv",
                                                   "buffer": text.encode("utf-8")})


def test_an_investigator_corrects_a_file_then_imports_it(app, clock, trial, new_page):
    create_staff(app, clock, roles=("investigator",))
    page = new_page(bypass_csp=True)
    log = ConsoleLog(page)
    assert sign_in(page, INVESTIGATOR, PASSWORD).status == 200
    page.get_by_role("navigation", name="Staff menu").get_by_role("link", name="Dataset").tap()
    page.get_by_role("link", name="import a CSV").tap()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import paper forms")
    expect(page.get_by_label("Patients' paper forms: the long CSV, a row per participant per timepoint")) \
        .to_be_checked()
    checked(page)

    # Mistakes: each listed by row and column, as the command line lists them, and nothing stored.
    choose(page, BAD)
    assert submit(page, "Check the file").status == 400
    alert = page.get_by_role("alert")
    expect(alert.get_by_role("heading")).to_have_text("3 problems in the file: nothing was imported")
    expect(alert.locator("tbody tr")).to_have_text([
        "2vas'11' is out of range: cm from 0.0 to 10.0 with one decimal",
        "4armunknown arm 'C' (known: A, B)",
        "5timepointunknown timepoint 'year2' (known: baseline, day1, week1, month1, month3, month6)"])
    checked(page)
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]

    # The corrected file: its preview, then the import on confirm.
    choose(page, GOOD)
    assert submit(page, "Check the file").status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Check before importing")
    facts = page.locator("dl.facts")
    expect(facts).to_contain_text("ward-3.csv")
    expect(facts).to_contain_text("8 answers")
    expect(facts).to_contain_text("2 participants, 2 of them new")
    expect(page.get_by_role("region", name="The first rows")).to_contain_text("35.56")
    checked(page)
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]

    assert submit(page, "Import this file").status == 200
    expect(page.get_by_role("status")).to_have_text(
        "Imported: 2 participant(s) created, 8 answer(s) stored, 0 already there.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Import paper forms")
    checked(page)
    assert trial.query("SELECT study_id, COUNT(r.id) AS answers FROM participants p JOIN responses r "
                       "ON r.participant_id = p.id GROUP BY study_id ORDER BY study_id") == [
        {"study_id": "PAPER-1", "answers": 7}, {"study_id": "PAPER-2", "answers": 1}]

    # Back to the preview (the browser's history): it is reloaded, and says the file is imported.
    with page.expect_navigation() as back:
        page.go_back()
    assert back.value.status == 409
    expect(page.get_by_role("alert")).to_have_text("This file has already been imported. Nothing more was imported.")
    checked(page)
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 8}]
    # The browser notes each refusal's status (400, 409) as a console error; nothing else is there.
    assert [error for error in log.errors if not error.startswith("Failed to load resource: the server responded "
                                                                  "with a status of 4")] == []
    assert len(log.errors) == 2
