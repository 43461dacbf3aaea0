"""Staff pages: the follow-up board, a participant's page and its actions, enrollment, audit log.

Views parse, call a service, render. Every page needs a signed-in user with the right role
(web.auth.access); every POST carries a CSRF token (CSRFProtect, app-wide).
"""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import segno
import tempfile
from pathlib import Path

from flask import (Blueprint, Response, abort, after_this_request, current_app, flash, redirect, render_template,
                   request, send_file, url_for)

from scheduler import followup
from reports import dataset as dataset_rows
from reports import export
from services import board, enrollment, links, participant_admin
from services import dataset as dataset_service
from services.participant_admin import AdminError
from storage import contacts, open_db, participants
from storage.audit import search as audit_search
from storage.db import parse_utc
from web import reminders
from web import report as report_view
from web.auth.access import AUDIT, ENROLL, FOLLOW_UP, REPORTS, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.staff import forms

bp = Blueprint("staff", __name__, url_prefix="/staff")
AUDIT_PAGE_SIZE = 200


def _actor() -> str:
    return current_user()["email"]


@bp.app_context_processor
def protocol_in_templates():
    return {"protocol_timepoints": protocol().timepoints}


@bp.get("/")
@requires(FOLLOW_UP)
def dashboard():
    chosen = request.args.get("filter") or None
    if chosen is not None and chosen not in board.FILTERS:
        abort(404)
    rows = board.build(get_db(), protocol(), now())
    return render_template("staff/dashboard.html", rows=board.apply_filter(rows, chosen), total=len(rows),
                           counts=board.counts(rows, protocol()), filters=board.FILTERS, chosen=chosen,
                           statuses=followup)


def _participant_or_404(study_id: str) -> dict:
    participant = participants.by_study_id(get_db(), study_id)
    if participant is None:
        abort(404)
    return participant


def _page(participant: dict, status: int = 200, errors: dict | None = None, **extra):
    db = get_db()
    open_timepoints = [item["timepoint"].id for item in board.timeline(db, participant, protocol(), now())
                       if item["status"] in (followup.OPEN, followup.OVERDUE)]
    timepoint_choices = [("", "(any)")] + [(tp.id, tp.label) for tp in protocol().timepoints]
    form_kwargs = {"study_id": participant["study_id"]}
    resend = forms.TimepointForm(**form_kwargs)
    resend.timepoint.choices = [forms.SelectChoice(tp) for tp in open_timepoints]
    details = forms.ContactDetailsForm(phone=participant["phone"], timezone=participant["timezone"],
                                       language=participant["language"], **form_kwargs)
    details.language.choices = [forms.SelectChoice(code) for code in current_app.config["LANGUAGES"]]
    contact = forms.ContactForm(**form_kwargs)
    contact.timepoint.choices = [forms.SelectChoice(value, label) for value, label in timepoint_choices]
    zone = ZoneInfo(participant["timezone"])
    return render_template(
        "staff/participant.html", participant=participant, arm=protocol().arm(participant["arm"]),
        timeline=board.timeline(db, participant, protocol(), now()), contacts=contacts.for_participant(
            db, participant["id"]), resend=resend, details=details, contact=contact,
        opt=forms.OptOutForm(opted_out="in" if participant["sms_opt_out"] else "out", **form_kwargs),
        withdraw=forms.WithdrawForm(**form_kwargs), errors=errors or {}, local=lambda text: _local(text, zone),
        **extra), status


def _local(text: str | None, zone: ZoneInfo) -> str:
    if not text:
        return ""
    return parse_utc(text).astimezone(zone).strftime("%d %b %Y %H:%M")


@bp.get("/participants/<study_id>")
@requires(FOLLOW_UP)
def participant(study_id: str):
    return _page(_participant_or_404(study_id))


def _posted(form_class, study_id: str):
    """(participant, form) for a valid action form about this page's participant, else a 400 page."""
    participant = _participant_or_404(study_id)
    form = form_class()
    if not form.validate_on_submit():
        problems = {name: "; ".join(errors) for name, errors in form.errors.items()}
        return participant, None, _page(participant, 400, problems)
    if form.study_id.data != study_id:
        return participant, None, _page(participant, 400, {
            "form": "This form was for another participant, so nothing was changed. Please try again."})
    return participant, form, None


@bp.post("/participants/<study_id>/resend")
@requires(FOLLOW_UP)
def resend(study_id: str):
    participant, form, page = _posted(forms.TimepointForm, study_id)
    if page:
        return page
    timepoint = form.timepoint.data
    window = participants.timepoint(get_db(), participant["id"], timepoint)
    if window is None or not (parse_utc(window["opens_at"]) <= now() < parse_utc(window["closes_at"])) \
            or window["completed_at"]:
        return _page(participant, 400, {"timepoint": f"{timepoint or 'That timepoint'} is not open and unfinished."})
    outcome = reminders.dispatcher(current_app._get_current_object()).send_now(
        get_db(), participant["id"], timepoint, now(), requested_by=_actor())
    messages = {
        "sent": f"SMS with a new {timepoint} link sent.",
        "deferred": "It is quiet hours where the participant lives: the SMS will go at 09:00 their time.",
        "cancelled": "No SMS sent: the participant opted out, has no usable number, or is withdrawn.",
        "opted_out": "No SMS sent: Twilio reports the participant opted out (replied STOP).",
        "bad_number": "No SMS sent: the number cannot receive SMS. Please check it.",
        "retried": "The SMS service is busy: it will be retried in a minute.",
        "failed": "The SMS could not be sent.",
    }
    flash(messages.get(outcome, outcome), "success" if outcome == "sent" else "warning")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/link")
