"""Writing the scored dataset: long CSV, wide CSV, XLSX with its codebook, SPSS .sav, and the
codebook on its own (CSV, HTML).

CSV and XLSX are written row by row from the streamed rows, so memory stays flat. pyreadstat can
only write a whole DataFrame, so the .sav is built in memory: about 150 bytes a row, some 20 MB
for 20,000 participants x 6 timepoints.
"""
from __future__ import annotations

import csv
import html
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

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


def write_csv(rows: Iterable[dict[str, str]], fieldnames: Iterable[str], out: TextIO) -> int:
    writer = csv.DictWriter(out, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    return count


def csv_chunks(rows: Iterable[dict[str, str]], fieldnames: Iterable[str]) -> Iterator[str]:
    """The same CSV as text chunks, for a streamed HTTP response."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(fieldnames), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
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
    """A "data" sheet (numbers as numbers) and a "codebook" sheet; write-only, so streamed."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    data = book.create_sheet("data")
    names = [v.name for v in variables]
    data.append(names)
    kinds = {v.name: v.type for v in variables}
    count = 0
    for row in rows:
        data.append([_typed(row[name], kinds[name]) for name in names])
        count += 1
    sheet = book.create_sheet("codebook")
    sheet.append(list(CODEBOOK_FIELDS))
    for entry in codebook_rows_from(variables):
        sheet.append([entry[field] for field in CODEBOOK_FIELDS])
    book.save(path)
    return count


def codebook_rows_from(variables: list[dataset.Variable]) -> list[dict[str, str]]:
    return [{"name": v.name, "label": v.label, "type": v.type, "unit": v.unit,
             "allowed": v.allowed or "; ".join(f"{value} = {label}" for value, label in v.value_labels),
             "instrument": v.instrument, "timepoints": v.timepoints, "derivation": v.derivation} for v in variables]


def _typed(text: str, kind: str):
    if text == "":
        return None
    if kind == "integer":
        return int(text)
    if kind == "decimal":
        return float(text)
    return text


def write_sav(rows: Iterable[dict[str, str]], variables: list[dataset.Variable], path: Path) -> int:
    """SPSS .sav with variable labels, and value labels for arm, timepoint and satisfaction.

    SPSS value labels need numeric codes for string categories, so every string variable with
    value labels (arm, timepoint, the clinician categories) is coded 1, 2, ... in its levels'
    order, with the codes' meanings as value labels.
    """
    import pandas as pd
    import pyreadstat

    coded = {v.name: {code: index for index, (code, _) in enumerate(v.value_labels, 1)}
             for v in variables if v.value_labels and isinstance(v.value_labels[0][0], str)}
    columns: dict[str, list] = {v.name: [] for v in variables}
    for row in rows:
        for v in variables:
            text = row[v.name]
            if v.name in coded:
                columns[v.name].append(coded[v.name].get(text))
            elif v.type in ("integer", "decimal"):
                columns[v.name].append(None if text == "" else float(text))
            else:
                columns[v.name].append(text)
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
