"""The clinician pages through the test client: baseline characteristics and the procedure record
(investigators), adverse events (nurses too), every bad input refused by field with nothing
stored, corrections with their reason, the audit entries, and serious events on the board."""
from __future__ import annotations

import json
import re
from html import unescape

import pytest

from app import create_app
from questionnaires.crf import validate_event, validate_procedure
from services import answers, enrollment
from storage import crf, write
from storage.connection import open_db
from tests.staff_support import ROLES, staff_and_list

# A valid fluoroscopy record for P-001 (enrolled, and operated, on the test clock's day: 2026-03-02).
FLUORO = {"procedure_date": "2026-03-02", "guidance": "fluoroscopy", "operators": "Dr Amin", "punctures": "2",
          "injected_l3": "none", "injected_l4": "left", "injected_l5": "left", "si_side": "none",
          "operative_min": "30", "dap_mgycm2": "352", "fluoro_time_s": "40", "contrast_extravasation": "no",
          "methylprednisolone_mg": "80", "rf_temperature_c": "42", "rf_frequency_hz": "2",
          "rf_pulse_width_ms": "20", "rf_duration_s": "300"}
CT = {**{k: v for k, v in FLUORO.items() if k not in ("dap_mgycm2", "fluoro_time_s")}, "guidance": "ct",
      "ctdivol_mgy": "9.5", "dlp_mgycm": "347.5"}
BASELINE = {"age": "51", "sex": "female", "root_l3": "none", "root_l4": "unilateral", "root_l5": "bilateral",
            "mri_finding": "L4-L5 posterior disc bulge"}
EVENT = {"event": "hematoma", "description": "", "onset_date": "2026-03-02", "grade": "2", "serious": "no",
         "related": "probable", "outcome": "recovered"}
SERIOUS = {**EVENT, "event": "discitis_neuritis", "grade": "3", "serious": "yes"}
PAGES = {"baseline": "/staff/participants/P-001/baseline", "procedure": "/staff/participants/P-001/procedure",
         "new event": "/staff/participants/P-001/events/new"}


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "BASE_URL": "https://pro.example.org",
                       "SMS_GATEWAY": "console", "SMS_OUTBOX": str(tmp_path / "outbox.jsonl")})


@pytest.fixture
def staff(app, client, clock, trial):
    signed = staff_and_list(app, client, clock)
    trial.enroll("P-001", arm="A", procedure_date=clock().date())
    return signed


def text(response) -> str:
    return response.get_data(as_text=True)


def stored(trial, form: str | None = None) -> list[dict]:
    rows = trial.query("SELECT form, item, version, data, recorded_by, reason FROM crf_records "
                       + ("WHERE form = ? " if form else "") + "ORDER BY id", [form] if form else [])
    return [{**row, "data": json.loads(row["data"])} for row in rows]


def audit(trial, action: str) -> list[dict]:
    return trial.query("SELECT actor, entity_id, before, after, reason FROM audit_log WHERE action = ? ORDER BY id",
                       [action])


def field_error(response, field: str) -> str:
    """The message shown beside a field (its id is the field's name)."""
    found = re.search(rf'<p class="error" id="{field}-error">([^<]*)</p>', text(response))
    assert found, f"no error shown for {field}"
    return unescape(found.group(1))


def enroll_randomized(app, clock, study_id: str, punctures: int) -> str:
    """Enrolled through the randomization list, so the participant has a stratum."""
    protocol = app.extensions["protocol"]
    clean = enrollment.validate_enrollment(protocol, ["en"], study_id=study_id, arm=None, phone=None, timezone="UTC",
                                           language="en", procedure_date=clock().date(), punctures=punctures)
    db = open_db(app.config["DATABASE"])
    try:
        return enrollment.enroll(db, protocol, clean, actor="test", now=clock())["arm"]
    finally:
        db.close()


# --- who may open what ------------------------------------------------------------------------

@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("role", ROLES)
def test_investigators_keep_the_record_and_nurses_record_events(staff, client, page, role):
    staff.login(role)
    response = client.get(PAGES[page])
    if role == "nurse" and page != "new event":
        assert response.status_code == 403
        assert "Your role does not give access to this page." in text(response)
    else:
        assert response.status_code == 200


