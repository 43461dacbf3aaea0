"""The nurses' follow-up board: serious adverse events no investigator has acknowledged yet,
then a card per participant, most urgent first."""
from __future__ import annotations

from flask import abort, render_template, request

from services import board, health
from services.crf import serious_unacknowledged
from web.auth.access import FOLLOW_UP, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.labels import words
from web.staff.blueprint import bp
from web.staff.clinical import ACKNOWLEDGE


@bp.get("/")
@requires(FOLLOW_UP)
def dashboard():
    chosen = request.args.get("filter") or None
    if chosen is not None and chosen not in board.FILTERS:
        abort(404)
    rows = board.build(get_db(), protocol(), now())
    return render_template("staff/dashboard.html", rows=board.apply_filter(rows, chosen), total=len(rows),
                           completion=board.completion(rows, protocol()), chosen=chosen,
                           filters={key: words(key) for key in board.FILTERS},   # in the staff language
                           protocol=protocol(), serious=serious_unacknowledged(get_db()),
                           may_acknowledge=current_user()["role"] in ACKNOWLEDGE,
                           scheduler=health.scheduler(get_db(), now()))
