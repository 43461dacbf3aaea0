"""Paper data imported from the browser (/staff/dataset/import), after a real sign-in and with the
page's CSRF token: the command line's problems by row and column with nothing stored, then a
corrected file previewed, and stored once, all or nothing, only when confirmed; the three kinds of
file; who may; and each bad file and each confirm that must be refused."""
from __future__ import annotations

import html
import io
import os
import re
import time
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from services import import_upload
from storage import bulk
from tests.reliability.invariants import digest
from tests.staff_support import Staff, create_staff
from tests.test_crf_import import EVENTS
from tests.test_crf_import import GOOD as RECORDS

PAGE = "/staff/dataset/import"
INVESTIGATOR = "investigator@hospital.example"
SAMPLE = Path(__file__).with_name("import_samples") / "answers.csv"
GOOD = SAMPLE.read_text(encoding="utf-8")      # PAPER-1 (B) baseline and month1, PAPER-2 (A) day1: 8 answers
HEADER, *ROWS = GOOD.splitlines()
BAD = "\n".join([HEADER, ROWS[0].replace("B,baseline,6.2,", "B,baseline,11,"), ROWS[1],
                 ROWS[2].replace("PAPER-2,A,", "PAPER-2,C,"), "PAPER-3,A,year2,4.5" + "," * 15]) + "\n"
# The access table's upload (tests/reliability/test_access.py): a file the test client opens afresh each time.
SAMPLE_UPLOAD = (str(SAMPLE), "paper-answers.csv")
TABLE_ROW = re.compile(r"<tr><td>(.*?)</td><td>(?:<code>(.*?)</code>)?</td><td>(.*?)</td></tr>", re.DOTALL)
UPLOAD_ID = re.compile(r"\?upload=([A-Za-z0-9_-]{22})$")


@pytest.fixture
def staff(app, client, clock) -> Staff:
    create_staff(app, clock)
    staff = Staff(client)
    assert staff.login("investigator").status_code == 303
    return staff


@pytest.fixture
def staging(app) -> Path:
    return Path(app.config["DATABASE"]).parent / "import-staging"


def upload(staff: Staff, data: str | bytes, kind: str = "answers", name: str = "paper.csv"):
    body = data.encode("utf-8") if isinstance(data, str) else data
    return staff.client.post(PAGE, data={"csrf_token": staff.csrf(PAGE), "action": "check", "kind": kind,
                                         "file": (io.BytesIO(body), name)}, content_type="multipart/form-data")


def staged_id(response) -> str:
    assert response.status_code == 303, response.get_data(as_text=True)[:3000]
    return UPLOAD_ID.search(response.headers["Location"]).group(1)


def preview(staff: Staff, upload_id: str) -> tuple[str, dict]:
    """The preview page, and its confirm form's fields."""
    page = staff.client.get(f"{PAGE}?upload={upload_id}")
    assert page.status_code == 200, page.get_data(as_text=True)[:3000]
    text = page.get_data(as_text=True)
    fields = dict(re.findall(r'name="(csrf_token|upload|sha256|action)" type="hidden" value="([^"]*)"', text))
    return text, fields


def sign_in_after_idle(staff: Staff) -> None:
    """Past the idle limit: the next page signs the investigator out, and they sign in again."""
    assert staff.client.get(PAGE).status_code == 302
    assert staff.login("investigator").status_code == 303


def confirm(staff: Staff, fields: dict):
    return staff.client.post(PAGE, data=fields)


def problems_shown(text: str) -> list[str]:
    """The page's problem table, as the command line prints each problem."""
    return [f"{'row ' + row if row.isdigit() else 'file'}, column {html.unescape(column)}: {html.unescape(message)}"
            if column else f"{'row ' + row if row.isdigit() else 'file'}: {html.unescape(message)}"
            for row, column, message in TABLE_ROW.findall(text)]


def counts(trial) -> dict:
    return {table: trial.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
            for table in ("participants", "responses", "crf_records")}


def audit(trial, action: str) -> list[dict]:
    return trial.query("SELECT actor, entity_id, after FROM audit_log WHERE action = ? ORDER BY id", [action])


# --- Problems, then a corrected file -------------------------------------------------------------

def test_a_file_with_errors_lists_the_command_lines_problems_and_stores_nothing(app, staff, runner, trial,
                                                                                 staging, tmp_path):
    before = digest(app.config["DATABASE"])
    response = upload(staff, BAD)
    assert response.status_code == 400
    text = response.get_data(as_text=True)
    assert "3 problems in the file: nothing was imported" in text
    cli_file = tmp_path / "bad.csv"
    cli_file.write_text(BAD, encoding="utf-8")
    result = runner.invoke(args=["dataset", "import", str(cli_file)])
    assert result.exit_code == 1
    printed = [line for line in result.output.splitlines() if line.startswith("row ")]
    assert problems_shown(text) == printed == [
        "row 2, column vas: '11' is out of range: cm from 0.0 to 10.0 with one decimal",
        "row 4, column arm: unknown arm 'C' (known: A, B)",
        "row 5, column timepoint: unknown timepoint 'year2' (known: baseline, day1, week1, month1, month3, month6)"]
    assert digest(app.config["DATABASE"]) == before        # nor an audit entry
    assert not staging.exists() or list(staging.iterdir()) == []


