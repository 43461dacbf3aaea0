"""A participant's page, and what a nurse does there: resend a link, show it as a QR code, fix
contact details, stop or restart SMS, switch answers by SMS reply on or off, choose SMS or WhatsApp
(recording the WhatsApp opt-in), withdraw, log a call."""
from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import segno
from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _

from scheduler import followup
from scheduler.reminders import SMS_QUESTION_INSTRUMENT, SMS_QUESTION_TIMEPOINTS
from services import board, links, messaging, participant_admin, sms_answers, whatsapp
from services.enrollment import display_phone
from services.participant_admin import AdminError
from storage import contacts, messages, opt_outs, participants
from storage import sms_answers as sms_answer_rows
from storage.db import parse_utc
from web import reminders
from web.auth.access import FOLLOW_UP, requires
from web.context import now, patient_url, protocol
from web.database import get_db
from web.labels import language, words
from web.staff import forms
from web.staff.blueprint import actor, bp, local_time
from web.staff.inbox import HandledForm
from web.whatsapp_texts import OPT_IN_WORDING_VERSION, opt_in_wording


def _participant_or_404(study_id: str) -> dict:
    participant = participants.by_study_id(get_db(), study_id)
    if participant is None:
        abort(404)
    return participant


def _page(participant: dict, status: int = 200, errors: dict | None = None, **extra):
    db = get_db()
    timeline = board.timeline(db, participant, protocol(), now())
    open_timepoints = [item["timepoint"] for item in timeline if item["status"] in (followup.OPEN, followup.OVERDUE)]
    form_kwargs = {"study_id": participant["study_id"]}
    resend = forms.TimepointForm(**form_kwargs)
    resend.timepoint.choices = [forms.SelectChoice(tp.id, tp.label) for tp in open_timepoints]
    details = forms.ContactDetailsForm(
        phone=display_phone(participant["phone"], current_app.config["DEFAULT_COUNTRY"]),
        timezone=participant["timezone"], language=participant["language"], **form_kwargs)
    details.language.choices = [forms.SelectChoice(code, language(code)) for code in current_app.config["LANGUAGES"]]
    contact = forms.ContactForm(**form_kwargs)
    contact.timepoint.choices = [forms.SelectChoice("", _("(any)"))] + [
        forms.SelectChoice(tp.id, tp.label) for tp in protocol().timepoints]
    zone = ZoneInfo(participant["timezone"])
    return render_template(
        "staff/participant.html", participant=participant, arm=protocol().arm(participant["arm"]),
        timeline=timeline, contacts=contacts.for_participant(db, participant["id"]), resend=resend,
        details=details, contact=contact, replies=messages.inbox(db, participant_id=participant["id"]),
        handled=HandledForm(), opt=forms.OptOutForm(opted_out="in" if participant["sms_opt_out"] else "out",
                                                   **form_kwargs),
        withdraw=forms.WithdrawForm(**form_kwargs), errors=errors or {},
        sms_mode=forms.SmsAnswersForm(answers_by_sms="off" if participant["answers_by_sms"] else "on", **form_kwargs),
        question_timepoints=_question_labels(), sms_answers=sms_answer_rows.answers_of(
            db, participant["id"], SMS_QUESTION_INSTRUMENT), clarified=sms_answer_rows.clarified(db, participant["id"]),
        number_blocked=opt_outs.blocked(db, participant["phone"]), phone=display_phone(
            participant["phone"], current_app.config["DEFAULT_COUNTRY"]),
        channel_form=forms.ChannelForm(channel=participant["channel"], **form_kwargs),
        whatsapp_site=reminders.whatsapp_set_up(current_app._get_current_object()),
        channel_now=whatsapp.channel_now(participant, reminders.whatsapp_set_up(current_app._get_current_object())),
        opt_in_wordings=[(participant["language"], opt_in_wording(participant["language"]))],
        opt_in_version=OPT_IN_WORDING_VERSION,
        local=lambda text: local_time(text, zone), day=lambda text, last=False: _day(text, zone, last=last),
        **extra), status


