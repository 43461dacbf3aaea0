"""The words staff read for codes: timepoints, languages, statuses, actions, reasons.

Templates never show a code where a person reads it: they go through these filters
(``timepoint``, ``language``, ``status``, ``words``), registered on the app.

The words are lazy strings (``_`` is ``lazy_gettext`` here): made at import, as form labels are,
and read in the staff language (FLASK_STAFF_LANGUAGE) when a page shows them. Audit actions are
storage's own words and are shown as written there.
"""
from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import Flask
from flask_babel import get_locale
from flask_babel import lazy_gettext as _
from flask_babel.speaklater import LazyString

from scheduler import followup
from storage.audit import ACTIONS
from web.context import protocol

STATUS = {
    followup.OVERDUE: _("Overdue"), followup.OPEN: _("Open"), followup.COMPLETED: _("Completed"),
    followup.MISSED: _("Missed"), followup.UPCOMING: _("Upcoming"), followup.NOT_APPLICABLE: _("Not applicable"),
}
# One mark per status, for the compact row of timepoints on the board's cards.
STATUS_MARK = {
    followup.COMPLETED: "✓", followup.OVERDUE: "!", followup.OPEN: "○", followup.MISSED: "✗",
    followup.UPCOMING: "·", followup.NOT_APPLICABLE: "–",
}
# Other codes that reach a page: reminder states and reasons, participant states, contact kinds.
WORDS = {
    "sms": _("SMS"), "in_person": _("In person"), "no_answer": _("No answer"), "wrong_number": _("Wrong number"),
    "will_complete": _("Will complete"), "opted_out": _("Opted out"), "no_phone": _("No phone number"),
    "bad_number": _("Number cannot take SMS"), "window_closed": _("Window closed"), "quiet_hours": _("Quiet hours"),
    "superseded": _("A later reminder went instead"), "gateway_unavailable": _("SMS service unavailable"),
    "not_sent": _("Not sent"), "in_doubt": _("Being checked"), "sending_unconfirmed": _("Sending"),
    "answered": _("Question answered"), "answers_by_sms": _("Answers by SMS reply"),
    "whatsapp": _("WhatsApp"), "read": _("Read"), "not_on_whatsapp": _("Not on WhatsApp"),
    "no_whatsapp_opt_in": _("No WhatsApp opt-in recorded yet"),
    "whatsapp_not_set_up": _("WhatsApp is not set up on this site"), "clinic": _("In clinic"),
    "patient_message": _("The patient's own WhatsApp message"),
}
# Codes that words() would otherwise show capitalised ("voicemail" -> "Voicemail"), listed so that
# a site can translate them; the English is the same. Roles, the board's filters, contact kinds and
# outcomes, participant, reminder and SMS states, what audit entries are about, screening outcomes.
WORDS.update({
    "nurse": _("Nurse"), "investigator": _("Investigator"), "admin": _("Admin"),
    "replied": _("Reply waiting"), "sms_failed": _("SMS failed"),
    "call": _("Call"), "email": _("Email"), "reached": _("Reached"), "voicemail": _("Voicemail"),
    "declined": _("Declined"), "other": _("Other"), "active": _("Active"), "withdrawn": _("Withdrawn"),
    "pending": _("Pending"), "sending": _("Sending"), "sent": _("Sent"), "cancelled": _("Cancelled"),
    "failed": _("Failed"), "queued": _("Queued"), "accepted": _("Accepted"), "delivered": _("Delivered"),
    "undelivered": _("Undelivered"),
    "participant": _("Participant"), "response": _("Response"), "message": _("Message"), "user": _("User"),
    "dataset": _("Dataset"), "report": _("Report"), "screening": _("Screening"), "trial": _("Trial"),
    "randomization_list": _("Randomization list"), "baseline": _("Baseline"), "procedure": _("Procedure"),
    "eligibility": _("Eligibility"), "enrolled": _("Enrolled"), "not_enrolled": _("Not enrolled"),
    "enrolled_by_override": _("Enrolled by override"),
})
# Fields the audit log names in its entries (and the contact details a flash says were saved).
WORDS.update({
    "study_id": _("Study id"), "arm": _("Arm"), "stratum": _("Stratum"), "allocation": _("Allocation"),
    "status": _("Status"), "phone": _("Phone"), "timezone": _("Timezone"), "language": _("Language"),
    "phone_problem": _("Phone problem"), "sms_opt_out": _("Sms opt out"), "timepoint": _("Timepoint"),
    "kind": _("Kind"), "note": _("Note"), "reason": _("Reason"), "role": _("Role"), "handled": _("Handled"),
    "form": _("Form"), "item": _("Item"), "version": _("Version"), "source": _("Source"), "format": _("Format"),
    "identifiable": _("Identifiable"), "rows": _("Rows"), "participants": _("Participants"), "seed": _("Seed"),
    "reminders_cancelled": _("Reminders cancelled"), "description": _("Description"), "outcome": _("Outcome"),
})
# The clinician forms (questionnaires/crf.py): their levels, and their fields by name, which the
# forms use as labels and the audit log as the names of what changed.
WORDS.update({
    "fluoroscopy": _("Fluoroscopy"), "ct": _("CT"), "discitis_neuritis": _("Discitis or neuritis"),
    "recovered_with_sequelae": _("Recovered with sequelae"), "adverse_event": _("Adverse event"),
    "sex": _("Sex"), "male": _("Male"), "female": _("Female"), "none": _("None"), "unilateral": _("Unilateral"),
    "bilateral": _("Bilateral"), "right": _("Right"), "left": _("Left"), "no": _("No"), "yes": _("Yes"),
    "abscess": _("Abscess"), "hematoma": _("Hematoma"), "unrelated": _("Unrelated"), "unlikely": _("Unlikely"),
    "possible": _("Possible"), "probable": _("Probable"), "definite": _("Definite"), "recovered": _("Recovered"),
    "recovering": _("Recovering"), "not_recovered": _("Not recovered"), "fatal": _("Fatal"), "unknown": _("Unknown"),
    "age": _("Age (years)"), "date_of_birth": _("Date of birth"), "root_l3": _("L3 involvement"),
    "root_l4": _("L4 involvement"), "root_l5": _("L5 involvement"), "mri_finding": _("MRI finding"),
    "procedure_date": _("Procedure date"), "guidance": _("Guidance"), "operators": _("Operators"),
    "punctures": _("Puncture points"), "injected_l3": _("L3 injected"), "injected_l4": _("L4 injected"),
    "injected_l5": _("L5 injected"), "si_side": _("Sacroiliac joint injection"),
    "operative_min": _("Operative time (min)"), "dap_mgycm2": _("Dose-area product, DAP (mGy·cm²)"),
    "fluoro_time_s": _("Fluoroscopy time (s)"), "ctdivol_mgy": _("CTDIvol (mGy)"),
    "dlp_mgycm": _("Dose-length product, DLP (mGy·cm)"), "contrast_extravasation": _("Contrast extravasation"),
    "dexamethasone_mg": _("Dexamethasone (mg)"), "lidocaine_mg": _("Lidocaine (mg)"),
    "bupivacaine_mg": _("Bupivacaine (mg)"), "methylprednisolone_mg": _("Methylprednisolone acetate (mg)"),
    "rf_temperature_c": _("Pulsed RF temperature (°C)"), "rf_frequency_hz": _("Pulsed RF frequency (Hz)"),
    "rf_pulse_width_ms": _("Pulsed RF pulse width (ms)"), "rf_duration_s": _("Pulsed RF duration (s)"),
    "deviation_reason": _("Deviation reason"), "event": _("Event"), "onset_date": _("Onset date"),
    "serious": _("Serious"), "related": _("Related to the procedure"), "acknowledged_by": _("Acknowledged by"),
    "acknowledged_at": _("Acknowledged at"),
})
# CTCAE v5 grades of an adverse event.
GRADES = {1: _("Grade 1, mild"), 2: _("Grade 2, moderate"), 3: _("Grade 3, severe"),
          4: _("Grade 4, life-threatening"), 5: _("Grade 5, death")}


