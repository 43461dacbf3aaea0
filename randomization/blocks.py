"""Stratified permuted-block randomization, as in the reference trial: 1:1, computer-generated,
stratified by the number of puncture points.

Within each stratum (1-2, 3-4, 5-6 punctures) the sequence is a run of blocks whose size is drawn
at random from BLOCK_SIZES (2 or 4), each block holding equal numbers of A and B in a random
order. Random block sizes keep the next allocation unpredictable even to someone who knows the
block structure; blocks keep the arms balanced within a stratum at every point (the difference
is never more than half the largest block, 2).

The generator is ``random.Random(seed)``: CPython's Mersenne Twister, whose ``choice`` and
``shuffle`` give the same sequence for the same integer seed on every CPython 3.11+, so a
recorded seed regenerates the list exactly (the sequence is also stored, so nothing depends on it).
"""
from __future__ import annotations

import random
from dataclasses import dataclass

ARMS = ("A", "B")
BLOCK_SIZES = (2, 4)
# Stratum label -> the puncture counts it holds.
STRATA = {"1-2": (1, 2), "3-4": (3, 4), "5-6": (5, 6)}
MIN_PUNCTURES, MAX_PUNCTURES = 1, 6


@dataclass(frozen=True)
class Allocation:
    stratum: str
    position: int      # 1-based within the stratum
    arm: str
    block: int         # 1-based block number within the stratum
    block_size: int


def stratum_for(punctures: int) -> str:
    """The stratum of a puncture count; ValueError outside 1-6."""
    for label, counts in STRATA.items():
        if punctures in counts:
            return label
    raise ValueError(f"number of puncture points must be {MIN_PUNCTURES}-{MAX_PUNCTURES}, got {punctures!r}")


def generate(seed: int, per_stratum: int, *, arms: tuple[str, ...] = ARMS,
             block_sizes: tuple[int, ...] = BLOCK_SIZES) -> list[Allocation]:
    """At least ``per_stratum`` allocations for every stratum (whole blocks), stratum by stratum."""
    if per_stratum < 1:
        raise ValueError("per_stratum must be at least 1")
    if any(size % len(arms) for size in block_sizes):
        raise ValueError(f"every block size must be a multiple of the number of arms ({len(arms)})")
    rng = random.Random(seed)
    allocations: list[Allocation] = []
    for stratum in STRATA:
        position = block = 0
        while position < per_stratum:
            block += 1
            size = rng.choice(block_sizes)
            arms_in_block = list(arms) * (size // len(arms))
            rng.shuffle(arms_in_block)
            for arm in arms_in_block:
                position += 1
                allocations.append(Allocation(stratum, position, arm, block, size))
    return allocations
