"""gunicorn's configuration for production (scripts/serve, the Dockerfile).

- Listens on $PORT (default 8000) on every interface, with $WEB_CONCURRENCY sync workers
  (default 2 per core, at most 8: SQLite takes one writer at a time, and a write is a few rows).
- Refuses to start without FLASK_SECRET_KEY: each worker would draw its own random key, and a
  staff session or a form's CSRF token made by one worker would fail on the next.
- Warns loudly when SMS go to the console instead of Twilio.
- Marks the session cookie Secure (FLASK_SESSION_COOKIE_SECURE=false for a site without HTTPS).
- Access and error logs go to standard output with every patient-link token shown as <token>;
  with FLASK_LOG_JSON set, as JSON lines (web/log_format.py), an access line carrying method, path,
  status, bytes and duration_ms as fields.

The scheduler is not run here: it is its own process (`flask --app app scheduler`), so that a web
worker's restart never interrupts a reminder pass, and more workers never mean more passes.
"""
from __future__ import annotations

import logging
import os
import sys

from gunicorn.glogging import Logger

from scheduler.links import redact
from web import log_format
from web.security import RedactTokens

# Production is served over HTTPS (behind a proxy): the staff session cookie is Secure unless a
# site says otherwise. Set here, before the app reads its configuration from the environment.
os.environ.setdefault("FLASK_SESSION_COOKIE_SECURE", "true")

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", min(8, 2 * (os.cpu_count() or 1))))
worker_class = "sync"
# An XLSX, .sav or CDISC ODM export is built whole before it is sent: at 20,000 participants the
# ODM file takes about 36 s on one core (benchmarks/standards_export.py), the XLSX about 10 s. A
# sync worker silent for longer than this is killed mid-export, so it leaves room for a busy machine.
timeout = 120
graceful_timeout = 30
accesslog = "-"
errorlog = "-"
# Whose address, what, how it ended, how long: no query string (it is in %(r)s's path only), no
# referrer (the patient pages send none), no cookies.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms'
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

try:    # the master's own logs (and through fork, the workers' before the app is loaded)
    JSON_LOGS = log_format.configure(os.environ.get(log_format.VARIABLE))
except ValueError as exc:
    sys.exit(str(exc))


class RedactingLogger(Logger):
    """gunicorn's logger, with every string it logs about a request passed through redact()."""

    def atoms(self, resp, req, environ, request_time):
        return {key: redact(value) if isinstance(value, str) else value
                for key, value in super().atoms(resp, req, environ, request_time).items()}

    def setup(self, cfg):
        super().setup(cfg)
        self.error_log.addFilter(RedactTokens())   # a worker's traceback may quote the path
        if JSON_LOGS:
            for handler in self.error_log.handlers + self.access_log.handlers:
                handler.setFormatter(log_format.JsonFormatter())

    def access(self, resp, req, environ, request_time):
        if not JSON_LOGS:
            return super().access(resp, req, environ, request_time)
        if not self.access_log_enabled:
            return None
        atoms = self.atoms(resp, req, environ, request_time)
        status = str(atoms["s"])
        fields = {"method": atoms["m"], "path": atoms["U"], "status": int(status) if status.isdigit() else status,
                  "bytes": atoms["B"], "duration_ms": atoms["M"], "remote_addr": atoms["h"]}
        # The message is the plain line, as without FLASK_LOG_JSON; the fields are its parts.
        self.access_log.info(self.cfg.access_log_format, self.atoms_wrapper_class(atoms), extra=fields)
        return None


logger_class = RedactingLogger


def on_starting(server) -> None:
    if not os.environ.get("FLASK_SECRET_KEY"):
        refusal = ("FLASK_SECRET_KEY is not set: every worker would sign sessions and forms with a key of "
                   "its own. Set it to a long random value (python3 -c 'import secrets; "
                   "print(secrets.token_hex(32))') and keep it.")
        if JSON_LOGS:
            server.log.critical(refusal)
            sys.exit(1)
        sys.exit(refusal)
    gateway = os.environ.get("FLASK_SMS_GATEWAY") or ("twilio" if os.environ.get("TWILIO_ACCOUNT_SID") else "console")
    if gateway == "console":
        logging.getLogger("gunicorn.error").warning(
            "SMS GO TO THE CONSOLE, NOT TO PATIENTS: set FLASK_SMS_GATEWAY=twilio and the Twilio "
            "settings (README, Production) before a real trial starts.")
