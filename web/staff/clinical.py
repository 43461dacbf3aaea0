"""A participant's clinical record: baseline characteristics and the procedure record (for
investigators), adverse events (nurses too), and an investigator's acknowledgement of a serious
event.

Every form page shows the current record in words, with its versions (who, when, why). A first
save or a correction goes through services.crf, which validates, versions and audits; a
correction needs its reason. Bad input shows the page again (400) with each field's message.
"""
from __future__ import annotations

from collections.abc import Callable

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from wtforms.fields.choices import SelectFieldBase

from questionnaires import N_
from questionnaires.base import AnswerError
from questionnaires.crf import BASELINE_FORM, EVENT_FORM, PROCEDURE_FORM
from reports.derived import procedure_for
from services import answers as patient_answers
from services import crf as records
from services.crf import local_dates
from storage import crf, participants
from web.auth.access import ENROLL, FOLLOW_UP, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.labels import words
from web.staff.blueprint import actor, bp
from web.staff.clinical_forms import (
    NOT_ANSWERS,
    ActionForm,
    BaselineForm,
    ClinicalForm,
    EventForm,
    ProcedureForm,
    as_input,
    as_inputs,
)

# Who acknowledges a serious adverse event: the investigators (and admins), as for enrollment.
ACKNOWLEDGE = ENROLL
STALE = N_("%(by)s saved version %(version)s of this record after this page was opened, so nothing was stored. "
           "The record now reads as shown; correct it again if it still needs it.")
# What a save says, per record: (nothing changed, corrected, saved). Whole sentences, for translators.
SAVED = {
    BASELINE_FORM: (N_("Nothing changed: the baseline record already had these values."),
                    N_("Baseline record corrected: version %(version)s."), N_("Baseline record saved.")),
    PROCEDURE_FORM: (N_("Nothing changed: the procedure record already had these values."),
                     N_("Procedure record corrected: version %(version)s."), N_("Procedure record saved.")),
    EVENT_FORM: (N_("Nothing changed: the adverse event already had these values."),
                 N_("Adverse event corrected: version %(version)s."), N_("Adverse event saved.")),
}


def _participant_or_404(study_id: str) -> dict:
    participant = participants.by_study_id(get_db(), study_id)
    if participant is None:
        abort(404)
    return participant


def _text(field, value) -> str:
    """A stored value as staff read it: a level by its label, a number without a needless ".0"."""
    if isinstance(field, SelectFieldBase):
        return next((choice.label for choice in field.choices if choice.value == str(value)), str(value))
    return as_input(value)


def _worded(form: ClinicalForm, errors: dict[str, str]) -> dict[str, str]:
    """The validators list a choice's levels by code ("choose one of no, yes"); staff read their
    labels ("choose one of No, Yes")."""
    worded = dict(errors)
    for name, message in errors.items():
        field = form[name] if name in form else None
        head, found, _codes = message.rpartition(" one of ")
        if found and isinstance(field, SelectFieldBase):
            worded[name] = head + found + ", ".join(str(c.label) for c in field.choices if c.value != "")
    return worded


def _answers(form: ClinicalForm, data: dict) -> list[tuple[str, str]]:
    """A record's recorded answers in words, in the form's order: [(label, value)]."""
    return [(words(field.name), _text(field, data[field.name])) for field in form
            if field.name not in NOT_ANSWERS and data.get(field.name) not in (None, "")]


def _history(form: ClinicalForm, versions: list[dict]) -> list[dict]:
    """Every version, newest first, with what it changed from the one before."""
    fields = {field.name: field for field in form if field.name not in NOT_ANSWERS}
    history, before = [], None
    unrecorded = _("not recorded")
    for row in versions:
        data = row["data"]
        changes = [] if before is None else [
            (words(name), _text(field, before.get(name)) if before.get(name) is not None else unrecorded,
             _text(field, data.get(name)) if data.get(name) is not None else unrecorded)
            for name, field in fields.items() if before.get(name) != data.get(name)]
        if before is not None and data.get("acknowledged_by") and not before.get("acknowledged_by"):
            changes.append((words("acknowledged_by"), _("nobody"), data["acknowledged_by"]))
        history.append({**row, "changes": changes})
        before = data
    return history[::-1]


