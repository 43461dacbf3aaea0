"""The text the database stores: JSON as json.dumps(value, sort_keys=True) writes it, and instants
as UTC ISO 8601 to the second (storage.db: stored_json, utc_iso, each made faster than the plain
call, and held here to the plain call's exact text)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from storage.db import stored_json, utc_iso

VALUES = [
    {}, [], "", "plain", "Arabic: ألم أسفل الظهر", "quote \" backslash \\ newline \n tab \t nul \x00",
    0, -1, 2**70, 0.1, 6.3, 2.0, -0.0, 1e-7, 1.5e300, 123456789.125, True, False, None,
    {"vas_cm": 6.3, "vas_mm": 63, "vas_mode": "line"},
    {"b": 1, "a": [1, 2.5, {"z": None, "y": "ü"}], "c": {"nested": {"deeper": [True, False]}}},
    {"odi_1": 0, "odi_10": 5, "odi_2": None, "sections": [0, 1, 2, 3, 4, 5]},
    [{"drug": "ibuprofen", "mg": 400.0, "per_day": 3}, {"drug": "tramadol", "mg": 50, "per_day": 2}],
    {"study_id": "P-001", "timepoint": "baseline", "instrument": "vas", "version": 1, "answered_at": None},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_stored_json_is_the_text_of_json_dumps_with_sorted_keys(value):
    assert stored_json(value) == json.dumps(value, sort_keys=True)


def test_stored_json_refuses_what_json_refuses_with_json_s_message():
    for value in ({"when": datetime(2026, 1, 1)}, {1, 2}, {"x": object()}):
        with pytest.raises(TypeError, match="is not JSON serializable"):
            stored_json(value)
    with pytest.raises(TypeError):
        stored_json({1: "a", "b": 2})    # keys that cannot be sorted together


def test_utc_iso_formats_every_instant_as_utc_to_the_second():
    base = datetime(2026, 3, 10, 21, 59, 59, 999999, tzinfo=timezone.utc)
    cairo = base.astimezone(ZoneInfo("Africa/Cairo"))
    assert utc_iso(base) == "2026-03-10T21:59:59+00:00"
    assert utc_iso(cairo) == "2026-03-10T21:59:59+00:00"             # another zone: the same instant
    assert utc_iso(base + timedelta(microseconds=1)) == "2026-03-10T22:00:00+00:00"
    assert utc_iso(base) == "2026-03-10T21:59:59+00:00"              # asked again, after another
    equal = datetime(2026, 3, 10, 21, 59, 59, tzinfo=timezone.utc)
    assert utc_iso(equal) == utc_iso(equal.replace(tzinfo=ZoneInfo("UTC"))) == "2026-03-10T21:59:59+00:00"
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2026, 3, 10, 12, 0))
