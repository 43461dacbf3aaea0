"""The application factory: configuration, storage, blueprints, CLI. Nothing else."""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import web
from questionnaires import INSTRUMENTS
from questionnaires.protocol import DEFAULT_PROTOCOL_PATH, load_protocol
from scheduler.dispatch import CLAIM_LEASE
from services.enrollment import check_country, check_timezone
from web.application import App

TWILIO_VARIABLES = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER",
                    "TWILIO_MESSAGING_SERVICE_SID", "TWILIO_API_BASE", "TWILIO_WHATSAPP_FROM")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


def check_site_defaults(config) -> None:
    """A mistyped FLASK_DEFAULT_TIMEZONE or FLASK_DEFAULT_COUNTRY stops the app at start-up, with
    the variable named, rather than on the first enrollment."""
    for variable, check in (("DEFAULT_TIMEZONE", check_timezone), ("DEFAULT_COUNTRY", check_country)):
        try:
            check(config[variable])
        except ValueError as exc:
            raise ValueError(f"FLASK_{variable}: {exc}") from None


def create_app(test_config: dict | None = None) -> App:
    app = App(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # A random key per start is safe but logs staff out at every restart: set
        # FLASK_SECRET_KEY in production.
        SECRET_KEY=secrets.token_hex(32),
        DATABASE=str(Path(app.instance_path) / "spine-pro.sqlite3"),
        PROTOCOL=str(DEFAULT_PROTOCOL_PATH),
        BASE_URL="http://127.0.0.1:5000",
        LANGUAGES=["en"],
        # Staff pages, their sign-in and the report read in this one language, whatever the
        # browser or a participant's language (FLASK_STAFF_LANGUAGE; it needs a catalogue too).
        STAFF_LANGUAGE="en",
        # The site's own: new participants' time zone, and the country of a phone number written
        # without its +country code (ISO 3166 alpha-2, e.g. EG). The demo uses Africa/Cairo and EG.
        DEFAULT_TIMEZONE="UTC",
        DEFAULT_COUNTRY=None,
        BABEL_DEFAULT_LOCALE="en",
        BABEL_TRANSLATION_DIRECTORIES=str(Path(__file__).with_name("translations")),
        # Staff uploads (paper-data import) are the largest bodies; patient forms have their own,
        # much smaller, limit.
        MAX_CONTENT_LENGTH=8 * 1024 * 1024,
        CLOCK=_utc_now,
        # SMS: FLASK_SMS_GATEWAY=console|twilio; by default twilio when TWILIO_ACCOUNT_SID is set.
        SMS_GATEWAY=None,
        SMS_OUTBOX=str(Path(app.instance_path) / "sms-outbox.jsonl"),
        BEHIND_PROXY=False,
        # A pass that holds a reminder longer than this is presumed dead and its reminder is
        # recovered (scheduler/dispatch.py explains the crash window).
        REMINDER_LEASE_SECONDS=int(CLAIM_LEASE.total_seconds()),
        # Staff sessions: signed out after this long without a request (shared ward computers),
        # and at most after PERMANENT_SESSION_LIFETIME. The cookie is Secure under the production
        # server (deploy/gunicorn_conf.py sets FLASK_SESSION_COOKIE_SECURE=true unless a site says no).
        STAFF_IDLE_MINUTES=30,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_HTTPONLY=True,
    )
    # Twilio's own variable names, as its documentation and tooling use them.
    app.config.update({name: os.environ.get(name) for name in TWILIO_VARIABLES})
    app.config.from_prefixed_env()
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)
    check_site_defaults(app.config)
    app.extensions["protocol"] = load_protocol(app.config["PROTOCOL"], INSTRUMENTS)
    web.init_app(app)
    return app
