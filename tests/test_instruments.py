"""Scoring against worked examples, and the bad answers each instrument refuses."""
from __future__ import annotations

import pytest

from questionnaires import INSTRUMENTS, MEDICATION, ODI, SATISFACTION, VAS, AnswerError
from questionnaires.medication import daily_totals, nsaid_reduction_pct
from questionnaires.odi import SECTIONS, odi_band, odi_score


def odi_items(*values):
    return {f"odi_{n}": value for n, value in enumerate(values, 1)}


# --- ODI --------------------------------------------------------------------------------

def test_odi_has_ten_sections_of_six_statements():
    assert [s.number for s in SECTIONS] == list(range(1, 11))
    assert all(len(s.statements) == 6 and all(s.statements) for s in SECTIONS)
    assert SECTIONS[7].title.startswith("Sex life")
    assert SECTIONS[0].statements[5] == "The pain is the worst imaginable at the moment."


def test_odi_all_ten_answered_16_of_50_is_32_percent():
    assert odi_score(odi_items(2, 2, 2, 2, 2, 2, 1, 1, 1, 1)) == 32.0


def test_odi_one_section_skipped_16_of_45_is_35_6_percent():
    score = odi_score(odi_items(2, 2, 2, 2, 2, 2, 1, None, 2, 1))
    assert score == pytest.approx(16 / 45 * 100)
    assert round(score, 1) == 35.6


def test_odi_two_sections_skipped_still_scored_over_40():
    assert odi_score(odi_items(5, 5, 5, 5, 5, 5, 5, None, None, 5)) == 100.0


def test_odi_seven_sections_answered_is_missing():
    assert odi_score(odi_items(1, 1, 1, 1, 1, 1, 1, None, None, None)) is None
    assert ODI.score(odi_items(1, 1, 1, 1, 1, 1, 1, None, None, None))["odi_score"] is None


def test_odi_score_is_kept_unrounded():
    # 13 / 45 = 28.888...: rounding belongs to presentation, statistics use the exact value.
    assert ODI.score(odi_items(2, 2, 2, 2, 2, 1, 1, None, 1, 0))["odi_score"] == 13 / 45 * 100


@pytest.mark.parametrize("score,band", [
    (0.0, "minimal"), (20.0, "minimal"), (20.5, "moderate"), (40.0, "moderate"),
    (41.0, "severe"), (60.0, "severe"), (62.2, "crippled"), (80.0, "crippled"),
    (81.0, "bed-bound"), (100.0, "bed-bound"), (None, None),
])
def test_odi_bands(score, band):
    assert odi_band(score) == band


@pytest.mark.parametrize("bad", [6, -1, "x", 2.5, True])
def test_odi_refuses_out_of_range_item(bad):
    with pytest.raises(AnswerError) as caught:
        ODI.validate(odi_items(bad, 1, 1, 1, 1, 1, 1, 1, 1, 1))
    assert set(caught.value.errors) == {"odi_1"}


def test_odi_refuses_unknown_section():
    with pytest.raises(AnswerError) as caught:
        ODI.validate({**odi_items(*[1] * 10), "odi_11": 1})
    assert "odi_11" in caught.value.errors


def test_odi_form_minimum_names_the_unanswered_sections_a_patient_must_fill():
    with pytest.raises(AnswerError) as caught:
        ODI.validate(odi_items(1, 1, 1, 1, 1, 1, 1, None, None, None), min_answered=8)
    assert set(caught.value.errors) == {"odi_9", "odi_10"}  # sex life (8) may always be skipped
    assert ODI.sections_still_needed(odi_items(1, 1, 1, 1, 1, 1, 1, None, None, None), 8) == 1
    assert ODI.sections_still_needed(odi_items(*[1] * 10), 8) == 0


def test_odi_accepts_form_strings():
    assert ODI.validate(odi_items(*["3"] * 10))["odi_4"] == 3


# --- VAS --------------------------------------------------------------------------------

@pytest.mark.parametrize("answers,mm,cm", [
    ({"mode": "line", "value": 0}, 0, 0.0),
    ({"mode": "line", "value": 63}, 63, 6.3),
    ({"mode": "line", "value": 100}, 100, 10.0),
    ({"mode": "nrs", "value": 6}, 60, 6.0),
    ({"mode": "nrs", "value": "10"}, 100, 10.0),
])
def test_vas_scores_in_mm_and_cm(answers, mm, cm):
    assert VAS.score(answers) == {"vas_mm": mm, "vas_cm": cm, "vas_mode": answers["mode"]}


