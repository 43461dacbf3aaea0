"""The demo trial: a database, staff accounts and 200 synthetic participants to try the app with."""
from __future__ import annotations

from datetime import date

import click
from flask import current_app
from flask.cli import with_appcontext

from services import demo
from storage import init_db
from web.cli.common import CLI_ACTOR
from web.context import now, patient_url, protocol
from web.database import get_db
from web.reminders import compose_body, gateway


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the demo trial (200 synthetic participants half-way through follow-up, staff
    accounts) and print the staff address and three patient links to try.

    Running it again changes nothing but the links; a database holding another trial is refused.

    Example: flask --app app demo
    """
    try:
        sends_for_real = gateway(current_app).name != "console"
    except ValueError:   # a Twilio set-up that is incomplete: not the console either
        sends_for_real = True
    if sends_for_real:
        # The demo's phone numbers look real and may be someone's: its reminders must not leave.
        raise click.ClickException("the demo sends its reminders to made-up numbers: run it with the console "
                                   "SMS gateway (FLASK_SMS_GATEWAY=console, or no TWILIO_ACCOUNT_SID)")
    init_db(current_app.config["DATABASE"])
    db = get_db()
    texts = demo.Texts(compose=compose_body, link_url=patient_url)
    try:
        summary = demo.seed(db, protocol(), current_app.config["LANGUAGES"], texts, actor=CLI_ACTOR,
                              now=now())
    except demo.DemoError as exc:
        raise click.ClickException(f"{current_app.config['DATABASE']}: {exc}") from None
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo(f"Staff pages: {base}/staff/ (password {demo.PASSWORD} for each of: "
               + ", ".join(email for email, _ in demo.STAFF) + ")")
    arms = ", ".join(f"{count} in arm {arm}" for arm, count in summary.per_arm.items())
    click.echo(f"Demo trial: {sum(summary.per_arm.values())} participants ({arms}), {summary.answers} answers stored"
               f" ({summary.enrolled} enrolled by this run).")
    click.echo("Open a link on a phone (or a narrow browser window):")
    today = demo.local_today(now())
    for link in demo.issue_links(db, actor=CLI_ACTOR, now=now()):
        label = protocol().timepoint(link.timepoint).label
        where = f"{link.study_id} ({label}, procedure {_describe(link.procedure_date, today)})"
        click.echo(f"  {where}: {patient_url(link.token) if link.token else link.problem}")


def _describe(procedure: date, today: date) -> str:
    return "today" if procedure == today else procedure.isoformat()


COMMANDS = (demo_command,)
