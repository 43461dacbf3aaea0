"""The nurses' follow-up board: serious adverse events no investigator has acknowledged yet,
then a card per participant, most urgent first."""
from __future__ import annotations

from flask import abort, current_app, render_template, request

from services import board, health
from services.crf import serious_unacknowledged
from web.auth.access import FOLLOW_UP, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.labels import words
from web.reminders import whatsapp_set_up
from web.staff.blueprint import bp
from web.staff.clinical import ACKNOWLEDGE


@bp.get("/")
@requires(FOLLOW_UP)
def dashboard():
    chosen = request.args.get("filter") or None
    if chosen is not None and chosen not in board.FILTERS:
        abort(404)
    whatsapp = whatsapp_set_up(current_app._get_current_object())
    rows = board.build(get_db(), protocol(), now(), whatsapp=whatsapp)
    shown = [key for key in board.FILTERS if whatsapp or key not in board.WHATSAPP_FILTERS]
    return render_template("staff/dashboard.html", rows=board.apply_filter(rows, chosen), total=len(rows),
                           completion=board.completion(rows, protocol()), chosen=chosen,
                           filters={key: words(key) for key in shown},   # in the staff language
                           protocol=protocol(), serious=serious_unacknowledged(get_db()),
                           may_acknowledge=current_user()["role"] in ACKNOWLEDGE,
                           scheduler=health.scheduler(get_db(), now()))
