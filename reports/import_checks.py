"""The paper import's check of each instrument on one row: (answers, scores, input mode), or None
with each problem named by its column. Pure: the importer caches them on the cells they read.

The ODI's cells are nearly all different from row to row, so a cache does not help it: its
check has a fast path (odi_fast) that takes the common case, every cell blank or one of "0".."5",
with one lookup a cell, and leaves anything else to _odi, which names the problem.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from operator import itemgetter
from typing import Any

from questionnaires import AnswerError
from questionnaires.medication import MAX_ROWS, row_fields
from questionnaires.odi import FIELDS as ODI_FIELDS
from questionnaires.odi import ITEM_TEXTS as ODI_ITEM_TEXTS
from reports import dataset

VAS_CM = re.compile(r"^(10(\.0)?|\d(\.\d)?)$")
DECIMAL = re.compile(r"^\d+(\.\d+)?$")
# Daily totals above these are not plausible doses: a typo, or mg/week written as mg/day.
MAX_NSAID_MG_DAY = 1000.0
MAX_MME_MG_DAY = 1000.0
TOTALS_TOLERANCE = 0.01


def whole_number(text: str) -> int | None:
    """A cell's whole number, or None when it is not one: ASCII-style decimal digits only
    (isdecimal, not isdigit: "²" is a digit int() cannot read), and at most 9 of them, so a cell of
    thousands of digits is a bad cell to name, never int()'s 4,300-digit ValueError."""
    return int(text) if text.isdecimal() and len(text) <= 9 else None


def _vas(row, problem, instrument):
    mode = row.get("vas_mode") or "line"
    text = row["vas"]
    if mode not in ("line", "nrs"):
        problem("vas_mode", "line or nrs")
        return None
    if not VAS_CM.match(text) or (mode == "nrs" and not re.match(r"^\d+(\.0)?$", text)):
        problem("vas", f"{text!r} is out of range: cm from 0.0 to 10.0 with one decimal"
                       + (" (a whole number for the 0-10 scale)" if mode == "nrs" else ""))
        return None
    value = round(float(text) * 10) if mode == "line" else round(float(text))
    answers = instrument.validate({"mode": mode, "value": value})
    return answers, instrument.score_valid(answers), mode


def _odi(row, problem, odi):
    items: dict[str, Any] = {}
    ok = True
    asked = set(odi.fields)
    for field_name in ODI_FIELDS:
        text = row.get(field_name, "")
        if field_name not in asked:
            if text:
                problem(field_name, f"{text!r} given, but ODI version {odi.version} of this protocol has no "
                                    f"section {field_name.removeprefix('odi_')}: leave it blank")
                ok = False
            continue
        value = whole_number(text)
        if text and (value is None or value > 5):
            problem(field_name, f"{text!r} is out of range: 0-5, or blank")
            ok = False
        items[field_name] = value
    if not ok:
        return None
    if all(value is None for value in items.values()):
        problem("odi_score", "given without the ODI items it is computed from")
        return None
    answers = odi.validate(items)
    scores = odi.score_valid(answers)   # validated once, on the line above
    stated = row.get("odi_score", "")
    if stated:
        computed = scores["odi_score"]
        if computed is None:
            problem("odi_score", f"{stated} given, but only {scores['odi_answered']} sections are answered "
                                 f"(at least {odi.min_sections} are needed for a score)")
            return None
        if not DECIMAL.match(stated) or not _agrees(stated, computed):
            problem("odi_score", f"{stated} contradicts the items, which give {computed:.2f}")
            return None
    return answers, scores, "paper"


