"""The patient's pages: open a link, answer each form due, see thank-you.

GET  /f/<token>               -> the first unanswered form (303), or thank-you when all are in
GET  /f/<token>/<instrument>  -> that form, or a read-only review once it was received
POST /f/<token>/<instrument>  -> validate and store at once, then POST-redirect-GET; sent by the
                                 page's script (Accept: application/json), a JSON reply instead
GET  /f/sw.js                 -> the service worker that keeps a link's pages on the phone
"""
from __future__ import annotations

from functools import lru_cache
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from questionnaires import MEDICATION, AnswerError
from questionnaires.base import Instrument
from scheduler.links import PATH_PREFIX
from services import answers as answer_service
from services import links
from storage.db import parse_utc
from web.context import now, protocol
from web.database import get_db
from web.errors import message_page
from web.i18n import select_locale, text_direction
from web.patient import offline
from web.patient.forms import HIDDEN_PROBLEM, make_form, read_form
from web.security import STATIC

bp = Blueprint("patient", __name__, url_prefix=PATH_PREFIX)

# Patient forms are a few hundred bytes; 16 KB is generous and stops a large body early.
PATIENT_MAX_BODY = 16 * 1024
PATIENT_MAX_FORM_PARTS = 200      # the longest form (medication) has about forty fields
# The service worker (static/sw.js) is served under /f/ so that a link's scope, /f/<token>, is
# inside the folder it comes from. It may fetch this site's pages, and nothing else.
WORKER = (STATIC / "sw.js").read_text(encoding="utf-8")
WORKER_POLICY = "default-src 'none'; connect-src 'self'"


@bp.before_request
def limit_body() -> None:
    """The patient pages' limits, set on the request: unset, Flask reads each from the app's
    config through its proxies whenever the form parser asks (a field cannot be larger than the
    body, and a form has a few dozen fields)."""
    served = request._get_current_object()
    served.max_content_length = served.max_form_memory_size = PATIENT_MAX_BODY
    served.max_form_parts = PATIENT_MAX_FORM_PARTS


def _resolve(token: str, answered_at=None, moment=None, plan=None) -> links.Link:
    """What ``token`` opens at ``moment`` (now by default) under ``plan`` (the protocol by default);
    its pages are in the link's language."""
    plan = protocol() if plan is None else plan
    link = links.resolve(get_db(), token, moment or now(), answered_at=answered_at, grace=plan.offline_grace)
    if link.language is not None:
        g.locale = link.language
    return link


def _refusal(link: links.Link) -> tuple[int, str, str] | None:
    """(status, title, message) of the kind page for a link that cannot be used; None if it can."""
    if link.state == links.VALID:
        return None
    if link.state == links.UNKNOWN:
        return 404, _("Link not recognised"), _(
            "We could not find a questionnaire for this link. Please check that the whole link "
            "was copied. If it still does not work, please contact your care team.")
    if link.state == links.NOT_YET_OPEN:
        # The participant's own calendar day: in Cairo a window opening at local midnight
        # opens at 22:00 UTC the day before.
        opens = parse_utc(link.window["opens_at"]).astimezone(ZoneInfo(link.participant["timezone"]))
        return 410, _("Not open yet"), _(
            "This questionnaire is not open yet. Please use the same link again from %(date)s.",
            date=format_date(opens.date(), format="long"))
    if link.state == links.CLOSED:
        return 410, _("This questionnaire has closed"), _(
            "The time for answering this questionnaire has passed, so nothing more can be "
            "recorded with this link. Thank you. Your care team will contact you if needed.")
    if link.state == links.LATE:
        return 410, _("Your answers arrived too late"), ngettext(
            "Your answers were kept on your phone while it had no connection, and reached us more "
            "than %(num)s hour after this questionnaire closed, so they could not be recorded. "
            "Thank you. Your care team will contact you if needed.",
            "Your answers were kept on your phone while it had no connection, and reached us more "
            "than %(num)s hours after this questionnaire closed, so they could not be recorded. "
            "Thank you. Your care team will contact you if needed.", protocol().offline_grace_hours)
    return 410, _("This link is no longer active"), _(
        "Nothing more can be recorded with this link. Thank you.")


