"""Storing a patient's answers to one instrument of one timepoint."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from questionnaires.protocol import Protocol
from storage import participants, responses, write
from storage.audit import record

SAVED = "saved"
ALREADY_RECEIVED = "already_received"


def instruments_due(protocol: Protocol, timepoint_id: str) -> tuple[str, ...]:
    timepoint = protocol.timepoint(timepoint_id)
    return timepoint.instruments if timepoint else ()


def received(db, participant_id: int, timepoint_id: str) -> dict[str, dict]:
    return responses.latest(db, participant_id, timepoint_id)


def next_instrument(protocol: Protocol, timepoint_id: str, done: Mapping[str, Any]) -> str | None:
    """The first instrument of the timepoint not yet answered, in protocol order."""
    return next((name for name in instruments_due(protocol, timepoint_id) if name not in done), None)


def submit(db, protocol: Protocol, *, participant: Mapping[str, Any], timepoint_id: str,
           instrument_id: str, answers: Mapping[str, Any], input_mode: str, now: datetime,
           source: str = "web", recorded_by: str = "participant") -> str:
    """Validate, score and store version 1 of an answer; SAVED or ALREADY_RECEIVED.

    Raises AnswerError (nothing stored) when the answers are invalid, and ValueError when the
    instrument is not due at that timepoint.
    """
    if instrument_id not in instruments_due(protocol, timepoint_id):
        raise ValueError(f"{instrument_id!r} is not given at {timepoint_id!r}")
    instrument = protocol.instruments[instrument_id]
    clean = instrument.validate(answers)
    scores = instrument.score(clean)
    with write(db):
        response_id = responses.insert_first(
            db, participant_id=participant["id"], timepoint=timepoint_id, instrument=instrument_id,
            instrument_version=instrument.version, answers=clean, scores=scores,
            input_mode=input_mode, source=source, submitted_at=now, recorded_by=recorded_by)
        if response_id is None:
            return ALREADY_RECEIVED
        record(db, at=now, actor=recorded_by, action="submit", entity="response", entity_id=response_id,
               after={"study_id": participant["study_id"], "timepoint": timepoint_id,
                      "instrument": instrument_id, "version": 1})
        done = responses.latest(db, participant["id"], timepoint_id)
        if next_instrument(protocol, timepoint_id, done) is None:
            participants.mark_completed(db, participant["id"], timepoint_id, now)
    return SAVED