@requires(FOLLOW_UP)
def show_link(study_id: str):
    participant, form, page = _posted(forms.TimepointForm, study_id)
    if page:
        return page
    try:
        token, window = links.issue_link(get_db(), study_id, form.timepoint.data, actor=_actor(), now=now())
    except links.LinkError as exc:
        return _page(participant, 400, {"timepoint": str(exc)})
    url = current_app.config["BASE_URL"].rstrip("/") + f"/f/{token}"
    qr = segno.make(url, error="m").svg_inline(scale=5, title="Link to the questionnaire", dark="#1a1a1a",
                                               omitsize=True)  # a viewBox, so CSS can size it
    return render_template("staff/link.html", participant=participant, url=url, qr=qr, timepoint=form.timepoint.data,
                           closes=_local(window["closes_at"], ZoneInfo(participant["timezone"])))


@bp.post("/participants/<study_id>/contact-details")
@requires(FOLLOW_UP)
def contact_details(study_id: str):
    participant, form, page = _posted(forms.ContactDetailsForm, study_id)
    if page:
        return page
    try:
        changed = participant_admin.update_contact(
            get_db(), protocol(), current_app.config["LANGUAGES"], study_id, phone=form.phone.data or None,
            timezone=(form.timezone.data or "").strip(), language=form.language.data, actor=_actor(), now=now())
    except AdminError as exc:
        return _page(participant, 400, exc.errors)
    flash("Saved: " + ", ".join(changed) if changed else "Nothing changed.", "success")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/sms")
@requires(FOLLOW_UP)
def sms_preference(study_id: str):
    participant, form, page = _posted(forms.OptOutForm, study_id)
    if page:
        return page
    if form.opted_out.data not in ("out", "in"):
        return _page(participant, 400, {"form": "Choose opt out or opt in."})
    opting_out = form.opted_out.data == "out"
    participant_admin.set_sms_opt_out(get_db(), study_id, opting_out, actor=_actor(), now=now(),
                                      reason="recorded by staff")
    flash("SMS reminders stopped." if opting_out else "SMS reminders restarted.", "success")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/withdraw")
@requires(FOLLOW_UP)
def withdraw(study_id: str):
    participant, form, page = _posted(forms.WithdrawForm, study_id)
    if page:
        return page
    try:
        participant_admin.withdraw(get_db(), study_id, reason=form.reason.data, actor=_actor(), now=now())
    except AdminError as exc:
        return _page(participant, 400, exc.errors)
    flash(f"{study_id} withdrawn: reminders stopped, data kept.", "success")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/contacts")
@requires(FOLLOW_UP)
def log_contact(study_id: str):
    participant, form, page = _posted(forms.ContactForm, study_id)
    if page:
        return page
    try:
        participant_admin.log_contact(get_db(), protocol(), study_id, kind=form.kind.data, outcome=form.outcome.data,
                                      timepoint=form.timepoint.data, note=form.note.data, actor=_actor(), now=now())
    except AdminError as exc:
        return _page(participant, 400, exc.errors)
    flash("Contact recorded.", "success")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.route("/enroll", methods=["GET", "POST"])
@requires(ENROLL)
def enroll():
    form = forms.EnrollForm()
    form.language.choices = [forms.SelectChoice(code) for code in current_app.config["LANGUAGES"]]
    form.external_arm.choices = [forms.SelectChoice(arm.code, f"{arm.code}: {arm.label}") for arm in protocol().arms]
    errors: dict[str, str] = {}
    if request.method == "POST":
        if form.validate_on_submit():
            external = form.allocation.data == "external"
            try:
                clean = enrollment.validate_enrollment(
                    protocol(), current_app.config["LANGUAGES"], study_id=form.study_id.data,
                    arm=form.external_arm.data if external else None, phone=form.phone.data or None,
                    timezone=(form.timezone.data or "").strip(), language=form.language.data,
                    procedure_date=form.procedure_date.data, punctures=form.punctures.data,
                    reason=form.reason.data if external else None, require_reason=True,
                    today=now().date(), confirm_date=form.confirm_date.data)
                created = enrollment.enroll(get_db(), protocol(), clean, actor=_actor(), now=now())
            except enrollment.EnrollmentError as exc:
                errors = exc.errors
            else:
                arm = protocol().arm(created["arm"])
                how = "randomized to" if clean.arm is None else "enrolled in"
                flash(f"{created['study_id']} {how} arm {arm.code} ({arm.label}).", "success")
                return redirect(url_for(".participant", study_id=created["study_id"]), 303)
        else:
            errors = {name: "; ".join(messages) for name, messages in form.errors.items()}
    return render_template("staff/enroll.html", form=form, errors=errors), 400 if errors else 200