def test_a_nurses_post_to_the_procedure_record_is_403_and_stores_nothing(staff, trial):
    staff.login("nurse")
    assert staff.post(PAGES["procedure"], FLUORO).status_code == 403
    assert staff.post(PAGES["baseline"], BASELINE).status_code == 403
    assert stored(trial) == []


def test_every_clinical_route_needs_a_signed_in_user(app, client, staff, trial):
    token = staff.csrf()
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint in (
        "staff.baseline", "staff.procedure", "staff.new_event", "staff.event", "staff.acknowledge_event")]
    assert len(rules) == 5
    for rule in rules:
        path = rule.rule.replace("<study_id>", "P-001").replace("<int:item>", "1")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            response = client.open(path, method=method, data={"csrf_token": token, **EVENT})
            assert response.status_code == 302 and "/staff/login" in response.headers["Location"], (method, path)
    assert stored(trial) == []


def test_an_unknown_participant_or_event_is_404(staff, client):
    staff.login("investigator")
    assert client.get("/staff/participants/P-999/procedure").status_code == 404
    assert client.get("/staff/participants/P-001/events/1").status_code == 404
    assert staff.post("/staff/participants/P-001/events/1/acknowledge", {}).status_code == 404


def test_a_post_without_its_csrf_token_is_refused(staff, client, trial):
    staff.login("investigator")
    response = client.post(PAGES["procedure"], data=FLUORO)
    assert response.status_code == 400
    assert stored(trial) == []


# --- the procedure record -----------------------------------------------------------------------

def test_a_new_procedure_record_is_prefilled_from_the_protocol_and_the_arm(staff, client, trial):
    staff.login("investigator")
    page = text(client.get(PAGES["procedure"]))
    # Arm A is fluoroscopy-guided; the pulsed RF settings are the protocol's; the date is the planned one.
    assert re.search(r'<input checked id="guidance-0" name="guidance" type="radio" value="fluoroscopy">', page)
    assert 'value="ct">' in page and 'checked id="guidance-1"' not in page
    for name, value in (("rf_temperature_c", "42"), ("rf_frequency_hz", "2"), ("rf_pulse_width_ms", "20"),
                        ("rf_duration_s", "300"), ("procedure_date", "2026-03-02")):
        assert re.search(rf'id="{name}"[^>]* value="{value}"', page), name
    # Both sets of dose fields are in the page, each in a fieldset marked with its modality.
    assert '<fieldset data-modality="fluoroscopy" id="dose-fluoroscopy">' in page
    assert '<fieldset data-modality="ct" id="dose-ct">' in page
    assert page.index('id="dap_mgycm2"') > page.index('data-modality="fluoroscopy"')
    assert page.index('id="ctdivol_mgy"') > page.index('data-modality="ct"')
    assert "Allocated: arm A, Fluoroscopy-guided" in page
    assert 'name="reason"' not in page   # a new record needs no reason


def test_arm_b_has_ct_preselected(staff, client, trial):
    trial.enroll("P-002", arm="B")
    staff.login("investigator")
    page = text(client.get("/staff/participants/P-002/procedure"))
    assert '<input checked id="guidance-1" name="guidance" type="radio" value="ct">' in page


