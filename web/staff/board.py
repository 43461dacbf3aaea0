"""The nurses' follow-up board: serious adverse events no investigator has acknowledged yet,
then a card per participant, most urgent first, a page of PAGE_SIZE at a time.

Every participant is ranked (and counted in the completion table); only one page of cards is
drawn: at 20,000 participants the whole board was 27 MB of HTML and took five seconds, a page
is some 60 KB. The most urgent are on the first page, which is the one a nurse works from."""
from __future__ import annotations

from math import ceil

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

PAGE_SIZE = 50


@bp.get("/")
@requires(FOLLOW_UP)
def dashboard():
    chosen = request.args.get("filter") or None
    if chosen is not None and chosen not in board.FILTERS:
        abort(404)
    whatsapp = whatsapp_set_up(current_app._get_current_object())
    rows = board.build(get_db(), protocol(), now(), whatsapp=whatsapp)
    matching = board.apply_filter(rows, chosen)
    # A page past either end (an old bookmark, a hand-made address) shows the nearest one.
    pages = max(1, ceil(len(matching) / PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int), 1), pages)
    shown = [key for key in board.FILTERS if whatsapp or key not in board.WHATSAPP_FILTERS]
    return render_template("staff/dashboard.html", rows=matching[(page - 1) * PAGE_SIZE:page * PAGE_SIZE],
                           matching=len(matching), page=page, pages=pages, first=(page - 1) * PAGE_SIZE + 1,
                           total=len(rows),
                           completion=board.completion(rows, protocol()), chosen=chosen,
                           filters={key: words(key) for key in shown},   # in the staff language
                           protocol=protocol(), serious=serious_unacknowledged(get_db()),
                           may_acknowledge=current_user()["role"] in ACKNOWLEDGE,
                           scheduler=health.scheduler(get_db(), now()))
