"""Structured logs: with FLASK_LOG_JSON set, every line the web process, the scheduler process and
gunicorn write is one JSON object; without it, the logs read exactly as before."""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app import create_app
from storage import init_db
from tests.test_serve import _serve, _wait_until_up
from web import log_format

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "AbCdEfGhIjKlMnOpQrStUvWx"
FLASK = Path(sys.executable).with_name("flask")


def json_lines(text: str) -> list[dict]:
    """Every non-empty line parsed as a JSON object (a line that is not one fails the test)."""
    lines = []
    for line in text.splitlines():
        if line.strip():
            try:
                parsed = json.loads(line)
            except json.JSONDecodeError:
                raise AssertionError(f"not a JSON line: {line!r}") from None
            assert isinstance(parsed, dict), line
            lines.append(parsed)
    return lines


def assert_stamped_now(line: dict) -> None:
    at = datetime.fromisoformat(line["time"])
    assert at.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - at) < timedelta(minutes=5)


def formatted(message: str, *args, exc: BaseException | None = None, **extra) -> dict:
    logger = logging.getLogger("tests.log_format")
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, message, args,
                               (type(exc), exc, exc.__traceback__) if exc else None, extra=extra or None)
    line = log_format.JsonFormatter().format(record)
    assert "\n" not in line
    return json.loads(line)


@pytest.fixture
def restore_logging():
    """configure() changes the root logger of this test process: put it back afterwards."""
    handlers, level = list(logging.root.handlers), logging.root.level
    yield
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)
    logging.captureWarnings(False)


# -- the formatter ----------------------------------------------------------------------------

def test_a_record_is_one_json_object_with_time_level_logger_and_message():
    line = formatted("reminder %s stays in doubt: %s", 42, "Timeout")
    assert {key: line[key] for key in ("level", "logger", "message")} == {
        "level": "WARNING", "logger": "tests.log_format", "message": "reminder 42 stays in doubt: Timeout"}
    assert_stamped_now(line)
    assert line["time"].endswith("+00:00")
    assert "exc_info" not in line


def test_an_exceptions_traceback_is_inside_its_one_line():
    try:
        {}["missing"]
    except KeyError as error:
        line = formatted("unhandled error: %s", "KeyError", exc=error)
    assert line["message"] == "unhandled error: KeyError"
    assert line["exc_info"].startswith("Traceback (most recent call last):")
    assert line["exc_info"].endswith("KeyError: 'missing'") and "test_log_format.py" in line["exc_info"]


def test_a_token_shows_as_token_in_the_message_the_fields_and_the_traceback():
    try:
        raise LookupError(f"no link /f/{TOKEN}")
    except LookupError as error:
        line = formatted("GET %s", f"/f/{TOKEN}/vas", exc=error, path=f"/f/{TOKEN}", status=404)
    assert line["message"] == "GET /f/<token>/vas"
    assert line["path"] == "/f/<token>" and line["status"] == 404
    assert "LookupError: no link /f/<token>" in line["exc_info"]
    assert TOKEN not in json.dumps(line)


def test_fields_passed_with_extra_sit_beside_the_message_with_their_types():
    line = formatted("access", method="GET", path="/healthz", status=200, bytes=85, duration_ms=3,
                     remote_addr="127.0.0.1")
    assert {key: line[key] for key in ("method", "path", "status", "bytes", "duration_ms")} == {
        "method": "GET", "path": "/healthz", "status": 200, "bytes": 85, "duration_ms": 3}
    assert not {"args", "msg", "levelno", "pathname", "created"} & set(line)


@pytest.mark.parametrize("value,wanted", [("1", True), ("true", True), ("YES", True), (1, True), (True, True),
                                          (None, False), ("", False), ("0", False), ("false", False),
                                          ("no", False), (0, False), (False, False)])
def test_flask_log_json_reads_true_1_or_yes(value, wanted):
    assert log_format.wanted(value) is wanted


@pytest.mark.parametrize("value", ["maybe", "2", "json"])
def test_an_unclear_flask_log_json_stops_the_app_naming_the_variable(value, db_path):
    with pytest.raises(ValueError, match=f"FLASK_LOG_JSON must be true, 1 or yes .* not '{value}'"):
        create_app({"TESTING": True, "DATABASE": str(db_path), "LOG_JSON": value})


def test_configuring_twice_adds_one_handler(restore_logging):
    before = len(logging.root.handlers)
    assert log_format.configure("1") and log_format.configure("yes")
    assert len(logging.root.handlers) == before + 1 and log_format.enabled()


def test_without_the_variable_nothing_changes(db_path, restore_logging):
    handlers, level = list(logging.root.handlers), logging.root.level
    app = create_app({"TESTING": True, "DATABASE": str(db_path)})
    assert logging.root.handlers == handlers and logging.root.level == level
    assert not log_format.enabled()
    assert not any(log_format.is_json(handler) for handler in app.logger.handlers)


def test_an_unhandled_error_in_a_request_is_one_json_line_without_the_token(db_path, restore_logging, capsys):
    app = create_app({"DATABASE": str(db_path), "LOG_JSON": True})

    @app.get("/broken/<token>")
    def broken(token):
        raise RuntimeError(f"could not open /f/{token}")

    response = app.test_client().get(f"/broken/{TOKEN}")
    assert response.status_code == 500
    (line,) = [line for line in json_lines(capsys.readouterr().err) if line["logger"] == "web.errors"]
    assert line["level"] == "ERROR" and line["message"] == "unhandled error: RuntimeError"
    assert "RuntimeError: could not open /f/<token>" in line["exc_info"] and TOKEN not in json.dumps(line)


