"""Recovery of reminders in doubt, when several passes meet: a reminder is one SMS, whatever runs."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest

from storage import write
from storage.connection import open_db
from tests.sms_fakes import RecordingGateway
from tests.test_dispatch import DAY1_SEND, PROCEDURE, CrashAfterAccept, CrashBeforeSend, make, reminder_rows

DAY1_REPEAT = DAY1_SEND + timedelta(days=2)   # the day-1 window's second reminder


@pytest.fixture
def db(app):
    connection = open_db(app.config["DATABASE"])
    yield connection
    connection.close()


def in_another_connection(app, work):
    """``work(db)`` on a connection of its own in a thread of its own, as another process's pass
    would run; returns what it returned (and raises what it raised)."""
    outcome = {}

    def run():
        other = open_db(app.config["DATABASE"])
        try:
            outcome["value"] = work(other)
        except BaseException as exc:  # handed back to the test's thread
            outcome["error"] = exc
        finally:
            other.close()

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


class SlowLookup(RecordingGateway):
    """A provider whose lookup is slow: while it is asked, ``meanwhile`` runs (another pass)."""

    def __init__(self, meanwhile):
        super().__init__()
        self.meanwhile = meanwhile

    def find_sent(self, to, since, matches):
        meanwhile, self.meanwhile = self.meanwhile, None
        if meanwhile:
            meanwhile()
        return super().find_sent(to, since, matches)


def test_two_passes_recovering_the_same_reminder_send_it_once(trial, app, db, clock):
    """Pass X dies before the provider had the SMS. Pass B takes it over and asks the provider,
    slowly; meanwhile pass A runs a whole pass. A must leave it to B, and only B sends it."""
    trial.enroll(procedure_date=PROCEDURE)
    with pytest.raises(SystemExit):
        make(app, CrashBeforeSend(), clock).send_due(db, DAY1_SEND)
    clock.now += timedelta(minutes=3)          # X's lease has run out

    sent_by_a = RecordingGateway()
    counts_a = {}

    def pass_a():
        counts_a.update(in_another_connection(app, lambda other: make(app, sent_by_a, clock).send_due(other, DAY1_SEND)))

    slow = SlowLookup(pass_a)
    assert make(app, slow, clock).send_due(db, DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}
    assert counts_a == {}                      # B held it: A neither asked about it nor sent it
    assert sent_by_a.lookups == 0 and sent_by_a.sent == []
    assert len(slow.sent) == 1
    assert [r["status"] for r in reminder_rows(trial)][:1] == ["sent"]


def test_a_lookup_that_outlives_the_lease_leaves_the_reminder_to_whoever_took_it(trial, app, db, clock):
    trial.enroll(procedure_date=PROCEDURE)
    with pytest.raises(SystemExit):
        make(app, CrashBeforeSend(), clock).send_due(db, DAY1_SEND)
    clock.now += timedelta(minutes=3)
    taker = RecordingGateway()

    def lease_runs_out_and_another_pass_takes_over():
        clock.now += timedelta(minutes=3)
        assert make(app, taker, clock).send_due(db, DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}

    slow = SlowLookup(lease_runs_out_and_another_pass_takes_over)
    assert make(app, slow, clock).send_due(db, DAY1_SEND) == {"lost_claim": 1}
    assert slow.sent == [] and len(taker.sent) == 1
    assert trial.query("SELECT status FROM messages ORDER BY id") == [{"status": "not_sent"}, {"status": "queued"}]


class Unreachable(RecordingGateway):
    def find_sent(self, to, since, matches):
        raise ConnectionError("provider down")


def test_an_in_doubt_first_reminder_is_not_sent_after_the_second_went_out(trial, app, db, clock):
    """The first SMS of a window is in doubt and the provider cannot be asked; the window's second
    SMS goes out meanwhile. When the provider answers that it never had the first, the first is
    superseded by the second: the participant gets one SMS, not two."""
    trial.enroll(procedure_date=PROCEDURE)
    with pytest.raises(SystemExit):
        make(app, CrashBeforeSend(), clock).send_due(db, DAY1_SEND)
    clock.now += timedelta(days=2)
    down = Unreachable()
    assert make(app, down, clock).send_due(db, DAY1_REPEAT) == {"in_doubt": 1, "sent": 1}
    clock.now += timedelta(minutes=3)
    up = RecordingGateway()
    assert make(app, up, clock).send_due(db, DAY1_REPEAT) == {"recovered_unsent": 1, "cancelled": 1}
    assert up.sent == [] and len(down.sent) == 1
    day1 = [(r["attempt"], r["status"], r["reason"]) for r in reminder_rows(trial) if r["timepoint"] == "day1"]
    assert day1 == [(1, "cancelled", "superseded"), (2, "sent", None)]


def test_a_nurses_request_does_not_cancel_the_planned_repeat(trial, app, db, clock):
    trial.enroll(procedure_date=PROCEDURE)
    gateway = RecordingGateway()
    dispatcher = make(app, gateway, clock)
    assert dispatcher.send_due(db, DAY1_SEND) == {"sent": 1}
    participant_id = trial.query("SELECT id FROM participants")[0]["id"]
    assert dispatcher.send_now(db, participant_id, "day1", DAY1_SEND + timedelta(hours=1),
                               requested_by="nurse@site.example") == "sent"
    assert dispatcher.send_due(db, DAY1_REPEAT) == {"sent": 1}
    assert len(gateway.sent) == 3


def test_recovery_of_an_accepted_sms_records_it_once_when_two_passes_meet(trial, app, db, clock):
    trial.enroll(procedure_date=PROCEDURE)
    crashing = CrashAfterAccept()
    with pytest.raises(SystemExit):
        make(app, crashing, clock).send_due(db, DAY1_SEND)
    clock.now += timedelta(minutes=3)
    results = {}

    def pass_a():
        results.update(in_another_connection(app, lambda other: make(app, crashing, clock).send_due(other, DAY1_SEND)))

    slow = SlowLookup(pass_a)
    slow.accepted = crashing.accepted          # the same provider, asked through two passes
    assert make(app, slow, clock).send_due(db, DAY1_SEND) == {"recovered_sent": 1}
    assert results == {} and len(crashing.sent) == 1 and slow.sent == []
    assert trial.query("SELECT status FROM messages") == [{"status": "sent"}]


def test_a_pass_waits_for_another_writers_lock_instead_of_dying(trial, app, db, clock):
    """A pass that meets a lock held past the busy timeout keeps waiting (LOCK_PATIENCE)."""
    trial.enroll(procedure_date=PROCEDURE)
    db.conn.execute("PRAGMA busy_timeout = 50")   # the lock outlasts this connection's busy timeout
    locked, waited = threading.Event(), threading.Event()

    class Waiting(logging.Handler):
        def emit(self, record):
            waited.set()

    def hold_the_lock_until_the_pass_has_waited():
        holder = open_db(app.config["DATABASE"])
        holder.conn.execute("BEGIN IMMEDIATE")
        locked.set()
        waited.wait(timeout=30)
        holder.conn.execute("ROLLBACK")
        holder.close()

    handler = Waiting()
    logging.getLogger("storage.db").addHandler(handler)
    holder = threading.Thread(target=hold_the_lock_until_the_pass_has_waited)
    holder.start()
    gateway = RecordingGateway()
    try:
        assert locked.wait(timeout=30)
        assert make(app, gateway, clock).send_due(db, DAY1_SEND) == {"sent": 1}
    finally:
        holder.join()
        logging.getLogger("storage.db").removeHandler(handler)
    assert waited.is_set() and len(gateway.sent) == 1


def test_a_web_write_gives_up_after_the_busy_timeout(app, db):
    from storage import faults
    holder = open_db(app.config["DATABASE"])
    holder.conn.execute("BEGIN IMMEDIATE")
    db.conn.execute("PRAGMA busy_timeout = 50")
    with pytest.raises(faults.DatabaseFault) as caught:
        with write(db):
            pass
    holder.conn.execute("ROLLBACK")
    holder.close()
    assert faults.kind(caught.value) == faults.LOCKED
    assert not db.conn.in_transaction
