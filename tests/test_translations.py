"""Translations: the Arabic catalogue covers every string a patient can see and keeps its
placeholders, and a pseudo-localised run of every patient page finds no text that bypasses
gettext (hard-coded English in a template or a view).

The strings are extracted afresh, with the project's own pybabel command, so a string added to a
template or a view and missing from the catalogue fails here, not in front of a patient.
"""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from app import create_app
from services import participant_admin
from storage.connection import open_db
from tests.conftest import Trial

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "translations" / "messages.pot"
ARABIC = ROOT / "translations" / "ar" / "LC_MESSAGES" / "messages.po"
EXTRACT = ["extract", "-F", "babel.cfg", "-k", "N_", "-k", "_", "--omit-header"]

# Strings found only in these sources are read by staff alone and may stay in English.
STAFF_ONLY = ("web/staff/", "web/auth/", "web/cli/", "web/labels.py", "web/report.py",
              "templates/staff/", "templates/report/")

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

# A real locale Babel knows (it refuses a made-up code) that the project does not ship.
PSEUDO = "eo"
OPEN, CLOSE = "⟦", "⟧"


# --- The catalogue ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> Catalog:
    """The strings in the code today, with where each comes from (the README's command, with
    locations kept)."""
    pot = tmp_path_factory.mktemp("extract") / "messages.pot"
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *EXTRACT, "-o", str(pot), "."],
                   cwd=ROOT, check=True, capture_output=True)
    with pot.open("rb") as source:
        return read_po(source)


@pytest.fixture(scope="module")
def arabic() -> Catalog:
    with ARABIC.open("rb") as source:
        return read_po(source)


def staff_only(message) -> bool:
    return bool(message.locations) and all(path.startswith(STAFF_ONLY) for path, _ in message.locations)


def forms(message) -> tuple[str, ...]:
    return message.string if isinstance(message.string, tuple) else (message.string,)


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def test_template_is_the_current_extraction(extracted):
    with TEMPLATE.open("rb") as source:
        template = read_po(source)
    assert {m.id for m in template if m.id} == {m.id for m in extracted if m.id}, (
        "translations/messages.pot is out of date: regenerate it with "
        "`.venv/bin/pybabel extract -F babel.cfg -k N_ -k _ -o translations/messages.pot "
        "--no-location --omit-header .` and translate the new strings")


def test_every_patient_string_has_an_arabic_translation(extracted, arabic):
    missing = []
    for message in extracted:
        if not message.id or staff_only(message):
            continue
        translated = arabic.get(message.id)
        if translated is None or translated.fuzzy or not all(forms(translated)):
            missing.append(f"{message.id!r} ({', '.join(path for path, _ in message.locations)})")
    assert not missing, "no Arabic for:\n" + "\n".join(missing)


def test_arabic_keeps_every_placeholder_in_every_plural_form(arabic):
    assert arabic.num_plurals == 6
    problems = []
    for message in arabic:
        if not message.id or not any(forms(message)):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set().union(*(placeholders(text) for text in ids))
        if message.pluralizable and len(forms(message)) != arabic.num_plurals:
            problems.append(f"{ids[0]!r}: {len(forms(message))} plural forms, not {arabic.num_plurals}")
        for index, text in enumerate(forms(message)):
            if placeholders(text) != wanted:
                problems.append(f"{ids[0]!r} form {index}: {sorted(placeholders(text))} != {sorted(wanted)}")
            elif wanted:
                text % {name: "1" for name in wanted}  # a stray % would break formatting at run time
    problems += [f"{message.id!r}: {', '.join(map(str, errors))}" for message, errors in arabic.check()]
    assert not problems, "\n".join(problems)


# --- Arabic pages and SMS ----------------------------------------------------------------------

@pytest.fixture
def arabic_trial(db_path, clock) -> Trial:
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                      "BASE_URL": "https://pro.example.org", "LANGUAGES": ["en", "ar"]})
    return Trial(app, clock)


def test_an_arabic_participant_reads_arabic_right_to_left(arabic_trial):
    arabic_trial.enroll(language="ar")
    token = arabic_trial.link()
    client = arabic_trial.app.test_client()
    page = client.get(f"/f/{token}/vas").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in page
    assert "الاستمارة 1 من 3" in page and "ما مدى شدة ألم الظهر والساق لديك الآن؟" in page
    # Arabic's six plural forms: 1 and 3 more sections needed read differently.
    odi = {"version": "2.1a", **{f"odi_{n}": "1" for n in range(1, 11)}}
    one_more = client.post(f"/f/{token}/odi", data={k: v for k, v in odi.items() if k not in ("odi_8", "odi_9", "odi_10")})
    assert "يلزم قسم واحد آخر (1)" in one_more.get_data(as_text=True)
    three_more = client.post(f"/f/{token}/odi", data={k: v for k, v in odi.items() if k not in ("odi_1", "odi_2", "odi_3", "odi_4", "odi_5")})
    assert "يلزم 3 أقسام أخرى" in three_more.get_data(as_text=True)


