"""The dataset as an Excel workbook: a "data" sheet (numbers as numbers) and a "codebook" sheet.

rustpy-xlsxwriter (Rust's rust_xlsxwriter) writes in constant memory, about nine times as fast as
openpyxl's write-only mode or XlsxWriter's constant_memory on the same rows
(benchmarks/export_scale.py); text stays text, so a cell starting "=" is never a formula.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from pathlib import Path

from reports.variables import Variable

CODEBOOK_FIELDS = ("name", "label", "type", "unit", "allowed", "instrument", "timepoints", "derivation")
NUMBER_TYPES = {"integer": int, "decimal": float}


def codebook_rows_from(variables: list[Variable]) -> list[dict[str, str]]:
    return [{"name": v.name, "label": v.label, "type": v.type, "unit": v.unit,
             "allowed": v.allowed or "; ".join(f"{value} = {label}" for value, label in v.value_labels),
             "instrument": v.instrument, "timepoints": v.timepoints, "derivation": v.derivation} for v in variables]


def write_xlsx(rows: Iterable[Sequence[str]], variables: list[Variable], path: Path) -> int:
    """The rows (lists of text in the variables' order, blank = missing), streamed into the data
    sheet; returns how many there were."""
    import pandas as pd
    from rustpy_xlsxwriter import FastExcel

    names = [v.name for v in variables]
    numbers = [(index, NUMBER_TYPES[v.type]) for index, v in enumerate(variables) if v.type in NUMBER_TYPES]
    count = 0

    def records() -> Iterator[dict]:
        nonlocal count
        for row in rows:
            count += 1
            row = list(row)                    # the numbers put in place of their text on a copy
            for index, number in numbers:
                if cell := row[index]:
                    row[index] = number(cell)
            yield dict(zip(names, row))        # a blank text is no cell at all, as None would be

    stream = records()
    first = next(stream, None)
    data = pd.DataFrame(columns=names) if first is None else chain((first,), stream)   # a header even when empty
    FastExcel(str(path)).sheet("data", data).sheet("codebook", codebook_rows_from(variables)).save()
    return count
