"""The paper-data import at size: still all or nothing, with a few statements whatever the size,
and answers for enrolled participants completing their timepoints as a form would."""
from __future__ import annotations

import pytest

from services import dataset as dataset_service
from storage.connection import open_db
from tests.sql_trace import sent
from tests.test_dataset import HEADER, import_file, write

# Instruments of the default protocol's timepoints, as the columns of the long file carry them.
CELLS = {
    "baseline": "6.2,2,2,2,2,2,2,1,,1,2,35.56,,,150,0",
    "day1": "4.5" + "," * 15,
    "week1": "4.0" + "," * 11 + ",3,4,,",
    "month1": "3.0,1,1,1,1,1,1,1,1,1,1,20.00,4,3,50,20",
    "month3": "2.8,1,1,1,1,0,1,1,,1,1,,3,3,0,0",
    "month6": "2.5,0,1,0,1,0,1,0,0,1,0,8,4,4,,",
}
# The rows of a file with this many participants: one per participant per timepoint.
SMALL, LARGE = 10, 500


def paper_rows(participants: int, prefix: str = "PAPER") -> list[str]:
    return [f"{prefix}-{n},{'AB'[n % 2]},{timepoint},{cells}"
            for n in range(1, participants + 1) for timepoint, cells in CELLS.items()]


def counts(trial) -> tuple[int, int, int]:
    return tuple(trial.query(f"SELECT COUNT(*) AS n FROM {table}")[0]["n"]
                 for table in ("participants", "responses", "newest_answers"))


def test_a_file_of_thousands_of_rows_with_one_bad_value_on_its_last_row_imports_nothing(runner, trial, tmp_path):
    rows = paper_rows(LARGE)
    rows[-1] = rows[-1].replace("2.5,0,1,0,", "2.5,0,1,7,")  # odi_3 of the last row
    result = import_file(runner, write(tmp_path, "\n".join([HEADER, *rows]) + "\n"))
    assert result.exit_code == 1
    assert f"row {len(rows) + 1}, column odi_3: '7' is out of range: 0-5, or blank" in result.output
    assert "Error: 1 problem(s) in" in result.output and "nothing was imported" in result.output
    assert counts(trial) == (0, 0, 0)
    assert trial.query("SELECT COUNT(*) AS n FROM audit_log") == [{"n": 0}]


def test_an_answer_in_conflict_on_the_last_row_rolls_back_the_participants_created_before_it(runner, trial, tmp_path):
    assert import_file(runner, write(tmp_path, f"{HEADER}\nOLD-1,A,day1,{CELLS['day1']}\n")).exit_code == 0
    before = counts(trial)
    changed = "5.5" + "," * 15
    text = "\n".join([HEADER, *paper_rows(LARGE), f"OLD-1,A,day1,{changed}"]) + "\n"
    result = import_file(runner, write(tmp_path, text, name="second.csv"))
    assert result.exit_code == 1
    assert (f"row {LARGE * 6 + 2}, column vas: OLD-1 already has a different vas answer at day1: "
            "correct it as a new version, not by import") in result.output
    assert counts(trial) == before  # the participants created ahead of the answers are gone too
    # and the same file without the conflicting row goes in whole
    result = import_file(runner, write(tmp_path, text.replace(f"OLD-1,A,day1,{changed}\n", ""), name="third.csv"))
    assert result.exit_code == 0, result.output
    assert counts(trial)[0] == before[0] + LARGE


def statements_of_import(app, db_path, participants: int, clock) -> list[str]:
    """Every SQL statement an import of ``participants`` issues, as SQLite traces them: an
    executemany once per row, and a statement again at each start of a trigger it fires."""
    text = "\n".join([HEADER, *paper_rows(participants, prefix=f"P{participants}")]) + "\n"
    db = open_db(db_path)
    traced: list[str] = []
    db.conn.set_trace_callback(traced.append)
    try:
        dataset_service.import_dataset(db, app.extensions["protocol"], text.encode(), actor="test", now=clock())
    finally:
        db.conn.set_trace_callback(None)
        db.close()
    # A write traced again at once is a trigger it fired (participants have a BEFORE INSERT check
    # of their withdrawal state), not another execution: each execution counts once.
    return sent(traced)


