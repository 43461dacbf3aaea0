"""Segment counting: GSM-7 when it can be, UCS-2 when it must, and our reminder in one segment."""
from __future__ import annotations

import pytest

from scheduler.sms_text import GSM7, UCS2, count_segments


@pytest.mark.parametrize("text,encoding,count,units", [
    ("", GSM7, 0, 0),
    ("a" * 160, GSM7, 1, 160),
    ("a" * 161, GSM7, 2, 161),
    ("a" * 306, GSM7, 2, 306),
    ("a" * 307, GSM7, 3, 307),
    ("€" * 80, GSM7, 1, 160),          # extension characters cost two septets
    ("€" * 81, GSM7, 2, 162),
    ("a" * 152 + "[" + "a" * 152, GSM7, 3, 306),  # 306 septets, but the escape pair cannot straddle
    ("é" * 160, GSM7, 1, 160),          # é is in the basic GSM-7 table
    ("ç" + "a" * 69, UCS2, 1, 70),       # ç (lower case) is not: the whole message is UCS-2
    ("ç" + "a" * 70, UCS2, 2, 71),
    ("استبيان المتابعة جاهز", UCS2, 1, 21),
    ("😀" * 35, UCS2, 1, 70),           # each emoji is a surrogate pair
    ("a" * 66 + "😀" + "a" * 66, UCS2, 3, 134),  # 2 x 67 units, but a surrogate pair cannot straddle
])
def test_segments(text, encoding, count, units):
    segments = count_segments(text)
    assert (segments.encoding, segments.count, segments.units) == (encoding, count, units)


def test_reminder_text_is_one_gsm7_segment_even_with_a_long_address():
    from flask import Flask
    from flask_babel import Babel

    from web.reminders import compose_body

    app = Flask(__name__)
    Babel(app)
    with app.app_context():
        body = compose_body({"language": "en"},
                            "https://followup.university-hospital-example.org/f/AbCdEfGhIjKlMnOpQrStUvWx")
    assert body.startswith("Your follow-up questionnaire is ready: https://")
    assert body.endswith("Reply STOP to opt out.")
    segments = count_segments(body)
    assert (segments.encoding, segments.count) == (GSM7, 1)
