"""The one way to write (BEGIN IMMEDIATE), creating the database, and the stored time format."""
from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from functools import lru_cache
from json.encoder import c_make_encoder, encode_basestring_ascii
from pathlib import Path
from typing import Any

import sqlite_utils

from storage import connection, faults

log = logging.getLogger(__name__)


class write:  # used as a function: ``with write(db):``
    """One write transaction, taking the write lock up front (BEGIN IMMEDIATE).

    Everything inside commits together or not at all: nothing partial is ever stored.

    Taking the lock waits up to the connection's busy timeout for another writer. A web request
    stops there (its error page answers 503 at once: see web.errors); a background job that must
    get through passes ``wait_for_lock`` seconds, and keeps asking until they have gone. Once the
    lock is held, nothing inside waits for it again (WAL: readers never block a commit).

    (A class rather than a @contextmanager generator: a patient's every answer is stored in one,
    and the generator's machinery cost more than its BEGIN.)
    """

    __slots__ = ("_db", "_wait_for_lock")

    def __init__(self, db: sqlite_utils.Database, *, wait_for_lock: float = 0.0):
        self._db, self._wait_for_lock = db, wait_for_lock

    def __enter__(self) -> sqlite_utils.Database:
        _begin(self._db, self._wait_for_lock)
        return self._db

    def __exit__(self, kind, error, traceback) -> bool:
        if kind is None:
            try:
                self._db.conn.execute("COMMIT")
                return False
            except BaseException:
                roll_back_open(self._db)
                raise
        # SQLite may have rolled back already (a full disk does): then there is nothing to undo,
        # and the error to report is the one that got us here.
        roll_back_open(self._db)
        return False


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


# The instant utc_iso formatted last, and its text: a write formats its one instant for each row
# it stores (an answer and its audit entry), and isoformat is most of a small row's encoding.
# Datetimes are immutable, so the same object always has the same text; one tuple, read and
# replaced whole, so a thread never sees one's instant with another's text.
_formatted: tuple[datetime | None, str] = (None, "")


def utc_iso(moment: datetime) -> str:
    """The one timestamp format stored: UTC, seconds, ISO 8601; sorts as text."""
    global _formatted
    last, text = _formatted
    if moment is last:
        return text
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    text = moment.astimezone(timezone.utc).isoformat(timespec="seconds")
    _formatted = (moment, text)
    return text


def _sorted_keys_encoder() -> Callable[[Any], str]:
    """json.dumps(value, sort_keys=True), with its C encoder made once: JSONEncoder.encode makes
    one on every call, which is two thirds of the cost of a small dict's text. The encoder is made
    without the check for circular values (a stored value is a tree of plain values: a cycle would
    end in RecursionError rather than ValueError); anything else is json's own (its default, its
    errors, its text). Python without json's C speed-ups gets JSONEncoder.encode itself."""
    encoder = json.JSONEncoder(sort_keys=True)
    if c_make_encoder is None:
        return encoder.encode
    made = c_make_encoder(None, encoder.default, encode_basestring_ascii, encoder.indent, encoder.key_separator,
                          encoder.item_separator, encoder.sort_keys, encoder.skipkeys, encoder.allow_nan)

    def stored_json(value: Any) -> str:
        return "".join(made(value, 0))

    return stored_json


# A value as the database stores JSON (answers, scores, audit entries): the text of
# json.dumps(value, sort_keys=True).
stored_json = _sorted_keys_encoder()


@lru_cache(maxsize=16384)
def parse_utc(text: str) -> datetime:
    """A stored timestamp as an aware UTC datetime. Cached: the board and the report read the same
    few thousand window times (a day's windows open at the same instant) over and over."""
    return datetime.fromisoformat(text).astimezone(timezone.utc)
