"""The demo's clinician records, shaped like the reference paper's Tables 1, 2, 4 and 5:
baseline characteristics, a procedure record for everyone treated by today, the adverse events
of Table 5, and the people screened but not enrolled (for the CONSORT flow).

Validated by the real clinician forms and stored, with their audit entries, in one transaction.
Each participant has a random stream of their own, apart from the answers' (history.py), so
adding these records changed no answer.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from questionnaires.crf import (
    BASELINE_FORM,
    EVENT_FORM,
    PROCEDURE_FORM,
    validate_baseline,
    validate_event,
    validate_procedure,
)
from questionnaires.protocol import Protocol
from services.demo.config import ADMIN, INVESTIGATOR, NURSE, Person
from storage import crf, participants, write
from storage.audit import record
from storage.db import parse_utc

# Table 1: age 51.3 ± 8.8 (A) and 52.7 ± 10.1 (B); 45 % male; root involvement per level.
AGE = {"A": (51.3, 8.8), "B": (52.7, 10.1)}
MALE = 0.45
ROOTS = {"l3": {"none": 94.5, "unilateral": 0, "bilateral": 5.5},
         "l4": {"none": 20.5, "unilateral": 40.5, "bilateral": 39},
         "l5": {"none": 11, "unilateral": 44.5, "bilateral": 44.5}}
# Table 2: sacroiliac injection side; Table 4: operative time about 23 (19-30) min, doses around
# the medians printed (352 and 347.5, taken as DAP in mGy·cm² and DLP in mGy·cm).
SI_SIDE = {"none": 23.5, "right": 20, "left": 13.5, "bilateral": 43}
OPERATIVE_MIN = (24.5, 7.0)
DAP, FLUORO_TIME_S = (345, 95), (45, 15)
CTDIVOL, DLP = (9.0, 2.5), (335, 90)
CONTRAST_EXTRAVASATION = 0.05
CROSSOVER = 0.02
DRUGS = {"methylprednisolone_mg": "80", "lidocaine_mg": "40", "bupivacaine_mg": "10"}
# Table 5: complications per 100 (A: one abscess; B: one abscess, one discitis/neuritis, two hematomas).
EVENTS = {"A": {"abscess": 0.01}, "B": {"abscess": 0.01, "discitis_neuritis": 0.01, "hematoma": 0.02}}
EVENT_DETAILS = {"abscess": ("3", "yes", "probable"), "discitis_neuritis": ("3", "yes", "possible"),
                 "hematoma": ("1", "no", "definite")}
ACKNOWLEDGED_AFTER = timedelta(days=30)   # older serious events have been seen by an investigator
# Screened, not enrolled, and the criterion that excluded them.
NOT_ENROLLED = {"vas_5": 8, "stenosis": 5, "sequestration": 4, "over_3_discs": 3, "prior_surgery": 3, "pregnancy": 1}


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def write_clinical(db, protocol: Protocol, people: list[Person], now: datetime, rng_seed: int) -> None:
    """Records for everyone who has none yet, and the screening log once; one transaction."""
    todo = []
    for person in people:
        participant = participants.by_study_id(db, person.study_id)
        if crf.current(db, participant["id"], BASELINE_FORM) is None:
            todo.append((person, participant))
    first_screen = not crf.screening_counts(db)["outcomes"].get("not_enrolled")
    if not todo and not first_screen:
        return
    with write(db):
        for person, participant in todo:
            rng = random.Random(f"{rng_seed}/clinical/{person.study_id}")
            _participant_records(db, protocol, participant, now, rng)
        if first_screen:
            _not_enrolled(db, protocol, people, random.Random(f"{rng_seed}/screening"))


def _store(db, participant: dict, form: str, item: int, data: dict, *, by: str, at: datetime) -> None:
    crf.insert_version(db, participant_id=participant["id"], form=form, item=item, version=1, data=data, at=at,
                       by=by, reason=None)
    record(db, at=at, actor=by, action="record_form", entity="participant", entity_id=participant["study_id"],
           after={"form": form, "item": item, "version": 1})


def _participant_records(db, protocol: Protocol, participant: dict, now: datetime, rng: random.Random) -> None:
    zone = ZoneInfo(participant["timezone"])
    enrolled_at = parse_utc(participant["enrolled_at"])
    enrolled_on, today = enrolled_at.astimezone(zone).date(), now.astimezone(zone).date()
    arm = participant["arm"]
    mean, sd = AGE[arm]
    baseline = {"age": str(round(_clamp(rng.gauss(mean, sd), 25, 80))),
                "sex": "male" if rng.random() < MALE else "female",
                **{f"root_{level}": rng.choices(list(w), list(w.values()))[0] for level, w in ROOTS.items()}}
    _store(db, participant, BASELINE_FORM, 0, validate_baseline(baseline, enrolled_on=enrolled_on),
           by=INVESTIGATOR, at=enrolled_at + timedelta(minutes=30))
    procedure_day = date.fromisoformat(participant["procedure_date"])
    if procedure_day > today:
        return
    guidance = protocol.arm(arm).guidance
    if rng.random() < CROSSOVER:
        guidance = "ct" if guidance == "fluoroscopy" else "fluoroscopy"
    procedure = {"procedure_date": procedure_day.isoformat(), "guidance": guidance, "operators": "Demo team",
                 "punctures": str(participant["punctures"]),
                 "si_side": rng.choices(list(SI_SIDE), list(SI_SIDE.values()))[0],
                 "operative_min": f"{_clamp(rng.gauss(*OPERATIVE_MIN), 8, 90):.1f}",
                 "contrast_extravasation": "yes" if rng.random() < CONTRAST_EXTRAVASATION else "no", **DRUGS}
    if guidance == "fluoroscopy":
        procedure.update(dap_mgycm2=f"{_clamp(rng.gauss(*DAP), 60, 1500):.0f}",
                         fluoro_time_s=f"{_clamp(rng.gauss(*FLUORO_TIME_S), 5, 300):.0f}")
    else:
        procedure.update(ctdivol_mgy=f"{_clamp(rng.gauss(*CTDIVOL), 2, 40):.1f}",
                         dlp_mgycm=f"{_clamp(rng.gauss(*DLP), 60, 2000):.0f}")
    performed = datetime.combine(procedure_day, datetime.min.time(), tzinfo=zone) + timedelta(hours=13)
    clean = validate_procedure(procedure, protocol.clinical, enrolled_on=enrolled_on, today=today)
    _store(db, participant, PROCEDURE_FORM, 0, clean, by=INVESTIGATOR, at=max(performed, enrolled_at))
    item = 0
    for event, rate in EVENTS[arm].items():
        onset = procedure_day + timedelta(days=rng.randint(2, 20))
        if rng.random() >= rate or onset > today:
            continue
        grade, serious, related = EVENT_DETAILS[event]
        item += 1
        data = validate_event({"event": event, "onset_date": onset.isoformat(), "grade": grade, "serious": serious,
                               "related": related, "outcome": "recovered"}, enrolled_on=enrolled_on, today=today)
        at = datetime.combine(onset, datetime.min.time(), tzinfo=zone) + timedelta(hours=11)
        _store(db, participant, EVENT_FORM, item, data, by=NURSE, at=at)
        if serious == "yes" and now - at > ACKNOWLEDGED_AFTER:
            seen = at + timedelta(days=1)
            crf.insert_version(db, participant_id=participant["id"], form=EVENT_FORM, item=item, version=2,
                               data={**data, "acknowledged_by": ADMIN, "acknowledged_at": seen.isoformat()},
                               at=seen, by=ADMIN, reason="acknowledged by an investigator")


def _not_enrolled(db, protocol: Protocol, people: list[Person], rng: random.Random) -> None:
    inclusion = [c.id for c in protocol.clinical.inclusion]
    exclusion = {c.id for c in protocol.clinical.exclusion}
    for criterion, count in NOT_ENROLLED.items():
        for _ in range(count):
            answers = {c: "yes" if c in inclusion else "no" for c in (*inclusion, *exclusion)}
            answers[criterion] = "no" if criterion in inclusion else "yes"
            at = rng.choice(people).enrolled_at - timedelta(hours=rng.randint(1, 48))
            screening_id = crf.insert_screening(db, at=at, by=INVESTIGATOR, answers=answers, failed=[criterion],
                                                outcome="not_enrolled", override_reason=None)
            record(db, at=at, actor=INVESTIGATOR, action="screen", entity="screening", entity_id=screening_id,
                   after={"outcome": "not_enrolled", "failed": [criterion]})
