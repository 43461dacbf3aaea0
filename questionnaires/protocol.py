"""The trial protocol: arms, timepoints, windows and the instruments due at each.

A protocol is a TOML data file (``default_protocol.toml`` beside this module is the reference
trial). ``load_protocol`` validates it completely and raises ProtocolError listing every
problem with its place in the file, so a bad file stops the app at start-up, not mid-trial.
"""
from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from functools import cached_property
from pathlib import Path
from typing import Any

from questionnaires import INSTRUMENTS, odi
from questionnaires.base import Instrument
from questionnaires.clinical import GUIDANCES, ClinicalSettings, parse_clinical

DEFAULT_PROTOCOL_PATH = Path(__file__).with_name("default_protocol.toml")
ID_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
ARM_PATTERN = re.compile(r"^[A-Z]$")
# Six months and a window of thirty days is the longest in the reference protocol; a year is
# generous for other trials, and anything longer is far more likely a typo.
MAX_OFFSET_DAYS = 366
MAX_OFFSET_MONTHS = 24
MAX_WINDOW_DAYS = 120
# An answer kept on the phone while the connection was down is accepted up to this long after its
# window closed, if it was answered inside the window: a day covers a night without signal.
DEFAULT_OFFLINE_GRACE_HOURS = 24
MAX_OFFLINE_GRACE_HOURS = 7 * 24


