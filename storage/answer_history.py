"""Named queries on every version of the answers, oldest first: the audit trail an identifiable
standards export carries (the ODM file's AuditRecords). Everything else reads the newest
version only, through newest_answers (storage.responses)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import groupby

import sqlite_utils

# What the history gives of one version, in this order (answers and scores decoded).
VERSION_FIELDS = ("id", "timepoint", "instrument", "version", "instrument_version", "answers", "scores", "source",
                  "submitted_at", "recorded_by", "reason")


def versions_by_study_id(db: sqlite_utils.Database) -> Iterator[tuple[str, list[dict]]]:
    """(study_id, every version of every answer of theirs), ordered by study_id (the order of
    participants.every), each participant's versions by timepoint, instrument and version.

    ``reason`` is the reason the audit log gives for the version (a correction's), or None: the
    newest such entry on the response (entity 'response', entity_id its id). One query.
    """
    rows = db.conn.execute(
        "SELECT p.study_id, r.id, r.timepoint, r.instrument, r.version, r.instrument_version, r.answers, r.scores, "
        "r.source, r.submitted_at, r.recorded_by, "
        "(SELECT a.reason FROM audit_log a WHERE a.entity = 'response' AND a.entity_id = CAST(r.id AS TEXT) "
        " AND a.reason IS NOT NULL ORDER BY a.id DESC LIMIT 1) "
        "FROM responses r JOIN participants p ON p.id = r.participant_id "
        "ORDER BY p.study_id, r.timepoint, r.instrument, r.version")
    for study_id, group in groupby(rows, key=lambda row: row[0]):
        versions = []
        for row in group:
            version = dict(zip(VERSION_FIELDS, row[1:]))
            version["answers"] = json.loads(version["answers"])
            version["scores"] = json.loads(version["scores"])
            versions.append(version)
        yield study_id, versions


def actors(db: sqlite_utils.Database) -> list[str]:
    """Everyone who recorded an answer or enrolled a participant, sorted: the users an audit
    trail names."""
    return [name for name, in db.conn.execute(
        "SELECT recorded_by FROM responses UNION SELECT enrolled_by FROM participants ORDER BY 1")]
