"""Categorical variables between arms: Pearson chi-square, and the exact Fisher-Freeman-Halton p."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import special, stats

from reports.statistics._shared import _float

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
