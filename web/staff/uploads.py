"""Paper data imported from the browser (investigators): the page takes a CSV, lists its problems
by row and column as the command line does, or shows what its import would create, and imports it
only when confirmed (services.import_upload: the command line's checks and import, all or nothing).

One address. GET: the upload form, or with ?upload=ID the preview of that upload. POST: a file to
check (then the preview, after a redirect), or, with action=import, the confirm of a checked one.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from reports.importer import ImportError_
from services import import_upload
from web.auth.access import REPORTS, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.staff.blueprint import actor, bp

# The largest file taken (FLASK_IMPORT_MAX_BYTES); the request may be this much larger for the
# rest of the form (its CSRF token, its kind, the multipart headers). A larger request is refused
# before it is read: the 413 page (web/errors.py).
IMPORT_MAX_BYTES = 10 * 1024 * 1024
FORM_OVERHEAD = 64 * 1024
STAGING_FOLDER = "import-staging"     # beside the database unless FLASK_IMPORT_STAGING names one
# The problems a page lists; a file with more says how many more (fix these, and upload it again).
LISTED_PROBLEMS = 500

KINDS = {
    "answers": _("Patients' paper forms: the long CSV, a row per participant per timepoint"),
    "records": _("Clinician records: baseline and procedure, a row per participant"),
    "events": _("Adverse events, one per row"),
}
FORM_NAMES = {"vas": _("Pain (VAS)"), "odi": _("Disability (ODI)"), "satisfaction": _("Satisfaction"),
              "medication": _("Medication"), "baseline": _("Baseline characteristics"),
              "procedure": _("Procedure record"), "adverse_event": _("Adverse event")}
REFUSALS = {
    import_upload.UNKNOWN: (410, _("This upload is not waiting to be imported (it may have expired). Nothing "
                                   "was imported: please upload the file again.")),
    import_upload.EXPIRED: (410, _("This upload waited too long and has expired. Nothing was imported: please "
                                   "upload the file again.")),
    import_upload.NOT_YOURS: (403, _("This upload was made by another user, or before you last signed out. "
                                     "Nothing was imported: please upload the file yourself.")),
    import_upload.CHANGED: (409, _("This is not the file that was checked. Nothing was imported: please upload "
                                   "the file again.")),
    import_upload.ALREADY_IMPORTED: (409, _("This file has already been imported. Nothing more was imported.")),
}


class UploadForm(FlaskForm):
    kind = RadioField(_("What the file holds"), choices=[SelectChoice(kind, label) for kind, label in KINDS.items()],
                      default="answers", validate_choice=False)
    file = FileField(_("CSV file"), validators=[FileRequired(_("Choose a CSV file to upload."))],
                     render_kw={"accept": ".csv,text/csv"})


class ConfirmForm(FlaskForm):
    """The upload to import, and the SHA-256 of the file its preview showed."""

    upload = HiddenField(validators=[DataRequired(), Length(max=64)])
    sha256 = HiddenField(validators=[DataRequired(), Length(max=64)])


def max_bytes() -> int:
    return int(current_app.config.get("IMPORT_MAX_BYTES", IMPORT_MAX_BYTES))


def staging_folder() -> Path:
    """Where checked files wait: FLASK_IMPORT_STAGING, or a folder beside the database (the
    instance folder by default), which the database's own journal needs writable anyway."""
    configured = current_app.config.get("IMPORT_STAGING")
    return Path(configured) if configured else Path(current_app.config["DATABASE"]).parent / STAGING_FOLDER


def size_text(size: int) -> str:
    """10485760 -> "10 MB"; 1500 -> "1.5 KB"."""
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if size >= scale:
            return f"{size / scale:.1f}".removesuffix(".0") + " " + unit
    return gettext("%(count)s bytes", count=size)