def is_row_insert(sql: str) -> bool:
    """An insert an import issues once per row, through executemany: a participant it creates,
    that participant's audit entry, an answer (into the temporary table it goes into responses from)."""
    return (sql.startswith(("INSERT INTO participants ", "INSERT INTO temp.import_answers "))
            or sql.startswith("INSERT INTO audit_log (") and "'enroll'" in sql)


# Everything else: reading the enrolled, the transaction, the answers' INSERT ... SELECT, the import's
# own audit entry: about 15, as sqlite-utils may add look-ups of its own.
FEW_STATEMENTS = 20


@pytest.mark.parametrize("enrolled_first,small,large", [(False, SMALL, LARGE), (True, 4, 40)],
                         ids=["new participants", "enrolled participants"])
def test_an_import_issues_the_same_few_statements_whatever_its_size(app, db_path, clock, trial, enrolled_first,
                                                                     small, large):
    if enrolled_first:  # their answers are compared with those stored, their timepoints completed
        for size in (small, large):
            for n in range(1, size + 1):
                trial.enroll(f"P{size}-{n}", arm="AB"[n % 2])
    traced = [statements_of_import(app, db_path, size, clock) for size in (small, large)]
    row_inserts = [[sql for sql in statements if is_row_insert(sql)] for statements in traced]
    # distinct texts: SQLite traces the answers' INSERT ... SELECT again at each trigger it fires
    others = [{sql for sql in statements if not is_row_insert(sql)} for statements in traced]
    assert len(others[0]) == len(others[1]) <= FEW_STATEMENTS
    created = 0 if enrolled_first else small + large
    stored = trial.query("SELECT COUNT(*) AS n FROM responses")[0]["n"]
    assert stored == 17 * (small + large)  # the answers in CELLS: VAS 6, ODI 4, satisfaction 4, medication 3
    assert len(row_inserts[0]) + len(row_inserts[1]) == stored + 2 * created


def test_paper_answers_complete_an_enrolled_participants_timepoints_they_fill(runner, trial, tmp_path, clock):
    trial.enroll("P-1", arm="A")
    week1_vas_only = "4.0" + "," * 15
    text = f"{HEADER}\nP-1,A,baseline,{CELLS['baseline']}\nP-1,A,week1,{week1_vas_only}\n"
    result = import_file(runner, write(tmp_path, text))
    assert result.exit_code == 0, result.output
    completed = {row["timepoint"]: row["completed_at"] for row in trial.query(
        "SELECT t.timepoint, t.completed_at FROM timepoints t JOIN participants p ON p.id = t.participant_id "
        "WHERE p.study_id = 'P-1'")}
    assert completed["baseline"] == clock().isoformat(timespec="seconds")  # VAS, ODI and medication
    assert completed["week1"] is None  # satisfaction is missing
    assert completed["day1"] is None


@pytest.mark.parametrize("line,column", [
    ("P-1,A,baseline,,\u00b2,1,1,1,1,1,1,1,1,1,,,,,", "odi_1"),   # superscript two: a digit, not a number
    ("P-1,A,baseline,,\u0663,1,1,1,1,1,1,1,1,9,,,,,", "odi_10"),  # Arabic-Indic three is read; 9 is not 0-5
])
def test_odi_items_are_read_as_decimal_numbers_or_refused(runner, trial, tmp_path, line, column):
    result = import_file(runner, write(tmp_path, f"{HEADER}\n{line}\n"))
    assert result.exit_code == 1
    assert f"row 2, column {column}: " in result.output and "is out of range: 0-5, or blank" in result.output
    assert counts(trial) == (0, 0, 0)