def test_a_corrected_file_is_previewed_then_stored_once_on_confirm(app, staff, trial, staging):
    assert upload(staff, BAD).status_code == 400
    response = upload(staff, GOOD, name="ward-3 forms.csv")
    upload_id = staged_id(response)
    assert counts(trial) == {"participants": 0, "responses": 0, "crf_records": 0}    # nothing before the confirm
    text, fields = preview(staff, upload_id)
    for shown in ("ward-3 forms.csv", "8 answers", "2 participants", "2 of them new", "PAPER-1, PAPER-2",
                  "<td>Pain (VAS)</td><td>Before the procedure</td><td>1</td>",
                  "<td>Disability (ODI)</td><td>1 month</td><td>1</td>",
                  "<td>Satisfaction</td><td>1 month</td><td>1</td>",
                  "<td>PAPER-1</td><td>7</td><td>Yes</td>", "<td>PAPER-2</td><td>1</td><td>Yes</td>",
                  "<td>35.56</td>"):
        assert shown in text, shown
    assert fields["upload"] == upload_id and fields["action"] == "import" and len(fields["sha256"]) == 64
    [uploaded] = audit(trial, "upload_import")
    assert uploaded["actor"] == INVESTIGATOR and fields["sha256"] in uploaded["after"]

    done = confirm(staff, fields)
    assert done.status_code == 303 and done.headers["Location"] == PAGE
    assert "Imported: 2 participant(s) created, 8 answer(s) stored, 0 already there." in \
        staff.client.get(PAGE).get_data(as_text=True)
    assert counts(trial) == {"participants": 2, "responses": 8, "crf_records": 0}
    assert {row["source"] for row in trial.query("SELECT source FROM responses")} == {"paper"}
    [imported] = audit(trial, "import")
    assert imported["actor"] == INVESTIGATOR and imported["entity_id"] == "csv"
    assert '"answers_stored": 8' in imported["after"]

    # The same confirm again (a double tap, the back button): refused, nothing changes.
    before = digest(app.config["DATABASE"])
    again = confirm(staff, fields)
    assert again.status_code == 409
    assert "This file has already been imported. Nothing more was imported." in again.get_data(as_text=True)
    assert digest(app.config["DATABASE"]) == before
    assert staff.client.get(f"{PAGE}?upload={upload_id}").status_code == 409
    assert [path.suffix for path in staging.iterdir()] == [".imported"]       # the bytes themselves are gone


def test_clinician_records_then_adverse_events(app, staff, trial):
    text, fields = preview(staff, staged_id(upload(staff, RECORDS, kind="records")))
    for shown in ("5 records", "3 participants", "3 of them new",
                  "<td>Baseline characteristics</td><td></td><td>2</td>",
                  "<td>Procedure record</td><td></td><td>2</td>", "<td>Adverse event</td><td>Hematoma</td><td>1</td>",
                  "<td>PAPER-2</td><td>3</td><td>Yes</td>", "<td>PAPER-3</td><td>0</td><td>Yes</td>"):
        assert shown in text, shown
    assert confirm(staff, fields).status_code == 303
    assert "Imported: 3 participant(s) created, 4 record(s) stored, 0 already there, 1 complication(s) stored." in \
        staff.client.get(PAGE).get_data(as_text=True)
    assert counts(trial) == {"participants": 3, "responses": 0, "crf_records": 5}

    text, fields = preview(staff, staged_id(upload(staff, EVENTS, kind="events")))
    assert "1 record" in text and "0 of them new" in text and "<td>Abscess</td><td>1</td>" in text
    assert confirm(staff, fields).status_code == 303
    assert "Imported: 1 event(s) stored, 0 already there." in staff.client.get(PAGE).get_data(as_text=True)
    assert counts(trial)["crf_records"] == 6
    assert [row["entity_id"] for row in audit(trial, "import_crf")] == ["crf", "events"]


def test_events_for_participants_not_in_the_trial_are_listed_by_row(app, staff, trial):
    response = upload(staff, EVENTS, kind="events")
    assert response.status_code == 400
    assert problems_shown(response.get_data(as_text=True)) == [
        "row 2, column study_id: no participant 'PAPER-2': import them first"]


