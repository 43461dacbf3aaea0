"""Command-line interface: thin wrappers over the services, errors turned into messages. One
module per task; ``init_app`` registers every command.

The database is FLASK_DATABASE (default: instance/spine-pro.sqlite3). A command that meets a
locked, full or damaged database says so in one line naming the file, and exits 1: never a
traceback, and nothing half-written (each write is one transaction).
"""
from __future__ import annotations

import functools

import click
from flask import Flask
from flask.cli import ScriptInfo

from storage import faults
from web.cli import backup, data, demo, messaging, trial

WHAT_TO_DO = {
    faults.LOCKED: "another process held its write lock too long; try again in a moment",
    faults.FULL: "the disk is full; free space, then try again (nothing was half-written)",
    faults.CORRUPT: "it is damaged or not a database; run `flask --app app check`, and restore the "
                    "newest backup (`flask --app app restore FILE`)",
    faults.UNAVAILABLE: "it cannot be opened, read or written; check the path, the disk and the permissions",
}


def _plainly(callback):
    @functools.wraps(callback)
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except faults.DatabaseFault as exc:
            meaning = faults.kind(exc)
            if meaning is None:
                raise
            # The command's app context has ended by now: the app is the one the CLI loaded.
            database = click.get_current_context().ensure_object(ScriptInfo).load_app().config["DATABASE"]
            raise click.ClickException(f"database {database} is {meaning}: {WHAT_TO_DO[meaning]}") from None
    run.plain_database_errors = True
    return run


def _wrap(command: click.Command) -> None:
    """Once per command object (each app registers the same ones)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _wrap(sub)
    elif command.callback is not None and not getattr(command.callback, "plain_database_errors", False):
        command.callback = _plainly(command.callback)


def init_app(app: Flask) -> None:
    for module in (trial, demo, messaging, data, backup):
        for command in module.COMMANDS:
            app.cli.add_command(command)
            _wrap(command)
