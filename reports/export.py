"""Writing the scored dataset: long CSV, wide CSV, XLSX with its codebook, SPSS .sav, and the
codebook on its own (CSV, HTML).

CSV and XLSX are written row by row from the streamed rows, so memory stays flat. pyreadstat can
only write a whole DataFrame, so the .sav is built in memory: about 150 bytes a row, some 20 MB
for 20,000 participants x 6 timepoints.
"""
from __future__ import annotations

import csv
import re
from array import array
import html
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from pathlib import Path
from typing import Any, TextIO

from questionnaires.protocol import Protocol
from reports import clinical_dataset, dataset

CODEBOOK_FIELDS = ("name", "label", "type", "unit", "allowed", "instrument", "timepoints", "derivation")


@dataclass(frozen=True)
class Format:
    """One way the dataset leaves the app: the CLI's --format and the dataset page's downloads."""

    id: str
    suffix: str             # the file name's ending, after "scored-dataset-<date>."
    mimetype: str
    label: str
    codebook: bool = False  # the codebook alone, not the data
    text: bool = False      # written as text chunks, so the web can stream it


FORMAT_TABLE = (
    Format("csv", "csv", "text/csv", "CSV, long: a row per participant per timepoint", text=True),
    Format("wide-csv", "wide.csv", "text/csv", "CSV, wide: a row per participant", text=True),
    Format("xlsx", "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
           "Excel, with the codebook as a second sheet"),
    Format("sav", "sav", "application/x-spss-sav", "SPSS .sav, with variable and value labels"),
    Format("events-csv", "events.csv", "text/csv", "Adverse events, CSV: a row per event", text=True),
    Format("codebook-csv", "codebook.csv", "text/csv", "Codebook, CSV", codebook=True, text=True),
    Format("codebook-html", "codebook.html", "text/html", "Codebook, a web page", codebook=True, text=True),
)
DOWNLOADS = {f.id: f for f in FORMAT_TABLE}
# The data formats (`dataset export --format`); the codebook comes with --codebook.
FORMATS = tuple(f.id for f in FORMAT_TABLE if not f.codebook)


def _table(db, protocol: Protocol, fmt: str, identifiable: bool) -> tuple[Iterable[dict[str, str]], tuple[str, ...]]:
    """(rows, columns) of a CSV format: the data streamed from the database, or the codebook."""
    if fmt == "csv":
        return dataset.long_rows(db, protocol, identifiable), dataset.columns(identifiable)
    if fmt == "wide-csv":
        return dataset.wide_rows(db, protocol), dataset.wide_columns(protocol)
    if fmt == "codebook-csv":
        return codebook_rows(protocol, identifiable), CODEBOOK_FIELDS
    if fmt == "events-csv":
        return clinical_dataset.event_rows(db, protocol, identifiable), clinical_dataset.event_columns(identifiable)
    raise ValueError(f"{fmt!r} is not a CSV format")


def text_chunks(db, protocol: Protocol, fmt: str, identifiable: bool = False) -> Iterator[str]:
    """A text format (CSV or a codebook) as chunks, for a streamed download."""
    if fmt == "codebook-html":
        yield codebook_html(protocol, identifiable)
    else:
        yield from csv_chunks(*_table(db, protocol, fmt, identifiable))


def write_file(db, protocol: Protocol, fmt: str, path: Path, identifiable: bool = False) -> int | None:
    """Write one format to ``path``; returns the data rows written (None for a codebook)."""
    if fmt not in DOWNLOADS:
        raise ValueError(f"format must be one of {', '.join(DOWNLOADS)}")
    if fmt in ("xlsx", "sav"):
        write = write_xlsx if fmt == "xlsx" else write_sav
        return write(dataset.long_rows(db, protocol, identifiable), dataset.codebook(protocol, identifiable), path)
    if fmt == "codebook-html":
        path.write_text(codebook_html(protocol, identifiable), encoding="utf-8")
        return None
    with open(path, "w", encoding="utf-8", newline="") as out:
        count = write_csv(*_table(db, protocol, fmt, identifiable), out)
    return None if DOWNLOADS[fmt].codebook else count


# OWASP's rule against CSV injection: a cell a spreadsheet would run as a formula (it starts with
# = + - @, a tab or a carriage return) gets a leading apostrophe, so it opens as text. A number
# ("-12.5") stays a number. Rows are screened whole first, so a clean row costs one search.
# A carriage return inside free text becomes a line feed: with "\n" line ends, Python's csv quotes
# a cell holding "\n" but not one holding only "\r", which would break the row for a reader.
_RISKY_START = "=+-@\t\r"
_RISKY_CELL = re.compile(r"(?:^|\x1f)[=+\-@\t]|\r")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _safe(cell: str) -> str:
    lines = cell.replace("\r\n", "\n").replace("\r", "\n")
    return "'" + lines if cell[:1] and cell[0] in _RISKY_START and not _NUMBER.fullmatch(cell) else lines


def neutralised(cells: tuple[str, ...]) -> tuple[str, ...]:
    if not _RISKY_CELL.search("\x1f".join(cells)):
        return cells
    return tuple(_safe(cell) for cell in cells)


def _cells(fieldnames: list[str]):
    """A row's cells in the columns' order, picked at C speed (a DictWriter looks each up in
    Python), with any formula neutralised."""
    pick = itemgetter(*fieldnames)
    if len(fieldnames) == 1:
        return lambda row: neutralised((pick(row),))
    return lambda row: neutralised(pick(row))


