"""The protocol file: the default matches DESIGN.md, and a bad file fails with every problem named."""
from __future__ import annotations

import pytest

from app import create_app
from questionnaires import INSTRUMENTS
from questionnaires.protocol import DEFAULT_PROTOCOL_PATH, ProtocolError, load_protocol


def test_default_protocol_is_the_reference_trial():
    protocol = load_protocol(DEFAULT_PROTOCOL_PATH, INSTRUMENTS)
    assert [(arm.code, arm.label) for arm in protocol.arms] == [("A", "Fluoroscopy-guided"), ("B", "CT-guided")]
    assert [(tp.id, tp.offset_days, tp.offset_months, tp.window_before_days, tp.window_after_days, tp.instruments)
            for tp in protocol.timepoints] == [
        ("baseline", 0, 0, 30, 0, ("vas", "odi", "medication")),
        ("day1", 1, 0, 0, 2, ("vas",)),
        ("week1", 7, 0, 1, 3, ("vas", "satisfaction")),
        ("month1", 0, 1, 7, 7, ("vas", "odi", "satisfaction", "medication")),
        ("month3", 0, 3, 14, 14, ("vas", "odi", "satisfaction", "medication")),
        ("month6", 0, 6, 30, 30, ("vas", "odi", "satisfaction", "medication")),
    ]


BAD = """
id = "x"
title = "t"
version = 1
[[arms]]
code = "A"
label = "One"
[[arms]]
code = "A"
label = "Two"
[[timepoints]]
id = "Day 1"
label = "d"
offset_days = -1
window_before_days = 0
window_after_days = 2
instruments = ["vas", "eq5d", "vas"]
"""


def test_bad_protocol_lists_every_problem_with_its_place(tmp_path):
    path = tmp_path / "protocol.toml"
    path.write_text(BAD)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path, INSTRUMENTS)
    problems = caught.value.problems
    assert "arms: 'A' appears more than once" in problems
    assert "timepoints[0].id: lower-case letters, digits and _ only, got 'Day 1'" in problems
    assert "timepoints[0].offset_days: must be a whole number from 0 to 366, got -1" in problems
    assert any(p.startswith("timepoints[0].instruments: unknown instrument 'eq5d'") for p in problems)
    assert "timepoints[0].instruments: 'vas' appears more than once" in problems


@pytest.mark.parametrize("text,problem", [
    ("not toml [", "not valid TOML"),
    ('id = "x"\ntitle = "t"\nversion = 1\n', "arms: at least two [[arms]] tables are required"),
])
def test_unreadable_or_empty_protocol(tmp_path, text, problem):
    path = tmp_path / "protocol.toml"
    path.write_text(text)
    with pytest.raises(ProtocolError) as caught:
        load_protocol(path, INSTRUMENTS)
    assert any(problem in p for p in caught.value.problems)


def test_app_refuses_to_start_with_a_bad_protocol(tmp_path):
    path = tmp_path / "protocol.toml"
    path.write_text(BAD)
    with pytest.raises(ProtocolError):
        create_app({"TESTING": True, "DATABASE": str(tmp_path / "db.sqlite3"), "PROTOCOL": str(path)})


def test_missing_protocol_file(tmp_path):
    with pytest.raises(ProtocolError) as caught:
        load_protocol(tmp_path / "nope.toml", INSTRUMENTS)
    assert caught.value.problems == ["file not found"]
