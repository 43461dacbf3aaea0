"""Eligibility at enrollment: each answer kept, an ineligible person not randomized without an
investigator's override (a deviation), and the screened-not-enrolled counted without identifiers."""
from __future__ import annotations

import json

import pytest

from app import create_app
from storage import crf
from storage.connection import open_db
from tests.staff_support import INCLUSION, staff_and_list

ENROLL = {"study_id": "P-200", "punctures": "2", "procedure_date": "2026-03-10", "timezone": "Africa/Cairo",
          "language": "en", "phone": "+20 100 123 4567", "allocation": "randomize"}


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def staff(app, client, clock):
    staff = staff_and_list(app, client, clock)
    staff.login("investigator")
    return staff


def screenings(trial) -> list[dict]:
    return trial.query("SELECT outcome, failed, override_reason, answers FROM screenings ORDER BY id")


def test_an_eligible_person_is_randomized_with_every_answer_kept(staff, trial, app):
    response = staff.post("/staff/enroll", {**ENROLL, "criteria": INCLUSION})
    assert response.status_code == 303
    rows = screenings(trial)
    assert [(r["outcome"], json.loads(r["failed"])) for r in rows] == [("enrolled", [])]
    answers = json.loads(rows[0]["answers"])
    assert len(answers) == 17 and answers["vas_5"] == "yes" and answers["pregnancy"] == "no"
    db = open_db(app.config["DATABASE"])
    try:
        kept = list(crf.newest(db, form="eligibility"))
    finally:
        db.close()
    assert [(k["study_id"], k["data"]["failed"], k["data"]["answers"]["age_18"]) for k in kept] == [
        ("P-200", [], "yes")]


@pytest.mark.parametrize("criteria,said", [
    ([c for c in INCLUSION if c != "vas_5"], "not met: VAS of 5 or more"),
    ([*INCLUSION, "pregnancy"], "applies: Pregnancy"),
])
def test_an_ineligible_person_is_not_randomized(staff, trial, criteria, said):
    response = staff.post("/staff/enroll", {**ENROLL, "criteria": criteria})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert said in page and "override with a reason" in page
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
    assert trial.query("SELECT COUNT(*) AS n FROM allocations WHERE participant_id IS NOT NULL") == [{"n": 0}]
    assert screenings(trial) == []
    assert 'value="vas_5" id="crit-vas_5"' in page  # the answers given stay on the page


def test_an_override_with_a_reason_randomizes_and_is_a_recorded_deviation(staff, trial):
    response = staff.post("/staff/enroll", {**ENROLL, "criteria": [c for c in INCLUSION if c != "vas_5"],
                                            "override_reason": "VAS 4.5 on the day, 6 at referral"})
    assert response.status_code == 303
    rows = screenings(trial)
    assert [(r["outcome"], json.loads(r["failed"]), r["override_reason"]) for r in rows] == [
        ("enrolled_by_override", ["vas_5"], "VAS 4.5 on the day, 6 at referral")]
    audit = trial.query("SELECT entity_id, after, reason FROM audit_log WHERE action = 'screen'")
    assert [(a["entity_id"], json.loads(a["after"])["deviation"], a["reason"]) for a in audit] == [
        ("P-200", True, "VAS 4.5 on the day, 6 at referral")]


def test_screened_not_enrolled_is_counted_without_an_identifier(staff, trial):
    response = staff.post("/staff/enroll", {**ENROLL, "criteria": [*INCLUSION, "stenosis"],
                                            "action": "not_enrolled"})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/enroll"
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
    rows = screenings(trial)
    assert [(r["outcome"], json.loads(r["failed"])) for r in rows] == [("not_enrolled", ["stenosis"])]
    assert "P-200" not in json.dumps(rows) and "+20" not in json.dumps(rows)
    audit = trial.query("SELECT entity, entity_id, after FROM audit_log WHERE action = 'screen'")
    assert audit[0]["entity"] == "screening" and "P-200" not in json.dumps(audit)


def test_the_cli_records_eligibility_only_when_told_every_criterion_is_met(runner, trial, app):
    from services import allocation
    db = open_db(app.config["DATABASE"])
    try:
        allocation.generate_list(db, seed=1, per_stratum=10, actor="test", now=trial.clock())
    finally:
        db.close()
    base = ["enroll", "--punctures", "2", "--phone", "+201001234567", "--procedure-date", "2026-03-10"]
    assert runner.invoke(args=[*base[:1], "P-301", *base[1:], "--criteria-met"]).exit_code == 0
    assert runner.invoke(args=[*base[:1], "P-302", *base[1:]]).exit_code == 0
    assert [(r["outcome"], json.loads(r["failed"])) for r in screenings(trial)] == [("enrolled", [])]
