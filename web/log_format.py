"""Logs as JSON lines when FLASK_LOG_JSON is set (true, 1 or yes): one object per line, for a log
collector. Without it nothing here changes a thing, and the logs read as they always have.

Each line has ``time`` (ISO 8601, UTC), ``level``, ``logger`` and ``message``; ``exc_info`` holds
a traceback's text, and any fields a caller passes with ``extra=`` (gunicorn's access lines:
method, path, status, bytes, duration_ms) sit beside them. Every string passes through redact(),
so a patient-link token shows as <token> whoever logged it; what is logged stays what the plain
logs hold (no names, no numbers, no answers). Standard library logging only.
"""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from scheduler.links import redact

VARIABLE = "FLASK_LOG_JSON"
_ON = {"1", "true", "yes"}
_OFF = {"", "0", "false", "no"}
# The attributes every LogRecord has: anything else on a record came from ``extra=``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def wanted(value: object) -> bool:
    """Whether FLASK_LOG_JSON (as text from the environment, or as Flask's from_prefixed_env
    parsed it: 1, True, "yes") asks for JSON lines; a value that is neither on nor off is refused."""
    text = "" if value is None else str(value).strip().lower()
    if text in _ON:
        return True
    if text in _OFF:
        return False
    raise ValueError(f"{VARIABLE} must be true, 1 or yes (JSON lines) or false, 0, no or unset (plain "
                     f"lines), not {value!r}")


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (a traceback's newlines are escaped inside it)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for key, value in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in line:
                line[key] = redact(value) if isinstance(value, str) else value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exc_info"] = redact(record.exc_text)
        if record.stack_info:
            line["stack_info"] = redact(self.formatStack(record.stack_info))
        return json.dumps(line, ensure_ascii=False, default=str)


def is_json(handler: logging.Handler) -> bool:
    return isinstance(handler.formatter, JsonFormatter)


def enabled() -> bool:
    """Whether this process logs JSON lines (configure() ran with the variable set)."""
    return any(is_json(handler) for handler in logging.root.handlers)


def configure(value: object, *, level: int = logging.INFO) -> bool:
    """When ``value`` (FLASK_LOG_JSON) asks for it, send every logger without a handler of its own
    to standard error as JSON lines, at ``level`` and above; safe to call again. Returns whether
    logs are JSON lines."""
    if not wanted(value):
        return False
    if not enabled():
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        logging.root.addHandler(handler)
        logging.root.setLevel(level)
        logging.captureWarnings(True)    # a Python warning becomes a record too, not a bare line
    return True
