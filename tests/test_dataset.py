"""Export in every format, the codebook, and the all-or-nothing import of paper data."""
from __future__ import annotations

import csv
import io
import json

import pytest

from app import create_app
from questionnaires.odi import OdiInstrument
from reports.dataset import FIXED_COLUMNS
from storage import init_db, responses
from storage.connection import open_db
from tests.staff_support import Staff, create_staff
from tests.trial_data import populate

CONTRACT = ("study_id,arm,timepoint,vas,odi_1,odi_2,odi_3,odi_4,odi_5,odi_6,odi_7,odi_8,odi_9,odi_10,odi_score,"
            "sat_procedure,sat_results,nsaid_mg_day,mme_mg_day").split(",")


@pytest.fixture
def simulated(app, db_path):
    populate(db_path, app.extensions["protocol"], per_arm=15, seed=8)
    return app


def export(runner, fmt, path, *extra):
    result = runner.invoke(args=["dataset", "export", "--format", fmt, "--output", str(path), *extra])
    assert result.exit_code == 0, result.output
    return result


def read_csv(path):
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_long_csv_starts_with_the_contract_columns(simulated, runner, tmp_path):
    export(runner, "csv", tmp_path / "long.csv")
    rows = read_csv(tmp_path / "long.csv")
    with open(tmp_path / "long.csv", encoding="utf-8") as handle:
        header = handle.readline().strip().split(",")
    assert header[:19] == CONTRACT
    assert len(rows) == 30 * 6  # one row per participant per timepoint
    assert "phone" not in header and "allocation_reason" not in header and "withdrawal_reason" not in header


def test_long_csv_values_follow_the_codebook(simulated, runner, tmp_path, trial):
    export(runner, "csv", tmp_path / "long.csv")
    rows = read_csv(tmp_path / "long.csv")
    stored = trial.query("SELECT p.study_id, r.timepoint, r.scores FROM responses r JOIN participants p "
                         "ON p.id = r.participant_id WHERE r.instrument = 'vas'")
    by_key = {(row["study_id"], row["timepoint"]): row for row in rows}
    for entry in stored:
        cm = json.loads(entry["scores"])["vas_cm"]
        assert by_key[(entry["study_id"], entry["timepoint"])]["vas"] == f"{cm:.1f}"
    day1 = [row for row in rows if row["timepoint"] == "day1"]
    assert all(row["odi_1"] == "" and row["odi_score"] == "" and row["sat_procedure"] == "" for row in day1)
    odi = trial.query("SELECT p.study_id, r.timepoint, r.scores FROM responses r JOIN participants p "
                      "ON p.id = r.participant_id WHERE r.instrument = 'odi'")
    for entry in odi:
        score = json.loads(entry["scores"])["odi_score"]
        assert by_key[(entry["study_id"], entry["timepoint"])]["odi_score"] == ("" if score is None else f"{score:.2f}")
    assert {row["source"] for row in rows} <= {"web", ""}


def test_an_odi_answer_too_short_for_a_score_exports_a_blank_score(simulated, runner, tmp_path, db_path):
    # A protocol may ask every section to be answered for a score (odi.min_sections); a patient who
    # skips "sex life" then has an answer with no score, which the long file writes as a blank.
    odi = OdiInstrument(min_sections=10)
    answers = odi.validate({f"odi_{n}": "2" for n in range(1, 11) if n != 8})
    scores = odi.score_valid(answers)
    assert scores["odi_score"] is None
    db = open_db(db_path)
    try:
        previous = next(row for row in db.query(
            "SELECT r.* FROM responses r WHERE r.instrument = 'odi' ORDER BY r.participant_id, r.timepoint LIMIT 1"))
        study_id = db.execute("SELECT study_id FROM participants WHERE id = ?", [previous["participant_id"]]).fetchone()[0]
        with db.conn:
            responses.insert_correction(db, previous, version=2, answers=answers, scores=scores, recorded_by="test")
    finally:
        db.close()
    export(runner, "csv", tmp_path / "long.csv")
    row = next(row for row in read_csv(tmp_path / "long.csv")
               if (row["study_id"], row["timepoint"]) == (study_id, previous["timepoint"]))
    assert (row["odi_score"], row["odi_answered"], row["odi_band"], row["odi_8"], row["odi_1"]) == ("", "9", "", "", "2")
    assert row["version"] == "2"


