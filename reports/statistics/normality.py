"""Normality, and the choice of test it leads to."""
from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from statsmodels.stats.diagnostic import lilliefors

from reports.statistics._shared import _float, _values

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

_TEST_T = "t-test"
_TEST_MW = "mann-whitney"


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
