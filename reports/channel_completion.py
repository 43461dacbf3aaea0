"""Completion by reminder channel (SMS or WhatsApp): a descriptive table, with no test statistic.

The channel was not randomized: patients (and nurses) chose it, so a difference between the
channels cannot be read as the channel's effect, and the report tests nothing here. Each
follow-up that at least one reminder was sent for counts under the channel of its newest reminder
sent (before completion, when completed: storage.channels); it is due once completed or its window
has closed, and the rate is completed / due. Follow-ups still open are left out of both.
"""
from __future__ import annotations

from collections.abc import Iterable

from questionnaires.protocol import Protocol
from storage.channels import CHANNELS

PERCENT_DECIMALS = 1
NOTE = ("Descriptive only: the channel was not randomized (it is the patient's choice), so no test compares "
        "the channels and a difference is not the channel's effect.")


def _cell(completed: int, due: int) -> dict:
    return {"due": due, "completed": completed,
            "percent": round(100 * completed / due, PERCENT_DECIMALS) if due else None}


def table(windows: Iterable[tuple], protocol: Protocol) -> dict:
    """``windows``: (arm, timepoint, channel, completed, closed, n): n reminded follow-ups alike
    (storage.channels.reminded_windows). Per timepoint and in all, per channel: due, completed and
    the percentage completed."""
    counts = {(tp.id, channel): [0, 0] for tp in protocol.timepoints for channel in CHANNELS}
    for _arm, timepoint, channel, completed, closed, n in windows:
        if (timepoint, channel) not in counts or not (completed or closed):
            continue
        counts[timepoint, channel][0] += n if completed else 0
        counts[timepoint, channel][1] += n
    rows = [{"timepoint": tp.id, "label": tp.label,
             **{channel: _cell(*counts[tp.id, channel]) for channel in CHANNELS}}
            for tp in protocol.timepoints if tp.remind]
    total = {channel: _cell(sum(counts[tp.id, channel][0] for tp in protocol.timepoints),
                            sum(counts[tp.id, channel][1] for tp in protocol.timepoints)) for channel in CHANNELS}
    return {"channels": list(CHANNELS), "timepoints": rows, "total": total, "note": NOTE}
