"""Setting up and running the trial: the database, enrollment, links, the randomization list,
staff accounts."""
from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from services import accounts, allocation, enrollment, links, screening, whatsapp
from storage import backup as database_files
from storage import randomization
from storage.db import parse_utc
from scheduler import channels
from web.cli.common import CLI_ACTOR
from web.context import now, patient_url, protocol
from web.database import get_db
from web.reminders import whatsapp_set_up
from web.whatsapp_texts import OPT_IN_WORDING_VERSION

CLI_EXTERNAL_REASON = "entered at the command line"


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database and apply pending migrations (safe to run again).

    Example: flask --app app init-db
    """
    try:
        applied = database_files.initialize(current_app.config["DATABASE"])
    except database_files.DatabaseFileError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Database ready at {current_app.config['DATABASE']} "
               f"({len(applied)} migration(s) applied).")


@click.command("enroll")
@with_appcontext
@click.argument("study_id")
@click.option("--arm", default=None, help="An arm allocated outside the app, e.g. A (fluoroscopy) or B (CT). "
                                          "Leave out to randomize (needs --punctures).")
@click.option("--punctures", type=int, default=None, help="Number of puncture points, 1-6 (the stratum).")
@click.option("--reason", default=None, help="Why the arm was allocated outside the app.")
@click.option("--phone", default=None, help="Mobile number with its country code, e.g. +201001234567, or in the "
                                             "national format of FLASK_DEFAULT_COUNTRY.")
@click.option("--procedure-date", default=None, help="Procedure date, YYYY-MM-DD.")
@click.option("--confirm-date", is_flag=True, help="The procedure date is right although it is far from today.")
@click.option("--criteria-met", is_flag=True, help="Every eligibility criterion of the protocol was checked and met: "
                                                   "recorded with the participant (the staff page asks each one).")
@click.option("--timezone", default=None,
              help="Participant's IANA time zone, e.g. Africa/Cairo (default: FLASK_DEFAULT_TIMEZONE, else UTC).")
@click.option("--language", default=enrollment.DEFAULT_LANGUAGE, show_default=True,
              help="Language of the participant's pages and SMS.")
@click.option("--channel", type=click.Choice(channels.CHANNELS), default=channels.SMS, show_default=True,
              help="Where reminders go: sms, or whatsapp (needs the patient's opt-in: --whatsapp-opt-in, or their "
                   "own first WhatsApp message; until then, SMS).")
@click.option("--whatsapp-opt-in", is_flag=True,
              help=f"The patient agreed in clinic to WhatsApp reminders (opt-in wording version "
                   f"{OPT_IN_WORDING_VERSION}); with --channel whatsapp.")
def enroll_command(study_id, arm, punctures, reason, phone, procedure_date, confirm_date, criteria_met, timezone,
                   language, channel, whatsapp_opt_in) -> None:
    """Enroll a participant, randomized (--punctures) or with an arm allocated outside (--arm),
    and schedule follow-up. Same code path as the staff enrollment page.

    Example: flask --app app enroll P-001 --punctures 2 --phone +201001234567 --procedure-date 2026-12-01 --timezone Africa/Cairo --channel whatsapp --whatsapp-opt-in
    """
    try:
        clean = enrollment.validate_enrollment(
            protocol(), current_app.config["LANGUAGES"], study_id=study_id, arm=arm, phone=phone,
            timezone=timezone or current_app.config["DEFAULT_TIMEZONE"], language=language,
            procedure_date=procedure_date, punctures=punctures, reason=reason or (CLI_EXTERNAL_REASON if arm else None),
            today=now().date(), confirm_date=confirm_date, country=current_app.config["DEFAULT_COUNTRY"],
            eligibility=screening.criteria_met(protocol()) if criteria_met else None, channel=channel,
            whatsapp_opt_in=OPT_IN_WORDING_VERSION if whatsapp_opt_in else None)
        participant = enrollment.enroll(get_db(), protocol(), clean, actor=CLI_ACTOR, now=now())
    except enrollment.EnrollmentError as exc:
        raise click.ClickException("; ".join(_option_name(f) + f": {m}" for f, m in exc.errors.items()))
    how = "randomized to" if clean.arm is None else "enrolled in"
    click.echo(f"{clean.study_id} {how} arm {participant['arm']}.")
    if clean.channel == channels.WHATSAPP:
        why = whatsapp.channel_now(participant, available=whatsapp_set_up(current_app)).why_not_whatsapp
        if why:
            click.echo(f"Note: reminders go by SMS for now: {CHANNEL_REASONS[why]}.", err=True)


def _option_name(field: str) -> str:
    return "STUDY_ID" if field == "study_id" else "--" + field.replace("_", "-")


# Why a participant chosen for WhatsApp is sent SMS, for the command line (English, as its output is).
CHANNEL_REASONS = {
    channels.NOT_SET_UP: "WhatsApp is not set up on this site (FLASK_WHATSAPP_TEMPLATES)",
    channels.NO_OPT_IN: "no WhatsApp opt-in is recorded yet (the patient's own first WhatsApp message records one)",
    channels.NOT_ON_WHATSAPP: "the number is not on WhatsApp",
}


@click.command("link")
@with_appcontext
@click.argument("study_id")
@click.argument("timepoint")
def link_command(study_id: str, timepoint: str) -> None:
    """Print a new patient link for one participant's timepoint.

    Example: flask --app app link P-001 month1
    """
    if protocol().timepoint(timepoint) is None:
        raise click.ClickException(
            f"unknown timepoint {timepoint!r} (known: {', '.join(protocol().timepoint_ids)})")
    try:
        token, window = links.issue_link(get_db(), study_id, timepoint, actor=CLI_ACTOR, now=now())
    except links.LinkError as exc:
        raise click.ClickException(str(exc))
    if now() < parse_utc(window["opens_at"]):
        click.echo(f"Note: this link opens at {window['opens_at']} (UTC).", err=True)
    click.echo(patient_url(token))


users_cli = AppGroup("users", help="Staff accounts.")


@users_cli.command("create")
@click.argument("email")
@click.option("--role", required=True, type=click.Choice(accounts.ROLES), help="nurse, investigator or admin.")
def users_create_command(email: str, role: str) -> None:
    """Create a staff account. The password is asked for (or read from stdin), never an argument.

    Example: flask --app app users create nurse@hospital.example --role nurse
    """
    if sys.stdin.isatty():
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        accounts.create_user(get_db(), email=email, password=password, role=role, actor=CLI_ACTOR, now=now())
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"Created {email.strip().lower()} ({role}).")


randomization_cli = AppGroup("randomization", help="The concealed stratified randomization list.")


@randomization_cli.command("generate")
@click.option("--seed", type=int, default=None, help="Seed to record (default: a random 63-bit seed).")
@click.option("--per-stratum", type=click.IntRange(1, 100_000), default=allocation.DEFAULT_PER_STRATUM,
              show_default=True, help="Allocations per stratum (whole blocks, so a few more).")
def randomization_generate_command(seed: int | None, per_stratum: int) -> None:
    """Generate the allocation list up front (blocks of 2 or 4 within strata 1-2, 3-4, 5-6 punctures).

    Prints the seed to keep with the trial master file; the list itself is never shown.
    Example: flask --app app randomization generate --per-stratum 500
    """
    list_id, used_seed = allocation.generate_list(get_db(), seed=seed, per_stratum=per_stratum,
                                                  actor=CLI_ACTOR, now=now())
    click.echo(f"Randomization list {list_id} generated with seed {used_seed}.")


@randomization_cli.command("status")
def randomization_status_command() -> None:
    """How many allocations each stratum has used and has left (never which arm comes next).

    Example: flask --app app randomization status
    """
    counts = randomization.remaining(get_db())
    if not counts:
        raise click.ClickException("no randomization list: run `flask --app app randomization generate`")
    for stratum, row in counts.items():
        click.echo(f"stratum {stratum}: {row['used']} used, {row['unused']} left")



COMMANDS = (init_db_command, enroll_command, link_command, users_cli, randomization_cli)