def _open(token: str):
    """(link, None) for a usable link, or (None, a kind page) when it cannot be used."""
    link = _resolve(token)
    refusal = _refusal(link)
    return (link, None) if refusal is None else (None, message_page(*refusal))


def _wants_json() -> bool:
    """Sent by the page's script (where the service worker keeps the link), which wants JSON back."""
    served = request._get_current_object()
    return served.method == "POST" and _prefers_json(served.environ.get("HTTP_ACCEPT"))


# Phones send a handful of distinct Accept headers, over and over: each is parsed once. The bound
# keeps a client that makes up a new header per request from growing the cache.
ACCEPT_HEADERS_KEPT = 256


@lru_cache(maxsize=ACCEPT_HEADERS_KEPT)
def _prefers_json(accept: str | None) -> bool:
    """Whether an Accept header prefers JSON to HTML, as ``request.accept_mimetypes`` judges it."""
    return parse_accept_header(accept, MIMEAccept).best_match(["text/html", "application/json"]) == "application/json"


def _refused(status: int, title: str, message: str):
    if _wants_json():
        return jsonify(status="refused", title=title, message=message), status
    return message_page(status, title, message)


@bp.get("/sw.js")
def worker():
    return Response(WORKER, mimetype="application/javascript", headers={"Content-Security-Policy": WORKER_POLICY})


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
    following = answer_service.next_instrument(protocol(), timepoint, link.received)
    if following is None:
        return render_template("patient/thanks.html", token=token)
    return redirect(url_for(".form", token=token, instrument=following), 303)


@bp.route("/<token>/<instrument>", methods=["GET", "POST"])
def form(token: str, instrument: str):
    # The request, its instant and the protocol, read once: a patient's POST is the busiest request.
    served, moment, plan = request._get_current_object(), now(), protocol()
    posting = served.method == "POST"
    readable = not posting or _body_is_utf8()   # before the form is parsed: it keeps the body
    posted = served.form if posting and readable else None
    sent = offline.read(posted, token, instrument, moment) if posted is not None else offline.Sent()
    link = _resolve(token, sent.answered_at, moment, plan)
    refusal = _refusal(link)
    if refusal:
        return _refused(*refusal)
    timepoint = link.window["timepoint"]
    steps = answer_service.instruments_due(plan, timepoint)
    if instrument not in steps:
        return _refused(404, _("Page not found"), _("This form is not part of this questionnaire."))
    db = get_db()
    done = link.received
    page = _Page(token, timepoint, instrument, plan.instruments[instrument], steps, done)
    if instrument in done:
        if posting:
            return _sent(answer_service.ALREADY_RECEIVED, token, instrument, None)
        response = answer_service.received(db, link.participant["id"], timepoint)[instrument]
        return render_template("patient/review.html", response=response, dict=dict,
                               drug_names={drug.id: drug.name for drug in MEDICATION.drugs},
                               already=request.args.get("received") == "1", **page.context())
    if not readable:
        return _answer_again(400, "unreadable", page)
    if not posting:
        patient_form = make_form(page.instrument)
        patient_form.version.data = page.instrument.version
        return render_template(f"patient/{instrument}.html", form=patient_form, problems={},
                               **page.context(answering=True))

    patient_form = read_form(page.instrument, posted)
    clean, problems = patient_form.check()
    if not problems and sent.problem:
        problems = {HIDDEN_PROBLEM: "tampered"}
    if problems:
        return _answer_again(400, problems.get(HIDDEN_PROBLEM), page, problems)
    try:
        outcome = answer_service.submit(
            db, plan, participant=link.participant, timepoint_id=timepoint,
            instrument_id=instrument, answers=clean, input_mode=patient_form.input_mode(), now=moment,
            submission_key=sent.key, answered_at=sent.answered_at)
    except AnswerError:  # checked above; the instrument is the last word all the same
        return _answer_again(400, "tampered", page)
    if outcome == answer_service.KEY_TAKEN:
        return _answer_again(400, "tampered", page)
    # The next step from what was in before and this answer, without reading them again: a form
    # answered meanwhile on another device shows as received when it is opened.
    following = answer_service.next_instrument(plan, timepoint, done | {instrument})
    return _sent(outcome, token, instrument, following)


