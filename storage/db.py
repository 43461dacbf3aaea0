"""The one way to write (BEGIN IMMEDIATE), creating the database, and the stored time format."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from storage import connection


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
    db = connection.open_db(path)
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
