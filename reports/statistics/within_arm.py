"""Within an arm across timepoints: Friedman and the pairwise comparisons after it."""
from __future__ import annotations

import math
from itertools import chain
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

from reports.statistics._shared import _PLAIN_TYPES, _float, _row_tie_terms, _tie_term, _values


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
    data = _matrix(rows)
    if data is None:
        data = [_values(row, f"rows[{i}]") for i, row in enumerate(rows)]
    n = len(data)
    k = len(data[0]) if n else 0
    if not isinstance(data, np.ndarray) and any(len(row) != k for row in data):
        raise ValueError("every row must have the same number of values (one per timepoint); "
                         "pass complete cases only")
    result: dict[str, Any] = {"n": n, "k": k, "statistic": None, "df": None, "p": None,
                              "mean_ranks": []}
    if n == 0 or k == 0:
        result["note"] = "not computed: no complete cases"
        return result
    matrix = data if isinstance(data, np.ndarray) else np.vstack(data)
    ranks = stats.rankdata(matrix, axis=1)
    result["mean_ranks"] = [float(v) for v in ranks.mean(axis=0)]
    if n < 2:
        result["note"] = "not computed: fewer than 2 complete cases"
        return result
    if k < 2:
        result["note"] = "not computed: fewer than 2 timepoints"
        return result
    ties = _row_tie_terms(matrix) if k <= MAX_K_AT_ONCE else sum(_tie_term(row) for row in matrix)
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


MAX_K_AT_ONCE = 16   # the tie terms of every row at once take n x k x k booleans


def _matrix(rows: Any) -> np.ndarray | None:
    """Rows of plain numbers, all as long (or a numeric matrix), as a matrix at once; None when any
    row needs the one-by-one check (a wrong type, a missing or infinite value, rows of different lengths)."""
    if isinstance(rows, np.ndarray):
        if rows.ndim != 2 or not rows.shape[0] or rows.dtype.kind not in "iuf":
            return None
        matrix = rows.astype(float)
        return matrix if np.isfinite(matrix).all() else None
    if type(rows) is not list or not rows or len(set(map(len, rows))) != 1:
        return None
    if not all(type(row) is list for row in rows):
        return None
    if not set(map(type, chain.from_iterable(rows))) <= _PLAIN_TYPES:
        return None
    matrix = np.array(rows, dtype=float)
    return matrix if np.isfinite(matrix).all() else None


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
