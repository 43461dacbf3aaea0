"""Exports of the scored dataset at 200, 2,000 and 20,000 participants, each beside its floor.

Usage: .venv/bin/python benchmarks/export_scale.py [--sizes 200 2000 20000] [--formats csv wide-csv xlsx sav]

The simulated trial (tests/trial_data.py with the clinician forms) is built once per size and kept
in /tmp/pro-benchmarks. Each export is written as `flask dataset export` writes it. Floors, in the
same run on the same machine:
- csv, wide-csv: one SELECT of the same newest answers (with their participant) written by
  csv.writer: reading the data and writing a CSV, with no scoring, pivot or formatting;
- xlsx: the chosen writer (rustpy-xlsxwriter) writing the same rows, already built, with the
  codebook sheet; openpyxl's and XlsxWriter's fastest modes on the same rows are printed too;
- sav: pyreadstat writing the same columns from a prepared DataFrame.
Seconds are the best of two, with nothing tracing; peak MB is the resident set's rise in a run of
its own.
"""
from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _harness import HEADER, SIZES, line, peak_mb, seconds, trial_database
from app import create_app
from reports import dataset, export
from storage.connection import open_db

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)


def csv_floor(path: Path, target: Path) -> None:
    connection = sqlite3.connect(path)
    with open(target, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerows(connection.execute(
            "SELECT p.study_id, p.arm, r.timepoint, r.instrument, r.answers, r.scores, r.source, r.submitted_at "
            "FROM newest_answers n JOIN responses r ON r.id = n.response_id "
            "JOIN participants p ON p.id = n.participant_id ORDER BY p.study_id"))
    connection.close()


def prepared(db, protocol):
    """The long rows as typed cells (what a writer is fed), the column names and the codebook."""
    variables = dataset.codebook(protocol)
    names = [v.name for v in variables]
    kinds = [v.type for v in variables]
    rows = [[export._typed(row[name], kind) for name, kind in zip(names, kinds)]
            for row in dataset.long_rows(db, protocol)]
    codebook = [[entry[field] for field in export.CODEBOOK_FIELDS] for entry in export.codebook_rows_from(variables)]
    return names, rows, codebook


def xlsx_rust(names, rows, codebook, target: Path) -> None:
    from rustpy_xlsxwriter import FastExcel
    FastExcel(str(target)).sheet("data", (dict(zip(names, row)) for row in rows)).sheet(
        "codebook", (dict(zip(export.CODEBOOK_FIELDS, entry)) for entry in codebook)).save()


def xlsx_openpyxl(names, rows, codebook, target: Path) -> None:
    from openpyxl import Workbook
    book = Workbook(write_only=True)
    sheet = book.create_sheet("data")
    sheet.append(names)
    for row in rows:
        sheet.append(row)
    book.save(target)


def xlsx_xlsxwriter(names, rows, codebook, target: Path) -> None:
    import xlsxwriter
    book = xlsxwriter.Workbook(str(target), {"constant_memory": True})
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, names)
    for index, row in enumerate(rows, 1):
        sheet.write_row(index, 0, row)
    book.close()


def sav_floor(names, rows, target: Path) -> None:
    import pandas as pd
    import pyreadstat
    frame = pd.DataFrame.from_records(rows, columns=names)
    pyreadstat.write_sav(frame, str(target))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--formats", nargs="+", default=["csv", "wide-csv", "xlsx", "sav"])
    args = parser.parse_args()
    print(HEADER)
    for size in args.sizes:
        path = trial_database(size, clinical=True)
        app = create_app({"DATABASE": str(path), "TESTING": True})
        protocol = app.extensions["protocol"]
        db = open_db(path)
        with tempfile.TemporaryDirectory() as tmp:
            out, floor_out = Path(tmp) / "export", Path(tmp) / "floor"
            names = rows = codebook = None
            for fmt in args.formats:
                def run(fmt=fmt):
                    export.write_file(db, protocol, fmt, out)
                took, peak = seconds(run, 2), peak_mb(run)
                if fmt in ("csv", "wide-csv"):
                    floor = seconds(lambda: csv_floor(path, floor_out), 2)
                    floor_peak = peak_mb(lambda: csv_floor(path, floor_out))
                else:
                    if rows is None:
                        names, rows, codebook = prepared(db, protocol)
                    if fmt == "xlsx":
                        for other in (xlsx_openpyxl, xlsx_xlsxwriter):
                            spent = seconds(lambda other=other: other(names, rows, codebook, floor_out))
                            print(f"  {other.__name__.replace('xlsx_', 'writer: ')}: {spent:.2f} s on the same rows")
                        work = lambda: xlsx_rust(names, rows, codebook, floor_out)  # noqa: E731
                    else:
                        work = lambda: sav_floor(names, rows, floor_out)  # noqa: E731
                    floor, floor_peak = seconds(work, 2), peak_mb(work)
                print(line(f"export, {fmt}", size, took, peak, floor, floor_peak))
        db.close()


if __name__ == "__main__":
    main()