def test_a_nurse_may_neither_see_nor_use_the_page(app, client, clock, staging):
    create_staff(app, clock)
    nurse = Staff(client)
    nurse.login("nurse")
    before = digest(app.config["DATABASE"])
    assert client.get(PAGE).status_code == 403
    response = client.post(PAGE, data={"csrf_token": nurse.csrf(), "action": "check", "kind": "answers",
                                       "file": (io.BytesIO(GOOD.encode()), "paper.csv")})
    assert response.status_code == 403 and "Not allowed" in response.get_data(as_text=True)
    assert digest(app.config["DATABASE"]) == before and not staging.exists()


def test_the_dataset_page_leads_to_the_import(staff):
    assert f'href="{PAGE}"' in staff.client.get("/staff/dataset").get_data(as_text=True)


# --- Files that are not what the page takes ------------------------------------------------------

def xlsx() -> bytes:
    """An Excel workbook, as a ward's spreadsheet saves one (a zip of XML parts)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as book:
        book.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        book.writestr("xl/worksheets/sheet1.xml", "<worksheet><sheetData/></worksheet>")
    return buffer.getvalue()


@pytest.mark.parametrize("data,message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01", "this is not a CSV file (it holds binary data)"),
    (xlsx(), "this is not a CSV file (it holds binary data)"),
    (b"", "the file is empty"),
    (b"\xef\xbb\xbf\r\n", "the file is empty"),
    (GOOD.replace("PAPER-2", "CAF\u00c9-2").encode("cp1252"),
     "the file is not UTF-8 (byte 260 cannot be read); save it as CSV UTF-8"),
], ids=["binary", "xlsx", "empty", "only a BOM", "windows-1252"])
def test_a_file_that_is_not_a_csv_in_utf8_is_refused_clearly(app, staff, staging, data, message):
    before = digest(app.config["DATABASE"])
    response = upload(staff, data, name="forms.xlsx" if data[:2] == b"PK" else "forms.csv")
    assert response.status_code == 400
    assert problems_shown(response.get_data(as_text=True)) == [f"file: {message}"]
    assert digest(app.config["DATABASE"]) == before and not staging.exists()


@pytest.mark.parametrize("encode", [
    lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    lambda text: text.replace("\n", "\r\n").encode("utf-8"),
    lambda text: b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode("utf-8"),
], ids=["BOM", "CRLF", "BOM and CRLF"])
def test_a_byte_order_mark_and_windows_line_ends_are_accepted(staff, trial, encode):
    text, fields = preview(staff, staged_id(upload(staff, encode(GOOD))))
    assert "<th scope=\"col\"><code>study_id</code></th>" in text and "8 answers" in text
    assert confirm(staff, fields).status_code == 303
    assert counts(trial)["responses"] == 8
    assert trial.query("SELECT study_id FROM participants ORDER BY study_id") == [
        {"study_id": "PAPER-1"}, {"study_id": "PAPER-2"}]


def test_no_file_or_no_kind_is_named(staff):
    response = staff.client.post(PAGE, data={"csrf_token": staff.csrf(PAGE), "action": "check", "kind": "answers"})
    assert response.status_code == 400 and "Choose a CSV file to upload." in response.get_data(as_text=True)
    response = upload(staff, GOOD, kind="photos")
    assert response.status_code == 400 and "Choose what the file holds." in response.get_data(as_text=True)


def test_the_size_limit(app, staff, trial, staging):
    assert "up to 10 MB" in staff.client.get(PAGE).get_data(as_text=True)    # the default
    app.config["IMPORT_MAX_BYTES"] = 2048
    padded = GOOD + "\n" * (2048 - len(GOOD.encode()))
    staged_id(upload(staff, padded))                                          # the limit itself is taken
    response = upload(staff, padded + "\n")
    assert response.status_code == 413
    assert "This file is larger than 2 KB, the most this page takes. Nothing was imported" in \
        response.get_data(as_text=True)
    # Far larger: refused before it is read, with the app's 413 page.
    response = upload(staff, padded * 40)
    assert response.status_code == 413 and "Too much was sent" in response.get_data(as_text=True)
    assert counts(trial)["participants"] == 0 and len(list(staging.iterdir())) == 1


# --- Confirms that are refused --------------------------------------------------------------------

def test_a_confirm_for_a_changed_file_is_refused(app, staff, trial, staging):
    upload_id = staged_id(upload(staff, GOOD))
    _, fields = preview(staff, upload_id)
    response = confirm(staff, {**fields, "sha256": "0" * 64})
    assert response.status_code == 409
    assert "This is not the file that was checked. Nothing was imported" in response.get_data(as_text=True)
    # The bytes kept on disk altered since their check: refused too, and dropped.
    path = staging / f"{upload_id}.upload"
    path.write_bytes(path.read_bytes().replace(b"PAPER-2,A,day1,4.5", b"PAPER-2,A,day1,9.5"))
    assert confirm(staff, fields).status_code == 409
    assert counts(trial)["participants"] == 0 and list(staging.iterdir()) == []


def test_a_confirm_after_the_upload_expired_is_refused(staff, trial, clock, staging):
    _, fields = preview(staff, staged_id(upload(staff, GOOD)))
    clock.now += import_upload.STAGING_LIFETIME + timedelta(seconds=1)
    sign_in_after_idle(staff)
    response = confirm(staff, {**fields, "csrf_token": staff.csrf(PAGE)})
    assert response.status_code == 410 and "has expired" in response.get_data(as_text=True)
    assert counts(trial)["participants"] == 0 and list(staging.iterdir()) == []


def test_an_old_upload_is_removed_at_the_next_one(staff, clock, staging):
    first = staged_id(upload(staff, GOOD))
    # Files half-written by a process that died: an old one is removed, one being written now is not.
    (staging / ".died.partial").write_bytes(b"{")
    os.utime(staging / ".died.partial", (time.time() - 3600, time.time() - 3600))
    (staging / ".writing.partial").write_bytes(b"{")
    clock.now += import_upload.STAGING_LIFETIME + timedelta(minutes=1)
    sign_in_after_idle(staff)
    second = staged_id(upload(staff, GOOD))
    assert first != second
    # A set: a random id may begin with "-", which sorts before the "." of the partial file.
    assert {path.name for path in staging.iterdir()} == {".writing.partial", f"{second}.upload"}


def test_another_users_upload_cannot_be_confirmed_nor_seen(app, staff, trial):
    upload_id = staged_id(upload(staff, GOOD))
    _, fields = preview(staff, upload_id)
    admin = Staff(app.test_client())
    admin.login("admin")
    assert admin.client.get(f"{PAGE}?upload={upload_id}").status_code == 403
    response = admin.client.post(PAGE, data={**fields, "csrf_token": admin.csrf(PAGE)})
    assert response.status_code == 403 and "made by another user" in response.get_data(as_text=True)
    assert counts(trial)["participants"] == 0
    assert confirm(staff, fields).status_code == 303      # still the investigator's to confirm


def test_signing_out_ends_an_upload(staff, trial):
    _, fields = preview(staff, staged_id(upload(staff, GOOD)))
    staff.client.post("/staff/logout", data={"csrf_token": staff.csrf(PAGE)})
    staff.login("investigator")
    response = confirm(staff, {**fields, "csrf_token": staff.csrf(PAGE)})
    assert response.status_code == 403 and counts(trial)["participants"] == 0


@pytest.mark.parametrize("upload_id", ["", "../../pro.sqlite3", "A" * 22, "x" * 64])
def test_an_unknown_upload_is_refused(app, staff, trial, upload_id):
    before = digest(app.config["DATABASE"])
    response = confirm(staff, {"csrf_token": staff.csrf(PAGE), "action": "import", "upload": upload_id,
                               "sha256": "0" * 64})
    assert response.status_code == 410 and "not waiting to be imported" in response.get_data(as_text=True)
    assert staff.client.get(f"{PAGE}?upload={upload_id}").status_code == 410
    assert digest(app.config["DATABASE"]) == before


# --- All or nothing -------------------------------------------------------------------------------

def test_a_failure_mid_import_stores_nothing_and_the_upload_can_be_confirmed_again(app, staff, trial, monkeypatch):
    _, fields = preview(staff, staged_id(upload(staff, GOOD)))
    before = digest(app.config["DATABASE"])
    real = bulk.insert_first_versions

    def power_cut(db, rows, **kwargs):
        real(db, rows, **kwargs)          # the participants and the answers are written, then it fails
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(bulk, "insert_first_versions", power_cut)
    assert confirm(staff, fields).status_code == 500
    assert digest(app.config["DATABASE"]) == before
    monkeypatch.undo()
    assert confirm(staff, fields).status_code == 303
    assert counts(trial) == {"participants": 2, "responses": 8, "crf_records": 0}


def test_an_answer_stored_differently_stops_the_import_at_confirm_with_its_row(app, staff, trial):
    _, fields = preview(staff, staged_id(upload(staff, GOOD)))
    assert confirm(staff, fields).status_code == 303
    changed = GOOD.replace("PAPER-2,A,day1,4.5", "PAPER-2,A,day1,5.5") + "PAPER-9,A,day1,1.0" + "," * 15 + "\n"
    _, fields = preview(staff, staged_id(upload(staff, changed)))     # the file itself has no problem
    before = digest(app.config["DATABASE"])
    response = confirm(staff, fields)
    assert response.status_code == 400
    assert problems_shown(response.get_data(as_text=True)) == [
        ("row 4, column vas: PAPER-2 already has a different vas answer at day1: correct it as a new version, "
         "not by import")]
    assert digest(app.config["DATABASE"]) == before      # PAPER-9 was not created either
