"""Statistics for the trial report, computed the way SPSS prints them.

The trial paper (Bessar et al., fluoroscopy- vs CT-guided injections) was analysed in
IBM SPSS Statistics 20: median (IQR), Kolmogorov-Smirnov normality with the Lilliefors
correction, Student t-test or Mann-Whitney U between arms, Friedman with Dunn-Bonferroni
pairwise comparisons within an arm, and Pearson chi-square for categorical variables.
Each function here reproduces one of those numbers and documents its formula in
"Notes", with the sources it follows in "References".

This module is pure: it imports numpy, scipy, statsmodels and the standard library only,
never a web, database, SMS or scheduler library and never another project module.

Conventions shared by every function
------------------------------------
* Arm A is group 1 (fluoroscopy-guided), arm B is group 2 (CT-guided). Effect sizes are
  oriented B - A: a positive Hodges-Lehmann shift or rank-biserial correlation means the
  CT arm tends to score higher. Test statistics follow SPSS instead: Mann-Whitney's z is
  computed from the smaller U (so it is never positive) and Student's t is A - B.
* Inputs are validated first: values must be finite real numbers (``int`` or ``float``,
  not ``bool``, ``None``, ``nan`` or strings) and a wrong type or shape raises
  ``ValueError`` naming what is allowed. Data that are merely too few or all tied never
  raise: the statistic is ``None`` and a ``"note"`` says in plain words why.
* Every number returned is a plain Python ``float`` or ``int`` (never a numpy scalar),
  and never ``nan`` or ``inf``, so every result passes
  ``json.dumps(result, allow_nan=False)``.

References
----------
.. [1] IBM SPSS Statistics Algorithms (EXAMINE: percentiles, HAVERAGE; NPAR TESTS:
       Mann-Whitney, Friedman; CROSSTABS: chi-square; nonparametric tests: pairwise
       comparisons after Friedman). IBM Corp.
.. [2] Hyndman, R. J. and Fan, Y. (1996). Sample quantiles in statistical packages.
       The American Statistician 50(4), 361-365 (definition 6 = SPSS HAVERAGE).
.. [3] Lilliefors, H. W. (1967). On the Kolmogorov-Smirnov test for normality with mean
       and variance unknown. JASA 62, 399-402.
.. [4] Dallal, G. E. and Wilkinson, L. (1986). An analytic approximation to the
       distribution of Lilliefors's test statistic for normality. The American
       Statistician 40(4), 294-296.
.. [5] Hollander, M. and Wolfe, D. A. (1999). Nonparametric Statistical Methods, 2nd ed.
       Wiley (Mann-Whitney with ties; Hodges-Lehmann shift and Moses interval).
.. [6] SAS Institute. SAS/STAT User's Guide, The NPAR1WAY Procedure, "Hodges-Lehmann
       Estimation of Location Shift" and Example "Hodges-Lehmann Estimation".
.. [7] Kerby, D. S. (2014). The simple difference formula: an approach to teaching
       nonparametric correlation. Comprehensive Psychology 3, 11.IT.3.1.
.. [8] Siegel, S. and Castellan, N. J. (1988). Nonparametric Statistics for the
       Behavioral Sciences, 2nd ed. McGraw-Hill (Friedman with ties; multiple
       comparisons after Friedman).
.. [9] Freeman, G. H. and Halton, J. H. (1951). Note on an exact treatment of contingency,
       goodness of fit and other problems of significance. Biometrika 38, 141-149.
.. [10] Cochran, W. G. (1954). Some methods for strengthening the common chi-square
        tests. Biometrics 10, 417-451.
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special, stats
from statsmodels.stats.diagnostic import lilliefors

__all__ = [
    "describe", "mann_whitney", "student_t", "normality", "lilliefors_test", "choose_test",
    "hodges_lehmann", "rank_biserial", "friedman", "friedman_pairwise", "chi_square",
    "fisher_freeman_halton",
    "PERCENTILE_METHOD", "NORMALITY_ALPHA", "LILLIEFORS_MIN_N", "LILLIEFORS_P_LOWER_BOUND",
    "SMALL_EXPECTED_COUNT", "SMALL_EXPECTED_MAX_FRACTION", "MIN_EXPECTED_COUNT",
    "FISHER_RELATIVE_TOLERANCE", "FISHER_MAX_TABLES",
]

# --- Named constants, each with its source ------------------------------------------------

#: numpy's name for SPSS's default percentile definition HAVERAGE: the weighted average at
#: position (n + 1)p, clamped to the smallest and largest value ([1] EXAMINE; [2] def. 6).
PERCENTILE_METHOD = "weibull"

#: A normality test "passes" when its p is above this. The paper: "Normality of continuous
#: variables was assessed using the Kolmogorov-Smirnov test, with p < 0.05 considered
#: significant."
NORMALITY_ALPHA = 0.05

#: Smallest sample the Lilliefors p is given for: R's nortest::lillie.test and
#: DescTools::LillieTest, which use the same Dallal-Wilkinson formula [4], refuse n < 5
#: ("sample size must be greater than 4"); statsmodels itself needs n >= 4.
LILLIEFORS_MIN_N = 5

#: SPSS never prints a Lilliefors significance above .200: larger values are printed as
#: ".200*" with the footnote "This is a lower bound of the true significance." [1], [4].
LILLIEFORS_P_LOWER_BOUND = 0.2

#: Cochran's rule [10], which SPSS CROSSTABS reports under every chi-square table
#: ("n cells (x%) have expected count less than 5. The minimum expected count is m."):
#: the asymptotic p is doubtful when more than 20% of expected counts are below 5, or
#: any expected count is below 1.
SMALL_EXPECTED_COUNT = 5.0
SMALL_EXPECTED_MAX_FRACTION = 0.20
MIN_EXPECTED_COUNT = 1.0

#: Tables whose probability is within this relative tolerance of the observed table's
#: count as "at least as extreme", so tables of mathematically equal probability are not
#: lost to rounding. R's fisher.test uses the same: ``relErr <- 1 + 10^(-7)``.
FISHER_RELATIVE_TOLERANCE = 1e-7

#: The exact 2 x c test returns None rather than enumerate more partial tables than this
#: for either half of the columns (see :func:`fisher_freeman_halton`). At the cap the
#: test takes about 0.3 s and 130 MB; it admits, for example, six columns of up to 99
#: people each.
FISHER_MAX_TABLES = 1_000_000

_TEST_T = "t-test"
_TEST_MW = "mann-whitney"


# --- Small helpers -----------------------------------------------------------------------

def _values(values: Any, name: str) -> np.ndarray:
    """Validate a one-dimensional sequence of finite real numbers; return float64 array."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, (Sequence, np.ndarray)):
        raise ValueError(f"{name} must be a list of finite numbers (int or float); "
                         f"got {type(values).__name__}")
    if isinstance(values, np.ndarray) and values.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional: a list of finite numbers")
    out = np.empty(len(values), dtype=float)
    for i, v in enumerate(values):
        if isinstance(v, (bool, np.bool_)) or not isinstance(v, numbers.Real):
            raise ValueError(f"{name} must contain only finite numbers (int or float); "
                             f"item {i} is {v!r}: drop missing answers before calling")
        f = float(v)
        if not math.isfinite(f):
            raise ValueError(f"{name} must contain only finite numbers (int or float); "
                             f"item {i} is {v!r}: drop missing answers before calling")
        out[i] = f
    return out


