"""SQLite storage: the only package that imports sqlite_utils (enforced by import-linter).

A connection comes from ``storage.connection.open_db``; everything else here is named queries.
"""
from storage.connection import StorageError
from storage.db import init_db, utc_iso, write
from storage.migrations import MIGRATIONS

__all__ = ["MIGRATIONS", "StorageError", "init_db", "utc_iso", "write"]
