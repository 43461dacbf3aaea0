"""Reminder passes against a real SQLite file with a recording gateway."""
from __future__ import annotations

import threading
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from sms import gateway as sms
from services import messaging
from scheduler.dispatch import MAX_TRIES, Dispatcher
from scheduler.links import token_in
from services import answers, enrollment
from storage import reminders as rows
from storage import write
from storage.connection import open_db
from storage.tokens import hash_token
from tests.sms_fakes import BatchRecordingGateway, RecordingGateway
from web.reminders import compose_body

UTC = timezone.utc
PROCEDURE = date(2026, 3, 2)
DAY1_SEND = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)  # 10:00 local (UTC) the day after


@pytest.fixture(params=["one_at_a_time", "whole_group"])
def gateway(request):
    """Every behaviour holds both for a gateway sent one message at a time (Twilio) and for one
    that takes a claimed group in one call (the console's one outbox write)."""
    return RecordingGateway() if request.param == "one_at_a_time" else BatchRecordingGateway()


@pytest.fixture
def dispatcher(app, gateway, clock):
    return Dispatcher(gateway=gateway, protocol=app.extensions["protocol"], compose=_compose(app),
                      link_url=lambda token: f"https://pro.example.org/f/{token}", messaging=messaging,
                      status_callback="https://pro.example.org/twilio/status", clock=clock)


def make(app, gateway, clock):
    return Dispatcher(gateway=gateway, protocol=app.extensions["protocol"], compose=_compose(app),
                      link_url=lambda t: f"https://pro.example.org/f/{t}", messaging=messaging, clock=clock)


def _compose(app):
    def compose(participant, url):
        with app.app_context():
            return compose_body(participant, url)
    return compose


@pytest.fixture
def db(app):
    connection = open_db(app.config["DATABASE"])
    yield connection
    connection.close()


def reminder_rows(trial, study_id="P-001"):
    return trial.query(
        "SELECT r.timepoint, r.attempt, r.status, r.reason, r.tries, r.due_at FROM reminders r "
        "JOIN participants p ON p.id = r.participant_id WHERE p.study_id = ? ORDER BY r.planned_at, r.attempt",
        [study_id])


def test_enrollment_plans_every_reminder(trial):
    trial.enroll(procedure_date=PROCEDURE)
    rows = reminder_rows(trial)
    assert [(r["timepoint"], r["attempt"], r["due_at"]) for r in rows][:4] == [
        ("day1", 1, "2026-03-03T10:00:00+00:00"), ("day1", 2, "2026-03-05T10:00:00+00:00"),
        ("week1", 1, "2026-03-08T10:00:00+00:00"), ("week1", 2, "2026-03-10T10:00:00+00:00")]
    assert len(rows) == 2 + 2 + 3 + 3 + 3
    assert all(r["status"] == "pending" for r in rows)
    assert "baseline" not in {r["timepoint"] for r in rows}


def test_a_due_reminder_is_sent_once_with_its_link(trial, dispatcher, gateway, db):
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, DAY1_SEND - timedelta(minutes=1)) == {}
    assert dispatcher.send_due(db, DAY1_SEND) == {"sent": 1}
    assert dispatcher.send_due(db, DAY1_SEND + timedelta(minutes=1)) == {}
    assert len(gateway.sent) == 1
    message = gateway.sent[0]
    assert message.to == "+12025550101"
    assert message.status_callback == "https://pro.example.org/twilio/status"
    token = message.body.split("/f/")[1].split(".")[0]
    client = trial.app.test_client()
    trial.clock.now = DAY1_SEND
    assert client.get(f"/f/{token}").headers["Location"] == f"/f/{token}/vas"
    stored = trial.query("SELECT body, status, sid, segments, encoding, sent_at FROM messages")[0]
    assert token not in stored["body"] and "/f/<token>" in stored["body"]
    assert (stored["status"], stored["segments"], stored["encoding"]) == ("queued", 1, "GSM-7")
    assert stored["sid"] == "SM" + "1".zfill(32)
    assert stored["sent_at"] == "2026-03-03T10:00:00+00:00"


