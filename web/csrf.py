"""Cross-site request forgery: every POST carries a token (Flask-WTF's), except where authority is
not an ambient cookie: patient forms (the unguessable link in the path) and Twilio's webhooks (a
signature per request)."""
from __future__ import annotations

from collections.abc import Iterable

from flask import Blueprint, Flask, request
from flask_wtf.csrf import CSRFError, CSRFProtect

csrf = CSRFProtect()


def init_app(app: Flask, exempt: Iterable[Blueprint]) -> None:
    """Check the token of every request but those to ``exempt``'s views.

    Flask-WTF's own check runs before every request and finds the exempt ones through Flask's
    proxies (the request's endpoint, blueprint and view, the app's config): for a patient's POST,
    about as much work as storing the answer's audit entry. Its check is replaced by one that asks
    the request for its blueprint once, then calls the same ``protect``."""
    csrf.init_app(app)
    hook = app.before_request_funcs[None].pop()
    if hook.__name__ != "csrf_protect":    # Flask-WTF changed how it installs its check
        raise RuntimeError(f"expected Flask-WTF's csrf_protect hook, found {hook.__qualname__}")
    exempt = list(exempt)
    skipped = frozenset(blueprint.name for blueprint in exempt)
    for blueprint in exempt:
        csrf.exempt(blueprint)    # protect(apply_exemptions=True), for any other caller, knows them too

    @app.before_request
    def check_csrf() -> None:
        config = app.config      # Flask-WTF's switches, as its own check reads them
        if (request._get_current_object().blueprint not in skipped
                and config["WTF_CSRF_ENABLED"] and config["WTF_CSRF_CHECK_DEFAULT"]):
            csrf.protect(apply_exemptions=True)


__all__ = ["CSRFError", "csrf", "init_app"]