@pytest.mark.parametrize("answers,field", [
    ({"mode": "line", "value": 101}, "value"),
    ({"mode": "line", "value": -1}, "value"),
    ({"mode": "line", "value": None}, "value"),
    ({"mode": "line", "value": "63.5"}, "value"),
    ({"mode": "nrs", "value": 11}, "value"),
    ({"mode": "slider", "value": 50}, "mode"),
    ({"value": 50}, "mode"),
])
def test_vas_refuses(answers, field):
    with pytest.raises(AnswerError) as caught:
        VAS.validate(answers)
    assert list(caught.value.errors) == [field]


# --- Satisfaction -------------------------------------------------------------------------

def test_satisfaction_levels_match_the_paper():
    assert [label for _, label in SATISFACTION.levels] == [
        "Very unsatisfied", "Unsatisfied", "Satisfied", "Very satisfied"]
    assert SATISFACTION.score({"sat_procedure": "3", "sat_results": 4}) == {"sat_procedure": 3, "sat_results": 4}


@pytest.mark.parametrize("answers,fields", [
    ({"sat_procedure": 0, "sat_results": 4}, {"sat_procedure"}),
    ({"sat_procedure": 5, "sat_results": 4}, {"sat_procedure"}),
    ({"sat_procedure": 3}, {"sat_results"}),
    ({"sat_procedure": 3, "sat_results": 3, "sat_staff": 2}, {"sat_staff"}),
])
def test_satisfaction_refuses(answers, fields):
    with pytest.raises(AnswerError) as caught:
        SATISFACTION.validate(answers)
    assert set(caught.value.errors) == fields


# --- Medication ---------------------------------------------------------------------------

def test_tramadol_100_mg_a_day_is_20_mme():
    scores = MEDICATION.score({"took_any": "yes", "drug_1": "tramadol", "strength_1": "50", "doses_1": "2"})
    assert scores == {"nsaid_mg_day": 0.0, "mme_mg_day": 20.0, "paracetamol_mg_day": 0.0}


@pytest.mark.parametrize("drug,strength,doses,mme", [
    ("codeine", 30, 4, 18.0),        # 120 mg x 0.15
    ("oxycodone", 10, 2, 30.0),      # 20 mg x 1.5
    ("morphine", 10, 2, 20.0),       # 20 mg x 1.0
    ("hydromorphone", 2, 3, 30.0),   # 6 mg x 5 (CDC 2022)
    ("tapentadol", 50, 2, 40.0),     # 100 mg x 0.4
])
def test_mme_uses_cdc_2022_factors(drug, strength, doses, mme):
    assert daily_totals([{"drug": drug, "strength_mg": strength, "doses_per_day": doses}])["mme_mg_day"] == mme


def test_nsaids_add_up_as_diclofenac_equivalents_by_who_ddd():
    totals = daily_totals([
        {"drug": "diclofenac", "strength_mg": 50, "doses_per_day": 2},   # 100 mg
        {"drug": "ibuprofen", "strength_mg": 400, "doses_per_day": 3},   # 1200 mg = 1 DDD = 100
        {"drug": "paracetamol", "strength_mg": 500, "doses_per_day": 4},
    ])
    assert totals == {"nsaid_mg_day": 200.0, "mme_mg_day": 0.0, "paracetamol_mg_day": 2000.0}


def test_no_medicine_gives_zero_totals():
    assert MEDICATION.score({"took_any": "no"}) == {"nsaid_mg_day": 0.0, "mme_mg_day": 0.0, "paracetamol_mg_day": 0.0}


def test_validated_answers_validate_again_unchanged():
    clean = MEDICATION.validate({"took_any": "yes", "drug_2": "diclofenac", "strength_2": "75", "doses_2": "2"})
    assert clean == {"took_any": "yes", "items": [{"drug": "diclofenac", "strength_mg": 75.0, "doses_per_day": 2}]}
    assert MEDICATION.validate(clean) == clean


