"""The one way to write (BEGIN IMMEDIATE), creating the database, and the stored time format."""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import sqlite_utils

from storage import connection, faults

log = logging.getLogger(__name__)


@contextmanager
def write(db: sqlite_utils.Database, *, wait_for_lock: float = 0.0) -> Iterator[sqlite_utils.Database]:
    """One write transaction, taking the write lock up front (BEGIN IMMEDIATE).

    Everything inside commits together or not at all: nothing partial is ever stored.

    Taking the lock waits up to the connection's busy timeout for another writer. A web request
    stops there (its error page answers 503 at once: see web.errors); a background job that must
    get through passes ``wait_for_lock`` seconds, and keeps asking until they have gone. Once the
    lock is held, nothing inside waits for it again (WAL: readers never block a commit).
    """
    _begin(db, wait_for_lock)
    try:
        yield db
        db.conn.execute("COMMIT")
    except BaseException:
        # SQLite may have rolled back already (a full disk does): then there is nothing to undo,
        # and the error to report is the one that got us here.
        roll_back_open(db)
        raise


def _begin(db: sqlite_utils.Database, wait_for_lock: float) -> None:
    deadline = time.monotonic() + wait_for_lock
    while True:
        try:
            db.conn.execute("BEGIN IMMEDIATE")    # itself waits up to the busy timeout
            return
        except sqlite3.OperationalError as exc:
            if faults.kind(exc) != faults.LOCKED or time.monotonic() >= deadline:
                raise
            log.warning("database locked by another writer: still waiting")


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


# A value as the database stores JSON (answers, scores, audit entries): the text of
# json.dumps(value, sort_keys=True), from an encoder made once (json.dumps builds one per call).
stored_json = json.JSONEncoder(sort_keys=True).encode


@lru_cache(maxsize=16384)
def parse_utc(text: str) -> datetime:
    """A stored timestamp as an aware UTC datetime. Cached: the board and the report read the same
    few thousand window times (a day's windows open at the same instant) over and over."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)
