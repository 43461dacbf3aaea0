"""Helpers for the Playwright tests: a live server in a thread, the browser's launch settings,
a phone profile, axe-core, and a recorder for console errors and CSP violations.

Browsers cannot be downloaded here: the tests drive the system Chromium (CHROMIUM_PATH,
default /usr/bin/chromium) through Playwright, and skip when it is missing.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-gpu"]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"

# A phone held upright (iPhone 12-15 class): CSS pixels, 3 device pixels each, touch only.
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3,
         "is_mobile": True, "has_touch": True, "locale": "en-GB"}


class LiveServer:
    """The Flask app served over real HTTP on a free port, in a background thread."""

    def __init__(self, app):
        self._server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="live-server",
                                        kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> "LiveServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# Installed before any page script runs (through the DevTools protocol, so the page's own CSP
# does not apply to it): records every CSP violation the page reports.
RECORD_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__cspViolations.push(e.violatedDirective + " " + (e.blockedURI || "inline"));
});
"""


class ConsoleLog:
    """Console errors and uncaught page errors of one page."""

    def __init__(self, page):
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))

    def _console(self, message) -> None:
        # The browser asks for /favicon.ico on its own; the app has none, so that is a 404.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            self.errors.append(f"{message.text} ({message.location.get('url')})")

    def csp(self) -> list[str]:
        return [e for e in self.errors if "Content Security Policy" in e or "Content-Security-Policy" in e]


def axe_violations(page) -> list[dict]:
    """Run axe-core (all non-experimental rules) on the page; its violations, summarised.

    The page's CSP forbids the injected script, so the context must have bypass_csp=True.
    """
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.add_script_tag(content=AXE_JS.read_text(encoding="utf-8"))
    violations = page.evaluate("axe.run(document).then(function (r) { return r.violations; })")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [node["target"] for node in v["nodes"]][:5],
             "summary": [node.get("failureSummary") for node in v["nodes"]][:2]}
            for v in violations]

