"""Backups, restores and the integrity check, on a real SQLite file with a real trial: the copy
taken while another connection writes, retention, a restore the app then serves, and every bad
input, each refused with one clear line while nothing is half-written and the database stays as it was."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from app import create_app
from services import backup
from storage import backup as database_files
from storage.connection import open_db
from storage.migrations import MIGRATIONS
from tests.test_storage import ALL_MIGRATIONS
from tests.conftest import START

DEADLINE_SECONDS = 10
KNOWN = database_files.known_migrations()
SCHEMA = f"{len(KNOWN)} ({KNOWN[-1]})"
TIMEPOINTS = 6   # the default protocol's: baseline, day1, week1, month1, month3, month6
VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file in ``directory`` with its SHA-256: what "untouched, byte for byte" compares."""
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(directory.iterdir()) if path.is_file()}


def query(path: Path, sql: str) -> list[tuple]:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return connection.execute(sql).fetchall()
    finally:
        connection.close()


def participants(path: Path) -> list[str]:
    return [row[0] for row in query(path, "SELECT study_id FROM participants ORDER BY study_id")]


@pytest.fixture
def files(tmp_path) -> Path:
    """A directory for backups and files to restore, apart from the database's."""
    folder = tmp_path / "files"
    folder.mkdir()
    return folder


@pytest.fixture
def backed_up(runner, trial, files) -> Path:
    """A backup of a trial of one participant (P-001) with a baseline link."""
    trial.enroll("P-001")
    target = files / "spine-pro-20260302-1200.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    return target


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A directory nobody may create a file in: a read-only one, or where root cannot write either."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    for directory in (locked, Path("/sys")):
        try:
            fd, probe = tempfile.mkstemp(dir=directory)
        except OSError:
            return directory
        os.close(fd)
        os.unlink(probe)
    pytest.skip("every directory is writable here")


# --- backup --------------------------------------------------------------------------------

def test_backup_writes_a_verified_copy_and_says_what_it_holds(runner, trial, files, db_path):
    trial.enroll("P-001")
    trial.enroll("P-002", arm="B")
    target = files / "spine-pro-20260302-1200.sqlite3"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert participants(target) == ["P-001", "P-002"]
    assert query(target, "PRAGMA integrity_check") == [("ok",)]
    assert query(target, "PRAGMA journal_mode") == [("delete",)]   # one self-contained file
    assert target.stat().st_mode & 0o777 == 0o600
    assert [path.name for path in files.iterdir()] == [target.name]   # no temporary file left
    assert result.output.startswith(f"Backup written to {target}: 0.")
    assert f"; schema {SCHEMA}; " in result.output
    assert "participants 2, timepoints 12," in result.output
    assert "+1202" not in result.output and "P-00" not in result.output   # counts, nothing about anyone


def test_backup_while_another_connection_writes_is_one_consistent_snapshot(app, trial, files, db_path, monkeypatch):
    """Enrollments commit in another thread while the copy is half done: the copy is the state of
    its first page, whole (every participant with all six timepoints), and passes integrity_check."""
    for n in range(3):
        trial.enroll(f"P-{n:03d}", phone=None)
    monkeypatch.setattr(database_files, "PAGES_PER_STEP", 1)   # many steps: writes land between them
    committed, stop = [], threading.Event()

    def writer():
        n = 100
        while not stop.is_set():
            trial.enroll(f"P-{n:03d}", phone=None)
            committed.append(n)
            n += 1

    steps = []

    def progress(remaining: int, total: int) -> None:
        steps.append(remaining)
        if len(steps) == 1:   # mid-copy: wait for three enrollments to commit
            seen, deadline = len(committed), time.monotonic() + DEADLINE_SECONDS
            while len(committed) < seen + 3:
                assert time.monotonic() < deadline, "the writer made no progress during the copy"
                time.sleep(0.01)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        written = backup.take_backup(db_path, files / "during-writes-1.sqlite3", progress=progress)
    finally:
        stop.set()
        thread.join()
    copied = participants(written.path)
    assert steps[0] > 0 and steps[-1] == 0 and len(steps) > 10
    assert len(copied) == written.summary.rows["participants"] >= 3
    assert len(participants(db_path)) >= len(copied) + 3   # writes went on during the copy, not into it
    assert query(written.path, "SELECT COUNT(*) FROM participants p WHERE (SELECT COUNT(*) FROM timepoints t "
                               "WHERE t.participant_id = p.id) <> 6") == [(0,)]
    assert query(written.path, "SELECT COUNT(*) FROM timepoints")[0][0] == TIMEPOINTS * len(copied)
    assert query(written.path, "PRAGMA integrity_check") == [("ok",)]


