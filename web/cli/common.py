"""What every command shares: who acts, and reading an instant from the command line."""
from __future__ import annotations

from datetime import datetime, timezone

import click

CLI_ACTOR = "cli"


def parse_instant(text: str, option: str) -> datetime:
    """An aware ISO 8601 instant, in UTC; a usage error naming ``option`` otherwise."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 instant, e.g. 2026-12-02T10:00:00+00:00",
                                 param_hint=option) from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset too, e.g. 2026-12-02T10:00:00+00:00", param_hint=option)
    return moment.astimezone(timezone.utc)
