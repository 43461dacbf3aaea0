"""The production server: gunicorn with deploy/gunicorn_conf.py, as scripts/serve runs it."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from storage import init_db
from tests.prism_support import free_port

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")


def _serve(tmp_path, **env) -> tuple[subprocess.Popen, int]:
    port = free_port()
    database = tmp_path / "serve.sqlite3"
    init_db(database)
    environment = {**os.environ, "PORT": str(port), "WEB_CONCURRENCY": "2", "FLASK_DATABASE": str(database),
                   "FLASK_BASE_URL": f"http://127.0.0.1:{port}", **env}
    environment.pop("TWILIO_ACCOUNT_SID", None)
    process = subprocess.Popen([str(GUNICORN), "--config", "python:deploy.gunicorn_conf", "app:create_app()"],
                               cwd=ROOT, env={k: v for k, v in environment.items() if v is not None},
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return process, port


def _wait_until_up(process: subprocess.Popen, port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stdout.read())
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/staff/login", timeout=1).close()
            return
        except (urllib.error.URLError, ConnectionError, OSError):
            time.sleep(0.1)
    raise AssertionError("gunicorn did not answer within 30 s")


def test_gunicorn_serves_the_app_and_its_access_log_shows_no_patient_token(tmp_path):
    process, port = _serve(tmp_path, FLASK_SECRET_KEY="a-long-random-secret-for-this-test")
    try:
        _wait_until_up(process, port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/staff/login", timeout=5) as login:
            cookie = login.headers["Set-Cookie"]
            assert "Secure" in cookie and "HttpOnly" in cookie and login.headers["Cache-Control"] == "no-store"
        token = "AbCdEfGhIjKlMnOpQrStUvWx"
        for path in (f"/f/{token}", f"/f/{token}/vas?x=1"):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5).close()
            except urllib.error.HTTPError as error:
                assert error.code == 404              # an unknown token: "this link is not valid"
    finally:
        process.terminate()
        output = process.communicate(timeout=30)[0]
    assert "/f/<token>" in output and "/f/<token>/vas" in output
    assert token not in output
    assert "SMS GO TO THE CONSOLE, NOT TO PATIENTS" in output
    assert "Booting worker" in output and output.count("Booting worker") == 2


def test_gunicorn_refuses_to_start_without_a_secret_key(tmp_path):
    process, _ = _serve(tmp_path, FLASK_SECRET_KEY=None)
    output = process.communicate(timeout=30)[0]
    assert process.returncode != 0
    assert "FLASK_SECRET_KEY is not set" in output


@pytest.mark.parametrize("args", [["%s", ("GET /f/AbCdEfGhIjKlMnOpQrStUvWx/vas HTTP/1.1",)],
                                  ["%(r)s", {"r": "GET /f/AbCdEfGhIjKlMnOpQrStUvWx HTTP/1.1"}]])
def test_the_redaction_filter_takes_positional_and_named_arguments(args):
    import logging

    from web.security import RedactTokens
    message, arguments = args
    record = logging.LogRecord("x", logging.INFO, __file__, 1, message, None, None)
    record.args = arguments           # a mapping, as gunicorn's access log passes, or a tuple
    RedactTokens().filter(record)
    assert "AbCdEf" not in record.getMessage() and "<token>" in record.getMessage()