def test_keep_leaves_exactly_the_newest_backups_of_the_series(runner, trial, files):
    trial.enroll("P-001")
    series = [files / f"spine-pro-20260302-{hour:02d}00.sqlite3" for hour in range(5)]
    for age, path in zip(range(len(series), 0, -1), series):
        assert runner.invoke(args=["backup", str(path)]).exit_code == 0
        os.utime(path, (time.time() - age * 3600,) * 2)   # written an hour apart
    not_sqlite = files / "spine-pro-20250101-0000.sqlite3"
    not_sqlite.write_text("notes that happen to match the pattern")
    other_series = files / "other-20250101.sqlite3"
    assert runner.invoke(args=["backup", str(other_series)]).exit_code == 0
    os.utime(other_series, (0, 0))
    newest = files / "spine-pro-20260302-0500.sqlite3"

    result = runner.invoke(args=["backup", str(newest), "--keep", "3"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in files.iterdir()) == sorted(
        [newest.name, series[4].name, series[3].name, not_sqlite.name, other_series.name])
    assert [line for line in result.output.splitlines() if line.startswith("Removed")] == [
        f"Removed the older backup {path}." for path in (series[2], series[1], series[0])]


def test_keep_never_deletes_the_database_even_when_it_looks_like_a_backup(files, clock):
    database = files / "spine-pro-20200101-0000.sqlite3"
    app = create_app({"TESTING": True, "DATABASE": str(database), "CLOCK": clock})
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    os.utime(database, (0, 0))
    result = app.test_cli_runner().invoke(args=["backup", str(files / "spine-pro-20260302-1200.sqlite3"),
                                                "--keep", "1"])
    assert result.exit_code == 0, result.output
    assert sorted(path.name for path in files.iterdir()) == [database.name, "spine-pro-20260302-1200.sqlite3"]


def test_keep_needs_a_name_with_a_date_in_it(runner, trial, files):
    result = runner.invoke(args=["backup", str(files / "latest.sqlite3"), "--keep", "2"])
    assert result.exit_code == 1
    assert "--keep needs a FILE name with a date or number in it" in result.output
    assert list(files.iterdir()) == []


@pytest.mark.parametrize("keep", ["0", "-1", "two"])
def test_keep_must_be_a_positive_number(runner, files, keep):
    result = runner.invoke(args=["backup", str(files / "spine-pro-1.sqlite3"), "--keep", keep])
    assert result.exit_code == 2 and "--keep" in result.output
    assert list(files.iterdir()) == []


@pytest.mark.parametrize("target,message", [
    ("{files}/missing/b.sqlite3", "directory {files}/missing does not exist: create it first"),
    ("{files}", "{files} is a directory: give the backup's file name, e.g. {files}/spine-pro-YYYYmmdd-HHMM.sqlite3"),
    ("{files}/a-file/b.sqlite3", "{files}/a-file is not a directory"),
    ("{database}", "{database} is the database itself: back it up to another file"),
])
def test_backup_refuses_a_bad_target_and_writes_nothing(runner, trial, files, db_path, target, message):
    trial.enroll("P-001")
    (files / "a-file").write_text("x")
    before, database = fingerprint(files), fingerprint(db_path.parent)
    result = runner.invoke(args=["backup", target.format(files=files, database=db_path)])
    assert result.exit_code == 1
    assert result.output == f"Error: {message.format(files=files, database=db_path)}\n"
    assert fingerprint(files) == before and fingerprint(db_path.parent) == database
    assert not (files / "missing").exists()


def test_backup_refuses_an_unwritable_directory(runner, trial, unwritable):
    trial.enroll("P-001")
    before = sorted(os.listdir(unwritable))
    result = runner.invoke(args=["backup", str(unwritable / "spine-pro-20260302-1200.sqlite3")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: cannot write in {unwritable}: Permission denied"
    assert sorted(os.listdir(unwritable)) == before


def test_backup_without_a_file_is_a_usage_error(runner):
    result = runner.invoke(args=["backup"])
    assert result.exit_code == 2 and "Missing argument 'FILE'" in result.output


def test_backup_of_a_corrupt_database_writes_nothing(tmp_path, files):
    broken = tmp_path / "broken.sqlite3"
    broken.write_bytes(os.urandom(8192))
    result = create_app({"TESTING": True, "DATABASE": str(broken)}).test_cli_runner().invoke(
        args=["backup", str(files / "b-1.sqlite3")])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {broken} is not a usable SQLite database (file is not a database)"
    assert list(files.iterdir()) == []


# --- restore -------------------------------------------------------------------------------

def test_a_restored_database_serves_the_app_and_the_old_one_is_kept(runner, trial, client, backed_up, db_path):
    token = trial.link("P-001")          # issued after the backup: not in it
    trial.enroll("P-002")
    result = runner.invoke(args=["restore", str(backed_up), "--yes"])
    assert result.exit_code == 0, result.output
    aside = db_path.with_name(f"{db_path.name}.before-restore-{START:%Y%m%dT%H%M%S}")
    assert f"The database it replaced is kept as {aside}." in result.output
    assert participants(db_path) == ["P-001"] and participants(aside) == ["P-001", "P-002"]
    assert client.get(f"/f/{token}").status_code == 404   # the link came later than the backup

    token = trial.link("P-001")
    assert client.get(f"/f/{token}").headers["Location"] == f"/f/{token}/vas"
    assert client.post(f"/f/{token}/vas", data=VAS_LINE).status_code == 303
    assert query(db_path, "SELECT instrument, json_extract(scores, '$.vas_mm') FROM responses") == [("vas", 63)]
    assert query(db_path, "PRAGMA journal_mode") == [("wal",)]


def test_restore_asks_first_and_a_no_changes_nothing(runner, trial, backed_up, db_path):
    trial.enroll("P-002")
    before = fingerprint(db_path.parent)
    result = runner.invoke(args=["restore", str(backed_up)], input="n\n")
    assert result.exit_code == 1
    assert "Replace the database at" in result.output and "Aborted!" in result.output
    assert fingerprint(db_path.parent) == before


def test_restore_of_an_older_schema_migrates_it(runner, files, db_path):
    older = files / "older.sqlite3"
    db = open_db(older)
    MIGRATIONS.apply(db, stop_before="m010_withdrawal_state")
    db.close()
    result = runner.invoke(args=["restore", str(older), "--yes"])
    assert result.exit_code == 0, result.output
    later = ALL_MIGRATIONS[9:]   # m010 and every migration after it
    assert f"Migrated to this version's schema: {', '.join(later)}." in result.output
    assert query(db_path, "SELECT name FROM _sqlite_migrations ORDER BY id")[-1] == (later[-1],)
    assert query(older, "SELECT COUNT(*) FROM _sqlite_migrations") == [(9,)]   # the file itself is not changed


def test_restore_takes_the_log_that_lies_beside_the_file(runner, trial, files, db_path):
    """A database copied with its -wal (set aside while open) is restored with what the log holds."""
    trial.enroll("P-001")
    writer = sqlite3.connect(db_path, isolation_level=None)
    writer.execute("PRAGMA wal_autocheckpoint = 0")
    writer.execute("UPDATE participants SET language = 'ar'")
    copy = files / "copied.sqlite3"
    copy.write_bytes(db_path.read_bytes())
    Path(f"{copy}-wal").write_bytes(Path(f"{db_path}-wal").read_bytes())
    writer.close()
    trial.enroll("P-002")
    result = runner.invoke(args=["restore", str(copy), "--yes"])
    assert result.exit_code == 0, result.output
    assert query(db_path, "SELECT study_id, language FROM participants") == [("P-001", "ar")]


def _truncated(backup_file: Path, path: Path) -> None:
    path.write_bytes(backup_file.read_bytes()[:backup_file.stat().st_size // 2])


def _another_app(path: Path) -> None:
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    connection.execute("INSERT INTO notes (body) VALUES ('hello')")
    connection.commit()
    connection.close()


def _another_app_with_migrations(path: Path) -> None:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    theirs = Migrations("blog")
    theirs()(lambda db: db["posts"].create({"id": int, "title": str}, pk="id"))
    db = Database(path)
    theirs.apply(db)
    db.close()


def _newer(backup_file: Path, path: Path) -> None:
    path.write_bytes(backup_file.read_bytes())
    connection = sqlite3.connect(path)
    connection.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) "
                       "VALUES ('spine_pro', 'm099_from_the_future', '2027-01-01')")
    connection.commit()
    connection.close()


BAD_FILES = {
    "truncated": (_truncated, "is not a usable SQLite database (database disk image is malformed)"),
    "random bytes": (lambda _, path: path.write_bytes(os.urandom(16384)),
                     "is not a usable SQLite database (file is not a database)"),
    "empty": (lambda _, path: path.write_bytes(b""),
              "is not a database of this app (it has no _sqlite_migrations table)"),
    "another app": (lambda _, path: _another_app(path),
                    "is not a database of this app (it has no _sqlite_migrations table)"),
    "another app with migrations": (lambda _, path: _another_app_with_migrations(path),
                                    "is not a database of this app (no spine_pro migration applied)"),
    "newer schema": (_newer, (f"was written by a newer version of this app (schema {len(KNOWN) + 1} "
                              "(m099_from_the_future); unknown here: m099_from_the_future): upgrade the app, then "
                              "restore it")),
}


@pytest.mark.parametrize("kind", BAD_FILES)
def test_restore_refuses_a_bad_file_and_leaves_the_database_byte_for_byte(runner, trial, backed_up, db_path, files,
                                                                        kind):
    make, message = BAD_FILES[kind]
    bad = files / f"bad-{kind.replace(' ', '-')}.sqlite3"
    make(backed_up, bad)
    trial.enroll("P-002")
    before, given = fingerprint(db_path.parent), bad.read_bytes()
    result = runner.invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code == 1
    assert result.output.strip() == f"Error: {bad} {message}"
    assert fingerprint(db_path.parent) == before           # no temporary copy left either
    assert bad.read_bytes() == given


@pytest.mark.parametrize("args,message", [
    (["restore"], "Missing argument 'FILE'"),
    (["restore", "no-such-backup.sqlite3"], "File 'no-such-backup.sqlite3' does not exist"),
])
def test_restore_without_a_file_is_a_usage_error(runner, db_path, args, message):
    before = fingerprint(db_path.parent)
    result = runner.invoke(args=args)
    assert result.exit_code == 2 and message in result.output
    assert fingerprint(db_path.parent) == before


def test_restore_refuses_while_another_process_has_the_database_open(runner, trial, backed_up, db_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); "
                                "c.execute('SELECT COUNT(*) FROM participants').fetchone(); print('open', flush=True); "
                                "sys.stdin.read()"), str(db_path)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "open\n"
        before = fingerprint(db_path.parent)
        result = runner.invoke(args=["restore", str(backed_up), "--yes"])
        after = fingerprint(db_path.parent)
    finally:
        holder.communicate("", timeout=DEADLINE_SECONDS)
    assert result.exit_code == 1
    assert result.output.strip() == (f"Error: {db_path} is open in another process (the web server or the scheduler): "
                                      "stop them, restore, then start them again")
    assert after == before
    assert participants(db_path) == ["P-001"]


# --- check, and init-db on a file that is not a database ------------------------------------

def test_check_says_ok_for_a_sound_database(runner, trial, db_path):
    trial.enroll("P-001")
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert result.output == f"{db_path}: ok (schema {SCHEMA})\n"


def _break_an_index(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("CREATE INDEX audit_by_actor ON audit_log (actor)")
    connection.execute("PRAGMA writable_schema = ON")
    connection.execute("UPDATE sqlite_master SET sql = 'CREATE INDEX audit_by_actor ON audit_log (action)' "
                       "WHERE name = 'audit_by_actor'")
    connection.close()


def _orphan_a_timepoint(path: Path) -> None:
    connection = sqlite3.connect(path, isolation_level=None)   # foreign keys off, as SQLite's default
    connection.execute("INSERT INTO timepoints (participant_id, timepoint, due_date, opens_at, closes_at) "
                       "VALUES (999, 'day1', '2026-03-03', '2026-03-03', '2026-03-05')")
    connection.close()


@pytest.mark.parametrize("damage,problem", [
    (_break_an_index, "missing from index audit_by_actor"),
    (_orphan_a_timepoint, "its foreign key #0 has no participants row"),
])
def test_check_lists_each_problem_and_fails(runner, trial, db_path, damage, problem):
    trial.enroll("P-001")
    damage(db_path)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert any(problem in line for line in lines[:-1]), result.output
    assert lines[-1].startswith(f"Error: {len(lines) - 1} problem(s) in {db_path}: restore a backup")


@pytest.mark.parametrize("command", [["check"], ["init-db"]])
@pytest.mark.parametrize("content,reason", [
    (b"\x00\xffnot sqlite at all" * 512, "file is not a database"),
    (b"SQLite format 3\x00" + os.urandom(4080) + b"\x00" * 4096, None),
])
def test_a_corrupt_database_gives_one_line_naming_it(tmp_path, command, content, reason):
    broken = tmp_path / "spine-pro.sqlite3"
    broken.write_bytes(content)
    result = create_app({"TESTING": True, "DATABASE": str(broken)}).test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {broken} is not a usable SQLite database (")
    if reason:
        assert result.output == f"Error: {broken} is not a usable SQLite database ({reason})\n"
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    assert broken.read_bytes() == content and sorted(os.listdir(tmp_path)) == [broken.name]


def test_check_of_a_missing_database_does_not_create_one(tmp_path):
    missing = tmp_path / "spine-pro.sqlite3"
    result = create_app({"TESTING": True, "DATABASE": str(missing)}).test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1 and result.output == f"Error: no database at {missing}\n"
    assert not missing.exists()
