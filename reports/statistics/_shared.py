"""Input checks and small helpers the statistics share."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats


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
