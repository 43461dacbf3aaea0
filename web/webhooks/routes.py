"""Twilio's callbacks: message status, and SMS replies (STOP, START, HELP, an answer to an SMS
question, anything else).

Every request must carry a valid X-Twilio-Signature for the URL Twilio called and the exact
form it posted, checked with the account's auth token; anything else gets 403 and changes
nothing. Behind a reverse proxy, set FLASK_BEHIND_PROXY=1 so the URL is rebuilt as Twilio saw it.
What a callback changes is decided in services.messaging.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from services import messaging, sms_answers
from sms import webhook
from web import sms_questions
from web.context import now, protocol
from web.database import get_db

bp = Blueprint("twilio", __name__, url_prefix="/twilio")


@bp.before_request
def require_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token or not webhook.validate_signature(token, request.url, request.form.to_dict(flat=True),
                                                   request.headers.get("X-Twilio-Signature")):
        abort(403)


def _twiml(text: str | None = None) -> Response:
    return Response(webhook.twiml_message(text), mimetype="application/xml")


@bp.post("/status")
def status():
    sid = request.form.get("MessageSid", "")
    error = request.form.get("ErrorCode", "")
    if not sid or (error and not error.isdigit()):
        abort(400)
    try:
        messaging.record_status(get_db(), sid=sid, status=request.form.get("MessageStatus", ""),
                                error_code=int(error) if error else None, now=now())
    except ValueError:  # not a status Twilio sends
        abort(400)
    return "", 204


@bp.post("/inbound")
def inbound():
    sender = request.form.get("From", "")
    body = request.form.get("Body")
    if not sender or body is None:
        abort(400)
    reply = sms_answers.receive_reply(get_db(), protocol(), sender=sender, body=body,
                                      sid=request.form.get("MessageSid") or None, now=now())
    if reply.replayed:
        return _twiml()
    if reply.keyword == messaging.HELP:
        with force_locale(reply.language):
            return _twiml(_("These messages are reminders of questionnaires from your care team. "
                            "To stop them, reply STOP. For anything else, please call your care team."))
    if reply.answer is not None:   # an answer to an SMS question: thanks, or the one clarifying SMS
        return _twiml(sms_questions.answer_to_reply(reply.answer, reply.language, reply.value))
    # STOP and START are confirmed by Twilio itself (Advanced Opt-Out); other replies are kept
    # for the nurses and need no answer.
    return _twiml()
