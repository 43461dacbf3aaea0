"""What Twilio's error codes mean for us (https://www.twilio.com/docs/api/errors).

Plain data, no twilio import: the Twilio gateway sorts send errors with it, and the status
webhook sorts delivery errors, so a number means the same thing on both paths.
"""
from __future__ import annotations

from sms.gateway import BAD_NUMBER, NOT_ON_WHATSAPP, OPTED_OUT

TWILIO_OPTED_OUT = 21610        # "Attempt to send to unsubscribed recipient": they replied STOP
TWILIO_INVALID_TO = 21211       # "Invalid 'To' Phone Number"
TWILIO_NOT_MOBILE = 21614       # "'To' number is not a valid mobile number": cannot receive SMS
TWILIO_TOO_MANY_REQUESTS = 20429  # Twilio's own rate limit (sent with HTTP 429)
HTTP_TOO_MANY_REQUESTS = 429    # a rate limit from anything in between, with or without a code

# Delivery errors, reported by the status callback after Twilio accepted a message, that mean the
# number itself cannot take SMS: the nurses must fix it.
DELIVERY_NUMBER_ERRORS = {30005: "unknown handset", 30006: "landline or unreachable carrier"}


# WhatsApp: the number has no WhatsApp account. Reported when sending or by the status callback;
# the nurses see the number flagged, and its reminders go by SMS.
WHATSAPP_NOT_A_USER = {
    63003: "not a WhatsApp user (the channel could not find the To address)",
    63024: "not a WhatsApp user (invalid message recipient)",
}
# Other WhatsApp refusals, in plain words (a failed WhatsApp reminder falls back to SMS whatever
# its code: scheduler.channels.falls_back).
WHATSAPP_ERRORS = {
    63016: "outside WhatsApp's 24-hour window without an approved template",
    21656: "the template's ContentVariables were rejected",
    63027: "the template does not exist for this language",
    63028: "the template's number of variables does not match",
    63049: "Meta chose not to deliver this message",
    63032: "the recipient cannot receive WhatsApp messages from this business",
    **WHATSAPP_NOT_A_USER,
}


def delivery_problem(error_code: int | None) -> tuple[str, str] | None:
    """(outcome, plain words) for a delivery error that needs acting on, else None."""
    if error_code == TWILIO_OPTED_OUT:
        return OPTED_OUT, "recipient has opted out (replied STOP)"
    if error_code in DELIVERY_NUMBER_ERRORS:
        return BAD_NUMBER, DELIVERY_NUMBER_ERRORS[error_code]
    if error_code in WHATSAPP_NOT_A_USER:
        return NOT_ON_WHATSAPP, WHATSAPP_NOT_A_USER[error_code]
    return None