def words(code: str | None) -> str | LazyString:
    """A code as words: "no_answer" -> "No answer"."""
    if not code:
        return ""
    for table in (WORDS, ACTIONS, STATUS):   # by key: a lazy string is not read before it is shown
        if code in table:
            return table[code]
    return code.replace("_", " ").capitalize()


def _reader() -> str:
    """The language the page is read in (the staff language on staff pages)."""
    return str(get_locale() or "en")


def language(code: str | None) -> str:
    """"ar" -> "Arabic (العربية)" on an English page; an unknown code is shown as it is."""
    return _language_name(code, _reader()) if code else ""


@lru_cache(maxsize=64)
def _language_name(code: str, reader: str) -> str:
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return code
    named, own = locale.get_display_name(reader), locale.get_display_name(code)
    return named if named == own else f"{named} ({own})"


def country_name(code: str | None) -> str:
    """"EG" -> "Egypt" on an English page."""
    if not code:
        return ""
    return Locale.parse(_reader()).territories.get(code, code)


def timepoint(timepoint_id: str | None) -> str:
    """A timepoint's label from the protocol: "day1" -> "1 day"."""
    if not timepoint_id:
        return ""
    found = protocol().timepoint(timepoint_id)
    return found.label if found else timepoint_id


def status(code: str) -> str | LazyString:
    return STATUS.get(code, words(code))


def grade(value) -> str | LazyString:
    """An adverse event's CTCAE grade: 3 -> "Grade 3, severe"."""
    if value is None:
        return ""
    return GRADES[value] if value in GRADES else _("Grade %(grade)s", grade=value)


def init_app(app: Flask) -> None:
    for name, function in (("timepoint", timepoint), ("language", language), ("status", status),
                           ("words", words), ("grade", grade)):
        app.add_template_filter(function, name)
    app.add_template_global(STATUS_MARK, "status_marks")
