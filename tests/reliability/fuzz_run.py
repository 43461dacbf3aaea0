"""Fuzzing one form (tests/reliability/test_fuzz_*.py, benchmarks/fuzz.py): a trial of its own,
a real staff sign-in with the session's CSRF token on almost every post (so the fuzz reaches the
form's validation), N generated requests through Flask's test client, then the invariant checker
over the database. ``run_form`` returns what came back (statuses, every 5xx with its traceback)
and the invalid rows found.
"""
from __future__ import annotations

import hashlib
import logging
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from app import create_app
from services import answers
from services import crf as clinical_records
from storage import init_db, messages, participants
from storage.connection import open_db
from tests.conftest import START, Clock, Trial
from tests.reliability import invariants
from tests.reliability.fuzz_forms import FORMS, LANGUAGES, STAFF_FORMS
from tests.reliability.fuzzing import Fuzzer, Upload, as_bytes, urlencoded
from tests.staff_support import Staff, staff_and_list

EXPIRED = "This form has expired"      # a staff post whose CSRF token was refused (web.auth.access)
# The staff forms' participants: procedures this many days before the test clock's day, so that each
# timepoint is open for one of them (and the last two are before their procedure).
OPEN_TIMEPOINT = [(0, "baseline"), (1, "day1"), (7, "week1"), (30, "month1"), (90, "month3"), (180, "month6"),
                  (-10, "baseline"), (0, "baseline")]


