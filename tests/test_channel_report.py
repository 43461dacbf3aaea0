"""The channel in the data: the long dataset's reminder_channel (the channel of the reminder that
led to a completed form) and the report's descriptive completion-by-channel table."""
from __future__ import annotations

import csv
import json
from datetime import timedelta

import pytest

from app import create_app
from reports import channel_completion, dataset
from services import answers
from tests.sms_fakes import RecordingGateway
from tests.whatsapp_support import DAY1_SEND, WhatsApp, app_config


@pytest.fixture
def app(db_path, clock, tmp_path):
    return create_app(app_config(db_path, clock, tmp_path))


@pytest.fixture
def wa(app, trial, clock) -> WhatsApp:
    return WhatsApp(app, trial, clock, RecordingGateway())


def keys_of(value) -> set[str]:
    """Every key of every dict inside ``value``."""
    if isinstance(value, dict):
        return set(value).union(*(keys_of(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(keys_of(v) for v in value))
    return set()


def answer_day1(wa: WhatsApp, study_id: str, at) -> None:
    db = wa.db()
    try:
        answers.submit(db, wa.app.extensions["protocol"], participant=wa.participant(study_id), timepoint_id="day1",
                       instrument_id="vas", answers={"mode": "line", "value": 40}, input_mode="line", now=at)
    finally:
        db.close()


@pytest.fixture
def reminded(wa, clock):
    """P-001 and P-002 on WhatsApp, P-003 and P-004 on SMS, P-005 on WhatsApp whose reminder failed
    and went by SMS; all reminded at day1. P-001, P-003 and P-005 answer; the window then closes."""
    phones = iter(f"+20100123456{n}" for n in range(1, 10))
    for study_id, channel in (("P-001", "whatsapp"), ("P-002", "whatsapp"), ("P-003", "sms"), ("P-004", "sms"),
                              ("P-005", "whatsapp")):
        wa.enroll(study_id, phone=next(phones), channel=channel, opt_in=channel == "whatsapp")
    assert wa.send_due(DAY1_SEND) == {"sent": 5}
    sid = {m["participant_id"]: m["sid"] for m in wa.messages()}
    wa.status(sid[5], "failed", 63016)
    assert wa.send_due(DAY1_SEND + timedelta(minutes=1)) == {"sent": 1}
    for study_id in ("P-001", "P-003", "P-005"):
        answer_day1(wa, study_id, DAY1_SEND + timedelta(hours=2))
    clock.now = DAY1_SEND + timedelta(days=3)      # day1's window (3-5 March) has closed
    return wa


def test_the_long_dataset_names_the_channel_of_the_reminder_behind_each_completed_form(reminded, app, tmp_path):
    out = tmp_path / "long.csv"
    result = app.test_cli_runner().invoke(args=["dataset", "export", "--format", "csv", "--output", str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    header = list(rows[0])
    assert header.index("reminder_channel") == header.index("source") + 1
    day1 = {row["study_id"]: row["reminder_channel"] for row in rows if row["timepoint"] == "day1"}
    # P-005's WhatsApp reminder failed: the SMS that replaced it led to the form.
    assert day1 == {"P-001": "whatsapp", "P-002": "", "P-003": "sms", "P-004": "", "P-005": "sms"}
    assert {row["reminder_channel"] for row in rows if row["timepoint"] != "day1"} == {""}
    book = {v.name: v for v in dataset.codebook(app.extensions["protocol"])}
    assert book["reminder_channel"].value_labels == (("sms", "SMS"), ("whatsapp", "WhatsApp"))


def test_the_report_counts_completion_by_channel_and_tests_nothing(reminded, app):
    result = app.test_cli_runner().invoke(args=["report", "--format", "json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert list(report)[-1] == "completion_by_channel"
    table = report["completion_by_channel"]
    day1 = next(row for row in table["timepoints"] if row["timepoint"] == "day1")
    assert day1["whatsapp"] == {"due": 2, "completed": 1, "percent": 50.0}
    assert day1["sms"] == {"due": 3, "completed": 2, "percent": 66.7}
    assert table["total"] == {"sms": day1["sms"], "whatsapp": day1["whatsapp"]}
    assert "baseline" not in {row["timepoint"] for row in table["timepoints"]}   # no reminder at baseline
    assert not {"p", "statistic", "test", "df"} & keys_of(table)
    html = app.test_cli_runner().invoke(args=["report", "--format", "html"]).output
    assert "Completion by reminder channel" in html and "2 of 3 (66.7%)" in html and "1 of 2 (50.0%)" in html
    assert "the channel was not randomized" in html


def test_open_follow_ups_are_not_counted_yet(wa, app):
    wa.enroll("P-001")
    wa.send_due(DAY1_SEND)
    table = channel_completion.table([("A", "day1", "whatsapp", False, False, 4), ("A", "day1", "whatsapp", True, False, 3),
                                      ("A", "day1", "sms", False, True, 2), ("A", "nowhere", "sms", True, True, 1)],
                                     app.extensions["protocol"])
    day1 = next(row for row in table["timepoints"] if row["timepoint"] == "day1")
    assert day1["whatsapp"] == {"due": 3, "completed": 3, "percent": 100.0}
    assert day1["sms"] == {"due": 2, "completed": 0, "percent": 0.0}
    assert table["total"]["sms"] == {"due": 2, "completed": 0, "percent": 0.0}     # not the unknown timepoint's