@pytest.mark.parametrize("change,field,message", [
    ({"dap_mgycm2": "-5"}, "dap_mgycm2", "-5 is implausible: more than 0 mGy·cm² to 500000 mGy·cm²"),
    ({"dap_mgycm2": "500001"}, "dap_mgycm2", "500001 is implausible: more than 0 mGy·cm² to 500000 mGy·cm²"),
    ({"fluoro_time_s": "-1"}, "fluoro_time_s", "-1 is implausible"),
    ({"dap_mgycm2": "a lot"}, "dap_mgycm2", "'a lot' is not a number"),
    ({"operative_min": "0"}, "operative_min", "0 is implausible: more than 0 min to 600 min"),
    ({"operative_min": "601"}, "operative_min", "601 is implausible: more than 0 min to 600 min"),
    ({"ctdivol_mgy": "9.5"}, "ctdivol_mgy", "a CT dose on a fluoroscopy record"),
    ({"dlp_mgycm": "347"}, "dlp_mgycm", "a CT dose on a fluoroscopy record"),
    ({"procedure_date": "2026-03-01"}, "procedure_date", "2026-03-01 is before enrollment (2026-03-02)"),
    ({"procedure_date": "2026-03-03"}, "procedure_date", "2026-03-03 is after today (2026-03-02)"),
    ({"procedure_date": "02/03/2026"}, "procedure_date", "is not a date written YYYY-MM-DD"),
    ({"si_side": "both"}, "si_side", "'both' is not one of None, Right, Left, Bilateral"),
    ({"injected_l4": "l9"}, "injected_l4", "'l9' is not one of None, Right, Left, Bilateral"),
    ({"guidance": "mri"}, "guidance", "'mri' is not one of Fluoroscopy, CT"),
    ({"contrast_extravasation": ""}, "contrast_extravasation", "choose one of No, Yes"),
    ({"punctures": "7"}, "punctures", "7 is implausible"),
    ({"methylprednisolone_mg": "120"}, "methylprednisolone_mg",
     "120 mg is over the protocol's 80 mg: give a deviation reason"),
])
def test_a_bad_procedure_record_is_400_naming_the_field_and_stores_nothing(staff, trial, change, field, message):
    staff.login("investigator")
    response = staff.post(PAGES["procedure"], {**FLUORO, **change})
    assert response.status_code == 400
    assert message in field_error(response, field)
    # The summary at the top names the field in words and links to it; what was typed is kept.
    page = text(response)
    assert re.search(rf'<div class="alert" role="alert"><p>Nothing was stored\. Please check:</p><ul>\s*'
                     rf'(<li>.*</li>)*<li><a href="#{field}">[^<]+</a>: ', page)
    assert 'value="Dr Amin"' in page
    assert stored(trial) == [] and audit(trial, "record_form") == []


def test_fluoroscopy_dose_fields_on_a_ct_record_are_refused_and_ctdivol_is_bounded(staff, trial):
    staff.login("investigator")
    response = staff.post(PAGES["procedure"], {**CT, "dap_mgycm2": "300", "ctdivol_mgy": "101"})
    assert response.status_code == 400
    assert field_error(response, "dap_mgycm2") == "a fluoroscopy dose on a CT record"
    assert "101 is implausible: more than 0 mGy to 100 mGy" in field_error(response, "ctdivol_mgy")
    assert '<a href="#dap_mgycm2">Dose-area product, DAP (mGy·cm²)</a>' in text(response)
    assert stored(trial) == []


def test_a_procedure_record_is_saved_then_shows_what_is_worked_out_from_it(staff, client, trial):
    staff.login("investigator")
    response = staff.post(PAGES["procedure"], FLUORO)
    assert response.status_code == 303 and response.headers["Location"] == PAGES["procedure"]
    page = text(client.get(PAGES["procedure"]))
    assert '<div class="flash success" role="status">Procedure record saved.</div>' in page
    assert "<dt>Time per puncture</dt><dd>15.0 min</dd>" in page
    assert "<dt>Effective dose</dt><dd>0.0704 mSv</dd>" in page        # 352 mGy·cm² x 0.0002 mSv per mGy·cm²
    assert "<dt>Deviations</dt><dd>None</dd>" in page
    assert "<dt>Guidance</dt><dd>Fluoroscopy</dd>" in page
    assert "<dt>Sacroiliac joint injection</dt><dd>None</dd>" in page
    assert "<dt>Methylprednisolone acetate (mg)</dt><dd>80</dd>" in page
    assert "NRPB-R262" in page                                       # the coefficients' source
    [row] = stored(trial)
    assert (row["form"], row["version"], row["recorded_by"]) == ("procedure", 1, "investigator@hospital.example")
    assert row["data"]["dap_mgycm2"] == 352 and row["data"]["ctdivol_mgy"] is None
    [entry] = audit(trial, "record_form")
    assert (entry["actor"], entry["entity_id"]) == ("investigator@hospital.example", "P-001")
    assert json.loads(entry["after"])["form"] == "procedure"


def test_a_ct_record_gives_its_effective_dose_from_the_dlp(staff, client, trial):
    trial.enroll("P-002", arm="B")
    staff.login("investigator")
    assert staff.post("/staff/participants/P-002/procedure", CT).status_code == 303
    page = text(client.get("/staff/participants/P-002/procedure"))
    assert "<dt>Effective dose</dt><dd>5.21 mSv</dd>" in page           # 347.5 mGy·cm x 0.015 mSv per mGy·cm
    assert "<dt>Guidance</dt><dd>CT</dd>" in page