def test_export_import_export_round_trip_gives_identical_scored_values(simulated, runner, tmp_path, clock):
    export(runner, "csv", tmp_path / "first.csv")
    empty = tmp_path / "empty.sqlite3"
    init_db(empty)
    fresh = create_app({"TESTING": True, "DATABASE": str(empty), "CLOCK": clock})
    result = fresh.test_cli_runner().invoke(args=["dataset", "import", str(tmp_path / "first.csv")])
    assert result.exit_code == 0, result.output
    assert "30 participant(s) created" in result.output
    export(fresh.test_cli_runner(), "csv", tmp_path / "second.csv")
    first = [{k: row[k] for k in FIXED_COLUMNS} for row in read_csv(tmp_path / "first.csv")]
    second = [{k: row[k] for k in FIXED_COLUMNS} for row in read_csv(tmp_path / "second.csv")]
    assert first == second
    assert {row["source"] for row in read_csv(tmp_path / "second.csv")} <= {"paper", ""}
    # importing the same file again changes nothing
    again = fresh.test_cli_runner().invoke(args=["dataset", "import", str(tmp_path / "first.csv")])
    assert "0 participant(s) created, 0 answer(s) stored" in again.output


def test_wide_csv(simulated, runner, tmp_path):
    export(runner, "wide-csv", tmp_path / "wide.csv")
    rows = read_csv(tmp_path / "wide.csv")
    assert len(rows) == 30
    assert {"vas_month1", "odi_score_month6", "sat_results_week1", "mme_mg_day_baseline"} <= set(rows[0])
    assert "odi_score_day1" not in rows[0]  # the ODI is not given at day 1


def test_xlsx_has_data_and_codebook_sheets(simulated, runner, tmp_path):
    from openpyxl import load_workbook
    export(runner, "xlsx", tmp_path / "data.xlsx")
    book = load_workbook(tmp_path / "data.xlsx", read_only=True)
    assert book.sheetnames == ["data", "codebook"]
    data = list(book["data"].iter_rows(values_only=True))
    assert list(data[0][:19]) == CONTRACT and len(data) == 181
    vas = [row[3] for row in data[1:] if row[3] is not None]
    assert vas and all(isinstance(v, (int, float)) and 0 <= v <= 10 for v in vas)  # numbers, not text
    codebook = {row[0]: row for row in book["codebook"].iter_rows(values_only=True)}
    assert codebook["odi_score"][3] == "%" and "at least 8 of the 10 sections" in codebook["odi_score"][7]
    assert codebook["odi_score"][6] == "baseline, month1, month3, month6"
    book.close()


def test_sav_reads_back_with_labels(simulated, runner, tmp_path):
    import pyreadstat
    export(runner, "sav", tmp_path / "data.sav")
    frame, meta = pyreadstat.read_sav(str(tmp_path / "data.sav"))
    assert frame.shape == (180, len(meta.column_names)) and meta.column_names[:19] == CONTRACT
    assert meta.column_names_to_labels["vas"] == "Pain, visual analogue scale"
    assert meta.variable_value_labels["arm"] == {1.0: "Fluoroscopy-guided", 2.0: "CT-guided"}
    assert meta.variable_value_labels["timepoint"][4.0] == "1 month"
    assert meta.variable_value_labels["sat_results"] == {1.0: "Very unsatisfied", 2.0: "Unsatisfied",
                                                         3.0: "Satisfied", 4.0: "Very satisfied"}


def test_codebook_csv_and_html(simulated, runner, tmp_path):
    export(runner, "csv", tmp_path / "long.csv", "--codebook", str(tmp_path / "codebook.csv"))
    export(runner, "csv", tmp_path / "long.csv", "--codebook", str(tmp_path / "codebook.html"))
    entries = {row["name"]: row for row in read_csv(tmp_path / "codebook.csv")}
    assert list(entries)[:19] == CONTRACT
    assert entries["mme_mg_day"]["unit"] == "oral morphine mg equivalents/day"
    assert entries["arm"]["allowed"] == "A = Fluoroscopy-guided, B = CT-guided"
    assert entries["sat_results"]["timepoints"] == "week1, month1, month3, month6"
    assert entries["vas"]["timepoints"] == "baseline, day1, week1, month1, month3, month6"
    html = (tmp_path / "codebook.html").read_text()
    assert "<td>nsaid_mg_day</td>" in html and "WHO ATC DDD" in html


