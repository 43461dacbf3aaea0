"""Response headers: a strict Content-Security-Policy built from hashes of our inline assets,
no referrer (patient links carry their token in the path), and no caching of pages."""
from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from pathlib import Path

from flask import Flask, Response, request

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


def _apply(headers, policy: str, always: tuple[tuple[str, str], ...]) -> None:
    """``headers.setdefault("Content-Security-Policy", policy)``, then ``headers[name] = value``
    for each of ``always``, with the response's header names read once: each ``set`` would
    compare every header already there (a redirect's answer to a patient's POST has a few)."""
    present = {name.lower() for name, _ in headers}
    if "content-security-policy" not in present:
        headers.add("Content-Security-Policy", policy)
    for name, value in always:
        if name.lower() in present:
            headers.set(name, value)
        else:
            headers.add(name, value)


def init_app(app: Flask) -> None:
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

    @app.after_request
    def headers(response: Response) -> Response:
        served = request._get_current_object()
        _apply(response.headers, patient_policy if served.blueprint == "patient" else policy,
               ALWAYS if served.endpoint == "static" else ALWAYS_NOT_STATIC)
        return response