def test_deviations_are_named_after_saving(app, staff, client, trial, clock):
    arm = enroll_randomized(app, clock, "R-001", punctures=2)        # stratum 1-2
    other = "ct" if arm == "A" else "fluoroscopy"
    record = {**(CT if other == "ct" else FLUORO), "punctures": "3", "methylprednisolone_mg": "120",
              "deviation_reason": "Anaesthetist's order"}
    staff.login("investigator")
    assert staff.post("/staff/participants/R-001/procedure", record).status_code == 303
    page = text(client.get("/staff/participants/R-001/procedure"))
    deviations = re.search(r'<ul class="deviations">(.*?)</ul>', page).group(1)
    allocated = "A: Fluoroscopy-guided" if arm == "A" else "B: CT-guided"
    assert re.findall(r"<li>(.*?)</li>", deviations) == [
        f"Guided by {'CT' if other == 'ct' else 'Fluoroscopy'}, not as allocated (arm {allocated})",
        "3 puncture points, outside the randomization stratum (1-2)",
        "Methylprednisolone 120 mg, over the protocol&#39;s 80 mg"]
    assert "<dt>Deviation reason</dt><dd>Anaesthetist&#39;s order</dd>" in page


def test_a_second_procedure_record_where_an_edit_was_meant_is_refused(staff, client, trial):
    staff.login("investigator")
    assert staff.post(PAGES["procedure"], FLUORO).status_code == 303
    # A second form opened before the first was saved still says "new" (version 0).
    response = staff.post(PAGES["procedure"], {**FLUORO, "operative_min": "45", "version": "0"})
    assert response.status_code == 400
    assert ("P-001 already has a procedure record: edit it, with the reason for the change"
            in text(response))
    # The page now offers the correction of the stored record, keeping what was typed.
    assert 'name="version" type="hidden" value="1"' in text(response)
    assert 'name="reason"' in text(response) and 'value="45"' in text(response)
    assert [row["version"] for row in stored(trial)] == [1]


def test_a_correction_needs_a_reason_then_is_a_new_version_audited_and_listed(staff, client, trial):
    staff.login("investigator")
    staff.post(PAGES["procedure"], FLUORO)
    edit = text(client.get(PAGES["procedure"]))
    # The correction form shows the current values and asks for the reason.
    assert re.search(r'id="operative_min"[^>]* value="30"', edit)
    assert '<label for="reason">Reason for the change</label>' in edit
    assert 'name="version" type="hidden" value="1"' in edit

    refused = staff.post(PAGES["procedure"], {**FLUORO, "operative_min": "35", "version": "1"})
    assert refused.status_code == 400
    assert field_error(refused, "reason") == "say why the record is changed"
    assert '<a href="#reason">Reason for the change</a>: say why the record is changed' in text(refused)
    assert "<details class=\"correct\" open>" in text(refused)
    assert [row["version"] for row in stored(trial)] == [1]

    saved = staff.post(PAGES["procedure"], {**FLUORO, "operative_min": "35", "version": "1",
                                            "reason": "Timer read wrongly"})
    assert saved.status_code == 303
    page = text(client.get(PAGES["procedure"]))
    assert "Procedure record corrected: version 2." in page
    assert "<dt>Time per puncture</dt><dd>17.5 min</dd>" in page
    versions = re.search(r'<ol class="versions" reversed>(.*?)</ol>', page, re.S).group(1)
    assert "Version 2:" in versions and "investigator@hospital.example (current)" in versions
    assert "Why: Timer read wrongly" in versions
    assert "<li>Operative time (min): <del>30</del> → <ins>35</ins></li>" in versions
    assert "Version 1:" in versions and "First record." in versions
    assert [(row["version"], row["reason"]) for row in stored(trial)] == [(1, None), (2, "Timer read wrongly")]
    [entry] = audit(trial, "edit_form")
    assert entry["reason"] == "Timer read wrongly"
    assert json.loads(entry["before"]) == {"form": "procedure", "item": 0, "operative_min": 30}
    assert json.loads(entry["after"]) == {"form": "procedure", "item": 0, "version": 2, "operative_min": 35}


