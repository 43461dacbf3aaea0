"""Things every blueprint needs from the app: the protocol and the clock."""
from __future__ import annotations

from datetime import datetime

from flask import current_app

from questionnaires.protocol import Protocol
from scheduler import links


def protocol() -> Protocol:
    return current_app.extensions["protocol"]


def now() -> datetime:
    """The current UTC instant; tests and demos replace ``CLOCK`` to travel in time."""
    return current_app.config["CLOCK"]()


def patient_url(token: str) -> str:
    """The full patient link, on this deployment's public address (FLASK_BASE_URL)."""
    return links.patient_url(current_app.config["BASE_URL"], token)
