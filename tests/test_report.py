"""The comparison report: the JSON contract, its numbers, the HTML, and every degenerate trial."""
from __future__ import annotations

import json
import numpy as np
import pytest

from reports import statistics as st
from reports.trial_report import build
from storage.connection import open_db
from tests.staff_support import Staff, create_staff
from tests.trial_data import populate

CONTINUOUS_KEYS = {"variable", "timepoint", "A", "B", "mann_whitney", "t_test", "normality", "test",
                   "hodges_lehmann", "rank_biserial"}
DESCRIBE_KEYS = {"n", "median", "q1", "q3", "mean", "sd"}


def report_for(app, clock):
    db = open_db(app.config["DATABASE"])
    try:
        return build(db, app.extensions["protocol"], clock())[0]
    finally:
        db.close()


@pytest.fixture
def simulated(app, db_path):
    populate(db_path, app.extensions["protocol"], per_arm=40, seed=3)
    return app


def test_json_contract_keys(simulated, clock):
    report = report_for(simulated, clock)
    assert report["arms"] == {"A": {"label": "Fluoroscopy-guided", "n": 40}, "B": {"label": "CT-guided", "n": 40}}
    assert {(e["variable"], e["timepoint"]) for e in report["continuous"]} >= {
        ("vas", tp) for tp in ("baseline", "day1", "week1", "month1", "month3", "month6")} | {
        ("odi", tp) for tp in ("baseline", "month1", "month3", "month6")} | {
        ("nsaid_reduction", tp) for tp in ("month1", "month3", "month6")}
    for entry in report["continuous"]:
        assert CONTINUOUS_KEYS <= set(entry)
        assert DESCRIBE_KEYS <= set(entry["A"]) and DESCRIBE_KEYS <= set(entry["B"])
        assert {"U", "z", "p"} <= set(entry["mann_whitney"]) and {"t", "df", "p"} <= set(entry["t_test"])
        assert set(entry["normality"]) == {"A", "B"} and entry["test"] in ("mann-whitney", "t-test")
        assert {"estimate", "ci_low", "ci_high"} <= set(entry["hodges_lehmann"])
    assert [(r["variable"], r["arm"]) for r in report["repeated"]] == [("vas", "A"), ("vas", "B"), ("odi", "A"), ("odi", "B")]
    for entry in report["repeated"]:
        assert {"variable", "arm", "n", "statistic", "df", "p", "pairwise"} <= set(entry)
        assert all({"a", "b", "z", "p", "p_adjusted"} <= set(pair) for pair in entry["pairwise"])
    vas_pairs = report["repeated"][0]["pairwise"]
    assert len(vas_pairs) == 15  # 6 timepoints: 6 x 5 / 2 pairs
    for entry in report["categorical"]:
        assert {"variable", "timepoint", "counts", "statistic", "df", "p", "p_exact"} <= set(entry)
        assert set(entry["counts"]) == {"A", "B"}
    assert {(c["variable"], c["timepoint"]) for c in report["categorical"]} >= {
        ("sat_procedure", "week1"), ("sat_results", "month6"), ("mme", "baseline"), ("mme", "month1")}
    json.dumps(report, allow_nan=False)


def test_numbers_are_the_statistics_of_the_stored_scores(simulated, clock, trial):
    report = report_for(simulated, clock)
    rows = trial.query(
        "SELECT p.arm, json_extract(r.scores, '$.vas_cm') AS vas FROM responses r "
        "JOIN participants p ON p.id = r.participant_id WHERE r.timepoint = 'month1' AND r.instrument = 'vas'")
    a = [r["vas"] for r in rows if r["arm"] == "A"]
    b = [r["vas"] for r in rows if r["arm"] == "B"]
    entry = next(e for e in report["continuous"] if (e["variable"], e["timepoint"]) == ("vas", "month1"))
    assert entry["A"]["n"] == len(a) and entry["B"]["n"] == len(b)
    assert entry["A"]["median"] == pytest.approx(float(np.percentile(a, 50, method="weibull")))
    assert entry["B"]["q1"] == pytest.approx(float(np.percentile(b, 25, method="weibull")))
    assert entry["mann_whitney"] == st.mann_whitney(a, b)
    assert entry["p"] == (entry["t_test"]["p"] if entry["test"] == "t-test" else entry["mann_whitney"]["p"])


def test_friedman_uses_complete_cases_only(simulated, clock, trial):
    report = report_for(simulated, clock)
    complete = trial.query(
        "SELECT COUNT(*) AS n FROM participants p WHERE p.arm = 'A' AND "
        "(SELECT COUNT(*) FROM responses r WHERE r.participant_id = p.id AND r.instrument = 'odi' "
        " AND json_extract(r.scores, '$.odi_score') IS NOT NULL) = 4")[0]["n"]
    odi_a = next(r for r in report["repeated"] if (r["variable"], r["arm"]) == ("odi", "A"))
    assert odi_a["n"] == complete < 40


def test_consort_counts(simulated, clock, trial):
    report = report_for(simulated, clock)
    month1 = next(row for row in report["consort"]["timepoints"] if row["timepoint"] == "month1")
    done = trial.query("SELECT COUNT(*) AS n FROM timepoints t JOIN participants p ON p.id = t.participant_id "
                       "WHERE p.arm = 'A' AND t.timepoint = 'month1' AND t.completed_at IS NOT NULL")[0]["n"]
    assert month1["A"]["completed"] == done
    assert month1["A"]["completed"] + month1["A"]["missed"] == 40  # all windows long closed
    assert report["consort"]["enrolled"] == {"A": 40, "B": 40}


