"""The demo trial: a database, staff accounts and participants to try the app with."""
from __future__ import annotations

from datetime import date, timedelta

import click
from flask import current_app
from flask.cli import with_appcontext

from services import accounts, allocation, enrollment, links
from storage import init_db, randomization
from web.cli.common import CLI_ACTOR
from web.context import now, patient_url, protocol
from web.database import get_db

# Phone numbers from the ranges regulators reserve for drama and testing (UK Ofcom 07700
# 900xxx is refused by libphonenumber as unassigned, so a US 555-01xx number is used).
DEMO_PARTICIPANTS = (
    # (study id, puncture points, phone, procedure date relative to today in days, timepoints to print links for)
    ("DEMO-001", 2, "+12025550101", 0, ("baseline",)),
    ("DEMO-002", 3, "+12025550102", -1, ("day1",)),
    ("DEMO-003", 5, "+12025550103", -30, ("month1",)),
)
# Demo staff accounts; their passwords are printed by `demo` (never do this in a real trial).
DEMO_STAFF = (("nurse@demo.example", "nurse"), ("investigator@demo.example", "investigator"),
              ("admin@demo.example", "admin"))
DEMO_PASSWORD = "demo-password-123"
DEMO_SEED = 20260302


@click.command("demo")
@with_appcontext
def demo_command() -> None:
    """Create the database, enroll a few demo participants and print their links.

    Running it again enrolls nobody twice and prints fresh links.
    Example: flask --app app demo
    """
    init_db(current_app.config["DATABASE"])
    db = get_db()
    if not randomization.has_list(db):
        allocation.generate_list(db, seed=DEMO_SEED, per_stratum=100, actor=CLI_ACTOR, now=now())
    base = current_app.config["BASE_URL"].rstrip("/")
    click.echo(f"Staff pages: {base}/staff/ (password {DEMO_PASSWORD} for each of: "
               + ", ".join(email for email, _ in DEMO_STAFF) + ")")
    for email, role in DEMO_STAFF:
        try:
            accounts.create_user(db, email=email, password=DEMO_PASSWORD, role=role, actor=CLI_ACTOR, now=now())
        except accounts.AccountError:
            pass  # created by an earlier run
    today = now().date()
    click.echo("Demo trial: open a link on a phone (or a narrow browser window).")
    for study_id, punctures, phone, days, timepoints in DEMO_PARTICIPANTS:
        procedure = today + timedelta(days=days)
        try:
            clean = enrollment.validate_enrollment(
                protocol(), current_app.config["LANGUAGES"], study_id=study_id, arm=None, punctures=punctures,
                phone=phone, timezone="UTC", language="en", procedure_date=procedure)
            enrollment.enroll(get_db(), protocol(), clean, actor=CLI_ACTOR, now=now())
        except enrollment.EnrollmentError as exc:
            if "already enrolled" not in exc.errors.get("study_id", ""):
                raise click.ClickException(str(exc))
        for timepoint in timepoints:
            try:
                token, _ = links.issue_link(get_db(), study_id, timepoint, actor=CLI_ACTOR, now=now())
            except links.LinkError as exc:
                click.echo(f"  {study_id} {timepoint}: {exc}")
                continue
            click.echo(f"  {study_id} ({timepoint}, procedure {_describe(procedure, today)}): {patient_url(token)}")


def _describe(procedure: date, today: date) -> str:
    return "today" if procedure == today else procedure.isoformat()



COMMANDS = (demo_command,)
