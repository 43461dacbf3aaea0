"""Between arms at one timepoint: the tests, the location shift and the effect size."""
from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import stats

from reports.statistics import differences
from reports.statistics._shared import _float, _u_statistics, _values


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
    return _mann_whitney(x, y, _ranked(x, y))


def _ranked(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float] | None:
    """_u_statistics of two checked arms, or None when one is empty: what the rank-based
    functions below share, computed once when they are computed together (:func:`two_arms`)."""
    return _u_statistics(x, y) if len(x) and len(y) else None


def _mann_whitney(x: np.ndarray, y: np.ndarray, ranked: tuple[float, float, float] | None) -> dict[str, Any]:
    if ranked is None:
        empty = "A" if len(x) == 0 else "B"
        return {"U": None, "z": None, "p": None,
                "note": f"not computed: group {empty} has no values"}
    u_a, u_b, var = ranked
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
    return _student_t(_values(a, "a"), _values(b, "b"))


def _student_t(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    na, nb = len(x), len(y)
    if na < 2 or nb < 2:
        small = "A" if na < 2 else "B"
        return {"t": None, "df": None, "p": None,
                "note": f"not computed: group {small} has fewer than 2 values"}
    df = na + nb - 2
    if np.ptp(x) == 0 and np.ptp(y) == 0:
        return {"t": None, "df": df, "p": None,
                "note": "not computed: both groups have zero variance (every value is tied)"}
    with warnings.catch_warnings():
        # Values equal but for floating-point noise (a dose x a coefficient) make scipy warn of
        # "catastrophic cancellation"; the t it returns is still the formula's.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_ind(x, y, equal_var=True)
    return {"t": _float(result.statistic), "df": int(df), "p": _float(min(1.0, float(result.pvalue)))}


#: The Hodges-Lehmann interval's level unless told otherwise (the report's).
CONFIDENCE = 0.95


def hodges_lehmann(a: Sequence[float], b: Sequence[float],
                   confidence: float = CONFIDENCE) -> dict[str, Any]:
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

    The differences are never all made: see :mod:`reports.statistics.differences`, which
    finds the same order statistics from a narrow band of them.

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
    return _hodges_lehmann(x, y, _ranked(x, y), confidence)


def _hodges_lehmann(x: np.ndarray, y: np.ndarray, ranked: tuple[float, float, float] | None,
                    confidence: float) -> dict[str, Any]:
    if ranked is None:
        empty = "A" if len(x) == 0 else "B"
        return {"estimate": None, "ci_low": None, "ci_high": None,
                "note": f"not computed: group {empty} has no values"}
    m = len(x) * len(y)
    middle = [(m + 1) // 2, m // 2 + 1]  # the median: one order statistic, or the mean of two
    _, _, var = ranked
    tied = bool(np.ptp(np.concatenate([x, y])) == 0 or var <= 0)
    c = 0 if tied else math.floor(m / 2.0 - float(stats.norm.ppf(1.0 - (1.0 - float(confidence)) / 2.0))
                                  * math.sqrt(var))
    # Every order statistic wanted, from one pass over the differences.
    found = differences.order_statistics(x, y, middle + ([c, m + 1 - c] if c >= 1 else []))
    estimate = _float(sum(found[:2]) / 2.0)
    if tied:
        return {"estimate": estimate, "ci_low": None, "ci_high": None,
                "note": "confidence interval not computed: every value is tied"}
    if c < 1:
        return {"estimate": estimate, "ci_low": None, "ci_high": None,
                "note": (f"confidence interval not computed: too few values for a "
                         f"{float(confidence) * 100:g}% interval")}
    low, high = found[2:]
    return {"estimate": estimate, "ci_low": _float(low), "ci_high": _float(high)}


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
    return _rank_biserial(x, y, _ranked(x, y))


def _rank_biserial(x: np.ndarray, y: np.ndarray, ranked: tuple[float, float, float] | None) -> float | None:
    if ranked is None:
        return None
    u_a, u_b, _ = ranked
    return _float((u_b - u_a) / (len(x) * len(y)))


def two_arms(a: Sequence[float], b: Sequence[float]) -> dict[str, Any]:
    """:func:`mann_whitney`, :func:`student_t`, :func:`hodges_lehmann` (95%) and
    :func:`rank_biserial` of the same two arms at once, under those names ("t_test" for
    student_t): each value is exactly what that function returns, but the arms are checked
    and ranked once instead of four and three times.
    """
    x, y = _values(a, "a"), _values(b, "b")
    ranked = _ranked(x, y)
    return {"mann_whitney": _mann_whitney(x, y, ranked), "t_test": _student_t(x, y),
            "hodges_lehmann": _hodges_lehmann(x, y, ranked, CONFIDENCE), "rank_biserial": _rank_biserial(x, y, ranked)}