def test_saving_the_same_values_again_changes_nothing(staff, client, trial):
    staff.login("investigator")
    staff.post(PAGES["procedure"], FLUORO)
    assert staff.post(PAGES["procedure"], {**FLUORO, "version": "1", "reason": "checked"}).status_code == 303
    assert "Nothing changed: the procedure record already had these values." in text(client.get(PAGES["procedure"]))
    assert len(stored(trial)) == 1 and audit(trial, "edit_form") == []


def test_a_correction_from_a_page_opened_before_anothers_is_refused(staff, trial):
    staff.login("investigator")
    staff.post(PAGES["procedure"], FLUORO)
    staff.post(PAGES["procedure"], {**FLUORO, "operative_min": "35", "version": "1", "reason": "Timer"})
    stale = staff.post(PAGES["procedure"], {**FLUORO, "operative_min": "40", "version": "1", "reason": "Mine"})
    assert stale.status_code == 400
    assert "investigator@hospital.example saved version 2 of this record after this page was opened" in text(stale)
    assert [row["data"]["operative_min"] for row in stored(trial)] == [30, 35]


# --- baseline characteristics ---------------------------------------------------------------------

def test_the_baseline_page_shows_the_patients_own_vas(app, staff, client, trial, clock):
    staff.login("investigator")
    assert "Pain before the procedure (VAS), from the patient's own form:\n<strong>not answered yet</strong>" \
        in text(client.get(PAGES["baseline"]))
    [participant] = trial.query("SELECT id, study_id FROM participants WHERE study_id = 'P-001'")
    db = open_db(app.config["DATABASE"])
    try:
        answers.submit(db, app.extensions["protocol"], participant=participant,
                       timepoint_id="baseline", instrument_id="vas", answers={"value": 62, "mode": "line"},
                       input_mode="line", now=clock())
    finally:
        db.close()
    page = text(client.get(PAGES["baseline"]))
    assert "<strong>6.2 cm</strong>" in page and "on the line" in page
    assert 'name="vas"' not in page     # read-only: not a field of this form


@pytest.mark.parametrize("change,field,message", [
    ({"sex": "other"}, "sex", "'other' is not one of Male, Female"),
    ({"root_l4": "left"}, "root_l4", "'left' is not one of None, Unilateral, Bilateral"),
    ({"age": "17"}, "age", "17 is implausible"),
    ({"age": "", "date_of_birth": ""}, "age", "required"),
    ({"age": "40", "date_of_birth": "1975-01-01"}, "age", "40 does not match the date of birth (51 at enrollment)"),
    ({"date_of_birth": "2027-01-01", "age": ""}, "date_of_birth", "is after enrollment"),
])
def test_a_bad_baseline_record_is_400_naming_the_field(staff, trial, change, field, message):
    staff.login("investigator")
    response = staff.post(PAGES["baseline"], {**BASELINE, **change})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert stored(trial) == []


def test_baseline_from_a_date_of_birth_then_corrected(staff, client, trial):
    staff.login("admin")
    response = staff.post(PAGES["baseline"], {**BASELINE, "age": "", "date_of_birth": "1975-03-03"})
    assert response.status_code == 303
    page = text(client.get(PAGES["baseline"]))
    assert "Baseline record saved." in page
    assert "<dt>Age (years)</dt><dd>50</dd>" in page and "<dt>L5 involvement</dt><dd>Bilateral</dd>" in page
    assert staff.post(PAGES["baseline"], {**BASELINE, "sex": "male", "version": "1"}).status_code == 400
    assert staff.post(PAGES["baseline"], {**BASELINE, "sex": "male", "version": "1",
                                          "reason": "Wrong patient's sheet"}).status_code == 303
    assert [(row["version"], row["data"]["sex"]) for row in stored(trial)] == [(1, "female"), (2, "male")]
    assert [entry["reason"] for entry in audit(trial, "edit_form")] == ["Wrong patient's sheet"]


# --- adverse events -------------------------------------------------------------------------------

