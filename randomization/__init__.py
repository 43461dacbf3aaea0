"""Stratified permuted-block randomization, pure: a seed in, an allocation sequence out."""
from randomization.blocks import STRATA, Allocation, generate, stratum_for

__all__ = ["STRATA", "Allocation", "generate", "stratum_for"]
