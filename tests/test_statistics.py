"""The report's statistics against published numbers, scipy and the naive defaults they replace.

Every expected number below is either printed in a cited source or computed here by an
independent route (brute force with exact fractions, scipy, scikit-posthocs); none is
copied from this module's own output.
"""
from __future__ import annotations

import ast
import itertools
import json
import math
import subprocess
import sys
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scikit_posthocs
from scipy import stats

from reports import statistics as st
from reports.trial_report import compare_arms

ROOT = Path(__file__).resolve().parent.parent

# SAS/STAT User's Guide, The NPAR1WAY Procedure, Example "Exact Wilcoxon Two-Sample Test"
# (data set React: reaction times under stimulant 1 and 2) and Example "Hodges-Lehmann
# Estimation", which reuses it. support.sas.com/documentation/onlinedoc/stat/ex_code/143/
# npar1ex3.html and npar1ex4.html.
REACT_1 = [1.94, 1.94, 2.92, 2.92, 2.92, 2.92, 3.27, 3.27, 3.27, 3.27, 3.70, 3.70, 3.74]
REACT_2 = [3.27, 3.27, 3.27, 3.70, 3.70, 3.74]

# NAG Library, g08amc / g08ahf (Mann-Whitney U) example program data and results
# (support.nag.com/numeric/cl/nagdoc_cl26.2/examples/baseresults/g08amce.r.html).
NAG_1 = [13, 6, 12, 7, 12, 7, 10, 7, 10, 7, 16, 7, 10, 8, 9, 8]
NAG_2 = [17, 6, 10, 8, 15, 8, 15, 10, 15, 10, 14, 10, 14, 11, 14, 11, 13, 12, 13, 12, 13,
         12, 12]

# R documentation, ?friedman.test: "Rounding First Base" times of 22 players under three
# methods (Hollander & Wolfe 1973, p. 140). R prints
# "Friedman chi-squared = 11.143, df = 2, p-value = 0.003805".
ROUNDING_TIMES = [
    [5.40, 5.50, 5.55], [5.85, 5.70, 5.75], [5.20, 5.60, 5.50], [5.55, 5.50, 5.40],
    [5.90, 5.85, 5.70], [5.45, 5.55, 5.60], [5.40, 5.40, 5.35], [5.45, 5.50, 5.35],
    [5.25, 5.15, 5.00], [5.85, 5.80, 5.70], [5.25, 5.20, 5.10], [5.65, 5.55, 5.45],
    [5.60, 5.35, 5.45], [5.05, 5.00, 4.95], [5.50, 5.50, 5.40], [5.45, 5.55, 5.50],
    [5.55, 5.55, 5.35], [5.45, 5.50, 5.55], [5.50, 5.45, 5.25], [5.65, 5.60, 5.40],
    [5.70, 5.65, 5.55], [6.30, 6.30, 6.25],
]

# NAG Library, g08aec / g08aef (Friedman) example program: 18 blocks x 3 treatments given
# as within-block ranks, one block tied (2.5, 2.5, 1). NAG prints "Test statistic 8.583,
# Degrees of freedom 2, Significance 0.014" -- the statistic WITHOUT the tie correction.
# (support.nag.com/numeric/cl/nagdoc_cl26.2/examples/baseresults/g08aece.r.html)
NAG_FRIEDMAN = list(zip(
    [1, 2, 1, 1, 3, 2, 3, 1, 3, 3, 2, 2, 3, 2, 2.5, 3, 3, 2],
    [3, 3, 3, 2, 1, 3, 2, 3, 1, 1, 3, 3, 2, 3, 2.5, 2, 2, 3],
    [2, 1, 2, 3, 2, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1],
))


def json_safe(result) -> str:
    """Fails (ValueError) on nan/inf and (TypeError) on numpy scalars."""
    return json.dumps(result, allow_nan=False)


def tied_data(rng, n, levels=7):
    """Likert-like integers: heavy ties, as in VAS/ODI/satisfaction answers."""
    return rng.integers(0, levels, size=n).astype(float)


def brute_force_ffh(table) -> Fraction:
    """Every 2 x c table with the observed margins, exact rational probabilities."""
    cols = [x + y for x, y in zip(*table)]
    r, n = sum(table[0]), sum(cols)
    def prob(x):
        return Fraction(math.prod(math.comb(c, k) for c, k in zip(cols, x)), math.comb(n, r))
    observed = prob(table[0])
    total = Fraction(0)
    for x in itertools.product(*(range(c + 1) for c in cols)):
        if sum(x) == r and prob(x) <= observed * (1 + Fraction(1, 10**7)):
            total += prob(x)
    return total


# --- The module stays pure -------------------------------------------------------------

