"""The patient's words for WhatsApp, in their language: what they agree to when they opt in (the
nurse reads or shows it in clinic, and a site may print it on the card that gives the WhatsApp
number), the answer to their first WhatsApp message, which is their opt-in, and the answers to a
STOP or a START sent on WhatsApp.

The wording has a version, recorded with every opt-in: change the English or a translation of
OPT_IN_WORDING and raise OPT_IN_WORDING_VERSION, so the record says which words each patient
agreed to. Like the SMS, none of it names the trial, a diagnosis or a drug.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

OPT_IN_WORDING_VERSION = "1"


def _texts(language: str) -> dict[str, str]:
    """Both texts in one language, translated once per app (as web.reminders.compose_body does)."""
    cache = current_app.extensions.setdefault("whatsapp_texts", {})
    if language not in cache:
        with force_locale(language):
            cache[language] = {
                "opt_in": _("I agree to get reminders of my follow-up questionnaires from my care team on "
                            "WhatsApp, at this number. I can stop them at any time by replying STOP."),
                "confirmed": _("Thank you: your follow-up reminders will now come here on WhatsApp. "
                               "Reply STOP to stop them."),
                # WhatsApp has no carrier opt-out that answers STOP and START for us, as SMS has.
                "stopped": _("You will get no more reminders from us, by WhatsApp or SMS. Reply START to get "
                             "them again by SMS."),
                "started": _("Your reminders will come again by SMS. To get them here on WhatsApp, please "
                             "ask your care team."),
            }
    return cache[language]


def opt_in_wording(language: str) -> str:
    """What the patient agrees to, OPT_IN_WORDING_VERSION, in their language."""
    return _texts(language)["opt_in"]


def opt_in_confirmed(language: str) -> str:
    """The answer to the WhatsApp message that recorded the patient's opt-in."""
    return _texts(language)["confirmed"]


def keyword_answer(kind: str, language: str) -> str:
    """The answer to a STOP ("stopped") or a START ("started") sent on WhatsApp."""
    return _texts(language)[kind]
