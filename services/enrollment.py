"""Enrolling a participant: validate everything, allocate the arm, then store participant,
schedule, reminders and audit entries in one transaction. The web form and the CLI both come here.

The arm comes either from the concealed stratified randomization list (services.allocation) or,
for an arm allocated outside the app, from the caller with a reason. Either way it is final.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers

from questionnaires.protocol import Protocol
from randomization import stratum_for
from scheduler import channels
from scheduler.reminders import plan
from scheduler.schedule import schedule
from services import screening, whatsapp
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import participants, randomization, reminders, write
from storage.audit import record
from storage.db import utc_iso

STUDY_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
DEFAULT_TIMEZONE = "UTC"
DEFAULT_LANGUAGE = "en"
# Procedure dates this far from today are more likely typos than plans: they need confirming.
# Baseline is collected in the 30 days before the procedure; six months ahead is a long wait list.
PLAUSIBLE_PAST_DAYS = 30
PLAUSIBLE_FUTURE_DAYS = 180
# Outside these no confirmation helps: a schedule runs up to years past the procedure, and a date
# near the calendar's ends (9999-12-31, 0001-01-01) cannot carry one. Wide enough for a registry's
# historical procedures; far beyond any typo a nurse means.
EARLIEST_PROCEDURE = date(1990, 1, 1)
LATEST_PROCEDURE = date(2099, 12, 31)
RANDOMIZED = "randomized"
EXTERNAL = "external"


class EnrollmentError(ValueError):
    """Bad enrollment data. ``errors`` maps each field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{field}: {message}" for field, message in errors.items()))


@dataclass(frozen=True)
class Enrollment:
    study_id: str
    arm: str | None            # None: take the next allocation of the stratum
    phone: str | None
    timezone: str
    language: str
    procedure_date: date | None
    punctures: int | None = None
    allocation_reason: str | None = None
    eligibility: screening.Eligibility | None = None   # None: not asked (the CLI without --criteria-met)
    channel: str = channels.SMS
    whatsapp_opt_in: str | None = None   # the wording version the patient agreed to in clinic; None: no opt-in

    @property
    def allocation(self) -> str:
        return RANDOMIZED if self.arm is None else EXTERNAL


def normalise_phone(raw: str, country: str | None = None) -> str:
    """E.164 ("+201001234567") from a number written with its country code, or in the national
    format of ``country`` (the site's, e.g. "010 0123 4567" in EG); ValueError if invalid."""
    try:
        number = phonenumbers.parse(raw, country)
    except phonenumbers.NumberParseException:
        example = "010 0123 4567 or +20 10 0123 4567" if country == "EG" else "+20 10 0123 4567"
        raise ValueError(f"not a phone number; write it with its country code, e.g. {example}") from None
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid mobile number for its country")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def national_example(country: str | None) -> str | None:
    """A mobile number as people write it in ``country``, e.g. "010 0123 4567" for EG."""
    if not country:
        return None
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL) if example else None


def display_phone(e164: str | None, country: str | None = None) -> str:
    """A stored number as people write it: national format for the site's country, else international."""
    if not e164:
        return ""
    number = phonenumbers.parse(e164, None)
    national = country and phonenumbers.region_code_for_number(number) == country
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL if national
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@cache
def _zones() -> frozenset[str]:
    # Reading every zone name from tzdata takes milliseconds; the set does not change while we run.
    return frozenset(available_timezones())


def check_timezone(name: str | None) -> str:
    if not name or name not in _zones():
        raise ValueError(f"unknown IANA time zone {name!r} (e.g. Africa/Cairo, Europe/London)")
    return name


def check_country(code: str | None) -> str | None:
    """A site's country for national phone numbers: None, or a code libphonenumber knows."""
    if code is not None and code not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"{code!r} is not a country code such as EG or GB")
    return code


