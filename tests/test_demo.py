"""`flask demo`: a demo trial worth a report, mid-flight, made once and never twice.

The demo is seeded once per module (``seeded``); each test works on its own copy of that file.
"""
from __future__ import annotations

import json
import re
import shutil
import statistics
from collections import Counter

import phonenumbers
import pytest

from app import create_app
from questionnaires import INSTRUMENTS
from reports import trial_report
from services import board
from services import demo as demo_service
from storage import messages, settings
from storage.connection import open_db
from storage.db import utc_iso
from tests.conftest import START, Clock

BASE_URL = "https://pro.example.org"
FOLLOW_UPS = ("day1", "week1", "month1", "month3", "month6")
ARABIC = re.compile(r"[\u0600-\u06FF]")
LINK = re.compile(r"^  (DEMO-00\d) \(([\w ]+), procedure ([\w-]+)\): " + re.escape(BASE_URL) + r"(/f/\S+)$", re.M)


def _config(path, outbox) -> dict:
    return {"TESTING": True, "DATABASE": str(path), "CLOCK": Clock(START), "BASE_URL": BASE_URL,
            "SMS_GATEWAY": "console", "SMS_OUTBOX": str(outbox)}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """(path of a database made by one `flask demo` at START, what it printed)."""
    from argon2 import PasswordHasher

    from services import accounts

    folder = tmp_path_factory.mktemp("demo")
    path = folder / "demo.sqlite3"
    with pytest.MonkeyPatch.context() as patch:   # the conftest's cheap hashing is per test
        patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        result = create_app(_config(path, folder / "outbox.jsonl")).test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return path, result.output


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app({**_config(db_path, tmp_path / "outbox.jsonl"), "CLOCK": clock})


@pytest.fixture
def demo_db(seeded, db_path):
    """This test's copy of the seeded demo database, at the path the ``app`` fixture uses."""
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    shutil.copyfile(seeded[0], db_path)
    return db_path


@pytest.fixture
def db(demo_db):
    connection = open_db(demo_db)
    yield connection
    connection.close()


@pytest.fixture
def protocol(app):
    return app.extensions["protocol"]


def _rows(db, sql: str, params=()) -> list[dict]:
    return list(db.query(sql, params))


def _count(db, sql: str, params=()) -> int:
    return db.execute(sql, params).fetchone()[0]


def test_it_prints_the_staff_pages_then_a_summary_then_three_links(seeded, db):
    output = seeded[1].splitlines()
    assert output[0] == (f"Staff pages: {BASE_URL}/staff/ (password {demo_service.PASSWORD} for each of: "
                         "nurse@demo.example, investigator@demo.example, admin@demo.example)")
    per_arm = {row["arm"]: row["n"] for row in _rows(db, "SELECT arm, COUNT(*) AS n FROM participants GROUP BY arm")}
    answers = _count(db, "SELECT COUNT(*) FROM responses")
    assert output[1] == (f"Demo trial: 203 participants ({per_arm['A']} in arm A, {per_arm['B']} in arm B), "
                         f"{answers} answers stored (203 enrolled by this run).")
    links = LINK.findall(seeded[1])
    assert [(study_id, timepoint) for study_id, timepoint, *_ in links] == [
        ("DEMO-001", "Before the procedure"), ("DEMO-002", "1 day"), ("DEMO-003", "1 month")]
    assert links[0][2] == "today" and links[1][2] == "2026-03-01" and links[2][2] == "2026-01-31"


