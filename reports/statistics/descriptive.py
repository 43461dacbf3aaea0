"""Descriptives as SPSS EXAMINE prints them."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from reports.statistics._shared import _float, _values

#: numpy's name for SPSS's default percentile definition HAVERAGE: the weighted average at
#: position (n + 1)p, clamped to the smallest and largest value ([1] EXAMINE; [2] def. 6).
PERCENTILE_METHOD = "weibull"


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
