"""The clinician variables in every export format and the codebook, and adverse events as their
own long table: values, pseudonymization, and SPSS value labels."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from services import crf
from storage.connection import open_db
from tests.test_crf import BASELINE, CT, EVENT


@pytest.fixture
def recorded(app, trial, clock):
    """P-001 (arm A, fluoroscopy allocated) treated under CT, with two events; P-002 with no forms."""
    trial.enroll("P-001", arm="A", procedure_date=clock().date())
    trial.enroll("P-002", arm="B", procedure_date=clock().date())
    db = open_db(app.config["DATABASE"])
    protocol = app.extensions["protocol"]
    try:
        crf.record_baseline(db, protocol, "P-001", {**BASELINE, "mri_finding": "L4-5 protrusion"}, actor="i",
                            now=clock())
        crf.record_procedure(db, protocol, "P-001", {**CT, "operators": "Dr A"}, actor="i", now=clock())
        later = clock() + timedelta(days=3)
        crf.record_event(db, protocol, "P-001", {**EVENT, "onset_date": "2026-03-04"}, actor="n", now=later)
        crf.record_event(db, protocol, "P-001", {**EVENT, "event": "abscess", "grade": "3", "serious": "yes",
                                                 "onset_date": "2026-03-05"}, actor="n", now=later)
    finally:
        db.close()


def export(runner, tmp_path, fmt, *extra):
    out = tmp_path / f"out.{fmt}"
    result = runner.invoke(args=["dataset", "export", "--format", fmt, "--output", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def test_long_csv_carries_the_clinician_variables_on_each_row(runner, tmp_path, recorded):
    rows = list(csv.DictReader(io.StringIO(export(runner, tmp_path, "csv").read_text(encoding="utf-8"))))
    p1 = [r for r in rows if r["study_id"] == "P-001"]
    assert len(p1) == 6 and len({r["sex"] for r in p1}) == 1
    first = p1[0]
    assert {k: first[k] for k in ("age", "sex", "root_l4", "guidance", "procedure_punctures", "roots_injected",
                                  "operative_min", "min_per_puncture", "dlp_mgycm", "dap_mgycm2",
                                  "effective_dose_msv", "contrast_extravasation", "deviations", "complication",
                                  "adverse_events")} == {
        "age": "51", "sex": "female", "root_l4": "unilateral", "guidance": "ct", "procedure_punctures": "2",
        "roots_injected": "1-2", "operative_min": "22.5", "min_per_puncture": "11.25", "dlp_mgycm": "347.5",
        "dap_mgycm2": "", "effective_dose_msv": "5.2125", "contrast_extravasation": "no", "deviations": "guidance",
        "complication": "abscess", "adverse_events": "2"}
    p2 = [r for r in rows if r["study_id"] == "P-002"][0]
    assert p2["sex"] == "" and p2["complication"] == ""  # no forms: missing, not "none"
    assert "mri_finding" not in first and "operators" not in first   # free text: identifiable export only


def test_identifiable_export_adds_the_free_text_and_dates(runner, tmp_path, recorded):
    rows = list(csv.DictReader(io.StringIO(export(runner, tmp_path, "csv", "--identifiable").read_text(
        encoding="utf-8"))))
    first = rows[0]
    assert (first["mri_finding"], first["operators"], first["procedure_performed_on"]) == (
        "L4-5 protrusion", "Dr A", "2026-03-02")


def test_adverse_events_export_as_their_own_table(runner, tmp_path, recorded):
    text = export(runner, tmp_path, "events-csv").read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["study_id"], r["event_no"], r["event"], r["grade"], r["serious"], r["onset_days_after_procedure"])
            for r in rows] == [("P-001", "1", "hematoma", "2", "no", "2"), ("P-001", "2", "abscess", "3", "yes", "3")]
    assert "onset_date" not in rows[0]


def test_spss_file_codes_clinician_categories_with_value_labels(runner, tmp_path, recorded):
    import pyreadstat

    frame, meta = pyreadstat.read_sav(str(export(runner, tmp_path, "sav")))
    assert meta.variable_value_labels["sex"] == {1.0: "Male", 2.0: "Female"}
    assert meta.variable_value_labels["complication"][2.0] == "Abscess"
    assert set(frame.loc[frame["study_id"] == "P-001", "sex"]) == {2.0}
    assert meta.column_names_to_labels["effective_dose_msv"] == "Effective dose estimate"


def test_codebook_describes_every_clinician_column(runner, tmp_path, recorded):
    out = tmp_path / "codebook.csv"
    export(runner, tmp_path, "csv", "--codebook", str(out))
    names = [row["name"] for row in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))]
    from reports.clinical_dataset import CLINICAL_COLUMNS
    assert [n for n in names if n in CLINICAL_COLUMNS] == list(CLINICAL_COLUMNS)
