"""A simulated trial written straight into a SQLite file: for report tests and benchmarks.

Scores are drawn to look like the reference trial (VAS around 6 cm falling to 3, ODI around 32 %
falling to 15), through the real instruments, so stored scores are what the app would store.
With ``clinical=True`` each participant also gets the clinician forms, validated by the real forms:
a baseline record, a procedure record (about 2 % crossed over to the other arm's guidance) and, for
a few, adverse events. They come from a random stream of their own, so the answers are the same
with and without them. With ``reminders=True`` every window after the baseline also gets the
reminders a live trial would have sent, each with its outbound message as the provider accepted
it (about a third by WhatsApp; a second attempt where the window was not completed), again from a
stream of their own: what the exports' reminder_channel and the report's completion by channel
read, at a live trial's size.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from questionnaires import INSTRUMENTS
from questionnaires.crf import (
    BASELINE_FORM,
    EVENT_FORM,
    EVENT_TYPES,
    LATERALITY,
    PROCEDURE_FORM,
    SIDES,
    validate_baseline,
    validate_event,
    validate_procedure,
)
from questionnaires.protocol import Protocol
from randomization import stratum_for
from scheduler.schedule import schedule
from storage import crf
from storage.connection import open_db
from storage.db import utc_iso

VAS_MEAN_CM = {"baseline": 6.3, "day1": 4.5, "week1": 4.0, "month1": 3.3, "month3": 3.0, "month6": 2.8}
ODI_MEAN = {"baseline": 32, "month1": 25, "month3": 20, "month6": 16}
ARM_B_SHIFT_CM = 0.5  # arm B a little worse on VAS, as in the paper
CROSSOVER = 0.02      # share of procedures done under the other arm's guidance
EVENT_RATE = 0.03     # share of participants with an adverse event (the paper: 1 % in A, 4 % in B)


def _answers(instrument: str, timepoint: str, arm: str, rng: random.Random) -> dict:
    if instrument == "vas":
        mean = VAS_MEAN_CM[timepoint] + (ARM_B_SHIFT_CM if arm == "B" and timepoint != "baseline" else 0)
        return {"mode": "line", "value": max(0, min(100, round(rng.gauss(mean * 10, 15))))}
    if instrument == "odi":
        level = ODI_MEAN[timepoint] / 20  # mean item score
        items = {f"odi_{n}": max(0, min(5, round(rng.gauss(level, 0.9)))) for n in range(1, 11)}
        if rng.random() < 0.3:
            items["odi_8"] = None  # sex life, often skipped
        return items
    if instrument == "satisfaction":
        weights = (1, 6, 63, 30)
        return {"sat_procedure": rng.choices((1, 2, 3, 4), weights)[0], "sat_results": rng.choices((1, 2, 3, 4), weights)[0]}
    if instrument == "medication":
        dose = {"baseline": 3, "month1": 1, "month3": 1, "month6": 0}[timepoint]
        items = []
        if dose and rng.random() < 0.9:
            items.append({"drug": "diclofenac", "strength_mg": 50.0, "doses_per_day": rng.randint(1, dose)})
        if rng.random() < 0.04:
            items.append({"drug": "tramadol", "strength_mg": 50.0, "doses_per_day": 1})
        return {"took_any": "yes" if items else "no", "items": items}
    raise ValueError(instrument)


def _clinical_forms(protocol: Protocol, arm: str, punctures: int, procedure: date, enrolled_on: date,
                    rng: random.Random) -> list[tuple[str, int, dict]]:
    """(form, item, canonical record) for one participant: baseline, procedure, perhaps events."""
    forms = [(BASELINE_FORM, 0, validate_baseline({
        "age": max(18, min(90, round(rng.gauss(52, 9.5)))), "sex": rng.choice(("male", "female")),
        "root_l3": rng.choices(LATERALITY, (94, 0, 6))[0], "root_l4": rng.choices(LATERALITY, (20, 40, 40))[0],
        "root_l5": rng.choices(LATERALITY, (11, 45, 44))[0]}, enrolled_on=enrolled_on))]
    guidance = protocol.arm(arm).guidance
    if rng.random() < CROSSOVER:
        guidance = "ct" if guidance == "fluoroscopy" else "fluoroscopy"
    dose = ({"dap_mgycm2": round(rng.lognormvariate(8.1, 0.4)), "fluoro_time_s": round(rng.uniform(30, 240))}
            if guidance == "fluoroscopy" else
            {"ctdivol_mgy": round(rng.uniform(3, 9), 1), "dlp_mgycm": round(rng.lognormvariate(5.85, 0.3))})
    forms.append((PROCEDURE_FORM, 0, validate_procedure({
        "procedure_date": procedure.isoformat(), "guidance": guidance, "punctures": punctures,
        "si_side": rng.choices(SIDES, (23, 20, 14, 43))[0], "operative_min": max(5, round(rng.gauss(24, 7))),
        "contrast_extravasation": "yes" if rng.random() < 0.05 else "no", "dexamethasone_mg": 8 * min(punctures, 3),
        **dose}, protocol.clinical, enrolled_on=enrolled_on, today=procedure)))
    events = 2 if rng.random() < EVENT_RATE / 6 else 1 if rng.random() < EVENT_RATE else 0
    for item in range(1, events + 1):
        forms.append((EVENT_FORM, item, validate_event({
            "event": rng.choice(EVENT_TYPES), "description": "simulated", "onset_date": procedure.isoformat(),
            "grade": rng.randint(1, 3), "serious": "no", "related": "possible"}, enrolled_on=enrolled_on,
            today=procedure)))
    return forms


def populate(path, protocol: Protocol, per_arm: int, *, seed: int = 1, procedure: date = date(2025, 6, 2),
             completion: float = 0.9, arms: tuple[str, ...] = ("A", "B"), clinical: bool = False,
             reminders: bool = False) -> None:
    rng = random.Random(seed)
    clinical_rng = random.Random(f"clinical-{seed}")  # its own stream: the answers do not change
    reminder_rng = random.Random(f"reminders-{seed}")
    db = open_db(path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    windows = schedule(protocol, procedure, ZoneInfo("UTC"))
    db.conn.execute("BEGIN")
    for arm in arms:
        for n in range(per_arm):
            row = {"study_id": f"{arm}-{n:05d}", "arm": arm, "phone": None, "timezone": "UTC", "language": "en",
                   "procedure_date": procedure.isoformat(), "enrolled_at": utc_iso(now), "enrolled_by": "simulation",
                   "punctures": rng.randint(1, 6)}
            if clinical:
                row["stratum"] = stratum_for(row["punctures"])
            participant_id = db["participants"].insert(row).last_pk
            if clinical:
                for form, item, record in _clinical_forms(protocol, arm, row["punctures"], procedure, now.date(),
                                                          clinical_rng):
                    crf.insert_version(db, participant_id=participant_id, form=form, item=item, version=1,
                                       data=record, at=now, by="simulation", reason=None)
            rows, responses = [], []
            for tp, window in zip(protocol.timepoints, windows):
                done = rng.random() < completion
                rows.append({"participant_id": participant_id, "timepoint": tp.id, "due_date": window.due_date.isoformat(),
                             "opens_at": utc_iso(window.opens_at), "closes_at": utc_iso(window.closes_at),
                             "completed_at": utc_iso(window.opens_at) if done else None})
                if not done:
                    continue
                for instrument in tp.instruments:
                    clean = INSTRUMENTS[instrument].validate(_answers(instrument, tp.id, arm, rng))
                    responses.append({
                        "participant_id": participant_id, "timepoint": tp.id, "instrument": instrument,
                        "instrument_version": INSTRUMENTS[instrument].version, "version": 1,
                        "answers": json.dumps(clean), "scores": json.dumps(INSTRUMENTS[instrument].score(clean)),
                        "input_mode": "line" if instrument == "vas" else "web", "source": "web",
                        "submitted_at": utc_iso(window.opens_at), "recorded_by": "participant"})
            db["timepoints"].insert_all(rows)
            db["responses"].insert_all(responses)
            if reminders:
                _reminders(db, participant_id, rows[1:], reminder_rng)
    db.conn.execute("COMMIT")
    db.close()


def _reminders(db, participant_id: int, windows: list[dict], rng: random.Random) -> None:
    """A sent reminder per window, with its accepted message; a second one where it stayed open."""
    for window in windows:
        channel = "whatsapp" if rng.random() < 1 / 3 else "sms"
        for attempt in (1, 2) if window["completed_at"] is None else (1,):
            reminder_id = db.conn.execute(
                "INSERT INTO reminders (participant_id, timepoint, attempt, planned_at, due_at, status, tries, "
                "updated_at, channel) VALUES (?, ?, ?, ?, ?, 'sent', 1, ?, ?)",
                [participant_id, window["timepoint"], attempt, *[window["opens_at"]] * 3, channel]).lastrowid
            db.conn.execute(
                "INSERT INTO messages (direction, participant_id, reminder_id, body, gateway, sid, status, "
                "segments, created_at, sent_at, status_at, channel) "
                "VALUES ('outbound', ?, ?, 'simulated reminder', 'simulation', ?, 'delivered', 1, ?, ?, ?, ?)",
                [participant_id, reminder_id, f"SM{reminder_id:032x}", *[window["opens_at"]] * 3, channel])
