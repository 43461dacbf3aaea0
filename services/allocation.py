"""Generating the concealed randomization list, up front, from a recorded seed."""
from __future__ import annotations

import secrets
from datetime import datetime

from randomization import generate
from randomization.blocks import BLOCK_SIZES
from storage import randomization, write
from storage.audit import record

DEFAULT_PER_STRATUM = 500
SEED_BITS = 63


def generate_list(db, *, seed: int | None, per_stratum: int, actor: str, now: datetime) -> tuple[int, int]:
    """Store a new list (appended after any earlier one); returns (list id, seed used).

    The seed is recorded, so the statistician can regenerate and verify the list; the list itself
    is never shown: an arm is revealed only when a participant is enrolled.
    """
    seed = secrets.randbits(SEED_BITS) if seed is None else seed
    allocations = generate(seed, per_stratum)
    with write(db):
        list_id = randomization.insert_list(db, seed=seed, per_stratum=per_stratum, block_sizes=BLOCK_SIZES,
                                            allocations=allocations, now=now, actor=actor)
        record(db, at=now, actor=actor, action="generate_randomization", entity="randomization_list",
               entity_id=list_id, after={"per_stratum": per_stratum, "block_sizes": list(BLOCK_SIZES),
                                         "allocations": len(allocations)})
    return list_id, seed
