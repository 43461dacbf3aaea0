"""Storing a patient's answers to one instrument of one timepoint."""
from __future__ import annotations

from collections.abc import Container, Mapping
from datetime import datetime
from typing import Any

from questionnaires.protocol import Protocol
from storage import audit, participants, responses, utc_iso, write

SAVED = "saved"
ALREADY_RECEIVED = "already_received"
# The submission's key already names the answer to another form: a forged or replayed submission
# sent to the wrong form. Nothing is stored.
KEY_TAKEN = "key_taken"


def instruments_due(protocol: Protocol, timepoint_id: str) -> tuple[str, ...]:
    timepoint = protocol.timepoint(timepoint_id)
    return timepoint.instruments if timepoint else ()


def received(db, participant_id: int, timepoint_id: str) -> dict[str, dict]:
    """The newest answer to each instrument of a timepoint, by instrument id (decoded: for a review)."""
    return responses.latest(db, participant_id, timepoint_id)


def instruments_received(db, participant_id: int, timepoint_id: str) -> frozenset[str]:
    """Which instruments of a timepoint are answered, with no answer read: what a patient's next
    step needs."""
    return responses.instruments_in(db, participant_id, timepoint_id)


def next_instrument(protocol: Protocol, timepoint_id: str, done: Container[str]) -> str | None:
    """The first instrument of the timepoint not yet answered, in protocol order."""
    return next((name for name in instruments_due(protocol, timepoint_id) if name not in done), None)


def submit(db, protocol: Protocol, *, participant: Mapping[str, Any], timepoint_id: str,
           instrument_id: str, answers: Mapping[str, Any], input_mode: str, now: datetime,
           source: str = "web", recorded_by: str = "participant", submission_key: str | None = None,
           answered_at: datetime | None = None) -> str:
    """Validate, score and store version 1 of an answer; SAVED, ALREADY_RECEIVED or KEY_TAKEN.

    ``submission_key`` names the submission (the patient's phone makes it): sent again, it is
    ALREADY_RECEIVED; naming another form's answer, KEY_TAKEN. ``answered_at`` is when a
    submission kept on the phone was answered, stored beside the time it arrived (``now``).

    Raises AnswerError (nothing stored) when the answers are invalid, and ValueError when the
    instrument is not due at that timepoint. Everything that can be worked out beforehand is,
    so the write lock is held for a few plain statements: the answer, its audit entry, which
    instruments are in, and (with the last one) the timepoint marked complete.
    """
    due = instruments_due(protocol, timepoint_id)
    if instrument_id not in due:
        raise ValueError(f"{instrument_id!r} is not given at {timepoint_id!r}")
    instrument = protocol.instruments[instrument_id]
    clean = instrument.validate(answers)
    scores = instrument.score_valid(clean)
    # Encoded before the write lock, which the other workers wait for (a waiting SQLite writer
    # sleeps a millisecond or more): inside it, the statements alone.
    answer = responses.encode_first(
        participant_id=participant["id"], timepoint=timepoint_id, instrument=instrument_id,
        instrument_version=instrument.version, answers=clean, scores=scores,
        input_mode=input_mode, source=source, submitted_at=now, recorded_by=recorded_by,
        submission_key=submission_key, answered_at=answered_at)
    after = {"study_id": participant["study_id"], "timepoint": timepoint_id, "instrument": instrument_id, "version": 1}
    if answered_at is not None:
        after["answered_at"] = utc_iso(answered_at)
    entry = audit.encode_fields(now, recorded_by, "submit", "response", after=after)
    with write(db):
        response_id = responses.insert_encoded_first(db, answer)
        if response_id is None:
            # Kept out: this form's answer is in already, or the key names another form's answer.
            named = submission_key and responses.submission_key_names(db, submission_key)
            if named and named != (participant["id"], timepoint_id, instrument_id):
                return KEY_TAKEN
            return ALREADY_RECEIVED
        audit.store(db, entry, entity_id=str(response_id))
        # Read inside the transaction: of two forms sent at once, the later commit completes the timepoint.
        if responses.instruments_in(db, participant["id"], timepoint_id).issuperset(due):
            participants.mark_completed(db, participant["id"], timepoint_id, now)
    return SAVED