@bp.url_value_preprocessor
def _upload_limit(endpoint, _values):
    # Before any before_request function: CSRFProtect's reads the body, with the app's own limit.
    if endpoint == "staff.dataset_import_post":
        request.max_content_length = max_bytes() + FORM_OVERHEAD


def _upload_page(status: int = 200, *, form: UploadForm | None = None, errors: dict | None = None,
                 problems: list | None = None, refusal: str | None = None):
    return render_template("staff/import.html", form=form or UploadForm(formdata=None), errors=errors or {},
                           problems=(problems or [])[:LISTED_PROBLEMS], problem_count=len(problems or []),
                           refusal=refusal, limit=size_text(max_bytes())), status


def _refused(exc: import_upload.Refused):
    status, message = REFUSALS[exc.reason]
    return _upload_page(status, refusal=message)


@bp.get("/dataset/import")
@requires(REPORTS)
def dataset_import():
    upload_id = request.args.get("upload")
    if upload_id is None:
        return _upload_page()
    try:
        staged = import_upload.waiting(staging_folder(), upload_id, user=current_user(), now=now())
    except import_upload.Refused as exc:
        return _refused(exc)
    form = ConfirmForm(formdata=None, upload=staged.id, sha256=staged.sha256)
    return render_template("staff/import_preview.html", staged=staged, preview=staged.preview, form=form,
                           kinds=KINDS, form_names=FORM_NAMES, size=size_text(staged.size))


@bp.post("/dataset/import")
@requires(REPORTS)
def dataset_import_post():
    return _confirm() if request.form.get("action") == "import" else _check()


def _check():
    form = UploadForm()
    errors = {name: "; ".join(map(str, messages)) for name, messages in form.errors.items()} \
        if not form.validate_on_submit() else {}
    if form.kind.data not in KINDS:
        errors["kind"] = gettext("Choose what the file holds.")
    if errors:
        return _upload_page(400, form=form, errors=errors)
    upload = form.file.data
    data = upload.read(max_bytes() + 1)
    if len(data) > max_bytes():
        errors["file"] = gettext("This file is larger than %(limit)s, the most this page takes. Nothing was "
                                 "imported: split it into smaller files.", limit=size_text(max_bytes()))
        return _upload_page(413, form=form, errors=errors)
    try:
        staged = import_upload.stage(get_db(), staging_folder(), protocol(), form.kind.data, data,
                                     filename=upload.filename or "", user=current_user(), actor=actor(), now=now())
    except ImportError_ as exc:
        return _upload_page(400, form=form, problems=exc.problems)
    return redirect(url_for(".dataset_import", upload=staged.id), 303)


def _confirm():
    form = ConfirmForm()
    if not form.validate_on_submit():
        return _refused(import_upload.Refused(import_upload.UNKNOWN))
    try:
        kind, counts = import_upload.confirm(get_db(), staging_folder(), protocol(), form.upload.data,
                                             form.sha256.data, user=current_user(), actor=actor(), now=now())
    except import_upload.Refused as exc:
        return _refused(exc)
    except ImportError_ as exc:
        return _upload_page(400, problems=exc.problems)
    flash(_imported(kind, counts), "success")
    return redirect(url_for(".dataset_import"), 303)


def _imported(kind: str, counts: dict) -> str:
    """What was imported, in the command line's words."""
    if kind == "answers":
        return gettext("Imported: %(created)s participant(s) created, %(stored)s answer(s) stored, %(same)s "
                       "already there.", created=counts["participants_created"], stored=counts["answers_stored"],
                       same=counts["answers_unchanged"])
    if kind == "records":
        return gettext("Imported: %(created)s participant(s) created, %(stored)s record(s) stored, %(same)s already "
                       "there, %(events)s complication(s) stored.", created=counts["participants_created"],
                       stored=counts["records_stored"], same=counts["records_unchanged"],
                       events=counts["events_stored"])
    return gettext("Imported: %(stored)s event(s) stored, %(same)s already there.", stored=counts["events_stored"],
                   same=counts["events_unchanged"])
