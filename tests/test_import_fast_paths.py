"""The paper import's fast paths only ever save time: for every cell they take, they give what
the full checks give (the same stored text), and every other cell goes to the full checks, which
name it with the same row, column and message. The 120,000-row file with one bad last value is
refused whole."""
from __future__ import annotations

import itertools
import json
import random

import pytest

from questionnaires.odi import FIELDS, ITEM_TEXTS, ODI, from_protocol, index, odi_score
from reports import importer
from reports.import_checks import CHECKERS
from services import dataset as dataset_service
from storage.connection import open_db
from storage.db import stored_json
from tests.test_dataset import HEADER

# Cells as paper files write them: the usual, and the unusual the full check reads or refuses.
CELLS = ["", "0", "1", "2", "3", "4", "5", " 3", "3 ", "3.0", "\u0663", "\u06f3", "03", "6", "-1", "\u00b2", "10",
         "x", "1e0", "999999999999"]
TUNISIAN = from_protocol({"version": "TN-2005", "sections": [1, 2, 3, 4, 5, 6, 7, 9]}, [])
BASE = ("2", "1", "0", "3", "2", "1", "4", "", "5", "1")


def fast_and_full(odi):
    """The import's ODI check (fast path first) and the full check alone, both as importer runs them."""
    columns = importer.ODI_COLUMNS
    return importer._checker("odi", columns, odi), importer._cached(CHECKERS["odi"], columns, odi)


def rows_for(odi) -> list[tuple[str, ...]]:
    """Every cell text in every section, with odi_score blank, agreeing, contradicting or malformed."""
    base = tuple(cell if name in odi.fields else "" for name, cell in zip(FIELDS, BASE))
    rows = []
    for position, cell in itertools.product(range(len(FIELDS)), CELLS):
        items = list(base)
        items[position] = cell
        for stated in ("", "40", "40.0", "41", "abc", " 40", "40."):
            rows.append((*items, stated))
    rows += [("",) * 10 + (stated,) for stated in ("", "12")]
    rows += [("1",) * 7 + ("",) * 3 + (stated,) for stated in ("", "20", "20.00")]  # 7 answered: no score
    return rows


@pytest.mark.parametrize("odi", [ODI, TUNISIAN], ids=["2.1a", "TN-2005"])
def test_the_odi_fast_path_gives_the_full_checks_result_and_problems_for_every_cell(odi):
    fast, full = fast_and_full(odi)
    for values in rows_for(odi):
        assert fast(values) == full(values), values


def test_every_plain_cell_takes_the_fast_path_and_reads_as_validate_reads_it():
    assert ITEM_TEXTS == {"": None, "0": 0, "1": 1, "2": 2, "3": 3, "4": 4, "5": 5}
    for text, value in ITEM_TEXTS.items():
        assert ODI.validate({"odi_1": text})["odi_1"] == value
    fast = importer.odi_fast(ODI, stored_json, otherwise=lambda values: None)
    for cell in ITEM_TEXTS:
        values = (cell, *BASE[1:], "")
        answers = dict(zip(FIELDS, (ITEM_TEXTS[v] for v in values[:10])))
        assert fast(values) == ((stored_json(answers), stored_json(ODI.score_valid(answers)), "paper"), ())
    for cell in set(CELLS) - set(ITEM_TEXTS):  # read ("٣") or refused by the full check, never here
        assert fast((cell, *BASE[1:], "")) is None


def test_scoring_from_totals_gives_score_valids_numbers():
    generator = random.Random(13)
    for _ in range(3000):
        answers = ODI.validate({name: generator.choice([None, 0, 1, 2, 3, 4, 5]) for name in FIELDS})
        given = [value for value in answers.values() if value is not None]
        assert ODI.score_totals(sum(given), len(given)) == ODI.score_valid(answers)
        assert index(sum(given), len(given)) == odi_score(answers)
    assert index(16, 10) == 32.0 and index(30, 7) is None and index(30, 7, min_sections=7) == 30 / 35 * 100


def test_the_odi_answers_text_is_stored_jsons_for_any_version():
    fast = importer.odi_fast(TUNISIAN, stored_json, otherwise=lambda values: None)
    generator = random.Random(7)
    for _ in range(500):
        cells = [generator.choice(list(ITEM_TEXTS)) if name in TUNISIAN.fields else "" for name in FIELDS]
        if not any(cells):
            continue
        result = fast((*cells, ""))
        answers = {name: ITEM_TEXTS[cell] for name, cell in zip(FIELDS, cells) if name in TUNISIAN.fields}
        assert result is not None and result[0][0] == stored_json(answers) == json.dumps(answers, sort_keys=True)


PARSE_HEADER = HEADER + ",punctures"


