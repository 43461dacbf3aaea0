"""The database connection of a request (or CLI command), on ``g``.

A web request uses the connection its thread keeps, opened by the first request of that thread
and process and kept for the next: opening one costs four pragmas and a schema read, and closing
the last connection checkpoints the WAL, which made those two a third of a patient's submission.
A CLI command or an app context without a request (a reminder pass, ``flask demo``) opens its own
and closes it at teardown as before, so the WAL is checkpointed into the file when it ends.

What a kept connection must never do:
- cross a fork. SQLite forbids using (closing included) a connection in a child process: a
  child's first request opens its own, and the inherited one is held, never closed.
- be shared between threads: each thread keeps its own (the dev server is threaded); it is
  closed when the thread ends and its thread-local storage goes.
- carry a transaction into the next request: teardown rolls back whatever is left open.
- pile up: a thread keeps one, for one database file; a request for another file (the test
  suite's hundreds of apps) closes it and keeps the new one. While it is in use, a nested
  context gets a connection of its own, closed at its teardown.
Streamed responses take a connection of their own from ``connector()``.
"""
from __future__ import annotations

import logging
import os
import threading
import weakref
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, g, has_request_context

from storage.connection import open_db
from storage.db import roll_back_open

log = logging.getLogger(__name__)


class _Kept(threading.local):
    """This thread's kept connection: which process opened it, on which file, and whether a
    request is using it now."""

    pid: int | None = None
    path: str | None = None
    db: Any = None
    busy: bool = False


_kept = _Kept()
# Every kept connection of this process, so a fork can hold on to them all in the child.
_every_kept: weakref.WeakSet = weakref.WeakSet()
_every_kept_lock = threading.Lock()
# In a forked child: the parent's connections. Held so they are never closed there, not even
# when CPython discards the parent's other threads (and their thread-local storage) at the fork.
_inherited: list = []


def _hold_across_fork() -> None:
    with _every_kept_lock:
        _inherited.extend(_every_kept)


def _release_after_fork_in_parent() -> None:
    _inherited.clear()


# This process's id, kept rather than asked of the kernel (a system call) three times a request;
# a forked child learns its own in the at-fork hook, before any of its code runs.
_pid = os.getpid()


def _learn_pid_after_fork_in_child() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(before=_hold_across_fork, after_in_parent=_release_after_fork_in_parent,
                    after_in_child=_learn_pid_after_fork_in_child)


def get_db():
    # The context's globals as the plain namespace they are: g's get and attribute setting are
    # Python methods doing just this, asked twice by a patient's every request.
    here = vars(g._get_current_object())
    db = here.get("db")
    if db is None:
        path = current_app._get_current_object().config["DATABASE"]
        db = here["db"] = _check_out(path) if has_request_context() else open_db(path)
        here["db_pid"] = _pid
    return db


def _check_out(path: str):
    """This thread's kept connection to ``path``, or a new one when it is already in use."""
    kept = _kept
    if kept.db is not None and kept.pid != _pid:
        kept.db, kept.busy = None, False          # a fork's inheritance: held in _inherited, never used
    if kept.busy:
        return open_db(path)                      # a context inside a request: a connection of its own
    if kept.db is not None and kept.path != path:
        _discard(kept)
    if kept.db is None:
        kept.db, kept.path, kept.pid = open_db(path), path, _pid
        with _every_kept_lock:
            _every_kept.add(kept.db)
    kept.busy = True
    return kept.db


def _discard(kept: _Kept) -> None:
    db, kept.db, kept.path, kept.busy = kept.db, None, None, False
    with _every_kept_lock:
        _every_kept.discard(db)
    db.close()


def connector() -> Callable[[], Any]:
    """Opens a connection of its own to this app's database: for a streamed response, which
    goes on after the request's connection is given back."""
    path = current_app.config["DATABASE"]
    return lambda: open_db(path)


def close_db(_exc: BaseException | None = None) -> None:
    """Teardown: give the kept connection back, rolled back to no transaction; close any other."""
    here = vars(g._get_current_object())
    db, opened_in = here.pop("db", None), here.pop("db_pid", None)
    if db is None:
        return
    if opened_in != _pid:
        _inherited.append(db)    # a context that crossed a fork: its connection is the parent's
        return
    kept = _kept
    if db is not kept.db:
        db.close()
        return
    kept.busy = False
    try:
        roll_back_open(db)
    except Exception:
        log.exception("the kept connection could not roll back: closed")
        _discard(kept)


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_db)