def test_sms_carries_no_health_information(trial, dispatcher, gateway, db):
    trial.enroll("SPINE-CT-042", arm="B", procedure_date=PROCEDURE)
    dispatcher.send_due(db, DAY1_SEND)
    body = gateway.sent[0].body.lower()
    for word in ("spine-ct-042", "ct-guided", "fluoro", "injection", "back", "pain", "trial", "study",
                 "tramadol", "diclofenac", "oswestry"):
        assert word not in body


def test_completion_stops_the_repeats(trial, dispatcher, gateway, db, app):
    trial.enroll(procedure_date=PROCEDURE)
    dispatcher.send_due(db, DAY1_SEND)
    participant = trial.query("SELECT * FROM participants")[0]
    answers.submit(db, app.extensions["protocol"], participant=participant, timepoint_id="day1",
                   instrument_id="vas", answers={"mode": "line", "value": 30}, input_mode="line",
                   now=DAY1_SEND + timedelta(hours=1))
    assert dispatcher.send_due(db, DAY1_SEND + timedelta(days=2)) == {"cancelled": 1}
    assert [(r["timepoint"], r["attempt"], r["status"], r["reason"]) for r in reminder_rows(trial)[:2]] == [
        ("day1", 1, "sent", None), ("day1", 2, "cancelled", "completed")]
    assert len(gateway.sent) == 1


@pytest.mark.parametrize("column,value,reason", [
    ("status", "withdrawn", "withdrawn"),
    ("sms_opt_out", 1, "opted_out"),
    ("phone", None, "no_phone"),
    ("phone_problem", "Twilio error 21614", "bad_number"),
])
def test_nothing_is_sent_to_who_must_not_get_it(trial, dispatcher, gateway, db, column, value, reason):
    trial.enroll(procedure_date=PROCEDURE)
    if column == "status":   # withdrawn, as storage requires: with a time and a reason
        db.execute("UPDATE participants SET status = ?, withdrawn_at = '2026-03-01T00:00:00+00:00', "
                   "withdrawal_reason = 'test'", [value])
    else:
        db.execute(f"UPDATE participants SET {column} = ?", [value])
    assert dispatcher.send_due(db, DAY1_SEND) == {"cancelled": 1}
    assert gateway.sent == []
    assert reminder_rows(trial)[0]["reason"] == reason


def test_a_late_pass_sends_only_the_latest_reminder(trial, dispatcher, gateway, db):
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, datetime(2026, 3, 5, 12, 0, tzinfo=UTC)) == {"cancelled": 1, "sent": 1}
    assert [(r["attempt"], r["status"], r["reason"]) for r in reminder_rows(trial)[:2]] == [
        (1, "cancelled", "superseded"), (2, "sent", None)]


def test_a_pass_in_quiet_hours_defers_until_morning(trial, dispatcher, gateway, db):
    trial.enroll(procedure_date=PROCEDURE, timezone="Africa/Cairo")
    night = datetime(2026, 3, 3, 20, 0, tzinfo=UTC)  # 22:00 in Cairo, reminder was due at 08:00 UTC
    assert dispatcher.send_due(db, night) == {"deferred": 1}
    assert reminder_rows(trial)[0]["due_at"] == "2026-03-04T07:00:00+00:00"  # 09:00 in Cairo
    assert dispatcher.send_due(db, datetime(2026, 3, 4, 6, 59, tzinfo=UTC)) == {}
    assert dispatcher.send_due(db, datetime(2026, 3, 4, 7, 0, tzinfo=UTC)) == {"sent": 1}


def test_twilio_opt_out_error_opts_the_participant_out(trial, dispatcher, gateway, db):
    gateway.outcomes.append(sms.SendResult(sms.OPTED_OUT, error_code=21610, error_message="unsubscribed"))
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, DAY1_SEND) == {"opted_out": 1}
    assert trial.query("SELECT sms_opt_out FROM participants") == [{"sms_opt_out": 1}]
    assert dispatcher.send_due(db, DAY1_SEND + timedelta(days=2)) == {"cancelled": 1}
    assert len(gateway.sent) == 1
    audit = trial.query("SELECT actor, action FROM audit_log WHERE action = 'sms_opt_out'")
    assert audit == [{"actor": "twilio", "action": "sms_opt_out"}]


