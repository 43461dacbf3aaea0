"""The report JSON of a fixed simulated trial with clinician forms, pinned byte for byte.

tests/test_golden.py pins a trial without clinician forms; this one holds every clinician table and
the paths that differ in them: a procedure record corrected into a crossover and over the steroid
ceiling, a baseline corrected, an adverse event added after the procedure, a participant withdrawn,
participants imported from paper (no schedule, no forms), the screening log, and windows still open
on the day of the report. Regenerate after a deliberate change of output with
``GOLDEN_UPDATE=1 scripts/test tests/test_golden_clinical.py`` and review the diff like code.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from app import create_app
from storage import crf, init_db
from storage.connection import open_db
from tests.test_golden import PAPER_CSV, _check
from tests.trial_data import populate

# Between the month3 and month6 windows' closing (procedure 2025-06-02): month6 is still pending.
REPORT_AT = datetime(2025, 12, 15, 9, 30, tzinfo=timezone.utc)
CORRECTED_AT = datetime(2025, 7, 1, 10, 0, tzinfo=timezone.utc)


def _correct(db, participant_id: int, form: str, item: int, changes: dict) -> None:
    """A second version of a clinician record, as an edit stores it (the first stays)."""
    current = crf.current(db, participant_id, form, item)
    crf.insert_version(db, participant_id=participant_id, form=form, item=item, version=current["version"] + 1,
                       data={**current["data"], **changes}, at=CORRECTED_AT, by="investigator@example.org",
                       reason="source document checked")


@pytest.fixture
def golden_clinical_app(tmp_path):
    path = tmp_path / "golden-clinical.sqlite3"
    init_db(path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": lambda: REPORT_AT,
                      "BASE_URL": "https://pro.example.org"})
    populate(path, app.extensions["protocol"], per_arm=25, seed=2027, completion=0.85, clinical=True)
    db = open_db(path)
    try:
        _correct(db, 3, "procedure", 0, {"guidance": "ct", "dap_mgycm2": None, "fluoro_time_s": None,
                                         "ctdivol_mgy": 5.5, "dlp_mgycm": 0.1 + 0.2 + 400,
                                         "methylprednisolone_mg": 120.0})
        _correct(db, 7, "baseline", 0, {"age": 61, "sex": "male"})
        crf.insert_version(db, participant_id=12, form="adverse_event", item=crf.next_item(db, 12, "adverse_event"),
                           version=1, data={"event": "hematoma", "description": "after the procedure",
                                            "onset_date": "2025-06-03", "grade": 2, "serious": "no",
                                            "related": "probable", "outcome": "resolved"},
                           at=CORRECTED_AT, by="investigator@example.org", reason=None)
        for failed, outcome, reason in ((["age_18"], "not_enrolled", None),
                                        (["stenosis", "vas_5"], "not_enrolled", None),
                                        (["pregnancy"], "enrolled_by_override", "investigator's judgement"),
                                        ([], "enrolled", None)):
            crf.insert_screening(db, at=CORRECTED_AT, by="investigator@example.org", answers={}, failed=failed,
                                 outcome=outcome, override_reason=reason)
        # Withdrawn in August: the windows of month3 and month6 they had not completed count as withdrawn.
        leaver = db.execute("SELECT MIN(participant_id) FROM timepoints WHERE timepoint = 'month3' "
                            "AND completed_at IS NULL AND participant_id > 25").fetchone()[0]
        db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = '2025-08-15T08:00:00+00:00', "
                   "withdrawal_reason = 'moved away' WHERE id = ?", [leaver])
    finally:
        db.close()
    csv_path = tmp_path / "paper.csv"
    csv_path.write_text(PAPER_CSV, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["dataset", "import", str(csv_path)])
    assert result.exit_code == 0, result.output
    return app


def test_clinical_report_json_is_unchanged(golden_clinical_app):
    result = golden_clinical_app.test_cli_runner().invoke(args=["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["consort"]["crossed_over"]["A"] >= 1 and report["deviations"]["methylprednisolone"]["A"] == 1
    assert report["consort"]["follow_up_pending"]["A"] > 0 and report["consort"]["screened"] == 4
    assert next(row for row in report["consort"]["timepoints"] if row["timepoint"] == "month3")["B"]["withdrawn"] == 1
    _check("report_clinical.json", result.output)