def _question_labels() -> str:
    """The timepoints asked by SMS question, by name: "1 day and 1 week"."""
    labels = [tp.label for tp in (protocol().timepoint(tp) for tp in SMS_QUESTION_TIMEPOINTS) if tp]
    return _("%(first)s and %(last)s", first=", ".join(labels[:-1]), last=labels[-1]) if len(labels) > 1 \
        else "".join(labels)


def _day(text: str | None, zone: ZoneInfo, *, last: bool = False) -> str:
    """The participant's local calendar day of an instant, e.g. "Mon 02 Mar". ``last``: the day
    before an exclusive end (a window closes at midnight after its last day)."""
    if not text:
        return ""
    moment = parse_utc(text) - (timedelta(seconds=1) if last else timedelta(0))
    return moment.astimezone(zone).strftime("%a %d %b")


@bp.get("/participants/<study_id>")
@requires(FOLLOW_UP)
def participant(study_id: str):
    return _page(_participant_or_404(study_id))


def _posted(form_class, study_id: str):
    """(participant, form) for a valid action form about this page's participant, else a 400 page."""
    participant = _participant_or_404(study_id)
    form = form_class()
    if not form.validate_on_submit():
        problems = {name: "; ".join(map(str, errors)) for name, errors in form.errors.items()}   # some are lazy
        return participant, None, _page(participant, 400, problems)
    if form.study_id.data != study_id:
        return participant, None, _page(participant, 400, {
            "form": _("This form was for another participant, so nothing was changed. Please try again.")})
    return participant, form, None


@bp.post("/participants/<study_id>/resend")
@requires(FOLLOW_UP)
def resend(study_id: str):
    participant, form, page = _posted(forms.TimepointForm, study_id)
    if page:
        return page
    timepoint = form.timepoint.data
    dispatcher = reminders.dispatcher(current_app._get_current_object())
    question = sms_answers.asks_by_sms(get_db(), protocol(), participant, timepoint)
    try:
        outcome = participant_admin.resend_link(get_db(), dispatcher, participant, timepoint, actor=actor(), now=now())
    except AdminError as exc:
        return _page(participant, 400, exc.errors)
    label = protocol().timepoint(timepoint).label
    outcomes = {
        "sent": _("SMS with the pain question for %(timepoint)s sent.", timepoint=label) if question
        else _("SMS with a new link for %(timepoint)s sent.", timepoint=label),
        "deferred": _("It is quiet hours where the participant lives: the SMS will go at 09:00 their time."),
        "cancelled": _("No SMS sent: the participant opted out, has no usable number, or is withdrawn."),
        "opted_out": _("No SMS sent: Twilio reports the participant opted out (replied STOP)."),
        "bad_number": _("No SMS sent: the number cannot receive SMS. Please check it."),
        "retried": _("The SMS service is busy: it will be retried in a minute."),
        "failed": _("The SMS could not be sent."),
        "fell_back": _("WhatsApp refused the message: it goes by SMS instead, within a minute."),
        "not_on_whatsapp": _("The number is not on WhatsApp: reminders go by SMS from now on."),
    }
    flash(outcomes.get(outcome, outcome), "success" if outcome == "sent" else "warning")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/link")
@requires(FOLLOW_UP)
def show_link(study_id: str):
    participant, form, page = _posted(forms.TimepointForm, study_id)
    if page:
        return page
    try:
        token, window = links.issue_link(get_db(), study_id, form.timepoint.data, actor=actor(), now=now())
    except links.LinkError as exc:
        return _page(participant, 400, {"timepoint": str(exc)})
    url = patient_url(token)
    qr = segno.make(url, error="m").svg_inline(scale=5, title=_("Link to the questionnaire"), dark="#1a1a1a",
                                               omitsize=True)  # a viewBox, so CSS can size it
    return render_template("staff/link.html", participant=participant, url=url, qr=qr, timepoint=form.timepoint.data,
                           closes=local_time(window["closes_at"], ZoneInfo(participant["timezone"])))


def _act(study_id: str, form_class, change) -> object:
    """A participant action: a valid form, then ``change(participant, form)``, which returns the
    message to show, or raises AdminError, shown on the page with nothing changed."""
    participant, form, page = _posted(form_class, study_id)
    if page:
        return page
    try:
        done = change(participant, form)
    except AdminError as exc:
        return _page(participant, 400, exc.errors)
    flash(done, "success")
    return redirect(url_for(".participant", study_id=study_id), 303)