def _form_page(participant: dict, form_class: type[ClinicalForm], kind: str, item: int | None,
               save: Callable[..., dict], done: Callable[[dict], str], render: Callable[..., str],
               defaults: dict | None = None):
    """GET: the form, for a new record (``defaults`` filled in) or to correct the current one.
    POST: ``save(answers, edit=, reason=)``, then back to ``done(saved)`` with a flash (the
    record's sentence in SAVED); bad input gives the page again with the errors, 400."""
    db = get_db()
    record = crf.current(db, participant["id"], kind, item) if item is not None else None
    current = record["version"] if record else 0
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = form_class()
        opened = form.opened_version()
        if not form.validate_on_submit():
            errors = {field: "; ".join(messages) for field, messages in form.errors.items()}
        elif opened is None:
            errors = {"form": _("The form could not be read, so nothing was stored. Please open the page again.")}
        elif record and opened and opened != current:
            errors = {"form": _(STALE, by=record["recorded_by"], version=current)}
        else:
            try:
                saved = save(form.answers(), edit=opened > 0, reason=form.reason.data,
                             expected_version=opened or None)
            except AnswerError as exc:
                errors = _worded(form, exc.errors)
            else:
                unchanged, corrected, first = SAVED[kind]
                if opened and saved["version"] == opened:
                    flash(_(unchanged), "success")
                elif opened:
                    flash(_(corrected, version=saved["version"]), "success")
                else:
                    flash(_(first), "success")
                return redirect(done(saved), 303)
        form.version.data = str(current)   # the next save corrects the record as it now is
    else:
        values = as_inputs(record["data"]) if record else defaults or {}
        form = form_class(data={**values, "version": str(current)})
    context = {"participant": participant, "arm": protocol().arm(participant["arm"]), "form": form,
               "errors": errors, "record": record, "answers": _answers(form, record["data"]) if record else [],
               "history": _history(form, crf.versions(db, participant["id"], kind, item)) if record else []}
    return render(**context), 400 if errors else 200


def _here(_saved: dict) -> str:
    return request.path


@bp.route("/participants/<study_id>/baseline", methods=["GET", "POST"])
@requires(ENROLL)
def baseline(study_id: str):
    participant = _participant_or_404(study_id)
    vas = patient_answers.received(get_db(), participant["id"], protocol().baseline.id).get("vas")

    def save(answers, **how):
        return records.record_baseline(get_db(), protocol(), study_id, answers, actor=actor(), now=now(), **how)

    def render(**context):
        return render_template("staff/crf_baseline.html", vas=vas, **context)
    return _form_page(participant, BaselineForm, BASELINE_FORM, 0, save, _here, render)


@bp.route("/participants/<study_id>/procedure", methods=["GET", "POST"])
@requires(ENROLL)
def procedure(study_id: str):
    participant = _participant_or_404(study_id)
    settings = protocol().clinical
    arm = protocol().arm(participant["arm"])
    enrolled_on, today = local_dates(participant, now())
    rf = settings.pulsed_rf
    planned = participant["procedure_date"]
    defaults = {"guidance": arm.guidance if arm else None, "punctures": as_input(participant["punctures"]),
                "procedure_date": planned if planned and enrolled_on.isoformat() <= planned <= today.isoformat()
                else "",
                **as_inputs({"rf_temperature_c": rf.temperature_c, "rf_frequency_hz": rf.frequency_hz,
                             "rf_pulse_width_ms": rf.pulse_width_ms, "rf_duration_s": rf.duration_s})}

    def save(answers, **how):
        return records.record_procedure(get_db(), protocol(), study_id, answers, actor=actor(), now=now(), **how)

    def render(**context):
        record = context["record"]
        derived = _derived(participant, arm, record["data"]) if record else None
        return render_template("staff/crf_procedure.html", derived=derived, settings=settings,
                               stratum=participant["stratum"], enrolled_on=enrolled_on, today=today, **context)
    return _form_page(participant, ProcedureForm, PROCEDURE_FORM, 0, save, _here, render, defaults)