def odi_fast(odi, encode: Callable[[Any], str], otherwise: Callable[[tuple[str, ...]], Any]) -> Callable:
    """_odi for the values of odi_1 ... odi_10 and odi_score (stripped, in that order), in the
    common case, with answers and scores already encoded by ``encode`` (as stored): what _odi
    returns when every asked section is blank or a plain "0".."5", every section not asked is
    blank, at least one is answered and a given odi_score agrees, as ((answers, scores, "paper"),
    no problems). Any other values go to ``otherwise`` (the importer's _odi, cached), which reads
    the unusual ("٣") or names the problem.

    Each cell is checked once, by one lookup of its text (questionnaires.odi.ITEM_TEXTS). The
    scores depend only on the items' total and how many are answered (OdiInstrument.score_totals),
    so each distinct pair is scored and encoded once. The answers' text is the encoding of the
    answers with every value put in place: ``encode`` writes keys in sorted order, so the
    template and each value's text come from ``encode`` itself.
    """
    in_key_order = sorted(odi.fields)
    pick = itemgetter(*(ODI_FIELDS.index(name) for name in in_key_order))
    not_asked = tuple(n for n, name in enumerate(ODI_FIELDS) if name not in odi.fields)
    template = encode(dict.fromkeys(in_key_order)).replace("%", "%%").replace("null", "%s")
    text_of = {text: encode(value) for text, value in ODI_ITEM_TEXTS.items()}.__getitem__
    value_of = {text: value or 0 for text, value in ODI_ITEM_TEXTS.items()}.__getitem__
    stated_at = len(ODI_FIELDS)
    scored: dict[tuple[int, int], tuple[str, float | None]] = {}

    def check(values: tuple[str, ...]) -> Any:
        if not_asked and any(values[n] for n in not_asked):
            return otherwise(values)
        texts = pick(values)
        try:
            answers = template % tuple(map(text_of, texts))
        except KeyError:   # a cell that is not blank or "0".."5"
            return otherwise(values)
        answered = len(texts) - texts.count("")
        if not answered:
            return otherwise(values)
        total = sum(map(value_of, texts))
        if (total, answered) not in scored:
            scores = odi.score_totals(total, answered)
            scored[total, answered] = (encode(scores), scores["odi_score"])
        scores_text, score = scored[total, answered]
        stated = values[stated_at]
        if stated and not _stated_agrees(stated, score):
            return otherwise(values)
        return (answers, scores_text, "paper"), ()
    return check


@lru_cache(maxsize=4096)
def _stated_agrees(stated: str, computed: float | None) -> bool:
    """A given odi_score that _odi accepts beside the computed one."""
    return computed is not None and DECIMAL.match(stated) is not None and _agrees(stated, computed)


def _agrees(stated: str, computed: float) -> bool:
    """Equal at the precision written: "36", "35.6" and "35.56" all agree with 35.5556."""
    places = len(stated.split(".")[1]) if "." in stated else 0
    return abs(round(computed, places) - float(stated)) < 10 ** -(places + 3)


def _satisfaction(row, problem, instrument):
    answers = {"sat_procedure": row.get("sat_procedure", ""), "sat_results": row.get("sat_results", "")}
    try:
        clean = instrument.validate(answers)
    except AnswerError as exc:
        for column in exc.errors:
            value = answers.get(column, "")
            problem(column, f"{value!r} is out of range: 1-4" if value else
                    "both satisfaction items are needed when either is given")
        return None
    return clean, instrument.score_valid(clean), "paper"


def _medication(row, problem, instrument):
    totals = {}
    for column, limit in (("nsaid_mg_day", MAX_NSAID_MG_DAY), ("mme_mg_day", MAX_MME_MG_DAY)):
        text = row.get(column, "")
        if text and (not DECIMAL.match(text) or float(text) > limit):
            problem(column, f"{text!r} is out of range: 0 to {limit:g} mg/day")
            return None
        totals[column] = float(text) if text else None
    if any(row.get(column) for column in dataset.MED_COLUMNS):
        form = {"took_any": row.get("med_took_any", "")}
        for n in range(1, MAX_ROWS + 1):
            drug, strength, doses = row_fields(n)
            form[drug] = row.get(f"med_{n}_drug", "")
            form[strength] = row.get(f"med_{n}_strength_mg", "")
            form[doses] = row.get(f"med_{n}_doses_per_day", "")
        try:
            answers = instrument.validate(form)
        except AnswerError as exc:
            for name, message in exc.errors.items():
                column = "med_took_any" if name == "took_any" else _med_column(name)
                problem(column, message)
            return None
        scores = instrument.score_valid(answers)
        for column, stated in totals.items():
            if stated is not None and abs(stated - scores[column]) > TOTALS_TOLERANCE:
                problem(column, f"{stated:g} contradicts the medicines listed, which give {scores[column]:g}")
                return None
        return answers, scores, "paper"
    answers = {"daily_totals": totals}
    return answers, {**totals, "paracetamol_mg_day": None}, "daily_totals"


CHECKERS = {"vas": _vas, "odi": _odi, "satisfaction": _satisfaction, "medication": _medication}


def _med_column(name: str) -> str:
    kind, n = name.rsplit("_", 1)
    return f"med_{n}_" + {"drug": "drug", "strength": "strength_mg", "doses": "doses_per_day"}[kind]

