"""Exports of the scored dataset at 200, 2,000 and 20,000 participants, each beside its floor.

Usage: .venv/bin/python benchmarks/export_scale.py [--sizes 200 2000 20000] [--formats csv wide-csv xlsx sav]

The simulated trial (tests/trial_data.py with the clinician forms) is built once per size and kept
in /tmp/pro-benchmarks. Each export is written as `flask dataset export` writes it. Floors, in the
same run on the same machine:
- csv: one SELECT that gives the same rows (every participant x every protocol timepoint, with
  the same columns: the answers' items and scores taken out of their JSON, the windows, the
  participant and the newest clinician forms, numbers formatted by printf) written by csv.writer:
  the plain library doing the same job, short of the few values SQL cannot derive as the app does
  (NSAID reduction, correction reasons, effective dose, deviations). Printed beside it, a lower
  bound: one SELECT of the newest answers as stored (one row per answer, JSON as is), written by
  csv.writer, with no pivot and no formatting at all;
- wide-csv: the same pivot and the same lower bound;
- xlsx: the same pivot, with numbers as numbers, fed to the chosen writer (rustpy-xlsxwriter) with
  the codebook sheet: reading and writing, as the export does. Printed beside it, the writer alone
  on the export's own rows already built and typed (no reading at all); with --writers,
  openpyxl's and XlsxWriter's fastest modes on those rows too;
- sav: the same pivot into a DataFrame written by pyreadstat; beside it, pyreadstat alone on a
  DataFrame of the export's rows already built.
Seconds (wall clock; with --cpu, this process's CPU time) are the best of --repeat runs (3), the
export's and its floor's taken in turn so that both meet the same load on a shared machine, with
nothing tracing; peak MB is the resident set's rise in a run of its own.
"""
from __future__ import annotations

import argparse
import csv
import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from _harness import HEADER, SIZES, line, paired, peak_mb, seconds, trial_database, use_cpu_time

from app import create_app
from questionnaires.medication import MAX_ROWS
from questionnaires.odi import FIELDS as ODI_FIELDS
from reports import dataset, dataset_rows, export
from reports.export_xlsx import NUMBER_TYPES
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


CRF_FIELDS = {"baseline": ("age", "sex", "root_l3", "root_l4", "root_l5"),
              "procedure": ("guidance", "punctures", "injected_l3", "injected_l4", "injected_l5", "si_side",
                            "operative_min", "dap_mgycm2", "fluoro_time_s", "ctdivol_mgy", "dlp_mgycm",
                            "contrast_extravasation", "dexamethasone_mg", "lidocaine_mg", "bupivacaine_mg",
                            "methylprednisolone_mg")}


# The channel of the newest reminder message accepted before the window was completed.
REMINDER_CHANNEL = ("(SELECT m.channel FROM reminders r CROSS JOIN messages m ON m.reminder_id = r.id "
                    "WHERE r.participant_id = p.id AND r.timepoint = tp.id AND m.direction = 'outbound' "
                    "AND m.sent_at IS NOT NULL AND m.status NOT IN ('failed', 'undelivered') "
                    "AND t.completed_at IS NOT NULL AND m.sent_at <= t.completed_at "
                    "ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)")


def pivot_sql(protocol, typed: bool = False) -> str:
    """One SELECT giving the long file's rows, as far as SQL goes: numbers formatted as text, or
    (``typed``) as SQLite holds them, for a writer that takes numbers."""
    def number(expression: str, places: int) -> str:
        if typed:
            return expression
        return f"CASE WHEN {expression} IS NOT NULL THEN printf('%.{places}f', {expression}) END"

    timepoints = ", ".join(f"('{tp.id}', {index})" for index, tp in enumerate(protocol.timepoints))
    instruments = {"vas": "v", "odi": "o", "satisfaction": "s", "medication": "m"}
    joins = "".join(f"LEFT JOIN newest_answers n{a} ON n{a}.participant_id = p.id AND n{a}.timepoint = tp.id "
                    f"AND n{a}.instrument = '{name}' LEFT JOIN responses r{a} ON r{a}.id = n{a}.response_id "
                    for name, a in instruments.items())
    forms = "".join(f"LEFT JOIN crf_records {form[0]}f ON {form[0]}f.participant_id = p.id AND {form[0]}f.form = "
                    f"'{form}' AND {form[0]}f.version = (SELECT MAX(version) FROM crf_records x WHERE "
                    f"x.participant_id = p.id AND x.form = '{form}' AND x.item = 0) " for form in CRF_FIELDS)
    items = ", ".join(f"json_extract(rm.answers, '$.items[{i}].drug'), "
                      f"{number(f'json_extract(rm.answers, {chr(39)}$.items[{i}].strength_mg{chr(39)})', 2)}, "
                      f"json_extract(rm.answers, '$.items[{i}].doses_per_day')" for i in range(MAX_ROWS))
    crf = ", ".join(f"json_extract({form[0]}f.data, '$.{field}')" for form, fields in CRF_FIELDS.items()
                    for field in fields)
    odi = ", ".join(f"json_extract(ro.answers, '$.{field}')" for field in ODI_FIELDS)
    return (f"WITH tp(id, position) AS (VALUES {timepoints}) "
            f"SELECT p.study_id, p.arm, tp.id, {number('nv.vas_cm', 1)}, {odi}, {number('no.odi_score', 2)}, "
            f"ns.sat_procedure, ns.sat_results, {number('nm.nsaid_mg_day', 2)}, {number('nm.mme_mg_day', 2)}, "
            "json_extract(rv.scores, '$.vas_mode'), json_extract(ro.scores, '$.odi_answered'), "
            "json_extract(ro.scores, '$.odi_band'), json_extract(rm.scores, '$.paracetamol_mg_day'), "
            f"json_extract(rm.answers, '$.took_any'), {items}, t.completed_at, {REMINDER_CHANNEL}, "
            "max(rv.submitted_at, ro.submitted_at, rs.submitted_at, rm.submitted_at), "
            "rtrim(COALESCE(rv.source || ',', '') || COALESCE(ro.source || ',', '') || COALESCE(rs.source || ',', '') "
            "|| COALESCE(rm.source, ''), ','), "
            "rv.instrument_version, ro.instrument_version, rs.instrument_version, rm.instrument_version, "
            f"p.punctures, p.stratum, p.allocation, p.status, {crf}, "
            "max(nv.version, no.version, ns.version, nm.version) "
            "FROM participants p CROSS JOIN tp LEFT JOIN timepoints t ON t.participant_id = p.id "
            f"AND t.timepoint = tp.id {joins}{forms}ORDER BY p.study_id, tp.position")


