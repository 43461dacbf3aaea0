"""Correcting a stored answer (a mistyped paper form, a patient's slip): a new version, never an edit.

An investigator corrects items of one answer with a reason. The instrument validates and scores the
corrected answers as it does a patient's; the new version is stored beside the old ones (answers are
append-only: newest_answers, kept by a trigger, makes it the one every report and export reads), and
the audit log gets before, after and the reason, on the new version's response id (where the ODM
export's AuditRecords find it). A correction carries the version it was opened on: if another was
stored since, nothing is stored and the corrector is asked to reload. Nothing invalid or partial is
stored.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from questionnaires.base import AnswerError
from questionnaires.protocol import Protocol
from services.free_text import MAX_REASON_LENGTH, clean_text
from storage import audit, participants, responses, write

# What staff are told, in English; the staff pages translate each (web.staff.answer_corrections).
REASON_REQUIRED = "Say why the answer is corrected."
REASON_TOO_LONG = "At most %(count)s characters."
OTHER_VERSION = ("This answer was given on version %(stored)s of the form; this trial now uses version "
                 "%(current)s, so it cannot be corrected here.")
DAILY_TOTALS = ("This answer holds daily totals from a paper import, not the medicines: correct it by importing "
                "the corrected paper form.")


class StaleAnswer(AnswerError):
    """Another version of the answer was stored after the form was opened: nothing was stored."""

    def __init__(self, newest: dict):
        self.newest = newest
        super().__init__({"form": f"{newest['recorded_by']} stored version {newest['version']} of this answer "
                                  "after the form was opened"})


def versions(db, study_id: str, timepoint: str, instrument: str) -> tuple[dict, list[dict]] | None:
    """(participant, every version of their answer to ``instrument`` at ``timepoint``, oldest
    first), or None when there is no such participant or answer."""
    participant = participants.by_study_id(db, study_id)
    if participant is None:
        return None
    found = responses.versions_of(db, participant["id"], timepoint, instrument)
    return (participant, found) if found else None


def why_not_correctable(protocol: Protocol, answer: dict) -> tuple[str, dict] | None:
    """(message, its values) when this answer cannot be corrected with the instrument's form, else None."""
    instrument = protocol.instruments.get(answer["instrument"])
    if instrument is None or instrument.version != answer["instrument_version"]:
        return OTHER_VERSION, {"stored": answer["instrument_version"],
                               "current": instrument.version if instrument else "-"}
    if answer["instrument"] == "medication" and "items" not in answer["answers"]:
        return DAILY_TOTALS, {}
    return None


def check_reason(reason: str | None) -> str:
    """The reason as stored, or AnswerError: it is required, and at most MAX_REASON_LENGTH."""
    text = clean_text(reason)
    if not text:
        raise AnswerError({"reason": REASON_REQUIRED})
    if len(text) > MAX_REASON_LENGTH:
        raise AnswerError({"reason": REASON_TOO_LONG})
    return text


def correct(db, protocol: Protocol, *, study_id: str, timepoint: str, instrument: str, answers: Mapping[str, Any],
            reason: str | None, opened_version: int, actor: str, now: datetime) -> tuple[dict, bool]:
    """Store the corrected answers as the next version: (the newest version, whether one was
    stored). Unchanged answers store nothing. Raises AnswerError (field -> message, the
    instrument's own for an answer) and StaleAnswer when a version newer than ``opened_version``
    is there; LookupError when there is no such answer. Nothing is stored on any error."""
    with write(db):
        found = versions(db, study_id, timepoint, instrument)
        if found is None:
            raise LookupError(f"{study_id} has no {instrument} answer at {timepoint}")
        participant, history = found
        newest = history[-1]
        if newest["version"] != opened_version:
            raise StaleAnswer(newest)
        refused = why_not_correctable(protocol, newest)
        if refused:
            raise AnswerError({"form": refused[0] % refused[1]})
        form = protocol.instruments[instrument]
        errors: dict[str, str] = {}
        try:
            clean = form.validate(answers)
        except AnswerError as exc:
            errors.update(exc.errors)
        try:
            text = check_reason(reason)
        except AnswerError as exc:
            errors.update(exc.errors)
        if errors:
            raise AnswerError(errors)
        if clean == newest["answers"]:
            return newest, False
        scores = form.score_valid(clean)
        version = newest["version"] + 1
        response_id = responses.insert_correction(db, newest, version=version, answers=clean, scores=scores,
                                                  recorded_by=actor)
        if response_id is None:   # a correction stored in between (cannot pass the write lock; kept as a guard)
            raise StaleAnswer(responses.versions_of(db, participant["id"], timepoint, instrument)[-1])
        named = {"study_id": study_id, "timepoint": timepoint, "instrument": instrument}
        audit.record(db, at=now, actor=actor, action="correct_answer", entity="response", entity_id=response_id,
                     before={**named, "version": newest["version"], "answers": newest["answers"],
                             "scores": newest["scores"]},
                     after={**named, "version": version, "answers": clean, "scores": scores}, reason=text)
        return responses.versions_of(db, participant["id"], timepoint, instrument)[-1], True
