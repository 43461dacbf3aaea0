"""The protocol's clinical settings: who is eligible, what the procedure allows, and how a dose
becomes an effective dose. Read from the protocol file's [eligibility] and [clinical] tables, so
another trial changes them without code. Pure.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

GUIDANCES = ("fluoroscopy", "ct")


@dataclass(frozen=True)
class Criterion:
    id: str
    text: str


@dataclass(frozen=True)
class PulsedRf:
    """Pulsed radiofrequency settings the procedure form is prefilled with."""

    temperature_c: float = 42
    frequency_hz: float = 2
    pulse_width_ms: float = 20
    duration_s: float = 300


@dataclass(frozen=True)
class EffectiveDose:
    """mSv per unit of each modality's own dose quantity, with the published source."""

    fluoroscopy_msv_per_mgycm2: float = 0.0
    ct_msv_per_mgycm: float = 0.0
    source: str = ""


@dataclass(frozen=True)
class ClinicalSettings:
    inclusion: tuple[Criterion, ...] = ()
    exclusion: tuple[Criterion, ...] = ()
    methylprednisolone_max_mg: float = 80
    pulsed_rf: PulsedRf = field(default_factory=PulsedRf)
    effective_dose: EffectiveDose = field(default_factory=EffectiveDose)


def parse_clinical(data: Mapping[str, Any], problems: list[str]) -> ClinicalSettings:
    """The [eligibility] and [clinical] tables; every problem is added to ``problems``."""
    eligibility = data.get("eligibility", {})
    clinical = data.get("clinical", {})
    if not isinstance(eligibility, dict) or not isinstance(clinical, dict):
        problems.append("eligibility, clinical: must be tables")
        return ClinicalSettings()
    criteria = {kind: _criteria(eligibility.get(kind, []), f"eligibility.{kind}", problems)
                for kind in ("inclusion", "exclusion")}
    seen = [c.id for kind in criteria.values() for c in kind]
    if len(seen) != len(set(seen)):
        problems.append("eligibility: every criterion needs its own id")
    rf_table = clinical.get("pulsed_rf", {})
    dose_table = clinical.get("effective_dose", {})
    default_rf = PulsedRf()
    rf = PulsedRf(*(_number(rf_table, key, f"clinical.pulsed_rf.{key}", getattr(default_rf, key), problems)
                    for key in ("temperature_c", "frequency_hz", "pulse_width_ms", "duration_s")))
    dose = EffectiveDose(
        _number(dose_table, "fluoroscopy_msv_per_mgycm2", "clinical.effective_dose.fluoroscopy_msv_per_mgycm2", 0.0,
                problems),
        _number(dose_table, "ct_msv_per_mgycm", "clinical.effective_dose.ct_msv_per_mgycm", 0.0, problems),
        str(dose_table.get("source", "")))
    ceiling = _number(clinical, "methylprednisolone_max_mg", "clinical.methylprednisolone_max_mg", 80, problems)
    return ClinicalSettings(criteria["inclusion"], criteria["exclusion"], ceiling, rf, dose)


def _criteria(raw: Any, where: str, problems: list[str]) -> tuple[Criterion, ...]:
    if not isinstance(raw, list):
        problems.append(f"{where}: a list of {{id, text}} tables")
        return ()
    found = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str) or not isinstance(item.get("text"), str):
            problems.append(f"{where}[{index}]: needs text fields id and text")
            continue
        found.append(Criterion(item["id"], item["text"]))
    return tuple(found)


def _number(table: Any, key: str, where: str, default: float, problems: list[str]) -> float:
    value = table.get(key, default) if isinstance(table, dict) else default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        problems.append(f"{where}: a number of 0 or more, got {value!r}")
        return default
    return float(value)
