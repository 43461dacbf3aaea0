"""The staff blueprint, and what every staff page shares: the signed-in actor, the protocol."""
from __future__ import annotations

from flask import Blueprint

from web.auth.access import current_user
from web.context import protocol

bp = Blueprint("staff", __name__, url_prefix="/staff")


def actor() -> str:
    """Who is acting, for the audit log: the signed-in user's email."""
    return current_user()["email"]


@bp.app_context_processor
def protocol_in_templates():
    return {"protocol_timepoints": protocol().timepoints}
