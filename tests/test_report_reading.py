"""The report's set-based reading (storage.report_data) and the column helpers that replaced its
per-participant loops: each gives exactly what the one-at-a-time definition gives."""
from __future__ import annotations

import math
import random
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest

from questionnaires.clinical import ClinicalSettings, EffectiveDose
from questionnaires.crf import procedure_derived
from reports import distinct
from reports import statistics as st
from reports.clinical_columns import Form
from reports.clinical_report import _effective_dose
from reports.observations import gather
from reports.statistics import differences
from reports.trial_report import consort
from storage import crf, participants, report_data
from storage.connection import open_db
from storage.db import parse_utc
from tests.trial_data import populate

AT = datetime(2025, 6, 1, tzinfo=timezone.utc)
# Floats whose shortest repr needs all 17 digits, or that SQLite's own parser may round differently.
AWKWARD = (0.1 + 0.2, 1 / 3, 2.675, 5e-324, 1.7976931348623157e308, 123456789.12345679, -0.0, 37.77777777777778)


@pytest.fixture
def simulated(tmp_path, app):
    path = tmp_path / "simulated.sqlite3"
    from storage import init_db
    init_db(path)
    populate(path, app.extensions["protocol"], per_arm=6, seed=3, completion=0.7, clinical=True)
    db = open_db(path)
    yield db
    db.close()


def test_form_values_are_the_newest_records_decoded_to_the_last_bit(simulated):
    db = simulated
    for n, value in enumerate(AWKWARD, start=1):
        current = crf.current(db, n, "procedure")
        crf.insert_version(db, participant_id=n, form="procedure", item=0, version=current["version"] + 1,
                           data={**current["data"], "dap_mgycm2": value, "guidance": 'fluoro "quoted" ✓'},
                           at=AT, by="test", reason="checked")
    participants, items, (daps, guidances, missing) = report_data.form_values(
        db, "procedure", ("dap_mgycm2", "guidance", "no_such_field"))
    found = {participant: (item, dap, guidance) for participant, item, dap, guidance in
             zip(participants, items, daps, guidances)}
    newest = {row["participant_id"]: row for row in crf.newest(db, form="procedure")}
    assert set(found) == set(newest) and len(participants) == len(newest) and set(missing) == {None}
    for participant, row in newest.items():
        item, dap, guidance = found[participant]
        assert item == row["item"] and guidance == row["data"]["guidance"]
        assert repr(dap) == repr(row["data"]["dap_mgycm2"])       # repr tells -0.0 and every last bit apart
    participants, _, (daps,) = report_data.form_values(db, "procedure", ("dap_mgycm2",))   # one field alone
    assert sorted(repr(dap) for participant, dap in zip(participants, daps) if participant <= len(AWKWARD)) == \
        sorted(repr(value) for value in AWKWARD)


def test_form_values_of_a_form_nobody_has(simulated):
    assert report_data.form_values(simulated, "eligibility", ("age_18", "vas_5")) == ([], [], [[], []])


def test_form_values_refuse_no_fields(simulated):
    with pytest.raises(ValueError, match="at least one field"):
        report_data.form_values(simulated, "baseline", ())


def test_scores_read_together_give_each_score_where_it_is(simulated, app):
    timepoints = app.extensions["protocol"].timepoint_ids
    rows = list(report_data.scores(simulated, ("sat_procedure", "sat_results"), timepoints))
    expected = {(r["participant_id"], r["timepoint"]): (r["sat_procedure"], r["sat_results"]) for r in
                simulated.query("SELECT * FROM newest_answers "
                                "WHERE sat_procedure IS NOT NULL OR sat_results IS NOT NULL")}
    assert {(pid, timepoints[position]): tuple(values) for pid, position, *values in rows} == expected
    assert list(report_data.scores(simulated, ("vas_cm",), ())) == []
    with pytest.raises(ValueError, match="not stored scores"):
        report_data.scores(simulated, ("vas_cm", "answers"), timepoints)


def _consort_one_by_one(db, protocol, now) -> dict:
    """The CONSORT table as it was computed before: participant by participant."""
    people = list(participants.every(db))
    windows = {(pid, tp): (completed, closes) for pid, tp, completed, closes in participants.windows(db)}
    answered = {(r["participant_id"], r["timepoint"]) for r in db.query("SELECT * FROM newest_answers")}
    table = {"enrolled": {arm.code: sum(p["arm"] == arm.code for p in people) for arm in protocol.arms},
             "timepoints": []}
    for tp in protocol.timepoints:
        row = {"timepoint": tp.id, "label": tp.label}
        for arm in protocol.arms:
            counts = dict.fromkeys(("completed", "missed", "withdrawn", "pending", "no_schedule"), 0)
            for person in (p for p in people if p["arm"] == arm.code):
                window = windows.get((person["id"], tp.id))
                if (window and window[0]) or (window is None and (person["id"], tp.id) in answered):
                    counts["completed"] += 1
                elif window is None:
                    counts["no_schedule"] += 1
                elif person["withdrawn_at"] and person["withdrawn_at"] < window[1]:
                    counts["withdrawn"] += 1
                elif now >= parse_utc(window[1]):
                    counts["missed"] += 1
                else:
                    counts["pending"] += 1
            row[arm.code] = counts
        table["timepoints"].append(row)
    return table