def _float(x: Any) -> float | None:
    """A plain Python float, or None for anything undefined (nan, inf, None)."""
    if x is None:
        return None
    f = float(x)
    return f if math.isfinite(f) else None


def _tie_term(values: np.ndarray) -> float:
    """Sum over groups of tied values of (t^3 - t), t the size of the group."""
    _, t = np.unique(values, return_counts=True)
    t = t.astype(float)
    return float(np.sum(t ** 3 - t))


def _u_statistics(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """U for A, U for B (U_A + U_B = n_A n_B) and the tie-corrected variance of U."""
    na, nb = len(a), len(b)
    n = na + nb
    ranks = stats.rankdata(np.concatenate([a, b]))          # average ranks for ties
    u_a = float(np.sum(ranks[:na]) - na * (na + 1) / 2.0)
    u_b = na * nb - u_a
    var = na * nb / 12.0 * ((n + 1) - _tie_term(np.concatenate([a, b])) / (n * (n - 1)))
    return u_a, u_b, var


# --- Descriptives --------------------------------------------------------------------------

def describe(values: Sequence[float]) -> dict[str, Any]:
    """n, median, quartiles, mean and standard deviation, as SPSS EXAMINE prints them.

    Parameters
    ----------
    values : sequence of finite numbers
        One arm at one timepoint, missing answers already dropped.

    Returns
    -------
    dict
        ``{"n": int, "median", "q1", "q3", "mean", "sd"}``; each statistic a float or
        None when undefined (everything but n when n = 0; sd when n < 2).

    Notes
    -----
    Quartiles and median use SPSS's default percentile definition, HAVERAGE [1]: for the
    sorted values x(1) <= ... <= x(n) and proportion p, let w = (n + 1)p = j + g with
    integer j and fraction g; then

        Q(p) = x(1)                          if w < 1,
        Q(p) = x(n)                          if w >= n,
        Q(p) = (1 - g) x(j) + g x(j+1)       otherwise.

    This is Hyndman and Fan's definition 6 [2] and numpy's ``method="weibull"``
    (:data:`PERCENTILE_METHOD`). numpy's default ("linear", definition 7, Excel's
    PERCENTILE.INC) places p at 1 + (n - 1)p and gives different quartiles.
    The standard deviation is the sample one (divisor n - 1).

    References
    ----------
    [1] EXAMINE (percentiles, HAVERAGE); [2].
    """
    x = _values(values, "values")
    n = int(len(x))
    if n == 0:
        return {"n": 0, "median": None, "q1": None, "q3": None, "mean": None, "sd": None}
    q1, median, q3 = np.percentile(x, [25.0, 50.0, 75.0], method=PERCENTILE_METHOD)
    sd = _float(np.std(x, ddof=1)) if n >= 2 else None
    return {"n": n, "median": _float(median), "q1": _float(q1), "q3": _float(q3),
            "mean": _float(np.mean(x)), "sd": sd}


# --- Between arms at one timepoint -------------------------------------------------------

def mann_whitney(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Mann-Whitney U with SPSS's "Asymp. Sig. (2-tailed)".

    Parameters
    ----------
    a, b : sequences of finite numbers
        Arm A (group 1) and arm B (group 2).

    Returns
    -------
    dict
        ``{"U", "z", "p"}``, plus ``"note"`` when z and p cannot be computed (an empty
        arm: everything None; every value tied: U given, z and p None).

    Notes
    -----
    With average ranks over the pooled sample, R_A the rank sum of arm A and
    N = n_A + n_B [1], [5]:

        U_A = R_A - n_A (n_A + 1) / 2,    U_B = n_A n_B - U_A,    U = min(U_A, U_B)
        Var(U) = n_A n_B / 12 * [ (N + 1) - sum(t^3 - t) / (N (N - 1)) ]
        z = (U - n_A n_B / 2) / sqrt(Var(U))                 (no continuity correction)
        p = 2 * (1 - Phi(|z|))

    where t runs over the sizes of groups of tied values. Because U is the smaller of the
    two, z <= 0, as in SPSS's output. p is computed by
    ``scipy.stats.mannwhitneyu(a, b, use_continuity=False, method="asymptotic")``;
    scipy's default adds a continuity correction of 0.5 and, for small samples without
    ties, an exact p, neither of which SPSS's asymptotic significance uses.

    References
    ----------
    [1] NPAR TESTS, Mann-Whitney U test; [5] section 4.1.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if len(x) == 0 or len(y) == 0:
        empty = "A" if len(x) == 0 else "B"
        return {"U": None, "z": None, "p": None,
                "note": f"not computed: group {empty} has no values"}
    u_a, u_b, var = _u_statistics(x, y)
    u = min(u_a, u_b)
    if np.ptp(np.concatenate([x, y])) == 0 or var <= 0:
        return {"U": _float(u), "z": None, "p": None,
                "note": "not computed: every value is tied, so the ranks carry no information"}
    z = (u - len(x) * len(y) / 2.0) / math.sqrt(var)
    p = stats.mannwhitneyu(x, y, use_continuity=False, method="asymptotic").pvalue
    return {"U": _float(u), "z": _float(z), "p": _float(min(1.0, float(p)))}


def student_t(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """Student's two-sample t-test, equal variances assumed (SPSS's first row).

    Parameters
    ----------
    a, b : sequences of finite numbers
        Arm A (group 1) and arm B (group 2).

    Returns
    -------
    dict
        ``{"t", "df", "p"}``, plus ``"note"`` (and None values) when an arm has fewer than
        two values or both arms have zero variance.

    Notes
    -----
    With means m_A, m_B and sample variances s_A^2, s_B^2 (divisor n - 1):

        s_p^2 = [ (n_A - 1) s_A^2 + (n_B - 1) s_B^2 ] / (n_A + n_B - 2)
        t = (m_A - m_B) / sqrt( s_p^2 (1/n_A + 1/n_B) ),     df = n_A + n_B - 2
        p = 2 * (1 - F_t(|t|; df))

    The sign follows SPSS (group 1 minus group 2). Computed by
    ``scipy.stats.ttest_ind(a, b, equal_var=True)``. Welch's row and Levene's test,
    which SPSS prints alongside, are not part of the paper's definition.

    References
    ----------
    Student (1908). The probable error of a mean. Biometrika 6, 1-25. [1] T-TEST.
    """
    x, y = _values(a, "a"), _values(b, "b")
    na, nb = len(x), len(y)
    if na < 2 or nb < 2:
        small = "A" if na < 2 else "B"
        return {"t": None, "df": None, "p": None,
                "note": f"not computed: group {small} has fewer than 2 values"}
    df = na + nb - 2
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return {"t": None, "df": df, "p": None,
                "note": "not computed: both groups have zero variance (every value is tied)"}
    result = stats.ttest_ind(x, y, equal_var=True)
    return {"t": _float(result.statistic), "df": int(df), "p": _float(min(1.0, float(result.pvalue)))}


def lilliefors_test(values: Sequence[float]) -> dict[str, Any]:
    """Kolmogorov-Smirnov normality test with Lilliefors' correction, as SPSS EXAMINE.

    Parameters
    ----------
    values : sequence of finite numbers

    Returns
    -------
    dict
        ``{"statistic": D, "df": n, "p", "p_is_lower_bound": bool}``, plus ``"note"``
        (statistic and p None) when n < :data:`LILLIEFORS_MIN_N` or all values are equal.

    Notes
    -----
    D = max_i max( i/n - F(z_(i)), F(z_(i)) - (i-1)/n ),  z = (x - mean) / sd (sd with
    divisor n - 1), F the standard normal CDF [3].

    Choice of p-value method. SPSS computes the Lilliefors significance from Dallal and
    Wilkinson's analytic approximation [4] (for n > 100 with D scaled by (n/100)^0.49) and
    prints .200 as a lower bound when the significance is larger. statsmodels'
    ``lilliefors(x, dist="norm", pvalmethod="approx")`` is that same formula wherever it is
    valid (p <= 0.1); above 0.1 it falls back to its simulated table (10^7 samples). So:

    * p <= 0.1: Dallal-Wilkinson's formula, as SPSS.
    * 0.1 < p <= 0.2: statsmodels' table; may differ from SPSS's in the third decimal,
      which cannot change a decision at :data:`NORMALITY_ALPHA` = 0.05.
    * p > 0.2: returned as exactly 0.2 (:data:`LILLIEFORS_P_LOWER_BOUND`) with
      ``p_is_lower_bound`` True: SPSS's ".200*".

    ``pvalmethod="table"`` (statsmodels' default) is not used: it returns values such as
    0.96 that SPSS would never print, and differs from Dallal-Wilkinson below 0.1.

    References
    ----------
    [1] EXAMINE (Kolmogorov-Smirnov statistic with Lilliefors significance); [3]; [4].
    """
    x = _values(values, "values")
    n = int(len(x))
    if n < LILLIEFORS_MIN_N:
        return {"statistic": None, "df": n, "p": None, "p_is_lower_bound": False,
                "note": f"not computed: fewer than {LILLIEFORS_MIN_N} values"}
    if np.ptp(x) == 0:
        return {"statistic": None, "df": n, "p": None, "p_is_lower_bound": False,
                "note": "not computed: every value is tied (zero variance)"}
    d, p = lilliefors(x, dist="norm", pvalmethod="approx")
    p = float(p)
    lower_bound = p > LILLIEFORS_P_LOWER_BOUND
    if lower_bound:
        p = LILLIEFORS_P_LOWER_BOUND
    return {"statistic": _float(d), "df": n, "p": _float(p), "p_is_lower_bound": lower_bound}


def normality(values: Sequence[float]) -> float | None:
    """The Lilliefors-corrected Kolmogorov-Smirnov p of :func:`lilliefors_test`.

    Returns a float in (0, 0.2], where exactly 0.2 means "0.2 or more" (SPSS's ".200*"),
    or None when n < :data:`LILLIEFORS_MIN_N` (5) or every value is equal. See
    :func:`lilliefors_test` for the formula and the choice of p-value method.
    """
    return lilliefors_test(values)["p"]


def choose_test(normality_a: float | None, normality_b: float | None) -> str:
    """"t-test" when both arms pass normality (p > 0.05), else "mann-whitney".

    Notes
    -----
    The paper: "Student t-test for normally distributed continuous variables, and the
    Mann-Whitney U-test for non-normally distributed data", normality by
    Kolmogorov-Smirnov with p < 0.05 significant (:data:`NORMALITY_ALPHA`). A None
    normality (too few values, or all tied) counts as not normal.
    """
    for name, p in (("normality_a", normality_a), ("normality_b", normality_b)):
        if p is not None and (isinstance(p, (bool, np.bool_)) or not isinstance(p, numbers.Real)
                              or not 0.0 <= float(p) <= 1.0):
            raise ValueError(f"{name} must be a p-value between 0 and 1, or None; got {p!r}")
    if normality_a is None or normality_b is None:
        return _TEST_MW
    if float(normality_a) > NORMALITY_ALPHA and float(normality_b) > NORMALITY_ALPHA:
        return _TEST_T
    return _TEST_MW


def hodges_lehmann(a: Sequence[float], b: Sequence[float],
                   confidence: float = 0.95) -> dict[str, Any]:
    """Hodges-Lehmann shift B - A with the asymptotic (Moses) interval SAS NPAR1WAY prints.

    Parameters
    ----------
    a, b : sequences of finite numbers
        Arm A and arm B.
    confidence : float, optional
        Confidence level, strictly between 0 and 1 (default 0.95).

    Returns
    -------
    dict
        ``{"estimate", "ci_low", "ci_high"}``, plus ``"note"`` when something is None: an
        empty arm (all None), every value tied (estimate 0, no interval), or too few
        values for an interval at that level.

    Notes
    -----
    Let D(1) <= ... <= D(m) be the m = n_A n_B differences b_j - a_i, sorted. Then [6]

        estimate = median(D)
        C = floor( m/2 - z_(1 - alpha/2) * sigma )
        interval = [ D(C), D(m + 1 - C) ]

    where sigma is the standard deviation of the Wilcoxon rank-sum statistic under H0 with
    the tie correction (SAS's "Std Dev Under H0"; the same as the sd of U in
    :func:`mann_whitney`) and alpha = 1 - confidence. SAS's page cites Hollander and
    Wolfe [5] for this interval; the tie-corrected sigma and the floor (rather than
    rounding to the nearest integer) are what reproduce SAS's printed limits: 0.00 and
    0.82 for its React example at 98% (untied sigma would give 1.33), and -0.76 and 0.17
    for a SAS 9.4 run at 95% (nearest integer would give 0.15). When C < 1 the interval
    is unbounded at that level and is not given.

    Memory and time are O(d_A d_B) in the numbers of distinct values (see
    :func:`_difference_order_statistics`), at worst O(n_A n_B).

    References
    ----------
    [5] section 4.3; [6]; Hodges, J. L. and Lehmann, E. L. (1963). Estimates of location
    based on rank tests. Ann. Math. Statist. 34, 598-611; Moses, L. E. (1953) in Walker
    and Lev, Statistical Inference.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if isinstance(confidence, (bool, np.bool_)) or not isinstance(confidence, numbers.Real) \
            or not 0.0 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be a number strictly between 0 and 1; got {confidence!r}")
    if len(x) == 0 or len(y) == 0:
        empty = "A" if len(x) == 0 else "B"
        return {"estimate": None, "ci_low": None, "ci_high": None,
                "note": f"not computed: group {empty} has no values"}
    m = len(x) * len(y)
    middle = [(m + 1) // 2, m // 2 + 1]  # the median: one order statistic, or the mean of two
    estimate = _float(sum(_difference_order_statistics(x, y, middle)) / 2.0)
    _, _, var = _u_statistics(x, y)
    if np.ptp(np.concatenate([x, y])) == 0 or var <= 0:
        return {"estimate": estimate, "ci_low": None, "ci_high": None,
                "note": "confidence interval not computed: every value is tied"}
    z = float(stats.norm.ppf(1.0 - (1.0 - float(confidence)) / 2.0))
    c = math.floor(m / 2.0 - z * math.sqrt(var))
    if c < 1:
        return {"estimate": estimate, "ci_low": None, "ci_high": None,
                "note": (f"confidence interval not computed: too few values for a "
                         f"{float(confidence) * 100:g}% interval")}
    low, high = _difference_order_statistics(x, y, [c, m + 1 - c])
    return {"estimate": estimate, "ci_low": _float(low), "ci_high": _float(high)}


# Above this many (distinct B value, distinct A value) pairs the differences are enumerated one
# by one; below it, once per pair of distinct values with its multiplicity.
MAX_DISTINCT_DIFFERENCES = 4_000_000


def _difference_order_statistics(x: np.ndarray, y: np.ndarray, ranks: list[int]) -> list[float]:
    """The k-th smallest (1-based) of the n_A n_B differences y_j - x_i, for each k, exactly.

    Scores are discrete (VAS in mm, ODI in steps of 2-2.5 %), so the differences are computed
    once per pair of distinct values and weighted by how often each pair occurs: 20,000
    participants need 10^4 weighted differences instead of 10^8 (0.8 GB). Each distinct
    difference is the same floating-point subtraction as for the raw values, so the result is
    identical to sorting all of them.
    """
    ux, cx = np.unique(x, return_counts=True)
    uy, cy = np.unique(y, return_counts=True)
    if ux.size * uy.size <= MAX_DISTINCT_DIFFERENCES:
        diffs = np.subtract.outer(uy, ux).ravel()
        weights = np.multiply.outer(cy, cx).ravel()
        order = np.argsort(diffs, kind="stable")
        diffs, cumulative = diffs[order], np.cumsum(weights[order])
        return [float(diffs[int(np.searchsorted(cumulative, k))]) for k in ranks]
    diffs = np.sort(np.subtract.outer(y, x).ravel())
    return [float(diffs[k - 1]) for k in ranks]


def rank_biserial(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Rank-biserial correlation, positive when B tends to be larger; None if an arm is empty.

    Notes
    -----
    Kerby's simple difference formula [7]: the proportion of (a, b) pairs favouring B minus
    the proportion favouring A, ties counting half to each:

        r = (U_B - U_A) / (n_A n_B) = 2 U_B / (n_A n_B) - 1,
        U_B = #{(i, j): b_j > a_i} + #{(i, j): b_j = a_i} / 2

    which also equals 2 (mean rank_B - mean rank_A) / N (Glass, 1966) and Cliff's delta.
    It ranges from -1 (every A above every B) to +1; all values tied gives 0. It is not
    the "r = z / sqrt(N)" some SPSS users report.

    References
    ----------
    [7]; Glass, G. V. (1966). Note on rank biserial correlation. Educational and
    Psychological Measurement 26, 623-631; Cureton, E. E. (1956). Rank-biserial
    correlation. Psychometrika 21, 287-290.
    """
    x, y = _values(a, "a"), _values(b, "b")
    if len(x) == 0 or len(y) == 0:
        return None
    u_a, u_b, _ = _u_statistics(x, y)
    return _float((u_b - u_a) / (len(x) * len(y)))


# --- Within an arm across timepoints ----------------------------------------------------

def friedman(rows: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Friedman's test with the tie correction, on complete cases (SPSS NPAR TESTS).

    Parameters
    ----------
    rows : sequence of sequences of finite numbers
        One row per subject, one value per timepoint (k values each), complete cases only.

    Returns
    -------
    dict
        ``{"n", "k", "statistic", "df", "p", "mean_ranks"}``; with ``"note"`` and None for
        statistic, df and p when n < 2, k < 2 or every row is tied throughout.
        ``mean_ranks`` (one per timepoint, in column order) is given whenever n >= 1.

    Notes
    -----
    Values are ranked within each subject (average ranks for ties); R_j is the rank sum
    of timepoint j. With t running over the sizes of tied groups within each row [8]:

        chi2_F = [ 12 / (n k (k+1)) * sum_j R_j^2 - 3 n (k+1) ]
                 / [ 1 - sum(t^3 - t) / (n k (k^2 - 1)) ]
        df = k - 1,   p = 1 - F_chi2(chi2_F; df)

    Without the denominator (the uncorrected statistic that, for example, NAG's g08aec
    prints) the statistic is smaller whenever a subject has ties. Computed by
    ``scipy.stats.friedmanchisquare`` for k >= 3 (as R's ``friedman.test``); scipy refuses
    k = 2, for which the formula above is evaluated here.

    References
    ----------
    Friedman, M. (1937). JASA 32, 675-701; [8] section 7.2; [1] NPAR TESTS, Friedman.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, (Sequence, np.ndarray)):
        raise ValueError("rows must be a list of rows, one per subject, each a list of "
                         "k finite numbers (one per timepoint)")
    data = [_values(row, f"rows[{i}]") for i, row in enumerate(rows)]
    n = len(data)
    k = len(data[0]) if n else 0
    if any(len(row) != k for row in data):
        raise ValueError("every row must have the same number of values (one per timepoint); "
                         "pass complete cases only")
    result: dict[str, Any] = {"n": n, "k": k, "statistic": None, "df": None, "p": None,
                              "mean_ranks": []}
    if n == 0 or k == 0:
        result["note"] = "not computed: no complete cases"
        return result
    matrix = np.vstack(data)
    ranks = stats.rankdata(matrix, axis=1)
    result["mean_ranks"] = [float(v) for v in ranks.mean(axis=0)]
    if n < 2:
        result["note"] = "not computed: fewer than 2 complete cases"
        return result
    if k < 2:
        result["note"] = "not computed: fewer than 2 timepoints"
        return result
    ties = sum(_tie_term(row) for row in matrix)
    denominator = 1.0 - ties / (n * k * (k * k - 1))
    if denominator <= 0:
        result["note"] = "not computed: every subject gave the same value at every timepoint"
        return result
    if k >= 3:
        statistic, p = stats.friedmanchisquare(*matrix.T)
    else:  # scipy's friedmanchisquare refuses two timepoints; the same formula, written out
        numerator = 12.0 / (n * k * (k + 1)) * float(np.sum(ranks.sum(axis=0) ** 2)) - 3.0 * n * (k + 1)
        statistic = numerator / denominator
        p = stats.chi2.sf(statistic, k - 1)
    result.update(statistic=_float(statistic), df=k - 1, p=_float(p))
    return result


def friedman_pairwise(mean_ranks: Sequence[float], n: int,
                      labels: Sequence[str]) -> list[dict[str, Any]]:
    """Pairwise comparisons after Friedman, as SPSS makes them (Dunn-Bonferroni).

    Parameters
    ----------
    mean_ranks : sequence of numbers
        :func:`friedman`'s ``mean_ranks`` (one per timepoint).
    n : int
        Number of complete cases the mean ranks came from.
    labels : sequence of str
        Timepoint names, same length and order as ``mean_ranks``.

    Returns
    -------
    list of dict
        ``{"a", "b", "z", "p", "p_adjusted"}`` for every pair i < j in label order; empty
        when there are fewer than two timepoints. With n < 2 every pair has None values and
        a ``"note"``.

    Notes
    -----
    For k timepoints and n subjects [8] section 7.2.4, [1]:

        z = (mean rank_i - mean rank_j) / sqrt( k (k+1) / (6 n) )
        p = 2 * (1 - Phi(|z|)),    p_adjusted = min(1, p * k (k-1) / 2)   (Bonferroni)

    z keeps its sign (label i minus label j). The standard error ignores ties, as in SPSS
    and in scikit-posthocs' ``posthoc_siegel_friedman`` (whose p-values match these; it
    reports |z| only through p).

    References
    ----------
    [8] section 7.2.4; Dunn, O. J. (1964). Multiple comparisons using rank sums.
    Technometrics 6, 241-252; [1] nonparametric tests, pairwise comparisons.
    """
    if isinstance(labels, (str, bytes)) or not isinstance(labels, Sequence):
        raise ValueError("labels must be a list of timepoint names")
    ranks = _values(mean_ranks, "mean_ranks")
    if len(labels) != len(ranks):
        raise ValueError(f"labels must name every mean rank: got {len(labels)} labels for "
                         f"{len(ranks)} mean ranks")
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"n must be a whole number of complete cases (0 or more); got {n!r}")
    k = len(ranks)
    if k < 2:
        return []
    pairs = k * (k - 1) // 2
    out = []
    for i in range(k):
        for j in range(i + 1, k):
            row: dict[str, Any] = {"a": str(labels[i]), "b": str(labels[j])}
            if n < 2:
                row.update(z=None, p=None, p_adjusted=None,
                           note="not computed: fewer than 2 complete cases")
            else:
                z = (ranks[i] - ranks[j]) / math.sqrt(k * (k + 1) / (6.0 * int(n)))
                p = min(1.0, 2.0 * float(stats.norm.sf(abs(z))))
                row.update(z=_float(z), p=_float(p), p_adjusted=_float(min(1.0, p * pairs)))
            out.append(row)
    return out


# --- Categorical between arms ------------------------------------------------------------

def _counts(counts: Any, name: str) -> dict[str, int]:
    if not isinstance(counts, Mapping):
        raise ValueError(f"{name} must be a mapping of level name to count, e.g. {{'Yes': 3}}")
    out: dict[str, int] = {}
    for level, count in counts.items():
        if not isinstance(level, str):
            raise ValueError(f"{name} levels must be strings; got {level!r}")
        if isinstance(count, (bool, np.bool_)) or not isinstance(count, numbers.Integral) \
                or count < 0:
            raise ValueError(f"{name}[{level!r}] must be a whole number of people (0 or more); "
                             f"got {count!r}")
        out[level] = int(count)
    return out


def chi_square(counts_a: Mapping[str, int], counts_b: Mapping[str, int]) -> dict[str, Any]:
    """Pearson chi-square between arms, with the Fisher-Freeman-Halton p when needed.

    Parameters
    ----------
    counts_a, counts_b : mapping of level name to count
        People in arm A and arm B who chose each level. Levels are taken in the order
        they first appear (A's first, then any only B has).

    Returns
    -------
    dict
        ``{"statistic", "df", "p", "p_exact", "read", "levels", "expected_under_5",
        "note"}``. ``levels`` are the levels kept (anyone chose them); ``expected_under_5``
        is the fraction of the 2 x c expected counts below 5; ``read`` is ``"p"`` or
        ``"p_exact"``, the p to report; ``note`` says in words what was done (or why
        nothing was). With fewer than 2 kept levels or an empty arm, every statistic and
        ``read`` are None.

    Notes
    -----
    Levels nobody chose are dropped (SPSS CROSSTABS only tabulates observed values). For
    observed O_ij, row totals r_i, column totals c_j and N people [1]:

        E_ij = r_i c_j / N,    X^2 = sum (O_ij - E_ij)^2 / E_ij,    df = c - 1

    with no Yates continuity correction (SPSS's "Pearson Chi-Square" row), computed by
    ``scipy.stats.chi2_contingency(table, correction=False)``: its default corrects 2 x 2 tables.

    When more than 20% of the expected counts are below 5, or any is below 1 (Cochran's
    rule [10], :data:`SMALL_EXPECTED_MAX_FRACTION`, :data:`MIN_EXPECTED_COUNT`), the
    asymptotic p is unreliable: the exact Fisher-Freeman-Halton p
    (:func:`fisher_freeman_halton`) is also computed and ``read`` is ``"p_exact"``. If the
    exact enumeration is too large (:data:`FISHER_MAX_TABLES`), ``p_exact`` is None,
    ``read`` stays ``"p"`` and the note says so.

    References
    ----------
    Pearson, K. (1900). Philosophical Magazine 50, 157-175; [1] CROSSTABS; [9]; [10].
    """
    a, b = _counts(counts_a, "counts_a"), _counts(counts_b, "counts_b")
    order = list(a) + [level for level in b if level not in a]
    levels = [level for level in order if a.get(level, 0) + b.get(level, 0) > 0]
    result: dict[str, Any] = {"statistic": None, "df": None, "p": None, "p_exact": None,
                              "read": None, "levels": levels, "expected_under_5": None}
    total_a = sum(a.get(level, 0) for level in levels)
    total_b = sum(b.get(level, 0) for level in levels)
    if total_a == 0 or total_b == 0:
        empty = "A" if total_a == 0 else "B"
        result["note"] = f"not computed: group {empty} has no answers"
        return result
    if len(levels) < 2:
        result["note"] = "not computed: fewer than 2 answer levels were chosen"
        return result
    table = np.array([[a.get(level, 0) for level in levels],
                      [b.get(level, 0) for level in levels]], dtype=float)
    pearson = stats.chi2_contingency(table, correction=False)
    expected = pearson.expected_freq
    statistic = float(pearson.statistic)
    df = len(levels) - 1
    small = int(np.sum(expected < SMALL_EXPECTED_COUNT))
    fraction = small / expected.size
    min_expected = float(expected.min())
    result.update(statistic=_float(statistic), df=df, p=_float(pearson.pvalue),
                  expected_under_5=_float(fraction), read="p")
    note = (f"Pearson chi-square without continuity correction; {small} of {expected.size} "
            f"cells ({fraction * 100:.1f}%) have expected count less than 5; the minimum "
            f"expected count is {min_expected:.2f}.")
    if fraction > SMALL_EXPECTED_MAX_FRACTION or min_expected < MIN_EXPECTED_COUNT:
        p_exact = fisher_freeman_halton(table.astype(int).tolist())
        if p_exact is None:
            note += (" Too many small expected counts for the chi-square p, but the exact "
                     "Fisher-Freeman-Halton p was not computed (the table is too large to "
                     f"enumerate within {FISHER_MAX_TABLES:,} partial tables); read p with "
                     "caution.")
        else:
            result.update(p_exact=p_exact, read="p_exact")
            note += (" Too many small expected counts for the chi-square p: read the exact "
                     "Fisher-Freeman-Halton p (p_exact).")
    result["note"] = note
    return result


def fisher_freeman_halton(table: Sequence[Sequence[int]]) -> float | None:
    """Exact Fisher-Freeman-Halton p for a 2 x c table of counts.

    Parameters
    ----------
    table : two rows of c non-negative whole numbers
        Row 0 is arm A, row 1 arm B.

    Returns
    -------
    float or None
        The exact two-sided p; None when the test is not defined (a row or the table
        without anyone in it, or fewer than 2 non-empty columns) or when the enumeration
        would build more than :data:`FISHER_MAX_TABLES` partial tables.

    Notes
    -----
    With the margins fixed (row totals r_0, r_1, column totals c_j, N people), a table is
    fixed by its first-row counts x_j, and under independence [9]

        P(x) = prod_j C(c_j, x_j) / C(N, r_0)        (multivariate hypergeometric)

    The p-value is the sum of P over every table with P(x) <= P(observed) * (1 + 1e-7)
    (:data:`FISHER_RELATIVE_TOLERANCE`, as R's fisher.test, so tables of equal probability
    are not lost to rounding). For a 2 x 2 table this is Fisher's exact test, two-sided.

    The sum is exact (no sampling), by meet-in-the-middle: with L(x) = sum_j log C(c_j, x_j)
    (``scipy.special.gammaln``), the columns are split into two halves of about equal
    enumeration size; each half's partial tables (their first-row count s and their L) are
    enumerated in full, the second half's sorted by L within each s with running
    log-sum-exp totals. For every first-half table (s1, L1), the second-half tables that
    complete it (s2 = r - s1) and make it extreme (L2 <= threshold - L1) are a prefix of
    that sorted list, found by binary search. Time and memory grow with the product of
    (min(c_j, r) + 1) over half the columns, not over all of them: about 10^5 for six
    columns of 45 people. The row with the smaller total r plays x, and empty columns
    are dropped (they change no probability). If one half would hold more than
    :data:`FISHER_MAX_TABLES` partial tables, the function returns None.

    References
    ----------
    [9]; R's ``fisher.test`` (same p for r x c tables, computed there by Mehta and Patel's
    network algorithm: JASA 78 (1983), 427-434).
    """
    if isinstance(table, (str, bytes, Mapping)) or not isinstance(table, (Sequence, np.ndarray)) \
            or len(table) != 2:
        raise ValueError("table must be two rows (one per arm) of counts: only 2 x c tables "
                         "are supported")
    rows = []
    for i, row in enumerate(table):
        if isinstance(row, (str, bytes, Mapping)) or not isinstance(row, (Sequence, np.ndarray)):
            raise ValueError(f"table row {i} must be a list of counts")
        counts = []
        for count in row:
            if isinstance(count, (bool, np.bool_)) or not isinstance(count, numbers.Integral) \
                    or count < 0:
                raise ValueError(f"table counts must be whole numbers, 0 or more; got {count!r}")
            counts.append(int(count))
        rows.append(counts)
    if len(rows[0]) != len(rows[1]):
        raise ValueError("both table rows must have the same number of columns")
    columns = [(x0, x1) for x0, x1 in zip(rows[0], rows[1]) if x0 + x1 > 0]
    r0, r1 = sum(c[0] for c in columns), sum(c[1] for c in columns)
    if len(columns) < 2 or r0 == 0 or r1 == 0:
        return None
    pick = 0 if r0 <= r1 else 1                    # enumerate the row with the smaller total
    r = r0 if pick == 0 else r1
    totals = [c[0] + c[1] for c in columns]
    observed = [c[pick] for c in columns]
    n = r0 + r1

    def log_comb(total: int, x: Any) -> Any:
        return special.gammaln(total + 1) - special.gammaln(x + 1) - special.gammaln(total - x + 1)

    threshold = (float(sum(log_comb(t, x) for t, x in zip(totals, observed)))
                 + math.log1p(FISHER_RELATIVE_TOLERANCE))
    sizes = [min(t, r) + 1 for t in totals]
    split = min(range(1, len(totals)),
                key=lambda k: max(math.prod(sizes[:k]), math.prod(sizes[k:])))

    def enumerate_half(half: list[int]) -> tuple[np.ndarray, np.ndarray] | None:
        sums = np.zeros(1, dtype=np.int64)
        logp = np.zeros(1, dtype=float)
        for total in half:
            choices = np.arange(min(total, r) + 1, dtype=np.int64)
            if sums.size * choices.size > FISHER_MAX_TABLES:
                return None
            sums = (sums[:, None] + choices[None, :]).ravel()
            logp = (logp[:, None] + log_comb(total, choices)[None, :]).ravel()
            keep = sums <= r
            sums, logp = sums[keep], logp[keep]
        return sums, logp

    first, second = enumerate_half(totals[:split]), enumerate_half(totals[split:])
    if first is None or second is None:
        return None
    s1, l1 = first
    s2, l2 = second
    order = np.argsort(s1, kind="stable")
    s1, l1 = s1[order], l1[order]
    order = np.lexsort((l2, s2))                   # by s2, then by L2 ascending
    s2, l2 = s2[order], l2[order]
    terms = []
    for value in np.unique(s2):
        lo, hi = np.searchsorted(s1, r - value, "left"), np.searchsorted(s1, r - value, "right")
        partner = l1[lo:hi]
        if partner.size == 0:
            continue
        lo, hi = np.searchsorted(s2, value, "left"), np.searchsorted(s2, value, "right")
        group = l2[lo:hi]
        running = np.logaddexp.accumulate(group)   # log of sum of exp(L2) up to each entry
        idx = np.searchsorted(group, threshold - partner, side="right")
        hit = idx > 0
        terms.append(partner[hit] + running[idx[hit] - 1])
    p = float(np.exp(special.logsumexp(np.concatenate(terms)) - log_comb(n, r)))
    return _float(min(1.0, p))