class _Page:
    """One form of a link, and what its page shows around the questions. The page's context is
    built only when a page is rendered: a submission that is stored goes straight on (a redirect)
    and needs none of it."""

    def __init__(self, token: str, timepoint: str, instrument_id: str, instrument: Instrument,
                 steps: tuple[str, ...], done: frozenset[str]):
        """``instrument`` is the protocol's for ``instrument_id``, as it asks it."""
        self.token, self.timepoint, self.id, self.steps, self.done = token, timepoint, instrument_id, steps, done
        self.instrument = instrument

    def context(self, answering: bool = False) -> dict:
        """What the templates read; ``answering`` adds what a form page needs to be answered
        offline: its stamp, the next step, the link's forms."""
        token, steps, index = self.token, self.steps, self.steps.index(self.id)
        context = {
            "token": token,
            "instrument": self.instrument,
            "step": index + 1,
            "steps": len(steps),
            "previous": steps[index - 1] if index else None,
            "following": answer_service.next_instrument(protocol(), self.timepoint, self.done),
            "vas_direction": protocol().vas_direction(select_locale(), text_direction(select_locale())),
        }
        if answering:
            context.update(
                stamp=offline.stamp(token, self.id, now()),
                next_step=url_for(".form", token=token, instrument=steps[index + 1]) if index + 1 < len(steps) else None,
                keep=[url_for(".form", token=token, instrument=step) for step in steps])
        return context


def _sent(outcome: str, token: str, instrument: str, following: str | None):
    """Where the patient goes once the answer is in: the next form, or thank-you; a form already
    answered shows its review, saying so. Sent by the page's script, the same as JSON."""
    if outcome == answer_service.ALREADY_RECEIVED:
        where = f"{_link_path(token, instrument)}?received=1"
    else:
        where = _link_path(token, following)
    if _wants_json():
        return jsonify(status=outcome, next=where)
    return redirect(where, 303)


def _link_path(token: str, instrument: str | None) -> str:
    """``url_for(".form", token=token, instrument=instrument)``, or ``url_for(".start", token=token)``
    without an instrument, for a token that resolved and an instrument of the protocol: spelled out,
    as url_for's general machinery (endpoint, rule, converters, quoting) cost a stored answer's
    redirect more than checking the answer did. Nothing here needs quoting: an issued token is
    URL-safe base64, an instrument id a plain word (tests/test_patient_redirects.py compares the
    two, under a mount point too)."""
    link = f"{request._get_current_object().root_path}{PATH_PREFIX}/{token}"
    return link if instrument is None else f"{link}/{instrument}"


def _answer_again(status: int, hidden_problem: str | None, page: _Page, problems: dict | None = None):
    """The form again, with what was sent, saying what to do. Sent by the page's script, why, in
    JSON: the script then sends the form itself if the patient is on it (so they see this page),
    or tells them."""
    if hidden_problem == "unreadable":
        title, message = _("Your answers could not be read"), _(
            "Your phone sent the answers in a form we could not read. Please go back, "
            "reload the page and answer again.")
    elif hidden_problem == "stale":
        title, message = _("Your answers were not recorded"), _(
            "This form has been updated since the page was opened. Please answer it again below.")
    else:
        title, message = _("Your answers were not recorded"), _(
            "Something on this page was changed, so we could not save it. Please answer again below.")
    if _wants_json():
        if not hidden_problem:
            return jsonify(status="invalid"), status
        return jsonify(status="refused", title=title, message=message), status
    if hidden_problem == "unreadable":
        return message_page(status, title, message)
    return render_template(f"patient/{page.id}.html", form=make_form(page.instrument), problems=problems or {},
                           hidden_problem=hidden_problem, **page.context(answering=True)), status


def _body_is_utf8() -> bool:
    """Whether every name and value of a url-encoded body decodes as UTF-8.

    Werkzeug would drop an undecodable body silently or keep a bad %-escape as text, and the
    patient would be told to answer questions they did answer. Checking the raw body first
    lets them be told the truth. The body is cached, so form parsing still sees it.
    """
    served = request._get_current_object()
    if served.mimetype != "application/x-www-form-urlencoded":
        return True  # anything else parses as an empty form: "please answer" is the right message
    # The whole body at once: its pairs are split at "&", a byte UTF-8 never has inside a
    # character, so the body decodes exactly when each of its names and values does.
    try:
        unquote_to_bytes(served.get_data(cache=True)).decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
