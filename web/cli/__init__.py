"""Command-line interface: thin wrappers over the services, errors turned into messages. One
module per task; ``init_app`` registers every command.

The database is FLASK_DATABASE (default: instance/spine-pro.sqlite3).
"""
from __future__ import annotations

from flask import Flask

from web.cli import data, demo, messaging, trial


def init_app(app: Flask) -> None:
    for module in (trial, demo, messaging, data):
        for command in module.COMMANDS:
            app.cli.add_command(command)
