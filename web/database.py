"""One database connection per request (or CLI command), on ``g``, closed at teardown."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g

from storage.connection import open_db


def get_db():
    if "db" not in g:
        g.db = open_db(current_app.config["DATABASE"])
    return g.db


def connector() -> Callable[[], Any]:
    """Opens a connection of its own to this app's database: for a streamed response, which
    goes on after the request's connection is closed."""
    path = current_app.config["DATABASE"]
    return lambda: open_db(path)


def close_db(_exc: BaseException | None = None) -> None:
    db = g.pop("db", None)
    if db is not None:
        db.close()


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
