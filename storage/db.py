"""Opening connections, the pragmas every connection needs, and the one way to write."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

# How long a writer waits for another writer's lock before giving up. Writes here are a few
# rows each, so five seconds is far beyond any real wait and short enough to surface a fault.
BUSY_TIMEOUT_MS = 5000


class StorageError(RuntimeError):
    pass


def open_db(path: str | Path) -> sqlite_utils.Database:
    """A connection with WAL, foreign keys and synchronous=FULL.

    ``isolation_level=None`` leaves transactions to ``write()`` (BEGIN IMMEDIATE), instead of
    Python's implicit deferred BEGIN, whose lock upgrade can fail with SQLITE_BUSY mid-write.
    FULL makes WAL fsync at every commit: an answer the patient saw acknowledged survives a
    power cut.
    """
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA synchronous = FULL")
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if mode.lower() != "wal" and str(path) != ":memory:":
        raise StorageError(f"could not switch {path} to WAL (journal_mode is {mode})")
    return sqlite_utils.Database(conn)


@contextmanager
def write(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One write transaction, taking the write lock up front (BEGIN IMMEDIATE).

    Everything inside commits together or not at all: nothing partial is ever stored.
    """
    db.conn.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.conn.execute("ROLLBACK")
        raise
    db.conn.execute("COMMIT")


def init_db(path: str | Path) -> list[str]:
    """Create the database file if needed and apply pending migrations; returns their names."""
    from storage.migrations import MIGRATIONS

    Path(path).parent.mkdir(parents=True, exist_ok=True)
    db = open_db(path)
    try:
        pending = [migration.name for migration in MIGRATIONS.pending(db)]
        MIGRATIONS.apply(db)
        return pending
    finally:
        db.close()


def utc_iso(moment: datetime) -> str:
    """The one timestamp format stored: UTC, seconds, ISO 8601; sorts as text."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return moment.astimezone(timezone.utc).isoformat(timespec="seconds")


def parse_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(timezone.utc)