# --- Degenerate trials: a clear statement, never a crash or a NaN ---------------------------

def test_an_empty_trial(app, clock):
    report = report_for(app, clock)
    assert report["notes"] == ["No participant is enrolled yet: there is nothing to compare."]
    assert report["arms"]["A"]["n"] == 0
    entry = report["continuous"][0]
    assert entry["A"]["n"] == 0 and entry["A"]["median"] is None and entry["mann_whitney"]["p"] is None
    assert entry["mann_whitney"]["note"]
    json.dumps(report, allow_nan=False)


def test_one_arm_empty(app, db_path, clock):
    populate(db_path, app.extensions["protocol"], per_arm=10, arms=("A",), completion=1.0)
    report = report_for(app, clock)
    assert "Arm B (CT-guided) has no participants: between-arm tests are not computed." in report["notes"]
    entry = next(e for e in report["continuous"] if e["variable"] == "vas")
    assert entry["A"]["n"] == 10 and entry["B"]["n"] == 0
    assert entry["mann_whitney"]["p"] is None and entry["hodges_lehmann"]["estimate"] is None
    json.dumps(report, allow_nan=False)


def test_a_timepoint_with_no_answers(app, db_path, clock, trial):
    populate(db_path, app.extensions["protocol"], per_arm=10)
    db = open_db(db_path)
    db.execute("DROP TRIGGER responses_no_delete")  # test setup only: make month6 unanswered
    db.execute("DELETE FROM newest_answers WHERE timepoint = 'month6'")
    db.execute("DELETE FROM responses WHERE timepoint = 'month6'")
    db.close()
    report = report_for(app, clock)
    entry = next(e for e in report["continuous"] if (e["variable"], e["timepoint"]) == ("odi", "month6"))
    assert entry["A"]["n"] == 0 and entry["p"] is None
    odi = next(r for r in report["repeated"] if (r["variable"], r["arm"]) == ("odi", "A"))
    assert odi["n"] == 0 and odi["statistic"] is None and odi["note"]
    json.dumps(report, allow_nan=False)


def _answer_everyone(app, trial, clock, studies, vas_mm):
    from services import answers
    db = open_db(app.config["DATABASE"])
    for study_id in studies:
        participant = trial.query("SELECT * FROM participants WHERE study_id = ?", [study_id])[0]
        answers.submit(db, app.extensions["protocol"], participant=participant, timepoint_id="baseline",
                       instrument_id="vas", answers={"mode": "line", "value": vas_mm}, input_mode="line", now=clock())
    db.close()


def test_every_value_tied(app, trial, clock):
    studies = [trial.enroll(f"T-{n}", arm="AB"[n % 2]) for n in range(8)]
    _answer_everyone(app, trial, clock, studies, 50)
    entry = next(e for e in report_for(app, clock)["continuous"] if (e["variable"], e["timepoint"]) == ("vas", "baseline"))
    assert entry["A"]["median"] == 5.0 and entry["B"]["median"] == 5.0
    assert entry["mann_whitney"]["p"] is None and "tied" in entry["mann_whitney"]["note"]
    json.dumps(entry, allow_nan=False)


def test_fewer_than_three_per_arm(app, trial, clock):
    studies = [trial.enroll("S-1", arm="A"), trial.enroll("S-2", arm="B"), trial.enroll("S-3", arm="B")]
    _answer_everyone(app, trial, clock, studies, 40)
    report = report_for(app, clock)
    entry = next(e for e in report["continuous"] if (e["variable"], e["timepoint"]) == ("vas", "baseline"))
    assert entry["A"]["n"] == 1 and entry["A"]["sd"] is None and entry["normality"]["A"] is None
    json.dumps(report, allow_nan=False)


# --- CLI and staff page ---------------------------------------------------------------------

def test_cli_report_json_and_html(simulated, runner, tmp_path):
    result = runner.invoke(args=["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["arms"]["A"]["n"] == 40
    out = tmp_path / "report.html"
    result = runner.invoke(args=["report", "--format", "html", "--output", str(out)])
    assert result.exit_code == 0, result.output
    html = out.read_text()
    for text in ("Table 3. ODI and VAS by group", "Table 5. Medication use", "Table 6. Satisfaction",
                 "Fr (VAS), group A", "<svg", "@page{size:A4", "HAVERAGE", "no continuity correction"):
        assert text in html, text
    assert "nan" not in html.lower().replace("nanc", "")


def test_cli_report_refuses_an_unknown_format(runner):
    result = runner.invoke(args=["report", "--format", "pdf"])
    assert result.exit_code == 2 and "'pdf' is not one of" in result.output


def test_report_page_for_investigators_with_downloads(simulated, client, clock):
    create_staff(simulated, clock)
    staff = Staff(client)
    staff.login("nurse")
    assert client.get("/staff/report").status_code == 403
    staff.post("/staff/logout", {})
    staff.login("investigator")
    page = client.get("/staff/report")
    assert page.status_code == 200 and b"Table 3" in page.data
    assert b'href="/staff/report?download=json">Download JSON' in page.data
    download = client.get("/staff/report?download=json")
    assert download.headers["Content-Disposition"].startswith('attachment; filename="report-')
    assert json.loads(download.data)["arms"]["B"]["n"] == 40
    html = client.get("/staff/report?download=html")
    assert html.headers["Content-Disposition"].endswith('.html"') and b"Download JSON" not in html.data
    assert client.get("/staff/report?download=pdf").status_code == 404
