"""Where a stored answer sends the patient: the same address url_for gives, which the submission
spells out (web.patient.routes._link_path), with or without a mount point (SCRIPT_NAME)."""
from __future__ import annotations

import pytest
from flask import url_for

from web.patient.routes import _link_path

VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}
ODI_ALL = {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11)}}
MEDS_NONE = {"version": "1.0", "took_any": "no"}
MOUNTS = ["", "/pro", "/trials/spine"]


@pytest.fixture
def token(trial):
    trial.enroll()
    return trial.link()


@pytest.mark.parametrize("mount", MOUNTS)
def test_the_spelled_out_link_is_what_url_for_builds(app, token, mount):
    tokens = [token, "A" * 22, "z9_-" * 16]   # an issued token, and the shortest and longest that can be one
    with app.test_request_context(f"/f/{token}/vas", method="POST", base_url=f"http://localhost{mount}/"):
        assert url_for("patient.start", token=token) == f"{mount}/f/{token}"
        for each in tokens:
            assert _link_path(each, None) == url_for("patient.start", token=each)
            for instrument in app.extensions["protocol"].instruments:
                assert _link_path(each, instrument) == url_for("patient.form", token=each, instrument=instrument)


@pytest.mark.parametrize("mount", MOUNTS)
def test_each_stored_form_leads_to_the_next_then_thank_you(client, token, mount):
    base = f"http://localhost{mount}/"
    steps = [("vas", VAS_LINE, f"{mount}/f/{token}/odi"), ("odi", ODI_ALL, f"{mount}/f/{token}/medication"),
             ("medication", MEDS_NONE, f"{mount}/f/{token}")]
    for instrument, data, where in steps:
        response = client.post(f"/f/{token}/{instrument}", data=data, base_url=base)
        assert (response.status_code, response.headers["Location"]) == (303, where)
    again = client.post(f"/f/{token}/vas", data=VAS_LINE, base_url=base)
    assert (again.status_code, again.headers["Location"]) == (303, f"{mount}/f/{token}/vas?received=1")


def test_the_page_script_gets_the_same_address_as_json(client, token):
    response = client.post(f"/f/{token}/vas", data=VAS_LINE, headers={"Accept": "application/json"})
    assert response.get_json() == {"status": "saved", "next": f"/f/{token}/odi"}


def test_a_stored_answer_s_redirect_carries_every_header_once(app, client, token):
    """The security headers are added below werkzeug (web.security.security_headers); a redirect is
    the same bytes whatever the client accepts, so it has no Vary."""
    response = client.post(f"/f/{token}/vas", data=VAS_LINE, headers={"Accept-Encoding": "gzip"})
    policy = response.headers["Content-Security-Policy"]
    assert "connect-src 'self'; worker-src 'self'" in policy     # the patient pages' policy
    assert [(name, value) for name, value in response.headers if name != "Content-Length"] == [
        ("Content-Type", "text/html; charset=utf-8"), ("Location", f"/f/{token}/odi"),
        ("Content-Security-Policy", policy), ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store")]