def test_consort_counted_by_sql_equals_counting_participant_by_participant(simulated, app):
    db, protocol = simulated, app.extensions["protocol"]
    db.execute("UPDATE participants SET status = 'withdrawn', withdrawn_at = '2025-07-20T00:00:00+00:00', "
               "withdrawal_reason = 'moved' WHERE id IN (2, 9)")
    db.execute("UPDATE timepoints SET closes_at = '2025-06-02T12:00:00+00:00' "
               "WHERE participant_id = 4 AND timepoint = 'day1'")
    pid = db.execute("INSERT INTO participants (study_id, arm, timezone, language, enrolled_at, enrolled_by) "
                     "VALUES ('PAPER-1', 'B', 'UTC', 'en', '2025-06-01T00:00:00+00:00', 'import')").lastrowid
    db.execute("INSERT INTO responses (participant_id, timepoint, instrument, instrument_version, version, answers, "
               "scores, input_mode, source, submitted_at, recorded_by) VALUES (?, 'month1', 'vas', '1', 1, '{}', "
               "'{\"vas_cm\": 4.0}', 'numeric', 'paper', '2025-07-01T00:00:00+00:00', 'import')", [pid])
    for now in (datetime(2025, 6, 2, 6, 0, tzinfo=timezone.utc), datetime(2025, 6, 2, 12, 0, tzinfo=timezone.utc),
                datetime(2025, 9, 15, tzinfo=timezone.utc), datetime(2026, 3, 1, tzinfo=timezone.utc)):
        assert consort(gather(db, protocol, now), protocol) == _consort_one_by_one(db, protocol, now)


def test_a_snapshot_reads_one_state_of_the_database(simulated, tmp_path):
    other = open_db(simulated.conn.execute("PRAGMA database_list").fetchone()[2])
    try:
        with report_data.snapshot(simulated):
            before = report_data.participants(simulated)
            other.execute("INSERT INTO participants (study_id, arm, timezone, language, enrolled_at, enrolled_by) "
                          "VALUES ('LATE-1', 'A', 'UTC', 'en', '2025-06-01T00:00:00+00:00', 'test')")
            assert report_data.participants(simulated) == before
        assert len(report_data.participants(simulated)) == len(before) + 1
        assert not simulated.conn.in_transaction
    finally:
        other.close()


@pytest.mark.parametrize("seed", range(3))
def test_a_rule_applied_once_per_distinct_row_equals_applying_it_to_every_row(seed):
    rng = random.Random(seed)
    n = 500
    floats = np.array([rng.choice([0.0, -0.0, 1.5, 2.0, math.nan, 1e300]) for _ in range(n)])
    codes = np.array([rng.choice(["a", "b", None, 3, 3.0]) for _ in range(n)], dtype=object)
    wide = np.array([float(rng.randrange(10 ** 6)) for _ in range(n)])         # many distinct values

    def rule(x, code, w):
        return (None if x is None else repr(x), code, w)
    expected = [rule(None if math.isnan(x) else x, c, w)
                for x, c, w in zip(floats.tolist(), codes.tolist(), wide.tolist())]
    assert distinct.apply(rule, floats, codes, wide).tolist() == expected
    assert distinct.apply(rule, floats[:0], codes[:0], wide[:0]).tolist() == []
    with pytest.raises(ValueError, match="as long"):
        distinct.apply(rule, floats, codes[:10])


def test_many_columns_of_many_values_keep_their_combinations_apart(monkeypatch):
    monkeypatch.setattr(distinct, "KEY_LIMIT", 1 << 12)       # renumber the key often
    rng = np.random.default_rng(2)
    columns = [rng.integers(0, 40, 3000).astype(float) for _ in range(5)]
    found = distinct.apply(lambda *values: values, *columns)
    assert found.tolist() == list(zip(*(column.tolist() for column in columns)))


def _brute(x, y, ranks):
    ordered = np.sort(np.subtract.outer(y, x).ravel())
    return [float(ordered[k - 1]) for k in ranks]


