"""A pure rule applied to whole columns, once per distinct value instead of once per participant.

The report's derived values have one definition each, written for one participant (the NSAID
reduction, the roots group, a procedure's deviations, a level's label). Their inputs take few
distinct values (doses, punctures, codes), so calling the definition once per distinct combination
and spreading the results gives exactly what calling it per participant gives, at the cost of a few
calls instead of tens of thousands. (Exactly, for a rule that gives equal inputs equal results, as
each of these does: floats are told apart by their bits, anything else by Python's ==.)
"""
from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np


def factorize(column: np.ndarray) -> tuple[list, np.ndarray]:
    """(the distinct values, each element's index among them). A float column is told apart by bit
    pattern, so -0.0 and 0.0 stay two values, and NaN (no value) comes back as None. Any other
    column by Python equality, as a dict's keys are: 1 and 1.0 are one value."""
    if column.dtype.kind == "f":
        bits = np.ascontiguousarray(column, dtype=np.float64).view(np.uint64)
        _, first, inverse = np.unique(bits, return_index=True, return_inverse=True)
        return [None if math.isnan(v) else v for v in column[first].tolist()], inverse.reshape(-1)
    values = column.tolist()
    position = {value: index for index, value in enumerate(dict.fromkeys(values))}
    return list(position), np.fromiter(map(position.__getitem__, values), dtype=np.intp, count=len(values))


def apply(rule: Callable[..., Any], *columns: np.ndarray) -> np.ndarray:
    """``rule(*values)`` for every row of the equally long ``columns``, as an object array.
    Float columns pass NaN as None; object columns pass their values as they are."""
    results, inverse = apply_once(rule, *columns)
    return results[inverse]


def apply_once(rule: Callable[..., Any], *columns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(``rule`` of each distinct row, as an object array; each row's index in it): ``apply``
    before its results are spread over the rows."""
    if not columns:
        raise ValueError("apply needs at least one column")
    size = len(columns[0])
    if any(len(column) != size for column in columns):
        raise ValueError("every column must be as long as the first")
    coded = [factorize(column) for column in columns]
    key = np.zeros(size, dtype=np.int64)
    for values, codes in coded:
        if size and (int(key.max()) + 1) * len(values) >= KEY_LIMIT:
            key = np.unique(key, return_inverse=True)[1].reshape(-1)    # renumber before it overflows
        key = key * len(values) + codes
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    results = np.empty(len(first), dtype=object)
    for index, row in enumerate(first.tolist()):
        results[index] = rule(*(values[codes[row]] for values, codes in coded))
    return results, inverse.reshape(-1)


# A row's key numbers its combination of codes; kept below this, it cannot overflow 64 bits.
KEY_LIMIT = 1 << 62
