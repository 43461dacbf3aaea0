"""What an error from SQLite means for whoever is waiting: try again soon, or call someone.

The web's error pages and the commands read it here, so nothing above storage imports sqlite3.
``kind`` sorts an error by SQLite's own result code (``sqlite_errorname``, Python 3.11+), never by
its message text:

- LOCKED: another writer held the lock past the busy timeout. Nothing was written; the same
  request a moment later normally succeeds.
- FULL: the disk (or the database's page limit) is full. SQLite rolled the transaction back:
  nothing is half-written, and nothing new can be stored until space is freed.
- CORRUPT: the file is not a database, or its pages are damaged. Restore from a backup.
- UNAVAILABLE: the file cannot be opened, read or written (permissions, a read-only or lost
  disk): an operator's problem, not the request's.
"""
from __future__ import annotations

import sqlite3

# Every error SQLite raises (OperationalError and IntegrityError included).
DatabaseFault = sqlite3.DatabaseError

LOCKED, FULL, CORRUPT, UNAVAILABLE = "locked", "full", "corrupt", "unavailable"

_KINDS = {
    "SQLITE_BUSY": LOCKED, "SQLITE_LOCKED": LOCKED,
    "SQLITE_FULL": FULL,
    "SQLITE_CORRUPT": CORRUPT, "SQLITE_NOTADB": CORRUPT,
    "SQLITE_CANTOPEN": UNAVAILABLE, "SQLITE_READONLY": UNAVAILABLE, "SQLITE_IOERR": UNAVAILABLE,
    "SQLITE_PERM": UNAVAILABLE,
}


def kind(error: BaseException) -> str | None:
    """LOCKED, FULL, CORRUPT or UNAVAILABLE for an error of the database itself; None for any
    other error (a constraint, a bad statement: a bug, not a fault of the file)."""
    if not isinstance(error, sqlite3.DatabaseError):
        return None
    name = getattr(error, "sqlite_errorname", None) or ""
    # Extended codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_WRITE, SQLITE_CORRUPT_VTAB...) share
    # their primary code's meaning.
    for prefix, meaning in _KINDS.items():
        if name == prefix or name.startswith(prefix + "_"):
            return meaning
    return None
