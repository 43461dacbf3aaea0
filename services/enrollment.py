"""Enrolling a participant: validate everything, then store participant, schedule and audit."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import phonenumbers

from questionnaires.protocol import Protocol
from scheduler.reminders import plan
from scheduler.schedule import schedule
from storage import participants, reminders, write
from storage.audit import record
from storage.db import utc_iso

STUDY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LANGUAGE = "en"


class EnrollmentError(ValueError):
    """Bad enrollment data. ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


@dataclass(frozen=True)
class Enrollment:
    study_id: str
    arm: str
    phone: str | None
    timezone: str
    language: str
    procedure_date: date | None


def normalise_phone(raw: str) -> str:
    """E.164 ("+441632960961") from a number written with its country code; ValueError if invalid."""
    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number; write it with its country code, e.g. +441632960961") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def validate_enrollment(protocol: Protocol, languages: list[str], *, study_id: str, arm: str,
                        phone: str | None, timezone: str | None, language: str | None,
                        procedure_date: str | date | None) -> Enrollment:
    errors: dict[str, str] = {}
    study_id = (study_id or "").strip()
    if not STUDY_ID_PATTERN.match(study_id):
        errors["study_id"] = "1-32 letters, digits, - or _, starting with a letter or digit"
    if arm not in protocol.arm_codes:
        errors["arm"] = f"must be one of {', '.join(protocol.arm_codes)}"
    clean_phone = None
    if phone:
        try:
            clean_phone = normalise_phone(phone)
        except ValueError as exc:
            errors["phone"] = str(exc)
    timezone = timezone or DEFAULT_TIMEZONE
    if timezone not in available_timezones():
        errors["timezone"] = f"unknown IANA time zone {timezone!r} (e.g. Africa/Cairo, Europe/London)"
    language = language or DEFAULT_LANGUAGE
    if language not in languages:
        errors["language"] = f"must be one of {', '.join(languages)}"
    clean_date = None
    if isinstance(procedure_date, date):
        clean_date = procedure_date
    elif procedure_date:
        try:
            clean_date = date.fromisoformat(procedure_date)
        except ValueError:
            errors["procedure_date"] = "must be a date written YYYY-MM-DD"
    if errors:
        raise EnrollmentError(errors)
    return Enrollment(study_id, arm, clean_phone, timezone, language, clean_date)


def enroll(db, protocol: Protocol, enrollment: Enrollment, *, actor: str, now: datetime) -> int:
    """Store the participant and, when the procedure date is known, every timepoint window."""
    with write(db):
        if participants.by_study_id(db, enrollment.study_id):
            raise EnrollmentError({"study_id": f"{enrollment.study_id} is already enrolled"})
        row = asdict(enrollment)
        row["procedure_date"] = enrollment.procedure_date.isoformat() if enrollment.procedure_date else None
        row.update(enrolled_at=utc_iso(now), enrolled_by=actor)
        participant_id = participants.insert(db, row)
        if enrollment.procedure_date is not None:
            zone = _zone(enrollment.timezone)
            windows = schedule(protocol, enrollment.procedure_date, zone)
            participants.insert_timepoints(db, participant_id, windows)
            for timepoint, window in zip(protocol.timepoints, windows):
                if timepoint.remind:
                    planned = plan(protocol.reminders, window.opens_at, window.closes_at, zone)
                    reminders.insert_planned(db, participant_id, timepoint.id, planned, now)
        audited = {key: value for key, value in row.items() if key != "phone"}
        record(db, at=now, actor=actor, action="enroll", entity="participant",
               entity_id=enrollment.study_id, after=audited | {"phone_set": bool(enrollment.phone)})
    return participant_id


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:  # validated above; kept for rows written by older code
        raise EnrollmentError({"timezone": f"unknown IANA time zone {name!r}"}) from None
