"""The demo's answers, shaped like the reference paper's results (Tables 3, 5 and 6). Pure but
for the random stream each participant is given."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from questionnaires.vas import MODE_LINE, MODE_NRS

# The reference paper's results, as the means answers are drawn around (arm A; arm B is
# VAS_ARM_B_SHIFT_CM worse at follow-ups). VAS >= 5 cm was an inclusion criterion.
VAS_CM = {"baseline": 6.4, "day1": 4.4, "week1": 4.0, "month1": 3.2, "month3": 3.0, "month6": 2.8}
VAS_ARM_B_SHIFT_CM = 0.5
VAS_MIN_AT_BASELINE_CM = 5.0
VAS_PATIENT_SD_CM, VAS_NOISE_SD_CM = 1.0, 0.9
NRS_SHARE = 0.08        # answered without JavaScript: the 0-10 numeric scale
ODI_PCT = {"baseline": 32, "month1": 24, "month3": 20, "month6": 16}
ODI_PATIENT_SD, ODI_NOISE_SD, ODI_ITEM_SD = 5.0, 4.0, 0.7
ODI_SEX_LIFE_SKIPPED = 0.3
# Satisfaction, very unsatisfied .. very satisfied (paper, Table 6).
SAT_PROCEDURE = {"A": (1, 6, 63, 27), "B": (1, 6, 65, 25)}
SAT_RESULTS = {"A": (1, 5, 49, 45), "B": (1, 6, 58, 35)}
# Medication: diclofenac at baseline, tapered afterwards (a median reduction of about 70 %).
NSAID_AT_BASELINE = 0.9
NSAID_BASELINE_DOSES = ((50.0, 2), (50.0, 3), (75.0, 2))
NSAID_KEPT = {"month1": 0.35, "month3": 0.3, "month6": 0.25}
NSAID_KEPT_SD = 0.12
DICLOFENAC_STRENGTHS = (12.5, 25.0, 50.0, 75.0)
NSAID_NONE_BELOW_MG = 10
PARACETAMOL = {"baseline": 0.3, "month1": 0.15, "month3": 0.12, "month6": 0.1}
# Tramadol 50 mg: once a day (10 mg morphine equivalents) at baseline, twice a day later.
OPIOID = {"baseline": (0.04, 1), "month1": (0.01, 2), "month3": (0.005, 2), "month6": (0.005, 2)}


@dataclass
class Profile:
    """What stays the same for one patient across timepoints."""

    pain: float                         # z-score: how much more (or less) pain than the average
    nsaid: tuple[float, int] | None     # baseline diclofenac (mg a dose, doses a day)
    kept_shift: float                   # more (or less) of the baseline NSAID dose kept than the average
    nrs: bool                           # answers the VAS on the numeric scale (no JavaScript)

    @classmethod
    def draw(cls, rng: random.Random) -> Profile:
        return cls(pain=rng.gauss(0, 1),
                   nsaid=rng.choice(NSAID_BASELINE_DOSES) if rng.random() < NSAID_AT_BASELINE else None,
                   kept_shift=rng.gauss(0, NSAID_KEPT_SD), nrs=rng.random() < NRS_SHARE)


# --- Answers, shaped like the paper's results ------------------------------------------------

def answers_for(instrument: str, timepoint: str, arm: str, profile: Profile, rng: random.Random) -> dict:
    """Raw answers to one instrument, as a patient's form would send them. Pure but for ``rng``."""
    return {"vas": _vas, "odi": _odi, "satisfaction": _satisfaction, "medication": _medication}[instrument](
        timepoint, arm, profile, rng)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(high, value))


def _vas(timepoint: str, arm: str, profile: Profile, rng: random.Random) -> dict:
    cm = VAS_CM[timepoint] + VAS_PATIENT_SD_CM * profile.pain + rng.gauss(0, VAS_NOISE_SD_CM)
    if timepoint == "baseline":
        cm = max(cm, VAS_MIN_AT_BASELINE_CM)
    elif arm == "B":
        cm += VAS_ARM_B_SHIFT_CM
    cm = _clamp(cm, 0, 10)
    if profile.nrs:
        return {"mode": MODE_NRS, "value": round(cm)}
    return {"mode": MODE_LINE, "value": round(cm * 10)}


def _odi(timepoint: str, arm: str, profile: Profile, rng: random.Random) -> dict:
    target = ODI_PCT[timepoint] + ODI_PATIENT_SD * profile.pain + rng.gauss(0, ODI_NOISE_SD)
    mean_item = _clamp(target, 0, 100) / 20        # ODI % = total / (5 x sections) x 100
    items = {f"odi_{n}": round(_clamp(rng.gauss(mean_item, ODI_ITEM_SD), 0, 5)) for n in range(1, 11)}
    if rng.random() < ODI_SEX_LIFE_SKIPPED:
        items["odi_8"] = None
    return items


def _satisfaction(timepoint: str, arm: str, profile: Profile, rng: random.Random) -> dict:
    return {"sat_procedure": rng.choices((1, 2, 3, 4), SAT_PROCEDURE[arm])[0],
            "sat_results": rng.choices((1, 2, 3, 4), SAT_RESULTS[arm])[0]}


def _medication(timepoint: str, arm: str, profile: Profile, rng: random.Random) -> dict:
    items = []
    if profile.nsaid is not None:
        strength, doses = profile.nsaid
        if timepoint == "baseline":
            items.append(_item("diclofenac", strength, doses))
        else:
            kept = _clamp(NSAID_KEPT[timepoint] + profile.kept_shift, 0, 1) * strength * doses
            if kept >= NSAID_NONE_BELOW_MG:
                items.append(_item("diclofenac", *_nearest_diclofenac(kept)))
    if rng.random() < PARACETAMOL[timepoint]:
        items.append(_item("paracetamol", 500.0, rng.randint(1, 3)))
    share, doses = OPIOID[timepoint]
    if rng.random() < share:
        items.append(_item("tramadol", 50.0, doses))
    return {"took_any": "yes" if items else "no", "items": items}


def _item(drug: str, strength: float, doses: int) -> dict:
    return {"drug": drug, "strength_mg": strength, "doses_per_day": doses}


def _nearest_diclofenac(mg_day: float) -> tuple[float, int]:
    """The tablet strength and doses a day nearest to a daily amount (fewest doses on a tie)."""
    options: Iterator[tuple[float, int]] = ((s, d) for d in (1, 2, 3) for s in DICLOFENAC_STRENGTHS)
    return min(options, key=lambda option: abs(option[0] * option[1] - mg_day))
