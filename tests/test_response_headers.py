"""The headers every response gets (web.security.security_headers, below werkzeug) and the Vary of a
response that may be gzipped (web.compression)."""
from __future__ import annotations

import gzip

import pytest

from web.security import ALWAYS_NOT_STATIC, add_headers

ALWAYS = dict(ALWAYS_NOT_STATIC)


@pytest.fixture
def token(trial):
    trial.enroll()
    return trial.link()


def policy_of(response) -> str:
    assert response.headers.getlist("Content-Security-Policy") == [response.headers["Content-Security-Policy"]]
    return response.headers["Content-Security-Policy"]


def test_a_header_a_view_set_is_replaced_not_doubled_and_its_own_policy_stays():
    headers = [("Content-Type", "text/plain"), ("X-Frame-Options", "SAMEORIGIN"), ("Cache-Control", "max-age=60"),
               ("content-security-policy", "default-src 'self'"), ("cache-control", "public")]
    add_headers(headers, "default-src 'none'", ALWAYS_NOT_STATIC)
    assert headers == [("Content-Type", "text/plain"), ("content-security-policy", "default-src 'self'"),
                       *ALWAYS_NOT_STATIC]


def test_patient_pages_get_the_patient_policy_and_every_other_page_the_strict_one(client, token):
    patient = policy_of(client.get(f"/f/{token}/vas"))
    staff = policy_of(client.get("/staff/login"))
    assert patient == staff + "; connect-src 'self'; worker-src 'self'"
    assert "default-src 'none'" in staff and "frame-ancestors 'none'" in staff
    # No view answered (no blueprint): the strict policy, though the address is under /f/.
    assert policy_of(client.get(f"/f/{token}/vas/more")) == staff
    # A refusal from the patient's views is theirs.
    assert policy_of(client.get(f"/f/{'A' * 22}/vas")) == patient
    for response in (client.get(f"/f/{token}/vas"), client.get("/staff/login"), client.get("/nowhere"),
                     client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "5"})):
        assert {name: response.headers.getlist(name) for name in ALWAYS} == {n: [v] for n, v in ALWAYS.items()}


def test_the_service_worker_keeps_its_own_policy(client):
    response = client.get("/f/sw.js")
    assert policy_of(response) == "default-src 'none'; connect-src 'self'"
    assert response.headers["Cache-Control"] == "no-store" and response.headers["X-Frame-Options"] == "DENY"


def test_static_assets_may_be_cached(client):
    response = client.get("/static/staff.css")
    assert response.status_code == 200
    assert "no-store" not in response.headers.get("Cache-Control", "")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    response.close()


def test_vary_names_accept_encoding_exactly_where_gzip_may_be_sent(client, token):
    page = client.get(f"/f/{token}/odi", headers={"Accept-Encoding": "gzip"})
    plain = client.get(f"/f/{token}/odi")
    assert page.headers["Content-Encoding"] == "gzip" and gzip.decompress(page.data) == plain.data
    assert page.headers.getlist("Vary") == plain.headers.getlist("Vary") == ["Accept-Encoding"]
    # The sign-in page reads the session (its CSRF token): Vary names both, in one header.
    (vary,) = client.get("/staff/login").headers.getlist("Vary")
    assert sorted(vary.split(", ")) == ["Accept-Encoding", "Cookie"]
    # A redirect and a small JSON reply are the same bytes whatever the client accepts.
    stored = client.post(f"/f/{token}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "5"},
                         headers={"Accept-Encoding": "gzip", "Accept": "application/json"})
    assert stored.get_json()["status"] == "saved"
    assert "Vary" not in stored.headers and "Content-Encoding" not in stored.headers


def test_an_error_page_and_a_streamed_response_get_the_headers_too(app):
    """The headers are added where the response starts, so a page Flask makes of an unhandled
    error, and a response streamed after the view returned, carry them as a form does."""
    from flask import Response, stream_with_context

    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/test-only/boom")
    def boom():
        raise RuntimeError("a bug")

    @app.get("/test-only/stream")
    def stream():
        return Response(stream_with_context(iter([b"a,b\n", b"1,2\n"])), mimetype="text/csv")

    client = app.test_client()
    failed, streamed = client.get("/test-only/boom"), client.get("/test-only/stream")
    assert failed.status_code == 500 and streamed.get_data() == b"a,b\n1,2\n"
    for response in (failed, streamed):
        assert "default-src 'none'" in policy_of(response)
        assert {name: response.headers.getlist(name) for name in ALWAYS} == {n: [v] for n, v in ALWAYS.items()}