def test_a_nurse_records_an_adverse_event_and_corrects_it_with_a_reason(staff, client, trial):
    staff.login("nurse")
    response = staff.post(PAGES["new event"], EVENT)
    assert response.status_code == 303 and response.headers["Location"] == "/staff/participants/P-001/events/1"
    page = text(client.get("/staff/participants/P-001/events/1"))
    assert "Adverse event saved." in page
    assert "<dt>Event</dt><dd>Hematoma</dd>" in page and "<dt>Grade</dt><dd>Grade 2, moderate</dd>" in page
    assert "<dt>Related to the procedure</dt><dd>Probable</dd>" in page
    assert staff.post(PAGES["new event"], {**EVENT, "event": "abscess"}).status_code == 303   # a second event
    without = staff.post("/staff/participants/P-001/events/1", {**EVENT, "grade": "3", "version": "1"})
    assert without.status_code == 400 and field_error(without, "reason") == "say why the record is changed"
    assert staff.post("/staff/participants/P-001/events/1", {**EVENT, "grade": "3", "version": "1",
                                                              "reason": "Admitted overnight"}).status_code == 303
    assert [(row["item"], row["version"], row["data"]["grade"]) for row in stored(trial)] == [
        (1, 1, 2), (2, 1, 2), (1, 2, 3)]
    assert [entry["actor"] for entry in audit(trial, "record_form")] == ["nurse@hospital.example"] * 2
    assert [entry["reason"] for entry in audit(trial, "edit_form")] == ["Admitted overnight"]
    # The participant page lists both events, with their state, and links to each.
    participant = text(client.get("/staff/participants/P-001"))
    assert '<h2 id="clinical-h">Clinical record</h2>' in participant
    assert 'href="/staff/participants/P-001/events/1">Event 1: Hematoma</a>, grade 3, severe' in participant
    assert 'href="/staff/participants/P-001/events/2">Event 2: Abscess</a>' in participant


@pytest.mark.parametrize("change,field,message", [
    ({"event": "fracture"}, "event", "'fracture' is not one of Discitis or neuritis, Abscess, Hematoma, Other"),
    ({"event": "other"}, "description", "say what the event was"),
    ({"grade": "6"}, "grade", "6 is implausible"),
    ({"serious": ""}, "serious", "choose one of No, Yes"),
    ({"related": "maybe"}, "related", "'maybe' is not one of Unrelated, Unlikely, Possible, Probable, Definite"),
    ({"onset_date": "2026-02-01"}, "onset_date", "is before enrollment"),
    ({"onset_date": "2026-03-09"}, "onset_date", "is after today"),
])
def test_a_bad_adverse_event_is_400_naming_the_field(staff, trial, change, field, message):
    staff.login("nurse")
    response = staff.post(PAGES["new event"], {**EVENT, **change})
    assert response.status_code == 400
    assert message in field_error(response, field)
    assert stored(trial) == []


def test_the_participant_page_lists_each_form_and_links_by_role(staff, client):
    staff.login("nurse")
    page = text(client.get("/staff/participants/P-001"))
    assert "<li>Baseline characteristics: not recorded</li>" in page
    assert "<li>Procedure record: not recorded</li>" in page
    assert "None recorded." in page and 'href="/staff/participants/P-001/events/new"' in page
    staff.post("/staff/logout", {})
    staff.login("investigator")
    staff.post(PAGES["procedure"], FLUORO)
    page = text(client.get("/staff/participants/P-001"))
    assert '<a href="/staff/participants/P-001/baseline">Baseline characteristics</a>: not recorded' in page
    assert re.search(r'<a href="/staff/participants/P-001/procedure">Procedure record</a>: version 1, '
                     r'02 Mar 2026 12:00 UTC</li>', page)


# --- serious events on the board ------------------------------------------------------------------

