"""Correcting a participant's answer from their timeline (investigators and admins): a new version
stored and the old kept, the instrument's validation and scores, the reason required, the audit
entry with before and after, a concurrent correction refused, nurses refused, and the long CSV's
version and corrected_reason columns."""
from __future__ import annotations

import csv
import io
import json
import re
from html import unescape

import pytest

from app import create_app
from services import answers
from storage import participants
from storage.connection import open_db
from tests.staff_support import staff_and_list

VAS_PAGE = "/staff/participants/P-001/answers/baseline/vas"
ODI_PAGE = "/staff/participants/P-001/answers/baseline/odi"
ODI = {f"odi_{n}": 1 for n in range(1, 11)}   # 10 of 50: an index of 20.0


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def staff(app, client, clock, trial):
    """P-001 enrolled, their baseline VAS (45 mm on the line) and ODI answered; the investigator signed in."""
    signed = staff_and_list(app, client, clock)
    trial.enroll("P-001", arm="A", procedure_date=clock().date())
    db = open_db(app.config["DATABASE"])
    try:
        person = participants.by_study_id(db, "P-001")
        for instrument, given in (("vas", {"mode": "line", "value": 45}), ("odi", ODI)):
            assert answers.submit(db, app.extensions["protocol"], participant=person, timepoint_id="baseline",
                                  instrument_id=instrument, answers=given, input_mode="web",
                                  now=clock()) == answers.SAVED
    finally:
        db.close()
    assert signed.login("investigator").status_code == 303
    return signed


def text(response) -> str:
    return response.get_data(as_text=True)


def versions(trial, instrument: str = "vas") -> list[dict]:
    rows = trial.query("SELECT id, version, answers, scores, recorded_by, submitted_at FROM responses "
                       "WHERE instrument = ? ORDER BY version", [instrument])
    return [{**row, "answers": json.loads(row["answers"]), "scores": json.loads(row["scores"])} for row in rows]


def newest_version(trial, instrument: str = "vas") -> int:
    return trial.query("SELECT version FROM newest_answers WHERE instrument = ?", [instrument])[0]["version"]


def corrections(trial) -> list[dict]:
    return trial.query("SELECT actor, entity, entity_id, before, after, reason FROM audit_log "
                       "WHERE action = 'correct_answer' ORDER BY id")


def field_error(response, field: str) -> str:
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', text(response))
    assert found, f"no error shown for {field}"
    return unescape(found.group(1))


def correct_vas(staff, value: str, reason: str = "paper form misread: 62 mm", version: str = "1", mode="line"):
    token = staff.csrf(VAS_PAGE)
    return staff.post(VAS_PAGE, {"mode": mode, "value": value, "version": version, "reason": reason}, token)


def test_the_timeline_links_each_answer_to_its_correction_page(staff):
    page = text(staff.client.get("/staff/participants/P-001"))
    assert f'href="{VAS_PAGE}"' in page
    assert f'href="{ODI_PAGE}"' in page


def test_the_page_shows_the_answer_in_the_instruments_own_form(staff):
    response = staff.client.get(VAS_PAGE)
    assert response.status_code == 200
    page = text(response)
    assert 'name="value"' in page and 'value="45"' in page
    assert 'name="version" type="hidden" value="1"' in page
    assert 'name="reason"' in page


def test_a_correction_stores_a_new_version_keeps_the_old_rescores_and_audits(staff, trial):
    response = correct_vas(staff, "62")
    assert response.status_code == 303
    assert response.headers["Location"] == "/staff/participants/P-001"
    stored = versions(trial)
    assert [row["version"] for row in stored] == [1, 2]
    assert stored[0]["answers"] == {"mode": "line", "value": 45} and stored[0]["scores"]["vas_cm"] == 4.5
    assert stored[1]["answers"] == {"mode": "line", "value": 62}
    assert stored[1]["scores"] == {"vas_mm": 62, "vas_cm": 6.2, "vas_mode": "line"}
    assert stored[1]["recorded_by"] == "investigator@hospital.example"
    assert stored[1]["submitted_at"] == stored[0]["submitted_at"]   # when it was answered does not change
    assert newest_version(trial) == 2
    [entry] = corrections(trial)
    assert entry["actor"] == "investigator@hospital.example"
    assert (entry["entity"], entry["entity_id"]) == ("response", str(stored[1]["id"]))
    assert entry["reason"] == "paper form misread: 62 mm"
    before, after = json.loads(entry["before"]), json.loads(entry["after"])
    assert before["version"] == 1 and before["answers"]["value"] == 45 and before["scores"]["vas_cm"] == 4.5
    assert after["version"] == 2 and after["answers"]["value"] == 62 and after["scores"]["vas_cm"] == 6.2
    assert after["study_id"] == "P-001" and after["timepoint"] == "baseline" and after["instrument"] == "vas"
    page = text(staff.client.get(VAS_PAGE))
    assert "Why: paper form misread: 62 mm" in page
    assert "(corrected, version 2)" in text(staff.client.get("/staff/participants/P-001"))


