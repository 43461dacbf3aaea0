"""Pain medication used in the past 7 days, and the daily totals derived from it.

Each row is a medicine, the strength of one dose in mg, and doses per day.

Derived values:

* ``mme_mg_day``: oral morphine milligram equivalents per day, the sum over opioids of
  strength x doses x conversion factor. Factors are those of the CDC Clinical Practice
  Guideline for Prescribing Opioids for Pain, 2022 (Dowell et al., MMWR Recomm Rep
  2022;71(3), Table: MME conversion factors).
* ``nsaid_mg_day``: NSAID use in diclofenac-equivalent mg per day. Different NSAIDs cannot be
  added in raw milligrams (1,200 mg of ibuprofen is a usual day, 1,200 mg of diclofenac is an
  overdose), so each is scaled by the WHO ATC defined daily dose: mg x (DDD of diclofenac /
  DDD of the drug). For a trial whose patients take diclofenac, as in the reference trial, this
  is simply diclofenac mg per day.
* ``paracetamol_mg_day``: paracetamol mg per day, recorded separately (it is not an NSAID).
* ``nsaid_reduction_pct``: (baseline - now) / baseline x 100, undefined when baseline is 0.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from questionnaires.base import N_, AnswerError, normalise_digits, require_int

NSAID = "nsaid"
OPIOID = "opioid"
PARACETAMOL = "paracetamol"

# WHO ATC/DDD index (oral defined daily dose, mg) for diclofenac, the reference NSAID.
DICLOFENAC_DDD_MG = 100.0
MAX_ROWS = 4
MAX_DOSES_PER_DAY = 12


@dataclass(frozen=True)
class Drug:
    id: str
    name: str
    drug_class: str
    min_strength_mg: float
    max_strength_mg: float
    ddd_mg: float | None = None          # NSAIDs: WHO ATC oral DDD
    mme_factor: float | None = None      # opioids: CDC 2022 oral MME conversion factor


DRUGS: tuple[Drug, ...] = (
    Drug("diclofenac", N_("Diclofenac (Voltaren)"), NSAID, 12.5, 150, ddd_mg=100),
    Drug("ibuprofen", N_("Ibuprofen (Brufen, Advil)"), NSAID, 100, 800, ddd_mg=1200),
    Drug("naproxen", N_("Naproxen"), NSAID, 125, 1000, ddd_mg=500),
    Drug("ketoprofen", N_("Ketoprofen"), NSAID, 25, 200, ddd_mg=150),
    Drug("meloxicam", N_("Meloxicam"), NSAID, 7.5, 15, ddd_mg=15),
    Drug("celecoxib", N_("Celecoxib (Celebrex)"), NSAID, 50, 400, ddd_mg=200),
    Drug("etoricoxib", N_("Etoricoxib (Arcoxia)"), NSAID, 30, 120, ddd_mg=60),
    Drug("paracetamol", N_("Paracetamol (acetaminophen)"), PARACETAMOL, 125, 1000),
    Drug("tramadol", N_("Tramadol"), OPIOID, 25, 300, mme_factor=0.2),
    Drug("codeine", N_("Codeine"), OPIOID, 8, 60, mme_factor=0.15),
    Drug("tapentadol", N_("Tapentadol"), OPIOID, 25, 250, mme_factor=0.4),
    Drug("morphine", N_("Morphine"), OPIOID, 5, 200, mme_factor=1.0),
    Drug("oxycodone", N_("Oxycodone"), OPIOID, 2.5, 80, mme_factor=1.5),
    Drug("hydrocodone", N_("Hydrocodone"), OPIOID, 2.5, 100, mme_factor=1.0),
    Drug("hydromorphone", N_("Hydromorphone"), OPIOID, 1, 32, mme_factor=5.0),
)
DRUGS_BY_ID = {drug.id: drug for drug in DRUGS}


def row_fields(index: int) -> tuple[str, str, str]:
    return f"drug_{index}", f"strength_{index}", f"doses_{index}"


def _strength(raw: Any) -> float | None:
    if isinstance(raw, bool) or raw is None or raw == "":
        return None
    try:
        value = float(normalise_digits(str(raw).strip()).replace(",", "."))
    except ValueError:
        return None
    return value if value == value and value not in (float("inf"), float("-inf")) else None


@dataclass(frozen=True)
class MedicationInstrument:
    id: str = "medication"
    version: str = "1.0"
    title: str = N_("Pain medicines")
    question: str = N_("In the past 7 days, did you take any medicine for your back or leg pain?")
    drugs: tuple[Drug, ...] = DRUGS
    max_rows: int = MAX_ROWS

    def validate(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """Answers: ``took_any`` ("yes"/"no") and rows ``drug_N``, ``strength_N``, ``doses_N``."""
        if _is_canonical(answers):
            answers = _as_rows(answers)
        errors: dict[str, str] = {}
        took_any = answers.get("took_any")
        if took_any not in ("yes", "no"):
            raise AnswerError({"took_any": N_("Please answer yes or no.")})
        items = []
        for index in range(1, MAX_ROWS + 1):
            drug_f, strength_f, doses_f = row_fields(index)
            drug_id = answers.get(drug_f) or ""
            strength_raw = answers.get(strength_f)
            doses_raw = answers.get(doses_f)
            if not drug_id and strength_raw in (None, "") and doses_raw in (None, ""):
                continue
            drug = DRUGS_BY_ID.get(drug_id)
            if drug is None:
                errors[drug_f] = N_("Please choose the medicine from the list.")
                continue
            strength = _strength(strength_raw)
            if strength is None or not drug.min_strength_mg <= strength <= drug.max_strength_mg:
                errors[strength_f] = N_("Please check the strength in mg written on the box.")
            doses = require_int(answers, doses_f, 1, MAX_DOSES_PER_DAY, errors,
                                N_("Please give how many times a day, from 1 to 12."))
            if strength_f not in errors and doses is not None:
                items.append({"drug": drug.id, "strength_mg": strength, "doses_per_day": doses})
        if errors:
            raise AnswerError(errors)
        if took_any == "yes" and not items:
            raise AnswerError({row_fields(1)[0]: N_("Please tell us which medicine you took.")})
        if took_any == "no" and items:
            raise AnswerError({"took_any": N_("You listed medicines, so please answer yes.")})
        return {"took_any": took_any, "items": items}

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        return self.score_valid(self.validate(answers))

    def score_valid(self, clean: Mapping[str, Any]) -> dict[str, Any]:
        """score() of answers that validate() returned, without validating them a second time."""
        return daily_totals(clean["items"])


def _is_canonical(answers: Mapping[str, Any]) -> bool:
    return isinstance(answers.get("items"), list)


def _as_rows(answers: Mapping[str, Any]) -> dict[str, Any]:
    """The stored form ({"took_any", "items": [...]}) back as form rows, to validate again."""
    items = answers["items"]
    if len(items) > MAX_ROWS:
        raise AnswerError({"items": N_("Too many medicines.")})
    rows: dict[str, Any] = {"took_any": answers.get("took_any")}
    for index, item in enumerate(items, 1):
        if not isinstance(item, Mapping):
            raise AnswerError({"items": N_("Please tell us which medicine you took.")})
        drug_f, strength_f, doses_f = row_fields(index)
        rows[drug_f] = item.get("drug")
        rows[strength_f] = item.get("strength_mg")
        rows[doses_f] = item.get("doses_per_day")
    return rows


def daily_totals(items: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """NSAID diclofenac-equivalent mg/day, oral MME/day and paracetamol mg/day."""
    nsaid = mme = paracetamol = 0.0
    for item in items:
        drug = DRUGS_BY_ID[item["drug"]]
        mg_day = item["strength_mg"] * item["doses_per_day"]
        if drug.drug_class == NSAID:
            nsaid += mg_day * DICLOFENAC_DDD_MG / drug.ddd_mg
        elif drug.drug_class == OPIOID:
            mme += mg_day * drug.mme_factor
        else:
            paracetamol += mg_day
    return {"nsaid_mg_day": _tidy(nsaid), "mme_mg_day": _tidy(mme), "paracetamol_mg_day": _tidy(paracetamol)}


def _tidy(value: float) -> float:
    # 100 mg x 0.2 is 20.000000000000004 in binary floating point; totals are reported to
    # 0.1 mg at most, so six decimals removes the noise without losing anything real.
    return round(value, 6)


def nsaid_reduction_pct(baseline_mg_day: float | None, followup_mg_day: float | None) -> float | None:
    """Reduction of NSAID use in percent of baseline; None when undefined (no baseline use)."""
    if baseline_mg_day is None or followup_mg_day is None or baseline_mg_day <= 0:
        return None
    return (baseline_mg_day - followup_mg_day) / baseline_mg_day * 100


MEDICATION = MedicationInstrument()
