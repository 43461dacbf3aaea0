"""Who is in the demo trial, decided from the seed before anything is stored. Pure."""
from __future__ import annotations

import random
from datetime import datetime, time, timedelta

from questionnaires.protocol import Protocol
from services.demo.config import (
    AHEAD_DAYS,
    LINK_PARTICIPANTS,
    LINK_PHONE_FORMAT,
    OPT_OUTS,
    PARTICIPANTS,
    PHONE_FORMAT,
    PUNCTURE_WEIGHTS,
    RELIABLE_RATE,
    REPLIES,
    SPAN_DAYS,
    UNRELIABLE_RATE,
    UNRELIABLE_SHARE,
    WITHDRAWALS,
    Person,
    local_instant,
    local_today,
)


def roster(protocol: Protocol, rng_seed: int, now: datetime) -> list[Person]:
    """The demo's participants in the order they were enrolled. Pure."""
    rng = random.Random(rng_seed)
    today = local_today(now)
    offsets = sorted(rng.randint(-SPAN_DAYS, AHEAD_DAYS) for _ in range(PARTICIPANTS))
    chosen = _pick_events(rng, offsets)
    people = []
    for index, offset in enumerate(offsets):
        procedure = today + timedelta(days=offset)
        seen = local_instant(procedure - timedelta(days=rng.randint(0, 10)), time(9), minutes=rng.randint(0, 300))
        people.append(Person(
            study_id=f"S-{index + 1:03d}", punctures=rng.choices(range(1, 7), PUNCTURE_WEIGHTS)[0],
            phone=PHONE_FORMAT.format(index + 1), procedure_date=procedure,
            enrolled_at=min(seen, now - timedelta(minutes=rng.randint(60, 600))),
            answer_rate=UNRELIABLE_RATE if rng.random() < UNRELIABLE_SHARE else RELIABLE_RATE,
            opts_out=index in chosen["opt_out"], withdrawal=chosen["withdraw"].get(index),
            reply=chosen["reply"].get(index)))
    for number, (study_id, punctures, offset, days_before, timepoint) in enumerate(LINK_PARTICIPANTS, 1):
        procedure = today + timedelta(days=offset)
        seen = (now - timedelta(minutes=30) if days_before == 0
                else local_instant(procedure - timedelta(days=days_before), time(10)))
        people.append(Person(study_id, punctures, LINK_PHONE_FORMAT.format(number), procedure, seen,
                             open_from=timepoint))
    return sorted(people, key=lambda person: (person.enrolled_at, person.study_id))


def _pick_events(rng: random.Random, offsets: list[int]) -> dict:
    """Who opts out (followed up a month at least), withdraws (past month 1) and writes a reply."""
    def among(candidates: list[int], count: int) -> list[int]:
        return rng.sample(candidates, min(count, len(candidates)))
    opt_out = set(among([i for i, day in enumerate(offsets) if day <= -30], OPT_OUTS))
    withdraw = among([i for i, day in enumerate(offsets) if day <= -75 and i not in opt_out], len(WITHDRAWALS))
    taken = opt_out | set(withdraw)
    reply = among([i for i, day in enumerate(offsets) if day <= -10 and i not in taken], len(REPLIES))
    return {"opt_out": opt_out, "withdraw": dict(zip(withdraw, WITHDRAWALS)), "reply": dict(zip(reply, REPLIES))}
