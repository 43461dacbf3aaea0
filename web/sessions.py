"""The signed-cookie session, with no work for a request that brings no session and uses none.

Flask builds the session's signing serializer (itsdangerous, a key derived per request) before it
looks for the cookie, and reads seven cookie settings after every response before it finds the
session empty. A patient's request has no session cookie and never touches the session, and it is
the busiest request of the site: it now skips both. A request with the cookie (staff), or one
that reads or writes the session, is handled exactly as Flask handles it.
"""
from __future__ import annotations

from flask.sessions import SecureCookieSession, SecureCookieSessionInterface


class CookieSessions(SecureCookieSessionInterface):
    def open_session(self, app, request) -> SecureCookieSession | None:
        # No Cookie header at all (a patient's phone): not even the empty cookie jar is parsed.
        if app.secret_key and (not request.environ.get("HTTP_COOKIE")
                               or not request.cookies.get(self.get_cookie_name(app))):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        if not (session or session.modified or session.accessed):
            return    # what Flask concludes too, without the cookie's settings: nothing to send
        super().save_session(app, session, response)