def pivot_floor(path: Path, protocol, target: Path) -> None:
    connection = sqlite3.connect(path)
    with open(target, "w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\n").writerows(connection.execute(pivot_sql(protocol)))
    connection.close()


@contextmanager
def pivot_rows(path: Path, protocol) -> Iterator[tuple[list[str], Iterator[tuple]]]:
    """The pivot's typed rows, streamed, and a name for each of its columns."""
    connection = sqlite3.connect(path)
    try:
        cursor = connection.execute(pivot_sql(protocol, typed=True))
        yield [f"v{index}" for index in range(len(cursor.description))], cursor
    finally:
        connection.close()


def xlsx_floor(path: Path, protocol, codebook, target: Path) -> None:
    """The pivot's rows straight into the chosen writer, with the codebook sheet."""
    with pivot_rows(path, protocol) as (names, rows):
        xlsx_rust(names, rows, codebook, target)


def sav_pivot_floor(path: Path, protocol, target: Path) -> None:
    """The pivot's rows into a DataFrame, and pyreadstat writing it."""
    with pivot_rows(path, protocol) as (names, rows):
        sav_floor(names, rows, target)


def typed(text: str, kind: str):
    """A cell as the XLSX holds it (reports/export_xlsx.py): a number, text, or None when blank."""
    if not text:
        return None
    return NUMBER_TYPES[kind](text) if kind in NUMBER_TYPES else text


def prepared(db, protocol):
    """The long rows as typed cells (what a writer is fed), the column names and the codebook."""
    variables = dataset.codebook(protocol)
    names = [v.name for v in variables]
    kinds = [v.type for v in variables]
    rows = [[typed(cell, kind) for cell, kind in zip(row, kinds)] for row in dataset_rows.long_lists(db, protocol)]
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
    parser.add_argument("--cpu", action="store_true", help="time by this process's CPU time, not the wall clock")
    parser.add_argument("--writers", action="store_true", help="also time openpyxl and XlsxWriter on the rows")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, taken in turn; the best counts")
    args = parser.parse_args()
    if args.cpu:
        use_cpu_time()
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
                peak = peak_mb(run)
                if fmt in ("csv", "wide-csv"):
                    work = lambda: pivot_floor(path, protocol, floor_out)  # noqa: E731
                    took, floor = paired(run, work, args.repeat)
                    floor_peak = peak_mb(work)
                    bound = seconds(lambda: csv_floor(path, floor_out), args.repeat)
                    print(f"  lower bound, the stored answers as they are: {bound:.2f} s ({took / bound:.2f}x)")
                else:
                    if rows is None:
                        names, rows, codebook = prepared(db, protocol)
                    if fmt == "xlsx":
                        for other in (xlsx_openpyxl, xlsx_xlsxwriter) if args.writers else ():
                            spent = seconds(lambda other=other: other(names, rows, codebook, floor_out))
                            print(f"  {other.__name__.replace('xlsx_', 'writer: ')}: {spent:.2f} s on the same rows")
                        alone = lambda: xlsx_rust(names, rows, codebook, floor_out)  # noqa: E731
                        work = lambda: xlsx_floor(path, protocol, codebook, floor_out)  # noqa: E731
                    else:
                        alone = lambda: sav_floor(names, rows, floor_out)  # noqa: E731
                        work = lambda: sav_pivot_floor(path, protocol, floor_out)  # noqa: E731
                    took, floor = paired(run, work, args.repeat)
                    floor_peak = peak_mb(work)
                    writer = seconds(alone, args.repeat)
                    print(f"  the writer alone on the export's rows, built: {writer:.2f} s ({took / writer:.2f}x)")
                print(line(f"export, {fmt}", size, took, peak, floor, floor_peak))
        db.close()


if __name__ == "__main__":
    main()