def test_statistics_imports_only_numpy_scipy_statsmodels_and_the_standard_library():
    imported = set()
    for path in (ROOT / "reports" / "statistics").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom):
                assert node.level == 0, "no relative imports of other project modules"
                if not node.module.startswith("reports.statistics"):  # its own modules
                    imported.add(node.module.split(".")[0])
    allowed = {"numpy", "scipy", "statsmodels"} | set(sys.stdlib_module_names)
    assert imported - allowed == set()
    assert {"numpy", "scipy", "statsmodels"} <= imported


def test_importing_statistics_loads_no_web_database_sms_scheduler_or_project_module():
    forbidden = ["flask", "werkzeug", "sqlite3", "sqlite_utils", "twilio", "apscheduler",
                 "questionnaires", "scheduler", "storage", "services", "web", "randomization",
                 "app"]
    code = ("import sys, reports.statistics; "
            f"print([m for m in {forbidden!r} if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == "[]"


# --- 1. Published worked examples ------------------------------------------------------

def test_mann_whitney_reproduces_sas_npar1way_react_example_without_continuity_correction():
    # SAS prints, for PROC NPAR1WAY WILCOXON CORRECT=NO on React: rank sums 110.50 / 79.50,
    # expected 130.0 / 60.0, "Std Dev Under H0 11.004784" (ties averaged), and the normal
    # approximation "One-Sided Pr > Z 0.0382" (two-sided 0.0764).
    result = st.mann_whitney(REACT_1, REACT_2)
    assert result["U"] == 19.5                       # 79.5 - 6*7/2 = 58.5; 78 - 58.5 = 19.5
    sd = (39.0 - result["U"]) / -result["z"]          # n1 n2 / 2 = 39
    assert round(sd, 6) == 11.004784
    assert round(result["z"], 4) == -1.7720           # SAS: Z = 1.7720 (sign: S above mean)
    assert round(result["p"] / 2, 4) == 0.0382
    assert round(result["p"], 4) == 0.0764


def test_mann_whitney_tie_corrected_variance_reproduces_nag_g08amc_example():
    # NAG prints "Test statistic = 86.0000, Normal Statistic = -2.8039, Approx. tail
    # probability = 0.0025" with "There are ties in the pooled sample". NAG's normal
    # statistic includes a continuity correction of 0.5; ours (SPSS) does not, so the
    # printed z is reproduced from our tie-corrected sd with the 0.5 added back.
    result = st.mann_whitney(NAG_1, NAG_2)
    assert result["U"] == 86.0
    mean = len(NAG_1) * len(NAG_2) / 2.0
    sd = (result["U"] - mean) / result["z"]
    assert round((result["U"] + 0.5 - mean) / sd, 4) == -2.8039
    assert round(stats.norm.cdf((result["U"] + 0.5 - mean) / sd), 4) == 0.0025
    assert round(result["z"], 4) == -2.8183           # SPSS's z: no continuity correction


def test_mann_whitney_z_squared_is_the_kruskal_wallis_chi_square_sas_prints():
    # SAS 9.4 NPAR1WAY run shipped with R package DescrTab2 (data
    # imbi-heidelberg/DescrTab2 vignettes/validation_report/wilcox.test_2_sample/
    # wilcox.test_2_sample_dat_1.csv; output in the package's validation report):
    # "Std Dev Under H0 8.164966", "Z -1.1635" (with continuity correction 0.5),
    # "Kruskal-Wallis Test Chi-Square 1.5000" (= z^2 without correction).
    trt = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    ctrl = [1.15, 0.88, 0.9, 0.74, 1.21]
    result = st.mann_whitney(trt, ctrl)
    assert result["U"] == 15.0
    assert round(result["z"] ** 2, 4) == 1.5
    sd = (result["U"] - 25.0) / result["z"]
    assert round(sd, 6) == 8.164966
    assert round((result["U"] + 0.5 - 25.0) / sd, 4) == -1.1635


def test_hodges_lehmann_reproduces_sas_npar1way_example_at_98_percent():
    # SAS, Example "Hodges-Lehmann Estimation" (PROC NPAR1WAY HL ALPHA=.02 on React):
    # "Location Shift 0.3500", "Asymptotic (Moses) 0.0000 0.8200", interval midpoint
    # 0.4100, "Asymptotic Standard Error 0.1762". SAS takes the larger class (stimulant 1)
    # as reference, so its shift is stimulant 2 minus stimulant 1: our B - A.
    result = st.hodges_lehmann(REACT_1, REACT_2, confidence=0.98)
    assert "note" not in result
    assert round(result["estimate"], 4) == 0.35
    assert round(result["ci_low"], 4) == 0.0
    assert round(result["ci_high"], 4) == 0.82
    assert round((result["ci_low"] + result["ci_high"]) / 2, 4) == 0.41
    # SAS: ASE = (upper - lower) / (2 z_(alpha/2))
    assert round((result["ci_high"] - result["ci_low"]) / (2 * stats.norm.ppf(0.99)), 4) == 0.1762


def test_hodges_lehmann_reproduces_sas_9_4_run_at_95_percent():
    # The DescrTab2 SAS 9.4 output above: "Location Shift (Ctrl - Trt) -0.3050",
    # "95% Confidence Limits -0.7600 0.1700", "Interval Midpoint -0.2950",
    # "Asymptotic Standard Error 0.2372". Here m/2 - z sd = 8.997: SAS floors it to 8
    # (rounding to 9 would give an upper limit of 0.15).
    trt = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46]
    ctrl = [1.15, 0.88, 0.9, 0.74, 1.21]
    result = st.hodges_lehmann(trt, ctrl)
    assert round(result["estimate"], 4) == -0.305
    assert (round(result["ci_low"], 4), round(result["ci_high"], 4)) == (-0.76, 0.17)
    assert round((result["ci_low"] + result["ci_high"]) / 2, 4) == -0.295
    assert round((result["ci_high"] - result["ci_low"]) / (2 * stats.norm.ppf(0.975)), 4) == 0.2372


