"""A protocol that licenses an ODI version with fewer sections: the Tunisian Arabic ODI of
Guermazi et al. (2005), which dropped sex life (8) and travelling (10). The form, the scoring,
the minimum-sections rule, the codebook, the wide file and the paper import all follow it."""
from __future__ import annotations

import csv
import io
import json
import re

import pytest

from app import create_app
from questionnaires import INSTRUMENTS
from questionnaires.odi import ODI, from_protocol
from questionnaires.protocol import DEFAULT_PROTOCOL_PATH, ProtocolError, load_protocol, parse_protocol
from reports import dataset
from tests.test_dataset import HEADER, import_file, write

GUERMAZI = '''[odi]
version = "ar-TN-2005"
sections = [1, 2, 3, 4, 5, 6, 7, 9]
min_sections = 6
'''
DEFAULT_ODI_TABLE = '[odi]\nversion = "2.1a"\nsections = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n'


def guermazi_protocol_text() -> str:
    text = DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8")
    assert DEFAULT_ODI_TABLE in text
    return text.replace(DEFAULT_ODI_TABLE, GUERMAZI)


@pytest.fixture
def app(db_path, clock, tmp_path):
    path = tmp_path / "protocol.toml"
    path.write_text(guermazi_protocol_text(), encoding="utf-8")
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock, "PROTOCOL": str(path),
                       "BASE_URL": "https://pro.example.org"})


def test_the_default_protocol_asks_all_ten_sections_of_2_1a():
    odi = load_protocol(DEFAULT_PROTOCOL_PATH, INSTRUMENTS).instruments["odi"]
    assert odi == ODI and odi.version == "2.1a" and len(odi.sections) == 10 and odi.min_sections == 8


def test_the_protocol_names_a_version_with_eight_sections():
    problems: list[str] = []
    odi = from_protocol({"version": "ar-TN-2005", "sections": [1, 2, 3, 4, 5, 6, 7, 9]}, problems)
    assert problems == []
    assert odi.fields == ("odi_1", "odi_2", "odi_3", "odi_4", "odi_5", "odi_6", "odi_7", "odi_9")
    assert [s.title for s in odi.sections][-1] == "Social life"     # a section keeps its number and meaning
    assert odi.min_sections == 6                                     # all but two, as 8 of 10


def test_eight_section_scoring_divides_by_the_sections_answered():
    odi = from_protocol({"version": "ar-TN-2005", "sections": [1, 2, 3, 4, 5, 6, 7, 9]}, [])
    all_twos = {field: 2 for field in odi.fields}
    assert odi.score(all_twos) == {"odi_score": 40.0, "odi_band": "moderate", "odi_answered": 8}   # 16 / 40
    # Six answered, 1+2+3+4+5+0 = 15 of 30: 50 %; five answered is under the minimum.
    six = {"odi_1": 1, "odi_2": 2, "odi_3": 3, "odi_4": 4, "odi_5": 5, "odi_6": 0}
    assert odi.score(six)["odi_score"] == 50.0
    assert odi.score({**six, "odi_6": None})["odi_score"] is None
    with pytest.raises(Exception, match="odi_8"):
        odi.validate({**all_twos, "odi_8": 1})                      # not a question of this version


@pytest.mark.parametrize("table,problem", [
    ({"sections": [1, 2, 3, 4, 5, 6, 7, 9]}, "odi.version: version 2.1a asks all 10 sections"),
    ({"version": "x", "sections": [1, 2, 3, 4, 5, 6, 7, 11]}, "odi.sections: increasing section numbers"),
    ({"version": "x", "sections": [2, 1, 3, 4, 5, 6]}, "odi.sections: increasing"),
    ({"version": "x", "sections": [1, 1, 2, 3, 4, 5]}, "odi.sections: increasing"),
    ({"version": "x", "sections": [1, 2, 3, 4]}, "at least 5"),
    ({"version": "x", "sections": "1-8"}, "odi.sections"),
    ({"version": "x", "sections": [1, 2, 3, 4, True, 6]}, "odi.sections"),
    ({"version": "", "sections": [1, 2, 3, 4, 5, 6]}, "odi.version: letters, digits"),
    ({"version": "a b", "sections": [1, 2, 3, 4, 5, 6]}, "odi.version"),
    ({"version": "x", "sections": [1, 2, 3, 4, 5, 6], "min_sections": 7}, "odi.min_sections: a whole number from 1 to 6"),
    ({"version": "x", "sections": [1, 2, 3, 4, 5, 6], "min_sections": 0}, "odi.min_sections"),
    ({"version": "x", "sections": [1, 2, 3, 4, 5, 6], "min_sections": 5.5}, "odi.min_sections"),
    ({"sections": list(range(1, 11)), "minimum": 8}, "odi: unknown key(s) minimum"),
])
def test_a_bad_odi_table_stops_the_protocol_with_its_place(table, problem):
    import tomllib
    data = tomllib.loads(DEFAULT_PROTOCOL_PATH.read_text(encoding="utf-8"))
    with pytest.raises(ProtocolError) as caught:
        parse_protocol({**data, "odi": table}, INSTRUMENTS)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def _page(response) -> str:
    return response.get_data(as_text=True)


