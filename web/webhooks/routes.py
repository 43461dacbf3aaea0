"""Twilio's callbacks: message status, and SMS and WhatsApp replies (STOP, START, HELP, an answer
to an SMS question, anything else).

WhatsApp messages come with From=whatsapp:+E164, to /twilio/inbound (a Messaging Service posts both
channels to one address) or to /twilio/whatsapp, which takes WhatsApp only: there a From without the
prefix, or with no valid number after it, is a 400 and nothing is kept. The number is matched as
E.164; WhatsApp's ProfileName and WaId (the patient's name and number) are never read or logged.
An unknown number's WhatsApp message is kept for the nurses and gets no answer at all.

Every request must carry a valid X-Twilio-Signature for the URL Twilio called and the exact
form it posted, checked with the account's auth token; anything else gets 403 and changes
nothing. Behind a reverse proxy, set FLASK_BEHIND_PROXY=1 so the URL is rebuilt as Twilio saw it.
What a callback changes is decided in services.messaging.
"""
from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from scheduler import channels
from services import messaging, sms_answers
from sms import webhook, whatsapp
from web import sms_questions
from web.context import now, protocol
from web.database import get_db
from web.whatsapp_texts import OPT_IN_WORDING_VERSION, keyword_answer, opt_in_confirmed

# A message has at most 10 media (Twilio's NumMedia); we keep each one's type and address, no more.
MAX_MEDIA = 10
MAX_MEDIA_FIELD = 500

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
    # Twilio's error codes are five digits: anything else (a 20-digit number would not fit SQLite's
    # integers, "²" is a digit int() cannot read) is not a callback Twilio sends.
    if not sid or (error and not (error.isdecimal() and len(error) <= 9)):
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
    if sender.startswith(whatsapp.PREFIX):
        return whatsapp_inbound()
    body = request.form.get("Body")
    if not sender or body is None:
        abort(400)
    reply = sms_answers.receive_reply(get_db(), protocol(), sender=sender, body=body,
                                      sid=request.form.get("MessageSid") or None, now=now())
    return _answer(reply)


@bp.post("/whatsapp")
def whatsapp_inbound():
    try:
        sender = whatsapp.number_of(request.form.get("From", ""))
    except ValueError:
        abort(400)
    body = request.form.get("Body")
    media = _media()
    if body is None:
        abort(400)
    reply = sms_answers.receive_reply(get_db(), protocol(), sender=sender, body=body,
                                      sid=request.form.get("MessageSid") or None, now=now(),
                                      channel=channels.WHATSAPP, payload=request.form.get("ButtonPayload") or None,
                                      media=media, wording_version=OPT_IN_WORDING_VERSION)
    if not reply.known:   # no answer that could tell a stranger what this number is for
        return _twiml()
    if reply.opted_in:
        return _twiml(opt_in_confirmed(reply.language))
    if not reply.replayed and reply.keyword in (messaging.STOP, messaging.START):
        return _twiml(keyword_answer("stopped" if reply.keyword == messaging.STOP else "started", reply.language))
    return _answer(reply)


def _media() -> list[dict]:
    """Each attachment's type and Twilio address (kept for the nurses, never fetched or read)."""
    count = request.form.get("NumMedia", "0") or "0"
    if not count.isdigit() or int(count) > MAX_MEDIA:
        abort(400)
    return [{"type": request.form.get(f"MediaContentType{n}", "")[:MAX_MEDIA_FIELD],
             "url": request.form.get(f"MediaUrl{n}", "")[:MAX_MEDIA_FIELD]} for n in range(int(count))]


def _answer(reply: messaging.Reply) -> Response:
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
