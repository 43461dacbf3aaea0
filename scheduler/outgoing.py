"""One reminder's message, ready to write and send: its channel and form (scheduler.channels), the
provider's request (sms.gateway.Outgoing) and the row we keep (storage.messages.Outbound).

On WhatsApp, inside the participant's 24-hour window the message goes as free text, the same words
as the SMS; outside it as the approved template of its kind and language, whose one variable is the
link (for the pain question, its reference). The body we keep is the text the template renders to,
with the link's token redacted, as for an SMS: that rendered text is also what the provider lists,
so crash recovery finds the link in it (scheduler.recovery).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from scheduler import channels, links
from scheduler.sms_text import count_segments
from sms import gateway as sms
from sms.whatsapp import LINK_VARIABLE, Templates
from storage import messages
from storage.db import parse_utc


@dataclass(frozen=True)
class WhatsAppSetup:
    """A site's WhatsApp: its approved templates (FLASK_WHATSAPP_TEMPLATES). A dispatcher without
    one sends everything by SMS."""

    templates: Templates = field(default_factory=Templates)


def route_for(participant: dict, reminder: dict, kind: str, whatsapp: WhatsAppSetup | None,
              now: datetime) -> channels.Route:
    """How a reminder goes to a participant (a row of storage.reminders.due_details) at ``now``. A
    reminder forced onto a channel (the SMS that replaces a failed WhatsApp one) keeps it."""
    chosen = reminder.get("channel") or participant["channel"]
    channel = channels.effective_channel(chosen, opted_in=bool(participant["whatsapp_opt_in_at"]),
                                         problem=participant["whatsapp_problem"], available=whatsapp is not None)
    last_inbound = participant.get("whatsapp_last_inbound")
    in_window = channels.in_service_window(parse_utc(last_inbound) if last_inbound else None, now)
    has_template = whatsapp is not None and whatsapp.templates.sid(kind, participant["language"]) is not None
    return channels.route(channel.channel, in_window=in_window, has_template=has_template)


def build(participant: dict, reminder: dict, *, body: str, kind: str, variable: str, token_hash: str | None,
          reference: str | None, whatsapp: WhatsAppSetup | None, gateway: str, status_callback: str | None,
          now: datetime) -> tuple[sms.Outgoing, messages.Outbound]:
    """The provider's request and our in-doubt row for one reminder. ``variable`` is the template's
    one variable: the link's URL, or the question's reference."""
    way = route_for(participant, reminder, kind, whatsapp, now)
    content_sid = whatsapp.templates.sid(kind, participant["language"]) if way.template and whatsapp else None
    outgoing = sms.Outgoing(participant["phone"], body, status_callback, channel=way.channel, content_sid=content_sid,
                            content_variables={LINK_VARIABLE: variable} if content_sid else None)
    segments = count_segments(body) if way.channel == channels.SMS else None
    row = messages.Outbound(participant["id"], reminder["id"], participant["phone"], links.redact(body), token_hash,
                            gateway, segments.count if segments else None, segments.encoding if segments else None,
                            reference, way.channel, content_sid)
    return outgoing, row
