"""Stoplight Prism serving a mock of Twilio's REST API from Twilio's own OpenAPI spec.

Prism answers with the spec's examples and rejects requests that break the spec (422 for a
missing or malformed field, 415 for a wrong content type, 401 without Basic auth), so a test that
gets through it shows the twilio client, as we drive it, sends what Twilio documents.

Prism (npm @stoplight/prism-cli, pinned in package.json) runs from node_modules; the spec is a
copy of ../shared/twilio/ kept in tests/contracts/ (see its README).
"""
from __future__ import annotations

import http.client
import os
import socket
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "contracts" / "twilio_api_v2010.json"  # a copy of ../shared/twilio/
PRISM = ROOT / "node_modules" / ".bin" / "prism"

# Prism parses the 1.9 MB spec before it listens: about 2 s here; generous for a slow CI box.
STARTUP_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 10

# No --errors: that flag also turns *response* violations into HTTP 500, and Twilio's own
# Messages list example breaks Twilio's own schema (relative first_page_uri/next_page_uri/uri
# under format "uri"), so listing would always fail. Requests are validated strictly without it.
PRISM_OPTIONS = ["--verboseLevel", "info"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrismServer:
    """One `prism mock` process on a free local port; its output goes to log_path."""

    def __init__(self, spec: Path, log_path: Path, host: str = "127.0.0.1"):
        self.spec = spec
        self.log_path = log_path
        self.host = host
        self.port = free_port()
        self.url = f"http://{host}:{self.port}"
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen | None = None
        self._log = None

    def start(self) -> "PrismServer":
        if not PRISM.exists():
            raise RuntimeError(f"{PRISM} is missing: run `npm ci` in {ROOT}")
        self._log = self.log_path.open("wb")
        began = time.monotonic()
        # Prism's output goes to a file, not a pipe: it logs every route of the spec at startup
        # and every request after, and an unread pipe would fill and stall it.
        self._process = subprocess.Popen(
            [str(PRISM), "mock", "-h", self.host, "-p", str(self.port), *PRISM_OPTIONS, str(self.spec)],
            cwd=ROOT, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            env={**os.environ, "NO_COLOR": "1", "FORCE_COLOR": "0"})
        try:
            self._wait_until_listening(began + STARTUP_TIMEOUT_SECONDS)
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began
        return self

    def _wait_until_listening(self, deadline: float) -> None:
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"prism exited with {self._process.returncode} before listening:\n"
                                   + self.log_tail())
            if self._answers_http():
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"prism did not listen on {self.url} within "
                                   f"{STARTUP_TIMEOUT_SECONDS} s:\n" + self.log_tail())
            time.sleep(0.1)

    def _answers_http(self) -> bool:
        """Whether Prism answers HTTP (any status: Prism 404s an unknown path). An open port is
        not enough: Prism accepts connections while it is still logging the spec's routes."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=2)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return True
        except (OSError, http.client.HTTPException):
            return False
        finally:
            connection.close()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=STOP_TIMEOUT_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> "PrismServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
