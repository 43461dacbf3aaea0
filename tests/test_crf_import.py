"""`crf import` and `crf import-events`: the column contract, every problem by row and column with
nothing stored, participants created, the same file twice a no-op, and answers imported later
joining the same participants."""
from __future__ import annotations

import json

import pytest

HEADER = ("study_id,arm,age,sex,root_l3,root_l4,root_l5,punctures,si_side,modality,operative_min,dap_mgycm2,"
          "ctdivol_mgy,dlp_mgycm,contrast_extravasation,complication\n")
GOOD = HEADER + ("PAPER-1,A,51,male,none,unilateral,bilateral,2,none,fluoroscopy,22.5,352,,,no,none\n"
                 "PAPER-2,B,60,female,none,bilateral,bilateral,4,left,ct,30,,9.5,347.5,yes,hematoma\n"
                 "PAPER-3,B,,,,,,,,,,,,,,\n")
EVENTS = ("study_id,event,onset_date,grade,serious,related\n"
          "PAPER-2,abscess,2026-02-20,3,yes,probable\n")


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def rows(trial, sql):
    return trial.query(sql)


def test_records_are_imported_with_their_participants_and_a_second_run_changes_nothing(runner, trial, tmp_path):
    path = write(tmp_path, "crf.csv", GOOD)
    result = runner.invoke(args=["crf", "import", path])
    assert result.exit_code == 0, result.output
    assert "3 participant(s) created, 4 record(s) stored, 0 already there, 1 complication(s) stored." in result.output
    stored = rows(trial, "SELECT p.study_id, c.form, c.item, c.data FROM crf_records c JOIN participants p "
                         "ON p.id = c.participant_id ORDER BY p.study_id, c.form, c.item")
    assert [(r["study_id"], r["form"], r["item"]) for r in stored] == [
        ("PAPER-1", "baseline", 0), ("PAPER-1", "procedure", 0), ("PAPER-2", "adverse_event", 1),
        ("PAPER-2", "baseline", 0), ("PAPER-2", "procedure", 0)]
    procedure = json.loads(stored[4]["data"])
    assert (procedure["guidance"], procedure["dlp_mgycm"], procedure["ctdivol_mgy"], procedure["dap_mgycm2"],
            procedure["procedure_date"]) == ("ct", 347.5, 9.5, None, None)
    again = runner.invoke(args=["crf", "import", path])
    assert again.exit_code == 0 and "0 participant(s) created, 0 record(s) stored, 4 already there" in again.output
    assert rows(trial, "SELECT COUNT(*) AS n FROM crf_records") == [{"n": 5}]
    # An answers import for the same study IDs adds to them.
    answers = write(tmp_path, "answers.csv", "study_id,arm,timepoint,vas\nPAPER-1,A,baseline,7.5\n")
    assert runner.invoke(args=["dataset", "import", answers]).exit_code == 0
    assert rows(trial, "SELECT COUNT(*) AS n FROM participants") == [{"n": 3}]


@pytest.mark.parametrize("line,column,message", [
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,22,600000,,,no,none", "dap_mgycm2", "implausible"),
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,22,-3,,,no,none", "dap_mgycm2", "implausible"),
    ("PAPER-9,B,51,male,none,none,none,2,none,ct,22,,150,300,no,none", "ctdivol_mgy", "implausible"),
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,0,300,,,no,none", "operative_min", "implausible"),
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,601,300,,,no,none", "operative_min", "implausible"),
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,22,300,9,,no,none", "ctdivol_mgy",
     "a CT dose on a fluoroscopy record"),
    ("PAPER-9,B,51,male,none,none,none,2,none,ct,22,300,,100,no,none", "dap_mgycm2",
     "a fluoroscopy dose on a CT record"),
    ("PAPER-9,A,51,m,none,none,none,2,none,fluoroscopy,22,300,,,no,none", "sex", "'m' is not one of male, female"),
    ("PAPER-9,A,51,male,left,none,none,2,none,fluoroscopy,22,300,,,no,none", "root_l3", "not one of none"),
    ("PAPER-9,A,51,male,none,none,none,2,both,fluoroscopy,22,300,,,no,none", "si_side", "not one of none"),
    ("PAPER-9,A,51,male,none,none,none,2,none,mri,22,,,,no,none", "modality", "not one of fluoroscopy, ct"),
    ("PAPER-9,A,51,male,none,none,none,2,none,fluoroscopy,22,300,,,no,infection", "complication",
     "'infection' is not one of none, abscess"),
    ("PAPER-9,C,51,male,none,none,none,2,none,fluoroscopy,22,300,,,no,none", "arm", "unknown arm 'C'"),
])
def test_a_bad_row_is_named_by_row_and_column_and_nothing_is_imported(runner, trial, tmp_path, line, column, message):
    path = write(tmp_path, "crf.csv", GOOD + line + "\n")
    result = runner.invoke(args=["crf", "import", path])
    assert result.exit_code == 1
    assert f"row 5, column {column}: " in result.output and message in result.output
    assert "nothing was imported" in result.output
    assert rows(trial, "SELECT COUNT(*) AS n FROM participants") == [{"n": 0}]
    assert rows(trial, "SELECT COUNT(*) AS n FROM crf_records") == [{"n": 0}]


def test_columns_outside_the_contract_are_refused(runner, trial, tmp_path):
    result = runner.invoke(args=["crf", "import", write(tmp_path, "crf.csv", "study_id,arm,weight\nP-1,A,80\n")])
    assert result.exit_code == 1 and "row 1, column weight: not a column of this file" in result.output


def test_a_different_record_for_an_imported_participant_is_refused_whole(runner, trial, tmp_path):
    assert runner.invoke(args=["crf", "import", write(tmp_path, "a.csv", GOOD)]).exit_code == 0
    changed = GOOD.replace("PAPER-1,A,51,", "PAPER-1,A,52,") + "PAPER-4,A,40,male,none,none,none,1,none,,,,,,,\n"
    result = runner.invoke(args=["crf", "import", write(tmp_path, "b.csv", changed)])
    assert result.exit_code == 1 and "PAPER-1 already has a different baseline record" in result.output
    assert rows(trial, "SELECT COUNT(*) AS n FROM participants WHERE study_id = 'PAPER-4'") == [{"n": 0}]


def test_events_import_for_known_participants_once(runner, trial, tmp_path):
    assert runner.invoke(args=["crf", "import", write(tmp_path, "a.csv", GOOD)]).exit_code == 0
    path = write(tmp_path, "events.csv", EVENTS)
    first = runner.invoke(args=["crf", "import-events", path])
    assert first.exit_code == 0 and "1 event(s) stored, 0 already there" in first.output
    second = runner.invoke(args=["crf", "import-events", path])
    assert "0 event(s) stored, 1 already there" in second.output
    unknown = write(tmp_path, "unknown.csv", EVENTS + "NOBODY,abscess,2026-02-20,2,no,possible\n"
                                                       "PAPER-1,abscess,2026-02-20,9,maybe,possible\n")
    result = runner.invoke(args=["crf", "import-events", unknown])
    assert result.exit_code == 1
    assert "row 3, column study_id: no participant 'NOBODY'" in result.output
    assert "row 4, column grade:" in result.output and "row 4, column serious:" in result.output
    assert rows(trial, "SELECT COUNT(*) AS n FROM crf_records WHERE form = 'adverse_event'") == [{"n": 2}]
