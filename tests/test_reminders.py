"""The reminder policy, pure: when SMS are planned, and what happens when one falls due."""
from __future__ import annotations

from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from questionnaires import INSTRUMENTS
from questionnaires.protocol import DEFAULT_PROTOCOL_PATH, ReminderPolicy, load_protocol
from scheduler import reminders as r
from scheduler.schedule import window_for

PROTOCOL = load_protocol(DEFAULT_PROTOCOL_PATH, INSTRUMENTS)
POLICY = PROTOCOL.reminders
UTC = timezone.utc
CAIRO = ZoneInfo("Africa/Cairo")
NEW_YORK = ZoneInfo("America/New_York")


def planned(timepoint: str, procedure: date, zone: ZoneInfo):
    window = window_for(PROTOCOL.timepoint(timepoint), procedure, zone)
    return [(p.attempt, p.at.astimezone(zone).replace(tzinfo=None)) for p in r.plan(POLICY, window.opens_at,
                                                                                     window.closes_at, zone)]


def test_default_policy_is_the_protocol_file():
    assert POLICY == ReminderPolicy(time(10), time(21), time(9), (2, 5))
    assert [tp.remind for tp in PROTOCOL.timepoints] == [False, True, True, True, True, True]


def test_month1_gets_three_sms_at_ten_local_from_the_day_the_window_opens():
    assert planned("month1", date(2026, 2, 20), CAIRO) == [
        (1, datetime(2026, 3, 13, 10)), (2, datetime(2026, 3, 15, 10)), (3, datetime(2026, 3, 18, 10))]


def test_repeats_past_the_window_are_dropped():
    # day1 is open on days 1-3 only: the 5-day repeat would fall after it closes.
    assert planned("day1", date(2026, 2, 20), CAIRO) == [(1, datetime(2026, 2, 21, 10)), (2, datetime(2026, 2, 23, 10))]


def test_ten_oclock_stays_ten_oclock_across_dst():
    utc_times = [p.at for p in r.plan(POLICY, *_window("month1", date(2026, 2, 20), NEW_YORK), NEW_YORK)]
    # 13 March is after New York's spring-forward (8 March): 10:00 EDT is 14:00 UTC.
    assert utc_times[0] == datetime(2026, 3, 13, 14, tzinfo=UTC)
    day1 = [p.at for p in r.plan(POLICY, *_window("day1", date(2026, 2, 20), NEW_YORK), NEW_YORK)]
    assert day1[0] == datetime(2026, 2, 21, 15, tzinfo=UTC)  # 10:00 EST


def _window(timepoint, procedure, zone):
    window = window_for(PROTOCOL.timepoint(timepoint), procedure, zone)
    return window.opens_at, window.closes_at


@pytest.mark.parametrize("local,expected", [
    (datetime(2026, 3, 2, 22, 30), datetime(2026, 3, 3, 9, 0)),   # evening: tomorrow at 09:00
    (datetime(2026, 3, 3, 2, 0), datetime(2026, 3, 3, 9, 0)),     # night: this morning at 09:00
    (datetime(2026, 3, 3, 9, 0), datetime(2026, 3, 3, 9, 0)),     # quiet hours end at 09:00
    (datetime(2026, 3, 3, 20, 59), datetime(2026, 3, 3, 20, 59)),
    (datetime(2026, 3, 3, 21, 0), datetime(2026, 3, 4, 9, 0)),    # and start at 21:00
])
def test_next_allowed_skips_quiet_hours(local, expected):
    moment = local.replace(tzinfo=CAIRO).astimezone(UTC)
    assert r.next_allowed(moment, CAIRO, POLICY).astimezone(CAIRO).replace(tzinfo=None) == expected


def test_quiet_hours_within_one_day():
    policy = ReminderPolicy(time(14), time(12), time(13), (2,))
    moment = datetime(2026, 3, 3, 12, 30, tzinfo=UTC)
    assert r.next_allowed(moment, ZoneInfo("UTC"), policy) == datetime(2026, 3, 3, 13, tzinfo=UTC)


NOW = datetime(2026, 3, 13, 8, 0, tzinfo=UTC)  # 10:00 in Cairo


def situation(**changes):
    base = dict(now=NOW, zone=CAIRO, closes_at=datetime(2026, 3, 27, 22, tzinfo=UTC), withdrawn=False,
                opted_out=False, phone="+201001234567", phone_problem=None, completed=False,
                later_attempt_due=False)
    return r.Situation(**{**base, **changes})


@pytest.mark.parametrize("changes,reason", [
    ({"withdrawn": True}, r.WITHDRAWN),
    ({"opted_out": True}, r.OPTED_OUT),
    ({"phone": None}, r.NO_PHONE),
    ({"phone_problem": "Twilio error 21614"}, r.BAD_NUMBER),
    ({"completed": True}, r.COMPLETED),
    ({"closes_at": NOW}, r.WINDOW_CLOSED),
    ({"later_attempt_due": True}, r.SUPERSEDED),
])
def test_decide_cancels(changes, reason):
    assert r.decide(POLICY, situation(**changes)) == r.Decision(r.CANCEL, reason)


def test_decide_sends_when_nothing_stands_in_the_way():
    assert r.decide(POLICY, situation()) == r.Decision(r.SEND)


def test_decide_defers_in_quiet_hours_to_their_end():
    late = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)  # 22:00 in Cairo
    assert r.decide(POLICY, situation(now=late)) == r.Decision(
        r.DEFER, until=datetime(2026, 3, 14, 7, 0, tzinfo=UTC))


def test_decide_cancels_when_quiet_hours_outlast_the_window():
    late = datetime(2026, 3, 13, 20, 0, tzinfo=UTC)
    assert r.decide(POLICY, situation(now=late, closes_at=datetime(2026, 3, 13, 22, tzinfo=UTC))) == r.Decision(
        r.CANCEL, r.WINDOW_CLOSED)
