"""Response headers: a strict Content-Security-Policy built from hashes of our inline assets,
no referrer (patient links carry their token in the path), and no caching of pages."""
from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.datastructures import Headers

from scheduler.links import redact

STATIC = Path(__file__).resolve().parent.parent / "static"
INLINE_ASSETS = {"css": "patient.css", "js": "patient.js"}


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def load_inline_assets() -> dict[str, str]:
    """Patient pages inline their CSS and JS, so the page arrives in one round trip."""
    return {kind: (STATIC / name).read_text(encoding="utf-8") for kind, name in INLINE_ASSETS.items()}


class RedactTokens(logging.Filter):
    """Access logs must not hold working patient links: replace the token with <token>."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, Mapping):      # "%(name)s" formats take a mapping
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        elif record.args:
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(str(record.msg))
        return True


# Set on every response, replacing whatever a view set. Pages, exports, the report: trial data,
# never kept by a browser or a proxy; only the static assets (no data in them) may be cached.
ALWAYS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"), ("X-Frame-Options", "DENY"))
ALWAYS_NOT_STATIC = (*ALWAYS, ("Cache-Control", "no-store"))
_REPLACED = {always: frozenset(name.lower() for name, _ in always) for always in (ALWAYS, ALWAYS_NOT_STATIC)}
POLICY = "content-security-policy"


def add_headers(headers: list[tuple[str, str]], policy: str, always: tuple[tuple[str, str], ...]) -> None:
    """To a response's WSGI header list: ``policy`` as its Content-Security-Policy unless the view
    set its own, then each of ``always`` in place of any the view set."""
    present = {name.lower() for name, _ in headers}
    replaced = _REPLACED[always]
    if not present.isdisjoint(replaced):
        headers[:] = [(name, value) for name, value in headers if name.lower() not in replaced]
    if POLICY not in present:
        headers.append(("Content-Security-Policy", policy))
    headers.extend(always)


def security_headers(wsgi_app, policy: str, patient_policy: str, patient_blueprint: str):
    """WSGI middleware that adds the headers to every response the app starts, as the last step
    before the server sends them: an error page or a streamed export gets them the same as a form.

    Below werkzeug's Headers, whose every add checks the value again (and get_wsgi_headers copies
    them, checking each once more): these are constants, checked once, here, when the app starts.
    The policy is the patient pages' for the patient blueprint's views; the request Flask made of
    the environ says which view answered (read while the request is still open: Flask starts
    the response inside it)."""
    for name, value in (("Content-Security-Policy", policy), ("Content-Security-Policy", patient_policy),
                        *ALWAYS_NOT_STATIC):
        _check_header(name, value)

    def with_security_headers(environ, start_response):
        def start(status, headers, exc_info=None):
            served = environ.get("werkzeug.request")
            rule = served.url_rule if served is not None else None
            endpoint = rule.endpoint if rule is not None else ""
            # Flask's request.blueprint, from the endpoint already at hand.
            add_headers(headers, patient_policy if endpoint.rpartition(".")[0] == patient_blueprint else policy,
                        ALWAYS if endpoint == "static" else ALWAYS_NOT_STATIC)
            return start_response(status, headers, exc_info)

        return wsgi_app(environ, start)

    return with_security_headers


def _check_header(name: str, value: str) -> None:
    """What werkzeug's Headers checks of a header, once: a value never spans lines."""
    Headers().add(name, value)


def init_app(app: Flask, patient_blueprint: str) -> None:
    """The headers on every response; ``patient_blueprint`` names the views that get the patient
    pages' policy."""
    assets = load_inline_assets()
    app.extensions["inline_assets"] = assets
    policy = "; ".join([
        "default-src 'none'",
        f"style-src 'self' {_sha256(assets['css'])}",
        f"script-src 'self' {_sha256(assets['js'])}",
        "img-src 'self' data:",
        "form-action 'self'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ])
    # A patient's page may also send a form kept on the phone back to this site (fetch), and
    # register the service worker that keeps the link's pages (served from this site): nothing
    # else is allowed that the staff pages are not.
    patient_policy = policy + "; connect-src 'self'; worker-src 'self'"
    logging.getLogger("werkzeug").addFilter(RedactTokens())
    app.context_processor(lambda: {"inline_assets": assets})
    app.wsgi_app = security_headers(app.wsgi_app, policy, patient_policy, patient_blueprint)