def check_contact(phone: str | None, timezone: str, language: str, languages: list[str],
                  errors: dict[str, str], country: str | None = None) -> str | None:
    """Phone (to E.164; ``country`` for a number written without +country code), time zone and
    language, as enrollment and nurses' edits both need; adds what is wrong to ``errors`` and
    returns the clean phone number."""
    clean_phone = None
    if phone:
        try:
            clean_phone = normalise_phone(phone, country)
        except ValueError as exc:
            errors["phone"] = str(exc)
    try:
        check_timezone(timezone)
    except ValueError as exc:
        errors["timezone"] = str(exc)
    if language not in languages:
        errors["language"] = f"must be one of {', '.join(languages)}"
    return clean_phone


def validate_enrollment(protocol: Protocol, languages: list[str], *, study_id: str, arm: str | None,
                        phone: str | None, timezone: str | None, language: str | None,
                        procedure_date: str | date | None, punctures: int | str | None = None,
                        reason: str | None = None, require_reason: bool = False,
                        today: date | None = None, confirm_date: bool = True,
                        country: str | None = None,
                        eligibility: screening.Eligibility | None = None, channel: str | None = None,
                        whatsapp_opt_in: str | None = None) -> Enrollment:
    """Every problem at once, by field. ``today`` and ``confirm_date=False`` turn on the check
    that a procedure date far from today is confirmed. ``channel``: sms (the default) or
    whatsapp; ``whatsapp_opt_in``: the version of the opt-in wording the patient agreed to in
    clinic (without one, a WhatsApp participant stays on SMS until their own first message)."""
    errors: dict[str, str] = {}
    study_id = (study_id or "").strip()
    if not STUDY_ID_PATTERN.match(study_id):
        errors["study_id"] = "1-32 letters, digits, - or _, starting with a letter or digit"
    arm = arm or None
    if arm is not None and arm not in protocol.arm_codes:
        errors["arm"] = f"must be one of {', '.join(protocol.arm_codes)}"
    reason = clean_text(reason) or None
    if arm is not None and require_reason and not reason:
        errors["reason"] = "say why the arm was allocated outside the app"
    if reason and len(reason) > MAX_REASON_LENGTH:
        errors["reason"] = f"at most {MAX_REASON_LENGTH} characters"
    clean_punctures = None
    if punctures not in (None, ""):
        try:
            clean_punctures = int(punctures)
            stratum_for(clean_punctures)
        except (TypeError, ValueError):
            errors["punctures"] = "the number of puncture points must be 1 to 6"
            clean_punctures = None
    elif arm is None:
        errors["punctures"] = "needed to randomize: the number of puncture points, 1 to 6"
    timezone = timezone or DEFAULT_TIMEZONE
    language = language or DEFAULT_LANGUAGE
    clean_phone = check_contact(phone, timezone, language, languages, errors, country)
    clean_date = None
    if isinstance(procedure_date, date):
        clean_date = procedure_date
    elif procedure_date:
        try:
            clean_date = date.fromisoformat(procedure_date)
        except ValueError:
            errors["procedure_date"] = "must be a date written YYYY-MM-DD"
    if clean_date and not EARLIEST_PROCEDURE <= clean_date <= LATEST_PROCEDURE:
        errors["procedure_date"] = (f"{clean_date.isoformat()} is not a possible procedure date: it must fall "
                                    f"between {EARLIEST_PROCEDURE:%d %b %Y} and {LATEST_PROCEDURE:%d %b %Y}")
        clean_date = None
    if clean_date and today and not confirm_date:
        if clean_date < today - timedelta(days=PLAUSIBLE_PAST_DAYS):
            errors["procedure_date"] = (f"{clean_date:%d %b %Y} is more than {PLAUSIBLE_PAST_DAYS} days ago: "
                                        "confirm it if it is right")
        elif clean_date > today + timedelta(days=PLAUSIBLE_FUTURE_DAYS):
            errors["procedure_date"] = (f"{clean_date:%d %b %Y} is more than {PLAUSIBLE_FUTURE_DAYS} days ahead: "
                                        "confirm it if it is right")
    if eligibility is not None and (why := screening.problem(protocol, eligibility)):
        errors["eligibility"] = why
    channel = channel or channels.SMS
    if channel not in channels.CHANNELS:
        errors["channel"] = f"must be one of {', '.join(channels.CHANNELS)}"
    elif channel == channels.WHATSAPP and not phone:
        errors["channel"] = "WhatsApp needs the participant's mobile number"
    if whatsapp_opt_in and channel != channels.WHATSAPP:
        errors["whatsapp_opt_in"] = "an opt-in is to WhatsApp: choose WhatsApp to record it"
    if errors:
        raise EnrollmentError(errors)
    return Enrollment(study_id, arm, clean_phone, timezone, language, clean_date, clean_punctures, reason,
                      eligibility, channel, whatsapp_opt_in or None)


