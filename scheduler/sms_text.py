"""SMS encoding and segment counting (GSM 03.38 / 3GPP TS 23.038). Pure.

A message that fits the GSM-7 alphabet costs 160 septets in one segment, or 153 per segment
when split (the rest carries the concatenation header); extension characters (^{}\\[~]|€ and
form feed) take two septets, and an escape pair is never split across segments. Anything else
goes as UCS-2: 70 UTF-16 code units in one segment, 67 per segment when split, never splitting
a surrogate pair.

An SMS question (answers by SMS reply) has no link, so it ends with a short reference instead:
crash recovery looks for it in the provider's copy of the message, as it looks for a link's
token in a reminder (scheduler.recovery).
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[]~|€\f")

SINGLE_SEGMENT = {GSM7: 160, UCS2: 70}
PER_SEGMENT_WHEN_SPLIT = {GSM7: 153, UCS2: 67}


@dataclass(frozen=True)
class Segments:
    encoding: str
    count: int
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)


GSM7_ALPHABET = frozenset(GSM7_BASIC | GSM7_EXTENSION)


def encoding_of(text: str) -> str:
    return GSM7 if GSM7_ALPHABET.issuperset(text) else UCS2


def _units(text: str, encoding: str) -> list[int]:
    """The cost of each character, in the encoding's units."""
    if encoding == GSM7:
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def count_segments(text: str) -> Segments:
    encoding = encoding_of(text)
    costs = _units(text, encoding)
    total = sum(costs)
    if total <= SINGLE_SEGMENT[encoding]:
        return Segments(encoding, 1 if text else 0, total)
    limit, segments, used = PER_SEGMENT_WHEN_SPLIT[encoding], 1, 0
    for cost in costs:  # a character (escape pair, surrogate pair) never straddles two segments
        if used + cost > limit:
            segments, used = segments + 1, 0
        used += cost
    return Segments(encoding, segments, total)


# The reference: four letters from twenty consonants (160,000 of them; no vowels, so never a
# word), enough to tell apart the few question SMS one number gets within recovery's look-back of
# minutes. It grants nothing (a reply is matched by its number, never by a reference), so it is
# stored as sent. " #KQTZ" costs 6 units, which each language's question leaves room for.
REFERENCE_LETTERS = "BCDFGHJKLMNPQRSTVWXZ"
REFERENCE_LENGTH = 4
_REFERENCE = re.compile(rf"(?<![\w#])#([{REFERENCE_LETTERS}]{{{REFERENCE_LENGTH}}})(?![\w])")


def new_reference() -> str:
    """A fresh random reference for one SMS question."""
    return "".join(secrets.choice(REFERENCE_LETTERS) for _ in range(REFERENCE_LENGTH))


def with_reference(text: str, reference: str) -> str:
    """A question's text with its reference at the end: "... Reply STOP to opt out. #KQTZ"."""
    return f"{text} #{reference}"


def reference_in(text: str | None) -> str | None:
    """The last reference in a text (the provider may add words after ours), if any."""
    found = _REFERENCE.findall(text or "")
    return found[-1] if found else None
