"""Flask-Babel: patient text in the participant's language; right-to-left ready."""
from __future__ import annotations

from flask import Flask, current_app, g, request
from flask_babel import Babel

RTL_LANGUAGES = {"ar", "fa", "he", "ur"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = g.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def text_direction(locale: str) -> str:
    return "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr"


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def language():
        locale = select_locale() if request else app.config["LANGUAGES"][0]
        return {"locale": locale, "direction": text_direction(locale)}
