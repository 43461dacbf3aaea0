"""The report's clinician tables: the reference paper's own Tables 1, 2 and 5 as worked examples,
the CONSORT flow and deviations, every degenerate trial, and the HTML at a phone's width."""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timedelta, timezone
from statistics import NormalDist, fmean, stdev

import pytest

from app import create_app
from questionnaires import INSTRUMENTS
from questionnaires.crf import (
    BASELINE_FORM,
    EVENT_FORM,
    PROCEDURE_FORM,
    validate_baseline,
    validate_event,
    validate_procedure,
)
from randomization import stratum_for
from reports import statistics as st
from reports.trial_report import build
from services import crf as crf_service
from storage import crf, init_db, participants, responses, write
from storage.connection import open_db
from tests.trial_data import populate

ENROLLED_AT = datetime(2025, 3, 3, 9, 0, tzinfo=timezone.utc)
PROCEDURE_DAY = date(2025, 3, 10)
REPORT_AT = datetime(2025, 12, 1, tzinfo=timezone.utc)

# The paper's printed counts (Tables 1, 2 and 5), arm A then arm B, 100 each.
PAPER = {
    "sex": ({"male": 46, "female": 54}, {"male": 44, "female": 56}),
    "root_l3": ({"none": 94, "bilateral": 6}, {"none": 95, "bilateral": 5}),
    "root_l4": ({"none": 21, "unilateral": 43, "bilateral": 36}, {"none": 20, "unilateral": 38, "bilateral": 42}),
    "root_l5": ({"none": 10, "unilateral": 47, "bilateral": 43}, {"none": 12, "unilateral": 42, "bilateral": 46}),
    "roots_injected": ({"1-2": 73, "3-4": 21, "5-6": 6}, {"1-2": 70, "3-4": 25, "5-6": 5}),
    "si_side": ({"none": 22, "right": 21, "left": 15, "bilateral": 42}, {"none": 25, "right": 19, "left": 12, "bilateral": 44}),
    "contrast_extravasation": ({"no": 95, "yes": 5}, {"no": 95, "yes": 5}),
    "complication": ({"none": 99, "abscess": 1}, {"none": 96, "abscess": 1, "discitis_neuritis": 1, "hematoma": 2}),
}
PRINTED_P = {"sex": 0.776, "root_l3": 0.756, "root_l4": 0.672, "root_l5": 0.754, "roots_injected": 0.778,
             "si_side": 0.880, "complication": 0.385, "contrast_extravasation": 1.000}
# Table 5's morphine equivalents (mg/day): before the procedure and at one month.
MME = {"baseline": ({0: 96, 10: 4}, {0: 98, 10: 2}), "month1": ({0: 100}, {0: 99, 20: 1})}
MME_P = {"baseline": 0.407, "month1": 0.316}
AGE = {"A": (51.29, 8.77), "B": (52.71, 10.11)}   # mean ± SD, Table 1; t-test p = 0.290


