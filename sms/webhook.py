"""Twilio's webhooks: is a request really from Twilio, and the TwiML to answer an SMS."""
from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse


def validate_signature(auth_token: str, url: str, params: Mapping, signature: str | None) -> bool:
    """Whether a webhook request (status callback, incoming SMS) really comes from Twilio.

    url is the full URL Twilio requested (scheme, host, path and query as Twilio saw them);
    params are the POSTed form fields. No signature, or no token to check it with, is False.
    """
    if not signature or not auth_token:
        return False
    return RequestValidator(auth_token).validate(url, params, signature)


def twiml_message(text: str | None) -> str:
    """TwiML answer to an incoming SMS: one reply Message, or an empty Response for none."""
    response = MessagingResponse()
    if text is not None:
        response.message(text)
    return response.to_xml()
