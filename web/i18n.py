"""Flask-Babel: patient text in the participant's language; right-to-left ready."""
from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import Flask, current_app, g, request
from flask_babel import Babel

RTL_LANGUAGES = {"ar", "fa", "he", "ur"}


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = g.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def own_name(code: str) -> str:
    """A language named in itself, as a patient looks for it: "العربية", "English"."""
    return Locale.parse(code).get_display_name(code).capitalize() if code != "en" else "English"


def text_direction(locale: str) -> str:
    return "rtl" if locale.split("_")[0] in RTL_LANGUAGES else "ltr"


SOURCE_LANGUAGE = "en"   # the language the strings are written in: it needs no catalogue


def check_catalogues(app: Flask) -> None:
    """Every language a site offers (FLASK_LANGUAGES) has a compiled catalogue, or the app stops
    here, saying which and how to build it: a patient must never get a half-English page."""
    folder = Path(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    for language in app.config["LANGUAGES"]:
        if language == SOURCE_LANGUAGE:
            continue
        messages = folder / language / "LC_MESSAGES"
        if not (messages / "messages.po").exists():
            raise RuntimeError(f"FLASK_LANGUAGES offers {language!r}, but {messages}/messages.po does not exist: "
                               "translate the catalogue first (pybabel init -i translations/messages.pot "
                               f"-d translations -l {language})")
        if not (messages / "messages.mo").exists():
            raise RuntimeError(f"the {language!r} catalogue is not compiled: run `pybabel compile -d translations` "
                               "(scripts/demo and scripts/test do it at install)")


def init_app(app: Flask) -> None:
    check_catalogues(app)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def language():
        locale = select_locale() if request else app.config["LANGUAGES"][0]
        return {"locale": locale, "direction": text_direction(locale),
                "other_languages": [(code, own_name(code), text_direction(code))
                                    for code in app.config["LANGUAGES"] if code != locale]}
