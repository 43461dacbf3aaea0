"""The Flask class this app runs on: Flask, with a cheaper answer to "is this hook async?"."""
from __future__ import annotations

from collections.abc import Callable
from inspect import CO_COROUTINE
from types import FunctionType
from typing import Any

from flask import Flask


class App(Flask):
    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        """Flask's, answered from a plain function's code flags: Flask asks it of every hook and
        view of every request (six times for a patient's POST), and ``inspect.iscoroutinefunction``
        unwraps partials and methods first, to reach the same flags. Anything but a plain function,
        and a function marked as a coroutine function (``inspect.markcoroutinefunction``), is
        Flask's to decide, as before."""
        if (type(func) is FunctionType and not func.__code__.co_flags & CO_COROUTINE
                and "_is_coroutine_marker" not in func.__dict__):
            return func
        return super().ensure_sync(func)