def test_friedman_reproduces_r_friedman_test_rounding_times():
    result = st.friedman(ROUNDING_TIMES)
    assert (result["n"], result["k"], result["df"]) == (22, 3, 2)
    assert round(result["statistic"], 3) == 11.143
    assert round(result["p"], 6) == 0.003805
    # mean ranks by hand: rank sums 53, 47, 32 over 22 players
    assert result["mean_ranks"] == pytest.approx([53 / 22, 47 / 22, 32 / 22])


def test_trial_paper_chi_square_p_values_reproduced_from_its_own_tables():
    # Bessar et al. (trial paper, /work/shared/reference/trial-paper.txt): counts and
    # p-values printed in Tables 1, 2, 5 and 6 ("chi-square test").
    cases = [
        ({"Male": 46, "Female": 54}, {"Male": 44, "Female": 56}, 0.776),              # T1
        ({"No": 94, "Bilateral": 6}, {"No": 95, "Bilateral": 5}, 0.756),              # T1 L3
        ({"No": 21, "Uni": 43, "Bi": 36}, {"No": 20, "Uni": 38, "Bi": 42}, 0.672),    # T1 L4
        ({"No": 10, "Uni": 47, "Bi": 43}, {"No": 12, "Uni": 42, "Bi": 46}, 0.754),    # T1 L5
        ({"1-2": 73, "3-4": 21, "5-6": 6}, {"1-2": 70, "3-4": 25, "5-6": 5}, 0.778),  # T2
        ({"No": 22, "R": 21, "L": 15, "Bi": 42}, {"No": 25, "R": 19, "L": 12, "Bi": 44}, 0.880),
        ({"No": 99, "Abscess": 1, "Discitis": 0, "Hematoma": 0},
         {"No": 96, "Abscess": 1, "Discitis": 1, "Hematoma": 2}, 0.385),              # T5
        ({"Neg": 95, "Pos": 5}, {"Neg": 95, "Pos": 5}, 1.000),                        # T5
        ({"0 mg": 96, "10 mg": 4}, {"0 mg": 98, "10 mg": 2}, 0.407),                  # T5
        ({"0 mg": 100, "20 mg": 0}, {"0 mg": 99, "20 mg": 1}, 0.316),                 # T5
        ({"VU": 1, "U": 5, "S": 49, "VS": 45}, {"VU": 1, "U": 6, "S": 58, "VS": 35}, 0.552),
    ]
    for counts_a, counts_b, published in cases:
        assert round(st.chi_square(counts_a, counts_b)["p"], 3) == published, counts_a


def test_trial_paper_complications_keep_every_level_somebody_chose_and_flag_small_counts():
    result = st.chi_square({"No": 99, "Abscess": 1, "Discitis": 0, "Hematoma": 0},
                           {"No": 96, "Abscess": 1, "Discitis": 1, "Hematoma": 2})
    assert result["levels"] == ["No", "Abscess", "Discitis", "Hematoma"]
    assert result["df"] == 3 and round(result["statistic"], 3) == 3.046
    assert result["expected_under_5"] == 0.75       # 6 of 8 cells
    assert result["read"] == "p_exact"
    assert result["p_exact"] == pytest.approx(float(brute_force_ffh(
        [[99, 1, 0, 0], [96, 1, 1, 2]])), rel=1e-9)
    assert "6 of 8 cells (75.0%)" in result["note"] and "0.50" in result["note"]


# --- 2. Cross-checks on random tied data against scipy and scikit-posthocs -------------

@pytest.mark.parametrize("seed", range(8))
def test_mann_whitney_matches_scipy_asymptotic_without_continuity(seed):
    rng = np.random.default_rng(seed)
    a, b = tied_data(rng, rng.integers(3, 60)), tied_data(rng, rng.integers(3, 60))
    if np.ptp(np.concatenate([a, b])) == 0:
        pytest.skip("all tied")
    ours = st.mann_whitney(a.tolist(), b.tolist())
    ref = stats.mannwhitneyu(a, b, use_continuity=False, method="asymptotic")
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-12)
    assert ours["U"] == min(ref.statistic, len(a) * len(b) - ref.statistic)
    json_safe(ours)


