"""The patient's pages: open a link, answer each form due, see thank-you.

GET  /f/<token>               -> the first unanswered form (303), or thank-you when all are in
GET  /f/<token>/<instrument>  -> that form, or a read-only review once it was received
POST /f/<token>/<instrument>  -> validate and store at once, then POST-redirect-GET
"""
from __future__ import annotations

from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, g, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from questionnaires import MEDICATION, AnswerError
from scheduler.links import PATH_PREFIX
from services import answers as answer_service
from services import links
from storage.db import parse_utc
from web.context import now, protocol
from web.database import get_db
from web.errors import message_page
from web.i18n import select_locale, text_direction
from web.patient.forms import HIDDEN_PROBLEM, make_form

bp = Blueprint("patient", __name__, url_prefix=PATH_PREFIX)

# Patient forms are a few hundred bytes; 16 KB is generous and stops a large body early.
PATIENT_MAX_BODY = 16 * 1024


@bp.before_request
def limit_body() -> None:
    request.max_content_length = PATIENT_MAX_BODY


def _open(token: str):
    """(link, None) for a usable link, or (None, a kind page) when it cannot be used."""
    link = links.resolve(get_db(), token, now())
    if link.language is not None:
        g.locale = link.language
    if link.state == links.VALID:
        return link, None
    if link.state == links.UNKNOWN:
        return None, message_page(404, _("Link not recognised"), _(
            "We could not find a questionnaire for this link. Please check that the whole link "
            "was copied. If it still does not work, please contact your care team."))
    if link.state == links.NOT_YET_OPEN:
        # The participant's own calendar day: in Cairo a window opening at local midnight
        # opens at 22:00 UTC the day before.
        opens = parse_utc(link.window["opens_at"]).astimezone(ZoneInfo(link.participant["timezone"]))
        return None, message_page(410, _("Not open yet"), _(
            "This questionnaire is not open yet. Please use the same link again from %(date)s.",
            date=format_date(opens.date(), format="long")))
    if link.state == links.CLOSED:
        return None, message_page(410, _("This questionnaire has closed"), _(
            "The time for answering this questionnaire has passed, so nothing more can be "
            "recorded with this link. Thank you. Your care team will contact you if needed."))
    return None, message_page(410, _("This link is no longer active"), _(
        "Nothing more can be recorded with this link. Thank you."))


@bp.post("/<token>/language")
def language(token: str):
    """The patient's choice of language for this link's pages, then back to where they were."""
    chosen = request.form.get("language", "")
    back = request.form.get("back", "")
    if not links.choose_language(get_db(), token, chosen, current_app.config["LANGUAGES"], now()):
        link, page = _open(token)
        return page or message_page(400, _("Something went wrong"), _("Please go back and try again."))
    instrument = back if back in protocol().instruments else None
    return redirect(url_for(".form", token=token, instrument=instrument) if instrument
                    else url_for(".start", token=token), 303)


@bp.get("/<token>")
def start(token: str):
    link, page = _open(token)
    if page:
        return page
    timepoint = link.window["timepoint"]
    done = answer_service.instruments_received(get_db(), link.participant["id"], timepoint)
    following = answer_service.next_instrument(protocol(), timepoint, done)
    if following is None:
        return render_template("patient/thanks.html", token=token)
    return redirect(url_for(".form", token=token, instrument=following), 303)


@bp.route("/<token>/<instrument>", methods=["GET", "POST"])
def form(token: str, instrument: str):
    link, page = _open(token)
    if page:
        return page
    timepoint = link.window["timepoint"]
    steps = answer_service.instruments_due(protocol(), timepoint)
    if instrument not in steps:
        return message_page(404, _("Page not found"), _("This form is not part of this questionnaire."))
    db = get_db()
    done = answer_service.instruments_received(db, link.participant["id"], timepoint)
    context = {
        "token": token,
        "instrument": protocol().instruments[instrument],
        "step": steps.index(instrument) + 1,
        "steps": len(steps),
        "previous": steps[steps.index(instrument) - 1] if steps.index(instrument) else None,
        "following": answer_service.next_instrument(protocol(), timepoint, done),
        "vas_direction": protocol().vas_direction(select_locale(), text_direction(select_locale())),
    }
    if instrument in done:
        if request.method == "POST":
            return redirect(url_for(".form", token=token, instrument=instrument, received=1), 303)
        response = answer_service.received(db, link.participant["id"], timepoint)[instrument]
        return render_template("patient/review.html", response=response, dict=dict,
                               drug_names={drug.id: drug.name for drug in MEDICATION.drugs},
                               already=request.args.get("received") == "1", **context)

    if request.method == "POST" and not _body_is_utf8():
        return message_page(400, _("Your answers could not be read"), _(
            "Your phone sent the answers in a form we could not read. Please go back, "
            "reload the page and answer again."))
    patient_form = make_form(context["instrument"])
    if request.method == "GET":
        patient_form.version.data = context["instrument"].version
        return render_template(f"patient/{instrument}.html", form=patient_form, problems={}, **context)

    clean, problems = patient_form.check()
    if problems:
        return render_template(f"patient/{instrument}.html", form=patient_form, problems=problems,
                               hidden_problem=problems.get(HIDDEN_PROBLEM), **context), 400
    try:
        outcome = answer_service.submit(
            db, protocol(), participant=link.participant, timepoint_id=timepoint,
            instrument_id=instrument, answers=clean, input_mode=patient_form.input_mode(), now=now())
    except AnswerError:  # checked above; the instrument is the last word all the same
        return render_template(f"patient/{instrument}.html", form=patient_form, problems={},
                               hidden_problem="tampered", **context), 400
    if outcome == answer_service.ALREADY_RECEIVED:
        return redirect(url_for(".form", token=token, instrument=instrument, received=1), 303)
    # The next step from what was in before and this answer, without reading them again: a form
    # answered meanwhile on another device shows as received when it is opened.
    following = answer_service.next_instrument(protocol(), timepoint, done | {instrument})
    if following is None:
        return redirect(url_for(".start", token=token), 303)
    return redirect(url_for(".form", token=token, instrument=following), 303)


def _body_is_utf8() -> bool:
    """Whether every name and value of a url-encoded body decodes as UTF-8.

    Werkzeug would drop an undecodable body silently or keep a bad %-escape as text, and the
    patient would be told to answer questions they did answer. Checking the raw body first
    lets them be told the truth. The body is cached, so form parsing still sees it.
    """
    if request.mimetype != "application/x-www-form-urlencoded":
        return True  # anything else parses as an empty form: "please answer" is the right message
    try:
        for pair in request.get_data(cache=True).split(b"&"):
            unquote_to_bytes(pair.replace(b"+", b" ")).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
