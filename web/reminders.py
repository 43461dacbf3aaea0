"""Wiring the dispatcher to this app: gateway, SMS text in the participant's language, URLs, and
WhatsApp's templates (checked at start-up)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from scheduler import channels
from scheduler.dispatch import Dispatcher
from scheduler.links import patient_url
from scheduler.outgoing import WhatsAppSetup
from services import health
from services import messaging
from sms import gateway as sms
from sms import whatsapp
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


def check_whatsapp(app: Flask) -> None:
    """WhatsApp is set up when FLASK_WHATSAPP_TEMPLATES names templates: every language offered
    needs its reminder template, and the Twilio gateway a WhatsApp sender (TWILIO_WHATSAPP_FROM, or
    the Messaging Service). Anything amiss stops start-up here, saying what to set."""
    config = app.config
    try:
        templates = whatsapp.load_templates(config.get("WHATSAPP_TEMPLATES"), config["LANGUAGES"],
                                            channels.TEMPLATE_KINDS, channels.REMINDER)
        sender = config.get("TWILIO_WHATSAPP_FROM") or None
        if sender:
            whatsapp.check_sender(sender)
    except ValueError as exc:
        raise RuntimeError(str(exc)) from None
    if sender and not templates:
        raise RuntimeError("TWILIO_WHATSAPP_FROM is set but FLASK_WHATSAPP_TEMPLATES is not: outside the 24-hour "
                           "window WhatsApp takes only approved templates, one per language "
                           '(e.g. FLASK_WHATSAPP_TEMPLATES=\'{"reminder": {"en": "HX..."}}\')')
    if templates and sms.gateway_choice(config) == "twilio" and not sender \
            and not config.get("TWILIO_MESSAGING_SERVICE_SID"):
        raise RuntimeError("FLASK_WHATSAPP_TEMPLATES is set but there is no WhatsApp sender: set TWILIO_WHATSAPP_FROM "
                           "(whatsapp:+E164) or send through TWILIO_MESSAGING_SERVICE_SID")
    app.extensions["whatsapp"] = WhatsAppSetup(templates) if templates else None


def whatsapp_set_up(app: Flask) -> bool:
    """Whether this site sends WhatsApp (check_whatsapp found its templates)."""
    return app.extensions.get("whatsapp") is not None


def dispatcher(app: Flask) -> Dispatcher:
    base = app.config["BASE_URL"].rstrip("/")
    return Dispatcher(
        gateway=gateway(app), protocol=app.extensions["protocol"], compose=compose_body, ask=compose_question,
        link_url=lambda token: patient_url(base, token), messaging=messaging,
        status_callback=f"{base}/twilio/status" if gateway(app).name == "twilio" else None,
        whatsapp=app.extensions.get("whatsapp"), lease=timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"]),
    )


def send_due(now: datetime) -> Counter:
    """One pass, inside an app context (CLI command or scheduler tick); recorded for /healthz."""
    counts = dispatcher(current_app._get_current_object()).send_due(get_db(), now)
    health.record_pass(get_db(), now)
    return counts