def test_the_odi_index_is_worked_out_again_by_the_instrument(staff, trial):
    token = staff.csrf(ODI_PAGE)
    corrected = {**{k: str(v) for k, v in ODI.items()}, "odi_1": "5", "odi_2": "5"}   # 18 of 50
    response = staff.post(ODI_PAGE, {**corrected, "version": "1", "reason": "sections 1 and 2 mistyped"}, token)
    assert response.status_code == 303, text(response)[:2000]
    old, new = versions(trial, "odi")
    assert old["scores"]["odi_score"] == 20.0
    assert new["scores"]["odi_score"] == 36.0 and new["scores"]["odi_band"] == "moderate"
    assert new["answers"]["odi_1"] == 5 and new["answers"]["odi_3"] == 1


@pytest.mark.parametrize("reason", ["", "   ", "\u200b\u200e"])
def test_a_correction_without_a_reason_is_refused(staff, trial, reason):
    response = correct_vas(staff, "62", reason=reason)
    assert response.status_code == 400
    assert field_error(response, "reason") == "Say why the answer is corrected."
    assert [row["version"] for row in versions(trial)] == [1]
    assert corrections(trial) == []


def test_a_reason_too_long_is_refused(staff, trial):
    response = correct_vas(staff, "62", reason="x" * 501)
    assert response.status_code == 400
    assert field_error(response, "reason") == "At most 500 characters."
    assert [row["version"] for row in versions(trial)] == [1]


@pytest.mark.parametrize("value,mode,message", [("150", "line", "Please mark your pain on the line."),
                                                ("-1", "line", "Please mark your pain on the line."),
                                                ("11", "nrs", "Please choose a number from 0 to 10."),
                                                ("4.5", "nrs", "Please choose a number from 0 to 10.")])
def test_an_out_of_range_value_is_refused_with_the_instruments_message(staff, trial, value, mode, message):
    response = correct_vas(staff, value, mode=mode)
    assert response.status_code == 400
    assert field_error(response, "value") == message
    assert [row["version"] for row in versions(trial)] == [1]
    assert corrections(trial) == []


def test_an_unchanged_answer_stores_no_version(staff, trial):
    response = correct_vas(staff, "45")
    assert response.status_code == 303
    assert "Nothing changed" in text(staff.client.get("/staff/participants/P-001"))
    assert [row["version"] for row in versions(trial)] == [1]
    assert corrections(trial) == []


def test_a_concurrent_correction_is_refused_and_asked_to_reload(staff, trial):
    token = staff.csrf(VAS_PAGE)
    first = staff.post(VAS_PAGE, {"mode": "line", "value": "62", "version": "1", "reason": "misread"}, token)
    assert first.status_code == 303
    # A second investigator's form, opened on version 1 too, arrives after the first was stored.
    second = staff.post(VAS_PAGE, {"mode": "line", "value": "70", "version": "1", "reason": "misread too"}, token)
    assert second.status_code == 400
    page = unescape(text(second))
    assert ("investigator@hospital.example stored version 2 of this answer after this page was opened, "
            "so nothing was stored") in page
    assert 'name="version" type="hidden" value="2"' in page   # the reloaded form corrects version 2
    assert [row["answers"]["value"] for row in versions(trial)] == [45, 62]
    assert len(corrections(trial)) == 1


def test_a_form_with_a_broken_version_is_refused(staff, trial):
    response = correct_vas(staff, "62", version="x")
    assert response.status_code == 400
    assert "could not be read" in text(response)
    assert [row["version"] for row in versions(trial)] == [1]


def test_a_missing_answer_or_participant_is_404(staff):
    assert staff.client.get("/staff/participants/P-001/answers/month1/vas").status_code == 404
    assert staff.client.get("/staff/participants/P-404/answers/baseline/vas").status_code == 404
    assert staff.client.get("/staff/participants/P-001/answers/baseline/nothing").status_code == 404


def test_a_nurse_cannot_correct(staff, trial):
    staff.client.post("/staff/logout", data={"csrf_token": staff.csrf("/staff/participants/P-001")})
    assert staff.login("nurse").status_code == 303
    assert staff.client.get(VAS_PAGE).status_code == 403
    response = staff.post(VAS_PAGE, {"mode": "line", "value": "62", "version": "1", "reason": "misread"},
                          staff.csrf("/staff/participants/P-001"))
    assert response.status_code == 403
    assert [row["version"] for row in versions(trial)] == [1]
    page = text(staff.client.get("/staff/participants/P-001"))
    assert "Pain (visual analogue scale)" in page and f'href="{VAS_PAGE}"' not in page


