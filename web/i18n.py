"""Flask-Babel: patient text in the participant's language, staff text in the site's staff
language (FLASK_STAFF_LANGUAGE); right-to-left ready."""
from __future__ import annotations

from pathlib import Path

from babel import Locale
from flask import Flask, current_app, g, has_request_context, request
from flask_babel import Babel

from web.errors import STAFF_PREFIX

RTL_LANGUAGES = {"ar", "fa", "he", "ur"}
STAFF_BLUEPRINTS = ("staff", "auth")


def staff_page() -> bool:
    """A staff page: the staff and sign-in blueprints, and any other page under /staff/ (a 404
    there is a staff page too)."""
    return request.blueprint in STAFF_BLUEPRINTS or request.path.startswith(STAFF_PREFIX)


def select_locale() -> str:
    """Staff pages in the staff language, whatever the browser says, and so is anything made
    outside a request, which only staff read (the report file the CLI writes; an SMS picks its
    participant's language with force_locale). A patient's page in the link's language, else
    the browser's best match."""
    if not has_request_context() or staff_page():
        return current_app.config["STAFF_LANGUAGE"]
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
    """Every language a site offers (FLASK_LANGUAGES) and the staff language (FLASK_STAFF_LANGUAGE)
    has a compiled catalogue, or the app stops here, saying which and how to build it: a patient
    must never get a half-English page, nor staff a page in a language nobody chose."""
    staff = app.config["STAFF_LANGUAGE"]
    if not isinstance(staff, str) or not staff:
        raise RuntimeError(f"FLASK_STAFF_LANGUAGE must be one language code, e.g. \"en\", not {staff!r}")
    wanted = [(language, f"FLASK_LANGUAGES offers {language!r}") for language in app.config["LANGUAGES"]]
    wanted.append((staff, f"FLASK_STAFF_LANGUAGE is {staff!r}"))
    folder = Path(app.config["BABEL_TRANSLATION_DIRECTORIES"])
    for language, setting in wanted:
        if language == SOURCE_LANGUAGE:
            continue
        messages = folder / language / "LC_MESSAGES"
        if not (messages / "messages.po").exists():
            raise RuntimeError(f"{setting}, but {messages}/messages.po does not exist: "
                               "translate the catalogue first (pybabel init -i translations/messages.pot "
                               f"-d translations -l {language})")
        if not (messages / "messages.mo").exists():
            raise RuntimeError(f"{setting}, but its catalogue is not compiled: run `pybabel compile -d translations` "
                               "(scripts/demo and scripts/test do it at install)")


def init_app(app: Flask) -> None:
    check_catalogues(app)
    Babel(app, locale_selector=select_locale)

    @app.context_processor
    def language():
        locale = select_locale()
        return {"locale": locale, "direction": text_direction(locale),
                "other_languages": [(code, own_name(code), text_direction(code))
                                    for code in app.config["LANGUAGES"] if code != locale]}
