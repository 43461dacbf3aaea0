"""Import of the long CSV at 200, 2,000 and 20,000 participants, beside a floor.

Usage: .venv/bin/python benchmarks/import_scale.py [--sizes 200 2000 20000] [--profile SIZE]

A simulated trial (tests/trial_data.py, cached in /tmp/pro-benchmarks) is exported once per size
as the long CSV, and that file is imported as `flask dataset import` imports it: read the bytes,
validate every row, store it all in one transaction. Each run imports into a fresh empty database
(init_db on a new file, prepared outside the timing).

The floor is the least the same job can cost on this machine: the same file read with
csv.reader and its rows inserted with one executemany into an empty table of the same columns,
in one transaction, on a connection with the app's pragmas (WAL, synchronous=FULL). The import
does more (validation, scoring, JSON answers, participants, the audit log, the newest_answers
trigger), so its ratio is what that work costs beyond moving the rows. Seconds are the best of
three, with nothing tracing; peak MB is the rise of the resident set during one more run of its own.

A second line, "storage alone", writes the rows the import stored (participants, their audit
entries, the answers) with the import's own statements (storage.bulk) into a fresh database, with
nothing parsed or validated: the part of the import that is SQLite's, against the same floor.
"""
from __future__ import annotations

import argparse
import cProfile
import csv
import pstats
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from _harness import HEADER, SIZES, line, peak_mb, seconds, trial_database

from app import create_app
from services import dataset as dataset_service
from storage import audit, bulk, init_db, write
from storage.connection import open_db

NOW = datetime(2026, 1, 1, tzinfo=UTC)
REPEAT = 3


def export_csv(size: int, directory: Path) -> Path:
    path = trial_database(size)
    app = create_app({"DATABASE": str(path), "TESTING": True})
    target = directory / f"long-{size}.csv"
    db = open_db(path)
    try:
        with app.app_context():
            dataset_service.export_dataset(db, app.extensions["protocol"], "csv", target, actor="bench", now=NOW)
    finally:
        db.close()
    return target


def fresh_databases(directory: Path, name: str, prepare: Callable[[Path], None]) -> Iterator[Path]:
    """An endless supply of new database files, each prepared before it is handed out."""
    number = 0
    while True:
        number += 1
        path = directory / f"fresh-{name}-{number}.sqlite3"
        prepare(path)
        yield path


def import_once(protocol, source: Path, target: Path) -> None:
    db = open_db(target)
    try:
        dataset_service.import_dataset(db, protocol, source.read_bytes(), actor="bench", now=NOW)
    finally:
        db.close()


def stored_rows(path: Path) -> tuple[list[dict], list[tuple]]:
    """The participants and answers an import stored, as storage.bulk takes them."""
    connection = sqlite3.connect(str(path))
    participants = [dict(zip(bulk.PARTICIPANT_COLUMNS, row)) for row in connection.execute(
        f"SELECT {', '.join(bulk.PARTICIPANT_COLUMNS)} FROM participants ORDER BY id")]
    answers = connection.execute(f"SELECT {', '.join(bulk.STAGED_COLUMNS)} FROM responses ORDER BY id").fetchall()
    connection.close()
    return participants, answers


def store_once(participants: list[dict], answers: list[tuple], target: Path) -> None:
    db = open_db(target)
    try:
        with write(db):
            bulk.insert_participants(db, participants)
            audit.record_many(db, [audit.Entry(NOW, "bench", "enroll", "participant", row["study_id"],
                                               after={"arm": row["arm"], "source": "import"}) for row in participants])
            bulk.insert_first_versions(db, answers)
    finally:
        db.close()


def floor_table(columns: list[str]) -> Callable[[Path], None]:
    def prepare(path: Path) -> None:
        connection = _connect(path)
        connection.execute(f"CREATE TABLE rows ({', '.join(f'{name!r}' for name in columns)})")
        connection.close()
    return prepare


def floor_once(source: Path, target: Path) -> None:
    connection = _connect(target)
    with open(source, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(f"INSERT INTO rows VALUES ({', '.join('?' * len(header))})", reader)
        connection.execute("COMMIT")
    connection.close()


def _connect(path: Path) -> sqlite3.Connection:
    """The app's pragmas (storage.connection.open_db), on a bare sqlite3 connection."""
    connection = sqlite3.connect(str(path), isolation_level=None)
    connection.execute("PRAGMA synchronous = FULL")
    connection.execute("PRAGMA journal_mode = WAL")
    return connection


def timed(run: Callable[[Path], None], supply: Iterator[Path]) -> tuple[float, float]:
    """Best of REPEAT runs and the peak of one more, each on a database of its own."""
    prepared = [next(supply) for _ in range(REPEAT + 1)]
    took = seconds(lambda: run(prepared.pop()), REPEAT)
    return took, peak_mb(lambda: run(prepared.pop()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--profile", type=int, metavar="SIZE", help="print a cProfile of one import instead")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="import-scale-") as tmp:
        directory = Path(tmp)
        protocol = create_app({"DATABASE": str(directory / "unused.sqlite3"), "TESTING": True}).extensions["protocol"]
        if args.profile:
            source = export_csv(args.profile, directory)
            target = directory / "profiled.sqlite3"
            init_db(target)
            profile = cProfile.Profile()
            profile.runcall(import_once, protocol, source, target)
            pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
            pstats.Stats(profile).sort_stats("tottime").print_stats(25)
            return
        print(HEADER)
        for size in args.sizes:
            measure(size, directory, protocol)
            for leftover in directory.glob("fresh-*"):
                leftover.unlink()


def measure(size: int, directory: Path, protocol) -> None:
    """Print the import's line and the storage-alone line for one size."""
    source = export_csv(size, directory)
    with open(source, encoding="utf-8-sig", newline="") as handle:
        columns = next(csv.reader(handle))
    floor_s, floor_peak = timed(lambda target: floor_once(source, target),
                                fresh_databases(directory, f"floor-{size}", floor_table(columns)))
    imports = fresh_databases(directory, f"import-{size}", init_db)
    import_s, import_peak = timed(lambda target: import_once(protocol, source, target), imports)
    imported = next(imports)
    import_once(protocol, source, imported)
    participants, answers = stored_rows(imported)
    store_s, store_peak = timed(lambda target: store_once(participants, answers, target),
                                fresh_databases(directory, f"store-{size}", init_db))
    print(line("import, long CSV", size, import_s, import_peak, floor_s, floor_peak))
    print(line("  storage alone", size, store_s, store_peak, floor_s, floor_peak), flush=True)

if __name__ == "__main__":
    main()