class ErrorLog(logging.Handler):
    """Every error the app logs (web.errors logs each unhandled exception with its traceback)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.records: list[str] = []

    def emit(self, record):
        self.records.append(self.format(record))


@dataclass
class Result:
    form: str
    posts: int = 0
    seconds: float = 0.0
    statuses: Counter = field(default_factory=Counter)
    kinds: Counter = field(default_factory=Counter)
    accepted: int = 0
    expired: int = 0
    signed_out: int = 0         # a post that lost the fuzzing session (other than sign-out's own)
    server_errors: list[dict] = field(default_factory=list)
    invalid: list[str] = field(default_factory=list)


class State:
    """The trial a form is fuzzed on: its app, clients and whatever the form's paths name."""

    def __init__(self, workdir: Path, staff: bool):
        self.clock = Clock(START)
        database = workdir / "fuzz.sqlite3"
        init_db(database)
        self.app = create_app({"TESTING": True, "DATABASE": str(database), "CLOCK": self.clock,
                               "BASE_URL": "https://pro.example.org", "LANGUAGES": LANGUAGES,
                               # The demo site's: local midnights east of UTC, phone numbers in national form.
                               "DEFAULT_TIMEZONE": "Africa/Cairo", "DEFAULT_COUNTRY": "EG",
                               "SMS_GATEWAY": "console", "SMS_OUTBOX": str(workdir / "outbox.jsonl")})
        self.trial = Trial(self.app, self.clock)
        self.protocol = self.app.extensions["protocol"]
        self.odi_version = self.protocol.instruments["odi"].version
        self.timepoints = [tp.id for tp in self.protocol.timepoints]
        self.enrolled = 0
        self.tokens: dict[str, str] = {}
        self.keys: list[str] = []
        self.pool: list[str] = []
        self.open_at: dict[str, str] = {}       # a timepoint open now for each participant of the pool
        self.replies: list[int] = []
        self.last_study_id = ""
        self.intact = False         # the request being made is the form's valid answer, unbroken
        self.password_link: str | None = None
        self.staged: tuple[str, str] | None = None    # (upload id, sha256) of the last file checked
        self.import_sample = Upload((Path(__file__).parent.parent / "import_samples" / "answers.csv").read_bytes())
        self.fuzzer: Fuzzer | None = None
        self.client = self.app.test_client()
        if staff:
            self._staff()

    def enroll(self, procedure_date: date) -> str:
        self.enrolled += 1
        study_id = f"P-{self.enrolled:03d}"
        self.trial.enroll(study_id, arm="AB"[self.enrolled % 2], procedure_date=procedure_date,
                          phone="+201001234567", timezone="Africa/Cairo" if self.enrolled % 3 else "UTC",
                          language=LANGUAGES[self.enrolled % 2])
        return study_id

    # Patient forms: a month1 link (every instrument) per form, until that form is accepted on it.
    def token(self, instrument: str) -> str:
        if instrument not in self.tokens:
            month_ago = date(START.year, START.month - 1, START.day)
            self.tokens[instrument] = self.trial.link(self.enroll(month_ago), "month1")
        return self.tokens[instrument]

    def spent(self, instrument: str) -> None:
        self.tokens.pop(instrument, None)

    def offline(self, rng, token: str, instrument: str) -> dict[str, str]:
        """What the page's script adds (web/patient/offline.py): a submission key, now and then one
        already used; the page's signed stamp; the time the patient answered."""
        from web.patient import offline

        if rng.random() < 0.5:
            return {}
        if self.keys and rng.random() < 0.2 and not self.intact:
            key = rng.choice(self.keys)
        else:
            key = f"{rng.getrandbits(128):032x}"
            self.keys.append(key)
        with self.app.test_request_context():
            fields = {"submission_key": key, "stamp": offline.stamp(token, instrument, self.clock())}
        if rng.random() < 0.7:
            late = 0 if self.intact else rng.choice([0, 1, 60_000, 10**9])   # 10**9 ms: before the page was served
            fields["answered_at"] = str(int(self.clock().timestamp() * 1000) - late)
        return fields

    # Staff forms: participants with each timepoint open, a serious adverse event each, replies.
    def _staff(self) -> None:
        self.staff = staff_and_list(self.app, self.app.test_client(), self.clock)
        db = open_db(self.app.config["DATABASE"])
        try:
            for days, timepoint in OPEN_TIMEPOINT:
                study_id = self.enroll(START.date() - timedelta(days=days))
                self.pool.append(study_id)
                self.open_at[study_id] = timepoint
                clinical_records.record_event(db, self.protocol, study_id, {
                    "event": "hematoma", "onset_date": START.date().isoformat(), "grade": "3", "serious": "yes",
                    "related": "possible", "outcome": "recovering"}, actor="fuzz", now=self.clock())
                participant = participants.by_study_id(db, study_id)
                participant_id = participant["id"]
                answers.submit(db, self.protocol, participant=participant, timepoint_id=timepoint, instrument_id="vas",
                               answers={"mode": "line", "value": 40 + len(self.pool)}, input_mode="line",
                               now=self.clock())
                self.replies.append(messages.insert_inbound(
                    db, participant_id=participant_id, from_number="+201001234567", body="when is my visit?",
                    sid=f"SM-fuzz-{study_id}", now=self.clock()))
        finally:
            db.close()

    def signed_in(self, role: str, address: str) -> Staff:
        staff = Staff(self.client_from(address))
        assert staff.login(role).status_code == 303, f"{role} could not sign in"
        staff.token = staff.csrf()
        return staff

    def record_version(self, study_id: str, form: str, item: int = 0) -> int:
        """The version of a participant's clinician record now (0: none yet): what a form must say it
        was opened on to be saved."""
        found = self.trial.query("SELECT MAX(c.version) AS v FROM crf_records c JOIN participants p "
                                 "ON p.id = c.participant_id WHERE p.study_id = ? AND c.form = ? AND c.item = ?",
                                 [study_id, form, item])
        return found[0]["v"] or 0

    def answer_version(self, study_id: str) -> int:
        """The newest version of the participant's VAS at its open timepoint: what a correction is opened on."""
        found = self.trial.query("SELECT MAX(r.version) AS v FROM responses r JOIN participants p "
                                 "ON p.id = r.participant_id WHERE p.study_id = ? AND r.instrument = 'vas'",
                                 [study_id])
        return found[0]["v"] or 0

    def password_token(self) -> str:
        """An open one-time password link (the investigator's), issued again once one is used."""
        from services import account_admin

        if self.password_link is None:
            db = open_db(self.app.config["DATABASE"])
            try:
                self.password_link = account_admin.issue_password_link(
                    db, email="investigator@hospital.example", reason="fuzz", actor="fuzz", now=self.clock()).token
            finally:
                db.close()
        return self.password_link

    def client_from(self, address: str):
        client = self.app.test_client()
        client.environ_base["REMOTE_ADDR"] = address
        return client

    def study_id(self, rng) -> str:
        roll = 0 if self.intact else rng.random()
        self.last_study_id = (rng.choice(self.pool) if roll < 0.96 else
                              rng.choice(["P-999", "P-001 ", "p-001", "../P-001", "P-001\x00", "مرحبا", "%00", "😀"]))
        return self.last_study_id