@pytest.mark.parametrize("code", [21211, 21614])
def test_invalid_number_is_flagged_for_the_nurses(trial, dispatcher, gateway, db, code):
    gateway.outcomes.append(sms.SendResult(sms.BAD_NUMBER, error_code=code))
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, DAY1_SEND) == {"bad_number": 1}
    assert trial.query("SELECT phone_problem FROM participants") == [{"phone_problem": f"Twilio error {code}"}]
    assert reminder_rows(trial)[0]["status"] == "failed"
    assert dispatcher.send_due(db, DAY1_SEND + timedelta(days=2)) == {"cancelled": 1}


def test_rate_limits_and_outages_back_off_then_fail_visibly(trial, dispatcher, gateway, db):
    gateway.outcomes.extend([sms.SendResult(sms.RETRY, error_code=20429)] * MAX_TRIES)
    trial.enroll(procedure_date=PROCEDURE)
    moment, waits = DAY1_SEND, []
    for _ in range(MAX_TRIES):
        dispatcher.send_due(db, moment)
        row = reminder_rows(trial)[0]
        if row["status"] == "pending":
            due = datetime.fromisoformat(row["due_at"])
            waits.append(due - moment)
            moment = due
    assert waits == [timedelta(minutes=1), timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]
    row = reminder_rows(trial)[0]
    assert (row["status"], row["reason"], row["tries"]) == ("failed", "gateway_unavailable", MAX_TRIES)
    assert len(gateway.sent) == MAX_TRIES
    statuses = trial.query("SELECT status, error_code FROM messages")
    assert statuses == [{"status": "failed", "error_code": 20429}] * MAX_TRIES


def test_a_retry_that_succeeds_is_sent_once(trial, dispatcher, gateway, db):
    gateway.outcomes.append(sms.SendResult(sms.RETRY, error_code=503))
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, DAY1_SEND) == {"retried": 1}
    assert dispatcher.send_due(db, DAY1_SEND + timedelta(minutes=1)) == {"sent": 1}
    assert reminder_rows(trial)[0]["status"] == "sent"


def test_other_errors_fail_the_reminder(trial, dispatcher, gateway, db):
    gateway.outcomes.append(sms.SendResult(sms.FAILED, error_code=21408))
    trial.enroll(procedure_date=PROCEDURE)
    assert dispatcher.send_due(db, DAY1_SEND) == {"failed": 1}
    assert (reminder_rows(trial)[0]["status"], reminder_rows(trial)[0]["reason"]) == ("failed", "error 21408")


# --- Crash recovery ----------------------------------------------------------------------

class CrashAfterAccept(RecordingGateway):
    """The provider accepts the message, then the process dies before recording it."""

    def send(self, message):
        super().send(message)
        raise SystemExit("killed")


def test_crash_after_the_provider_accepted_is_recovered_without_resending(trial, app, db, clock):
    trial.enroll(procedure_date=PROCEDURE)
    crashing = CrashAfterAccept()
    with pytest.raises(SystemExit):
        make(app, crashing, clock).send_due(db, DAY1_SEND)
    assert reminder_rows(trial)[0]["status"] == "sending"
    assert trial.query("SELECT status FROM messages") == [{"status": "in_doubt"}]

    again = make(app, crashing, clock)
    clock.now += timedelta(minutes=1)
    assert again.send_due(db, DAY1_SEND) == {}  # the dead pass's lease has not run out yet
    clock.now += timedelta(minutes=2)
    assert again.send_due(db, DAY1_SEND) == {"recovered_sent": 1}
    assert len(crashing.sent) == 1
    assert reminder_rows(trial)[0]["status"] == "sent"
    assert trial.query("SELECT status, sid FROM messages") == [{"status": "sent", "sid": crashing.accepted[0][0]}]


class GroupCrashAfterAccept(BatchRecordingGateway):
    """The provider accepts a whole group (the console's outbox write), then the process dies."""

    def send_many(self, messages):
        super().send_many(messages)
        raise SystemExit("killed")


