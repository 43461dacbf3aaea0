"""Command-line interface: thin wrappers over the services, errors turned into messages.

The database is FLASK_DATABASE (default: instance/spine-pro.sqlite3).
"""
from __future__ import annotations

import json
import sys
from pathlib import Path
from datetime import date, datetime, timedelta, timezone

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from reports import export, importer
from services import accounts, allocation, enrollment, links
from services import dataset as dataset_service
from storage import init_db, messages, randomization
from storage.db import parse_utc
from web.context import now, patient_url, protocol
from web import reminders
from web.database import get_db

CLI_ACTOR = "cli"
CLI_EXTERNAL_REASON = "entered at the command line"


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database and apply pending migrations (safe to run again).

    Example: flask --app app init-db
    """
    applied = init_db(current_app.config["DATABASE"])
    click.echo(f"Database ready at {current_app.config['DATABASE']} "
               f"({len(applied)} migration(s) applied).")


@click.command("enroll")
@with_appcontext
@click.argument("study_id")
@click.option("--arm", default=None, help="An arm allocated outside the app, e.g. A (fluoroscopy) or B (CT). "
                                          "Leave out to randomize (needs --punctures).")
@click.option("--punctures", type=int, default=None, help="Number of puncture points, 1-6 (the stratum).")
@click.option("--reason", default=None, help="Why the arm was allocated outside the app.")
@click.option("--phone", default=None, help="Mobile number in E.164, e.g. +201001234567.")
@click.option("--procedure-date", default=None, help="Procedure date, YYYY-MM-DD.")
@click.option("--confirm-date", is_flag=True, help="The procedure date is right although it is far from today.")
@click.option("--timezone", default=enrollment.DEFAULT_TIMEZONE, show_default=True,
              help="Participant's IANA time zone, e.g. Africa/Cairo.")
@click.option("--language", default=enrollment.DEFAULT_LANGUAGE, show_default=True,
              help="Language of the participant's pages and SMS.")
def enroll_command(study_id, arm, punctures, reason, phone, procedure_date, confirm_date, timezone, language) -> None:
    """Enroll a participant, randomized (--punctures) or with an arm allocated outside (--arm),
    and schedule follow-up. Same code path as the staff enrollment page.

    Example: flask --app app enroll P-001 --punctures 2 --phone +201001234567 --procedure-date 2026-12-01 --timezone Africa/Cairo
    """
    try:
        clean = enrollment.validate_enrollment(
            protocol(), current_app.config["LANGUAGES"], study_id=study_id, arm=arm, phone=phone,
            timezone=timezone, language=language, procedure_date=procedure_date, punctures=punctures,
            reason=reason or (CLI_EXTERNAL_REASON if arm else None), today=now().date(),
            confirm_date=confirm_date)
        participant = enrollment.enroll(get_db(), protocol(), clean, actor=CLI_ACTOR, now=now())
    except enrollment.EnrollmentError as exc:
        raise click.ClickException("; ".join(_option_name(f) + f": {m}" for f, m in exc.errors.items()))
    how = "randomized to" if clean.arm is None else "enrolled in"
    click.echo(f"{clean.study_id} {how} arm {participant['arm']}.")


def _option_name(field: str) -> str:
    return "STUDY_ID" if field == "study_id" else "--" + field.replace("_", "-")


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


reminders_cli = AppGroup("reminders", help="SMS reminders of due follow-up questionnaires.")


@reminders_cli.command("send-due")
@click.option("--now", "at", default=None, help="Run as if it were this instant (ISO 8601 with offset); "
                                                 "for demos and tests. Default: the current time.")
def send_due_command(at: str | None) -> None:
    """Run one reminder pass: send every reminder that is due, once.

    Safe to run from cron beside the scheduler process: reminders are claimed atomically.
    Example: flask --app app reminders send-due --now 2026-12-02T10:00:00+00:00
    """
    moment = _parse_instant(at) if at else now()
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
    try:
        reminders.gateway(app)
    except ValueError as exc:
        raise click.ClickException(str(exc))

    def tick() -> None:
        with app.app_context():
            counts = reminders.send_due(now())
            if counts:
                click.echo(f"{now().isoformat(timespec='seconds')} " +
                           ", ".join(f"{key} {value}" for key, value in sorted(counts.items())))

    click.echo("Scheduler started: a reminder pass every minute (Ctrl-C to stop).")
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
                   f"{row['sid'] or ''}\n    {row['body']}")


@click.command("report")
@with_appcontext
@click.option("--format", "kind", type=click.Choice(["json", "html"]), default="json", show_default=True,
              help="JSON (the contract for scripts) or an HTML document for print.")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Write to this file instead of standard output.")
def report_command(kind: str, output: str | None) -> None:
    """The per-arm comparison report (Tables 3, 5, 6 and Fig. 4 of the reference trial).

    Example: flask --app app report --format html --output report.html
    """
    from web import report as report_view  # numpy, scipy and statsmodels load only for a report

    data, observations = report_view.build()
    text = report_view.as_json(data) if kind == "json" else report_view.as_html(data, observations)
    if output:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
        click.echo(f"Report written to {output}.", err=True)
    else:
        click.echo(text)


dataset_cli = AppGroup("dataset", help="The scored dataset: export it, import paper-collected data.")


@dataset_cli.command("export")
@click.option("--format", "fmt", type=click.Choice(export.FORMATS), required=True,
              help="csv (long: a row per participant per timepoint), wide-csv, xlsx (with codebook) or sav (SPSS).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True, help="The file to write.")
@click.option("--identifiable", is_flag=True, help="Add phone, dates and free text (audited; admins only).")
@click.option("--codebook", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the codebook, as CSV or HTML by the file's extension.")
def dataset_export_command(fmt: str, output: str, identifiable: bool, codebook: str | None) -> None:
    """Export the scored dataset; pseudonymized unless --identifiable. Every export is audited.

    Example: flask --app app dataset export --format csv --output scored.csv --codebook codebook.html
    """
    rows = dataset_service.export_dataset(get_db(), protocol(), fmt, Path(output), actor=CLI_ACTOR, now=now(),
                                          identifiable=identifiable)
    if codebook:
        export.write_file(get_db(), protocol(), "codebook-html" if codebook.endswith(".html") else "codebook-csv",
                          Path(codebook), identifiable)
    click.echo(f"{rows} rows written to {output}.")


@dataset_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def dataset_import_command(file: str) -> None:
    """Import paper-collected answers from a long CSV (the export's layout), all or nothing.

    Creates participants not yet enrolled (no phone or procedure date: no reminders), stores the
    answers with source=paper and recomputes every derived score. Every problem is listed with
    its row and column, and then nothing is imported.
    Example: flask --app app dataset import paper-forms.csv
    """
    data = Path(file).read_bytes()
    try:
        counts = dataset_service.import_dataset(get_db(), protocol(), data, actor=CLI_ACTOR, now=now())
    except importer.ImportError_ as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in {file}: nothing was imported.")
    click.echo(f"Imported {file}: {counts['participants_created']} participant(s) created, "
               f"{counts['answers_stored']} answer(s) stored, {counts['answers_unchanged']} already there.")


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


def _parse_instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not an ISO 8601 instant, e.g. 2026-12-02T10:00:00+00:00",
                                 param_hint="--now") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the offset too, e.g. 2026-12-02T10:00:00+00:00", param_hint="--now")
    return moment.astimezone(timezone.utc)


def init_app(app: Flask) -> None:
    for command in (init_db_command, enroll_command, link_command, demo_command, reminders_cli,
                    scheduler_command, messages_cli, users_cli, randomization_cli, report_command, dataset_cli):
        app.cli.add_command(command)
