"""Enrolling a participant: randomized, or with an arm allocated outside the app."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from services import enrollment, screening
from web.auth.access import ENROLL, requires
from web.context import now, protocol
from web.database import get_db
from web.labels import country_name, language
from web.staff import forms
from web.staff.blueprint import actor, bp
from web.reminders import whatsapp_set_up
from web.whatsapp_texts import OPT_IN_WORDING_VERSION, opt_in_wording


@bp.route("/enroll", methods=["GET", "POST"])
@requires(ENROLL)
def enroll():
    config = current_app.config
    form = forms.EnrollForm(timezone=config["DEFAULT_TIMEZONE"], language=config["LANGUAGES"][0])
    form.language.choices = [forms.SelectChoice(code, language(code)) for code in config["LANGUAGES"]]
    form.external_arm.choices = [forms.SelectChoice(arm.code, f"{arm.code}: {arm.label}") for arm in protocol().arms]
    errors: dict[str, str] = {}
    ticked = request.form.getlist("criteria")
    override = request.form.get("override_reason", "")
    if request.method == "POST" and request.form.get("action") == "not_enrolled":
        # CSRFProtect has checked the token already; only the eligibility answers are kept.
        screening.record_not_enrolled(get_db(), screening.assess(protocol(), ticked), actor=actor(), now=now())
        flash(_("Screening recorded: not enrolled (no identifier kept)."), "success")
        return redirect(url_for(".enroll"), 303)
    if request.method == "POST":
        if form.validate_on_submit():
            external = form.allocation.data == "external"
            try:
                clean = enrollment.validate_enrollment(
                    protocol(), current_app.config["LANGUAGES"], study_id=form.study_id.data,
                    arm=form.external_arm.data if external else None, phone=form.phone.data or None,
                    timezone=(form.timezone.data or "").strip() or config["DEFAULT_TIMEZONE"],
                    language=form.language.data, procedure_date=(form.procedure_date.data or "").strip(),
                    punctures=form.punctures.data, reason=form.reason.data if external else None,
                    require_reason=True, today=now().date(), confirm_date=form.confirm_date.data,
                    country=config["DEFAULT_COUNTRY"], eligibility=screening.assess(protocol(), ticked, override),
                    channel=form.channel.data,
                    whatsapp_opt_in=OPT_IN_WORDING_VERSION if form.whatsapp_opt_in.data else None)
                created = enrollment.enroll(get_db(), protocol(), clean, actor=actor(), now=now())
            except enrollment.EnrollmentError as exc:
                errors = exc.errors
            else:
                arm = protocol().arm(created["arm"])
                who = {"study_id": created["study_id"], "arm": arm.code, "label": arm.label}
                flash(_("%(study_id)s randomized to arm %(arm)s (%(label)s).", **who) if clean.arm is None
                      else _("%(study_id)s enrolled in arm %(arm)s (%(label)s).", **who), "success")
                return redirect(url_for(".participant", study_id=created["study_id"]), 303)
        else:
            errors = {name: "; ".join(messages) for name, messages in form.errors.items()}
    return render_template("staff/enroll.html", form=form, errors=errors, country=config["DEFAULT_COUNTRY"],
                           protocol=protocol(), ticked=set(ticked), override_reason=override,
                           country_name=country_name(config["DEFAULT_COUNTRY"]),
                           phone_example=enrollment.national_example(config["DEFAULT_COUNTRY"]), today=now().date(),
                           opt_in_wordings=[(code, opt_in_wording(code)) for code in config["LANGUAGES"]],
                           opt_in_version=OPT_IN_WORDING_VERSION,
                           whatsapp_site=whatsapp_set_up(current_app._get_current_object())), \
        400 if errors else 200


