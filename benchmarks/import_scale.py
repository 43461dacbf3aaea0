"""Import of the long CSV at 200, 2,000 and 20,000 participants, beside two floors.

Usage: .venv/bin/python benchmarks/import_scale.py [--sizes 200 2000 20000] [--profile SIZE]

A simulated trial (tests/trial_data.py, cached in /tmp/pro-benchmarks) is exported once per size
as the long CSV, and that file is imported as `flask dataset import` imports it: read the bytes,
validate every row, store it all in one transaction. Each run imports into a fresh empty database
(init_db on a new file, prepared outside the timing). Seconds are the best of three, with
nothing tracing; peak MB is the rise of the resident set during one more run of its own.

Floor 1, "floor s" on the import's line: the same file read with csv.reader and its rows
inserted with one executemany into an empty table of the file's columns, in one transaction, on
a connection with the app's pragmas (WAL, synchronous=FULL). It moves the bytes and nothing
else: no validation, scoring or JSON, and none of the schema's work (participants, the audit
log, the responses' JSON checks and unique index, the newest_answers trigger), so the import's
ratio to it is what all of that costs.

Floor 2, "stored rows": exactly the rows the import stored (participants, their audit entries
and the import's own, the answers), read back from an imported database and written by plain
sqlite3 into the app's empty schema (a fresh init_db file, foreign keys on, the app's pragmas),
in one transaction with no app code: participants and audit entries by executemany, and the
answers by executemany too ("executemany") or, as the import does, through a temporary table
and one INSERT ... SELECT ("staged"), whichever is cheaper being the floor; the responses
trigger fills newest_answers in both. It is the storing the import cannot avoid, so
"import / floor 2" is what reading, validating, scoring and encoding add to it.

A line "storage alone" writes the same rows with the import's own statements (storage.bulk,
storage.audit.record_many) with nothing parsed or validated: the app's storing against floor 1.
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
    # As the import's parse holds them (bulk.STAGED_COLUMNS): the response's id for its file row.
    answers = connection.execute(
        "SELECT r.id, p.study_id, r.timepoint, r.instrument, r.answers, r.scores, r.input_mode "
        "FROM responses r JOIN participants p ON p.id = r.participant_id ORDER BY r.id").fetchall()
    connection.close()
    return participants, answers


def store_once(participants: list[dict], answers: list[tuple], versions: dict[str, str], target: Path) -> None:
    db = open_db(target)
    try:
        with write(db):
            bulk.insert_participants(db, participants)
            audit.record_many(db, [audit.Entry(NOW, "bench", "enroll", "participant", row["study_id"],
                                               after={"arm": row["arm"], "source": "import"}) for row in participants])
            bulk.insert_first_versions(db, answers, versions=versions, source="paper", submitted_at=NOW,
                                       recorded_by="bench")
    finally:
        db.close()


# The tables an import writes, and the columns it sets in each, for the stored-rows floor.
STORED_TABLES = {
    "participants": bulk.PARTICIPANT_COLUMNS,
    "audit_log": ("at", "actor", "action", "entity", "entity_id", "before", "after", "reason"),
    "responses": ("participant_id", "timepoint", "instrument", "instrument_version", "answers", "scores", "input_mode",
                  "source", "submitted_at", "recorded_by", "version"),
}


def stored_tables(path: Path) -> dict[str, list[tuple]]:
    """Every row an import stored in the tables it writes (newest_answers is the trigger's), in id order."""
    connection = sqlite3.connect(str(path))
    rows = {table: connection.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY id").fetchall()
            for table, columns in STORED_TABLES.items()}
    connection.close()
    return rows


def stored_floor_once(rows: dict[str, list[tuple]], target: Path, *, staged: bool) -> None:
    """The same stored rows into the app's empty schema: plain sqlite3, no app code, one
    transaction; the responses_newest trigger fills newest_answers as it does for the import.
    ``staged``: the answers through a temporary table and one INSERT ... SELECT."""
    connection = _connect(target)
    connection.execute("PRAGMA foreign_keys = ON")
    connection.execute("BEGIN IMMEDIATE")
    for table, columns in STORED_TABLES.items():
        names, marks = ", ".join(columns), ", ".join("?" * len(columns))
        if staged and table == "responses":
            connection.execute(f"CREATE TEMP TABLE staged ({names})")
            connection.executemany(f"INSERT INTO staged VALUES ({marks})", rows[table])
            connection.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM staged ORDER BY rowid")
            connection.execute("DROP TABLE staged")
        else:
            connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows[table])
    connection.execute("COMMIT")
    connection.close()


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
    versions = {name: instrument.version for name, instrument in protocol.instruments.items()}
    store_s, store_peak = timed(lambda target: store_once(participants, answers, versions, target),
                                fresh_databases(directory, f"store-{size}", init_db))
    tables = stored_tables(imported)
    stored = {plan: timed(lambda target, plan=plan: stored_floor_once(tables, target, staged=plan == "staged"),
                          fresh_databases(directory, f"stored-{plan}-{size}", init_db))
              for plan in ("executemany", "staged")}
    floor2_s, floor2_peak = min(stored.values())
    print(line("import, long CSV", size, import_s, import_peak, floor_s, floor_peak))
    print(line("  storage alone", size, store_s, store_peak, floor_s, floor_peak))
    for plan, (plan_s, plan_peak) in stored.items():
        print(line(f"  floor 2, {plan}", size, plan_s, plan_peak, floor_s, floor_peak))
    print(line("import / floor 2", size, import_s, import_peak, floor2_s, floor2_peak), flush=True)

if __name__ == "__main__":
    main()
