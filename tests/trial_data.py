"""A simulated trial written straight into a SQLite file: for report tests and benchmarks.

Scores are drawn to look like the reference trial (VAS around 6 cm falling to 3, ODI around 32 %
falling to 15), through the real instruments, so stored scores are what the app would store.
"""
from __future__ import annotations

import json
import random
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from questionnaires import INSTRUMENTS
from questionnaires.protocol import Protocol
from scheduler.schedule import schedule
from storage.connection import open_db
from storage.db import utc_iso

VAS_MEAN_CM = {"baseline": 6.3, "day1": 4.5, "week1": 4.0, "month1": 3.3, "month3": 3.0, "month6": 2.8}
ODI_MEAN = {"baseline": 32, "month1": 25, "month3": 20, "month6": 16}
ARM_B_SHIFT_CM = 0.5  # arm B a little worse on VAS, as in the paper


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


def populate(path, protocol: Protocol, per_arm: int, *, seed: int = 1, procedure: date = date(2025, 6, 2),
             completion: float = 0.9, arms: tuple[str, ...] = ("A", "B")) -> None:
    rng = random.Random(seed)
    db = open_db(path)
    db.execute("PRAGMA synchronous = OFF")  # setup only
    now = datetime(2025, 6, 1, tzinfo=timezone.utc)
    windows = schedule(protocol, procedure, ZoneInfo("UTC"))
    db.conn.execute("BEGIN")
    for arm in arms:
        for n in range(per_arm):
            participant_id = db["participants"].insert({
                "study_id": f"{arm}-{n:05d}", "arm": arm, "phone": None, "timezone": "UTC", "language": "en",
                "procedure_date": procedure.isoformat(), "enrolled_at": utc_iso(now), "enrolled_by": "simulation",
                "punctures": rng.randint(1, 6)}).last_pk
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
    db.conn.execute("COMMIT")
    db.close()
