"""The demo trial: 200 synthetic participants, randomized and answering like the reference trial,
stored through the same services and named queries as a real trial's.

``seed`` is a use case like the others: it is handed a connection, the protocol, ``now`` and a
seed, and imports no Flask. It is deterministic for a seed and a day (one ``random.Random``
stream per participant, so skipping one changes nobody else) and resumable: the database is
marked as the demo's before anything else is stored, a participant already enrolled is not
enrolled again, and the history of everyone who has none yet is written in one transaction.

The answers are shaped like the reference paper's results (Tables 3, 5 and 6): VAS about 6.5 cm
before the procedure falling to about 3 at six months, arm B (CT-guided) about 0.5 cm worse at
each follow-up; ODI about 32 % falling to about 16 %; most patients satisfied or very satisfied;
NSAID use down by about 70 %; a few on tramadol. Procedures are spread over the past eight
months, so the trial is mid-flight: the first participants are done, the last have only just
been seen, some follow-ups were missed, a few patients replied STOP or wrote to the nurses, and
two withdrew. Reminders that fell due before ``now`` are settled as the scheduler would have
settled them; only those still to come are left pending.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from questionnaires.protocol import Protocol
from randomization import stratum_for
from services import accounts, allocation, enrollment, links, screening
from services.demo.cast import roster
from services.demo.clinical import write_clinical
from services.demo.config import (
    ADMIN,
    DEMO_SEED,
    INVESTIGATOR,
    LANGUAGE,
    LINK_IDS,
    LINK_PARTICIPANTS,
    MARKER,
    OPT_OUTS,
    PARTICIPANTS,
    PASSWORD,
    PER_STRATUM,
    REPLIES,
    STAFF,
    WITHDRAWALS,
    ZONE,
    DemoError,
    DemoLink,
    Person,
    Summary,
    Texts,
    local_today,
)
from services.demo.history import reply, withdraw, write_histories
from storage import participants, randomization, responses, settings, write
from storage.audit import record

__all__ = ["DEMO_SEED", "OPT_OUTS", "PASSWORD", "REPLIES", "STAFF", "WITHDRAWALS", "DemoError", "DemoLink",
           "Summary", "Texts", "check_is_ours", "ensure_staff", "issue_links", "local_today", "roster", "seed"]


def seed(db, protocol: Protocol, languages: list[str], texts: Texts, *, actor: str, now: datetime,
         rng_seed: int = DEMO_SEED) -> Summary:
    """Make (or complete) the demo trial in ``db``; DemoError if it holds a trial of its own."""
    check_is_ours(db)
    if settings.get(db, settings.DEMO) is None:
        with write(db):   # first, so an interrupted run is still recognised as the demo's
            settings.put(db, settings.DEMO, MARKER.format(seed=rng_seed), actor=actor, now=now)
            record(db, at=now, actor=actor, action="seed_demo", entity="trial", entity_id=settings.DEMO,
                   after={"seed": rng_seed, "participants": PARTICIPANTS + len(LINK_PARTICIPANTS)})
    people = roster(protocol, rng_seed, now)
    opened = min(person.enrolled_at for person in people) - timedelta(days=1)
    _ensure_allocations(db, people, rng_seed, opened)
    ensure_staff(db, opened)
    enrolled = 0
    for person in people:
        if participants.by_study_id(db, person.study_id) is None:
            try:
                clean = enrollment.validate_enrollment(
                    protocol, languages, study_id=person.study_id, arm=None, punctures=person.punctures,
                    phone=person.phone, timezone=ZONE.key, language=LANGUAGE, procedure_date=person.procedure_date,
                    eligibility=screening.criteria_met(protocol))
                enrollment.enroll(db, protocol, clean, actor=INVESTIGATOR, now=person.enrolled_at)
            except enrollment.EnrollmentError as exc:   # e.g. FLASK_LANGUAGES without "en"
                raise DemoError(f"{person.study_id} cannot be enrolled: {exc}") from None
            enrolled += 1
    write_histories(db, protocol, people, texts, now, rng_seed)
    write_clinical(db, protocol, people, now, rng_seed)
    for person in people:
        withdraw(db, protocol, person, now)
        reply(db, person, now)
    arms = participants.arms_by_study_id(db)
    per_arm = {arm.code: sum(1 for code in arms.values() if code == arm.code) for arm in protocol.arms}
    return Summary(per_arm, sum(1 for _ in responses.newest(db)), enrolled)


def check_is_ours(db) -> None:
    """Refuse a database that holds a trial other than the demo's (participants or an allocation
    list, and no demo marker). A database from the first demo (only DEMO-001..003) is the demo's."""
    if settings.get(db, settings.DEMO) is not None:
        return
    enrolled = {row["study_id"] for row in participants.every(db)}
    if (enrolled and not enrolled <= LINK_IDS) or (not enrolled and randomization.has_list(db)):
        held = f"{len(enrolled)} participant(s)" if enrolled else "a randomization list"
        raise DemoError(f"this database holds a trial that is not the demo's ({held}, no demo marker); "
                        "point FLASK_DATABASE at another file")


def issue_links(db, *, actor: str, now: datetime) -> list[DemoLink]:
    """A fresh link for each of the three participants kept ready to try."""
    found = []
    for study_id, *_, timepoint in LINK_PARTICIPANTS:
        participant = participants.by_study_id(db, study_id)
        procedure = date.fromisoformat(participant["procedure_date"])
        try:
            token, _ = links.issue_link(db, study_id, timepoint, actor=actor, now=now)
        except links.LinkError as exc:
            found.append(DemoLink(study_id, timepoint, procedure, None, str(exc)))
            continue
        found.append(DemoLink(study_id, timepoint, procedure, token))
    return found


def _ensure_allocations(db, people: list[Person], rng_seed: int, now: datetime) -> None:
    """The concealed list, with room in every stratum for everyone not yet enrolled (a database
    from the first demo has a shorter list: another is appended, as an administrator would)."""
    if not randomization.has_list(db):
        allocation.generate_list(db, seed=rng_seed, per_stratum=PER_STRATUM, actor=ADMIN, now=now)
        return
    needed: dict[str, int] = {}
    for person in people:
        if participants.by_study_id(db, person.study_id) is None:
            stratum = stratum_for(person.punctures)
            needed[stratum] = needed.get(stratum, 0) + 1
    left = randomization.remaining(db)
    if any(left.get(stratum, {}).get("unused", 0) < count for stratum, count in needed.items()):
        allocation.generate_list(db, seed=rng_seed + 1, per_stratum=PER_STRATUM, actor=ADMIN, now=now)


def ensure_staff(db, now: datetime) -> None:
    """The demo's three accounts, one per role, all with PASSWORD."""
    for email, role in STAFF:
        try:
            accounts.create_user(db, email=email, password=PASSWORD, role=role, actor=ADMIN, now=now)
        except accounts.AccountError:
            pass  # created by an earlier run