def write_csv(rows: Iterable[dict[str, str]], fieldnames: Iterable[str], out: TextIO) -> int:
    fieldnames = list(fieldnames)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(fieldnames)
    count = 0
    cells = _cells(fieldnames)
    for row in rows:
        writer.writerow(cells(row))
        count += 1
    return count


def csv_chunks(rows: Iterable[dict[str, str]], fieldnames: Iterable[str]) -> Iterator[str]:
    """The same CSV as text chunks, for a streamed HTTP response."""
    fieldnames = list(fieldnames)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fieldnames)
    cells = _cells(fieldnames)
    for row in rows:
        writer.writerow(cells(row))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def codebook_rows(protocol: Protocol, identifiable: bool = False) -> list[dict[str, str]]:
    return codebook_rows_from(dataset.codebook(protocol, identifiable))


def codebook_html(protocol: Protocol, identifiable: bool = False) -> str:
    cells = "".join("<tr>" + "".join(f"<td>{html.escape(row[field])}</td>" for field in CODEBOOK_FIELDS) + "</tr>\n"
                    for row in codebook_rows(protocol, identifiable))
    head = "".join(f"<th>{field}</th>" for field in CODEBOOK_FIELDS)
    timepoints = "".join(f"<li>{html.escape(tp.id)}: {html.escape(tp.label)} "
                         f"({', '.join(tp.instruments)})</li>" for tp in protocol.timepoints)
    return (f"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Codebook: "
            f"{html.escape(protocol.title)}</title><style>body{{font-family:system-ui,sans-serif}}"
            f"table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:.2rem .4rem;text-align:start;"
            f"vertical-align:top}}</style></head><body><h1>Codebook</h1><p>{html.escape(protocol.title)}. One row per "
            f"participant per timepoint; a blank cell is missing.</p><p>Timepoints (instruments given):</p>"
            f"<ul>{timepoints}</ul><table><thead><tr>{head}</tr></thead><tbody>{cells}</tbody></table></body></html>")


def write_xlsx(rows: Iterable[dict[str, str]], variables: list[dataset.Variable], path: Path) -> int:
    """A "data" sheet (numbers as numbers) and a "codebook" sheet, streamed row by row.

    rustpy-xlsxwriter (Rust's rust_xlsxwriter) writes in constant memory, about nine times as
    fast as openpyxl's write-only mode or XlsxWriter's constant_memory on the same rows
    (benchmarks/export_scale.py); text stays text, so a cell starting "=" is never a formula.
    """
    import pandas as pd
    from rustpy_xlsxwriter import FastExcel

    names = [v.name for v in variables]
    typed = [_TYPED.get(v.type, _text) for v in variables]
    count = 0

    def records() -> Iterator[dict]:
        nonlocal count
        for row in rows:
            count += 1
            yield {name: cast(row[name]) for name, cast in zip(names, typed)}

    stream = records()
    first = next(stream, None)
    data = pd.DataFrame(columns=names) if first is None else chain((first,), stream)   # a header even when empty
    FastExcel(str(path)).sheet("data", data).sheet("codebook", codebook_rows_from(variables)).save()
    return count


def codebook_rows_from(variables: list[dataset.Variable]) -> list[dict[str, str]]:
    return [{"name": v.name, "label": v.label, "type": v.type, "unit": v.unit,
             "allowed": v.allowed or "; ".join(f"{value} = {label}" for value, label in v.value_labels),
             "instrument": v.instrument, "timepoints": v.timepoints, "derivation": v.derivation} for v in variables]


def _text(text: str):
    return text or None


_TYPED = {"integer": lambda text: int(text) if text else None, "decimal": lambda text: float(text) if text else None}


def _typed(text: str, kind: str):
    """A cell's value as a spreadsheet holds it: a number, text, or None when blank."""
    return _TYPED.get(kind, _text)(text)


def write_sav(rows: Iterable[dict[str, str]], variables: list[dataset.Variable], path: Path) -> int:
    """SPSS .sav with variable labels, and value labels for arm, timepoint and satisfaction.

    SPSS value labels need numeric codes for string categories, so every string variable with
    value labels (arm, timepoint, the clinician categories) is coded 1, 2, ... in its levels'
    order, with the codes' meanings as value labels.
    """
    import numpy as np
    import pandas as pd
    import pyreadstat

    coded = {v.name: {code: index for index, (code, _) in enumerate(v.value_labels, 1)}
             for v in variables if v.value_labels and isinstance(v.value_labels[0][0], str)}
    # Numbers (and coded categories) go straight into packed doubles, NaN for missing: 8 bytes a
    # cell, not a Python float. Text is kept once per distinct value per column.
    numeric = {v.name: array("d") for v in variables if v.name in coded or v.type in ("integer", "decimal")}
    texts: dict[str, list[str]] = {v.name: [] for v in variables if v.name not in numeric}
    distinct: dict[str, dict[str, str]] = {name: {} for name in texts}
    nan = float("nan")
    for row in rows:
        for name, values in numeric.items():
            text = row[name]
            if name in coded:
                values.append(coded[name].get(text, nan))
            else:
                values.append(float(text) if text else nan)
        for name, values in texts.items():
            text = row[name]
            values.append(distinct[name].setdefault(text, text))
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