def test_the_arabic_reminder_keeps_the_link_and_says_how_to_stop(arabic_trial):
    from web.reminders import compose_body

    link = "https://pro.example.org/f/AbCdEfGhIjKlMnOpQrStUvWx"
    with arabic_trial.app.app_context():
        body = compose_body({"language": "ar"}, link)
    assert f"\n{link}\n" in body  # on its own line: no Arabic letter or full stop sticks to it
    assert "استبيان المتابعة" in body and "ايقاف" in body and "STOP" in body


# --- Pseudo-localisation: every patient page -------------------------------------------------

@pytest.fixture(scope="module")
def pseudo_translations(extracted, tmp_path_factory) -> Path:
    """Every string as ⟦its English⟧, placeholders kept, compiled for the pseudo locale."""
    catalog = Catalog(locale=PSEUDO)
    for message in extracted:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            singular, plural = message.id
            string = tuple(OPEN + (singular if n == 0 else plural) + CLOSE for n in range(catalog.num_plurals))
        else:
            string = OPEN + message.id + CLOSE
        catalog.add(message.id, string, flags=message.flags)
    directory = tmp_path_factory.mktemp("pseudo")
    messages = directory / PSEUDO / "LC_MESSAGES"
    messages.mkdir(parents=True)
    with (messages / "messages.po").open("wb") as target:
        write_po(target, catalog)
    with (messages / "messages.mo").open("wb") as target:
        write_mo(target, catalog)
    return directory


@pytest.fixture
def pseudo_trial(db_path, clock, pseudo_translations) -> Trial:
    app = create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                      "BASE_URL": "https://pro.example.org", "LANGUAGES": ["en", PSEUDO],
                      "BABEL_TRANSLATION_DIRECTORIES": str(pseudo_translations)})
    return Trial(app, clock)


class VisibleText(HTMLParser):
    """Text a person sees or hears: text nodes outside script and style, and the attributes
    read aloud or shown (aria-label, aria-valuetext, title, alt, placeholder). An element marked
    as another language (the language switch names each language in itself) is left out."""

    SPOKEN = frozenset({"aria-label", "aria-valuetext", "title", "alt", "placeholder"})

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []
        self.lang: str | None = None
        self._hidden: list[str] = []   # open elements whose text is not the page's to translate

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "html":
            self.lang = attrs.get("lang")
        elif self._hidden:
            if tag == self._hidden[0]:
                self._hidden.append(tag)
            return
        elif tag in ("script", "style") or attrs.get("lang", self.lang) != self.lang:
            self._hidden.append(tag)
            return
        self.texts += [value for name, value in attrs.items() if name in self.SPOKEN and value]

    def handle_endtag(self, tag):
        if self._hidden and tag == self._hidden[0]:
            self._hidden.pop()

    def handle_data(self, data):
        if not self._hidden:
            self.texts.append(data)


INNERMOST = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
# What may stand outside the markers: spacing, numbers (the 0-10 scale) and punctuation.
NEUTRAL = re.compile(r"[\s\d.,:;()\-–—/%·]*")


def unwrapped(text: str) -> str:
    """What is left of a text once every ⟦translated⟧ part (nested ones included) is taken out."""
    while True:
        shorter = INNERMOST.sub("", text)
        if shorter == text:
            return text
        text = shorter


def check_page(response, status: int, english: set[str]) -> list[str]:
    """Problems with one page: wrong status or language, or text outside the markers."""
    where = f"{response.request.method} {response.request.path}"
    if response.status_code != status:
        return [f"{where}: status {response.status_code}, not {status}"]
    parser = VisibleText()
    parser.feed(response.get_data(as_text=True))
    problems = [] if parser.lang == PSEUDO else [f"{where}: lang={parser.lang!r}, not {PSEUDO!r}"]
    for text in parser.texts:
        rest = unwrapped(text)
        if not NEUTRAL.fullmatch(rest):
            sentences = [s for s in english if s in rest]
            problems.append(f"{where}: {rest.strip()!r} is not translated"
                            + (f" (catalogue: {sentences})" if sentences else ""))
    return problems