# -- real processes ---------------------------------------------------------------------------

APP_LOGS = f"""
import logging, sys
from app import create_app
app = create_app({{"DATABASE": sys.argv[1]}})
app.logger.warning("the app's own logger")
logging.getLogger("web.errors").warning("a module's logger at /f/{TOKEN}")
try:
    1 / 0
except ZeroDivisionError:
    logging.getLogger("web.errors").exception("unhandled error: ZeroDivisionError")
"""


def _app_logs(db_path, **env) -> str:
    environment = {key: value for key, value in os.environ.items() if key != log_format.VARIABLE}
    done = subprocess.run([sys.executable, "-c", APP_LOGS, str(db_path)], cwd=ROOT, env={**environment, **env},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "", done.stderr
    return done.stderr


def test_a_web_process_writes_json_lines_from_the_apps_logger_and_the_root_logger(db_path):
    lines = json_lines(_app_logs(db_path, FLASK_LOG_JSON="true"))
    assert [(line["logger"], line["level"], line["message"]) for line in lines] == [
        ("app", "WARNING", "the app's own logger"),
        ("web.errors", "WARNING", "a module's logger at /f/<token>"),
        ("web.errors", "ERROR", "unhandled error: ZeroDivisionError")]
    assert lines[2]["exc_info"].endswith("ZeroDivisionError: division by zero")
    for line in lines:
        assert_stamped_now(line)


def test_without_the_variable_a_web_process_logs_as_before(db_path):
    # Flask's own handler for the app's logger; Python's last resort (the bare message) for the rest.
    lines = _app_logs(db_path).splitlines()
    assert lines[0].startswith("[") and lines[0].endswith("] WARNING in <string>: the app's own logger")
    assert lines[1:4] == [f"a module's logger at /f/{TOKEN}", "unhandled error: ZeroDivisionError",
                          "Traceback (most recent call last):"]
    assert lines[-1] == "ZeroDivisionError: division by zero"
    assert not any(line.startswith("{") for line in lines)


def test_the_scheduler_process_writes_json_lines(tmp_path):
    database = tmp_path / "scheduler.sqlite3"
    init_db(database)
    environment = {**{key: value for key, value in os.environ.items() if not key.startswith(("FLASK_", "TWILIO_"))},
                   "FLASK_LOG_JSON": "1", "FLASK_DATABASE": str(database),
                   "FLASK_SMS_OUTBOX": str(tmp_path / "outbox.jsonl")}
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    with out.open("w") as stdout, err.open("w") as stderr:
        process = subprocess.Popen([str(FLASK), "--app", "app", "scheduler"], cwd=ROOT, env=environment,
                                   stdout=stdout, stderr=stderr)
    try:
        deadline = time.monotonic() + 30
        while "executed successfully" not in err.read_text():     # the first pass has run
            assert process.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    assert process.returncode == 0 and out.read_text() == ""
    lines = json_lines(err.read_text())
    messages = {(line["logger"], line["message"]) for line in lines}
    assert ("web.cli.messaging", "Scheduler started: a reminder pass every minute (Ctrl-C to stop).") in messages
    assert ("scheduler.runner", "signal 15: stopping after the current pass") in messages
    assert any(line["logger"].startswith("apscheduler") for line in lines)


def test_gunicorn_writes_json_lines_and_its_access_lines_show_no_token(tmp_path):
    process, port = _serve(tmp_path, FLASK_SECRET_KEY="a-long-random-secret-for-this-test", FLASK_LOG_JSON="1")
    try:
        _wait_until_up(process, port)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/f/{TOKEN}/vas?x=1", timeout=5).close()
        except urllib.error.HTTPError as error:
            assert error.code == 404
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).close()
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    lines = json_lines(output)           # stdout and stderr, master and workers: every line
    assert TOKEN not in output
    access = [line for line in lines if line["logger"] == "gunicorn.access"]
    patient = next(line for line in access if line["path"].startswith("/f/"))
    assert {key: patient[key] for key in ("method", "path", "status")} == {
        "method": "GET", "path": "/f/<token>/vas", "status": 404}
    assert patient["message"].endswith('"GET /f/<token>/vas?x=1 HTTP/1.1" 404 ' + f"{patient['bytes']} "
                                       f"{patient['duration_ms']}ms")
    assert isinstance(patient["bytes"], int) and patient["bytes"] > 0 and isinstance(patient["duration_ms"], int)
    health = next(line for line in access if line["path"] == "/healthz")
    assert health["status"] == 200
    warning = next(line for line in lines if "SMS GO TO THE CONSOLE" in line["message"])
    assert warning["level"] == "WARNING" and warning["logger"] == "gunicorn.error"
    assert sum("Booting worker" in line["message"] for line in lines) == 2
    for line in lines:
        assert_stamped_now(line)


def test_gunicorn_refusing_to_start_without_a_secret_says_so_in_a_json_line(tmp_path):
    process, _ = _serve(tmp_path, FLASK_SECRET_KEY=None, FLASK_LOG_JSON="yes")
    output = process.communicate(timeout=30)[0]
    assert process.returncode != 0
    (refusal,) = [line for line in json_lines(output) if line["level"] == "CRITICAL"]
    assert refusal["message"].startswith("FLASK_SECRET_KEY is not set")


def test_gunicorn_refuses_an_unclear_flask_log_json(tmp_path):
    process, _ = _serve(tmp_path, FLASK_SECRET_KEY="a-long-random-secret-for-this-test", FLASK_LOG_JSON="maybe")
    output = process.communicate(timeout=30)[0]
    assert process.returncode != 0
    assert "FLASK_LOG_JSON must be true, 1 or yes" in output and "Traceback" not in output
