"""Which channel a message goes on, SMS or WhatsApp, and in which form. Pure: takes ``now``.

The one home of these rules (the dispatcher, the staff pages and the webhooks come here):

* ``effective_channel``: a participant chosen for WhatsApp gets WhatsApp only with a recorded
  opt-in, on a site where WhatsApp is set up, while their number is not flagged as unknown to
  WhatsApp; otherwise SMS, with the reason (the participant page shows it).
* ``in_service_window``: WhatsApp's customer-service window is the 24 hours after the
  participant's newest inbound WhatsApp message. It is a duration, not a calendar day: a DST change
  in the participant's zone neither lengthens nor shortens it.
* ``route``: inside the window a WhatsApp message may be free text; outside it only an approved
  template may go (Meta's rule; Twilio refuses anything else with 63016). Without a template for
  that kind of message and language, the message goes by SMS instead.
* ``falls_back``: a WhatsApp reminder the provider refuses, or cannot deliver, is sent once by
  SMS; not when SMS may not go either (the number opted out: STOP holds on both channels; or it
  cannot take SMS), nor for a rate limit or an outage (those are retried as on SMS).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

SMS = "sms"
WHATSAPP = "whatsapp"
CHANNELS = (SMS, WHATSAPP)

# Meta's customer service window: "24 hours from the last message the user sent"
# (developers.facebook.com/docs/whatsapp/pricing, "Customer service windows"); Twilio error 63016
# is what a free-form message outside it gets.
SERVICE_WINDOW = timedelta(hours=24)

# Who recorded a WhatsApp opt-in: staff in clinic, or the patient's own first WhatsApp message.
CLINIC = "clinic"
PATIENT_MESSAGE = "patient_message"
OPT_IN_SOURCES = (CLINIC, PATIENT_MESSAGE)

# The kinds of message a template exists for: the reminder with its link, and the pain question
# of answers by SMS reply (scheduler.reminders.sms_question_at).
REMINDER = "reminder"
QUESTION = "question"
TEMPLATE_KINDS = (REMINDER, QUESTION)

# Why a participant chosen for WhatsApp is sent SMS (participant page, board).
NOT_SET_UP = "whatsapp_not_set_up"
NO_OPT_IN = "no_whatsapp_opt_in"
NOT_ON_WHATSAPP = "not_on_whatsapp"


def in_service_window(last_inbound_at: datetime | None, now: datetime) -> bool:
    """Whether free text may go on WhatsApp at ``now``: less than 24 hours since the participant's
    newest inbound WhatsApp message (aware datetimes, in any zone).

    Both are read in UTC first: Python adds a timedelta to an aware datetime on its wall clock, and
    compares two datetimes of one zone by their wall clocks, so in a zone with DST "24 hours later"
    would be a day later on the clock, an hour off on the day the clocks change."""
    if last_inbound_at is None:
        return False
    last, at = last_inbound_at.astimezone(timezone.utc), now.astimezone(timezone.utc)
    return last <= at < last + SERVICE_WINDOW


@dataclass(frozen=True)
class Channel:
    channel: str
    why_not_whatsapp: str | None = None   # for a participant chosen for WhatsApp and sent SMS


def effective_channel(chosen: str, *, opted_in: bool, problem: str | None, available: bool) -> Channel:
    """The channel a participant's messages go on now, and why not WhatsApp where they chose it."""
    if chosen != WHATSAPP:
        return Channel(SMS)
    for reason, applies in ((NOT_SET_UP, not available), (NOT_ON_WHATSAPP, bool(problem)),
                            (NO_OPT_IN, not opted_in)):
        if applies:
            return Channel(SMS, reason)
    return Channel(WHATSAPP)


@dataclass(frozen=True)
class Route:
    channel: str
    template: bool = False    # WhatsApp only: sent as the approved template, not as free text


def route(channel: str, *, in_window: bool, has_template: bool) -> Route:
    """How one message goes, on the channel ``effective_channel`` chose."""
    if channel != WHATSAPP:
        return Route(SMS)
    if in_window:
        return Route(WHATSAPP)
    if has_template:
        return Route(WHATSAPP, template=True)
    return Route(SMS)


def falls_back(channel: str, *, failed: bool, retried: bool, sms_allowed: bool) -> bool:
    """Whether a message is sent again by SMS: a WhatsApp message the provider refused or could not
    deliver (``failed``), unless it is retried anyway (a rate limit, an outage) or SMS may not go
    to the number either (it opted out, or cannot take SMS)."""
    return channel == WHATSAPP and failed and not retried and sms_allowed