def enroll(db, protocol: Protocol, enrollment: Enrollment, *, actor: str, now: datetime) -> dict:
    """Allocate, store and schedule; returns the participant row. Nothing is stored on error."""
    with write(db):
        if participants.by_study_id(db, enrollment.study_id):
            raise EnrollmentError({"study_id": f"{enrollment.study_id} is already enrolled"})
        stratum = stratum_for(enrollment.punctures) if enrollment.punctures is not None else None
        arm = enrollment.arm
        allocation = None
        if arm is None:
            allocation = randomization.peek_next(db, stratum)
            if allocation is None:
                raise EnrollmentError({"punctures": f"the randomization list for stratum {stratum} is used up "
                                                    "(or was never generated): an administrator must generate one"})
            arm = allocation["arm"]
        row = {
            "study_id": enrollment.study_id, "arm": arm, "phone": enrollment.phone,
            "timezone": enrollment.timezone, "language": enrollment.language,
            "procedure_date": enrollment.procedure_date.isoformat() if enrollment.procedure_date else None,
            "punctures": enrollment.punctures, "stratum": stratum, "allocation": enrollment.allocation,
            "allocation_reason": enrollment.allocation_reason,
            "enrolled_at": utc_iso(now), "enrolled_by": actor, "channel": enrollment.channel,
        }
        participant_id = participants.insert(db, row)
        if enrollment.whatsapp_opt_in:
            whatsapp.record_opt_in(db, participants.by_id(db, participant_id), source=channels.CLINIC,
                                   wording_version=enrollment.whatsapp_opt_in, actor=actor, now=now)
        if allocation is not None:
            randomization.assign(db, allocation["id"], participant_id, now)
        if enrollment.procedure_date is not None:
            schedule_participant(db, protocol, participant_id, enrollment.procedure_date,
                                 ZoneInfo(enrollment.timezone), now)
        if enrollment.eligibility is not None:
            screening.record_with_enrollment(db, {"id": participant_id, "study_id": enrollment.study_id},
                                             enrollment.eligibility, actor=actor, now=now)
        audited = {key: value for key, value in row.items() if key != "phone"}
        record(db, at=now, actor=actor, action="enroll", entity="participant",
               entity_id=enrollment.study_id, after=audited | {"phone_set": bool(enrollment.phone)})
        record(db, at=now, actor=actor, action="allocate", entity="participant", entity_id=enrollment.study_id,
               after={"arm": arm, "allocation": enrollment.allocation, "stratum": stratum,
                      "list_position": allocation["position"] if allocation else None},
               reason=enrollment.allocation_reason)
        return participants.by_id(db, participant_id)


def schedule_participant(db, protocol: Protocol, participant_id: int, procedure_date: date, zone: ZoneInfo,
                         now: datetime) -> None:
    windows = schedule(protocol, procedure_date, zone)
    participants.insert_timepoints(db, participant_id, windows)
    for timepoint, window in zip(protocol.timepoints, windows):
        if timepoint.remind:
            planned = plan(protocol.reminders, window.opens_at, window.closes_at, zone)
            reminders.insert_planned(db, participant_id, timepoint.id, planned, now)
