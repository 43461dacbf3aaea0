"""Wiring the dispatcher to this app: gateway, SMS text in the participant's language, URLs."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from scheduler.dispatch import Dispatcher
from scheduler.links import patient_url
from services import health
from services import messaging
from sms import gateway as sms
from web.database import get_db
from web.sms_questions import compose_question


def compose_body(participant: dict, url: str) -> str:
    """No name, no diagnosis, no study or drug: only that a questionnaire is waiting.

    The text is translated once per language and app, its %(link)s left in (gettext formats only
    when given variables): Flask-Babel's force_locale and gettext for each SMS were a fifth of a
    reminder pass's CPU."""
    texts = current_app.extensions.setdefault("reminder_texts", {})
    language = participant["language"]
    if language not in texts:
        with force_locale(language):
            texts[language] = _("Your follow-up questionnaire is ready: %(link)s. Reply STOP to opt out.")
    return texts[language] % {"link": url}


def gateway(app: Flask) -> sms.Gateway:
    if "sms_gateway" not in app.extensions:
        app.extensions["sms_gateway"] = sms.make_gateway(app.config)
    return app.extensions["sms_gateway"]


def dispatcher(app: Flask) -> Dispatcher:
    base = app.config["BASE_URL"].rstrip("/")
    return Dispatcher(
        gateway=gateway(app), protocol=app.extensions["protocol"], compose=compose_body, ask=compose_question,
        link_url=lambda token: patient_url(base, token), messaging=messaging,
        status_callback=f"{base}/twilio/status" if gateway(app).name == "twilio" else None,
        lease=timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"]),
    )


def send_due(now: datetime) -> Counter:
    """One pass, inside an app context (CLI command or scheduler tick); recorded for /healthz."""
    counts = dispatcher(current_app._get_current_object()).send_due(get_db(), now)
    health.record_pass(get_db(), now)
    return counts
