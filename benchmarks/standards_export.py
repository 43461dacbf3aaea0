"""The standards exports (ODM, SDTM QS as .xpt and CSV, FHIR) at 200, 2,000 and 20,000
participants, each beside the long CSV export of the same trial.

Usage: .venv/bin/python benchmarks/standards_export.py [--sizes 200 2000 20000] [--formats odm sdtm-qs ...]
       [--identifiable] [--repeat 2]

The floor is the long CSV export (`dataset export --format csv`): every standards format reads the
long CSV's rows and then writes more (XML through odmlib, a DataFrame for pyreadstat, JSON), so
the long CSV is what it cannot beat. The simulated trial (tests/trial_data.py, with the clinician
forms) is built once per size and kept in /tmp/pro-benchmarks. Seconds are the best of --repeat
runs with nothing tracing. Peak MB is the resident set's rise during one export in a fresh
interpreter of its own (libraries imported first): measured after other exports in the same
process, it would hide behind the memory they left to the allocator.
"""
from __future__ import annotations

import argparse
import multiprocessing
import queue
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from _harness import HEADER, SIZES, line, peak_mb, seconds, trial_database

NOW = datetime(2026, 1, 1, tzinfo=timezone.utc)
FORMATS = ("odm", "sdtm-qs", "sdtm-qs-csv", "fhir")


def export(path: Path, fmt: str, identifiable: bool, target: Path) -> None:
    from app import create_app
    from reports import export as long_export
    from reports import standards
    from storage.connection import open_db

    protocol = create_app({"DATABASE": str(path), "TESTING": True}).extensions["protocol"]
    db = open_db(path)
    try:
        if fmt == "csv":
            long_export.write_file(db, protocol, "csv", target, identifiable)
        else:
            standards.write_file(db, protocol, fmt, target, now=NOW, identifiable=identifiable)
    finally:
        db.close()


def _peak_in_child(path: Path, fmt: str, identifiable: bool, target: Path, result) -> None:
    import odmlib.odm_1_3_2.model  # noqa: F401  the libraries are loaded before the measure starts
    import pandas  # noqa: F401
    import pyreadstat  # noqa: F401

    import app  # noqa: F401
    result.put(peak_mb(lambda: export(path, fmt, identifiable, target)))


def peak(path: Path, fmt: str, identifiable: bool, target: Path) -> float:
    context = multiprocessing.get_context("spawn")
    result = context.Queue()
    child = context.Process(target=_peak_in_child, args=(path, fmt, identifiable, target, result))
    child.start()
    while child.is_alive() or not result.empty():
        try:
            return result.get(timeout=1)
        except queue.Empty:
            continue
    raise RuntimeError(f"the {fmt} export died in its own process (exit code {child.exitcode})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--identifiable", action="store_true", help="ODM with the audit trail, FHIR with Patients")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    from reports import standards

    print(HEADER)
    for size in args.sizes:
        path = trial_database(size, clinical=True)
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "export"
            floor_s = seconds(lambda: export(path, "csv", args.identifiable, out), args.repeat)
            floor_mb = peak(path, "csv", args.identifiable, out)
            for fmt in args.formats:
                identifiable = args.identifiable and fmt in standards.IDENTIFIABLE
                took = seconds(lambda fmt=fmt: export(path, fmt, identifiable, out), args.repeat)
                label = f"{fmt}{' (identifiable)' if identifiable else ''}"
                print(line(label, size, took, peak(path, fmt, identifiable, out), floor_s, floor_mb),
                      f"  {out.stat().st_size / 1e6:.0f} MB file", flush=True)


if __name__ == "__main__":
    main()
