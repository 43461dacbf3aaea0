"""The report and the scored dataset: export, and import of paper-collected data."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup, with_appcontext

from reports import export, importer, standards
from services import crf_import
from services import dataset as dataset_service
from web.cli.common import CLI_ACTOR
from web.context import now, protocol
from web.database import get_db


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
@click.option("--format", "fmt", type=click.Choice(export.FORMATS + standards.FORMATS), required=True,
              help="csv (long: a row per participant per timepoint), wide-csv, xlsx (with codebook), sav (SPSS), "
                   "events-csv; the standards: odm (CDISC ODM 1.3.2 XML), sdtm-qs (SDTM QS, SAS transport v5 .xpt), "
                   "sdtm-qs-csv (the same QS records as CSV), fhir (FHIR R4 Bundle, JSON).")
@click.option("--output", type=click.Path(dir_okay=False, writable=True), required=True, help="The file to write.")
@click.option("--identifiable", is_flag=True,
              help="Add phone, dates and free text (audited; admins only). odm: also the audit trail; fhir: a "
                   "Patient per participant; sdtm-qs has no identifiable form.")
@click.option("--codebook", type=click.Path(dir_okay=False, writable=True), default=None,
              help="Also write the codebook, as CSV or HTML by the file's extension (for odm, sdtm-qs and fhir: the "
                   "standards codebook, each column's codes and their sources).")
def dataset_export_command(fmt: str, output: str, identifiable: bool, codebook: str | None) -> None:
    """Export the scored dataset; pseudonymized unless --identifiable. Every export is audited.

    Example: flask --app app dataset export --format csv --output scored.csv --codebook codebook.html
    Example: flask --app app dataset export --format sdtm-qs --output qs.xpt --codebook qs-codebook.html
    """
    try:
        rows = dataset_service.export_dataset(get_db(), protocol(), fmt, Path(output), actor=CLI_ACTOR, now=now(),
                                              identifiable=identifiable)
        html = codebook is not None and codebook.endswith(".html")
        if codebook and fmt in standards.FORMATS:
            standards.write_file(get_db(), protocol(), "standards-codebook-html" if html else "standards-codebook-csv",
                                 Path(codebook), now=now())
        elif codebook:
            export.write_file(get_db(), protocol(), "codebook-html" if html else "codebook-csv", Path(codebook),
                              identifiable)
    except ValueError as exc:
        raise click.ClickException(f"{exc}. Nothing was written.")
    except OSError as exc:
        raise click.ClickException(f"cannot write {exc.filename or output}: {exc.strerror or exc}")
    click.echo(f"{rows} {standards.COUNTED.get(fmt, 'rows')} written to {output}.")


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



crf_cli = AppGroup("crf", help="Clinician data (baseline and procedure records, adverse events) from paper.")


def _import(file: str, run) -> dict:
    try:
        return run(Path(file).read_bytes())
    except importer.ImportError_ as exc:
        for problem in exc.problems:
            click.echo(str(problem), err=True)
        raise click.ClickException(f"{len(exc.problems)} problem(s) in {file}: nothing was imported.")


@crf_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def crf_import_command(file: str) -> None:
    """Import baseline and procedure records, one row per participant, all or nothing.

    Columns, first and in this order: study_id, arm, age, sex, root_l3, root_l4, root_l5, punctures,
    si_side, modality, operative_min, dap_mgycm2, ctdivol_mgy, dlp_mgycm, contrast_extravasation,
    complication. A blank cell is missing. Participants not yet enrolled are created.
    Example: flask --app app crf import clinician-forms.csv
    """
    counts = _import(file, lambda data: crf_import.import_records(get_db(), protocol(), data, actor=CLI_ACTOR,
                                                                   now=now()))
    click.echo(f"Imported {file}: {counts['participants_created']} participant(s) created, "
               f"{counts['records_stored']} record(s) stored, {counts['records_unchanged']} already there, "
               f"{counts['events_stored']} complication(s) stored.")


@crf_cli.command("import-events")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
def crf_import_events_command(file: str) -> None:
    """Import adverse events, one per row (study_id, event, onset_date, grade, serious, related), all or nothing.

    Example: flask --app app crf import-events adverse-events.csv
    """
    counts = _import(file, lambda data: crf_import.import_events(get_db(), data, actor=CLI_ACTOR, now=now()))
    click.echo(f"Imported {file}: {counts['events_stored']} event(s) stored, "
               f"{counts['events_unchanged']} already there.")


COMMANDS = (report_command, dataset_cli, crf_cli)
