"""Opening a connection, with the pragmas every connection needs.

Only web.database (one connection per request or CLI command) and the processes' entry points
open connections; services and the dispatcher are handed one (an import-linter contract).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils

# How long a writer waits for another writer's lock before giving up. Writes here are a few
# rows each, so five seconds is far beyond any real wait and short enough to surface a fault.
BUSY_TIMEOUT_MS = 5000

# sqlite3 looks for an adapter for every parameter that is not exactly an int, float, str or bytes:
# for None (a column left empty, bound as NULL) it asks the adapters, then None's __adapt__ and
# __conform__, and fails, for every such parameter of every statement. None's own adapter, which
# gives it back as it is, makes that one lookup. Bound, it is NULL as before.
sqlite3.register_adapter(type(None), lambda value: value)


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
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and str(path) != ":memory:":
            raise StorageError(f"could not switch {path} to WAL (journal_mode is {mode})")
    except BaseException:
        conn.close()     # a damaged or unreadable file: the error is what matters, not a stray handle
        raise
    return sqlite_utils.Database(conn)