@bp.get("/audit")
@requires(AUDIT)
def audit():
    form = forms.AuditFilterForm(request.args)
    valid = form.validate()
    since = until = None
    if valid and form.since.data:
        since = datetime.combine(form.since.data, time(0), tzinfo=timezone.utc)
    if valid and form.until.data:
        until = datetime.combine(form.until.data + timedelta(days=1), time(0), tzinfo=timezone.utc)
    rows = audit_search(get_db(), actor=form.actor.data or None, action=form.action.data or None,
                        entity_id=form.entity_id.data or None, since=since, until=until,
                        limit=AUDIT_PAGE_SIZE) if valid else []
    return render_template("staff/audit.html", form=form, rows=rows, limit=AUDIT_PAGE_SIZE), 200 if valid else 400


# The report holds matplotlib's SVG, which styles with attributes: allow inline styles there only
# (it carries no user-supplied markup: every value is escaped or a number).
REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; frame-ancestors 'none'"


@bp.get("/report")
@requires(REPORTS)
def report():
    """The comparison report as a page, with JSON and HTML downloads (?download=json|html)."""
    download = request.args.get("download")
    if download not in (None, "json", "html"):
        abort(404)
    data, observations = report_view.build()
    stamp = now().strftime("%Y%m%d-%H%M")
    if download == "json":
        return Response(report_view.as_json(data), mimetype="application/json", headers={
            "Content-Disposition": f'attachment; filename="report-{stamp}.json"'})
    links = {} if download else {"Back to the board": url_for(".dashboard"),
                                 "Download JSON": url_for(".report", download="json"),
                                 "Download HTML": url_for(".report", download="html")}
    html = report_view.as_html(data, observations, links)
    headers = {"Content-Security-Policy": REPORT_CSP}
    if download == "html":
        headers["Content-Disposition"] = f'attachment; filename="report-{stamp}.html"'
    return Response(html, mimetype="text/html", headers=headers)


DOWNLOADS = {  # format -> (file suffix, MIME type)
    "csv": ("csv", "text/csv"), "wide-csv": ("wide.csv", "text/csv"),
    "xlsx": ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "sav": ("sav", "application/x-spss-sav"),
    "codebook-csv": ("codebook.csv", "text/csv"), "codebook-html": ("codebook.html", "text/html"),
}


@bp.get("/dataset")
@requires(REPORTS)
def dataset_page():
    return render_template("staff/dataset.html", downloads=DOWNLOADS)


@bp.get("/dataset/download")
@requires(REPORTS)
def dataset_download():
    fmt = request.args.get("format", "")
    identifiable = request.args.get("identifiable") == "1"
    if fmt not in DOWNLOADS:
        abort(404)
    if identifiable and current_user()["role"] != "admin":
        return render_template("message.html", title="Not allowed",
                               message="Only an administrator can export identifiable data."), 403
    suffix, mimetype = DOWNLOADS[fmt]
    name = f"scored-dataset{'-identifiable' if identifiable else ''}-{now():%Y%m%d}.{suffix}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    db = get_db()
    if fmt.startswith("codebook"):
        text = export.codebook_html(protocol(), identifiable) if fmt == "codebook-html" else "".join(
            export.csv_chunks(export.codebook_rows(protocol(), identifiable), export.CODEBOOK_FIELDS))
        return Response(text, mimetype=mimetype, headers=headers)
    if fmt in ("csv", "wide-csv"):
        dataset_service.audit_export(db, fmt, None, actor=_actor(), now=now(), identifiable=identifiable)
        path, trial_protocol = current_app.config["DATABASE"], protocol()

        def chunks():
            # Streamed: rows are read and written a participant at a time, on a connection of
            # the stream's own (the request's is closed once the response has started).
            connection = open_db(path)
            try:
                rows, fields = ((dataset_rows.long_rows(connection, trial_protocol, identifiable),
                                 dataset_rows.columns(identifiable)) if fmt == "csv" else
                                (dataset_rows.wide_rows(connection, trial_protocol),
                                 dataset_rows.wide_columns(trial_protocol)))
                yield from export.csv_chunks(rows, fields)
            finally:
                connection.close()

        return Response(chunks(), mimetype=mimetype, headers=headers)
    handle = tempfile.NamedTemporaryFile(suffix="." + suffix, delete=False)
    handle.close()
    path = Path(handle.name)
    dataset_service.export_dataset(db, protocol(), fmt, path, actor=_actor(), now=now(), identifiable=identifiable)

    @after_this_request
    def remove(response):
        path.unlink(missing_ok=True)
        return response

    return send_file(path, mimetype=mimetype, as_attachment=True, download_name=name)
