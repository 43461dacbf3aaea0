"""Kind error pages: plain words, the right status, nothing leaked, never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

from storage import faults

log = logging.getLogger(__name__)


STAFF_PREFIX = "/staff/"


# Seconds a client is asked to wait before trying again, by what is wrong with the database:
# another writer's lock passes in moments; a full disk or a damaged file needs someone.
RETRY_AFTER = {faults.LOCKED: 5, faults.FULL: 300, faults.CORRUPT: 300, faults.UNAVAILABLE: 300}


def message_page(status: int, title: str, message: str):
    """A page of plain words. Under /staff/ it has the staff menu and leads back to the board;
    elsewhere it is a patient's page, in their language, with nothing of the staff side. A 500 or
    503 is always the plain page: the staff menu reads the database, which may be what failed."""
    if request.path.startswith(STAFF_PREFIX) and status not in (500, 503):
        try:
            return render_template("staff/message.html", title=title, message=message), status
        except faults.DatabaseFault as exc:   # a 404 for a staff page, while the database is down
            return _database_fault(exc)
    return render_template("message.html", title=title, message=message), status


def _http_error(error: HTTPException):
    titles = {
        400: (_("Something went wrong"), _("We could not read what was sent. Please go back and try again.")),
        404: (_("Page not found"), _("We could not find this page. Please check the link.")),
        405: (_("Something went wrong"), _("Please go back and try again.")),
        413: (_("Too much was sent"), _("What was sent is larger than this form allows. "
                                         "Please go back and try again.")),
    }
    title, message = titles.get(error.code, (_("Something went wrong"), _("Please try again later.")))
    return message_page(error.code or 500, title, message)


def _unexpected(error: Exception):
    # Logged without the request path or form: those can hold link tokens or answers.
    log.exception("unhandled error: %s", type(error).__name__)
    return message_page(500, _("Something went wrong"),
                        _("Sorry, something went wrong on our side. Your earlier answers are safe. "
                          "Please try again in a few minutes."))


def _database_fault(error: Exception):
    """The database is locked past the busy timeout, full, damaged or unreachable: 503 at once,
    with Retry-After, and nothing stored (the write's transaction was rolled back whole). The log
    names the file and what is wrong with it, for whoever is on call; never the request."""
    meaning = faults.kind(error)
    if meaning is None:   # a constraint or a bad statement: a bug
        return _unexpected(error)
    log.error("database %s is %s (%s): answered 503", current_app.config["DATABASE"], meaning,
              getattr(error, "sqlite_errorname", type(error).__name__))
    if meaning == faults.LOCKED:
        title, message = _("Busy right now"), _("Please try again in a few seconds.")
    else:
        title, message = _("Not available right now"), _("Please try again later.")
    if request.method == "POST":
        message = " ".join((_("What you just sent was not saved."), message))
    message = " ".join((message, _("Your earlier answers are safe.")))
    body, status = message_page(503, title, message)
    return body, status, {"Retry-After": str(RETRY_AFTER[meaning])}


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(faults.DatabaseFault, _database_fault)
    app.register_error_handler(Exception, _unexpected)
