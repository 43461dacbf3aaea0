"""What must hold in a trial database whatever was posted to it: the invariant checker the fuzz
and crash tests end with, and a digest of the trial's tables to show that a refused action
changed nothing.

``problems(path, protocol, languages)`` returns one line per invalid row (empty: all is well):
- every answer is one its instrument accepts, as stored (the canonical answers validate to
  themselves), at the instrument's version, scored as the instrument scores it now, every score
  within its range, and the newest version is what ``newest_answers`` holds; a submission key is
  one a page makes, and an answer was not answered after it arrived;
- a timepoint is complete exactly when every form it asks is in;
- a participant is active, or withdrawn with a time and a reason; its arm, language, zone, phone,
  punctures and randomization row agree with the protocol; it has one row per timepoint;
- a clinician record validates to itself, its versions run 1, 2, ... with a reason for each
  correction; free text a person typed is stored as ``services.free_text.clean_text`` keeps it;
- a contact, a reply's handling, a link's language are each one the app can write;
- ``PRAGMA integrity_check`` is ok and ``PRAGMA foreign_key_check`` finds no orphan.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import date
from zoneinfo import ZoneInfo

from questionnaires.base import AnswerError
from questionnaires.crf import (
    BASELINE_FORM,
    EVENT_FORM,
    PROCEDURE_FORM,
    validate_baseline,
    validate_event,
    validate_procedure,
)
from questionnaires.protocol import Protocol
from randomization import stratum_for
from services.free_text import clean_text
from services.participant_admin import CONTACT_KINDS, CONTACT_OUTCOMES, MAX_NOTE_LENGTH
from storage.connection import open_db
from storage.db import parse_utc

# Staff-account bookkeeping, not trial data: a sign-in writes here, and a refused action is
# tried after one.
NOT_TRIAL_TABLES = {"_sqlite_migrations", "users", "login_attempts", "sqlite_sequence", "sqlite_stat1"}
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")
SUBMISSION_KEY = re.compile(r"[0-9a-f]{32}")    # as a patient's page makes them (web/patient/offline.py)
# Each score's range: (low, high), inclusive; None may be missing.
SCORE_RANGES = {"vas_mm": (0, 100), "vas_cm": (0, 10), "odi_score": (0, 100), "sat_procedure": (1, 4),
                "sat_results": (1, 4), "nsaid_mg_day": (0, math.inf), "mme_mg_day": (0, math.inf),
                "paracetamol_mg_day": (0, math.inf)}
ACKNOWLEDGEMENT = ("acknowledged_by", "acknowledged_at")


def digest(path) -> str:
    """A hash of every row of every trial table (not the staff accounts' sign-in bookkeeping)."""
    db = open_db(path)
    try:
        h = hashlib.sha256()
        for table in sorted(set(db.table_names()) - NOT_TRIAL_TABLES):
            h.update(table.encode())
            for row in db.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():   # noqa: S608 (a table name)
                h.update(repr(row).encode())
        return h.hexdigest()
    finally:
        db.close()


def problems(path, protocol: Protocol, languages: list[str]) -> list[str]:
    db = open_db(path)
    try:
        found: list[str] = []
        integrity = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
        if integrity != ["ok"]:
            found.append(f"integrity_check: {integrity}")
        found += [f"foreign_key_check: orphan row {row}" for row in db.execute("PRAGMA foreign_key_check").fetchall()]
        participants = {row["id"]: row for row in db.query("SELECT * FROM participants")}
        found += _participants(db, protocol, languages, participants)
        found += _responses(db, protocol, participants)
        found += _clinical(db, protocol, participants)
        found += _the_rest(db, protocol, languages)
        return found
    finally:
        db.close()


def _free_text(where: str, value) -> list[str]:
    """Text a person typed, stored as the app's free-text rule keeps it (no control characters,
    trimmed, something visible), or not at all."""
    if value is None:
        return []
    if not isinstance(value, str) or value != clean_text(value) or not value:
        return [f"{where}: free text not as the app stores it: {value!r:.80}"]
    return []


def _participants(db, protocol: Protocol, languages: list[str], participants: dict) -> list[str]:
    found = []
    timepoints: dict[int, list[str]] = {}
    for row in db.query("SELECT participant_id, timepoint FROM timepoints"):
        timepoints.setdefault(row["participant_id"], []).append(row["timepoint"])
    allocated = {row["participant_id"]: row for row in db.query(
        "SELECT participant_id, arm, stratum FROM allocations WHERE participant_id IS NOT NULL")}
    expected_timepoints = sorted(tp.id for tp in protocol.timepoints)
    for pid, p in participants.items():
        who = f"participant {p['study_id']!r}"
        withdrawn = (p["status"] == "withdrawn" and p["withdrawn_at"] and p["withdrawal_reason"])
        active = p["status"] == "active" and p["withdrawn_at"] is None and p["withdrawal_reason"] is None
        if not (withdrawn or active):
            found.append(f"{who}: withdrawal state {p['status']!r}, {p['withdrawn_at']!r}, {p['withdrawal_reason']!r}")
        found += _free_text(f"{who} withdrawal_reason", p["withdrawal_reason"])
        found += _free_text(f"{who} allocation_reason", p["allocation_reason"])
        if protocol.arm(p["arm"]) is None:
            found.append(f"{who}: arm {p['arm']!r} not in the protocol")
        if p["language"] not in languages:
            found.append(f"{who}: language {p['language']!r}")
        try:
            ZoneInfo(p["timezone"])
        except (ValueError, KeyError, TypeError):   # ZoneInfoNotFoundError is a KeyError
            found.append(f"{who}: time zone {p['timezone']!r}")
        if p["phone"] is not None and not E164.match(p["phone"]):
            found.append(f"{who}: phone not E.164: {p['phone']!r}")
        if not (isinstance(p["study_id"], str) and p["study_id"] == p["study_id"].strip() and p["study_id"]
                and len(p["study_id"]) <= 32 and p["study_id"].isprintable()):
            found.append(f"{who}: study ID not as entered by a form")
        if p["punctures"] is not None and not (isinstance(p["punctures"], int) and 1 <= p["punctures"] <= 6):
            found.append(f"{who}: punctures {p['punctures']!r}")
        if p["allocation"] == "randomized":
            row = allocated.get(pid)
            if row is None or row["arm"] != p["arm"] or row["stratum"] != p["stratum"] \
                    or p["stratum"] != stratum_for(p["punctures"]):
                found.append(f"{who}: randomized, but its allocation row is {row!r}")
        elif p["allocation"] == "external":
            if pid in allocated:
                found.append(f"{who}: allocated outside the app, yet holds a list allocation")
        else:
            found.append(f"{who}: allocation {p['allocation']!r}")
        if p["procedure_date"] is not None:
            try:
                date.fromisoformat(p["procedure_date"])
            except (TypeError, ValueError):
                found.append(f"{who}: procedure date {p['procedure_date']!r}")
            if sorted(timepoints.get(pid, [])) != expected_timepoints:
                found.append(f"{who}: timepoints {sorted(timepoints.get(pid, []))}")
    for row in db.query("SELECT * FROM timepoints"):
        if not row["opens_at"] < row["closes_at"]:
            found.append(f"timepoint {row['id']}: opens {row['opens_at']} after it closes {row['closes_at']}")
    return found


def _json(text):
    return json.loads(text) if isinstance(text, str) else text


def _responses(db, protocol: Protocol, participants: dict) -> list[str]:
    found = []
    answered: dict[tuple[int, str], set[str]] = {}
    newest: dict[tuple[int, str, str], dict] = {}
    for row in db.query("SELECT * FROM responses ORDER BY id"):
        where = f"response {row['id']} ({row['instrument']} at {row['timepoint']})"
        key = (row["participant_id"], row["timepoint"], row["instrument"])
        answered.setdefault(key[:2], set()).add(row["instrument"])
        if key not in newest or row["version"] > newest[key]["version"]:
            newest[key] = row
        timepoint = protocol.timepoint(row["timepoint"])
        if timepoint is None or row["instrument"] not in timepoint.instruments:
            found.append(f"{where}: not a form of that timepoint")
            continue
        instrument = protocol.instruments[row["instrument"]]
        if row["instrument_version"] != instrument.version:
            found.append(f"{where}: version {row['instrument_version']!r}, the protocol asks {instrument.version!r}")
        answers, scores = _json(row["answers"]), _json(row["scores"])
        if row["instrument"] == "medication" and row["input_mode"] == "daily_totals":
            # A paper form that gave only the daily totals (reports/import_checks.py): kept as given.
            totals = answers.get("daily_totals") if isinstance(answers, dict) and set(answers) == {"daily_totals"} \
                else None
            if not isinstance(totals, dict) or scores != {**totals, "paracetamol_mg_day": None}:
                found.append(f"{where}: daily totals {answers!r:.200} scored as {scores!r}")
        else:
            found += _rescored(where, instrument, answers, scores)
        for name, value in (scores or {}).items():
            low, high = SCORE_RANGES.get(name, (None, None))
            if low is not None and value is not None and not (isinstance(value, (int, float))
                                                             and not isinstance(value, bool) and low <= value <= high):
                found.append(f"{where}: score {name} = {value!r} outside {low}..{high}")
        if row["source"] == "web" and row["version"] == 1 and row["recorded_by"] != "participant":
            found.append(f"{where}: a web answer recorded by {row['recorded_by']!r}")   # a correction is staff's
        if row.get("submission_key") is not None and not SUBMISSION_KEY.fullmatch(row["submission_key"]):
            found.append(f"{where}: submission key {row['submission_key']!r}")
        if row.get("answered_at") is not None and parse_utc(row["answered_at"]) > parse_utc(row["submitted_at"]):
            found.append(f"{where}: answered at {row['answered_at']}, after it arrived at {row['submitted_at']}")
    held = {(r["participant_id"], r["timepoint"], r["instrument"]): r for r in db.query("SELECT * FROM newest_answers")}
    if set(held) != set(newest):
        found.append(f"newest_answers holds {len(held)} answers, responses {len(newest)}")
    for key, row in newest.items():
        if key in held and (held[key]["response_id"], held[key]["version"]) != (row["id"], row["version"]):
            found.append(f"newest_answers {key}: response {held[key]['response_id']}, the newest is {row['id']}")
    for row in db.query("SELECT * FROM timepoints"):
        timepoint = protocol.timepoint(row["timepoint"])
        if timepoint is None:
            found.append(f"timepoint row {row['id']}: {row['timepoint']!r} is not in the protocol")
            continue
        complete = set(timepoint.instruments) <= answered.get((row["participant_id"], row["timepoint"]), set())
        if complete != (row["completed_at"] is not None):
            found.append(f"timepoint row {row['id']} ({row['timepoint']}): completed_at {row['completed_at']!r}, "
                         f"forms in: {sorted(answered.get((row['participant_id'], row['timepoint']), set()))}")
    return found


def _rescored(where: str, instrument, answers, scores) -> list[str]:
    """An answer its instrument takes as it is stored (canonical), scored as the instrument scores it now."""
    try:
        found = []
        if instrument.validate(answers) != answers:
            found.append(f"{where}: answers are not canonical: {answers!r:.200}")
        if instrument.score(answers) != scores:
            found.append(f"{where}: scores {scores!r} do not recompute from the answers {answers!r:.200}")
        return found
    except AnswerError as exc:
        return [f"{where}: answers its instrument refuses ({exc}): {answers!r:.200}"]


def _clinical(db, protocol: Protocol, participants: dict) -> list[str]:
    found = []
    versions: dict[tuple[int, str, int], list[int]] = {}
    for row in db.query("SELECT * FROM crf_records ORDER BY id"):
        where = f"crf record {row['id']} ({row['form']} {row['item']} v{row['version']})"
        versions.setdefault((row["participant_id"], row["form"], row["item"]), []).append(row["version"])
        found += _free_text(f"{where} reason", row["reason"])
        participant = participants.get(row["participant_id"])
        if participant is None:
            continue   # foreign_key_check names it
        zone = ZoneInfo(participant["timezone"])
        enrolled_on = parse_utc(participant["enrolled_at"]).astimezone(zone).date()
        today = parse_utc(row["recorded_at"]).astimezone(zone).date()
        data = _json(row["data"])
        answers = {k: v for k, v in data.items() if k not in ACKNOWLEDGEMENT}
        try:
            if row["form"] == BASELINE_FORM:
                again = validate_baseline(answers, enrolled_on=enrolled_on)
            elif row["form"] == PROCEDURE_FORM:
                again = validate_procedure(answers, protocol.clinical, enrolled_on=enrolled_on, today=today)
            elif row["form"] == EVENT_FORM:
                again = validate_event(answers, enrolled_on=enrolled_on, today=today)
            else:
                continue
        except AnswerError as exc:
            found.append(f"{where}: a record its form refuses ({exc})")
            continue
        if again != answers:
            found.append(f"{where}: not canonical: {answers!r:.200}")
        if (row["item"] >= 1) != (row["form"] == EVENT_FORM):
            found.append(f"{where}: numbered {row['item']}")
    for key, numbers in versions.items():
        if numbers != list(range(1, len(numbers) + 1)):
            found.append(f"crf record {key}: versions {numbers}")
    for row in db.query("SELECT * FROM screenings"):
        found += _free_text(f"screening {row['id']} override_reason", row["override_reason"])
    return found


def _the_rest(db, protocol: Protocol, languages: list[str]) -> list[str]:
    found = []
    for row in db.query("SELECT * FROM contacts"):
        where = f"contact {row['id']}"
        if row["kind"] not in CONTACT_KINDS or row["outcome"] not in CONTACT_OUTCOMES:
            found.append(f"{where}: kind {row['kind']!r}, outcome {row['outcome']!r}")
        if row["timepoint"] is not None and protocol.timepoint(row["timepoint"]) is None:
            found.append(f"{where}: timepoint {row['timepoint']!r}")
        found += _free_text(f"{where} note", row["note"])
        if row["note"] is not None and len(row["note"]) > MAX_NOTE_LENGTH:
            found.append(f"{where}: a note of {len(row['note'])} characters")
    for row in db.query("SELECT id, direction, handled_at, handled_by FROM messages"):
        if (row["handled_at"] is None) != (row["handled_by"] is None):
            found.append(f"message {row['id']}: handled_at {row['handled_at']!r} but handled_by {row['handled_by']!r}")
    for row in db.query("SELECT id, language FROM link_tokens"):
        if row["language"] is not None and row["language"] not in languages:
            found.append(f"link {row['id']}: language {row['language']!r}")
    for row in db.query("SELECT id, before, after FROM audit_log"):
        for side in ("before", "after"):
            if row[side] is not None and not isinstance(_json(row[side]), dict):
                found.append(f"audit entry {row['id']}: {side} is not an object")
    return found