def test_the_report_compares_the_arms_at_every_timepoint_like_the_paper(db, protocol):
    report, _ = trial_report.build(db, protocol, START)
    assert report["arms"]["A"]["n"] >= 80 and report["arms"]["B"]["n"] >= 80
    vas = {entry["timepoint"]: entry for entry in report["continuous"] if entry["variable"] == "vas"}
    assert list(vas) == ["baseline", *FOLLOW_UPS]
    for timepoint, entry in vas.items():
        assert entry["A"]["n"] >= 10 and entry["B"]["n"] >= 10, timepoint
        assert 0 < entry["p"] <= 1, timepoint
    both = {tp: (e["A"]["mean"] * e["A"]["n"] + e["B"]["mean"] * e["B"]["n"]) / (e["A"]["n"] + e["B"]["n"])
            for tp, e in vas.items()}
    assert 6.0 <= both["baseline"] <= 7.0 and 2.5 <= both["month6"] <= 3.6
    assert min(e["A"]["median"] for e in vas.values()) >= 0 and vas["baseline"]["A"]["q1"] >= 5.0  # VAS >= 5 to enter
    worse_in_b = [vas[tp]["B"]["mean"] - vas[tp]["A"]["mean"] for tp in FOLLOW_UPS]
    assert all(difference > 0 for difference in worse_in_b), worse_in_b
    assert 0.3 <= statistics.mean(worse_in_b) <= 0.8
    odi = {entry["timepoint"]: entry for entry in report["continuous"] if entry["variable"] == "odi"}
    assert 28 <= odi["baseline"]["A"]["mean"] <= 36 and 12 <= odi["month6"]["A"]["mean"] <= 20
    assert all(r["p"] is not None and r["p"] < 0.001 for r in report["repeated"])  # both improve (Friedman)
    satisfied = Counter()
    for table in report["categorical"]:
        if table["variable"] in ("sat_procedure", "sat_results"):
            for counts in table["counts"].values():
                satisfied.update({"satisfied": counts["3"] + counts["4"], "all": sum(counts.values())})
    assert satisfied["satisfied"] / satisfied["all"] >= 0.85
    nsaid = next(e for e in report["continuous"] if e["variable"] == "nsaid_reduction" and e["timepoint"] == "month1")
    assert 55 <= nsaid["A"]["median"] <= 80 and 55 <= nsaid["B"]["median"] <= 80
    mme = next(t for t in report["categorical"] if t["variable"] == "mme" and t["timepoint"] == "baseline")
    opioid_users = sum(n for counts in mme["counts"].values() for level, n in counts.items() if level != "0")
    assert 1 <= opioid_users <= 0.1 * sum(mme["n"].values())


def test_the_board_shows_missed_and_opted_out_and_withdrawn_participants(db, protocol):
    rows = board.build(db, protocol, START)
    statuses = Counter(status for row in rows for status in row.cells.values())
    assert len(board.apply_filter(rows, "missed")) >= 20
    assert len(board.apply_filter(rows, "opted_out")) == demo_service.OPT_OUTS
    assert 0.08 <= statuses["missed"] / (statuses["missed"] + statuses["completed"]) <= 0.18
    assert statuses["upcoming"] > 0 and statuses["open"] + statuses["overdue"] > 0
    withdrawn = _rows(db, "SELECT study_id, withdrawal_reason FROM participants WHERE status = 'withdrawn'")
    assert sorted(row["withdrawal_reason"] for row in withdrawn) == sorted(demo_service.WITHDRAWALS)
    # Mid-flight: the first participants are done, the last have only been seen at baseline.
    by_id = {row.participant["study_id"]: row.cells for row in rows}
    assert by_id["S-001"]["month6"] in ("completed", "missed")
    assert by_id["S-200"]["baseline"] == "completed" and by_id["S-200"]["week1"] == "upcoming"
    assert by_id["DEMO-001"]["baseline"] == "open"


def test_opting_out_was_a_stop_reply_acted_on_at_once(db):
    opted = _rows(db, "SELECT id, study_id FROM participants WHERE sms_opt_out = 1")
    audit = _rows(db, "SELECT entity_id, actor, reason FROM audit_log WHERE action = 'sms_opt_out'")
    assert sorted((row["entity_id"], row["actor"], row["reason"]) for row in audit) == sorted(
        (row["study_id"], "participant", "replied STOP") for row in opted)
    for row in opted:
        replies = messages.inbox(db, participant_id=row["id"], handled=True)
        assert [(reply["body"], reply["handled_by"]) for reply in replies] == [("STOP", "automatic (STOP)")]


def test_the_nurses_inbox_has_free_text_replies_in_english_and_arabic(db):
    waiting = messages.inbox(db)
    assert sorted(reply["body"] for reply in waiting) == sorted(demo_service.REPLIES)
    assert any(ARABIC.search(reply["body"]) for reply in waiting)
    assert all(reply["study_id"] and reply["created_at"] < utc_iso(START) for reply in waiting)


