"""The nurses' follow-up board: a card per participant, most urgent first."""
from __future__ import annotations

from flask import abort, render_template, request

from services import board
from web.auth.access import FOLLOW_UP, requires
from web.context import now, protocol
from web.database import get_db
from web.staff.blueprint import bp


@bp.get("/")
@requires(FOLLOW_UP)
def dashboard():
    chosen = request.args.get("filter") or None
    if chosen is not None and chosen not in board.FILTERS:
        abort(404)
    rows = board.build(get_db(), protocol(), now())
    return render_template("staff/dashboard.html", rows=board.apply_filter(rows, chosen), total=len(rows),
                           completion=board.completion(rows, protocol()), filters=board.FILTERS, chosen=chosen,
                           protocol=protocol())