class CrashAfterSecondAccept(RecordingGateway):
    """Sent one at a time: the provider accepts two of a group, then the process dies."""

    def send(self, message):
        result = super().send(message)
        if len(self.sent) == 2:
            raise SystemExit("killed")
        return result


@pytest.mark.parametrize("crashing", [GroupCrashAfterAccept, CrashAfterSecondAccept])
def test_a_group_cut_short_by_a_crash_is_recovered_without_resending(trial, app, db, clock, crashing):
    for study_id in ("P-001", "P-002", "P-003"):
        trial.enroll(study_id, procedure_date=PROCEDURE)
    gateway = crashing()
    with pytest.raises(SystemExit):
        make(app, gateway, clock).send_due(db, DAY1_SEND)
    accepted = len(gateway.accepted)  # 3 for the whole group, 2 when sent one at a time
    assert trial.query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status") == [{"status": "in_doubt", "n": 3}]
    clock.now += timedelta(minutes=3)
    counts = make(app, gateway, clock).send_due(db, DAY1_SEND)
    assert counts == +Counter(recovered_sent=accepted, recovered_unsent=3 - accepted, sent=3 - accepted)
    assert len(gateway.sent) == 3 == len({m.body for m in gateway.sent})  # each reminder reached it once
    assert trial.query("SELECT COUNT(*) AS n FROM reminders WHERE status = 'sent'") == [{"n": 3}]


class CrashBeforeSend(RecordingGateway):
    def send(self, message):
        raise SystemExit("killed before the request left")


def test_crash_before_the_provider_had_it_is_resent_once(trial, app, db, dispatcher, gateway, clock):
    trial.enroll(procedure_date=PROCEDURE)
    with pytest.raises(SystemExit):
        make(app, CrashBeforeSend(), clock).send_due(db, DAY1_SEND)
    clock.now += timedelta(minutes=3)
    assert dispatcher.send_due(db, DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}
    assert len(gateway.sent) == 1
    assert trial.query("SELECT status FROM messages ORDER BY id") == [{"status": "not_sent"}, {"status": "queued"}]


class Unreachable(RecordingGateway):
    def find_sent(self, to, since, matches):
        raise ConnectionError("provider down")


def test_a_reminder_in_doubt_is_never_resent_on_a_guess(trial, app, db, clock):
    trial.enroll(procedure_date=PROCEDURE)
    with pytest.raises(SystemExit):
        make(app, CrashAfterAccept(), clock).send_due(db, DAY1_SEND)
    down = Unreachable()
    clock.now += timedelta(minutes=5)
    assert make(app, down, clock).send_due(db, DAY1_SEND) == {"in_doubt": 1}
    assert down.sent == []
    assert reminder_rows(trial)[0]["status"] == "sending"


# --- Concurrency -------------------------------------------------------------------------

def test_two_passes_at_once_send_each_of_1000_reminders_exactly_once(trial, app):
    db = open_db(app.config["DATABASE"])
    db.execute("PRAGMA synchronous = OFF")  # setup only: 1,000 enrollments without 1,000 fsyncs
    protocol = app.extensions["protocol"]
    for n in range(1000):
        enrollment.enroll(db, protocol, enrollment.validate_enrollment(
            protocol, ["en"], study_id=f"C-{n:04d}", arm="AB"[n % 2], phone="+12025550101", timezone="UTC",
            language="en", procedure_date=PROCEDURE), actor="test", now=DAY1_SEND)
    db.close()
    # A send takes 3 ms, as a request to a provider would: outside any transaction, so the other
    # pass gets the write lock in between (with instant sends one thread can starve the other).
    gateway = RecordingGateway(latency=0.003)
    barrier = threading.Barrier(2)
    results = []

    def run_pass():
        connection = open_db(app.config["DATABASE"])
        try:
            dispatcher = Dispatcher(gateway=gateway, protocol=app.extensions["protocol"], compose=_compose(app),
                                    link_url=lambda t: f"https://pro.example.org/f/{t}", messaging=messaging)
            barrier.wait()
            results.append(dispatcher.send_due(connection, DAY1_SEND))
        finally:
            connection.close()

    threads = [threading.Thread(target=run_pass) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["sent"] for r in results) == 1000
    assert all(r["sent"] > 0 for r in results), results  # both passes really worked
    assert len(gateway.sent) == 1000
    assert len({m.body for m in gateway.sent}) == 1000  # 1000 different links: no reminder twice
    assert trial.query("SELECT COUNT(*) AS n FROM reminders WHERE status = 'sent'") == [{"n": 1000}]


