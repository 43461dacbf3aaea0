"""Every patient form under fuzzed posts (tests/reliability/fuzz_run.py): no 5xx, no invalid row.

FUZZ_POSTS sets the posts per form (default 200, a few seconds in all); benchmarks/fuzz.py runs
the issue's 10,000 per form.
"""
from __future__ import annotations

import os

import pytest

from tests.reliability.fuzz_forms import PATIENT_FORMS
from tests.reliability.fuzz_run import report, run_form

POSTS = int(os.environ.get("FUZZ_POSTS", "200"))


def test_every_patient_post_route_is_fuzzed(app):
    from web.patient import bp
    from web.patient.forms import FORMS

    posted = {rule.rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith(f"{bp.name}.")
              and "POST" in rule.methods}
    assert posted == {form.rule for form in PATIENT_FORMS}
    instruments = {form.name for form in PATIENT_FORMS if form.rule == "/f/<token>/<instrument>"}
    assert instruments == set(FORMS) == set(app.extensions["protocol"].instruments)


@pytest.mark.parametrize("form", [form.name for form in PATIENT_FORMS])
def test_fuzzed_patient_posts_never_fail_the_server_nor_store_an_invalid_row(form, tmp_path):
    result = run_form(form, POSTS, tmp_path)
    assert result.posts == POSTS
    assert not result.server_errors, report(result)
    assert not result.invalid, report(result)
    # The fuzz reaches both sides of validation: some posts are stored, most are refused.
    refused = sum(count for status, count in result.statuses.items() if 400 <= status < 500)
    assert result.accepted > 0 and refused > 0, report(result)
