from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from app import create_app
from services import enrollment, links
from storage import init_db
from storage.connection import open_db

# A Monday at noon UTC; tests move the clock rather than reading the real one.
START = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)


class Clock:
    """A settable stand-in for the app's CLOCK."""

    def __init__(self, now: datetime):
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="session", autouse=True)
def compiled_catalogues():
    """scripts/test compiles the catalogues at install; a bare `pytest` run gets them here too."""
    from pathlib import Path

    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po in (Path(__file__).resolve().parent.parent / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            with po.open("rb") as source, mo.open("wb") as target:
                write_mo(target, read_po(source))


@pytest.fixture
def clock() -> Clock:
    return Clock(START)


@pytest.fixture
def db_path(tmp_path):
    path = tmp_path / "pro.sqlite3"
    init_db(path)
    return path


@pytest.fixture
def fresh_db(db_path):
    db = open_db(db_path)
    yield db
    db.close()


@pytest.fixture
def app(db_path, clock):
    return create_app({"TESTING": True, "DATABASE": str(db_path), "CLOCK": clock,
                       "BASE_URL": "https://pro.example.org"})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


class Trial:
    """Enroll participants and issue links without going through the CLI each time."""

    def __init__(self, app, clock: Clock):
        self.app = app
        self.clock = clock

    def enroll(self, study_id: str = "P-001", arm: str = "A", procedure_date: date | None = START.date(),
               timezone: str = "UTC", phone: str | None = "+12025550101", language: str = "en") -> str:
        protocol = self.app.extensions["protocol"]
        clean = enrollment.validate_enrollment(
            protocol, self.app.config["LANGUAGES"], study_id=study_id, arm=arm, phone=phone,
            timezone=timezone, language=language, procedure_date=procedure_date)
        db = open_db(self.app.config["DATABASE"])
        try:
            enrollment.enroll(db, protocol, clean, actor="test", now=self.clock())
        finally:
            db.close()
        return study_id

    def link(self, study_id: str = "P-001", timepoint: str = "baseline") -> str:
        db = open_db(self.app.config["DATABASE"])
        try:
            token, _ = links.issue_link(db, study_id, timepoint, actor="test", now=self.clock())
        finally:
            db.close()
        return token

    def query(self, sql: str, params=()) -> list[dict]:
        db = open_db(self.app.config["DATABASE"])
        try:
            return list(db.query(sql, params))
        finally:
            db.close()


@pytest.fixture
def trial(app, clock) -> Trial:
    return Trial(app, clock)


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2id at production cost takes ~0.15 s a hash; tests need its behaviour, not its cost."""
    from argon2 import PasswordHasher

    from services import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


# --- Browser fixtures (tests/browser_support.py has the pieces) ----------------------------

@pytest.fixture(scope="module")
def browser():
    from playwright import sync_api

    from tests.browser_support import CHROMIUM, CHROMIUM_ARGS

    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def live_server(app):
    from tests.browser_support import LiveServer

    with LiveServer(app) as server:
        yield server


@pytest.fixture
def new_page(browser, live_server):
    """new_page(**context options) -> a page in a fresh phone context; all closed afterwards."""
    from tests.browser_support import PHONE

    contexts = []

    def make(**options):
        context = browser.new_context(base_url=live_server.url, **{**PHONE, **options})
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()