@pytest.mark.parametrize("seed", range(8))
def test_student_t_matches_scipy_ttest_ind_pooled(seed):
    rng = np.random.default_rng(100 + seed)
    a, b = tied_data(rng, rng.integers(2, 50)), tied_data(rng, rng.integers(2, 50)) + 0.5
    ours = st.student_t(a.tolist(), b.tolist())
    ref = stats.ttest_ind(a, b)
    assert ours["t"] == pytest.approx(ref.statistic, rel=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours["df"] == len(a) + len(b) - 2


@pytest.mark.parametrize("seed", range(8))
def test_friedman_matches_scipy_and_pairwise_matches_scikit_posthocs(seed):
    rng = np.random.default_rng(200 + seed)
    n, k = int(rng.integers(5, 80)), int(rng.integers(3, 7))
    rows = rng.integers(0, 5, size=(n, k)).astype(float)
    ours = st.friedman(rows.tolist())
    ref = stats.friedmanchisquare(*rows.T)
    assert ours["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    # scikit-posthocs takes the block design as a matrix: rows are subjects (blocks),
    # columns are timepoints (groups). Its z is |mean rank_i - mean rank_j| /
    # sqrt(k(k+1)/(6n)), the same as SPSS's; it returns p only (Bonferroni via
    # statsmodels' multipletests, capped at 1).
    labels = [f"t{j}" for j in range(k)]
    pairs = st.friedman_pairwise(ours["mean_ranks"], ours["n"], labels)
    ref_p = scikit_posthocs.posthoc_siegel_friedman(rows, p_adjust="bonferroni")
    assert len(pairs) == k * (k - 1) // 2
    for pair in pairs:
        i, j = labels.index(pair["a"]), labels.index(pair["b"])
        assert i < j
        assert pair["p_adjusted"] == pytest.approx(ref_p.iloc[i, j], rel=1e-10)
    json_safe(pairs)


def test_friedman_pairwise_rounding_times_signed_z_and_bonferroni():
    f = st.friedman(ROUNDING_TIMES)
    pairs = st.friedman_pairwise(f["mean_ranks"], f["n"], ["Round Out", "Narrow", "Wide"])
    se = math.sqrt(3 * 4 / (6 * 22))
    assert [(p["a"], p["b"]) for p in pairs] == [("Round Out", "Narrow"), ("Round Out", "Wide"),
                                                  ("Narrow", "Wide")]
    assert pairs[1]["z"] == pytest.approx((53 - 32) / 22 / se)
    assert pairs[1]["p"] == pytest.approx(2 * stats.norm.sf((53 - 32) / 22 / se))
    assert pairs[1]["p_adjusted"] == pytest.approx(3 * pairs[1]["p"])
    assert pairs[0]["p_adjusted"] == 1.0            # 3 x 0.366, capped at 1
    reversed_ = st.friedman_pairwise(f["mean_ranks"][::-1], f["n"], ["Wide", "Narrow", "Out"])
    assert reversed_[0]["z"] == pytest.approx(-pairs[2]["z"])  # sign follows label order


@pytest.mark.parametrize("seed", range(8))
def test_chi_square_matches_scipy_chi2_contingency_without_yates(seed):
    rng = np.random.default_rng(300 + seed)
    c = int(rng.integers(2, 7))
    a = rng.integers(0, 30, size=c)
    b = rng.integers(0, 30, size=c)
    levels = [f"L{j}" for j in range(c)]
    ours = st.chi_square(dict(zip(levels, a.tolist())), dict(zip(levels, b.tolist())))
    table = np.array([a, b])
    table = table[:, table.sum(axis=0) > 0]
    ref = stats.contingency.chi2_contingency(table, correction=False)
    assert ours["statistic"] == pytest.approx(ref.statistic, rel=1e-12)
    assert ours["p"] == pytest.approx(ref.pvalue, rel=1e-10)
    assert ours["df"] == ref.dof
    assert ours["expected_under_5"] == pytest.approx(np.mean(ref.expected_freq < 5))
    json_safe(ours)


def test_rank_biserial_is_kerby_simple_difference_counted_pair_by_pair():
    rng = np.random.default_rng(7)
    a, b = tied_data(rng, 23), tied_data(rng, 31)
    favour_b = sum((y > x) + 0.5 * (y == x) for x in a for y in b)
    favour_a = sum((x > y) + 0.5 * (y == x) for x in a for y in b)
    assert st.rank_biserial(a.tolist(), b.tolist()) == pytest.approx(
        (favour_b - favour_a) / (len(a) * len(b)))
    assert st.rank_biserial([1, 2, 3], [4, 5]) == 1.0        # B always larger: +1
    assert st.rank_biserial([4, 5], [1, 2, 3]) == -1.0
    assert st.rank_biserial(REACT_1, REACT_2) == pytest.approx((58.5 - 19.5) / 78)


def test_hodges_lehmann_estimate_is_median_of_all_pairwise_b_minus_a():
    rng = np.random.default_rng(11)
    a, b = tied_data(rng, 17), tied_data(rng, 12) + 1
    expected = np.median([y - x for x in a for y in b])
    assert st.hodges_lehmann(a.tolist(), b.tolist())["estimate"] == expected


def test_normality_is_dallal_wilkinson_below_point_one_and_spss_lower_bound_above_point_two():
    # Dallal & Wilkinson (1986), The American Statistician 40(4) p. 296, formula for
    # p <= 0.1, with D scaled by (n/100)^0.49 and n set to 100 when n > 100.
    def dallal_wilkinson(d, n):
        if n > 100:
            d, n = d * (n / 100) ** 0.49, 100
        return math.exp(-7.01256 * d * d * (n + 2.78019) + 2.99587 * d * math.sqrt(n + 2.78019)
                        - 0.122119 + 0.974598 / math.sqrt(n) + 1.67997 / n)

    rng = np.random.default_rng(5)
    for n in (30, 60, 100, 250):
        x = rng.lognormal(sigma=1.2, size=n)         # clearly not normal
        detail = st.lilliefors_test(x.tolist())
        # D is the KS distance to the normal with the sample's mean and sd (ddof 1)
        ref_d = stats.kstest(x, "norm", args=(x.mean(), x.std(ddof=1))).statistic
        assert detail["statistic"] == pytest.approx(ref_d, rel=1e-12)
        assert detail["p"] < 0.1
        assert detail["p"] == pytest.approx(dallal_wilkinson(ref_d, n), rel=1e-12)
        assert st.normality(x.tolist()) == detail["p"]
    normal = stats.norm.ppf((np.arange(1, 41) - 0.5) / 40)   # textbook-normal sample
    detail = st.lilliefors_test(normal.tolist())
    assert detail["p"] == 0.2 and detail["p_is_lower_bound"] is True    # SPSS ".200*"


def test_choose_test_needs_both_arms_normal():
    assert st.choose_test(0.2, 0.2) == "t-test"
    assert st.choose_test(0.051, 0.2) == "t-test"
    assert st.choose_test(0.05, 0.2) == "mann-whitney"        # p < .05 is "significant";
    assert st.choose_test(0.2, 0.01) == "mann-whitney"        # p = .05 is not > .05
    assert st.choose_test(None, 0.2) == "mann-whitney"
    assert st.choose_test(None, None) == "mann-whitney"


def test_compare_arms_carries_effect_sizes_with_the_chosen_p():
    result = compare_arms(REACT_1, REACT_2)
    assert result["test"] == "mann-whitney"                   # arm 1 fails normality
    assert result["p"] == result["mann_whitney"]["p"]
    assert result["hodges_lehmann"]["estimate"] == pytest.approx(0.35)
    assert result["rank_biserial"] == pytest.approx(0.5)
    json_safe(result)


# --- 3. Each definition differs from the naive default ---------------------------------

def test_quartiles_are_spss_haverage_not_numpys_default_linear():
    # 1..10: HAVERAGE puts Q1 at (n+1)/4 = 2.75 and Q3 at 8.25; numpy's default
    # ("linear", 1 + (n-1)p) gives 3.25 and 7.75.
    values = list(range(1, 11))
    d = st.describe(values)
    assert (d["q1"], d["median"], d["q3"]) == (2.75, 5.5, 8.25)
    assert list(np.percentile(values, [25, 75])) == [3.25, 7.75]

    def haverage(xs, p):            # IBM SPSS Algorithms, EXAMINE, HAVERAGE, written out
        xs = sorted(xs)
        w = (len(xs) + 1) * p
        j = math.floor(w)
        g = w - j
        if j < 1:
            return xs[0]
        if j >= len(xs):
            return xs[-1]
        return (1 - g) * xs[j - 1] + g * xs[j]

    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 5, 7, 10, 33, 100):
        xs = tied_data(rng, n, levels=11).tolist()
        d = st.describe(xs)
        assert d["q1"] == pytest.approx(haverage(xs, 0.25))
        assert d["median"] == pytest.approx(haverage(xs, 0.5))
        assert d["q3"] == pytest.approx(haverage(xs, 0.75))


def test_mann_whitney_has_no_continuity_correction_unlike_scipys_default():
    # React: SAS prints two-sided 0.0764 without correction (CORRECT=NO) and, in the SAS
    # v8 edition of the same example with the default correction, "Z 1.7265,
    # Two-Sided Pr > |Z| 0.0843" -- which is what scipy's default gives.
    ours = st.mann_whitney(REACT_1, REACT_2)
    scipy_default = stats.mannwhitneyu(REACT_1, REACT_2)
    assert round(ours["p"], 4) == 0.0764
    assert round(scipy_default.pvalue, 4) == 0.0843


def test_chi_square_has_no_yates_correction_unlike_scipys_default_on_2x2():
    # Table 1, gender: published p = 0.776 (SPSS "Pearson Chi-Square"); scipy's
    # chi2_contingency applies Yates' correction to 2 x 2 tables by default.
    ours = st.chi_square({"Male": 46, "Female": 54}, {"Male": 44, "Female": 56})
    yates = stats.chi2_contingency([[46, 54], [44, 56]])
    assert round(ours["p"], 3) == 0.776
    assert round(yates.pvalue, 3) == 0.887
    assert ours["read"] == "p" and ours["p_exact"] is None


def test_friedman_is_tie_corrected_unlike_nags_printed_statistic():
    # NAG g08aec prints 8.583 (p 0.014) for its example: the uncorrected statistic.
    ours = st.friedman(NAG_FRIEDMAN)
    ranks = np.array(NAG_FRIEDMAN)                       # the data are already ranks
    n, k = ranks.shape
    uncorrected = 12 / (n * k * (k + 1)) * np.sum(ranks.sum(axis=0) ** 2) - 3 * n * (k + 1)
    assert round(uncorrected, 3) == 8.583
    assert round(stats.chi2.sf(uncorrected, 2), 3) == 0.014
    # one tied pair in one block: 1 - (2^3 - 2) / (18 * 3 * 8) = 1 - 6/432
    assert ours["statistic"] == pytest.approx(uncorrected / (1 - 6 / 432))
    assert round(ours["statistic"], 3) == 8.704


# --- 4. Bad inputs: None and a plain-words note, never an exception, never nan ---------

BAD_PAIRS = {
    "both empty": ([], []),
    "A empty": ([], [1.0, 2.0, 3.0]),
    "B empty": ([1.0, 2.0, 3.0], []),
    "all tied": ([4.0, 4.0, 4.0], [4.0, 4.0]),
    "one each": ([1.0], [2.0]),
    "two each": ([1.0, 2.0], [2.0, 3.0]),
    "one vs three": ([5.0], [1.0, 2.0, 3.0]),
    "tied within arms": ([1.0, 1.0], [2.0, 2.0]),
}


@pytest.mark.parametrize("name", BAD_PAIRS)
def test_between_arm_functions_survive_bad_input(name):
    a, b = BAD_PAIRS[name]
    results = {
        "describe_a": st.describe(a), "describe_b": st.describe(b),
        "mann_whitney": st.mann_whitney(a, b), "student_t": st.student_t(a, b),
        "normality_a": st.normality(a), "normality_b": st.normality(b),
        "hodges_lehmann": st.hodges_lehmann(a, b), "rank_biserial": st.rank_biserial(a, b),
        "compare_arms": compare_arms(a, b),
    }
    json_safe(results)
    for key in ("mann_whitney", "student_t", "hodges_lehmann"):
        result = results[key]
        if any(v is None for v in result.values()):
            assert isinstance(result.get("note"), str) and result["note"], (key, result)


def test_bad_input_notes_say_why():
    assert st.describe([]) == {"n": 0, "median": None, "q1": None, "q3": None, "mean": None,
                               "sd": None}
    assert st.describe([3])["sd"] is None and st.describe([3])["median"] == 3.0
    assert st.mann_whitney([], [1]) == {"U": None, "z": None, "p": None,
                                        "note": "not computed: group A has no values"}
    tied = st.mann_whitney([4, 4, 4], [4, 4])
    assert tied["U"] == 3.0 and tied["z"] is None and tied["p"] is None
    assert tied["note"] == "not computed: every value is tied, so the ranks carry no information"
    assert st.student_t([1], [2, 3])["note"] == "not computed: group A has fewer than 2 values"
    assert st.student_t([4, 4], [4, 4, 4])["t"] is None
    assert "zero variance" in st.student_t([4, 4], [4, 4, 4])["note"]
    assert st.student_t([1, 1], [2, 2])["t"] is None           # zero variance in both arms
    assert st.normality([1, 2, 3, 4]) is None                   # n < 5
    assert st.normality([2, 2, 2, 2, 2, 2]) is None             # all tied
    assert st.lilliefors_test([1, 2, 3])["note"] == "not computed: fewer than 5 values"
    hl = st.hodges_lehmann([4, 4], [4, 4, 4])
    assert hl["estimate"] == 0.0 and hl["ci_low"] is None
    assert hl["note"] == "confidence interval not computed: every value is tied"
    hl = st.hodges_lehmann([1], [2])
    assert hl["estimate"] == 1.0 and hl["ci_low"] is None and "too few values" in hl["note"]
    assert st.rank_biserial([], [1]) is None
    assert st.rank_biserial([4, 4], [4]) == 0.0


@pytest.mark.parametrize("rows, reason", [
    ([], "no complete cases"),
    ([[1.0, 2.0, 3.0]], "fewer than 2 complete cases"),
    ([[1.0], [2.0], [3.0]], "fewer than 2 timepoints"),
    ([[5.0, 5.0, 5.0], [2.0, 2.0, 2.0]], "same value at every timepoint"),
])
def test_friedman_survives_bad_input(rows, reason):
    result = st.friedman(rows)
    json_safe(result)
    assert result["statistic"] is None and result["p"] is None and reason in result["note"]
    pairs = st.friedman_pairwise(result["mean_ranks"], result["n"],
                                 [f"t{j}" for j in range(len(result["mean_ranks"]))])
    json_safe(pairs)
    for pair in pairs:
        assert pair["z"] is None or (pair["z"] == 0.0 and pair["p_adjusted"] == 1.0)


def test_friedman_pairwise_with_fewer_than_two_cases_has_notes():
    pairs = st.friedman_pairwise([1.0, 2.0, 3.0], 1, ["a", "b", "c"])
    assert len(pairs) == 3
    assert all(p["z"] is None and p["note"] == "not computed: fewer than 2 complete cases"
               for p in pairs)
    assert st.friedman_pairwise([], 0, []) == []


@pytest.mark.parametrize("counts_a, counts_b, reason", [
    ({}, {}, "group A has no answers"),
    ({"Yes": 0, "No": 0}, {"Yes": 3, "No": 4}, "group A has no answers"),
    ({"Yes": 3, "No": 4}, {}, "group B has no answers"),
    ({"Yes": 3, "No": 0}, {"Yes": 5}, "fewer than 2 answer levels"),
])
def test_chi_square_survives_bad_input(counts_a, counts_b, reason):
    result = st.chi_square(counts_a, counts_b)
    json_safe(result)
    assert result["statistic"] is None and result["p"] is None and result["read"] is None
    assert reason in result["note"]


def test_chi_square_drops_levels_nobody_chose():
    result = st.chi_square({"VU": 0, "U": 6, "S": 63, "VS": 27}, {"VU": 0, "U": 6, "S": 65,
                                                                  "VS": 25, "N/A": 0})
    assert result["levels"] == ["U", "S", "VS"] and result["df"] == 2


@pytest.mark.parametrize("call", [
    lambda: st.describe([1, None, 3]),
    lambda: st.describe([1, float("nan")]),
    lambda: st.describe([1, float("inf")]),
    lambda: st.describe("123"),
    lambda: st.describe([True, False]),
    lambda: st.mann_whitney([1, "2"], [3]),
    lambda: st.mann_whitney(None, [3]),
    lambda: st.hodges_lehmann([1, 2], [3, 4], confidence=95),
    lambda: st.hodges_lehmann([1, 2], [3, 4], confidence=0),
    lambda: st.friedman([[1, 2, 3], [1, 2]]),
    lambda: st.friedman([[1, None, 3]]),
    lambda: st.friedman_pairwise([1.0, 2.0], 5, ["only one label"]),
    lambda: st.friedman_pairwise([1.0, 2.0], -1, ["a", "b"]),
    lambda: st.choose_test(1.5, 0.2),
    lambda: st.choose_test("0.2", 0.2),
    lambda: st.chi_square({"Yes": -1}, {"Yes": 2}),
    lambda: st.chi_square({"Yes": 1.5}, {"Yes": 2}),
    lambda: st.chi_square([1, 2], {"Yes": 2}),
    lambda: st.fisher_freeman_halton([[1, 2], [3, 4], [5, 6]]),
    lambda: st.fisher_freeman_halton([[1, 2], [3]]),
    lambda: st.fisher_freeman_halton([[1, -2], [3, 4]]),
])
def test_wrong_types_raise_value_error_naming_what_is_allowed(call):
    with pytest.raises(ValueError) as excinfo:
        call()
    message = str(excinfo.value)
    assert any(word in message for word in ("must", "only")), message


# --- 5. Fisher-Freeman-Halton ---------------------------------------------------------

@pytest.mark.parametrize("table", [
    [[3, 1], [1, 3]], [[10, 2], [3, 15]], [[0, 5], [5, 0]], [[1, 9], [11, 3]],
    [[96, 4], [98, 2]], [[100, 0], [99, 1]], [[7, 3], [2, 9]], [[12, 5], [5, 12]],
])
def test_ffh_on_2x2_equals_scipy_fisher_exact_two_sided(table):
    assert st.fisher_freeman_halton(table) == pytest.approx(
        stats.fisher_exact(table, alternative="two-sided").pvalue, rel=1e-9)


@pytest.mark.parametrize("table", [
    [[1, 2, 3], [4, 0, 2]], [[2, 0, 1, 5], [0, 3, 2, 1]], [[0, 6, 13, 7], [1, 6, 5, 5]],
    [[5, 5, 5], [5, 5, 5]], [[4, 0, 3, 1, 2, 0], [0, 5, 1, 2, 0, 3]], [[1, 1, 1, 1], [1, 1, 1, 1]],
    [[0, 2, 9, 4], [3, 1, 2, 6]],
])
def test_ffh_on_2xc_equals_brute_force_enumeration_with_exact_fractions(table):
    assert st.fisher_freeman_halton(table) == pytest.approx(float(brute_force_ffh(table)),
                                                            rel=1e-9)


@pytest.mark.parametrize("table", [[[2, 0, 1], [0, 2, 2]], [[1, 0, 2, 0], [0, 2, 0, 2]]])
def test_ffh_on_2xc_equals_scipys_exact_permutation_test(table):
    # An independent route: scipy enumerates every permutation of the 7 people over the
    # arms (PermutationMethod with n_resamples=inf) and counts those whose table is no more
    # likely than the observed one (random_table.pmf). Exact, but factorial in n.
    ref = stats.fisher_exact(table, method=stats.PermutationMethod(n_resamples=np.inf))
    assert st.fisher_freeman_halton(table) == pytest.approx(ref.pvalue, rel=1e-9)


def test_ffh_observed_table_that_is_the_most_likely_one_has_p_one():
    # Margins 3,3 / 1,2,3: P(x) = C(1,x1) C(2,x2) C(3,x3) / C(6,3); the observed
    # [[0,1,2],[1,1,1]] has 1*2*3/20 = 6/20, the largest of all tables, so p = 1.
    assert brute_force_ffh([[0, 1, 2], [1, 1, 1]]) == 1
    assert st.fisher_freeman_halton([[0, 1, 2], [1, 1, 1]]) == pytest.approx(1.0)


def test_ffh_is_fast_for_six_columns_and_a_few_hundred_people():
    tables = [
        [[0, 6, 63, 27, 4, 0], [1, 6, 65, 25, 3, 0]],            # satisfaction-like
        [[3, 5, 8, 10, 40, 84], [6, 4, 9, 12, 38, 81]],          # n = 300
        [[20, 25, 30, 35, 40, 50], [25, 30, 20, 40, 35, 50]],     # n = 400, wide columns
    ]
    start = time.perf_counter()
    results = [st.fisher_freeman_halton(t) for t in tables]
    assert time.perf_counter() - start < 5.0
    assert all(r is not None and 0.0 < r <= 1.0 for r in results)


def test_ffh_returns_none_past_the_enumeration_limit_and_chi_square_says_so():
    big = [[1, 200, 200, 200, 200, 200], [0, 200, 200, 200, 200, 200]]
    assert st.fisher_freeman_halton(big) is None
    levels = ["rare", "a", "b", "c", "d", "e"]
    result = st.chi_square(dict(zip(levels, big[0])), dict(zip(levels, big[1])))
    assert result["p_exact"] is None and result["read"] == "p"    # expected 0.5 < 1
    assert "not computed" in result["note"] and f"{st.FISHER_MAX_TABLES:,}" in result["note"]
    json_safe(result)


def test_ffh_undefined_tables_return_none():
    assert st.fisher_freeman_halton([[0, 0], [3, 4]]) is None     # an empty arm
    assert st.fisher_freeman_halton([[3, 0], [4, 0]]) is None     # one level chosen
    assert st.fisher_freeman_halton([[0, 0], [0, 0]]) is None


def test_chi_square_reads_exact_p_when_expected_counts_are_small():
    result = st.chi_square({"No": 96, "10 mg": 4}, {"No": 98, "10 mg": 2})
    assert result["expected_under_5"] == 0.5 and result["read"] == "p_exact"
    assert result["p_exact"] == pytest.approx(stats.fisher_exact([[96, 4], [98, 2]]).pvalue)
    assert round(result["p"], 3) == 0.407                         # Table 5, as published


def test_hodges_lehmann_by_distinct_values_equals_sorting_every_difference():
    import numpy as np
    rng = np.random.default_rng(5)
    for a, b in ((rng.integers(0, 101, 301) / 10, rng.integers(0, 101, 250) / 10),
                 (rng.normal(5, 2, 40), rng.normal(6, 2, 33)),            # all distinct
                 (rng.integers(0, 4, 60).astype(float), rng.integers(1, 5, 61).astype(float))):
        diffs = np.sort(np.subtract.outer(b, a).ravel())
        m = diffs.size
        got = st.hodges_lehmann(list(a), list(b))
        assert got["estimate"] == float(np.median(diffs))
        _, _, var = st._u_statistics(np.asarray(a, float), np.asarray(b, float))
        import math
        from scipy import stats as sps
        c = math.floor(m / 2 - sps.norm.ppf(0.975) * math.sqrt(var))
        assert (got["ci_low"], got["ci_high"]) == (float(diffs[c - 1]), float(diffs[m - c]))
