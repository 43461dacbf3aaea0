"""gzip for HTML responses, so a patient page arrives in the first TCP round trip even when
no reverse proxy compresses for us (a proxy that does will see Content-Encoding and skip)."""
from __future__ import annotations

import gzip

from flask import Flask, Response, request

# Below about a kilobyte gzip's own header and the CPU are not worth it.
MIN_COMPRESS_BYTES = 1024
COMPRESSIBLE = {"text/html", "text/css", "text/csv", "application/json", "application/javascript"}


def compressible(response: Response) -> bool:
    """Whether ``response`` is one this app sends gzipped to a client that accepts it: a body held
    whole (not streamed, not a file passed through), of a kilobyte or more, of a text type, not
    encoded already, and not a redirect (whose body no browser shows). The cheap checks first: a
    stored answer's redirect stops at its status."""
    if 300 <= response.status_code < 400 or response.direct_passthrough or response.is_streamed:
        return False
    length = response.content_length
    return (length is not None and length >= MIN_COMPRESS_BYTES and response.mimetype in COMPRESSIBLE
            and "Content-Encoding" not in response.headers)


def init_app(app: Flask) -> None:
    @app.after_request
    def compress(response: Response) -> Response:
        if not compressible(response):
            # The same bytes whatever the client accepts: no Vary (RFC 9110, 12.5.5).
            return response
        response.vary.add("Accept-Encoding")
        if "gzip" not in request.accept_encodings:
            return response
        response.set_data(gzip.compress(response.get_data(), compresslevel=6))
        response.headers["Content-Encoding"] = "gzip"
        return response
