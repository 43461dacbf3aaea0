"""Answers by SMS reply for the nurses: the switch on the participant page (audited, refused for
bad input, CSRF), and the answers shown with their source on the page, the board and the export."""
from __future__ import annotations

import csv
import json

import pytest

from app import create_app
from tests.sms_answers_support import DAY1_SEND, QUESTION_EN, SmsAnswers, app_config
from tests.staff_support import staff_and_list

URL = "/staff/participants/P-001/sms-answers"


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def staff(app, client, clock):
    return staff_and_list(app, client, clock)


@pytest.fixture
def sms(app, trial, clock) -> SmsAnswers:
    return SmsAnswers(app, trial, clock)


def text(response) -> str:
    return response.get_data(as_text=True)


def flag(trial, study_id="P-001") -> int:
    return trial.query("SELECT answers_by_sms FROM participants WHERE study_id = ?", [study_id])[0]["answers_by_sms"]


def audit(trial) -> list[tuple]:
    return [(row["actor"], row["entity_id"], json.loads(row["before"]), json.loads(row["after"]), row["reason"])
            for row in trial.query("SELECT * FROM audit_log WHERE action = 'sms_answers' ORDER BY id")]


# --- The switch ---------------------------------------------------------------------------------

def test_a_nurse_switches_sms_answers_on_and_off_with_a_reason_in_the_audit_log(staff, sms, client):
    sms.enroll(by_sms=False)
    staff.login("nurse")
    page = text(client.get("/staff/participants/P-001"))
    assert "By SMS reply" not in page and "Answer by SMS reply" in page
    response = staff.post(URL, {"study_id": "P-001", "answers_by_sms": "on", "sms_reason": "basic phone only"})
    assert response.status_code == 303
    page = text(client.get("/staff/participants/P-001"))
    assert "P-001 gets the pain question at 1 day and 1 week by SMS and answers by reply." in page
    assert "By SMS reply: the pain question at 1 day and 1 week comes as an SMS" in page
    assert flag(sms.trial) == 1
    staff.post(URL, {"study_id": "P-001", "answers_by_sms": "off", "sms_reason": "has a smartphone now"})
    assert flag(sms.trial) == 0
    assert audit(sms.trial) == [
        ("nurse@hospital.example", "P-001", {"answers_by_sms": 0}, {"answers_by_sms": 1}, "basic phone only"),
        ("nurse@hospital.example", "P-001", {"answers_by_sms": 1}, {"answers_by_sms": 0}, "has a smartphone now")]


def test_switching_to_what_it_already_is_changes_nothing(staff, sms, client):
    sms.enroll()
    staff.login("nurse")
    response = staff.post(URL, {"study_id": "P-001", "answers_by_sms": "on", "sms_reason": "again"})
    assert response.status_code == 303 and "Nothing changed." in text(client.get("/staff/participants/P-001"))
    assert len(audit(sms.trial)) == 1   # the enrollment fixture's own switch only


@pytest.mark.parametrize("data,problem", [
    ({"answers_by_sms": "on"}, "This field is required."),
    ({"answers_by_sms": "on", "sms_reason": " \u200e\u200b "}, "say why the participant answers by SMS"),
    ({"answers_by_sms": "on", "sms_reason": "x" * 501}, "Field cannot be longer than 500 characters."),
    ({"answers_by_sms": "maybe", "sms_reason": "why not"}, "Choose SMS answers or links."),
    ({"answers_by_sms": "", "sms_reason": "why not"}, "This field is required."),
    ({"answers_by_sms": "on", "sms_reason": "x", "study_id": "P-002"}, "This form was for another participant"),
])
def test_bad_input_is_refused_and_changes_nothing(staff, sms, data, problem):
    sms.enroll(by_sms=False)
    sms.enroll("P-002", phone="+16175550124", by_sms=False)
    staff.login("nurse")
    response = staff.post(URL, {"study_id": "P-001", **data})
    assert response.status_code == 400 and problem in text(response)
    assert flag(sms.trial) == 0 and flag(sms.trial, "P-002") == 0 and audit(sms.trial) == []


@pytest.mark.parametrize("how,problem", [("withdrawn", "P-001 is withdrawn: no SMS goes to them"),
                                         ("no_phone", "P-001 has no phone number to send the question to"),
                                         ("opted_out", "P-001 opted out of SMS: restart SMS first")])