def test_every_export_is_audited(simulated, runner, tmp_path, trial):
    export(runner, "csv", tmp_path / "long.csv")
    export(runner, "sav", tmp_path / "x.sav", "--identifiable")
    rows = trial.query("SELECT actor, action, entity_id, after FROM audit_log WHERE entity = 'dataset'")
    assert [(r["actor"], r["action"], r["entity_id"]) for r in rows] == [
        ("cli", "export", "csv"), ("cli", "export_identifiable", "sav")]
    assert json.loads(rows[0]["after"])["rows"] == 180


# --- Import ---------------------------------------------------------------------------------

def write(tmp_path, text, name="paper.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding) if isinstance(text, str) else text)
    return path


def import_file(runner, path):
    return runner.invoke(args=["dataset", "import", str(path)])


HEADER = ",".join(CONTRACT)


def test_import_creates_participants_and_recomputes_scores(runner, trial, tmp_path):
    text = (f"{HEADER}\n"
            "PAPER-1,B,baseline,6.2,2,2,2,2,2,2,1,,1,2,35.56,,,150,0\n"
            "PAPER-1,B,month1,3.0,1,1,1,1,1,1,1,1,1,1,,4,3,50,20\n")
    result = import_file(runner, write(tmp_path, text))
    assert result.exit_code == 0, result.output
    assert trial.query("SELECT study_id, arm, phone, procedure_date, allocation FROM participants") == [
        {"study_id": "PAPER-1", "arm": "B", "phone": None, "procedure_date": None, "allocation": "external"}]
    rows = trial.query("SELECT timepoint, instrument, source, input_mode, scores FROM responses ORDER BY id")
    assert {(r["timepoint"], r["instrument"]) for r in rows} == {
        ("baseline", "vas"), ("baseline", "odi"), ("baseline", "medication"),
        ("month1", "vas"), ("month1", "odi"), ("month1", "satisfaction"), ("month1", "medication")}
    assert all(r["source"] == "paper" for r in rows)
    odi = next(json.loads(r["scores"]) for r in rows if (r["timepoint"], r["instrument"]) == ("baseline", "odi"))
    assert odi["odi_score"] == pytest.approx(16 / 45 * 100)
    month1_odi = next(json.loads(r["scores"]) for r in rows if (r["timepoint"], r["instrument"]) == ("month1", "odi"))
    assert month1_odi["odi_score"] == 20.0  # recomputed although the file left it blank
    meds = next(r for r in rows if (r["timepoint"], r["instrument"]) == ("month1", "medication"))
    assert meds["input_mode"] == "daily_totals" and json.loads(meds["scores"])["mme_mg_day"] == 20.0
    assert trial.query("SELECT action FROM audit_log WHERE action = 'import'") == [{"action": "import"}]


@pytest.mark.parametrize("line,row,column,message", [
    ("P-1,A,month2,5.0" + "," * 15, 2, "timepoint", "unknown timepoint 'month2'"),
    ("P-1,C,baseline,5.0" + "," * 15, 2, "arm", "unknown arm 'C'"),
    ("P-1,A,baseline,11.0" + "," * 15, 2, "vas", "out of range"),
    ("P-1,A,baseline,5.25" + "," * 15, 2, "vas", "out of range"),
    ("P-1,A,baseline,,6,1,1,1,1,1,1,1,1,1,,,,,", 2, "odi_1", "'6' is out of range: 0-5"),
    ("P-1,A,week1,,,,,,,,,,,,,5,3,,", 2, "sat_procedure", "'5' is out of range: 1-4"),
    ("P-1,A,week1,,,,,,,,,,,,,3,,,", 2, "sat_results", "both satisfaction items are needed"),
    ("P-1,A,baseline,,,,,,,,,,,,,,,-5,", 2, "nsaid_mg_day", "out of range"),
    ("P-1,A,baseline,,,,,,,,,,,,,,,5000,", 2, "nsaid_mg_day", "out of range"),
    ("P-1,A,day1,,1,1,1,1,1,1,1,1,1,1,,,,,", 2, "odi_1", "odi is not given at day1"),
    ("P-1,A,baseline,,,,,,,,,,,,,3,3,,", 2, "sat_procedure", "satisfaction is not given at baseline"),
    ("P-1,A,baseline,,2,2,2,2,2,2,1,1,1,1,40.0,,,,", 2, "odi_score", "40.0 contradicts the items, which give 32.00"),
    ("P-1,A,baseline,,2,2,2,2,2,2,1,,,,32,,,,", 2, "odi_score", "only 7 sections are answered"),
    ("P 1,A,baseline,5.0" + "," * 15, 2, "study_id", "1-32 letters"),
])
def test_each_import_error_is_named_with_row_and_column_and_nothing_is_imported(runner, trial, tmp_path, line, row,
                                                                                 column, message):
    good = "OK-1,A,baseline,4.0" + "," * 15
    result = import_file(runner, write(tmp_path, f"{HEADER}\n{line}\n{good}\n"))
    assert result.exit_code == 1
    assert f"row {row}, column {column}: " in result.output and message in result.output
    assert "nothing was imported" in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 0}]


