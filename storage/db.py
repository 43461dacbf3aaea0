"""The one way to write (BEGIN IMMEDIATE), creating the database, and the stored time format."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
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


def roll_back_open(db: sqlite_utils.Database) -> bool:
    """Roll back a transaction left open (a connection kept for the next request must not carry
    one into it); True when there was one."""
    if not db.conn.in_transaction:
        return False
    db.conn.execute("ROLLBACK")
    return True


def one(db: sqlite_utils.Database, sql: str, params: Sequence = ()) -> dict | None:
    """The first row of a query as a dict, or None: one statement, where ``db["table"].rows_where``
    spends three more reading sqlite_master and ``db.query`` two more on a savepoint."""
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    cursor.close()
    return None if row is None else dict(zip([column[0] for column in cursor.description], row))


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
