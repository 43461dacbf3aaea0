"""The channel rules (scheduler.channels): WhatsApp's 24-hour window at its edges, in the
participant's zone and across DST changes; which channel a participant gets; how a message goes;
when a failed WhatsApp message falls back to SMS."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from scheduler import channels
from scheduler.channels import SMS, WHATSAPP, Channel, Route, effective_channel, falls_back, in_service_window, route

CAIRO = ZoneInfo("Africa/Cairo")      # DST from Friday 24 April 2026 (00:00 -> 01:00) to 30 October
LONDON = ZoneInfo("Europe/London")    # DST from Sunday 29 March 2026 (01:00 -> 02:00) to 25 October
MINUTE = timedelta(minutes=1)


@pytest.mark.parametrize("last", [
    datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc),
    datetime(2026, 3, 2, 14, 0, tzinfo=CAIRO),
], ids=["utc", "cairo"])
def test_the_window_is_open_at_23_59_and_shut_at_24_00_and_24_01(last):
    assert in_service_window(last, last) is True
    assert in_service_window(last, last + timedelta(hours=23, minutes=59)) is True
    assert in_service_window(last, last + timedelta(hours=24) - timedelta(microseconds=1)) is True
    assert in_service_window(last, last + timedelta(hours=24)) is False
    assert in_service_window(last, last + timedelta(hours=24, minutes=1)) is False


def test_no_inbound_message_no_window_and_a_message_from_the_future_opens_none():
    now = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
    assert in_service_window(None, now) is False
    assert in_service_window(now + MINUTE, now) is False


@pytest.mark.parametrize("zone, last_local, hours_on_the_clock", [
    # Cairo springs forward in the night of 23-24 April: 24 real hours after 12:00 on the 23rd is
    # 13:00 on the 24th by the clock.
    (CAIRO, datetime(2026, 4, 23, 12, 0), 25),
    # ... and falls back in the night of 29-30 October: 24 real hours are 23 on the clock.
    (CAIRO, datetime(2026, 10, 29, 12, 0), 23),
    (LONDON, datetime(2026, 3, 28, 18, 30), 25),
    (LONDON, datetime(2026, 10, 24, 18, 30), 23),
], ids=["cairo-spring", "cairo-autumn", "london-spring", "london-autumn"])
def test_across_a_dst_change_the_window_is_24_real_hours_not_a_day_on_the_clock(zone, last_local, hours_on_the_clock):
    last = last_local.replace(tzinfo=zone)
    # The clock in the participant's zone: the edge falls at `hours_on_the_clock` after the message.
    edge_on_the_clock = (last_local + timedelta(hours=hours_on_the_clock)).replace(tzinfo=zone)
    assert edge_on_the_clock.astimezone(timezone.utc) - last.astimezone(timezone.utc) == timedelta(hours=24)
    assert in_service_window(last, edge_on_the_clock - MINUTE) is True     # 23:59 after, in real time
    assert in_service_window(last, edge_on_the_clock + MINUTE) is False    # 24:01 after
    # Read in UTC, or any other zone, the answer is the same.
    for now in (edge_on_the_clock - MINUTE, edge_on_the_clock + MINUTE):
        assert in_service_window(last.astimezone(timezone.utc), now.astimezone(timezone.utc)) == \
            in_service_window(last, now)
    # The same wall-clock time a day later is not the edge when the clocks changed in between.
    a_day_later = (last_local + timedelta(days=1)).replace(tzinfo=zone)
    assert in_service_window(last, a_day_later) is (hours_on_the_clock > 24)


@pytest.mark.parametrize("chosen, opted_in, problem, available, expected", [
    (SMS, True, None, True, Channel(SMS)),
    (WHATSAPP, True, None, True, Channel(WHATSAPP)),
    (WHATSAPP, False, None, True, Channel(SMS, channels.NO_OPT_IN)),
    (WHATSAPP, True, "Twilio error 63003", True, Channel(SMS, channels.NOT_ON_WHATSAPP)),
    (WHATSAPP, True, None, False, Channel(SMS, channels.NOT_SET_UP)),
    (WHATSAPP, False, "Twilio error 63003", False, Channel(SMS, channels.NOT_SET_UP)),
])
def test_whatsapp_needs_an_opt_in_a_site_set_up_and_a_number_on_whatsapp(chosen, opted_in, problem, available,
                                                                         expected):
    assert effective_channel(chosen, opted_in=opted_in, problem=problem, available=available) == expected


@pytest.mark.parametrize("channel, in_window, has_template, expected", [
    (SMS, True, True, Route(SMS)),
    (WHATSAPP, True, False, Route(WHATSAPP)),
    (WHATSAPP, True, True, Route(WHATSAPP)),
    (WHATSAPP, False, True, Route(WHATSAPP, template=True)),
    (WHATSAPP, False, False, Route(SMS)),
])
def test_free_text_inside_the_window_a_template_outside_else_sms(channel, in_window, has_template, expected):
    assert route(channel, in_window=in_window, has_template=has_template) == expected


@pytest.mark.parametrize("channel, failed, retried, sms_allowed, expected", [
    (WHATSAPP, True, False, True, True),
    (WHATSAPP, True, True, True, False),      # a rate limit or an outage: retried, not replaced
    (WHATSAPP, True, False, False, False),    # STOP, or a number that cannot take SMS
    (WHATSAPP, False, False, True, False),
    (SMS, True, False, True, False),          # an SMS never falls back to SMS
])
def test_only_a_failed_whatsapp_message_falls_back_and_only_where_sms_may_go(channel, failed, retried, sms_allowed,
                                                                           expected):
    assert falls_back(channel, failed=failed, retried=retried, sms_allowed=sms_allowed) is expected


def test_the_pure_rules_and_the_database_name_the_same_channels():
    from storage import channels as stored

    assert channels.CHANNELS == stored.CHANNELS
