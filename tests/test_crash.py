"""kill -9 the real scheduler process mid-pass, again and again: every reminder ends sent once."""
from __future__ import annotations

import os

from scheduler.links import token_in
from storage.connection import open_db
from storage.tokens import hash_token
from tests.crash_support import all_sent_in_the_end, enroll_due, kill_mid_pass, outbox_lines

PARTICIPANTS = 300
KILLS = 6


def test_kill_9_mid_pass_neither_duplicates_nor_loses_a_reminder(tmp_path):
    db_path, outbox = tmp_path / "crash.sqlite3", tmp_path / "outbox.jsonl"
    enroll_due(db_path, PARTICIPANTS, study_id=lambda n: f"K-{n:03d}", phone=lambda n: "+12025550101")
    env = {**os.environ, "FLASK_DATABASE": str(db_path), "FLASK_SMS_GATEWAY": "console",
           "FLASK_SMS_OUTBOX": str(outbox), "FLASK_REMINDER_LEASE_SECONDS": "1"}
    kills = kill_mid_pass(env, outbox, PARTICIPANTS, KILLS)
    done = all_sent_in_the_end(env, db_path, PARTICIPANTS)
    assert done, "not every due reminder was sent"
    assert kills >= 3, f"the process finished before it could be killed often enough ({kills} kills)"

    db = open_db(db_path)
    try:
        sent = outbox_lines(outbox)
        hashes = [hash_token(token_in(line["body"])) for line in sent]
        reminder_of = dict(db.execute("SELECT token_hash, reminder_id FROM messages").fetchall())
        reminders_sent = [reminder_of[h] for h in hashes]
        assert len(reminders_sent) == PARTICIPANTS == len(set(reminders_sent)), "a reminder went twice"
        statuses = dict(db.execute("SELECT status, COUNT(*) FROM reminders WHERE timepoint = 'day1' "
                                   "AND attempt = 1 GROUP BY status").fetchall())
        assert statuses == {"sent": PARTICIPANTS}
        sids = {line["sid"] for line in sent}
        recorded = {row[0] for row in db.execute("SELECT sid FROM messages WHERE status = 'sent'")}
        assert recorded == sids
    finally:
        db.close()
