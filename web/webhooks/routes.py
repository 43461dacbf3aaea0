"""Twilio's callbacks: message status, and SMS replies (STOP, START, HELP, anything else).

Every request must carry a valid X-Twilio-Signature for the URL Twilio called and the exact
form it posted, checked with the account's auth token; anything else gets 403 and changes
nothing. Behind a reverse proxy, set FLASK_BEHIND_PROXY=1 so the URL is rebuilt as Twilio saw it.
"""
from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, current_app, request
from flask_babel import force_locale
from flask_babel import gettext as _

from scheduler import sms
from scheduler.dispatch import opt_out
from storage import messages, participants, write
from storage.audit import record
from web.context import now
from web.database import get_db

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__, url_prefix="/twilio")

# Twilio's standard opt-out and opt-in keywords (Advanced Opt-Out defaults).
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
START_WORDS = {"START", "YES", "UNSTOP"}
HELP_WORDS = {"HELP", "INFO"}
# Delivery errors that mean the number itself cannot take SMS: flag it for the nurses.
NUMBER_ERRORS = {30005: "unknown handset", 30006: "landline or unreachable carrier"}
OPTED_OUT_ERROR = 21610


@bp.before_request
def require_signature() -> None:
    token = current_app.config.get("TWILIO_AUTH_TOKEN")
    if not token or not sms.validate_signature(token, request.url, request.form.to_dict(flat=True),
                                               request.headers.get("X-Twilio-Signature")):
        abort(403)


def _twiml(text: str | None = None) -> Response:
    return Response(sms.twiml_message(text), mimetype="application/xml")


@bp.post("/status")
def status():
    sid = request.form.get("MessageSid", "")
    status = request.form.get("MessageStatus", "")
    error = request.form.get("ErrorCode", "")
    if not sid or status not in messages.STATUS_RANK or (error and not error.isdigit()):
        abort(400)
    error_code = int(error) if error else None
    db = get_db()
    with write(db):
        message = messages.by_sid(db, sid)
        if message is None or message["direction"] != "outbound":
            log.info("status callback for a message we did not send; ignored")
            return "", 204
        messages.advance_status(db, sid, status, error_code, now())
        participant = participants.by_id(db, message["participant_id"])
        if error_code == OPTED_OUT_ERROR:
            opt_out(db, participant, now(), actor="twilio", reason=f"delivery error {error_code}")
        elif error_code in NUMBER_ERRORS and not participant["phone_problem"]:
            participants.set_phone_problem(db, participant["id"], f"Twilio error {error_code}: {NUMBER_ERRORS[error_code]}")
            record(db, at=now(), actor="twilio", action="flag_phone", entity="participant",
                   entity_id=participant["study_id"], after={"phone_problem": error_code})
    return "", 204


@bp.post("/inbound")
def inbound():
    sender = request.form.get("From", "")
    body = request.form.get("Body")
    if not sender or body is None:
        abort(400)
    keyword = body.strip().strip(".!").upper()
    db = get_db()
    with write(db):
        matched = [p for p in participants.by_phone(db, sender)]
        messages.insert_inbound(db, participant_id=matched[0]["id"] if matched else None, from_number=sender,
                                body=body, sid=request.form.get("MessageSid") or None, now=now())
        for participant in matched:
            if keyword in STOP_WORDS:
                opt_out(db, participant, now(), actor="participant", reason=f"replied {keyword}")
            elif keyword in START_WORDS and participants.set_opt_out(db, participant["id"], False):
                record(db, at=now(), actor="participant", action="sms_opt_in", entity="participant",
                       entity_id=participant["study_id"], before={"sms_opt_out": 1}, after={"sms_opt_out": 0},
                       reason=f"replied {keyword}")
    if keyword in HELP_WORDS:
        with force_locale(matched[0]["language"] if matched else "en"):
            return _twiml(_("These messages are reminders of questionnaires from your care team. "
                            "To stop them, reply STOP. For anything else, please call your care team."))
    # STOP and START are confirmed by Twilio itself (Advanced Opt-Out); other replies are kept
    # for the nurses and need no answer.
    return _twiml()