def test_no_reminder_is_left_due_at_the_moment_of_seeding(db, runner):
    stamp = utc_iso(START)
    assert _count(db, "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at <= ?", [stamp]) == 0
    assert _count(db, "SELECT COUNT(*) FROM reminders WHERE status = 'pending' AND due_at > ?", [stamp]) > 100
    reasons = Counter(row["reason"] for row in _rows(db, "SELECT reason FROM reminders WHERE status = 'cancelled'"))
    assert set(reasons) == {"completed", "opted_out", "withdrawn"} and reasons["completed"] > 100
    sent = _rows(db, "SELECT r.id, r.due_at, m.status, m.sent_at, m.body, m.token_hash, m.to_number, p.phone "
                     "FROM reminders r JOIN participants p ON p.id = r.participant_id "
                     "LEFT JOIN messages m ON m.reminder_id = r.id WHERE r.status = 'sent'")
    assert len(sent) > 100
    for row in sent:
        assert row["status"] == "delivered" and row["sent_at"] == row["due_at"] <= stamp
        assert row["to_number"] == row["phone"] and row["token_hash"]
        assert row["body"] == f"Your follow-up questionnaire is ready: {BASE_URL}/f/<token>. Reply STOP to opt out."
    assert _count(db, "SELECT COUNT(*) FROM messages WHERE direction = 'outbound'") == len(sent)
    result = runner.invoke(args=["reminders", "send-due"])
    assert result.exit_code == 0 and "nothing due" in result.output


def test_answers_are_the_instruments_own_and_fall_in_their_windows(db, protocol):
    windows = {(row["participant_id"], row["timepoint"]): row for row in _rows(db, "SELECT * FROM timepoints")}
    answered = Counter()
    for row in _rows(db, "SELECT * FROM responses"):
        instrument = INSTRUMENTS[row["instrument"]]
        answers = json.loads(row["answers"])
        assert json.loads(row["scores"]) == instrument.score(instrument.validate(answers))
        assert (row["source"], row["recorded_by"], row["version"]) == ("web", "participant", 1)
        assert row["input_mode"] == (answers["mode"] if row["instrument"] == "vas" else "web")
        window = windows[(row["participant_id"], row["timepoint"])]
        assert window["opens_at"] <= row["submitted_at"] < window["closes_at"] and row["submitted_at"] <= utc_iso(START)
        answered[(row["participant_id"], row["timepoint"])] += 1
    for key, window in windows.items():
        due = len(protocol.timepoint(key[1]).instruments)
        assert (window["completed_at"] is not None) == (answered[key] == due), key
        assert answered[key] in (0, due), key
    assert _count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'submit'") == sum(answered.values())


def test_every_demo_phone_is_a_valid_egyptian_mobile_in_cairo(db):
    people = _rows(db, "SELECT phone, timezone, language FROM participants")
    assert len(people) == 203 and len({person["phone"] for person in people}) == 203
    for person in people:
        number = phonenumbers.parse(person["phone"], None)
        assert phonenumbers.is_valid_number(number) and phonenumbers.region_code_for_number(number) == "EG"
        assert phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.MOBILE
        assert person["phone"].startswith("+2010")
        assert (person["timezone"], person["language"]) == ("Africa/Cairo", "en")


def test_everyone_was_randomized_through_the_allocation_list(db):
    people = _rows(db, "SELECT p.arm, p.allocation, p.stratum, p.punctures, a.arm AS listed, "
                       "a.stratum AS listed_stratum FROM participants p "
                       "LEFT JOIN allocations a ON a.participant_id = p.id")
    assert all(p["allocation"] == "randomized" and p["arm"] == p["listed"] for p in people)
    assert all(p["stratum"] == p["listed_stratum"] and 1 <= p["punctures"] <= 6 for p in people)
    strata = Counter(p["stratum"] for p in people)
    assert strata["1-2"] > strata["3-4"] > strata["5-6"] > 0      # as the paper's roots injected


def test_the_database_is_marked_as_the_demos(db):
    assert settings.get(db, settings.DEMO) == f"synthetic data made by `flask demo` (seed {demo_service.DEMO_SEED})"
    assert _count(db, "SELECT COUNT(*) FROM audit_log WHERE action = 'seed_demo'") == 1


def test_the_three_links_open_their_first_form(seeded, demo_db, client):
    paths = [path for *_, path in LINK.findall(seeded[1])]
    assert len(paths) == 3
    for path in paths:
        response = client.get(path)
        assert response.status_code == 303
        assert re.fullmatch(re.escape(path) + r"/vas", response.headers["Location"].removeprefix("http://localhost"))


