"""kill -9 the real scheduler process mid-pass, again and again, with every participant on WhatsApp
(the console gateway's outbox standing in for Twilio's log): every WhatsApp reminder ends sent
once, as its template, and recovery tells WhatsApp messages by their channel."""
from __future__ import annotations

import json
import os

from scheduler.links import token_in
from storage.connection import open_db
from storage.tokens import hash_token
from tests.crash_support import all_sent_in_the_end, enroll_due, kill_mid_pass, outbox_lines
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

PARTICIPANTS = 300
KILLS = 6
TEMPLATE = "HX" + "a1" * 16


def test_kill_9_mid_whatsapp_pass_neither_duplicates_nor_loses_a_reminder(tmp_path):
    db_path, outbox = tmp_path / "crash.sqlite3", tmp_path / "outbox.jsonl"
    enroll_due(db_path, PARTICIPANTS, study_id=lambda n: f"W-{n:03d}", phone=lambda n: f"+2010012{n:05d}",
               channel="whatsapp", whatsapp_opt_in=OPT_IN_WORDING_VERSION)
    env = {**os.environ, "FLASK_DATABASE": str(db_path), "FLASK_SMS_GATEWAY": "console",
           "FLASK_SMS_OUTBOX": str(outbox), "FLASK_REMINDER_LEASE_SECONDS": "1",
           "FLASK_WHATSAPP_TEMPLATES": json.dumps({"reminder": {"en": TEMPLATE}})}
    kills = kill_mid_pass(env, outbox, PARTICIPANTS, KILLS)
    done = all_sent_in_the_end(env, db_path, PARTICIPANTS)
    assert done, "not every due reminder was sent"
    assert kills >= 2, f"the process finished before it could be killed often enough ({kills} kills)"

    db = open_db(db_path)
    try:
        sent = outbox_lines(outbox)
        assert {(line["channel"], line["content_sid"]) for line in sent} == {("whatsapp", TEMPLATE)}
        reminder_of = dict(db.execute("SELECT token_hash, reminder_id FROM messages").fetchall())
        reminders_sent = [reminder_of[hash_token(token_in(line["body"]))] for line in sent]
        assert len(reminders_sent) == PARTICIPANTS == len(set(reminders_sent)), "a reminder went twice"
        assert {row[0] for row in db.execute("SELECT channel FROM messages")} == {"whatsapp"}
        recorded = {row[0] for row in db.execute("SELECT sid FROM messages WHERE status = 'sent'")}
        assert recorded == {line["sid"] for line in sent}
    finally:
        db.close()
