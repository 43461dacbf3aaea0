"""Correcting a participant's answer (investigators and admins), opened from the timeline of their page.

The page shows the answer as it now reads, its versions (who, when, why, what changed), and the
instrument's own form filled with it. A save goes through services.answer_corrections: the
instrument validates and scores, a new version is stored (the old kept), the audit log has before,
after and the reason. A form opened on an older version than the newest stores nothing and asks
for a reload. Bad input shows the page again (400) with each field's message.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from questionnaires import N_
from questionnaires.base import AnswerError
from services import answer_corrections as corrections
from services.free_text import MAX_REASON_LENGTH
from storage import responses
from web.auth.access import ENROLL, current_user, requires
from web.context import now, protocol
from web.database import get_db
from web.staff.answer_forms import form_class, form_values, shown, title
from web.staff.blueprint import actor, bp

# Who corrects answers: the investigators (and admins), as for the clinician records.
CORRECT = ENROLL
STALE = N_("%(by)s stored version %(version)s of this answer after this page was opened, so nothing was stored. "
           "The answer now reads as shown; correct it again if it still needs it.")
# The service's messages to staff, for the catalogue (gettext finds a translation by the English text).
SERVICE_MESSAGES = {
    corrections.REASON_REQUIRED: N_("Say why the answer is corrected."),
    corrections.REASON_TOO_LONG: N_("At most %(count)s characters."),
    corrections.OTHER_VERSION: N_("This answer was given on version %(stored)s of the form; this trial now uses "
                                  "version %(current)s, so it cannot be corrected here."),
    corrections.DAILY_TOTALS: N_("This answer holds daily totals from a paper import, not the medicines: correct it "
                                 "by importing the corrected paper form."),
}
UNREADABLE = N_("The form could not be read, so nothing was stored. Please open the page again.")


def _history(form, versions: list[dict]) -> list[dict]:
    """Every version, newest first, with what it changed from the one before, in words."""
    history, before = [], None
    for row in versions:
        values = form_values(row["instrument"], row["answers"])
        changes = [] if before is None else _changes(form, before, values)
        history.append({**row, "recorded_at": row["corrected_at"] or row["submitted_at"],
                        "changes": changes})
        before = values
    return history[::-1]


def _changes(form, before: dict[str, str], after: dict[str, str]) -> list[tuple[str, str, str]]:
    old, new = dict(shown(form, before)), dict(shown(form, after))
    blank = _("not answered")
    return [(label, old.get(label, blank), new.get(label, blank)) for label in dict.fromkeys([*old, *new])
            if old.get(label) != new.get(label)]


@bp.route("/participants/<study_id>/answers/<timepoint>/<instrument>", methods=["GET", "POST"])
@requires(CORRECT)
def correct_answer(study_id: str, timepoint: str, instrument: str):
    db = get_db()
    found = corrections.versions(db, study_id, timepoint, instrument)
    if found is None or instrument not in protocol().instruments:
        abort(404)
    participant, versions = found
    newest = versions[-1]
    refused = corrections.why_not_correctable(protocol(), newest)
    form_type = form_class(protocol().instruments[instrument])
    errors: dict[str, str] = {}
    refusal = _(SERVICE_MESSAGES[refused[0]], **refused[1]) if refused else None
    if request.method == "POST" and refused:
        form, errors = form_type(), {"form": refusal}
    elif request.method == "POST":
        form = form_type()
        opened = form.opened_version()
        if not form.validate_on_submit() or opened is None:
            errors = {"form": _(UNREADABLE)}
        else:
            try:
                saved, stored = corrections.correct(
                    db, protocol(), study_id=study_id, timepoint=timepoint, instrument=instrument,
                    answers=form.answers(), reason=form.reason.data, opened_version=opened, actor=actor(), now=now())
            except corrections.StaleAnswer as exc:
                errors = {"form": _(STALE, by=exc.newest["recorded_by"], version=exc.newest["version"])}
                versions = responses.versions_of(db, participant["id"], timepoint, instrument)
                newest = versions[-1]
            except AnswerError as exc:
                errors = {name: _(SERVICE_MESSAGES.get(message, message), count=MAX_REASON_LENGTH)
                          for name, message in exc.errors.items()}
            else:
                flash(_("Answer corrected: version %(version)s.", version=saved["version"]) if stored
                      else _("Nothing changed: the answer already had these values."), "success")
                return redirect(url_for(".participant", study_id=study_id), 303)
        form.version.data = str(newest["version"])   # the next save corrects the answer as it now is
    else:
        form = form_type(data={**form_values(instrument, newest["answers"]), "version": str(newest["version"])})
    current = shown(form, form_values(instrument, newest["answers"]))
    return render_template(
        "staff/answer_correction.html", participant=participant, arm=protocol().arm(participant["arm"]),
        timepoint=protocol().timepoint(timepoint), instrument_title=title(instrument), form=form, errors=errors,
        newest=newest, current=current, source=_source(newest["source"]), history=_history(form, versions),
        refused=refusal), 400 if errors else 200


def _source(code: str) -> str:
    return {"web": _("the patient's link"), "sms": _("an SMS reply"), "paper": _("a paper form")}.get(code, code)


@bp.app_context_processor
def answers_context():
    return {"answered_forms": answered_forms}


def answered_forms(participant: dict) -> dict:
    """For the participant page's timeline: the newest version of each answer by timepoint, each
    with its instrument's name, and whether this user may open them to correct."""
    by_timepoint: dict[str, list[dict]] = {}
    for row in responses.newest(get_db(), participant_id=participant["id"]):
        by_timepoint.setdefault(row["timepoint"], []).append(
            {"instrument": row["instrument"], "version": row["version"], "title": title(row["instrument"])})
    return {"by_timepoint": by_timepoint, "may_correct": (current_user() or {}).get("role") in CORRECT}
