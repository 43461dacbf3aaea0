"""Whole database files: the online copy a backup makes, the checks a copy must pass, the schema
version a file holds, and whether another process has a database open.

Unlike the rest of storage these functions take a file's path and open connections of their
own: they work on files that are not the app's database (a backup, a file to restore), on a
database that may not open at all (``flask check``), and the copy needs a connection that holds
one snapshot from start to end. The file moves around them are services/backup.py's.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlite_utils

from storage import faults
from storage.connection import BUSY_TIMEOUT_MS, StorageError
from storage.db import init_db
from storage.migrations import MIGRATIONS

# Pages copied per step of the backup (4 MiB at SQLite's default 4 KiB page). The GIL is released
# during a step; between steps the copy can report progress. Writers are never held up either
# way: in WAL mode a reader blocks no writer.
PAGES_PER_STEP = 1024
SQLITE_HEADER = b"SQLite format 3\x00"
# The unix VFS keeps a shared lock on this byte of the -shm file ("DMS", UNIX_SHM_BASE + 8 in
# SQLite's os_unix.c) for as long as a process has the WAL database open.
SHM_DMS_BYTE = 128
# What a problem list shows at most, in an error message.
PROBLEMS_SHOWN = 3


class DatabaseFileError(StorageError):
    """A database file cannot be used for what was asked: one line that names the file and says why.
    ``kind`` is one of storage.faults' kinds when SQLite itself failed (faults.CORRUPT: restore a backup)."""

    def __init__(self, message: str, kind: str | None = None):
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Schema:
    """Which of this app's migrations a file has had (in order), and which this code knows."""

    applied: tuple[str, ...]
    known: tuple[str, ...]

    @property
    def unknown(self) -> tuple[str, ...]:
        """Migrations a newer version of the app applied: this code cannot use the file."""
        return tuple(name for name in self.applied if name not in self.known)

    @property
    def pending(self) -> tuple[str, ...]:
        return tuple(name for name in self.known if name not in self.applied)

    @property
    def version(self) -> str:
        return f"{len(self.applied)} ({self.applied[-1]})" if self.applied else "0"


@dataclass(frozen=True)
class Summary:
    """What a database file holds: rows per table, and its schema."""

    rows: dict[str, int]
    schema: Schema


@contextmanager
def explained(path: str | Path) -> Iterator[None]:
    """Turns SQLite's failure on ``path`` into a DatabaseFileError naming the file; any other
    error (a constraint, a bad statement: a bug) goes on as it is."""
    try:
        yield
    except sqlite3.DatabaseError as exc:
        kind = faults.kind(exc)
        reason = {faults.CORRUPT: "is not a usable SQLite database", faults.LOCKED: "is locked by another process",
                  faults.FULL: "cannot grow: the disk is full",
                  faults.UNAVAILABLE: "cannot be opened, read or written"}.get(kind)
        if reason is None:
            raise
        raise DatabaseFileError(f"{path} {reason} ({exc})", kind) from None


