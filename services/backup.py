"""Backups and restores of the database file: the file moves around storage.backup's copy and checks.

A backup is written beside its target under a hidden temporary name, verified there, fsync'd and
renamed onto its name, so FILE is either the earlier file or a whole, verified copy. A restore puts
a verified copy of FILE in place the same way, keeping the database it replaces beside it. A
refused restore leaves the database as it was, byte for byte: the database is not opened, and
nothing is moved until the copy has passed every check.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from storage import backup as database_files
from storage.backup import Summary

# The files beside a SQLite database that belong to it.
SIBLINGS = ("-wal", "-shm", "-journal")
ASIDE_MARK = ".before-restore-"
ASIDE_TIME = "%Y%m%dT%H%M%S"   # UTC


class BackupError(Exception):
    """A backup or restore refused, with the reason in one line."""


@dataclass(frozen=True)
class Written:
    path: Path
    size: int
    summary: Summary
    removed: list[Path] = field(default_factory=list)   # earlier backups deleted by --keep


def take_backup(database: Path, target: Path, *, keep: int | None = None,
                progress: Callable[[int, int], object] | None = None) -> Written:
    """Copy ``database`` to ``target`` while the app serves, verified and written atomically.

    keep: then delete all but the newest ``keep`` backups of target's series (its directory's SQLite
    files whose names differ from target's only in their digits), this one counted.
    progress(remaining pages, total pages): called after each step of the copy.
    """
    database, target = Path(database), Path(target)
    if keep is not None and keep < 1:
        raise BackupError("--keep must be at least 1: the backup just written is always kept")
    pattern = _series(target.name)
    if keep is not None and pattern is None:
        raise BackupError(f"--keep needs a FILE name with a date or number in it to tell its earlier backups, "
                          f"e.g. spine-pro-$(date +%Y%m%d-%H%M).sqlite3 (not {target.name})")
    _check_target(database, target)
    partial = _temporary(target.parent, target.name, ".partial")
    try:
        source = database_files.copy_online(database, partial, progress)
        copy = database_files.verify(partial, name=f"the copy of {database} in {target.parent}")
        if copy.rows != source.rows:
            differ = [table for table in source.rows if copy.rows.get(table) != source.rows[table]]
            raise BackupError(f"the copy of {database} does not hold the rows the database held as it was copied "
                              f"(tables {', '.join(differ)}): nothing was written to {target}")
        _fsync(partial)
        os.replace(partial, target)
        _fsync_directory(target.parent)
    except OSError as exc:
        raise BackupError(f"could not write {target}: {exc.strerror or exc}") from None
    finally:
        _remove(partial)
    removed = _prune(target, pattern, keep, database) if keep is not None else []
    return Written(target, target.stat().st_size, copy, removed)


def _check_target(database: Path, target: Path) -> None:
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give the backup's file name, "
                          f"e.g. {target / 'spine-pro-YYYYmmdd-HHMM.sqlite3'}")
    if not target.parent.exists():
        raise BackupError(f"directory {target.parent} does not exist: create it first")
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent} is not a directory")
    if target.exists() and not target.is_file():
        raise BackupError(f"{target} exists and is not a regular file")
    names = {database.resolve(), *(Path(f"{database}{suffix}").resolve() for suffix in SIBLINGS)}
    if target.resolve() in names:
        raise BackupError(f"{target} is the database itself: back it up to another file")


def _temporary(directory: Path, name: str, suffix: str) -> Path:
    """A new empty file, hidden, in ``directory`` (created 0600: a copy holds identifiable data)."""
    try:
        fd, path = tempfile.mkstemp(prefix=f".{name}.", suffix=suffix, dir=directory)
    except OSError as exc:
        raise BackupError(f"cannot write in {directory}: {exc.strerror or exc}") from None
    os.close(fd)
    return Path(path)


def _remove(path: Path) -> None:
    for name in (path, *(Path(f"{path}{suffix}") for suffix in SIBLINGS)):
        name.unlink(missing_ok=True)


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    """Makes a rename in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- retention -------------------------------------------------------------------------------

def _series(name: str) -> re.Pattern | None:
    """The names of ``name``'s series: the same name with other digits (a date, a number) before
    its extension (the 3 of .sqlite3 is not a date); None when it has none."""
    suffix = Path(name).suffix
    parts = re.split(r"\d+", name[:len(name) - len(suffix)])
    if len(parts) == 1:
        return None
    return re.compile(r"\d+".join(re.escape(part) for part in parts) + re.escape(suffix) + r"\Z")


def _prune(target: Path, pattern: re.Pattern, keep: int, database: Path) -> list[Path]:
    """Delete all but the newest ``keep`` SQLite files of target's series; target always stays, and
    so does the database, whatever its name."""
    earlier = [path for path in target.parent.iterdir()
               if path.name != target.name and pattern.match(path.name) and database_files.is_sqlite_file(path)
               and path.resolve() != database.resolve()]
    earlier.sort(key=lambda path: (path.stat().st_mtime_ns, path.name), reverse=True)
    removed = earlier[max(keep - 1, 0):]
    for path in removed:
        path.unlink(missing_ok=True)
    if removed:
        _fsync_directory(target.parent)
    return removed


