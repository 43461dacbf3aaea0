"""A submission is checked from its posted values without binding WTForms' fields
(web.patient.forms.read_form); what it finds must be what the bound form (make_form, which
renders the page) finds, for every form and whatever is sent."""
from __future__ import annotations

import pytest
from flask import request
from werkzeug.datastructures import MultiDict

from web.patient.forms import FORMS, make_form, read_form

POSTS = {
    "vas": [
        {"version": "1.0", "mode": "line", "vas_mm": "63"},
        {"version": "1.0", "mode": "nrs", "nrs": "4"},
        {"version": "1.0", "nrs": "4"},                              # no mode: the default, nrs
        {"version": "1.0", "mode": "line", "vas_mm": ""},           # the line left untouched
        {"version": "1.0", "mode": "line", "vas_mm": "101"},        # a value the line cannot send
        {"version": "0.9", "mode": "line", "vas_mm": "63"},         # a stale page
        {"mode": "line", "vas_mm": "63"},                           # no version
        {"version": "1.0", "mode": "sideways", "nrs": "3"},
        {},
    ],
    "odi": [
        {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11)}},
        {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 8)}},
        {"version": "2.1a", "odi_1": "9", "odi_2": "x"},
    ],
    "satisfaction": [
        {"version": "1.0", "sat_procedure": "3", "sat_results": "4"},
        {"version": "1.0", "sat_procedure": "3"},
        {"version": "1.0", "sat_procedure": "0", "sat_results": ""},
    ],
    "medication": [
        {"version": "1.0", "took_any": "no"},
        {"version": "1.0", "took_any": "yes", "drug_1": "tramadol", "strength_1": " 50 ", "doses_1": "2"},
        {"version": "1.0", "took_any": "yes", "drug_1": "tramadol"},
        {"version": "1.0", "took_any": "maybe", "drug_2": "nothing", "doses_3": "-1"},
    ],
}


def test_every_patient_form_is_covered():
    assert set(POSTS) == set(FORMS)


@pytest.mark.parametrize("instrument_id, posted", [(name, post) for name, posts in POSTS.items() for post in posts])
def test_the_posted_values_are_read_as_the_bound_form_reads_them(app, instrument_id, posted):
    instrument = app.extensions["protocol"].instruments[instrument_id]
    # A name sent twice: both readers take the first value.
    body = MultiDict(list(posted.items()) + [(name, "ignored") for name in list(posted)[:1]])
    with app.test_request_context(f"/f/token/{instrument_id}", method="POST", data=body):
        bound = make_form(instrument)
        read = read_form(instrument, request.form)     # as the route reads a submission
        assert read.answers() == bound.answers()
        assert read.check() == bound.check()
        assert read.input_mode() == bound.input_mode()