def test_the_form_asks_the_versions_sections_and_its_minimum(client, trial):
    trial.enroll("P-TN")
    token = trial.link("P-TN", "baseline")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "6"})
    page = _page(client.get(f"/f/{token}/odi"))
    assert '<input type="hidden" name="version" value="ar-TN-2005">' in page
    assert re.findall(r'type="radio" name="(odi_\d+)" value="0"', page) == [
        "odi_1", "odi_2", "odi_3", "odi_4", "odi_5", "odi_6", "odi_7", "odi_9"]
    assert "Sex life" not in page and "Travelling" not in page
    assert "Section 8: Social life" in page        # numbered as the patient sees them, one to eight
    five = {"version": "ar-TN-2005", **{f"odi_{n}": "3" for n in range(1, 6)}}
    refused = client.post(f"/f/{token}/odi", data=five)
    assert refused.status_code == 400
    assert "Please answer at least 6 of the 8 sections: 1 more is needed" in _page(refused)
    assert trial.query("SELECT COUNT(*) AS n FROM responses WHERE instrument = 'odi'") == [{"n": 0}]
    # A section the version does not ask, posted all the same, is not stored.
    answered = {**five, "odi_6": "0", "odi_8": "5", "odi_10": "5"}
    assert client.post(f"/f/{token}/odi", data=answered).status_code == 303
    stored = trial.query("SELECT instrument_version, answers, scores FROM responses WHERE instrument = 'odi'")[0]
    assert stored["instrument_version"] == "ar-TN-2005"
    assert set(json.loads(stored["answers"])) == {"odi_1", "odi_2", "odi_3", "odi_4", "odi_5", "odi_6", "odi_7",
                                                  "odi_9"}
    assert json.loads(stored["scores"]) == {"odi_score": 50.0, "odi_band": "severe", "odi_answered": 6}  # 15/30


def test_the_2_1a_version_on_a_page_is_stale_under_the_new_protocol(client, trial):
    trial.enroll("P-TN")
    token = trial.link("P-TN", "baseline")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "6"})
    response = client.post(f"/f/{token}/odi", data={"version": "2.1a", **{f"odi_{n}": "1" for n in range(1, 11)}})
    assert response.status_code == 400
    assert trial.query("SELECT COUNT(*) AS n FROM responses WHERE instrument = 'odi'") == [{"n": 0}]


def test_the_codebook_and_wide_file_follow_the_version(app):
    protocol = app.extensions["protocol"]
    book = {v.name: v for v in dataset.codebook(protocol)}
    assert book["odi_8"].allowed == "blank" and "ar-TN-2005 has no such section" in book["odi_8"].derivation
    assert book["odi_9"].allowed == "0-5"
    assert "at least 6 of the 8 sections" in book["odi_score"].derivation
    assert book["odi_answered"].allowed == "0-8"
    assert dataset.columns()[:19] == dataset.FIXED_COLUMNS      # the long file's contract is kept
    wide = dataset.wide_columns(protocol)
    assert "odi_9_baseline" in wide and "odi_8_baseline" not in wide and "odi_10_month6" not in wide


def test_the_paper_import_follows_the_version(runner, trial, tmp_path):
    # odi_1..odi_10 columns: sections 8 and 10 are left blank; 2,2,2,2,2,2,1,_,1,_ = 14 of 40.
    good = "PAPER-1,A,baseline,6.0,2,2,2,2,2,2,1,,1,,35.00,,,,"
    result = import_file(runner, write(tmp_path, f"{HEADER}\n{good}\n"))
    assert result.exit_code == 0, result.output
    stored = trial.query("SELECT instrument_version, scores FROM responses WHERE instrument = 'odi'")[0]
    assert stored["instrument_version"] == "ar-TN-2005"
    assert json.loads(stored["scores"])["odi_score"] == 35.0


@pytest.mark.parametrize("line,column,message", [
    ("P-1,A,baseline,,2,2,2,2,2,2,1,3,1,,,,,,", "odi_8", "'3' given, but ODI version ar-TN-2005 of this protocol "
                                                           "has no section 8"),
    ("P-1,A,baseline,,2,2,2,2,2,,,,,,20,,,,", "odi_score", "only 5 sections are answered (at least 6 are needed"),
])
def test_the_paper_import_refuses_what_the_version_does_not_ask(runner, trial, tmp_path, line, column, message):
    result = import_file(runner, write(tmp_path, f"{HEADER}\n{line}\nOK-1,A,baseline,4.0{',' * 15}\n"))
    assert result.exit_code == 1
    assert f"row 2, column {column}: " in result.output and message in result.output
    assert trial.query("SELECT COUNT(*) AS n FROM responses") == [{"n": 0}]


def test_the_export_writes_blank_columns_for_sections_not_asked(client, trial, runner, tmp_path):
    trial.enroll("P-TN")
    token = trial.link("P-TN", "baseline")
    client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "nrs", "nrs": "6"})
    client.post(f"/f/{token}/odi", data={"version": "ar-TN-2005", **{f"odi_{n}": "2" for n in (1, 2, 3, 4, 5, 6, 7, 9)}})
    out = tmp_path / "long.csv"
    result = runner.invoke(args=["dataset", "export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    row = next(r for r in csv.DictReader(io.StringIO(out.read_text(encoding="utf-8")))
               if r["timepoint"] == "baseline")
    assert (row["odi_8"], row["odi_9"], row["odi_10"], row["odi_score"]) == ("", "2", "", "40.00")
    assert (row["odi_answered"], row["odi_version"]) == ("8", "ar-TN-2005")
