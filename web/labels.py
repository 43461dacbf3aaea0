"""The words staff read for codes: timepoints, languages, statuses, actions, reasons.

Templates never show a code where a person reads it: they go through these filters
(``timepoint``, ``language``, ``status``, ``words``), registered on the app.
"""
from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from flask import Flask

from scheduler import followup
from storage.audit import ACTIONS
from web.context import protocol

STATUS = {
    followup.OVERDUE: "Overdue", followup.OPEN: "Open", followup.COMPLETED: "Completed",
    followup.MISSED: "Missed", followup.UPCOMING: "Upcoming", followup.NOT_APPLICABLE: "Not applicable",
}
# One mark per status, for the compact row of timepoints on the board's cards.
STATUS_MARK = {
    followup.COMPLETED: "✓", followup.OVERDUE: "!", followup.OPEN: "○", followup.MISSED: "✗",
    followup.UPCOMING: "·", followup.NOT_APPLICABLE: "–",
}
# Other codes that reach a page: reminder states and reasons, participant states, contact kinds.
WORDS = {
    "sms": "SMS", "in_person": "In person", "no_answer": "No answer", "wrong_number": "Wrong number",
    "will_complete": "Will complete", "opted_out": "Opted out", "no_phone": "No phone number",
    "bad_number": "Number cannot take SMS", "window_closed": "Window closed", "quiet_hours": "Quiet hours",
    "superseded": "A later reminder went instead", "gateway_unavailable": "SMS service unavailable",
    "not_sent": "Not sent", "in_doubt": "Being checked", "sending_unconfirmed": "Sending",
}
# The clinician forms (questionnaires/crf.py): their levels, and their fields by name, which the
# forms use as labels and the audit log as the names of what changed.
WORDS.update({
    "fluoroscopy": "Fluoroscopy", "ct": "CT", "discitis_neuritis": "Discitis or neuritis",
    "recovered_with_sequelae": "Recovered with sequelae", "adverse_event": "Adverse event",
    "age": "Age (years)", "date_of_birth": "Date of birth", "root_l3": "L3 involvement",
    "root_l4": "L4 involvement", "root_l5": "L5 involvement", "mri_finding": "MRI finding",
    "procedure_date": "Procedure date", "guidance": "Guidance", "operators": "Operators",
    "punctures": "Puncture points", "injected_l3": "L3 injected", "injected_l4": "L4 injected",
    "injected_l5": "L5 injected", "si_side": "Sacroiliac joint injection", "operative_min": "Operative time (min)",
    "dap_mgycm2": "Dose-area product, DAP (mGy·cm²)", "fluoro_time_s": "Fluoroscopy time (s)",
    "ctdivol_mgy": "CTDIvol (mGy)", "dlp_mgycm": "Dose-length product, DLP (mGy·cm)",
    "contrast_extravasation": "Contrast extravasation", "dexamethasone_mg": "Dexamethasone (mg)",
    "lidocaine_mg": "Lidocaine (mg)", "bupivacaine_mg": "Bupivacaine (mg)",
    "methylprednisolone_mg": "Methylprednisolone acetate (mg)", "rf_temperature_c": "Pulsed RF temperature (°C)",
    "rf_frequency_hz": "Pulsed RF frequency (Hz)", "rf_pulse_width_ms": "Pulsed RF pulse width (ms)",
    "rf_duration_s": "Pulsed RF duration (s)", "deviation_reason": "Deviation reason", "event": "Event",
    "onset_date": "Onset date", "serious": "Serious", "related": "Related to the procedure",
    "acknowledged_by": "Acknowledged by", "acknowledged_at": "Acknowledged at",
})
# CTCAE v5 grades of an adverse event.
GRADES = {1: "Grade 1, mild", 2: "Grade 2, moderate", 3: "Grade 3, severe", 4: "Grade 4, life-threatening",
          5: "Grade 5, death"}


def words(code: str | None) -> str:
    """A code as words: "no_answer" -> "No answer"."""
    if not code:
        return ""
    return WORDS.get(code) or ACTIONS.get(code) or STATUS.get(code) or code.replace("_", " ").capitalize()


@lru_cache(maxsize=64)
def language(code: str | None) -> str:
    """"ar" -> "Arabic (العربية)"; an unknown code is shown as it is."""
    if not code:
        return ""
    try:
        locale = Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return code
    english, own = locale.get_display_name("en"), locale.get_display_name(code)
    return english if english == own else f"{english} ({own})"


def country_name(code: str | None) -> str:
    """"EG" -> "Egypt"."""
    if not code:
        return ""
    return Locale("en").territories.get(code, code)


def timepoint(timepoint_id: str | None) -> str:
    """A timepoint's label from the protocol: "day1" -> "1 day"."""
    if not timepoint_id:
        return ""
    found = protocol().timepoint(timepoint_id)
    return found.label if found else timepoint_id


def status(code: str) -> str:
    return STATUS.get(code, words(code))


def grade(value) -> str:
    """An adverse event's CTCAE grade: 3 -> "Grade 3, severe"."""
    return GRADES.get(value, f"Grade {value}" if value is not None else "")


def init_app(app: Flask) -> None:
    for name, function in (("timepoint", timepoint), ("language", language), ("status", status),
                           ("words", words), ("grade", grade)):
        app.add_template_filter(function, name)
    app.add_template_global(STATUS_MARK, "status_marks")
