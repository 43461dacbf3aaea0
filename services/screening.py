"""Eligibility at enrollment, and the screening log for the CONSORT flow.

The criteria are the protocol file's. Each answer is kept: with the participant's record when they
are enrolled (form "eligibility", versioned like every clinician form), and, without any
identifier, in the screening log when they are not. An ineligible person is randomized only on an
investigator's override with a reason: a protocol deviation, in the audit log and the report.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from questionnaires.crf import ELIGIBILITY_FORM, check_eligibility
from questionnaires.protocol import Protocol
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import crf, write
from storage.audit import record

ENROLLED, NOT_ENROLLED, OVERRIDDEN = "enrolled", "not_enrolled", "enrolled_by_override"


@dataclass(frozen=True)
class Eligibility:
    answers: dict[str, str]            # criterion id -> yes / no
    failed: tuple[str, ...]            # the criteria that make the person ineligible
    override_reason: str | None = None

    @property
    def eligible(self) -> bool:
        return not self.failed

    @property
    def outcome(self) -> str:
        return ENROLLED if self.eligible else OVERRIDDEN


def assess(protocol: Protocol, ticked: Iterable[str], override_reason: str | None = None) -> Eligibility:
    """Each inclusion criterion ticked is met; each exclusion criterion ticked applies."""
    ticked = set(ticked)
    answers = {c.id: "yes" if c.id in ticked else "no"
               for c in (*protocol.clinical.inclusion, *protocol.clinical.exclusion)}
    clean, failed = check_eligibility(answers, protocol.clinical)
    reason = clean_text(override_reason)[:MAX_REASON_LENGTH] or None
    return Eligibility(clean, tuple(failed), reason)


def criteria_met(protocol: Protocol) -> Eligibility:
    """Every inclusion criterion met and no exclusion criterion (`enroll --criteria-met`)."""
    return assess(protocol, [c.id for c in protocol.clinical.inclusion])


def problem(protocol: Protocol, eligibility: Eligibility) -> str | None:
    """Why enrollment must stop, in words; None when the person is eligible or overridden."""
    if eligibility.eligible or eligibility.override_reason:
        return None
    texts = {c.id: c.text for c in (*protocol.clinical.inclusion, *protocol.clinical.exclusion)}
    inclusion = {c.id for c in protocol.clinical.inclusion}
    said = [("not met: " if c in inclusion else "applies: ") + texts[c] for c in eligibility.failed]
    return ("not eligible (" + "; ".join(said) + "). Record the screening, or randomize on an investigator's "
            "override with a reason")


def record_with_enrollment(db, participant: dict, eligibility: Eligibility, *, actor: str, now: datetime) -> None:
    """Inside the enrollment's transaction: the answers on the participant's record, a screening
    log row, and an audit entry (an override is a protocol deviation, with its reason)."""
    crf.insert_version(db, participant_id=participant["id"], form=ELIGIBILITY_FORM, item=0, version=1,
                       data={"answers": eligibility.answers, "failed": list(eligibility.failed),
                             "override_reason": eligibility.override_reason}, at=now, by=actor, reason=None)
    crf.insert_screening(db, at=now, by=actor, answers=eligibility.answers, failed=list(eligibility.failed),
                         outcome=eligibility.outcome, override_reason=eligibility.override_reason)
    record(db, at=now, actor=actor, action="screen", entity="participant", entity_id=participant["study_id"],
           after={"outcome": eligibility.outcome, "failed": list(eligibility.failed),
                  "deviation": not eligibility.eligible}, reason=eligibility.override_reason)


def record_not_enrolled(db, eligibility: Eligibility, *, actor: str, now: datetime) -> int:
    """Someone screened and not enrolled: counted for the CONSORT flow, with no identifier."""
    with write(db):
        screening_id = crf.insert_screening(db, at=now, by=actor, answers=eligibility.answers,
                                            failed=list(eligibility.failed), outcome=NOT_ENROLLED,
                                            override_reason=None)
        record(db, at=now, actor=actor, action="screen", entity="screening", entity_id=screening_id,
               after={"outcome": NOT_ENROLLED, "failed": list(eligibility.failed)})
    return screening_id