def exact_ages(mean: float, sd: float, n: int = 100) -> list[int]:
    """Whole years with exactly this mean and an SD that rounds to ``sd``: normal scores (Blom),
    scaled to the mean and SD and rounded, then nudged in pairs (+1 and -1 keep the sum; a pair
    of equal ages moves the sum of squares by +2, a pair 2 apart by -2)."""
    scores = [NormalDist().inv_cdf((i - 0.375) / (n + 0.25)) for i in range(1, n + 1)]
    spread = stdev(scores)
    ages = [round(mean + sd * z / spread) for z in scores]
    ages[n // 2] += round(mean * n) - sum(ages)
    target = sd * sd * (n - 1)
    tolerance = 0.004 * 2 * sd * (n - 1)        # within 0.004 of sd, so it rounds to sd
    while abs((squares := sum((a - mean) ** 2 for a in ages)) - target) > tolerance:
        middle = sorted(range(n), key=lambda i: abs(ages[i] - mean))
        gap = 0 if squares < target else 2
        i, j = next((i, j) for i in middle for j in middle if i != j and ages[i] - ages[j] == gap)
        step = 1 if squares < target else -1
        ages[i], ages[j] = ages[i] + step, ages[j] - step
    return ages


def _spread(counts: dict, n: int, rng: random.Random) -> list:
    values = [level for level, count in counts.items() for _ in range(count)]
    assert len(values) == n
    rng.shuffle(values)
    return values


def _medication(mme: int) -> dict:
    items = [] if mme == 0 else [{"drug": "morphine", "strength_mg": float(mme), "doses_per_day": 1}]
    return INSTRUMENTS["medication"].validate({"took_any": "yes" if items else "no", "items": items})


def build_paper_cohort(db, protocol) -> None:
    """200 participants, 100 per arm, whose clinician records and morphine answers have the paper's
    counts; records validated by the real forms and stored as version 1, in one transaction."""
    rng = random.Random(2024)
    settings = protocol.clinical
    with write(db):
        for arm_index, arm in enumerate(("A", "B")):
            column = {variable: _spread(counts[arm_index], 100, rng) for variable, counts in PAPER.items()}
            ages = exact_ages(*AGE[arm])
            mme = {tp: _spread(counts[arm_index], 100, rng) for tp, counts in MME.items()}
            for n in range(100):
                punctures = {"1-2": 1 + n % 2, "3-4": 3 + n % 2, "5-6": 5 + n % 2}[column["roots_injected"][n]]
                pid = participants.insert(db, {
                    "study_id": f"{arm}-{n:03d}", "arm": arm, "timezone": "UTC", "language": "en",
                    "procedure_date": PROCEDURE_DAY.isoformat(), "enrolled_at": ENROLLED_AT.isoformat(),
                    "enrolled_by": "test", "punctures": punctures, "stratum": stratum_for(punctures)})
                guidance = protocol.arm(arm).guidance
                records = [(BASELINE_FORM, 0, validate_baseline({
                    "age": ages[n], "sex": column["sex"][n], **{f"root_{r}": column[f"root_{r}"][n] for r in "l3 l4 l5".split()},
                }, enrolled_on=ENROLLED_AT.date())), (PROCEDURE_FORM, 0, validate_procedure({
                    "procedure_date": PROCEDURE_DAY.isoformat(), "guidance": guidance, "punctures": punctures,
                    "si_side": column["si_side"][n], "contrast_extravasation": column["contrast_extravasation"][n],
                    "operative_min": 15 + (n * 7) % 20,
                    **({"dap_mgycm2": 2000 + 30 * n} if guidance == "fluoroscopy" else {"dlp_mgycm": 200 + 3 * n}),
                }, settings, enrolled_on=ENROLLED_AT.date(), today=PROCEDURE_DAY))]
                events = {"none": [], "abscess": [("abscess", 2)], "discitis_neuritis": [("discitis_neuritis", 3)],
                          "hematoma": [("hematoma", 2)]}[column["complication"][n]]
                if events and events[0][0] == "hematoma" and n == column["complication"].index("hematoma"):
                    events = [("abscess", 1), ("hematoma", 3)]   # two events: counted under the most severe
                for item, (event, grade) in enumerate(events, 1):
                    records.append((EVENT_FORM, item, validate_event({
                        "event": event, "onset_date": PROCEDURE_DAY.isoformat(), "grade": grade, "serious": "no",
                        "related": "probable"}, enrolled_on=ENROLLED_AT.date(), today=PROCEDURE_DAY)))
                for form, item, data in records:
                    crf.insert_version(db, participant_id=pid, form=form, item=item, version=1, data=data,
                                       at=ENROLLED_AT, by="test", reason=None)
                for tp, values in mme.items():
                    answers = _medication(values[n])
                    responses.insert_first(db, participant_id=pid, timepoint=tp, instrument="medication",
                                           instrument_version=INSTRUMENTS["medication"].version, answers=answers,
                                           scores=INSTRUMENTS["medication"].score(answers), input_mode="web",
                                           source="web", submitted_at=ENROLLED_AT, recorded_by="participant")


@pytest.fixture(scope="module")
def paper(tmp_path_factory):
    """The paper's trial, built once: (app, report)."""
    path = tmp_path_factory.mktemp("paper") / "paper.sqlite3"
    init_db(path)
    app = create_app({"TESTING": True, "DATABASE": str(path), "CLOCK": lambda: REPORT_AT,
                      "BASE_URL": "https://pro.example.org"})
    db = open_db(path)
    try:
        build_paper_cohort(db, app.extensions["protocol"])
        report = build(db, app.extensions["protocol"], REPORT_AT)[0]
    finally:
        db.close()
    return app, report


def entry(report: dict, kind: str, variable: str, timepoint: str | None = None) -> dict:
    return next(e for e in report[kind] if e["variable"] == variable and timepoint in (None, e["timepoint"]))


# --- The paper's tables as worked examples --------------------------------------------------

@pytest.mark.parametrize("variable", list(PRINTED_P))
def test_the_papers_counts_give_its_printed_chi_square_p(paper, variable):
    c = entry(paper[1], "categorical", variable)
    counts_a, counts_b = PAPER[variable]
    assert {k: v for k, v in c["counts"]["A"].items() if v} == counts_a
    assert {k: v for k, v in c["counts"]["B"].items() if v} == counts_b
    assert c["n"] == {"A": 100, "B": 100}
    assert round(c["p"], 3) == PRINTED_P[variable]


def test_clinician_entries_have_the_contract_names_and_levels(paper):
    report = paper[1]
    levels = {"sex": ["male", "female"], "root_l3": ["none", "unilateral", "bilateral"],
              "roots_injected": ["1-2", "3-4", "5-6"], "si_side": ["none", "right", "left", "bilateral"],
              "complication": ["none", "abscess", "discitis_neuritis", "hematoma", "other"],
              "contrast_extravasation": ["no", "yes"]}
    for variable, expected in levels.items():
        c = entry(report, "categorical", variable)
        assert list(c["level_labels"]) == expected and list(c["counts"]["A"]) == expected
        assert {"statistic", "df", "p", "p_exact", "read", "note"} <= set(c)
    assert {(c["variable"], c["timepoint"]) for c in report["categorical"]} >= {
        *((v, "baseline") for v in ("sex", "root_l3", "root_l4", "root_l5")),
        *((v, "procedure") for v in ("roots_injected", "si_side", "complication", "contrast_extravasation"))}
    for variable, timepoint in (("age", "baseline"), ("operative_min", "procedure"), ("effective_dose_msv", "procedure")):
        e = entry(report, "continuous", variable)
        assert e["timepoint"] == timepoint
        assert {"A", "B", "mann_whitney", "t_test", "normality", "test", "p", "hodges_lehmann", "rank_biserial"} <= set(e)


def test_the_l3_level_nobody_has_is_left_out_of_the_test(paper):
    c = entry(paper[1], "categorical", "root_l3")
    assert c["counts"]["A"]["unilateral"] == 0 and c["levels"] == ["none", "bilateral"] and c["df"] == 1


def test_complications_read_the_exact_p_and_keep_the_chi_square_p(paper):
    c = entry(paper[1], "categorical", "complication")
    assert c["read"] == "p_exact" and round(c["p"], 3) == 0.385
    assert c["p_exact"] == st.fisher_freeman_halton([[99, 1, 0, 0], [96, 1, 1, 2]])
    assert c["counts"]["B"]["hematoma"] == 2 and c["counts"]["B"]["abscess"] == 1  # the two-event one: hematoma


def test_contrast_extravasation_reads_the_chi_square_p(paper):
    c = entry(paper[1], "categorical", "contrast_extravasation")
    assert c["read"] == "p" and c["p"] == pytest.approx(1.0) and c["p_exact"] is None


@pytest.mark.parametrize("timepoint", list(MME))
def test_morphine_equivalents_give_the_printed_p(paper, timepoint):
    c = entry(paper[1], "categorical", "mme", timepoint)
    assert round(c["p"], 3) == MME_P[timepoint]
    assert c["read"] == "p_exact"      # 2 of 4 expected counts under 5: the exact p is the one to read


def test_exact_ages_have_the_papers_mean_and_sd():
    for arm, (mean, sd) in AGE.items():
        ages = exact_ages(mean, sd)
        assert round(fmean(ages), 2) == mean and round(stdev(ages), 2) == sd


def test_age_gives_the_papers_t_test_p(paper):
    e = entry(paper[1], "continuous", "age")
    assert round(e["A"]["mean"], 2) == 51.29 and round(e["A"]["sd"], 2) == 8.77
    assert round(e["B"]["mean"], 2) == 52.71 and round(e["B"]["sd"], 2) == 10.11
    assert e["test"] == "t-test" and e["p"] == e["t_test"]["p"]
    assert e["p"] == pytest.approx(0.290, abs=0.0015)


def test_arms_are_compared_on_effective_dose_and_each_modality_is_described_in_its_own_unit(paper):
    app, report = paper
    coefficients = app.extensions["protocol"].clinical.effective_dose
    dap = [2000 + 30 * n for n in range(100)]
    dlp = [200 + 3 * n for n in range(100)]
    e = entry(report, "continuous", "effective_dose_msv")
    assert e["unit"] == "mSv" and e["A"] == st.describe([v * coefficients.fluoroscopy_msv_per_mgycm2 for v in dap])
    assert e["B"] == st.describe([v * coefficients.ct_msv_per_mgycm for v in dlp])
    assert e["mann_whitney"]["p"] is not None
    doses = {d["quantity"]: d for d in report["dose_by_modality"]}
    assert doses["dap_mgycm2"]["unit"] == "mGy·cm²" and doses["dap_mgycm2"]["A"] == st.describe([float(v) for v in dap])
    assert doses["dap_mgycm2"]["B"]["n"] == 0 and doses["dlp_mgycm"]["A"]["n"] == 0
    assert doses["dlp_mgycm"]["unit"] == "mGy·cm" and doses["dlp_mgycm"]["B"]["median"] == pytest.approx(348.5)
    assert report["effective_dose"]["source"] == coefficients.source and "NRPB" in coefficients.source
    operative = entry(report, "continuous", "operative_min")
    assert operative["A"]["n"] == operative["B"]["n"] == 100
    # Table 4 is read with Mann-Whitney, as the paper reports it, whatever the normality test says;
    # age (Table 1) follows the normality rule.
    assert (e["test"], operative["test"]) == ("mann-whitney", "mann-whitney")
    assert e["p"] == e["mann_whitney"]["p"] and operative["p"] == operative["mann_whitney"]["p"]
    assert entry(report, "continuous", "age")["test"] == "t-test"


def test_the_flow_of_a_trial_without_crossover(paper):
    flow = paper[1]["consort"]
    assert flow["enrolled"] == flow["allocated"] == {"A": 100, "B": 100}
    assert flow["randomized"] == 200 and flow["received_allocated"] == {"A": 100, "B": 100}
    assert flow["crossed_over"] == {"A": 0, "B": 0} and flow["no_procedure_record"] == {"A": 0, "B": 0}
    assert "intention to treat" in flow["analysis"]
    deviations = paper[1]["deviations"]
    assert [deviations[k]["A"] + deviations[k]["B"] for k in ("guidance", "stratum", "methylprednisolone")] == [0, 0, 0]
    json.dumps(paper[1], allow_nan=False)


# --- Crossover, deviations, the screening log (through the services) ------------------------

FLUORO = {"procedure_date": "2026-03-02", "guidance": "fluoroscopy", "punctures": "2", "si_side": "none",
          "operative_min": "22.5", "dap_mgycm2": "3520", "contrast_extravasation": "no"}
CT = {**{k: v for k, v in FLUORO.items() if k != "dap_mgycm2"}, "guidance": "ct", "dlp_mgycm": "347.5"}
BASELINE = {"age": "51", "sex": "female", "root_l3": "none", "root_l4": "unilateral", "root_l5": "bilateral"}


def _record(app, clock, study_id, *, baseline=True, procedure=None, events=()):
    protocol = app.extensions["protocol"]
    db = open_db(app.config["DATABASE"])
    try:
        if baseline:
            crf_service.record_baseline(db, protocol, study_id, BASELINE, actor="inv@x.org", now=clock())
        if procedure:
            crf_service.record_procedure(db, protocol, study_id, procedure, actor="inv@x.org", now=clock())
        for event in events:
            crf_service.record_event(db, protocol, study_id, event, actor="inv@x.org",
                                     now=clock() + timedelta(days=1))
    finally:
        db.close()


def _report(app, clock):
    db = open_db(app.config["DATABASE"])
    try:
        return build(db, app.extensions["protocol"], clock())[0]
    finally:
        db.close()


def test_a_crossover_is_counted_and_analysed_in_the_allocated_arm(app, trial, clock):
    for n in range(3):
        trial.enroll(f"A-{n}", arm="A")
        trial.enroll(f"B-{n}", arm="B")
        _record(app, clock, f"B-{n}", procedure={**CT, "dlp_mgycm": str(300 + 10 * n)})
    _record(app, clock, "A-0", procedure=CT)               # allocated fluoroscopy, received CT
    _record(app, clock, "A-1", procedure={**FLUORO, "methylprednisolone_mg": "120", "deviation_reason": "severe"})
    _record(app, clock, "A-2", procedure=FLUORO)
    report = _report(app, clock)
    flow = report["consort"]
    assert flow["crossed_over"] == {"A": 1, "B": 0} and flow["received_allocated"] == {"A": 2, "B": 3}
    assert report["deviations"]["guidance"]["A"] == 1 and report["deviations"]["methylprednisolone"]["A"] == 1
    doses = {d["quantity"]: d for d in report["dose_by_modality"]}
    assert doses["dlp_mgycm"]["A"]["n"] == 1 and doses["dap_mgycm2"]["A"]["n"] == 2   # by guidance received
    effective = entry(report, "continuous", "effective_dose_msv")
    assert effective["A"]["n"] == 3            # by allocated arm: the crossover stays in A
    roots = entry(report, "categorical", "roots_injected")
    assert roots["n"] == {"A": 3, "B": 3}


def test_screening_log_gives_exclusions_with_the_protocols_words_and_overrides(app, trial, clock):
    db = open_db(app.config["DATABASE"])
    try:
        with write(db):
            for failed, outcome, reason in ((["vas_5"], "not_enrolled", None), (["vas_5", "pregnancy"], "not_enrolled", None),
                                            ([], "enrolled", None), (["stenosis"], "enrolled_by_override", "mild")):
                crf.insert_screening(db, at=clock(), by="inv@x.org", answers={}, failed=failed, outcome=outcome,
                                     override_reason=reason)
    finally:
        db.close()
    trial.enroll("A-1", arm="A")
    trial.enroll("B-1", arm="B")
    report = _report(app, clock)
    flow = report["consort"]
    assert flow["screened"] == 4 and flow["excluded"]["n"] == 2 and flow["enrolled_by_override"] == 1
    assert flow["excluded"]["reasons"] == [
        {"criterion": "vas_5", "kind": "inclusion", "text": "VAS of 5 or more", "n": 2},
        {"criterion": "pregnancy", "kind": "exclusion", "text": "Pregnancy", "n": 1}]
    assert report["deviations"]["eligibility_override"]["n"] == 1
    assert flow["randomized"] == 2 and flow["enrolled_without_screening"] == 0


# --- Degenerate trials: notes, never NaN ------------------------------------------------------

def test_no_clinician_data_at_all(app, db_path, clock):
    populate(db_path, app.extensions["protocol"], per_arm=5, seed=4)
    report = _report(app, clock)
    assert ("No clinician forms are recorded yet: Tables 1, 2 and 4, complications and contrast extravasation "
            "have no data.") in report["notes"]
    for variable in ("age", "operative_min", "effective_dose_msv"):
        e = entry(report, "continuous", variable)
        assert e["A"]["n"] == e["B"]["n"] == 0 and e["p"] is None
    for variable in ("sex", "roots_injected", "complication", "contrast_extravasation"):
        c = entry(report, "categorical", variable)
        assert c["n"] == {"A": 0, "B": 0} and c["p"] is None and c["note"]
    assert report["consort"]["no_procedure_record"] == {"A": 5, "B": 5}
    json.dumps(report, allow_nan=False)


def test_an_empty_trial_adds_no_clinician_note(app, clock):
    report = _report(app, clock)
    assert report["notes"] == ["No participant is enrolled yet: there is nothing to compare."]
    assert report["consort"]["randomized"] == 0 and report["consort"]["lost_to_follow_up"] == {"A": 0, "B": 0}
    json.dumps(report, allow_nan=False)


def test_one_arm_without_procedure_records(app, trial, clock):
    for n in range(3):
        trial.enroll(f"A-{n}", arm="A")
        trial.enroll(f"B-{n}", arm="B")
        _record(app, clock, f"A-{n}", procedure=FLUORO)
        _record(app, clock, f"B-{n}")
    report = _report(app, clock)
    assert ("Arm B (CT-guided) has no procedure records: Tables 2 and 4 and contrast extravasation are not "
            "compared.") in report["notes"]
    operative = entry(report, "continuous", "operative_min")
    assert operative["A"]["n"] == 3 and operative["B"]["n"] == 0 and operative["p"] is None
    assert entry(report, "categorical", "roots_injected")["p"] is None
    assert entry(report, "continuous", "age")["B"]["n"] == 3
    assert report["consort"]["no_procedure_record"] == {"A": 0, "B": 3}
    json.dumps(report, allow_nan=False)


def test_an_event_without_a_procedure_record_still_counts(app, trial, clock):
    trial.enroll("A-1", arm="A")
    trial.enroll("B-1", arm="B")
    _record(app, clock, "B-1", baseline=False, events=[{"event": "hematoma", "onset_date": "2026-03-03",
                                                        "grade": "2", "serious": "no", "related": "probable"}])
    c = entry(_report(app, clock), "categorical", "complication")
    assert c["counts"]["B"]["hematoma"] == 1 and c["n"] == {"A": 0, "B": 1}


# --- The HTML ---------------------------------------------------------------------------------

NEW_TABLES = ("Protocol deviations", "Table 1. Demographic and baseline characteristics",
              "Table 2. Roots injected and side of injection", "Table 4. Radiation dose and operative time",
              "Table 5. Safety and contrast extravasation")


def test_the_html_has_the_new_tables_in_scrolling_boxes_at_a_phone_width(paper):
    app, _ = paper
    html = _html(app)
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert ".table-box{overflow-x:auto;max-inline-size:100%}" in html
    for title in NEW_TABLES:
        assert f'<h2>{title}</h2>' in html
        assert f'<div class="table-box" tabindex="0" role="region" aria-label="{title}">' in html, title
    order = [html.index(heading) for heading in ("<h2>Table 1.", "<h2>Table 2.", "<h2>Table 3.", "<h2>Table 4.",
                                                 "<h2>Table 5. Safety", "<h2>Table 5. Medication", "<h2>Table 6.")]
    assert order == sorted(order)
    for text in ("51.29 ± 8.77", "52.71 ± 10.11", "<td>46 (46.0%)</td>", "<td>1 or 2</td>", "<td>Only right</td>",
                 "Discitis and neuritis", "0.776<sup>*</sup>", "0.385</div>", "(mGy·cm²)", "(mGy·cm)",
                 "NRPB-R262", "Assessed for eligibility", "Received the allocated guidance: 100",
                 "intention to treat", "0 participants crossed over"):
        assert text in html, text
    assert "nan" not in html.lower().replace("nanc", "")


def test_the_html_says_how_many_crossed_over(app, trial, clock):
    trial.enroll("A-1", arm="A")
    trial.enroll("B-1", arm="B")
    _record(app, clock, "A-1", procedure=CT)
    html = _html(app)
    assert "1 participant crossed over (received the other arm's guidance: A 1, B 0)" in html
    assert "Crossed over: 1" in html and "No records yet in arm B." in html


def _html(app) -> str:
    from web import report as report_view

    with app.test_request_context():
        return report_view.as_html(*report_view.build())


def test_an_arm_without_participants_is_said_once(app, db_path, clock):
    populate(db_path, app.extensions["protocol"], per_arm=6, arms=("A",), clinical=True)
    report = _report(app, clock)
    assert [note for note in report["notes"] if "Arm B" in note] == [
        "Arm B (CT-guided) has no participants: between-arm tests are not computed."]
    assert entry(report, "continuous", "age")["A"]["n"] == 6
    json.dumps(report, allow_nan=False)


def test_simulated_clinician_forms_leave_the_answers_as_they_were(tmp_path):
    reports = []
    for clinical in (False, True):
        path = tmp_path / f"{clinical}.sqlite3"
        init_db(path)
        protocol = create_app({"TESTING": True, "DATABASE": str(path)}).extensions["protocol"]
        populate(path, protocol, per_arm=8, seed=11, clinical=clinical)
        db = open_db(path)
        try:
            reports.append(build(db, protocol, REPORT_AT)[0])
        finally:
            db.close()
    without, with_forms = reports
    assert [e for e in with_forms["continuous"] if e["variable"] in ("vas", "odi")] == \
        [e for e in without["continuous"] if e["variable"] in ("vas", "odi")]
    assert entry(with_forms, "continuous", "age")["A"]["n"] == 8 and entry(without, "continuous", "age")["A"]["n"] == 0
    assert sum(with_forms["consort"]["procedure_recorded"].values()) == 16
