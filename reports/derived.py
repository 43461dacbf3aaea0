"""Variables derived across timepoints, shared by the report and the exports. Pure.

The baseline is the protocol's (``Protocol.baseline``), never a hard-coded timepoint name.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from questionnaires.crf import procedure_derived
from questionnaires.medication import nsaid_reduction_pct
from questionnaires.protocol import Protocol
from randomization import STRATA


def nsaid_reduction(protocol: Protocol, timepoint: str, baseline_mg_day: float | None,
                    mg_day: float | None) -> float | None:
    """Reduction of NSAID use at ``timepoint`` in percent of the baseline's; None at the baseline
    itself, and where undefined (no use at baseline, or an answer missing)."""
    if timepoint == protocol.baseline.id:
        return None
    return nsaid_reduction_pct(baseline_mg_day, mg_day)


def procedure_for(protocol: Protocol, participant: Mapping[str, Any], record: Mapping[str, Any]) -> dict[str, Any]:
    """A participant's procedure record, derived against their own allocation: time per puncture,
    effective dose, and the deviations from the arm's guidance and the randomization stratum."""
    arm = protocol.arm(participant["arm"])
    return procedure_derived(record, protocol.clinical, arm.guidance if arm else None,
                             STRATA.get(participant.get("stratum") or ""))