@bp.post("/participants/<study_id>/contact-details")
@requires(FOLLOW_UP)
def contact_details(study_id: str):
    def change(participant, form):
        changed = participant_admin.update_contact(
            get_db(), protocol(), current_app.config["LANGUAGES"], study_id, phone=form.phone.data or None,
            timezone=(form.timezone.data or "").strip(), language=form.language.data, actor=actor(), now=now(),
            country=current_app.config["DEFAULT_COUNTRY"])
        if not changed:
            return _("Nothing changed.")
        return _("Saved: %(fields)s", fields=", ".join(words(key).lower() for key in changed))
    return _act(study_id, forms.ContactDetailsForm, change)


@bp.post("/participants/<study_id>/sms")
@requires(FOLLOW_UP)
def sms_preference(study_id: str):
    def change(participant, form):
        if form.opted_out.data not in ("out", "in"):
            raise AdminError({"form": _("Choose opt out or opt in.")})
        opting_out = form.opted_out.data == "out"
        messaging.set_sms_preference(get_db(), study_id, opting_out, actor=actor(), now=now(),
                                     reason="recorded by staff")
        return _("SMS reminders stopped.") if opting_out else _("SMS reminders restarted.")
    return _act(study_id, forms.OptOutForm, change)


@bp.post("/participants/<study_id>/sms-answers")
@requires(FOLLOW_UP)
def sms_answers_mode(study_id: str):
    def change(participant, form):
        if form.answers_by_sms.data not in ("on", "off"):
            raise AdminError({"form": _("Choose SMS answers or links.")})
        on = form.answers_by_sms.data == "on"
        try:
            changed = sms_answers.set_answers_by_sms(get_db(), study_id, on, reason=form.sms_reason.data,
                                                     actor=actor(), now=now())
        except AdminError as exc:   # this form's reason field is sms_reason (withdraw has a reason too)
            raise AdminError({"sms_reason" if key == "reason" else key: message
                              for key, message in exc.errors.items()}) from exc
        if not changed:
            return _("Nothing changed.")
        if on:
            return _("%(study_id)s gets the pain question at %(timepoints)s by SMS and answers by reply.",
                     study_id=study_id, timepoints=_question_labels())
        return _("%(study_id)s gets links again.", study_id=study_id)
    return _act(study_id, forms.SmsAnswersForm, change)


@bp.post("/participants/<study_id>/channel")
@requires(FOLLOW_UP)
def channel(study_id: str):
    def change(participant, form):
        try:
            changed = participant_admin.set_channel(
                get_db(), study_id, form.channel.data or "", opt_in=bool(form.whatsapp_opt_in.data),
                wording_version=OPT_IN_WORDING_VERSION, actor=actor(), now=now())
        except LookupError:
            abort(404)
        if not changed:
            return _("Nothing changed.")
        said = {"channel": _("reminders now by %(channel)s", channel=words(form.channel.data)),
                "opt_in": _("WhatsApp opt-in recorded"), "whatsapp_problem": _("the \"not on WhatsApp\" flag cleared")}
        return _("Saved: %(changes)s.", changes="; ".join(str(said[key]) for key in changed))
    return _act(study_id, forms.ChannelForm, change)


@bp.post("/participants/<study_id>/withdraw")
@requires(FOLLOW_UP)
def withdraw(study_id: str):
    def change(participant, form):
        participant_admin.withdraw(get_db(), study_id, reason=form.reason.data, actor=actor(), now=now())
        return _("%(study_id)s withdrawn: reminders stopped, data kept.", study_id=study_id)
    return _act(study_id, forms.WithdrawForm, change)


@bp.post("/participants/<study_id>/contacts")
@requires(FOLLOW_UP)
def log_contact(study_id: str):
    def change(participant, form):
        participant_admin.log_contact(get_db(), protocol(), study_id, kind=form.kind.data, outcome=form.outcome.data,
                                      timepoint=form.timepoint.data, note=form.note.data, actor=actor(), now=now())
        return _("Contact recorded.")
    return _act(study_id, forms.ContactForm, change)