def random_file(generator: random.Random, rows: int, odd: float) -> bytes:
    """A long file; with probability ``odd`` a cell is unusual (read or refused): an ODI item or
    score, the arm, study ID, timepoint, punctures or VAS. With ``odd`` 0 it imports."""
    lines = [PARSE_HEADER]

    def maybe(usual: str, unusual: list[str]) -> str:
        return generator.choice(unusual) if generator.random() < odd else usual

    for n in range(rows):
        timepoint = maybe(("baseline", "week1", "month3")[n % 3], ["baseline", "month9", "day1"])
        items = [generator.choice(list(ITEM_TEXTS)) for _ in FIELDS] if timepoint != "week1" else [""] * 10
        items = [maybe(item, CELLS) for item in items]
        given = [ITEM_TEXTS[item] for item in items if item in ITEM_TEXTS and item]
        score = index(sum(given), len(given))
        stated = maybe("" if score is None or generator.random() < 0.5 else f"{score:.2f}", ["10", "x", "35.56"])
        sat = generator.choice(["3,4", "1,1"]) if timepoint in ("week1", "month3") else ","
        lines.append(",".join([maybe(f"P-{n // 3}", ["P 1", "", "P-0"]), maybe("AB"[n // 3 % 2], ["C", "A", "B"]),
                               timepoint, maybe(generator.choice(["", "4.5", "10.0"]), ["11", "4.55"]), *items,
                               stated, maybe(sat, ["5,1", "3,", ","]), "", "",
                               maybe(generator.choice(["", "1", "2", "6", "\u0663", "03"]), ["0", "7", "x"])]))
    return ("\n".join(lines) + "\n").encode()


def parse_both(data: bytes, protocol, enrolled: dict[str, str], monkeypatch) -> tuple:
    """parse() as it runs, and with the ODI fast path switched off (the full check on every row)."""
    def outcome():
        try:
            parsed = importer.parse(data, protocol, enrolled)
        except importer.ImportError_ as exc:
            return [str(problem) for problem in exc.problems]
        return parsed.arms, parsed.punctures, list(parsed.answers)
    fast = outcome()
    with monkeypatch.context() as patched:
        patched.setattr(importer, "odi_fast", lambda odi, encode, otherwise: otherwise)
        full = outcome()
    return fast, full


@pytest.mark.parametrize("seed", range(12))
def test_whole_files_give_the_same_problems_and_answers_with_and_without_the_fast_path(app, seed, monkeypatch):
    generator = random.Random(seed)
    data = random_file(generator, 120 if seed % 2 else 30, odd=(0, 0.001, 0.01, 0.05)[seed % 4])
    enrolled = {"P-0": "A", "P-1": "B"} if seed % 3 == 0 else {}
    fast, full = parse_both(data, app.extensions["protocol"], enrolled, monkeypatch)
    assert fast == full


@pytest.mark.parametrize("cell,value,problem", [
    ("", None, None), ("1", 1, None), ("6", 6, None), ("\u0663", 3, None), ("03", 3, None),
    ("0", 0, "row 2, column punctures: 1-6, or blank"), ("7", 7, "row 2, column punctures: 1-6, or blank"),
    ("x", None, "row 2, column punctures: 1-6, or blank"),
])
def test_punctures_are_read_as_before(app, cell, value, problem):
    data = f"study_id,arm,timepoint,vas,punctures\nP-1,A,baseline,4.0,{cell}\n".encode()
    try:
        parsed = importer.parse(data, app.extensions["protocol"], {})
    except importer.ImportError_ as exc:
        assert [str(found) for found in exc.problems] == [problem]
    else:
        assert problem is None and parsed.punctures == {"P-1": value}


def test_a_study_id_seen_before_is_still_checked_on_every_row(app):
    data = (b"study_id,arm,timepoint,vas\nP-1,A,baseline,4.0\nP-1,A,day1,4.0\nP-1,B,week1,4.0\n"
            b"P-1,A,day1,5.0\nP-1,A,month9,5.0\nP-2,B,baseline,4.0\n")
    with pytest.raises(importer.ImportError_) as refused:
        importer.parse(data, app.extensions["protocol"], {"P-2": "A"})
    assert [str(problem) for problem in refused.value.problems] == [
        "row 4, column arm: P-1 is in arm A on an earlier row",
        "row 5, column timepoint: duplicate row: P-1 day1 is already on row 3",
        "row 6, column timepoint: unknown timepoint 'month9' (known: baseline, day1, week1, month1, month3, month6)",
        "row 7, column arm: P-2 is enrolled in arm A, not B",
    ]


def test_120000_rows_with_one_bad_value_on_the_last_row_import_nothing_and_name_it(app, db_path, clock):
    cells = "4.5,1,2,3,4,5,0,1,2,,3,,,,,"
    rows = [f"P-{n // 6},{'AB'[n // 6 % 2]},{('baseline', 'day1', 'week1', 'month1', 'month3', 'month6')[n % 6]},"
            + (cells if n % 6 in (0, 3, 4, 5) else "4.5" + "," * 15) for n in range(120_000)]
    rows[-1] = rows[-1].replace("4.5,1,2,3,", "4.5,1,2,\u00b2,")  # odi_3 of the last row: a digit, not a number
    data = ("\n".join([HEADER, *rows]) + "\n").encode()
    db = open_db(db_path)
    try:
        with pytest.raises(importer.ImportError_) as refused:
            dataset_service.import_dataset(db, app.extensions["protocol"], data, actor="test", now=clock())
        assert [str(problem) for problem in refused.value.problems] == [
            "row 120001, column odi_3: '\u00b2' is out of range: 0-5, or blank"]
        assert [db.conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
                for table in ("participants", "responses", "newest_answers", "audit_log")] == [0, 0, 0, 0]
    finally:
        db.close()
