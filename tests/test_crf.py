"""Clinician forms: every bad input refused by field with nothing stored, versioned edits with
reasons, audit entries, serious events, and the derived values the report uses."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from questionnaires.base import AnswerError
from questionnaires.clinical import ClinicalSettings, EffectiveDose
from questionnaires.crf import complication, procedure_derived, roots_group, validate_procedure
from services import crf
from storage.connection import open_db

FLUORO = {"procedure_date": "2026-03-02", "guidance": "fluoroscopy", "operators": "Dr A", "punctures": "2",
          "injected_l4": "left", "injected_l5": "left", "si_side": "none", "operative_min": "22.5",
          "dap_mgycm2": "352", "fluoro_time_s": "40", "contrast_extravasation": "no", "methylprednisolone_mg": "80"}
CT = {**{k: v for k, v in FLUORO.items() if k not in ("dap_mgycm2", "fluoro_time_s")}, "guidance": "ct",
      "ctdivol_mgy": "9.5", "dlp_mgycm": "347.5"}
BASELINE = {"age": "51", "sex": "female", "root_l3": "none", "root_l4": "unilateral", "root_l5": "bilateral"}
EVENT = {"event": "hematoma", "onset_date": "2026-03-03", "grade": "2", "serious": "no", "related": "probable",
         "outcome": "recovered"}


@pytest.fixture
def db(app, trial):
    trial.enroll("P-001", arm="A", procedure_date=trial.clock().date())
    connection = open_db(app.config["DATABASE"])
    yield connection
    connection.close()


@pytest.fixture
def protocol(app):
    return app.extensions["protocol"]


def stored(db) -> int:
    return db.execute("SELECT COUNT(*) FROM crf_records").fetchone()[0]


@pytest.mark.parametrize("change,field,message", [
    ({"dap_mgycm2": "-5"}, "dap_mgycm2", "implausible"),
    ({"dap_mgycm2": "600000"}, "dap_mgycm2", "implausible: more than 0 mGy·cm² to 500000 mGy·cm²"),
    ({"operative_min": "0"}, "operative_min", "implausible"),
    ({"operative_min": "601"}, "operative_min", "more than 0 min to 600 min"),
    ({"ctdivol_mgy": "5"}, "ctdivol_mgy", "a CT dose on a fluoroscopy record"),
    ({"procedure_date": "2026-02-01"}, "procedure_date", "before enrollment"),
    ({"procedure_date": "2026-03-09"}, "procedure_date", "after today"),
    ({"si_side": "both"}, "si_side", "'both' is not one of none, right, left, bilateral"),
    ({"guidance": "mri"}, "guidance", "not one of fluoroscopy, ct"),
    ({"methylprednisolone_mg": "120"}, "methylprednisolone_mg", "over the protocol's 80 mg: give a deviation reason"),
    ({"punctures": "7"}, "punctures", "implausible"),
])
def test_a_bad_procedure_record_names_the_field_and_stores_nothing(db, protocol, clock, change, field, message):
    with pytest.raises(AnswerError) as refused:
        crf.record_procedure(db, protocol, "P-001", {**FLUORO, **change}, actor="inv@x.org", now=clock())
    assert message in refused.value.errors[field]
    assert stored(db) == 0


def test_fluoroscopy_fields_on_a_ct_record_are_refused_and_ctdivol_is_bounded(db, protocol, clock):
    with pytest.raises(AnswerError) as refused:
        crf.record_procedure(db, protocol, "P-001", {**CT, "dap_mgycm2": "300", "ctdivol_mgy": "150"},
                             actor="inv@x.org", now=clock())
    assert refused.value.errors["dap_mgycm2"] == "a fluoroscopy dose on a CT record"
    assert "implausible" in refused.value.errors["ctdivol_mgy"]


def test_over_the_ceiling_with_a_reason_is_a_recorded_deviation(db, protocol, clock):
    saved = crf.record_procedure(db, protocol, "P-001", {**FLUORO, "methylprednisolone_mg": "120",
                                                        "deviation_reason": "anaesthetist's order"},
                                 actor="inv@x.org", now=clock())
    derived = procedure_derived(saved["data"], protocol.clinical, "fluoroscopy", (1, 2))
    assert derived["deviations"] == ["methylprednisolone"]


def test_a_second_procedure_record_must_be_an_edit_with_a_reason(db, protocol, clock, trial):
    first = crf.record_procedure(db, protocol, "P-001", FLUORO, actor="inv@x.org", now=clock())
    assert first["version"] == 1 and first["data"]["rf_temperature_c"] == 42  # prefilled from the protocol
    with pytest.raises(AnswerError) as refused:
        crf.record_procedure(db, protocol, "P-001", {**FLUORO, "operative_min": "30"}, actor="inv@x.org", now=clock())
    assert "already has a procedure record: edit it" in refused.value.errors["form"]
    with pytest.raises(AnswerError) as refused:
        crf.record_procedure(db, protocol, "P-001", {**FLUORO, "operative_min": "30"}, actor="inv@x.org",
                             now=clock(), edit=True)
    assert refused.value.errors == {"reason": "say why the record is changed"}
    edited = crf.record_procedure(db, protocol, "P-001", {**FLUORO, "operative_min": "30"}, actor="nurse@x.org",
                                  now=clock() + timedelta(hours=1), edit=True, reason="typo: 30 not 22.5")
    assert edited["version"] == 2 and edited["data"]["operative_min"] == 30
    rows = trial.query("SELECT version, recorded_by, reason FROM crf_records ORDER BY version")
    assert rows == [{"version": 1, "recorded_by": "inv@x.org", "reason": None},
                    {"version": 2, "recorded_by": "nurse@x.org", "reason": "typo: 30 not 22.5"}]
    audit = trial.query("SELECT action, actor, before, after, reason FROM audit_log WHERE action LIKE '%_form'")
    assert [(a["action"], a["actor"]) for a in audit] == [("record_form", "inv@x.org"), ("edit_form", "nurse@x.org")]
    assert json.loads(audit[1]["before"]) == {"form": "procedure", "item": 0, "operative_min": 22.5}
    assert json.loads(audit[1]["after"]) == {"form": "procedure", "item": 0, "version": 2, "operative_min": 30}
    assert audit[1]["reason"] == "typo: 30 not 22.5"
    with pytest.raises(Exception):  # the old version stays: the table is append-only
        db.execute("UPDATE crf_records SET data = '{}' WHERE version = 1")


def test_baseline_from_a_date_of_birth_gives_the_age_at_enrollment(db, protocol, clock):
    saved = crf.record_baseline(db, protocol, "P-001", {**{k: v for k, v in BASELINE.items() if k != "age"},
                                                      "date_of_birth": "1974-03-03"}, actor="inv@x.org", now=clock())
    assert saved["data"]["age"] == 51  # 52 on 3 March 2026; enrolled on 2 March
    with pytest.raises(AnswerError) as refused:
        crf.record_baseline(db, protocol, "P-001", {**BASELINE, "sex": "m", "root_l4": "left"}, actor="x",
                            now=clock(), edit=True, reason="r")
    assert set(refused.value.errors) == {"sex", "root_l4"}


def test_an_event_for_an_unknown_participant_is_refused(db, protocol, clock):
    with pytest.raises(AnswerError) as refused:
        crf.record_event(db, protocol, "NOPE-9", EVENT, actor="nurse@x.org", now=clock() + timedelta(days=1))
    assert refused.value.errors == {"study_id": "no participant 'NOPE-9'"}
    assert stored(db) == 0


def test_events_are_numbered_and_a_serious_one_waits_for_an_investigator(db, protocol, clock, trial):
    later = clock() + timedelta(days=2)
    first = crf.record_event(db, protocol, "P-001", EVENT, actor="nurse@x.org", now=later)
    second = crf.record_event(db, protocol, "P-001", {**EVENT, "event": "abscess", "grade": "3", "serious": "yes"},
                              actor="nurse@x.org", now=later)
    assert (first["item"], second["item"]) == (1, 2)
    assert [row["item"] for row in crf.serious_unacknowledged(db)] == [2]
    with pytest.raises(AnswerError):
        crf.record_event(db, protocol, "P-001", {**EVENT, "event": "other"}, actor="nurse@x.org", now=later)
    assert crf.acknowledge_event(db, "P-001", 2, actor="inv@x.org", now=later) is True
    assert crf.acknowledge_event(db, "P-001", 2, actor="inv@x.org", now=later) is False   # idempotent
    assert crf.serious_unacknowledged(db) == []
    assert trial.query("SELECT COUNT(*) AS n FROM audit_log WHERE action = 'acknowledge_event'") == [{"n": 1}]


def test_complication_counts_the_most_severe_event():
    assert complication([]) == "none"
    assert complication([{"event": "hematoma", "grade": 2}, {"event": "abscess", "grade": 2}]) == "abscess"
    assert complication([{"event": "hematoma", "grade": 3}, {"event": "discitis_neuritis", "grade": 2}]) == "hematoma"


def test_derived_values_effective_dose_roots_and_deviations():
    settings = ClinicalSettings(effective_dose=EffectiveDose(0.0002, 0.015, "test"))
    record = validate_procedure(CT, settings, enrolled_on=date(2026, 3, 1), today=date(2026, 3, 2))
    derived = procedure_derived(record, settings, "fluoroscopy", (1, 2))
    assert derived["effective_dose_msv"] == pytest.approx(347.5 * 0.015)
    assert derived["min_per_puncture"] == pytest.approx(11.25)
    assert derived["deviations"] == ["guidance"]
    assert [roots_group(n) for n in (1, 2, 3, 4, 5, 6)] == ["1-2", "1-2", "3-4", "3-4", "5-6", "5-6"]


def test_a_serious_event_without_an_onset_date_never_breaks_the_board_list(db, protocol, clock):
    """A paper record (`crf import`'s complication column) may be serious with no onset date."""
    from storage import crf as crf_store
    from storage import write

    later = clock() + timedelta(days=2)
    crf.record_event(db, protocol, "P-001", {**EVENT, "serious": "yes"}, actor="nurse@x.org", now=later)
    with write(db):
        crf_store.insert_version(db, participant_id=1, form="adverse_event", item=9, version=1,
                                 data={"event": "abscess", "serious": "yes", "onset_date": None, "grade": 3},
                                 at=later, by="cli", reason=None)
    assert [row["item"] for row in crf.serious_unacknowledged(db)] == [1, 9]


def test_an_edit_over_a_version_saved_meanwhile_is_refused(db, protocol, clock):
    crf.record_procedure(db, protocol, "P-001", FLUORO, actor="a@x.org", now=clock())
    crf.record_procedure(db, protocol, "P-001", {**FLUORO, "operative_min": "25"}, actor="b@x.org", now=clock(),
                         edit=True, reason="b's fix", expected_version=1)
    with pytest.raises(AnswerError) as refused:
        crf.record_procedure(db, protocol, "P-001", {**FLUORO, "operative_min": "30"}, actor="a@x.org", now=clock(),
                             edit=True, reason="a's fix", expected_version=1)
    assert "b@x.org saved version 2 of this record after you opened it" in refused.value.errors["form"]
    assert db.execute("SELECT COUNT(*) FROM crf_records").fetchone()[0] == 2
