"""Backups, restores and the integrity check of the database file (FLASK_DATABASE)."""
from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from services import backup
from storage import backup as database_files
from web.context import now

FAILURES = (backup.BackupError, database_files.DatabaseFileError)


def _database() -> Path:
    return Path(current_app.config["DATABASE"])


def _held(summary: database_files.Summary) -> str:
    """The schema, tables and rows, and the tables that hold any: counts only, nothing about anyone."""
    held = ", ".join(f"{table} {count:,}" for table, count in summary.rows.items() if count)
    return (f"schema {summary.schema.version}; {len(summary.rows)} tables, {sum(summary.rows.values()):,} rows"
            f"{': ' + held if held else ''}")


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--keep", type=click.IntRange(min=1), default=None,
              help="Then keep only the newest N backups of FILE's series: the SQLite files in its directory whose "
                   "names differ from FILE's only in their digits (its date), this one counted.")
def backup_command(file: Path, keep: int | None) -> None:
    """Copy the database to FILE while the app serves: one consistent snapshot (SQLite's backup
    API), checked by integrity_check and a row count per table, fsync'd and renamed onto FILE, so
    FILE is never half-written. FILE is readable by its owner only.

    Example: flask --app app backup /srv/backups/spine-pro-$(date +%Y%m%d-%H%M).sqlite3 --keep 14
    """
    try:
        written = backup.take_backup(_database(), file, keep=keep)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {written.path}: {written.size / 1e6:,.1f} MB; {_held(written.summary)}.")
    for path in written.removed:
        click.echo(f"Removed the older backup {path}.")


@click.command("restore")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore_command(file: Path, yes: bool) -> None:
    """Replace the database with a backup. Stop the web server and the scheduler first.

    FILE is checked first (a SQLite file that passes integrity_check, a database of this app, a
    schema no newer than this code; an older one is migrated as init-db would). Then the database,
    with its -wal and -shm, is moved aside as <name>.before-restore-<UTC time> and a copy of FILE
    takes its place. When FILE is refused, the database is left as it was.

    Example: flask --app app restore /srv/backups/spine-pro-20260302-0300.sqlite3
    """
    database = _database()
    try:
        with backup.staged_restore(database, file) as staged:
            click.echo(f"{file}: integrity ok; {_held(staged.summary)}.")
            if not yes:
                click.confirm(f"Replace the database at {database} with it (the current one is kept beside it)?",
                              abort=True)
            aside = staged.install(now())
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    if aside is not None:
        click.echo(f"The database it replaced is kept as {aside}.")
    if staged.migrated:
        click.echo(f"Migrated to this version's schema: {', '.join(staged.migrated)}.")
    click.echo(f"Restored {file} to {database}. Start the web server and the scheduler again.")


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Check the database: SQLite's integrity_check and foreign_key_check. Prints ok, or each
    problem and exits with status 1.

    Example: flask --app app check
    """
    database = _database()
    try:
        found, schema = database_files.problems(database)
    except FAILURES as exc:
        raise click.ClickException(str(exc)) from None
    if found:
        for problem in found:
            click.echo(problem)
        raise click.ClickException(f"{len(found)} problem(s) in {database}: restore a backup "
                                   f"(flask --app app restore FILE) after keeping a copy of this file.")
    note = (f"; written by a newer version of this app: {', '.join(schema.unknown)}" if schema.unknown else
            f"; {len(schema.pending)} migration(s) pending: run flask --app app init-db" if schema.pending else "")
    click.echo(f"{database}: ok (schema {schema.version}{note})")


COMMANDS = (backup_command, restore_command, check_command)