def _derived(participant: dict, arm, data: dict) -> dict:
    """Time per puncture, effective dose and deviations of a stored procedure record, in words."""
    settings = protocol().clinical
    derived = procedure_for(protocol(), participant, data)
    sentences = {
        "guidance": lambda: _("Guided by %(guidance)s, not as allocated (arm %(arm)s: %(label)s)",
                              guidance=words(data["guidance"]), arm=arm.code, label=arm.label),
        "stratum": lambda: _("%(punctures)s puncture points, outside the randomization stratum (%(stratum)s)",
                             punctures=data["punctures"], stratum=participant["stratum"]),
        "methylprednisolone": lambda: _("Methylprednisolone %(mg)s mg, over the protocol's %(max)s mg",
                                        mg=as_input(data["methylprednisolone_mg"]),
                                        max=f"{settings.methylprednisolone_max_mg:g}"),
    }
    msv, per_puncture = derived["effective_dose_msv"], derived["min_per_puncture"]   # None: not recorded on paper
    return {"min_per_puncture": f"{per_puncture:.1f} min" if per_puncture is not None else None,
            "effective_dose": f"{msv:.3g} mSv" if msv is not None else None,
            "deviations": [sentences[code]() for code in derived["deviations"]]}


def _event_page(participant: dict, item: int | None):
    def save(answers, *, edit, reason, expected_version=None):
        return records.record_event(get_db(), protocol(), participant["study_id"], answers, actor=actor(),
                                    now=now(), item=item, reason=reason, expected_version=expected_version)

    def done(saved):
        return url_for(".event", study_id=participant["study_id"], item=saved["item"])

    def render(**context):
        return render_template("staff/crf_event.html", item=item, acknowledge=ActionForm(),
                               may_acknowledge=current_user()["role"] in ACKNOWLEDGE, **context)
    return _form_page(participant, EventForm, EVENT_FORM, item, save, done, render)


@bp.route("/participants/<study_id>/events/new", methods=["GET", "POST"])
@requires(FOLLOW_UP)
def new_event(study_id: str):
    return _event_page(_participant_or_404(study_id), None)


@bp.route("/participants/<study_id>/events/<int:item>", methods=["GET", "POST"])
@requires(FOLLOW_UP)
def event(study_id: str, item: int):
    participant = _participant_or_404(study_id)
    if crf.current(get_db(), participant["id"], EVENT_FORM, item) is None:
        abort(404)
    return _event_page(participant, item)


@bp.post("/participants/<study_id>/events/<int:item>/acknowledge")
@requires(ACKNOWLEDGE)
def acknowledge_event(study_id: str, item: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        changed = records.acknowledge_event(get_db(), study_id, item, actor=actor(), now=now())
    except AnswerError:
        abort(404)
    flash(_("%(study_id)s's adverse event %(item)s acknowledged.", study_id=study_id, item=item) if changed
          else _("%(study_id)s's adverse event %(item)s was already acknowledged.", study_id=study_id, item=item),
          "success")
    back = request.form.get("back", "")
    # Back to the page it was acknowledged on (the board or the event); never to another site.
    if back.startswith("/staff/") and "//" not in back:
        return redirect(back, 303)
    return redirect(url_for(".dashboard"), 303)


@bp.app_context_processor
def clinical_context():
    return {"clinical_record": clinical_record}


def clinical_record(participant: dict) -> dict:
    """For the participant page: the state of each clinical form, and whether this user may open
    the investigators' forms."""
    db = get_db()
    return {"baseline": crf.current(db, participant["id"], BASELINE_FORM),
            "procedure": crf.current(db, participant["id"], PROCEDURE_FORM),
            "events": list(crf.newest(db, form=EVENT_FORM, participant_id=participant["id"])),
            "may_edit": (current_user() or {}).get("role") in ENROLL}