def test_it_cannot_be_switched_on_for_who_gets_no_sms(staff, sms, client, how, problem):
    sms.enroll(by_sms=False)
    staff.login("nurse")
    if how == "withdrawn":
        staff.post("/staff/participants/P-001/withdraw", {"study_id": "P-001", "reason": "moved", "confirm": "y"})
    elif how == "no_phone":
        staff.post("/staff/participants/P-001/contact-details",
                   {"study_id": "P-001", "phone": "", "timezone": "UTC", "language": "en"})
    else:
        staff.post("/staff/participants/P-001/sms", {"study_id": "P-001", "opted_out": "out", "confirm": "y"})
    assert "Answer by SMS reply" not in text(client.get("/staff/participants/P-001"))   # not offered
    response = staff.post(URL, {"study_id": "P-001", "answers_by_sms": "on", "sms_reason": "basic phone"})
    assert response.status_code == 400 and problem in text(response)
    assert flag(sms.trial) == 0 and audit(sms.trial) == []


def test_it_can_be_switched_off_after_an_opt_out(staff, sms, client):
    sms.enroll()
    staff.login("nurse")
    staff.post("/staff/participants/P-001/sms", {"study_id": "P-001", "opted_out": "out", "confirm": "y"})
    assert "Send links again, not the SMS question" in text(client.get("/staff/participants/P-001"))
    response = staff.post(URL, {"study_id": "P-001", "answers_by_sms": "off", "sms_reason": "stopped SMS"})
    assert response.status_code == 303 and flag(sms.trial) == 0


def test_the_switch_needs_a_csrf_token_and_a_signed_in_nurse(staff, sms, client):
    sms.enroll(by_sms=False)
    data = {"study_id": "P-001", "answers_by_sms": "on", "sms_reason": "basic phone"}
    signed_out = staff.post(URL, data)   # a valid CSRF token, but nobody signed in: to the sign-in page
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/staff/login")
    staff.login("nurse")
    assert client.post(URL, data=data).status_code == 400
    assert client.post(URL, data={**data, "csrf_token": "forged"}).status_code == 400
    assert flag(sms.trial) == 0 and audit(sms.trial) == []


def test_the_audit_page_lists_the_switch(staff, sms, client):
    sms.enroll()
    staff.login("admin")
    page = text(client.get("/staff/audit?action=sms_answers"))
    assert "Answers by SMS reply switched on or off" in page and "basic phone, no data" in page


# --- What the nurses see -------------------------------------------------------------------------

def test_the_participant_page_and_the_board_show_the_answer_and_its_source(staff, sms, client):
    sms.asked()
    assert sms.reply("ok") is not None
    assert sms.reply("6") is not None
    staff.login("nurse")
    page = text(client.get("/staff/participants/P-001"))
    assert "Pain by SMS reply: 6 of 10" in page
    assert "Reply unclear: asked again by SMS" in page
    assert "(pain question)" in page
    board = text(client.get("/staff/"))
    assert "SMS answers" in board and "Pain by SMS reply:" in board and "1 day 6 of 10" in board


def test_a_nurses_send_now_sends_the_question_and_says_so(staff, sms, client, tmp_path):
    sms.enroll()
    sms.clock.now = DAY1_SEND
    staff.login("nurse")
    response = staff.post("/staff/participants/P-001/resend", {"study_id": "P-001", "timepoint": "day1"})
    assert response.status_code == 303
    assert "SMS with the pain question for 1 day sent." in text(client.get("/staff/participants/P-001"))
    outbox = [json.loads(line) for line in (tmp_path / "outbox.jsonl").read_text().splitlines()]
    assert len(outbox) == 1 and outbox[0]["body"].startswith(QUESTION_EN) and "/f/" not in outbox[0]["body"]


def test_an_unclear_second_reply_waits_in_the_inbox(staff, sms, client):
    sms.asked()
    sms.reply("5 or 6")
    sms.reply("maybe 6?")
    staff.login("nurse")
    inbox = text(client.get("/staff/inbox"))
    assert "maybe 6?" in inbox and "5 or 6" not in inbox


def test_the_export_shows_the_sms_source_and_the_numeric_mode(staff, sms, runner, tmp_path):
    sms.asked()
    sms.reply("٦")
    result = runner.invoke(args=["dataset", "export", "--format", "csv", "--output", str(tmp_path / "long.csv")])
    assert result.exit_code == 0, result.output
    with open(tmp_path / "long.csv", encoding="utf-8", newline="") as handle:
        day1 = [row for row in csv.DictReader(handle) if row["timepoint"] == "day1"]
    assert [(row["study_id"], row["vas"], row["vas_mode"], row["source"]) for row in day1] == [
        ("P-001", "6.0", "nrs", "sms")]

