"""kill -9 the real scheduler process mid-pass, again and again, with every participant on WhatsApp
(the console gateway's outbox standing in for Twilio's log): every WhatsApp reminder ends sent
once, as its template, and recovery tells WhatsApp messages by their channel."""
from __future__ import annotations

import json
import os
import signal
import time
from datetime import datetime, timedelta, timezone

import pytest

from scheduler.links import token_in
from services import enrollment
from storage import init_db
from storage.connection import open_db
from storage.tokens import hash_token
from tests.test_crash import afternoon_zone, scheduler, wait_for
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

PARTICIPANTS = 300
KILLS = 6
TEMPLATE = "HX" + "a1" * 16


def test_kill_9_mid_whatsapp_pass_neither_duplicates_nor_loses_a_reminder(tmp_path):
    db_path, outbox = tmp_path / "crash.sqlite3", tmp_path / "outbox.jsonl"
    init_db(db_path)
    from app import create_app
    protocol = create_app({"DATABASE": str(db_path)}).extensions["protocol"]
    now = datetime.now(timezone.utc)
    zone, local_now = afternoon_zone(now)
    db = open_db(db_path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    for n in range(PARTICIPANTS):
        enrollment.enroll(db, protocol, enrollment.validate_enrollment(
            protocol, ["en"], study_id=f"W-{n:03d}", arm="A", phone=f"+2010012{n:05d}", timezone=zone,
            language="en", procedure_date=local_now.date() - timedelta(days=1), channel="whatsapp",
            whatsapp_opt_in=OPT_IN_WORDING_VERSION), actor="test", now=now)
    db.close()
    env = {**os.environ, "FLASK_DATABASE": str(db_path), "FLASK_SMS_GATEWAY": "console",
           "FLASK_SMS_OUTBOX": str(outbox), "FLASK_REMINDER_LEASE_SECONDS": "1",
           "FLASK_WHATSAPP_TEMPLATES": json.dumps({"reminder": {"en": TEMPLATE}})}

    def outbox_lines() -> list[dict]:
        if not outbox.exists():
            return []
        return [json.loads(line) for line in outbox.read_text().splitlines() if line.endswith("}")]

    kills = 0
    for _ in range(KILLS):
        target = min(len(outbox_lines()) + 10, PARTICIPANTS)
        process = scheduler(env)
        try:
            grew = wait_for(lambda: len(outbox_lines()) >= target, timeout=60)
            if not grew and process.poll() is not None:
                pytest.fail(process.stderr.read().decode())
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
            process.stderr.close()
        if len(outbox_lines()) >= PARTICIPANTS:
            break
        kills += 1
        time.sleep(2.1)  # let the dead pass's lease (1 s, stored to the second) run out

    process = scheduler(env)
    try:
        db = open_db(db_path)
        done = wait_for(lambda: db.execute(
            "SELECT COUNT(*) FROM reminders WHERE timepoint = 'day1' AND attempt = 1 AND status = 'sent'"
        ).fetchone()[0] == PARTICIPANTS, timeout=120)
        db.close()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        process.stderr.close()
    assert done, "not every due reminder was sent"
    assert kills >= 2, f"the process finished before it could be killed often enough ({kills} kills)"

    db = open_db(db_path)
    try:
        sent = outbox_lines()
        assert {(line["channel"], line["content_sid"]) for line in sent} == {("whatsapp", TEMPLATE)}
        reminder_of = dict(db.execute("SELECT token_hash, reminder_id FROM messages").fetchall())
        reminders_sent = [reminder_of[hash_token(token_in(line["body"]))] for line in sent]
        assert len(reminders_sent) == PARTICIPANTS == len(set(reminders_sent)), "a reminder went twice"
        assert {row[0] for row in db.execute("SELECT channel FROM messages")} == {"whatsapp"}
        recorded = {row[0] for row in db.execute("SELECT sid FROM messages WHERE status = 'sent'")}
        assert recorded == {line["sid"] for line in sent}
    finally:
        db.close()
