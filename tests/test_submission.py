"""What a patient's submission costs the database: a fixed handful of plain statements, on the
connection its worker keeps (benchmarks/submission.py measures the time)."""
from __future__ import annotations

import pytest

from tests.sql_trace import sent
from web.database import get_db

VAS_LINE = {"version": "1.0", "mode": "line", "vas_mm": "63"}
ODI_ALL = {"version": "2.1a", **{f"odi_{n}": "2" for n in range(1, 11)}}
MEDS_NONE = {"version": "1.0", "took_any": "no"}

# Resolving the link (token, participant, window and which forms are in, one statement); then
# BEGIN IMMEDIATE, the answer, its audit entry, which forms are in now, COMMIT. The last form of a
# timepoint adds the UPDATE that marks it complete. Nothing scales with the number of forms or answers.
SUBMISSION_STATEMENTS = 6
COMPLETING_STATEMENTS = 7
# Between BEGIN IMMEDIATE and COMMIT: what holds the write lock, which the other workers wait for.
STATEMENTS_HOLDING_THE_LOCK = 3




@pytest.fixture
def traced(app):
    """The statements of this thread's kept connection, while the test runs."""
    with app.test_request_context():
        db = get_db()   # the connection the test client's requests on this thread will use
    seen: list[str] = []
    db.conn.set_trace_callback(seen.append)
    yield seen
    db.conn.set_trace_callback(None)


def post(client, token: str, instrument: str, data: dict, traced: list[str]) -> list[str]:
    traced.clear()
    response = client.post(f"/f/{token}/{instrument}", data=data)
    assert response.status_code == 303, response.get_data(as_text=True)
    return sent(traced)


def test_a_submission_is_a_fixed_handful_of_plain_statements(client, trial, traced):
    trial.enroll()
    statements = post(client, trial.link(), "vas", VAS_LINE, traced)
    assert len(statements) <= SUBMISSION_STATEMENTS, "\n".join(statements)
    # No connection opened, no sqlite-utils table lookup or savepoint: plain statements only.
    assert not [s for s in statements if s.startswith(("PRAGMA", "SAVEPOINT", "RELEASE")) or "sqlite_master" in s]
    locked = statements[statements.index("BEGIN IMMEDIATE") + 1:statements.index("COMMIT")]
    assert len(locked) <= STATEMENTS_HOLDING_THE_LOCK, "\n".join(locked)


def test_the_form_that_completes_a_timepoint_adds_only_the_update(client, trial, traced):
    trial.enroll()
    token = trial.link()
    for instrument, data in (("vas", VAS_LINE), ("odi", ODI_ALL)):
        assert len(post(client, token, instrument, data, traced)) <= SUBMISSION_STATEMENTS
    statements = post(client, token, "medication", MEDS_NONE, traced)
    assert len(statements) <= COMPLETING_STATEMENTS, "\n".join(statements)
    assert any(s.startswith("UPDATE timepoints SET completed_at") for s in statements)
    assert trial.query("SELECT completed_at FROM timepoints WHERE timepoint = 'baseline'")[0]["completed_at"]


def test_an_answer_already_in_costs_no_more_than_a_new_one(client, trial, traced):
    trial.enroll()
    token = trial.link()
    post(client, token, "vas", VAS_LINE, traced)
    assert len(post(client, token, "vas", VAS_LINE, traced)) <= SUBMISSION_STATEMENTS
    assert len(trial.query("SELECT id FROM responses")) == 1


def test_the_statement_count_sees_a_query_per_form(client, trial, traced, monkeypatch):
    """The budget is tight enough to catch one query per form of the timepoint sneaking in."""
    from services import answers
    from storage import tokens

    trial.enroll()
    token = trial.link()
    real = tokens.with_owner

    def one_query_per_form(db, token):
        owned = real(db, token)
        for _ in answers.instruments_due(trial.app.extensions["protocol"], owned.window["timepoint"]):
            answers.received(db, owned.participant["id"], owned.window["timepoint"])
        return owned

    monkeypatch.setattr(tokens, "with_owner", one_query_per_form)
    assert len(post(client, token, "vas", VAS_LINE, traced)) > SUBMISSION_STATEMENTS
