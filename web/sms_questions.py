"""The SMS of answers by SMS reply, in the participant's language: the pain question (sent by the
reminder dispatcher), and the two answers to a reply (the thanks, the one clarifying SMS).

Like the reminder, they carry no name, diagnosis, study or drug: only the 0-10 scale and its
anchors, which the question needs. Each fits one SMS segment in every shipped language, GSM-7 or
UCS-2 (tests/test_sms_answers.py counts them with scheduler.sms_text): an Arabic SMS has 70
units, and the question keeps 6 of them for its reference.
"""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _

from scheduler.sms_text import with_reference
from services import sms_answers

QUESTION = "question"


def _text(kind: str, language: str) -> str:
    """One text in one language, translated once per app (as web.reminders.compose_body does)."""
    texts = current_app.extensions.setdefault("sms_answer_texts", {})
    if (kind, language) not in texts:
        with force_locale(language):
            texts[kind, language] = _translated(kind)
    return texts[kind, language]


def _translated(kind: str) -> str:
    """In the locale in force; THANKS keeps its %(value)s (gettext formats only when given values)."""
    if kind == QUESTION:
        return _("Reply with a number from 0 (no pain) to 10 (worst pain imaginable). Reply STOP to opt out.")
    if kind == sms_answers.CLARIFY:
        return _("Please reply with one number only, from 0 (no pain) to 10 (worst pain imaginable).")
    if kind == sms_answers.THANKS:
        return _("Thank you: we received your answer, %(value)s.")
    raise ValueError(f"no SMS text {kind!r}")


def compose_question(participant: dict, reference: str) -> str:
    """The pain question for the reminder dispatcher, ending with its reference."""
    return with_reference(_text(QUESTION, participant["language"]), reference)


def answer_to_reply(kind: str, language: str, value: int | None = None) -> str:
    """The SMS that answers a patient's reply: THANKS (with the value recorded) or CLARIFY."""
    text = _text(kind, language)
    return text % {"value": value} if kind == sms_answers.THANKS else text