def test_a_serious_event_waits_on_the_board_until_an_investigator_acknowledges_it(staff, client, trial):
    staff.login("nurse")
    staff.post(PAGES["new event"], EVENT)              # not serious: never on the board
    staff.post(PAGES["new event"], SERIOUS)
    board = text(client.get("/staff/"))
    block = re.search(r'<section class="serious".*?</section>', board, re.S).group(0)
    assert board.index('class="serious"') < board.index('class="cards"')
    assert ('<a href="/staff/participants/P-001/events/2">P-001</a>: Discitis or neuritis, grade 3, severe, '
            'onset 2026-03-02') in block
    assert "Hematoma" not in block
    assert "<button" not in block and "An investigator acknowledges each one." in block
    assert staff.post("/staff/participants/P-001/events/2/acknowledge", {}).status_code == 403
    staff.post("/staff/logout", {})

    staff.login("investigator")
    block = re.search(r'<section class="serious".*?</section>', text(client.get("/staff/")), re.S).group(0)
    assert ("<button type=\"submit\" class=\"secondary\">Acknowledge<span class=\"visually-hidden\"> P-001's "
            "discitis or neuritis</span></button>") in block
    response = staff.post("/staff/participants/P-001/events/2/acknowledge", {})
    assert response.status_code == 303 and response.headers["Location"] == "/staff/"
    board = text(client.get("/staff/"))
    assert "P-001&#39;s adverse event 2 acknowledged." in board and 'class="serious"' not in board
    # Twice is harmless: said so, nothing more stored or audited.
    again = staff.post("/staff/participants/P-001/events/2/acknowledge", {})
    assert again.status_code == 303
    assert "was already acknowledged" in text(client.get("/staff/"))
    assert [(row["item"], row["version"], row["reason"]) for row in stored(trial)] == [
        (1, 1, None), (2, 1, None), (2, 2, "acknowledged by an investigator")]
    [entry] = audit(trial, "acknowledge_event")
    assert (entry["actor"], entry["entity_id"], json.loads(entry["after"])) == (
        "investigator@hospital.example", "P-001", {"item": 2, "event": "discitis_neuritis"})
    page = text(client.get("/staff/participants/P-001/events/2"))
    assert "Serious: acknowledged by investigator@hospital.example." in page
    assert "<li>Acknowledged by: <del>nobody</del> → <ins>investigator@hospital.example</ins></li>" in page


def test_the_event_page_offers_the_acknowledgement_to_investigators_only(staff, client):
    staff.login("nurse")
    staff.post(PAGES["new event"], SERIOUS)
    page = text(client.get("/staff/participants/P-001/events/1"))
    assert "Serious, not yet acknowledged by an investigator." in page and "Acknowledge</button>" not in page
    staff.post("/staff/logout", {})
    staff.login("admin")
    page = text(client.get("/staff/participants/P-001/events/1"))
    assert 'action="/staff/participants/P-001/events/1/acknowledge"' in page
    assert 'name="back" value="/staff/participants/P-001/events/1"' in page
    response = staff.post("/staff/participants/P-001/events/1/acknowledge",
                          {"back": "/staff/participants/P-001/events/1"})
    assert response.headers["Location"] == "/staff/participants/P-001/events/1"
    elsewhere = staff.post("/staff/participants/P-001/events/1/acknowledge", {"back": "https://evil.example/"})
    assert elsewhere.headers["Location"] == "/staff/"


# --- records imported from paper ----------------------------------------------------------------

def test_an_incomplete_paper_record_shows_what_it_has(app, staff, client, trial, clock):
    """`crf import` stores what a paper form had; the pages show it, and say what cannot be worked out."""
    protocol = app.extensions["protocol"]
    procedure = validate_procedure({"guidance": "ct", "dlp_mgycm": "300"}, protocol.clinical, enrolled_on=None,
                                   today=clock().date(), complete=False)
    event = validate_event({"event": "abscess"}, enrolled_on=None, today=clock().date(), complete=False)
    [participant] = trial.query("SELECT id FROM participants WHERE study_id = 'P-001'")
    db = open_db(app.config["DATABASE"])
    try:
        with write(db):
            for form, data in (("procedure", procedure), ("adverse_event", event)):
                crf.insert_version(db, participant_id=participant["id"], form=form, item=1 if event is data else 0,
                                   version=1, data=data, at=clock(), by="cli", reason=None)
    finally:
        db.close()
    staff.login("investigator")
    page = text(client.get(PAGES["procedure"]))
    assert "<dt>Time per puncture</dt><dd>Not worked out: no operative time or punctures recorded</dd>" in page
    assert "<dt>Effective dose</dt><dd>4.5 mSv</dd>" in page
    assert "<dt>Procedure date</dt>" not in page                  # blank on paper: not listed
    event_page = client.get("/staff/participants/P-001/events/1")
    assert event_page.status_code == 200 and "<dt>Event</dt><dd>Abscess</dd>" in text(event_page)
    assert 'href="/staff/participants/P-001/events/1">Event 1: Abscess</a> · version 1' in text(
        client.get("/staff/participants/P-001"))