def test_all_problems_are_listed_at_once(runner, trial, tmp_path):
    text = f"{HEADER}\nP-1,A,month2,5.0{',' * 15}\nP-2,C,baseline,5.0{',' * 15}\nP-3,A,baseline,12{',' * 15}\n"
    result = import_file(runner, write(tmp_path, text))
    assert "3 problem(s)" in result.output
    assert "row 2, column timepoint" in result.output and "row 3, column arm" in result.output
    assert "row 4, column vas" in result.output


def test_duplicate_rows_are_refused(runner, trial, tmp_path):
    text = f"{HEADER}\nP-1,A,baseline,5.0{',' * 15}\nP-1,A,baseline,6.0{',' * 15}\n"
    result = import_file(runner, write(tmp_path, text))
    assert "row 3, column timepoint: duplicate row: P-1 baseline is already on row 2" in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 0}]


def test_an_arm_conflicting_with_an_enrolled_participant_is_refused(runner, trial, tmp_path):
    trial.enroll("P-1", arm="A")
    result = import_file(runner, write(tmp_path, f"{HEADER}\nP-1,B,baseline,5.0{',' * 15}\n"))
    assert "row 2, column arm: P-1 is enrolled in arm A, not B" in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 0}]


def test_raw_medication_columns_must_agree_with_the_totals(runner, trial, tmp_path):
    header = HEADER + ",med_took_any,med_1_drug,med_1_strength_mg,med_1_doses_per_day"
    good = f"P-1,A,baseline{',' * 15}100,20,yes,tramadol,50,2"  # 100 mg tramadol/day = 20 MME
    assert import_file(runner, write(tmp_path, f"{header}\n{good}\n")).exit_code == 1  # nsaid 100 contradicts
    fixed = f"P-1,A,baseline{',' * 15}0,20,yes,tramadol,50,2"
    result = import_file(runner, write(tmp_path, f"{header}\n{fixed}\n"))
    assert result.exit_code == 0, result.output
    assert trial.query("SELECT input_mode FROM responses") == [{"input_mode": "paper"}]


@pytest.mark.parametrize("content,message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a CSV file"),
    ("study_id,arm,timepoint,vas\nP-1,A,baseline,5,0\n".encode("utf-16"), "not a CSV file"),
    ("study_id,arm,timepoint,vas\nJos\u00e9,A,baseline,5.0\n".encode("latin-1"), "not UTF-8"),
    (b"name,visit\nx,y\n", "column study_id: this column is required"),
    (b"study_id,arm,timepoint,vas,vas_cm\nP-1,A,baseline,5.0,5\n", "column vas_cm: this column is not in the dataset"),
    (b"study_id,arm,timepoint,vas\nP-1,A,baseline,5.0,extra\n", "more cells than the header"),
])
def test_files_that_are_not_the_dataset_are_refused(runner, trial, tmp_path, content, message):
    result = import_file(runner, write(tmp_path, content))
    assert result.exit_code == 1 and message in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]


def test_a_file_may_leave_out_columns_it_has_no_values_for(runner, trial, tmp_path):
    result = import_file(runner, write(tmp_path, "study_id,arm,timepoint,vas\nP-9,A,day1,7.5\n"))
    assert result.exit_code == 0, result.output
    assert trial.query("SELECT json_extract(scores, '$.vas_mm') AS mm FROM responses") == [{"mm": 75}]


# --- Staff downloads -------------------------------------------------------------------------

