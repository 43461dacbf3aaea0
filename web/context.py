"""Things every blueprint needs from the app: the protocol and the clock."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from questionnaires.protocol import Protocol
from scheduler import links


def protocol() -> Protocol:
    # Read on every patient request. The app itself, not through the proxy: an attribute read
    # through it first fails on the proxy (Python formats that AttributeError), then is forwarded.
    return current_app._get_current_object().extensions["protocol"]


def now() -> datetime:
    """The current UTC instant; tests and demos replace ``CLOCK`` to travel in time."""
    return current_app._get_current_object().config["CLOCK"]()


def patient_url(token: str) -> str:
    """The full patient link, on this deployment's public address (FLASK_BASE_URL)."""
    return links.patient_url(current_app.config["BASE_URL"], token)
