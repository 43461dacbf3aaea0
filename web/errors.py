"""Kind error pages: plain words, the right status, nothing leaked, never a stack trace."""
from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


STAFF_PREFIX = "/staff/"


def message_page(status: int, title: str, message: str):
    """A page of plain words. Under /staff/ it has the staff menu and leads back to the board;
    elsewhere it is a patient's page, in their language, with nothing of the staff side."""
    staff = request.path.startswith(STAFF_PREFIX) and status != 500
    return render_template("staff/message.html" if staff else "message.html", title=title, message=message), status


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


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(InternalServerError, _unexpected)
    app.register_error_handler(Exception, _unexpected)