def test_a_pass_that_lost_its_claim_does_not_send(trial, app, db, clock, gateway):
    """A pass held a reminder past its lease; another recovered it. The first must not send it."""
    trial.enroll(procedure_date=PROCEDURE)
    slow = make(app, gateway, clock)
    from storage import reminders as rows
    from storage import write
    with write(db):
        claimed = rows.claim_due(db, DAY1_SEND, slow.runner, 10, claimed_at=clock())
    clock.now += timedelta(minutes=3)
    assert make(app, gateway, clock).send_due(db, DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}
    assert slow.process(db, claimed[0], DAY1_SEND) == "lost_claim"
    assert len(gateway.sent) == 1


# --- Groups --------------------------------------------------------------------------------

SHARED = "+12025550177"  # one phone for two participants (a couple, a parent and child)


def enroll_sharing(trial, *study_ids):
    for study_id in study_ids:
        trial.enroll(study_id, phone=SHARED, procedure_date=PROCEDURE)


def test_two_participants_sharing_a_number_in_one_group_each_get_their_own_link(trial, dispatcher, gateway, db):
    enroll_sharing(trial, "P-001", "P-002")
    assert dispatcher.batch >= 2  # so both are claimed, decided and sent as one group
    assert dispatcher.send_due(db, DAY1_SEND) == {"sent": 2}
    assert [m.to for m in gateway.sent] == [SHARED, SHARED]
    # Each SMS carries a different link, issued to the participant whose reminder it is.
    whose = [trial.query(
        "SELECT p.study_id AS reminder_of, lp.study_id AS link_of, m.participant_id = r.participant_id AS same "
        "FROM messages m JOIN reminders r ON r.id = m.reminder_id JOIN participants p ON p.id = r.participant_id "
        "JOIN link_tokens t ON t.token_hash = m.token_hash JOIN participants lp ON lp.id = t.participant_id "
        "WHERE m.token_hash = ?", [hash_token(token_in(message.body))]) for message in gateway.sent]
    assert whose == [[{"reminder_of": "P-001", "link_of": "P-001", "same": 1}],
                     [{"reminder_of": "P-002", "link_of": "P-002", "same": 1}]]
    assert [r["status"] for r in reminder_rows(trial, "P-001")[:1] + reminder_rows(trial, "P-002")[:1]] == ["sent"] * 2


def test_a_shared_number_that_replied_stop_gets_nothing_from_a_group(trial, dispatcher, gateway, db):
    enroll_sharing(trial, "P-001", "P-002")
    messaging.receive_reply(db, sender=SHARED, body="STOP", sid="SM" + "5" * 32, now=DAY1_SEND - timedelta(hours=1))
    assert dispatcher.send_due(db, DAY1_SEND) == {"cancelled": 2}
    assert gateway.sent == []
    assert [reminder_rows(trial, s)[0]["reason"] for s in ("P-001", "P-002")] == ["opted_out", "opted_out"]


def test_twilio_refusing_a_shared_number_opts_out_each_participant_once(trial, dispatcher, gateway, db):
    gateway.outcomes.extend([sms.SendResult(sms.OPTED_OUT, error_code=21610)] * 2)
    enroll_sharing(trial, "P-001", "P-002")
    assert dispatcher.send_due(db, DAY1_SEND) == {"opted_out": 2}
    assert trial.query("SELECT study_id, sms_opt_out FROM participants ORDER BY study_id") == [
        {"study_id": "P-001", "sms_opt_out": 1}, {"study_id": "P-002", "sms_opt_out": 1}]
    assert trial.query("SELECT entity_id, actor FROM audit_log WHERE action = 'sms_opt_out' ORDER BY entity_id") == [
        {"entity_id": "P-001", "actor": "twilio"}, {"entity_id": "P-002", "actor": "twilio"}]


