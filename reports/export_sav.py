"""The dataset as an SPSS .sav, with variable labels and value labels.

pyreadstat writes only a whole DataFrame, so the file is built in memory, as compactly as the
columns allow: numbers (and coded categories) as packed doubles, NaN for missing (8 bytes a cell),
and text once per distinct value per column (a cell is then a pointer to a string already held).
The rows are turned into columns a chunk at a time (zip(*chunk), at C speed), not a cell at a time.
"""
from __future__ import annotations

from array import array
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

from reports.variables import Variable

CHUNK_ROWS = 1024


def write_sav(rows: Iterable[Sequence[str]], variables: list[Variable], path: Path) -> int:
    """The rows (lists of text in the variables' order, blank = missing) as a .sav; returns how
    many there were.

    SPSS value labels need numeric codes for string categories, so every string variable with
    value labels (arm, timepoint, the clinician categories) is coded 1, 2, ... in its levels'
    order, with the codes' meanings as value labels.
    """
    import numpy as np
    import pandas as pd
    import pyreadstat

    coded = {v.name: {code: index for index, (code, _) in enumerate(v.value_labels, 1)}
             for v in variables if v.value_labels and isinstance(v.value_labels[0][0], str)}
    nan = float("nan")
    numeric = {v.name: array("d") for v in variables if v.name in coded or v.type in ("integer", "decimal")}
    texts: dict[str, list[str]] = {v.name: [] for v in variables if v.name not in numeric}
    distinct: dict[str, dict[str, str]] = {name: {} for name in texts}
    rows = iter(rows)
    while chunk := list(islice(rows, CHUNK_ROWS)):
        for v, cells in zip(variables, zip(*chunk)):
            if v.name in coded:
                numeric[v.name].extend(map(coded[v.name].get, cells, [nan] * len(cells)))
            elif v.name in numeric:
                numeric[v.name].extend([float(cell) if cell else nan for cell in cells])
            else:
                seen = distinct[v.name]
                texts[v.name].extend(map(seen.setdefault, cells, cells))
    columns: dict[str, Any] = {}
    for v in variables:
        if v.name in numeric:
            column = np.frombuffer(numeric[v.name], dtype=float)
            # A category coded in full reads as whole numbers, as SPSS shows codes.
            columns[v.name] = column.astype(np.int64) if v.name in coded and not np.isnan(column).any() else column
        else:
            columns[v.name] = texts[v.name]
    frame = pd.DataFrame(columns)
    value_labels = {name: {index: label for index, (_, label) in enumerate(v.value_labels, 1)}
                    for v in variables for name in [v.name] if name in coded}
    for v in variables:
        if v.name in ("sat_procedure", "sat_results"):
            value_labels[v.name] = {float(code): label for code, label in v.value_labels}
    pyreadstat.write_sav(frame, str(path), column_labels={v.name: v.label for v in variables},
                         variable_value_labels=value_labels,
                         variable_measure={name: "nominal" for name in coded} | {"roots_injected": "ordinal"} | {
                             "sat_procedure": "ordinal", "sat_results": "ordinal"})
    return len(frame)