# --- restore ---------------------------------------------------------------------------------

class StagedRestore:
    """A verified copy of the file to restore, beside the database, ready to take its place."""

    def __init__(self, database: Path, source: Path, copy: Path, summary: Summary, migrated: list[str]):
        self.database, self.source, self.summary, self.migrated = database, source, summary, migrated
        self._copy = copy
        self.installed = False

    def install(self, now: datetime) -> Path | None:
        """Move the database (with its -wal and -shm) aside as ``<name>.before-restore-<UTC time>``
        and rename the copy onto it; returns where the old one went (None: there was none)."""
        _refuse_when_open(self.database)
        # The database first, then its log: the copy must never meet the old database's log.
        present = [Path(f"{self.database}{suffix}") for suffix in ("", *SIBLINGS)
                   if Path(f"{self.database}{suffix}").exists()]
        aside = _aside_name(self.database, now) if present else None
        moved: list[tuple[Path, Path]] = []
        try:
            for path in present:
                moved_to = Path(f"{aside}{path.name[len(self.database.name):]}")
                os.rename(path, moved_to)
                moved.append((path, moved_to))
            os.replace(self._copy, self.database)
        except OSError:
            for original, moved_to in reversed(moved):
                os.rename(moved_to, original)
            raise
        self.installed = True
        _remove(self._copy)          # only what SQLite may have left beside the copy's old name
        _fsync_directory(self.database.parent)
        return aside


@contextmanager
def staged_restore(database: Path, source: Path) -> Iterator[StagedRestore]:
    """Copy ``source`` beside ``database`` and verify the copy; yields it ready to install.

    Refused (BackupError, or storage's DatabaseFileError) when another process has the database
    open, or the copy is not a sound database of this app, or its schema is newer than this code;
    an older schema is migrated in the copy, as init-db would. The copy is deleted unless installed.
    """
    database, source = Path(database), Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a file" if source.exists() else f"{source} does not exist")
    _refuse_when_open(database)
    try:
        database.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {database.parent}: {exc.strerror or exc}") from None
    copy = _temporary(database.parent, database.name, ".restoring")
    staged = None
    try:
        _copy_with_log(source, copy)
        summary = database_files.verify(copy, name=source)
        newer = summary.schema.unknown
        if newer:
            raise BackupError(f"{source} was written by a newer version of this app (schema {summary.schema.version}; "
                              f"unknown here: {', '.join(newer)}): upgrade the app, then restore it")
        migrated = database_files.initialize(copy)
        if Path(f"{copy}-wal").exists():
            raise BackupError(f"the copy of {source} kept a write-ahead log: nothing was restored")
        _like_the_database(copy, database)
        _fsync(copy)
        staged = StagedRestore(database, source, copy, summary, migrated)
        yield staged
    except OSError as exc:
        raise BackupError(f"could not restore {source}: {exc.strerror or exc}; nothing was restored") from None
    finally:
        if staged is None or not staged.installed:
            _remove(copy)


def _copy_with_log(source: Path, copy: Path) -> None:
    """The file, and its write-ahead log when one lies beside it (a database set aside by a restore
    may have one): SQLite reads the log's committed transactions into the copy when it opens it."""
    shutil.copyfile(source, copy)
    log = Path(f"{source}-wal")
    if log.is_file() and log.stat().st_size:
        shutil.copyfile(log, f"{copy}-wal")


def _like_the_database(copy: Path, database: Path) -> None:
    """Give the copy the database's permissions, and its owner when we may (a restore run as root
    must leave a file the server's user can open)."""
    if not database.exists():
        return
    status = database.stat()
    os.chmod(copy, status.st_mode & 0o7777)
    if (status.st_uid, status.st_gid) != (os.geteuid(), os.getegid()):
        try:
            os.chown(copy, status.st_uid, status.st_gid)
        except PermissionError:
            pass   # not root: the copy is ours, as the database we could replace must be


def _refuse_when_open(database: Path) -> None:
    if database_files.in_use_elsewhere(database):
        raise BackupError(f"{database} is open in another process (the web server or the scheduler): "
                          f"stop them, restore, then start them again")


def _aside_name(database: Path, now: datetime) -> Path:
    stamp = now.astimezone(timezone.utc).strftime(ASIDE_TIME)
    aside, n = database.with_name(f"{database.name}{ASIDE_MARK}{stamp}"), 1
    while any(Path(f"{aside}{suffix}").exists() for suffix in ("", *SIBLINGS)):
        n += 1
        aside = database.with_name(f"{database.name}{ASIDE_MARK}{stamp}-{n}")
    return aside
