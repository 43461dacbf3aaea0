"""The report JSON and the long CSV of one fixed simulated trial, pinned byte for byte.

A refactor must not change a single number or column. The trial covers the paths that differ:
answers corrected as a second version, a withdrawal, participants imported from paper (no
schedule), and missed timepoints. After a deliberate change of output, regenerate with
``GOLDEN_UPDATE=1 scripts/test tests/test_golden.py`` and review the diff like code.
"""
from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

from app import create_app
from storage import init_db
from storage.connection import open_db
from tests.trial_data import populate

GOLDEN = Path(__file__).with_name("golden")
# After every window of the simulated trial has closed (procedure 2025-06-02; month6 closes 2026-01-02).
REPORT_AT = datetime(2026, 2, 1, 9, 30, tzinfo=timezone.utc)
PAPER_CSV = (
    "study_id,arm,timepoint,vas,odi_1,odi_2,odi_3,odi_4,odi_5,odi_6,odi_7,odi_8,odi_9,odi_10,"
    "sat_procedure,sat_results,nsaid_mg_day,mme_mg_day\n"
    "PAPER-1,A,baseline,7.5,3,2,3,2,3,2,2,,3,2,,,150,0\n"
    "PAPER-1,A,month1,4,2,1,2,1,2,1,1,,2,1,3,4,50,0\n"
    "PAPER-2,B,baseline,6,2,2,2,2,2,2,2,2,2,2,,,100,10\n"
)


def _correct(db, participant_id: int, timepoint: str, instrument: str, answers: dict, scores: dict) -> None:
    """A second version of an answer, as a correction stores it (the first stays)."""
    first = next(db.query("SELECT * FROM responses WHERE participant_id = ? AND timepoint = ? AND instrument = ?",
                          [participant_id, timepoint, instrument]))
    db["responses"].insert({**first, "id": None, "version": 2, "answers": json.dumps(answers),
                            "scores": json.dumps(scores), "recorded_by": "investigator@example.org"})


@pytest.fixture
def golden_app(tmp_path):
    path = tmp_path / "golden.sqlite3"
    init_db(path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": lambda: REPORT_AT,
                      "BASE_URL": "https://pro.example.org"})
    populate(path, app.extensions["protocol"], per_arm=25, seed=2026, completion=0.85)
    db = open_db(path)
    try:
        from questionnaires import INSTRUMENTS

        vas = INSTRUMENTS["vas"]
        answers = vas.validate({"mode": "line", "value": 12})
        _correct(db, 1, "month1", "vas", answers, vas.score(answers))
        db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = '2025-07-15T08:00:00+00:00', "
                   "withdrawal_reason = 'moved away' WHERE id = 30")
    finally:
        db.close()
    csv_path = tmp_path / "paper.csv"
    csv_path.write_text(PAPER_CSV, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["dataset", "import", str(csv_path)])
    assert result.exit_code == 0, result.output
    return app


def _check(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("GOLDEN_UPDATE") == "1":
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed: compare with {path}"


def test_report_json_is_unchanged(golden_app):
    result = golden_app.test_cli_runner().invoke(args=["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["arms"]["A"]["n"] == 26 and report["arms"]["B"]["n"] == 26
    _check("report.json", result.output)


def test_long_csv_is_unchanged(golden_app, tmp_path):
    out = tmp_path / "long.csv"
    result = golden_app.test_cli_runner().invoke(args=["dataset", "export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert text.count("\n") == 1 + 52 * 6
    _check("long.csv", text)


def test_wide_csv_is_unchanged(golden_app, tmp_path):
    out = tmp_path / "wide.csv"
    result = golden_app.test_cli_runner().invoke(args=["dataset", "export", "--format", "wide-csv",
                                                       "--output", str(out)])
    assert result.exit_code == 0, result.output
    _check("wide.csv", out.read_text(encoding="utf-8"))