def test_an_admin_can_correct(staff, trial):
    staff.client.post("/staff/logout", data={"csrf_token": staff.csrf("/staff/participants/P-001")})
    assert staff.login("admin").status_code == 303
    assert correct_vas(staff, "30").status_code == 303
    assert versions(trial)[-1]["recorded_by"] == "admin@hospital.example"


def test_the_long_csv_carries_the_newest_version_and_its_reason(staff, app, tmp_path):
    assert correct_vas(staff, "62", reason="misread; 62 mm").status_code == 303
    out = tmp_path / "long.csv"
    result = app.test_cli_runner().invoke(args=["dataset", "export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert list(rows[0])[-2:] == ["version", "corrected_reason"]
    baseline = next(row for row in rows if row["timepoint"] == "baseline")
    assert (baseline["vas"], baseline["version"], baseline["corrected_reason"]) == ("6.2", "2", "vas: misread; 62 mm")
    assert baseline["odi_score"] == "20.00"
    later = next(row for row in rows if row["timepoint"] == "month1")
    assert (later["version"], later["corrected_reason"]) == ("", "")


def test_the_identifiable_odm_export_keeps_every_version_with_the_reason(staff, app, tmp_path):
    assert correct_vas(staff, "62", reason="misread on paper").status_code == 303
    out = tmp_path / "odm.xml"
    result = app.test_cli_runner().invoke(args=["dataset", "export", "--format", "odm", "--identifiable",
                                                "--output", str(out)])
    assert result.exit_code == 0, result.output
    xml = out.read_text(encoding="utf-8")
    assert "misread on paper" in xml
    assert 'ItemOID="IT.vas" Value="4.5"' in xml and 'ItemOID="IT.vas" Value="6.2"' in xml


def test_a_medicine_form_is_corrected_row_by_row_and_its_totals_recomputed(staff, app, clock, trial):
    db = open_db(app.config["DATABASE"])
    try:
        person = participants.by_study_id(db, "P-001")
        taken = {"took_any": "yes", "drug_1": "diclofenac", "strength_1": "50", "doses_1": "2"}
        assert answers.submit(db, app.extensions["protocol"], participant=person, timepoint_id="baseline",
                              instrument_id="medication", answers=taken, input_mode="web", now=clock()) == answers.SAVED
    finally:
        db.close()
    page = "/staff/participants/P-001/answers/baseline/medication"
    token = staff.csrf(page)
    refused = staff.post(page, {"took_any": "yes", "drug_1": "diclofenac", "strength_1": "5000", "doses_1": "1",
                                "version": "1", "reason": "one a day"}, token)
    assert refused.status_code == 400
    assert field_error(refused, "strength_1") == "Please check the strength in mg written on the box."
    saved = staff.post(page, {"took_any": "yes", "drug_1": "diclofenac", "strength_1": "50", "doses_1": "1",
                              "version": "1", "reason": "one a day"}, token)
    assert saved.status_code == 303
    old, new = versions(trial, "medication")
    assert old["scores"]["nsaid_mg_day"] == 100 and new["scores"]["nsaid_mg_day"] == 50


def test_the_staff_pages_translate_every_message_of_the_service():
    from services import answer_corrections as service
    from web.staff.answer_corrections import SERVICE_MESSAGES

    said = {service.REASON_REQUIRED, service.REASON_TOO_LONG, service.OTHER_VERSION, service.DAILY_TOTALS}
    assert set(SERVICE_MESSAGES) == said
    assert all(key == text for key, text in SERVICE_MESSAGES.items())   # the catalogue's msgid is the English


def test_an_answer_on_another_version_of_the_form_is_shown_but_not_corrected(staff, app, clock, trial):
    from storage import responses

    db = open_db(app.config["DATABASE"])
    try:
        person = participants.by_study_id(db, "P-001")
        assert responses.insert_first(db, participant_id=person["id"], timepoint="day1", instrument="vas",
                                      instrument_version="0.9", answers={"mode": "line", "value": 30},
                                      scores={"vas_mm": 30, "vas_cm": 3.0, "vas_mode": "line"}, input_mode="paper",
                                      source="paper", submitted_at=clock(), recorded_by="test")
        db.conn.commit()
    finally:
        db.close()
    page = "/staff/participants/P-001/answers/day1/vas"
    shown = staff.client.get(page)
    assert shown.status_code == 200
    message = ("This answer was given on version 0.9 of the form; this trial now uses version 1.0, "
               "so it cannot be corrected here.")
    assert message in unescape(text(shown)) and 'name="reason"' not in text(shown)
    refused = staff.post(page, {"mode": "line", "value": "40", "version": "1", "reason": "misread"}, staff.csrf(VAS_PAGE))
    assert refused.status_code == 400 and message in unescape(text(refused))
    assert [row["version"] for row in versions(trial) if row["answers"]["value"] in (30, 40)] == [1]