class ProtocolError(ValueError):
    def __init__(self, source: str, problems: list[str]):
        self.problems = problems
        super().__init__(f"invalid protocol {source}:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Arm:
    code: str
    label: str
    guidance: str | None = None   # the imaging an arm's procedure is guided by (fluoroscopy, ct)


@dataclass(frozen=True)
class Timepoint:
    id: str
    label: str
    offset_days: int
    offset_months: int
    window_before_days: int
    window_after_days: int
    instruments: tuple[str, ...]
    remind: bool = True
    short_label: str = ""     # a few letters for compact views (the board's cards); the label if unset

    @property
    def short(self) -> str:
        return self.short_label or self.label


@dataclass(frozen=True)
class ReminderPolicy:
    """When SMS reminders may go, in the participant's local time (defaults: DESIGN.md)."""

    send_time: time = time(10, 0)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(9, 0)
    repeat_after_days: tuple[int, ...] = (2, 5)


@dataclass(frozen=True)
class Protocol:
    id: str
    title: str
    version: int
    arms: tuple[Arm, ...]
    timepoints: tuple[Timepoint, ...]
    reminders: ReminderPolicy = field(default_factory=ReminderPolicy)
    baseline_id: str = ""      # the reference for changes over time; the first timepoint by default
    clinical: ClinicalSettings = field(default_factory=ClinicalSettings)
    # The VAS line's direction per language ("ltr" or "rtl"); unset: the page's, so "no pain" is
    # at the reading start (right in Arabic). The stored value is always mm from "no pain".
    vas_directions: Mapping[str, str] = field(default_factory=dict)
    # The instruments as this protocol asks them, by id: its ODI version may ask fewer sections.
    instruments: Mapping[str, Instrument] = field(default_factory=lambda: dict(INSTRUMENTS))
    # [offline] grace_hours: how long after a window closes an answer given inside it, and kept
    # on the patient's phone while the connection was down, may still arrive.
    offline_grace_hours: int = DEFAULT_OFFLINE_GRACE_HOURS

    @cached_property
    def offline_grace(self) -> timedelta:
        """Asked of every patient request (a timedelta is slow to make from keywords)."""
        return timedelta(hours=self.offline_grace_hours)

    def vas_direction(self, language: str, page_direction: str) -> str:
        return self.vas_directions.get(language, page_direction)

    @cached_property
    def baseline(self) -> Timepoint:
        return self.timepoint(self.baseline_id) or self.timepoints[0]

    def timepoint(self, timepoint_id: str) -> Timepoint | None:
        return self._timepoints_by_id.get(timepoint_id)

    @cached_property
    def _timepoints_by_id(self) -> dict[str, Timepoint]:
        """Asked of every patient request, three times for a submission."""
        return {tp.id: tp for tp in self.timepoints}

    def arm(self, code: str) -> Arm | None:
        return next((arm for arm in self.arms if arm.code == code), None)

    @property
    def arm_codes(self) -> tuple[str, ...]:
        return tuple(arm.code for arm in self.arms)

    @property
    def timepoint_ids(self) -> tuple[str, ...]:
        return tuple(tp.id for tp in self.timepoints)


def load_protocol(path: str | Path, instruments: Mapping[str, Instrument]) -> Protocol:
    """Read and validate a protocol file. ``instruments`` are the ids it may name."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProtocolError(str(path), ["file not found"]) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(path), [f"not valid TOML: {exc}"]) from None
    return parse_protocol(data, instruments, source=str(path))


def parse_protocol(data: Mapping[str, Any], instruments: Mapping[str, Instrument],
                   source: str = "<data>") -> Protocol:
    problems: list[str] = []

    def text(where: str, table: Mapping[str, Any], key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            problems.append(f"{where}.{key}: required text")
            return ""
        return value

    def integer(where: str, table: Mapping[str, Any], key: str, high: int, default: int | None = None) -> int:
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            problems.append(f"{where}.{key}: must be a whole number from 0 to {high}, got {value!r}")
            return 0
        return value

    protocol_id = text("protocol", data, "id")
    title = text("protocol", data, "title")
    version = integer("protocol", data, "version", 10_000)

    arms: list[Arm] = []
    raw_arms = data.get("arms")
    if not isinstance(raw_arms, list) or len(raw_arms) < 2:
        problems.append("arms: at least two [[arms]] tables are required")
        raw_arms = []
    for index, raw in enumerate(raw_arms):
        where = f"arms[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table")
            continue
        code = text(where, raw, "code")
        if code and not ARM_PATTERN.match(code):
            problems.append(f"{where}.code: must be one capital letter, got {code!r}")
        guidance = raw.get("guidance")
        if guidance is not None and guidance not in GUIDANCES:
            problems.append(f"{where}.guidance: one of {', '.join(GUIDANCES)}, got {guidance!r}")
            guidance = None
        arms.append(Arm(code, text(where, raw, "label"), guidance))
    _duplicates("arms", [arm.code for arm in arms], problems)

    timepoints: list[Timepoint] = []
    raw_timepoints = data.get("timepoints")
    if not isinstance(raw_timepoints, list) or not raw_timepoints:
        problems.append("timepoints: at least one [[timepoints]] table is required")
        raw_timepoints = []
    for index, raw in enumerate(raw_timepoints):
        where = f"timepoints[{index}]"
        if not isinstance(raw, dict):
            problems.append(f"{where}: must be a table")
            continue
        tp_id = text(where, raw, "id")
        if tp_id and not ID_PATTERN.match(tp_id):
            problems.append(f"{where}.id: lower-case letters, digits and _ only, got {tp_id!r}")
        names = raw.get("instruments")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            problems.append(f"{where}.instruments: a non-empty list of instrument ids is required")
            names = []
        for name in names:
            if name not in instruments:
                problems.append(f"{where}.instruments: unknown instrument {name!r} "
                                f"(known: {', '.join(sorted(instruments))})")
        _duplicates(f"{where}.instruments", names, problems)
        timepoints.append(Timepoint(
            id=tp_id,
            label=text(where, raw, "label"),
            offset_days=integer(where, raw, "offset_days", MAX_OFFSET_DAYS, default=0),
            offset_months=integer(where, raw, "offset_months", MAX_OFFSET_MONTHS, default=0),
            window_before_days=integer(where, raw, "window_before_days", MAX_WINDOW_DAYS),
            window_after_days=integer(where, raw, "window_after_days", MAX_WINDOW_DAYS),
            instruments=tuple(names),
            remind=_flag(where, raw, "remind", problems),
            short_label=_short_label(where, raw, problems),
        ))
    _duplicates("timepoints", [tp.id for tp in timepoints], problems)

    reminders = _reminder_policy(data.get("reminders", {}), problems)
    baseline_id = data.get("baseline", timepoints[0].id if timepoints else "")
    if not isinstance(baseline_id, str) or (timepoints and baseline_id not in {tp.id for tp in timepoints}):
        problems.append(f"baseline: must name one of the timepoints, got {baseline_id!r}")
    clinical = parse_clinical(data, problems)
    vas = data.get("vas", {})
    directions = vas.get("line_direction", {}) if isinstance(vas, dict) else None
    if not isinstance(directions, dict) or any(v not in ("ltr", "rtl") for v in directions.values()):
        problems.append(f"vas.line_direction: a table of language = \"ltr\" or \"rtl\", got {directions!r}")
        directions = {}
    offline = data.get("offline", {})
    if not isinstance(offline, dict):
        problems.append("offline: must be a table")
        offline = {}
    grace_hours = integer("offline", offline, "grace_hours", MAX_OFFLINE_GRACE_HOURS, default=DEFAULT_OFFLINE_GRACE_HOURS)
    asked = dict(instruments)
    if "odi" in data or "odi" in asked:
        asked["odi"] = odi.from_protocol(data.get("odi", {}), problems)
    if problems:
        raise ProtocolError(source, problems)
    return Protocol(protocol_id, title, version, tuple(arms), tuple(timepoints), reminders, baseline_id, clinical,
                    dict(directions), asked, grace_hours)


MAX_SHORT_LABEL = 6


def _short_label(where: str, table: Mapping[str, Any], problems: list[str]) -> str:
    value = table.get("short_label", "")
    if not isinstance(value, str) or len(value) > MAX_SHORT_LABEL:
        problems.append(f"{where}.short_label: at most {MAX_SHORT_LABEL} characters, got {value!r}")
        return ""
    return value


def _flag(where: str, table: Mapping[str, Any], key: str, problems: list[str]) -> bool:
    value = table.get(key, True)
    if not isinstance(value, bool):
        problems.append(f"{where}.{key}: must be true or false, got {value!r}")
        return True
    return value


def _reminder_policy(raw: Any, problems: list[str]) -> ReminderPolicy:
    if not isinstance(raw, dict):
        problems.append("reminders: must be a table")
        return ReminderPolicy()
    default = ReminderPolicy()
    times = {}
    for key in ("send_time", "quiet_start", "quiet_end"):
        value = raw.get(key, getattr(default, key).strftime("%H:%M"))
        try:
            times[key] = time.fromisoformat(value) if isinstance(value, str) and len(value) == 5 else None
        except ValueError:
            times[key] = None
        if times[key] is None:
            problems.append(f"reminders.{key}: must be a local time written HH:MM, got {value!r}")
            times[key] = getattr(default, key)
    repeats = raw.get("repeat_after_days", list(default.repeat_after_days))
    if (not isinstance(repeats, list)
            or not all(isinstance(d, int) and not isinstance(d, bool) and 0 < d <= MAX_WINDOW_DAYS for d in repeats)
            or repeats != sorted(set(repeats))):
        problems.append(f"reminders.repeat_after_days: increasing whole days from 1 to {MAX_WINDOW_DAYS}, "
                        f"got {repeats!r}")
        repeats = list(default.repeat_after_days)
    policy = ReminderPolicy(times["send_time"], times["quiet_start"], times["quiet_end"], tuple(repeats))
    if in_quiet_hours(policy.send_time, policy):
        problems.append(f"reminders.send_time: {policy.send_time:%H:%M} is inside quiet hours "
                        f"{policy.quiet_start:%H:%M}-{policy.quiet_end:%H:%M}")
    return policy


def in_quiet_hours(moment: time, policy: ReminderPolicy) -> bool:
    if policy.quiet_start <= policy.quiet_end:
        return policy.quiet_start <= moment < policy.quiet_end
    return moment >= policy.quiet_start or moment < policy.quiet_end


def _duplicates(where: str, values: list[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            problems.append(f"{where}: {value!r} appears more than once")
        seen.add(value)
