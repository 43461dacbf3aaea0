"""The staff blueprint, and what every staff page shares: the signed-in actor, the protocol, the
site's time zone, the inbox count and the demo marker."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app

from storage import messages, settings
from storage.db import parse_utc
from web.auth.access import current_user
from web.context import protocol
from web.database import get_db

bp = Blueprint("staff", __name__, url_prefix="/staff")
TIME_FORMAT = "%d %b %Y %H:%M"


def actor() -> str:
    """Who is acting, for the audit log: the signed-in user's email."""
    return current_user()["email"]


def site_zone() -> ZoneInfo:
    return ZoneInfo(current_app.config["DEFAULT_TIMEZONE"])


def local_time(text: str | None, zone: ZoneInfo | None = None) -> str:
    """A stored UTC instant in ``zone`` (the site's by default), e.g. "02 Mar 2026 14:00 EET"."""
    if not text:
        return ""
    moment = parse_utc(text).astimezone(zone or site_zone())
    return f"{moment:{TIME_FORMAT}} {moment.tzname()}"


@bp.app_context_processor
def staff_context():
    return {"protocol_timepoints": protocol().timepoints,
            "inbox_count": lambda: messages.unhandled_count(get_db()),
            "demo_data": lambda: settings.get(get_db(), settings.DEMO) is not None}


@bp.app_template_filter("local_time")
def local_time_filter(text: str | None) -> str:
    return local_time(text)
