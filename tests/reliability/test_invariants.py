"""The invariant checker the fuzz and crash tests end with finds each kind of invalid row, and
none in a valid trial: a checker that cannot fail would prove nothing."""
from __future__ import annotations

import pytest

from storage.connection import open_db
from tests.reliability.invariants import digest, problems
from tests.trial_data import populate

FIRST_VAS = "(SELECT MIN(id) FROM responses WHERE instrument = 'vas')"
FAULTS = {
    "scores that do not recompute": (
        ["DROP TRIGGER responses_no_update",
         f"UPDATE responses SET scores = json_set(scores, '$.vas_cm', 9.9) WHERE id = {FIRST_VAS}"],
        "do not recompute from the answers"),
    "an answer out of range": (
        ["DROP TRIGGER responses_no_update",
         "UPDATE responses SET answers = '{\"mode\": \"line\", \"value\": 150}', "
         "scores = '{\"vas_mm\": 150, \"vas_cm\": 15.0, \"vas_mode\": \"line\"}' WHERE id = " + FIRST_VAS],
        "score vas_mm = 150 outside 0..100"),
    "a reason on an active participant": (
        ["DROP TRIGGER participants_withdrawal_state_update",
         "UPDATE participants SET withdrawal_reason = 'moved' WHERE id = 1"], "withdrawal state 'active'"),
    "an orphan row": (
        ["PRAGMA foreign_keys = OFF",
         "INSERT INTO contacts (participant_id, at, by_user, kind, outcome) VALUES (999, 'x', 'x', 'call', 'reached')"],
        "foreign_key_check: orphan row"),
    "a completed timepoint with a form missing": (
        ["UPDATE timepoints SET completed_at = '2025-06-02T00:00:00Z' WHERE completed_at IS NULL "
         "AND id = (SELECT MIN(id) FROM timepoints WHERE completed_at IS NULL)"], "completed_at '2025-06-02"),
    "a note with a NUL in it": (
        ["INSERT INTO contacts (participant_id, at, by_user, kind, outcome, note) "
         "VALUES (1, 'x', 'x', 'call', 'reached', 'a' || char(0) || 'b')"], "free text not as the app stores it"),
    "newest_answers out of step": (
        ["DELETE FROM newest_answers WHERE response_id = " + FIRST_VAS], "newest_answers holds"),
    "a record's versions with a gap": (
        ["INSERT INTO crf_records (participant_id, form, item, version, data, recorded_at, recorded_by, reason) "
         "VALUES (1, 'adverse_event', 1, 2, '{\"event\": \"hematoma\"}', '2025-06-01T00:00:00Z', 'x', 'why')"],
        "versions [2]"),
    "an answer time after its arrival": (
        ["DROP TRIGGER responses_no_update",
         f"UPDATE responses SET answered_at = '2030-01-01T00:00:00Z' WHERE id = {FIRST_VAS}"], "after it arrived"),
    "an arm the protocol does not have": (
        ["UPDATE participants SET arm = 'C' WHERE id = 1"], "arm 'C' not in the protocol"),
}


@pytest.fixture
def populated(app, db_path):
    populate(db_path, app.extensions["protocol"], per_arm=10)
    return db_path


def test_a_valid_trial_has_no_invalid_row(app, populated):
    assert problems(populated, app.extensions["protocol"], ["en"]) == []


@pytest.mark.parametrize("fault", FAULTS)
def test_each_kind_of_invalid_row_is_found(app, populated, fault):
    statements, expected = FAULTS[fault]
    before = digest(populated)
    db = open_db(populated)
    try:
        for statement in statements:
            db.execute(statement)
    finally:
        db.close()
    found = problems(populated, app.extensions["protocol"], ["en"])
    assert any(expected in line for line in found), found
    assert digest(populated) != before