@pytest.mark.parametrize("answers,fields", [
    ({}, {"took_any"}),
    ({"took_any": "maybe"}, {"took_any"}),
    ({"took_any": "yes"}, {"drug_1"}),
    ({"took_any": "no", "drug_1": "tramadol", "strength_1": "50", "doses_1": "1"}, {"took_any"}),
    ({"took_any": "yes", "drug_1": "aspirin-x", "strength_1": "50", "doses_1": "1"}, {"drug_1"}),
    ({"took_any": "yes", "drug_1": "tramadol", "strength_1": "5000", "doses_1": "1"}, {"strength_1"}),
    ({"took_any": "yes", "drug_1": "tramadol", "strength_1": "nan", "doses_1": "1"}, {"strength_1"}),
    ({"took_any": "yes", "drug_1": "tramadol", "strength_1": "50", "doses_1": "0"}, {"doses_1"}),
    ({"took_any": "yes", "drug_1": "tramadol", "strength_1": "50", "doses_1": "13"}, {"doses_1"}),
    ({"took_any": "yes", "drug_1": "tramadol", "strength_1": "", "doses_1": ""}, {"strength_1", "doses_1"}),
])
def test_medication_refuses(answers, fields):
    with pytest.raises(AnswerError) as caught:
        MEDICATION.validate(answers)
    assert set(caught.value.errors) == fields


@pytest.mark.parametrize("baseline,followup,reduction", [
    (150, 45, 70.0), (100, 100, 0.0), (100, 150, -50.0), (0, 50, None), (None, 10, None), (100, None, None),
])
def test_nsaid_reduction_percent(baseline, followup, reduction):
    assert nsaid_reduction_pct(baseline, followup) == reduction


@pytest.mark.parametrize("instrument,answers,scores", [
    (VAS, {"mode": "nrs", "value": "6"}, {"vas_mm": 60, "vas_cm": 6.0, "vas_mode": "nrs"}),
    (ODI, odi_items(2, 2, 2, 2, 2, 2, 1, None, 2, 1), {"odi_score": 16 / 45 * 100, "odi_band": "moderate",
                                                       "odi_answered": 9}),
    (SATISFACTION, {"sat_procedure": "2", "sat_results": 4}, {"sat_procedure": 2, "sat_results": 4}),
    (MEDICATION, {"took_any": "yes", "drug_1": "tramadol", "strength_1": "50", "doses_1": "2"},
     {"nsaid_mg_day": 0.0, "mme_mg_day": 20.0, "paracetamol_mg_day": 0.0}),
])
def test_scoring_validated_answers_gives_the_same_scores_without_validating_again(instrument, answers, scores):
    assert instrument.score(answers) == scores
    assert instrument.score_valid(instrument.validate(answers)) == scores


def test_every_instrument_is_versioned_and_registered():
    assert set(INSTRUMENTS) == {"vas", "odi", "satisfaction", "medication"}
    assert INSTRUMENTS["odi"].version == "2.1a"


@pytest.mark.parametrize("strength,doses,expected", [
    ("٥٠", "٢", (50.0, 2)),          # Arabic-Indic digits
    ("۷۵", "۲", (75.0, 2)),          # Eastern Arabic-Indic (Persian, Urdu keyboards)
    ("١٢٫٥", "١", (12.5, 1)),        # the Arabic decimal separator
    ("5٠", "١2", (50.0, 12)),        # digits mixed in one number read as one number
])
def test_medication_reads_arabic_indic_digits(strength, doses, expected):
    clean = MEDICATION.validate({"took_any": "yes", "drug_1": "diclofenac", "strength_1": strength, "doses_1": doses})
    assert (clean["items"][0]["strength_mg"], clean["items"][0]["doses_per_day"]) == expected


@pytest.mark.parametrize("strength,doses,field", [("٥٠٪", "٢", "strength_1"), ("٥٠", "٢٪", "doses_1"),
                                                  ("خمسون", "٢", "strength_1")])
def test_medication_refuses_a_percent_sign_or_words_with_a_message(strength, doses, field):
    with pytest.raises(AnswerError) as refused:
        MEDICATION.validate({"took_any": "yes", "drug_1": "diclofenac", "strength_1": strength, "doses_1": doses})
    assert set(refused.value.errors) == {field}


def test_the_no_javascript_pain_scale_reads_arabic_indic_digits():
    assert VAS.validate({"mode": "nrs", "value": "٧"})["value"] == 7
