"""gzip for HTML responses, so a patient page arrives in the first TCP round trip even when
no reverse proxy compresses for us (a proxy that does will see Content-Encoding and skip)."""
from __future__ import annotations

import gzip

from flask import Flask, Response, request

# Below about a kilobyte gzip's own header and the CPU are not worth it.
MIN_COMPRESS_BYTES = 1024
COMPRESSIBLE = {"text/html", "text/css", "text/csv", "application/json", "application/javascript"}


def init_app(app: Flask) -> None:
    @app.after_request
    def compress(response: Response) -> Response:
        headers = response.headers
        # One look at the names: ``"Vary" in headers`` raises and catches werkzeug's
        # BadRequestKeyError for every response without one, which is nearly all.
        if any(name.lower() == "vary" for name, _ in headers):
            response.vary.add("Accept-Encoding")
        else:
            headers.add("Vary", "Accept-Encoding")   # the same header, without parsing one
        # The cheap checks first: a redirect or a small reply (every stored answer) stops at its length.
        length = None if response.direct_passthrough or response.is_streamed else response.content_length
        if (length is None or length < MIN_COMPRESS_BYTES
                or "Content-Encoding" in headers
                or response.mimetype not in COMPRESSIBLE
                or "gzip" not in request.accept_encodings):
            return response
        response.set_data(gzip.compress(response.get_data(), compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
        return response
