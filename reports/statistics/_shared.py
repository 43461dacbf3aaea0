"""Input checks and small helpers the statistics share."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats


# Exact types whose values need no one-by-one check (bool is a subclass of int: not in here).
_PLAIN_TYPES = frozenset({int, float})


def _values(values: Any, name: str) -> np.ndarray:
    """Validate a one-dimensional sequence of finite real numbers; return float64 array.

    A list of plain ints and floats, or a numeric array, is checked at once; anything else is
    checked item by item, so the message can name the first item that is not a finite number.
    """
    if type(values) is list and set(map(type, values)) <= _PLAIN_TYPES:
        out = np.array(values, dtype=float)
        if np.isfinite(out).all():
            return out
    elif isinstance(values, np.ndarray) and values.ndim == 1 and values.dtype.kind in "iuf":
        out = values.astype(float)
        if np.isfinite(out).all():
            return out
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


def _row_tie_terms(matrix: np.ndarray) -> float:
    """_tie_term summed over the rows of a matrix, at once: an item in a tied group of size t
    has t equal items in its row (itself included), and a group's t items add t * t^2 - t."""
    equal = (matrix[:, :, None] == matrix[:, None, :]).sum(axis=2)
    return float(np.sum(equal * equal - 1))


def _u_statistics(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    """U for A, U for B (U_A + U_B = n_A n_B) and the tie-corrected variance of U."""
    na, nb = len(a), len(b)
    n = na + nb
    ranks = stats.rankdata(np.concatenate([a, b]))          # average ranks for ties
    u_a = float(np.sum(ranks[:na]) - na * (na + 1) / 2.0)
    u_b = na * nb - u_a
    var = na * nb / 12.0 * ((n + 1) - _tie_term(np.concatenate([a, b])) / (n * (n - 1)))
    return u_a, u_b, var