def test_every_patient_page_shows_only_translated_text(pseudo_trial, extracted):
    trial = pseudo_trial
    english = {m.id for m in extracted if isinstance(m.id, str) and re.search(r"[A-Za-z]{2}", m.id)}
    # Procedure on 2 March; on 2 April the 1-month window (all four forms) is open, the baseline
    # window has closed and the 3-month one is not open yet.
    trial.enroll("P-001", language=PSEUDO)
    trial.enroll("P-002", language=PSEUDO)
    closed, month1, month3 = (trial.link("P-001", t) for t in ("baseline", "month1", "month3"))
    withdrawn = trial.link("P-002", "month1")
    db = open_db(trial.app.config["DATABASE"])
    try:
        participant_admin.withdraw(db, "P-002", reason="test", actor="test", now=trial.clock())
    finally:
        db.close()
    trial.clock.now = datetime(2026, 4, 2, 12, 0, tzinfo=UTC)

    trial.app.add_url_rule("/f/test-unexpected-error", "unexpected", lambda: 1 / 0)
    client = trial.app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = PSEUDO  # pages without a participant
    f = f"/f/{month1}"
    odi_all = {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11) if n != 8}}
    pages = [
        # Each form: empty, with every kind of problem, then answered and reviewed.
        (lambda: client.get(f"{f}/vas"), 200),
        (lambda: client.post(f"{f}/vas", data={"version": "1.0", "mode": "nrs"}), 400),
        (lambda: client.post(f"{f}/vas", data={"version": "1.0", "mode": "line", "vas_mm": ""}), 400),
        (lambda: client.post(f"{f}/vas", data={"version": "0.1", "mode": "nrs", "nrs": "3"}), 400),
        (lambda: client.post(f"{f}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "900"}), 400),
        (lambda: client.post(f"{f}/vas", data=b"mode=%ff", content_type="application/x-www-form-urlencoded"), 400),
        (lambda: client.post(f"{f}/vas", data={"version": "1.0", "nrs": "x" * 20_000}), 413),
        (lambda: client.post(f"{f}/vas", data={"version": "1.0", "mode": "line", "vas_mm": "63"}), 303),
        (lambda: client.get(f"{f}/vas"), 200),
        (lambda: client.get(f"{f}/vas?received=1"), 200),
        (lambda: client.get(f"{f}/odi"), 200),
        (lambda: client.post(f"{f}/odi", data={"version": "2.1a", "odi_1": "1"}), 400),
        (lambda: client.post(f"{f}/odi", data={**odi_all, "odi_2": "", "odi_3": ""}), 400),
        (lambda: client.post(f"{f}/odi", data=odi_all), 303),
        (lambda: client.get(f"{f}/odi"), 200),
        (lambda: client.get(f"{f}/satisfaction"), 200),
        (lambda: client.post(f"{f}/satisfaction", data={"version": "1.0"}), 400),
        (lambda: client.post(f"{f}/satisfaction", data={"version": "1.0", "sat_procedure": "3", "sat_results": "4"}), 303),
        (lambda: client.get(f"{f}/satisfaction"), 200),
        (lambda: client.get(f"{f}/medication"), 200),
        (lambda: client.post(f"{f}/medication", data={"version": "1.0"}), 400),
        (lambda: client.post(f"{f}/medication", data={"version": "1.0", "took_any": "yes"}), 400),
        (lambda: client.post(f"{f}/medication", data={"version": "1.0", "took_any": "no", "drug_1": "tramadol",
                                                      "strength_1": "5000", "doses_1": "40"}), 400),
        (lambda: client.post(f"{f}/medication", data={"version": "1.0", "took_any": "yes", "drug_1": "tramadol",
                                                      "strength_1": "50", "doses_1": "2", "drug_2": "diclofenac",
                                                      "strength_2": "75", "doses_2": "1"}), 303),
        (lambda: client.get(f"{f}/medication"), 200),
        (lambda: client.get(f), 200),                                    # thank you
        (lambda: client.get(f"{f}/eq5d"), 404),                          # a form not in this questionnaire
        (lambda: client.post(f), 405),
        (lambda: client.get("/f/NotAToken0000000000000000"), 404),       # link not recognised
        (lambda: client.get("/nowhere"), 404),
        (lambda: client.get(f"/f/{closed}"), 410),
        (lambda: client.get(f"/f/{month3}"), 410),                       # not open yet
        (lambda: client.get(f"/f/{withdrawn}"), 410),
        (lambda: client.get("/f/test-unexpected-error"), 500),
        (lambda: client.get("/"), 200),
    ]
    problems = []
    for request, status in pages:
        response = request()
        if status != 303:
            problems += check_page(response, status, english)
        elif response.status_code != 303:
            problems.append(f"{response.request.path}: not accepted ({response.status_code})")
    assert not problems, "\n".join(problems)
