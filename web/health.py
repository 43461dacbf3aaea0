"""GET /healthz: for a load balancer or a monitor. No login, and nothing about any participant.

200 with "status": "ok" when the database answers and the scheduler ran in the last minutes;
200 with "status": "degraded" when the scheduler is stale (the web app still serves); 503 when
the database cannot be read.
"""
from __future__ import annotations

import logging

from flask import Blueprint, jsonify

from services import health
from web.context import now
from web.database import get_db

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz():
    try:
        report = health.check(get_db(), now())
    except Exception as exc:  # noqa: BLE001 - whatever stops the database answering, the answer is 503
        log.error("health check: the database cannot be read: %s", type(exc).__name__)
        return jsonify({"status": "error", "database": "unreadable"}), 503
    return jsonify(report)
