"""What every standards export reads: the long CSV's rows, a participant at a time, with what the
long file does not keep per form (when each form was sent, how, in which instrument version).

The values come from the long CSV's own row source (reports.dataset_rows.long_rows, the newest version
of each answer, formatted once), so ODM, SDTM QS and FHIR carry exactly the long file's values.
Beside it: the participants (for the procedure date and the enrolment) and the newest answers (for
each form's time and source), and for an audit trail every version of every answer. Each is one
query ordered by study_id, merged a participant at a time: a few set-based queries whatever the
size of the trial, and memory flat.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import groupby

from questionnaires.protocol import Protocol
from reports import dataset_rows
from storage import answer_history, participants, responses


@dataclass
class Participant:
    person: dict                          # the participants row
    rows: list[dict[str, str]]            # the long CSV's rows, one per protocol timepoint, in order
    forms: dict[tuple[str, str], dict]    # the newest answer by (timepoint, instrument): responses.EXPORTED
    history: list[dict] = field(default_factory=list)   # every version (answer_history.VERSION_FIELDS), if asked

    @property
    def study_id(self) -> str:
        return self.person["study_id"]


def stream(db, protocol: Protocol, identifiable: bool = False, history: bool = False) -> Iterator[Participant]:
    """Every participant, ordered by study_id, with their long rows and forms (and, with
    ``history``, every version of their answers, oldest first)."""
    rows = groupby(dataset_rows.long_rows(db, protocol, identifiable), key=lambda row: row["study_id"])
    answers = responses.newest_by_study_id(db)
    versions = answer_history.versions_by_study_id(db) if history else iter(())
    next_answers, next_versions = next(answers, None), next(versions, None)
    for person in participants.every(db):
        study_id = person["study_id"]
        rows_of, group = next(rows)
        if rows_of != study_id:  # both come from participants.every: a mismatch is a bug, not data
            raise RuntimeError(f"long rows out of step: {rows_of!r} beside {study_id!r}")
        forms = {}
        if next_answers and next_answers[0] == study_id:
            forms = {(answer["timepoint"], answer["instrument"]): answer for answer in next_answers[1]}
            next_answers = next(answers, None)
        kept = []
        if next_versions and next_versions[0] == study_id:
            kept, next_versions = next_versions[1], next(versions, None)
        yield Participant(person, list(group), forms, kept)