def run_form(name: str, posts: int, workdir: Path, seed: int | str = 1) -> Result:
    """Fire ``posts`` fuzzed posts at one form on a trial of its own; then check the database."""
    form = FORMS[name]
    staff_form = form in STAFF_FORMS
    state = State(Path(workdir), staff=staff_form)
    fuzzer = Fuzzer(f"{seed}-{name}")
    state.fuzzer = fuzzer
    result = Result(name)
    errors = ErrorLog()
    logging.getLogger().addHandler(errors)
    # The fuzzing session: an admin (who may use every form) unless the form says otherwise, from an
    # address of its own, so that the sign-in form's failures (rate-limited by address) never lock it
    # out; signed in again whenever a post signs it out. Forms used signed out get a fresh session
    # and address for each post.
    session = state.signed_in(form.session, "10.0.0.1") if staff_form and form.session else None
    anonymous = Staff(state.client_from("10.0.0.2"))
    started = time.perf_counter()
    try:
        for sent in range(posts):
            # The first request of each form is its valid answer, sent as a browser would: the form
            # is shown to accept something however few requests are made.
            state.intact = sent == 0
            if staff_form and not form.session:
                anonymous.client.delete_cookie("session")
                address = f"10.2.{fuzzer.rng.randrange(256)}.{fuzzer.rng.randrange(256)}"
                anonymous.client.environ_base["REMOTE_ADDR"] = address
                client, token = anonymous.client, anonymous.csrf()
            elif session is not None:
                client, token = session.client, session.token
            else:
                client, token = state.client, None
            path = form.path(fuzzer.rng, state)               # first: a participant form's answer names its ID
            pairs = fuzzer.pairs(form.valid(fuzzer.rng, state), form.choices, intact=state.intact)
            if token is not None and form.method == "POST":
                roll = 0 if state.intact else fuzzer.rng.random()
                csrf = token if roll < 0.96 else None if roll < 0.98 else fuzzer.value([token])
                if csrf is not None:
                    pairs.insert(0 if fuzzer.rng.random() < 0.9 else len(pairs), ("csrf_token", csrf))
            if form.method == "GET" or (state.intact and not form.multipart):
                body, content_type, kind = urlencoded(pairs), "application/x-www-form-urlencoded", "urlencoded"
                if form.method == "GET":
                    content_type, kind = None, "query string"
            elif state.intact:
                body, content_type, kind = fuzzer.encoded(pairs, multipart_first=True, intact=True)
            else:
                body, content_type, kind = fuzzer.encoded(pairs, multipart_first=form.multipart)
            # A patient page's script sends its forms asking for JSON back (web/patient/routes.py).
            headers = {"Accept": "application/json"} if not staff_form and fuzzer.rng.random() < 0.15 else {}
            logged = len(errors.records)
            try:
                response = (client.get(f"{path}?{body.decode()}") if form.method == "GET"
                            else client.post(path, data=body, content_type=content_type, headers=headers))
                status, text = response.status_code, response.get_data(as_text=True)
                location = response.headers.get("Location", "")
                replied = (response.get_json(silent=True) or {}) if response.is_json else {}
            except Exception:   # noqa: BLE001 - an exception out of the app is a 500 to report
                status, text, location, replied = 500, "", "", {}
                errors.records.append(traceback.format_exc())
            result.posts += 1
            result.statuses[status] += 1
            result.kinds[kind] += 1
            if status >= 500:
                result.server_errors.append({"path": path, "content_type": content_type,
                                             "body": body[:400], "traceback": "\n".join(errors.records[logged:])})
            to_sign_in = location.startswith("/staff/login")
            if not staff_form and name != "language":
                saved = (status == 303 and "received=1" not in location) or replied.get("status") == "saved"
                result.accepted += saved
                if saved:
                    state.spent(name)            # its link has this form in now: the next post needs another
            elif status in form.accepted and to_sign_in == form.then_sign_in:
                result.accepted += 1
                if name == "set password":
                    state.password_link = None   # used: the next post needs another
                if name == "dataset import" and "upload=" in location:
                    checked = next(value for key, value in pairs if key == "file")   # the part the server read
                    state.staged = (location.split("upload=", 1)[1], hashlib.sha256(as_bytes(checked)).hexdigest())
            if status == 400 and EXPIRED in text:
                result.expired += 1
            if session is not None and to_sign_in:
                result.signed_out += not form.then_sign_in
                session = state.signed_in(form.session, "10.0.0.1")
    finally:
        result.seconds = time.perf_counter() - started
        logging.getLogger().removeHandler(errors)
    result.invalid = invariants.problems(state.app.config["DATABASE"], state.protocol, LANGUAGES)
    return result


def report(result: Result) -> str:
    """The server errors and invalid rows of a run, in full, for a failing assertion."""
    lines = [f"{result.form}: {result.posts} posts, statuses {dict(result.statuses)}"]
    for error in result.server_errors[:5]:
        lines.append(f"  {error['path']} [{error['content_type']}] {error['body']!r}\n{error['traceback']}")
    lines += [f"  invalid: {problem}" for problem in result.invalid[:20]]
    return "\n".join(lines)
