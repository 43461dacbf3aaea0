"""Writing the scored dataset: long CSV, wide CSV, XLSX with its codebook, SPSS .sav, and the
codebook on its own (CSV, HTML).

The rows come as lists of text from reports/dataset_rows.py, streamed. CSV is written a chunk of
rows at a time and XLSX row by row (reports/export_xlsx.py), so memory stays flat; pyreadstat can
only write a whole DataFrame, so the .sav is built in memory (reports/export_sav.py).
"""
from __future__ import annotations

import html
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import TextIO

from questionnaires.protocol import Protocol
from reports import clinical_dataset, csv_text, dataset, dataset_rows
from reports.export_sav import write_sav
from reports.export_xlsx import CODEBOOK_FIELDS, codebook_rows_from, write_xlsx  # noqa: F401 (also export's API)


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


def _table(db, protocol: Protocol, fmt: str, identifiable: bool) -> tuple[Iterable[Sequence[str]], tuple[str, ...]]:
    """(rows as lists of cells, columns) of a CSV format: the data streamed from the database, or the codebook."""
    if fmt == "csv":
        return dataset_rows.long_lists(db, protocol, identifiable), dataset.columns(identifiable)
    if fmt == "wide-csv":
        return dataset_rows.wide_rows(db, protocol), dataset.wide_columns(protocol)
    if fmt == "codebook-csv":
        return _picked(codebook_rows(protocol, identifiable), CODEBOOK_FIELDS), CODEBOOK_FIELDS
    if fmt == "events-csv":
        names = clinical_dataset.event_columns(identifiable)
        return _picked(clinical_dataset.event_rows(db, protocol, identifiable), names), names
    raise ValueError(f"{fmt!r} is not a CSV format")


def text_chunks(db, protocol: Protocol, fmt: str, identifiable: bool = False) -> Iterator[str]:
    """A text format (CSV or a codebook) as chunks, for a streamed download."""
    if fmt == "codebook-html":
        yield codebook_html(protocol, identifiable)
    else:
        yield from table_chunks(*_table(db, protocol, fmt, identifiable))


def write_file(db, protocol: Protocol, fmt: str, path: Path, identifiable: bool = False) -> int | None:
    """Write one format to ``path``; returns the data rows written (None for a codebook)."""
    if fmt not in DOWNLOADS:
        raise ValueError(f"format must be one of {', '.join(DOWNLOADS)}")
    if fmt in ("xlsx", "sav"):
        write = write_xlsx if fmt == "xlsx" else write_sav
        return write(dataset_rows.long_lists(db, protocol, identifiable), dataset.codebook(protocol, identifiable),
                     path)
    if fmt == "codebook-html":
        path.write_text(codebook_html(protocol, identifiable), encoding="utf-8")
        return None
    with open(path, "w", encoding="utf-8", newline="") as out:
        count = write_table(*_table(db, protocol, fmt, identifiable), out)
    return None if DOWNLOADS[fmt].codebook else count


def _picked(rows: Iterable[Mapping[str, str]], fieldnames: Sequence[str]) -> Iterator[Sequence[str]]:
    """Dict rows as lists of cells in the columns' order, picked at C speed (a DictWriter looks
    each up in Python)."""
    if len(fieldnames) == 1:
        return ((row[fieldnames[0]],) for row in rows)
    return map(itemgetter(*fieldnames), rows)


def write_table(rows: Iterable[Sequence[str]], fieldnames: Iterable[str], out: TextIO) -> int:
    """Rows given as lists of cells in the columns' order, as CSV (csv_text: formula-like cells
    neutralised); returns the rows written."""
    count = 0
    for text, written in csv_text.chunks(rows, fieldnames):
        out.write(text)
        count += written
    return count


def write_csv(rows: Iterable[Mapping[str, str]], fieldnames: Iterable[str], out: TextIO) -> int:
    """Dict rows as CSV, in the columns' order; returns the rows written."""
    fieldnames = list(fieldnames)
    return write_table(_picked(rows, fieldnames), fieldnames, out)


def table_chunks(rows: Iterable[Sequence[str]], fieldnames: Iterable[str]) -> Iterator[str]:
    """``write_table``'s CSV as text chunks of about 64 KB, for a streamed HTTP response."""
    pending: list[str] = []
    size = 0
    for text, _ in csv_text.chunks(rows, fieldnames):
        pending.append(text)
        size += len(text)
        if size > 64 * 1024:
            yield "".join(pending)
            pending, size = [], 0
    yield "".join(pending)


def csv_chunks(rows: Iterable[Mapping[str, str]], fieldnames: Iterable[str]) -> Iterator[str]:
    """The CSV of dict rows as text chunks, for a streamed HTTP response."""
    fieldnames = list(fieldnames)
    return table_chunks(_picked(rows, fieldnames), fieldnames)


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
