"""SQLite storage: the only package that imports sqlite_utils (enforced by import-linter)."""
from storage.db import StorageError, init_db, open_db, utc_iso, write
from storage.migrations import MIGRATIONS

__all__ = ["MIGRATIONS", "StorageError", "init_db", "open_db", "utc_iso", "write"]
