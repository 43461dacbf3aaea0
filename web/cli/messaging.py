"""Reminders and SMS: one pass, the scheduler process, and the message log."""
from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from services.free_text import printable
from storage import messages
from web import log_format, reminders
from web.cli.common import parse_instant
from web.context import now
from web.database import get_db

reminders_cli = AppGroup("reminders", help="SMS reminders of due follow-up questionnaires.")


@reminders_cli.command("send-due")
@click.option("--now", "at", default=None, help="Run as if it were this instant (ISO 8601 with offset); "
                                                 "for demos and tests. Default: the current time.")
def send_due_command(at: str | None) -> None:
    """Run one reminder pass: send every reminder that is due, once.

    Safe to run from cron beside the scheduler process: reminders are claimed atomically.
    Example: flask --app app reminders send-due --now 2026-12-02T10:00:00+00:00
    """
    moment = parse_instant(at, "--now") if at else now()
    try:
        reminders.gateway(current_app)
    except ValueError as exc:  # FLASK_SMS_GATEWAY or TWILIO_* misconfigured
        raise click.ClickException(str(exc))
    counts = reminders.send_due(moment)
    summary = ", ".join(f"{key} {value}" for key, value in sorted(counts.items())) or "nothing due"
    click.echo(f"Reminder pass at {moment.isoformat(timespec='seconds')}: {summary}.")


@click.command("scheduler")
@with_appcontext
def scheduler_command() -> None:
    """Run the scheduler process: one reminder pass every minute until stopped.

    Run exactly one of these per deployment, never inside web workers.
    Example: flask --app app scheduler
    """
    from scheduler import runner

    app = current_app._get_current_object()
    # With FLASK_LOG_JSON its lines are log records (JSON lines) like the rest; else printed as ever.
    say = logging.getLogger(__name__).info if log_format.enabled() else click.echo
    try:
        reminders.gateway(app)
    except ValueError as exc:
        raise click.ClickException(str(exc))

    def tick() -> None:
        with app.app_context():
            counts = reminders.send_due(now())
            if counts:
                say(f"{now().isoformat(timespec='seconds')} " +
                    ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))

    say("Scheduler started: a reminder pass every minute (Ctrl-C to stop).")
    runner.run(tick)


messages_cli = AppGroup("messages", help="SMS sent and received.")


@messages_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of objects.")
def messages_list_command(as_json: bool) -> None:
    """List every SMS, oldest first. Link tokens in bodies are shown as <token>.

    Example: flask --app app messages list --json
    """
    rows = messages.listing(get_db())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        who = row["to"] if row["direction"] == "outbound" else row["from"]
        click.echo(f"{row['created_at']}  {row['direction']:<8} {row['study_id'] or '-':<10} "
                   f"{row['timepoint'] or '-':<8} #{row['attempt'] or '-'}  {who}  {row['status']:<11} "
                   f"{row['sid'] or ''}\n    {printable(row['body'])}")



COMMANDS = (reminders_cli, scheduler_command, messages_cli)