@pytest.mark.parametrize("kind", ["distinct", "discrete", "doses", "ties", "extremes"])
def test_order_statistics_of_the_differences_equal_sorting_every_difference(kind):
    rng = np.random.default_rng(len(kind))
    na, nb = 700, 650
    x, y = {
        "distinct": lambda: (rng.normal(0, 1, na), rng.normal(0.4, 2, nb)),
        "discrete": lambda: (rng.integers(0, 1000, na) / 10, rng.integers(0, 1000, nb) / 10),
        "doses": lambda: (np.round(rng.lognormal(8, 0.4, na)) * 0.00011,
                          np.round(rng.lognormal(5.8, 0.3, nb)) * 0.0151),
        "ties": lambda: (np.r_[rng.normal(0, 1, na), np.full(na, 5.0)],
                         np.r_[rng.normal(0, 1, nb), np.full(3 * nb, 5.0)]),
        "extremes": lambda: (rng.standard_cauchy(na) * 1e300, rng.standard_cauchy(nb)),
    }[kind]()
    m = len(x) * len(y)
    ranks = sorted({1, m, (m + 1) // 2, m // 2 + 1, m // 2 - 3000, m // 2 + 3000, *rng.integers(1, m + 1, 4).tolist()})
    assert len(np.unique(x)) * len(np.unique(y)) > differences.SORT_AT_ONCE or kind == "ties"
    assert differences.order_statistics(x, y, ranks) == _brute(x, y, ranks)


def test_the_effective_dose_column_equals_the_procedure_definition():
    rng = random.Random(4)
    for settings in (ClinicalSettings(effective_dose=EffectiveDose(0.00011, 0.0151)),
                     ClinicalSettings(effective_dose=EffectiveDose(0.0, 0.0151)), ClinicalSettings()):
        records = [{"guidance": rng.choice(["fluoroscopy", "ct", None]), "punctures": 2, "operative_min": 20.0,
                    "dap_mgycm2": rng.choice([None, round(rng.lognormvariate(8, 0.4), 1), 3300]),
                    "dlp_mgycm": rng.choice([None, 0.1 + 0.2 + 300, 347.5])} for _ in range(300)]
        procedure = Form(np.ones(len(records), dtype=bool),
                         {name: np.array([r[name] for r in records] + [None], dtype=object)[:-1]
                          for name in ("guidance", "dap_mgycm2", "dlp_mgycm")})
        dose = _effective_dose(procedure, settings)
        coefficient = {"fluoroscopy": settings.effective_dose.fluoroscopy_msv_per_mgycm2,
                       "ct": settings.effective_dose.ct_msv_per_mgycm}
        for record, found in zip(records, dose.tolist()):
            expected = procedure_derived(record, settings, None, None)["effective_dose_msv"] \
                if coefficient.get(record["guidance"]) else None
            assert (None if math.isnan(found) else found) == expected


def test_two_arms_gives_what_each_test_gives_alone():
    rng = np.random.default_rng(9)
    for a, b in ((rng.integers(0, 101, 300) / 10, rng.integers(0, 101, 280) / 10), ([], [1.0, 2.0]),
                 ([3.0] * 5, [3.0] * 4)):
        together = st.two_arms(list(a), list(b))
        assert together == {"mann_whitney": st.mann_whitney(list(a), list(b)), "t_test": st.student_t(list(a), list(b)),
                            "hodges_lehmann": st.hodges_lehmann(list(a), list(b)),
                            "rank_biserial": st.rank_biserial(list(a), list(b))}
    with pytest.raises(ValueError, match="finite numbers"):
        st.two_arms([1.0, float("nan")], [2.0])


def test_friedman_of_a_matrix_equals_friedman_of_its_rows():
    matrix = np.random.default_rng(3).integers(0, 11, (400, 6)).astype(float)
    assert st.friedman(matrix) == st.friedman(matrix.tolist())
    assert st.friedman(matrix[:0]) == st.friedman([])
    with pytest.raises(ValueError, match=r"rows\[0\]"):
        st.friedman(np.array([[1.0, np.nan], [2.0, 3.0]]))


def test_gather_sends_as_many_statements_for_ten_times_the_participants(tmp_path, app):
    from storage import init_db
    from tests.sql_trace import sent

    counts = []
    for per_arm in (2, 20):
        path = tmp_path / f"{per_arm}.sqlite3"
        init_db(path)
        populate(path, app.extensions["protocol"], per_arm=per_arm, seed=1, clinical=True)
        db = open_db(path)
        traced: list[str] = []
        try:
            db.conn.set_trace_callback(traced.append)
            gather(db, app.extensions["protocol"], AT + timedelta(days=400))
        finally:
            db.conn.set_trace_callback(None)
            db.close()
        counts.append(len(sent(traced)))
    assert counts[0] == counts[1] < 20