TABLES = ("participants", "timepoints", "responses", "reminders", "messages", "allocations", "users",
          "trial_settings", "randomization_lists")


def _snapshot(db) -> dict:
    counts = {table: _count(db, f"SELECT COUNT(*) FROM {table}") for table in TABLES}
    counts["reminders by status"] = sorted(tuple(row.values()) for row in _rows(
        db, "SELECT status, COUNT(*) FROM reminders GROUP BY status"))
    counts["audit"] = _count(db, "SELECT COUNT(*) FROM audit_log WHERE action != 'issue_link'")
    return counts


def test_a_second_run_changes_nothing_but_the_links(seeded, demo_db, db, runner):
    before, tokens_before = _snapshot(db), _count(db, "SELECT COUNT(*) FROM link_tokens")
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert _snapshot(db) == before
    assert _count(db, "SELECT COUNT(*) FROM link_tokens") == tokens_before + 3
    assert "(0 enrolled by this run)" in result.output
    assert set(LINK.findall(result.output)).isdisjoint(LINK.findall(seeded[1]))   # fresh tokens


def _dump(path) -> list[str]:
    connection = open_db(path)
    try:
        return list(connection.conn.iterdump())
    finally:
        connection.close()


@pytest.mark.parametrize("setup", ["a participant", "a randomization list"])
def test_a_database_holding_another_trial_is_refused_and_left_alone(setup, runner, trial, db_path):
    if setup == "a participant":
        trial.enroll("P-001")
    else:
        assert runner.invoke(args=["randomization", "generate", "--seed", "7"]).exit_code == 0
    before = _dump(db_path)
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 1
    assert "this database holds a trial that is not the demo's" in result.output
    assert "point FLASK_DATABASE at another file" in result.output and "Traceback" not in result.output
    assert _dump(db_path) == before


def test_the_demo_never_runs_with_a_real_sms_gateway(db_path, clock, tmp_path):
    twilio = {"SMS_GATEWAY": "twilio", "TWILIO_ACCOUNT_SID": "AC" + "0" * 32, "TWILIO_AUTH_TOKEN": "x",
              "TWILIO_FROM_NUMBER": "+15005550006"}
    app = create_app({**_config(db_path, tmp_path / "outbox.jsonl"), **twilio})
    before = _dump(db_path)
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 1 and "console SMS gateway" in result.output
    assert _dump(db_path) == before


def test_a_database_from_the_first_demo_is_completed_not_refused(runner, db_path):
    """The first demo enrolled only DEMO-001..003 from a shorter list, with no marker."""
    generated = runner.invoke(args=["randomization", "generate", "--seed", "20260302", "--per-stratum", "100"])
    assert generated.exit_code == 0, generated.output
    for study_id, punctures in (("DEMO-001", 2), ("DEMO-002", 3), ("DEMO-003", 5)):
        enrolled = runner.invoke(args=["enroll", study_id, "--punctures", str(punctures), "--phone", "+12025550101",
                                       "--procedure-date", "2026-03-02"])
        assert enrolled.exit_code == 0, enrolled.output
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert "(200 enrolled by this run)" in result.output
    db = open_db(db_path)
    assert _count(db, "SELECT COUNT(*) FROM participants") == 203
    assert _count(db, "SELECT COUNT(*) FROM randomization_lists") == 2   # the 1-2 stratum needed more rows
    db.close()


def test_the_same_seed_gives_the_same_trial(seeded, tmp_path):
    """Deterministic: a second database seeded at the same moment holds the same answers."""
    path = tmp_path / "again.sqlite3"
    from argon2 import PasswordHasher

    from services import accounts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        assert create_app(_config(path, tmp_path / "o.jsonl")).test_cli_runner().invoke(args=["demo"]).exit_code == 0
    query = ("SELECT p.study_id, p.arm, r.timepoint, r.instrument, r.answers, r.submitted_at FROM responses r "
             "JOIN participants p ON p.id = r.participant_id ORDER BY 1, 3, 4")
    first, second = open_db(seeded[0]), open_db(path)
    try:
        assert _rows(first, query) == _rows(second, query)
        reminders = "SELECT participant_id, timepoint, attempt, status, reason FROM reminders ORDER BY id"
        assert _rows(first, reminders) == _rows(second, reminders)
    finally:
        first.close()
        second.close()
