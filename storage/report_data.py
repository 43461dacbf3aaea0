"""What the comparison report reads, set-based: a few queries, whatever the number of participants.

The report analyses columns (reports/observations.py, reports/clinical_report.py), so these return
plain tuples and lists of typed values that numpy takes at once: no dict per row, no JSON decoded per answer
(the scores come from the typed columns of newest_answers, migration m007), and no query per
participant. ``snapshot`` makes them one consistent reading: an answer or an enrollment written
between two of them cannot leave the report with half of it.
"""
from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlite_utils

from storage.crf import NEWEST_VERSION
from storage.db import roll_back_open
from storage.migrations import NEWEST_SCORES


@contextmanager
def snapshot(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """Every read inside sees the database as it was at the first (one read transaction; in WAL
    a reader neither waits for a writer nor stops one). Inside a transaction already: that one."""
    if db.conn.in_transaction:
        yield db
        return
    db.conn.execute("BEGIN")
    try:
        yield db
    finally:
        roll_back_open(db)      # nothing was written: ending the read is all there is to do


def participants(db: sqlite_utils.Database) -> list[tuple]:
    """(id, arm, stratum) of every participant, ordered by study_id (the order of
    ``storage.participants.every``)."""
    return db.conn.execute("SELECT id, arm, stratum FROM participants ORDER BY study_id").fetchall()


def _position(column: str, values: Sequence[str]) -> tuple[str, list]:
    """SQL giving the position of ``column``'s value in ``values`` (NULL when not there), and its parameters."""
    return (f"CASE {column} " + " ".join("WHEN ? THEN ?" for _ in values) + " END",
            [value for position, item in enumerate(values) for value in (item, position)])


def _among(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join('?' for _ in values)})"


def scores(db: sqlite_utils.Database, names: Sequence[str], timepoints: Sequence[str]) -> Iterator[tuple]:
    """(participant_id, position of the timepoint in ``timepoints``, the value of each of ``names``)
    of every newest answer holding any of the scores ``names`` (from NEWEST_SCORES) at one of
    ``timepoints``, unordered; None where a score is not there. Streamed.

    Each score is one instrument's, so a participant has at most one of it per timepoint. Scores
    of the same instrument are best read together: one pass over the answers."""
    unknown = [name for name in names if name not in NEWEST_SCORES]
    if unknown or not names:
        raise ValueError(f"not stored scores: {unknown or 'none named'} (choose from {', '.join(NEWEST_SCORES)})")
    if not timepoints:
        return iter(())
    position, params = _position("timepoint", timepoints)
    return db.conn.execute(
        f"SELECT participant_id, {position}, {', '.join(names)} FROM newest_answers "
        f"WHERE ({' OR '.join(f'{name} IS NOT NULL' for name in names)}) AND {_among('timepoint', timepoints)}",
        [*params, *timepoints])


def closing_times(db: sqlite_utils.Database) -> list[str]:
    """Every distinct time a scheduled window closes (ISO 8601 UTC text)."""
    return [closes_at for closes_at, in db.conn.execute("SELECT DISTINCT closes_at FROM timepoints")]


def window_counts(db: sqlite_utils.Database, arms: Sequence[str], timepoints: Sequence[str],
                  closed: Sequence[str]) -> list[tuple]:
    """The scheduled windows of ``arms`` at ``timepoints``, counted: (position of the arm, position of
    the timepoint, completed, withdrawn, closed, n) for each combination found. completed: the window
    has a completion time; withdrawn: the participant's withdrawal time is earlier than the window's
    close (both UTC text, which sorts as time); closed: it closes at one of the times ``closed``."""
    if not arms or not timepoints:
        return []
    arm, arm_params = _position("p.arm", arms)
    timepoint, timepoint_params = _position("t.timepoint", timepoints)
    # One small number per combination: SQLite groups one integer far faster than five columns.
    rows = db.conn.execute(
        f"SELECT (({arm}) * ? + ({timepoint})) * 8 + (COALESCE(t.completed_at, '') != '') * 4 "
        "+ (COALESCE(p.withdrawn_at, '') != '' AND p.withdrawn_at < t.closes_at) * 2 "
        "+ (t.closes_at IN (SELECT value FROM json_each(?))) AS combination, COUNT(*) "
        f"FROM timepoints t JOIN participants p ON p.id = t.participant_id "
        f"WHERE {_among('p.arm', arms)} AND {_among('t.timepoint', timepoints)} GROUP BY combination",
        [*arm_params, len(timepoints), *timepoint_params, json.dumps(list(closed)), *arms, *timepoints]).fetchall()
    return [(combination // 8 // len(timepoints), combination // 8 % len(timepoints), combination >> 2 & 1,
             combination >> 1 & 1, combination & 1, n) for combination, n in rows]


def answered_unscheduled(db: sqlite_utils.Database, timepoints: Sequence[str]) -> list[tuple]:
    """(arm, timepoint, n): participants with an answer at one of ``timepoints`` for which they have
    no window (answers imported from paper)."""
    if not timepoints:
        return []
    among = _among("t.timepoint", timepoints)
    return db.conn.execute(
        "WITH unscheduled AS MATERIALIZED (SELECT p.id, p.arm FROM participants p "
        f"WHERE (SELECT COUNT(*) FROM timepoints t WHERE t.participant_id = p.id AND {among}) < ?) "
        "SELECT u.arm, n.timepoint, COUNT(DISTINCT n.participant_id) FROM unscheduled u "
        f"JOIN newest_answers n ON n.participant_id = u.id WHERE {_among('n.timepoint', timepoints)} "
        "AND NOT EXISTS (SELECT 1 FROM timepoints t WHERE t.participant_id = n.participant_id "
        "AND t.timepoint = n.timepoint) GROUP BY 1, 2",
        [*timepoints, len(set(timepoints)), *timepoints]).fetchall()


def form_values(db: sqlite_utils.Database, form: str, fields: Sequence[str]) -> tuple[list, list, list[list]]:
    """(participant ids, item numbers, [the values of each of ``fields``, None where absent]) of
    the newest version of every item of a clinician form, as columns in one order, unordered.

    SQLite takes the fields out of each record (one pass) and hands them all over as one flat JSON
    array, decoded at once: its numbers keep the text they were stored with, so they decode to the
    values ``crf.newest`` gives, to the last bit, and a flat array leaves Python's cycle collector
    nothing to walk."""
    if not fields:
        raise ValueError("fields must name at least one field of the form")
    # One path gives a bare SQL value (its number re-parsed by SQLite); two or more give a JSON
    # array, whose brackets are dropped to string the records into one array.
    paths = [f"$.{name}" for name in fields] * (2 if len(fields) == 1 else 1)
    values = f"json_extract(c.data, {', '.join('?' for _ in paths)})"
    text, = db.conn.execute(
        f"SELECT '[' || COALESCE(group_concat(c.participant_id || ',' || c.item || ',' || "
        f"substr({values}, 2, length({values}) - 2)), '') || ']' FROM crf_records c "
        f"WHERE c.form = ? AND {NEWEST_VERSION}", [*paths, *paths, form]).fetchone()
    flat = json.loads(text)
    stride = 2 + len(paths)
    return flat[0::stride], flat[1::stride], [flat[2 + index::stride] for index in range(len(fields))]
