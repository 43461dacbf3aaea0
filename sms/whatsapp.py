"""WhatsApp through Twilio: channel addresses, the sender, and the approved templates.

Twilio sends WhatsApp with the same Messages API as SMS; only the addresses differ: a WhatsApp
recipient or sender is ``whatsapp:+E164``. We keep numbers as E.164 everywhere and add or strip the
prefix here, at the edge. Outside WhatsApp's 24-hour window only an approved template may go
(``content_sid`` with ``content_variables``); the template of each kind of message and language
comes from the configuration (FLASK_WHATSAPP_TEMPLATES), checked at start-up by ``load_templates``.

No twilio import: the console gateway and the webhooks use this too.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

PREFIX = "whatsapp:"
# E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
_E164 = re.compile(r"\+[1-9][0-9]{6,14}")
# A Content Template's SID, as Twilio's API spec constrains ContentSid.
CONTENT_SID = re.compile(r"HX[0-9a-fA-F]{32}")
# The one template variable: the patient's link (or, for the pain question, its reference).
LINK_VARIABLE = "1"


def address(number: str, channel: str) -> str:
    """The provider's address of an E.164 number on a channel: whatsapp:+201001234567 or the number."""
    return PREFIX + number if channel == "whatsapp" else number


def number_of(whatsapp_address: str) -> str:
    """The E.164 number of a ``whatsapp:+...`` address; ValueError for anything else (no prefix, or
    no valid number after it)."""
    if not whatsapp_address.startswith(PREFIX):
        raise ValueError("not a WhatsApp address (whatsapp:+E164)")
    number = whatsapp_address[len(PREFIX):].strip()
    if not _E164.fullmatch(number):
        raise ValueError("not a WhatsApp address (whatsapp:+E164)")
    return number


def check_sender(value: str) -> str:
    """TWILIO_WHATSAPP_FROM as Twilio wants it: whatsapp:+E164."""
    try:
        number_of(value)
    except ValueError:
        raise ValueError(f"TWILIO_WHATSAPP_FROM must be a WhatsApp sender such as whatsapp:+201001234567, "
                         f"not {value!r}") from None
    return value


@dataclass(frozen=True)
class Templates:
    """The approved template SID of each kind of message in each language."""

    sids: Mapping[str, Mapping[str, str]] = field(default_factory=dict)   # kind -> language -> SID

    def sid(self, kind: str, language: str) -> str | None:
        return self.sids.get(kind, {}).get(language)

    def __bool__(self) -> bool:
        return bool(self.sids)


def load_templates(value: object, languages: Sequence[str], kinds: Sequence[str], required: str) -> Templates:
    """FLASK_WHATSAPP_TEMPLATES, e.g. {"reminder": {"en": "HX…", "ar": "HX…"}, "question": {"en": "HX…"}}:
    a template per kind and language. Every language offered needs the ``required`` kind's template;
    ValueError says which is missing or malformed. None or {} is no WhatsApp at all."""
    if not value:
        return Templates()
    setting = "FLASK_WHATSAPP_TEMPLATES"
    if not isinstance(value, Mapping):
        raise ValueError(f"{setting} must be a JSON object of kinds, e.g. "
                         '{"reminder": {"en": "HX…"}}, not ' + repr(value)[:80])
    sids: dict[str, dict[str, str]] = {}
    for kind, by_language in value.items():
        if kind not in kinds:
            raise ValueError(f"{setting}: unknown kind of message {kind!r} (known: {', '.join(kinds)})")
        if not isinstance(by_language, Mapping):
            raise ValueError(f"{setting}[{kind!r}] must map languages to template SIDs")
        for language, sid in by_language.items():
            if language not in languages:
                raise ValueError(f"{setting}[{kind!r}] names {language!r}, which FLASK_LANGUAGES does not offer")
            if not isinstance(sid, str) or not CONTENT_SID.fullmatch(sid):
                raise ValueError(f"{setting}[{kind!r}][{language!r}] must be a Content Template SID "
                                 f"(HX and 32 hex digits), not {sid!r}")
        sids[kind] = dict(by_language)
    missing = [language for language in languages if language not in sids.get(required, {})]
    if missing:
        raise ValueError(f"WhatsApp is set up (FLASK_WHATSAPP_TEMPLATES) but {', '.join(map(repr, missing))} "
                         f"has no approved {required} template: a participant in that language could get no "
                         f"reminder outside the 24-hour window. Add {required}.{missing[0]} (a Content Template "
                         "SID) or stop offering the language")
    return Templates(sids)
