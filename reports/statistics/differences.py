"""Order statistics of the n_A n_B differences y_j - x_i between two samples, without making them all.

The Hodges-Lehmann shift and its interval are the median and two other order statistics of the
differences (:func:`reports.statistics.between_arms.hodges_lehmann`). 20,000 participants make 10^8
differences (0.8 GB); sorting them all would take seconds. Two facts make that unnecessary:

* Scores are discrete (VAS in mm, ODI in steps of 2-2.5 %), so the differences are taken once
  per pair of distinct values, weighted by how often the pair occurs.
* Rounding is monotone, so with x and y sorted the computed differences fl(y_j - x_i) fall along
  each row j as x_i rises. How many differences are at most v is then a binary search per row,
  and the wanted order statistics, which lie close together around the median, are found among
  the differences of a narrow band of values [a, b] known to hold them: only the band is made
  and sorted. a and b are guessed from a sample and then checked by exact counts, so the guess
  can only cost time, never change a result: each value returned is the same floating-point
  subtraction as sorting every difference would give.
"""
from __future__ import annotations

import numpy as np

#: Up to this many distinct pairs, every distinct difference is made and sorted at once; a band of
#: no more than this many is made and sorted, and a larger one is narrowed first.
SORT_AT_ONCE = 1 << 16

#: A band is narrowed from this many of its pairs drawn with a fixed seed (the result does not
#: depend on them): its new limits are the sample's quantiles at the wanted shares widened by each
#: margin in turn (a share of the band), the first pair of limits exact counts confirm.
SAMPLE_PAIRS = 20_000
BAND_MARGINS = (0.01, 0.05)


def order_statistics(x: np.ndarray, y: np.ndarray, ranks: list[int]) -> list[float]:
    """The k-th smallest (1-based) of the n_A n_B differences y_j - x_i, for each k in ``ranks``, exactly."""
    ux, cx = np.unique(x, return_counts=True)
    uy, cy = np.unique(y, return_counts=True)
    if ux.size * uy.size <= SORT_AT_ONCE:
        return _weighted(np.subtract.outer(uy, ux).ravel(), np.multiply.outer(cy, cx).ravel(), ranks)
    low, high = min(ranks), max(ranks)
    # at_least[i]: how many x are at ux[i] or above (at_least[len(ux)] = 0).
    at_least = np.append(np.cumsum(cx[::-1])[::-1], 0)
    # The band: per row j, the pairs start[j] <= i < stop[j]; below: the differences under it.
    start, stop = np.zeros(len(uy), dtype=np.intp), np.full(len(uy), len(ux), dtype=np.intp)
    below, within = 0, len(x) * len(y)
    draw = np.random.default_rng(0)
    size = len(ux) * len(uy)
    while size > SORT_AT_ONCE:
        for a, b in _guesses(draw, ux, cx, uy, cy, start, stop, (low - below) / within, (high - below) / within):
            new_stop = _first(ux, uy, a, strict=True)      # per row: the first x whose difference is < a
            new_start = _first(ux, uy, b, strict=False)    # per row: the first x whose difference is <= b
            new_below = int(np.dot(cy, at_least[new_stop]))
            up_to_b = int(np.dot(cy, at_least[new_start]))
            new_size = int(np.maximum(new_stop - new_start, 0).sum())
            if new_below < low and up_to_b >= high and new_size < size:
                start, stop, below, within, size = new_start, new_stop, new_below, up_to_b - new_below, new_size
                break
        else:
            break       # no guess narrowed it: sort the band as it is
    rows, columns = _band(start, stop)
    return _weighted(uy[rows] - ux[columns], cy[rows] * cx[columns], [k - below for k in ranks])


def _weighted(values: np.ndarray, weights: np.ndarray, ranks: list[int]) -> list[float]:
    """The k-th smallest of ``values``, each counted ``weights`` times, for each k in ``ranks``."""
    order = np.argsort(values, kind="stable")
    values, cumulative = values[order], np.cumsum(weights[order])
    return [float(values[int(np.searchsorted(cumulative, k))]) for k in ranks]


def _first(ux: np.ndarray, uy: np.ndarray, v: float, strict: bool) -> np.ndarray:
    """For each row j, the first i with fl(uy[j] - ux[i]) < v (``strict``) or <= v, else len(ux):
    one binary search per row, all rows at once, on the computed differences themselves."""
    lo, hi = np.zeros(len(uy), dtype=np.intp), np.full(len(uy), len(ux), dtype=np.intp)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        middle = (lo + hi) // 2
        difference = uy - ux[np.minimum(middle, len(ux) - 1)]
        inside = active & ((difference < v) if strict else (difference <= v))
        hi = np.where(inside, middle, hi)
        lo = np.where(active & ~inside, middle + 1, lo)


def _band(start: np.ndarray, stop: np.ndarray, positions: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every pair with start[j] <= i < stop[j] (or of the pairs at ``positions``
    in that order)."""
    lengths = np.maximum(stop - start, 0)
    ends = np.cumsum(lengths)
    if positions is None:
        positions = np.arange(int(ends[-1]) if len(ends) else 0)
    rows = np.searchsorted(ends, positions, side="right")
    return rows, start[rows] + positions - (ends - lengths)[rows]


def _guesses(draw, ux, cx, uy, cy, start, stop, low: float, high: float) -> list[tuple[float, float]]:
    """Limits [a, b] likely to hold the shares ``low`` to ``high`` of the band's weighted
    differences, narrowest first, from a sample of its pairs."""
    size = int(np.maximum(stop - start, 0).sum())
    rows, columns = _band(start, stop, draw.integers(0, size, SAMPLE_PAIRS))
    values = uy[rows] - ux[columns]
    order = np.argsort(values)
    values, cumulative = values[order], np.cumsum((cy[rows] * cx[columns])[order])
    cumulative = cumulative / cumulative[-1]

    def at(share: float, beyond: float) -> float:
        if share <= 0.0 or share >= 1.0:
            return beyond
        return float(values[min(int(np.searchsorted(cumulative, share)), len(values) - 1)])
    return [(at(low - margin, -np.inf), at(high + margin, np.inf)) for margin in BAND_MARGINS]