def test_a_stop_recorded_while_a_group_is_sent_one_by_one_stops_the_rest(trial, app, db, clock):
    """The shared number replies STOP after the group's first SMS: the second is not sent."""

    class StopAfterFirst(RecordingGateway):
        def send(self, message):
            result = super().send(message)
            if len(self.sent) == 1:
                webhook = open_db(app.config["DATABASE"])
                try:
                    messaging.receive_reply(webhook, sender=message.to, body="STOP", sid="SM" + "6" * 32,
                                            now=DAY1_SEND)
                finally:
                    webhook.close()
            return result

    enroll_sharing(trial, "P-001", "P-002")
    gateway = StopAfterFirst()
    assert make(app, gateway, clock).send_due(db, DAY1_SEND) == {"sent": 1, "requeued": 1, "cancelled": 1}
    assert len(gateway.sent) == 1
    assert [(reminder_rows(trial, s)[0]["status"], reminder_rows(trial, s)[0]["reason"])
            for s in ("P-001", "P-002")] == [("sent", None), ("cancelled", "opted_out")]


def test_a_claim_still_held_by_another_pass_is_left_to_it(trial, app, db, clock, gateway):
    trial.enroll(procedure_date=PROCEDURE)
    holder = make(app, gateway, clock)
    with write(db):
        claimed = rows.claim_due(db, DAY1_SEND, holder.runner, 10, claimed_at=clock())
    clock.now += timedelta(minutes=1)  # the holder's lease (2 minutes) has not run out
    other = make(app, gateway, clock)
    assert other.send_due(db, DAY1_SEND) == {}
    assert gateway.sent == []
    assert holder.process_group(db, claimed, DAY1_SEND) == ["sent"]
    assert other.send_due(db, DAY1_SEND) == {}
    assert len(gateway.sent) == 1


def test_a_group_partly_recovered_by_another_pass_sends_only_what_it_still_holds(trial, app, db, clock, gateway):
    trial.enroll("P-001", procedure_date=PROCEDURE)
    trial.enroll("P-002", procedure_date=PROCEDURE)
    slow = make(app, gateway, clock)
    with write(db):
        claimed = rows.claim_due(db, DAY1_SEND, slow.runner, 10, claimed_at=clock())
    clock.now += timedelta(minutes=1)
    with write(db):
        assert rows.keep_claim(db, claimed[1]["id"], slow.runner, clock())  # P-002's lease renewed, not P-001's
    clock.now += timedelta(minutes=1, seconds=30)  # P-001's claim is stale, P-002's is still held
    assert make(app, gateway, clock).send_due(db, DAY1_SEND) == {"recovered_unsent": 1, "sent": 1}
    assert slow.process_group(db, claimed, DAY1_SEND) == ["lost_claim", "sent"]
    assert len(gateway.sent) == 2
    assert trial.query("SELECT r.participant_id, COUNT(*) AS n FROM messages m JOIN reminders r ON r.id = m.reminder_id "
                       "WHERE m.status = 'queued' GROUP BY r.participant_id ORDER BY r.participant_id") == [
        {"participant_id": 1, "n": 1}, {"participant_id": 2, "n": 1}]


def test_a_slow_provider_leaves_the_rest_of_a_group_to_the_next_group(trial, app, db, clock):
    """Sent one at a time, a group starts no send once half its lease has gone."""

    class Slow(RecordingGateway):
        def send(self, message):
            clock.now += timedelta(seconds=40)  # the lease is 2 minutes: the third send would start at 80 s
            return super().send(message)

    for study_id in ("P-001", "P-002", "P-003"):
        trial.enroll(study_id, procedure_date=PROCEDURE)
    gateway = Slow()
    assert make(app, gateway, clock).send_due(db, DAY1_SEND) == {"sent": 3, "requeued": 1}
    assert len(gateway.sent) == 3 == len({m.body for m in gateway.sent})
    assert trial.query("SELECT status, COUNT(*) AS n FROM messages GROUP BY status ORDER BY status") == [
        {"status": "not_sent", "n": 1}, {"status": "queued", "n": 3}]