def test_staff_downloads(simulated, client, clock, trial):
    create_staff(simulated, clock)
    staff = Staff(client)
    staff.login("nurse")
    assert client.get("/staff/dataset/download?format=csv").status_code == 403
    staff.post("/staff/logout", {})
    staff.login("investigator")
    response = client.get("/staff/dataset/download?format=csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Cache-Control"] == "no-store"       # trial data: never kept by a cache
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 180 and list(rows[0])[:19] == CONTRACT
    for fmt in ("wide-csv", "xlsx", "sav", "codebook-csv", "codebook-html"):
        got = client.get(f"/staff/dataset/download?format={fmt}")
        assert got.status_code == 200 and got.headers["Content-Disposition"].startswith("attachment"), fmt
        assert got.headers["Cache-Control"] == "no-store", fmt
        assert len(got.data) > 1000
        got.close()  # a file response holds its file open until the server closes it
    assert client.get("/staff/dataset/download?format=csv&identifiable=1").status_code == 403
    assert client.get("/staff/dataset/download?format=pdf").status_code == 404
    staff.post("/staff/logout", {})
    staff.login("admin")
    identifiable = client.get("/staff/dataset/download?format=csv&identifiable=1")
    assert identifiable.headers["Cache-Control"] == "no-store"
    assert client.get("/staff/report?download=json").headers["Cache-Control"] == "no-store"
    asset = client.get("/static/staff.css")
    assert "no-store" not in asset.headers.get("Cache-Control", "")
    asset.close()
    assert "phone" in identifiable.get_data(as_text=True).splitlines()[0]
    actions = [r["action"] for r in trial.query("SELECT action FROM audit_log WHERE entity = 'dataset'")]
    assert actions.count("export_identifiable") == 1 and actions.count("export") == 4


def test_xlsx_of_no_rows_keeps_its_header_and_text_is_never_a_formula(tmp_path):
    from openpyxl import load_workbook

    from reports.export import write_xlsx
    from reports.variables import Variable
    variables = [Variable("study_id", "Study ID", "string"), Variable("vas", "VAS", "decimal"),
                 Variable("odi_1", "ODI 1", "integer")]
    assert write_xlsx(iter([]), variables, tmp_path / "empty.xlsx") == 0
    book = load_workbook(tmp_path / "empty.xlsx")
    assert [[c.value for c in row] for row in book["data"].iter_rows()] == [["study_id", "vas", "odi_1"]]
    rows = [["=HYPERLINK(\"http://x\")", "6.5", ""]]       # lists of text in the variables' order
    assert write_xlsx(iter(rows), variables, tmp_path / "one.xlsx") == 1
    cells = list(load_workbook(tmp_path / "one.xlsx")["data"].iter_rows())[1]
    assert [(c.value, c.data_type) for c in cells] == [("=HYPERLINK(\"http://x\")", "s"), (6.5, "n"), (None, "n")]
    assert write_xlsx(iter([["", "", "3"]]), variables, tmp_path / "blank.xlsx") == 1   # blank text: no cell
    cells = list(load_workbook(tmp_path / "blank.xlsx")["data"].iter_rows())[1]
    assert [(c.value, c.data_type) for c in cells] == [(None, "n"), (None, "n"), (3, "n")]


@pytest.mark.parametrize("cell,written", [
    ("=HYPERLINK(\"http://x\",\"y\")", "'=HYPERLINK(\"http://x\",\"y\")"),
    ("+1+cmd|' /C calc'!A0", "'+1+cmd|' /C calc'!A0"),
    ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\nx"), ("a\r\nb", "a\nb"),
    ("-12.5", "-12.5"), ("+3", "+3"), ("-1e3", "-1e3"), ("", ""), ("a=b", "a=b"), ("2026-01-01", "2026-01-01"),
])
def test_csv_cells_a_spreadsheet_would_run_are_written_as_text(cell, written):
    from reports.export import write_csv
    out = io.StringIO()
    write_csv([{"study_id": "P-1", "reason": cell}], ["study_id", "reason"], out)
    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["study_id", "reason"], ["P-1", written]]