def _connect(path: str | Path) -> sqlite3.Connection:
    """A plain connection to an existing file; never creates one (a missing file is an error)."""
    path = Path(path)
    if not path.is_file():
        raise DatabaseFileError(f"no database at {path}" if not path.exists() else f"{path} is not a file")
    connection = sqlite3.connect(path.absolute().as_uri() + "?mode=rw", uri=True, isolation_level=None,
                                 timeout=BUSY_TIMEOUT_MS / 1000)
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def _tables(connection: sqlite3.Connection) -> list[str]:
    return [name for (name,) in connection.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")]


def _rows(connection: sqlite3.Connection) -> dict[str, int]:
    return {table: connection.execute(f"SELECT COUNT(*) FROM {_quoted(table)}").fetchone()[0]
            for table in _tables(connection)}


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'



def _schema(connection: sqlite3.Connection, path: str | Path) -> Schema:
    """This app's migrations applied to the file; a DatabaseFileError when it is not this app's."""
    table = MIGRATIONS.migrations_table
    if connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone() is None:
        raise DatabaseFileError(f"{path} is not a database of this app (it has no {table} table)")
    applied = tuple(name for (name,) in connection.execute(
        f"SELECT name FROM {table} WHERE migration_set = ? ORDER BY rowid", [MIGRATIONS.name]))
    if not applied:
        raise DatabaseFileError(f"{path} is not a database of this app (no {MIGRATIONS.name} migration applied)")
    return Schema(applied, known_migrations())


def known_migrations() -> tuple[str, ...]:
    """Every migration this code has, in order: those pending on an empty database."""
    empty = sqlite_utils.Database(memory=True)
    try:
        return tuple(migration.name for migration in MIGRATIONS.pending(empty))
    finally:
        empty.close()


def _integrity(connection: sqlite3.Connection) -> list[str]:
    found = [row[0] for row in connection.execute("PRAGMA integrity_check")]
    return [] if found == ["ok"] else found


def _foreign_keys(connection: sqlite3.Connection) -> list[str]:
    return [f"{table} row {rowid}: its foreign key #{fkid} has no {parent} row"
            for table, rowid, parent, fkid in connection.execute("PRAGMA foreign_key_check")]


def copy_online(source: str | Path, target: str | Path,
                progress: Callable[[int, int], object] | None = None) -> Summary:
    """Copy the database at ``source`` into the (empty) file ``target`` with SQLite's backup API,
    while other connections go on writing; returns the source's rows and schema as of the copy.

    The copy reads inside one read transaction, begun before the rows are counted: in WAL mode
    that pins one snapshot, so the copy and the counts are of the same state, and writers carry
    on. (Without it, every commit by another connection between two steps would restart the copy
    from the first page, and under steady submissions it might never finish.) The copy is left in
    rollback-journal mode: one self-contained file, readable where it lies.
    ``progress(remaining, total)`` is called after each step, with pages.
    """
    with explained(source):
        connection = _connect(source)
        try:
            connection.execute("BEGIN")
            summary = Summary(_rows(connection), _schema(connection, source))
            with explained(target):
                copy = sqlite3.connect(target, isolation_level=None)
                try:
                    connection.backup(copy, pages=PAGES_PER_STEP,
                                      progress=None if progress is None else
                                      lambda _status, remaining, total: progress(remaining, total))
                    copy.execute("PRAGMA journal_mode = DELETE")
                finally:
                    copy.close()
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    return summary


def verify(path: str | Path, name: str | Path | None = None) -> Summary:
    """Check a copy: it opens as SQLite, passes ``PRAGMA integrity_check`` and is a database of
    this app; returns its rows and schema (a newer schema is for the caller to refuse).
    name: the file to name in an error (the copy's original), if not ``path``."""
    name = name or path
    with explained(name):
        connection = _connect(path)
        try:
            problems = _integrity(connection)
            if problems:
                raise DatabaseFileError(f"{name} fails SQLite's integrity check: {_shown(problems)}", faults.CORRUPT)
            return Summary(_rows(connection), _schema(connection, name))
        finally:
            connection.close()


def problems(path: str | Path) -> tuple[list[str], Schema | None]:
    """What ``PRAGMA integrity_check`` and ``PRAGMA foreign_key_check`` find in the database at
    ``path`` (empty: none), and its schema when it is this app's (else None)."""
    with explained(path):
        connection = _connect(path)
        try:
            found = _integrity(connection) + _foreign_keys(connection)
            try:
                schema = _schema(connection, path)
            except DatabaseFileError as exc:
                return found + [str(exc)], None
            return found, schema
        finally:
            connection.close()


def initialize(path: str | Path) -> list[str]:
    """storage.db.init_db (create, apply pending migrations), with SQLite's failure on the file
    (not a database, corrupt, unreadable) a DatabaseFileError naming it."""
    with explained(path):
        return init_db(path)


def in_use_elsewhere(path: str | Path) -> bool:
    """Whether another process has the WAL database at ``path`` open (a web worker, the scheduler).

    It tries the lock every open connection's process holds on the -shm file. Only for a
    database this process has not opened: closing the probe's descriptor drops this process's
    own POSIX locks on that file. A process that opens a connection only now and then (a cron
    pass) is seen only while it has one open.
    """
    try:
        fd = os.open(f"{path}-shm", os.O_RDWR)
    except OSError:
        return False    # no -shm: nobody has it open; or one we may not lock: the moves will say so
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, SHM_DMS_BYTE)
    except OSError:
        return True
    finally:
        os.close(fd)
    return False


def is_sqlite_file(path: str | Path) -> bool:
    """Whether ``path`` is a regular file that starts with SQLite's header."""
    path = Path(path)
    if path.is_symlink() or not path.is_file():
        return False
    try:
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except OSError:
        return False


def _shown(found: list[str]) -> str:
    more = f" (and {len(found) - PROBLEMS_SHOWN} more)" if len(found) > PROBLEMS_SHOWN else ""
    return "; ".join(found[:PROBLEMS_SHOWN]) + more