# Cells that look risky, or almost, or hide a cell's start inside a quoted one (a comma, a line
# end or a quote before a risky character), or hide the separator neutralised() joins cells with.
TRICKY = ["", "a", "-12.5", "+3", "-1e3", "-", "+", "-.", "- 5", "\u22125", "-\u0663", "+201001234567", "=1+1", "@x",
          "\tx", "\rx", "a\rb", "a\r\nb", "-5\x1fabc", "\x1f=cmd", "a\x1f", "\x1f", "5-", "1e", "-1e3x", ".5",
          "-.5e-3", "x=1", "-2+3", "=", "\x1f-5", "a,-5", "x\n=y", "a,+3", '"=x', "a\n@b", ",-", "-5,x", "=a,b",
          "@x\ny", "\t,x", '=say "x"', "a\n-5", "a\n-5,x", 'say ""-5""', '"-5"', "x,\t", "a\n+", "-5\n", "+3,",
          '-"5"', "12-3", "a,b", "x\ny"]


def screened_csv(rows: list[list[str]]) -> str:
    """What write_table writes for ``rows``, neutralised one row at a time (the rule itself)."""
    from reports import csv_text
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["c"] * len(rows[0]))
    writer.writerows(csv_text.neutralised(row) for row in rows)
    return out.getvalue()


@pytest.mark.parametrize("tricky", TRICKY)
@pytest.mark.parametrize("seed", range(3))
def test_screening_the_csv_a_chunk_at_a_time_neutralises_exactly_what_each_row_would(tricky, seed):
    """One tricky cell (and a harmless signed number or two) among plain ones, anywhere in a chunk
    (its first cell, its last): the chunk's search alone decides whether it is seen."""
    import random

    from reports import csv_text, export
    rng = random.Random(f"{tricky}-{seed}")
    width = rng.randint(1, 6)
    rows = [[str(rng.randint(0, 9)) for _ in range(width)] for _ in range(rng.randint(1, 3 * csv_text.SCREENED_ROWS))]
    places = [(0, 0), (len(rows) - 1, width - 1), (rng.randrange(len(rows)), rng.randrange(width))]
    for cell, (row, column) in zip((tricky, "-12.5", "+3"), rng.sample(places, 3)):
        rows[row][column] = cell
    out = io.StringIO()
    assert export.write_table(rows, ["c"] * width, out) == len(rows)
    assert out.getvalue() == screened_csv(rows)


@pytest.mark.parametrize("text,clean", [
    ("", True), ("a,b\n", True), ("-12.5,+3\n", True), ("1,-1e3\n2,x\n", True), ("2026-01-01,a-b\n", True),
    ("-x\n", False), ("a,-x\n", False), ("a\n=b\n", False), ('a,"-5"\n', False), ("a,\tb\n", False),
    ("@a\n", False), ("a,b\r\n", False), ('"=a,b"\n', False), ("a,+\n", False), ("a,-5\n+\n", False),
])
def test_a_chunk_s_text_is_clean_only_when_no_cell_needs_neutralising(text, clean):
    from reports import csv_text
    assert csv_text.clean(text) is clean


def test_score_text_is_the_number_with_the_dataset_s_decimals():
    from reports.dataset import SCORE_DECIMALS
    from reports.variables import _number, score_text
    for value in (None, 0.0, -0.0, 0.004, 0.005, 0.015, 2.675, 1.0, 100.0, -12.5, 1e-9, 123456.789, 1e20, -0.001):
        assert score_text(value) == _number(value, SCORE_DECIMALS), value


@pytest.mark.parametrize("value,text", [(None, ""), (0, "0"), (5, "5"), (100, "100"), (101, "101"), (-1, "-1"),
                                        (12345, "12345"), (True, "True"), (1.0, "1.0"), (2.5, "2.5")])
def test_whole_numbers_are_written_as_str_writes_them_and_none_blank(value, text):
    from reports.dataset_rows import _text
    assert _text(value) == text


def test_each_vas_value_is_written_with_one_decimal_as_formatting_writes_it():
    from reports.dataset import columns
    from reports.dataset_rows import ANSWERS, INSTRUMENT_VERSION, SCORES, SOURCE, SUBMITTED_AT, VERSION, RowBuilder
    builder = RowBuilder(columns())
    for cm in [mm / 10 for mm in range(101)] + [4.55, 10.04, 0.05, 7]:
        answer = [None] * 9
        answer[ANSWERS], answer[SCORES] = {}, {"vas_cm": cm, "vas_mode": "line"}
        answer[INSTRUMENT_VERSION], answer[SOURCE], answer[SUBMITTED_AT], answer[VERSION] = (
            "1.0", "web", "2026-01-01T00:00:00+00:00", 1)
        row = builder.row(builder.blank, "day1", {"vas": answer}, None, None)
        assert row[builder.vas] == f"{cm:.1f}", cm
