"""Oswestry Disability Index, version 2.1a (Fairbank & Pynsent, Spine 2000;25:2940-53).

Ten sections of six statements each, scored 0 (least disability) to 5 (most). The index is
total / (5 x sections answered) x 100, computed only when at least MIN_SECTIONS_FOR_SCORE
sections are answered; otherwise it is missing. The score is kept unrounded; rounding is a
matter of presentation.

A validated translation may ask fewer sections (Guermazi et al. 2005, the Tunisian Arabic ODI,
dropped sex life and travelling). The protocol file names such a version in its ``[odi]`` table
(see ``from_protocol``); a section keeps its number and its column in every version, so odi_9 is
social life whichever version asked it, and the index divides by the sections answered as before.

The ODI is copyright Jeremy Fairbank; it is distributed by Mapi Research Trust, from whom a
licence (and any translation) must be obtained before use in a trial.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from questionnaires.base import N_, AnswerError, require_int

ITEM_MAX = 5
# The text of each item as a form or a file usually writes it, and its value ("" is no answer):
# a reader of many answers looks each text up once and sends any other ("6", " 3", "3.0", "٣")
# to its full check (validate()), which reads or refuses it, so the lookup only ever saves time.
ITEM_TEXTS: dict[str, int | None] = {"": None, **{str(value): value for value in range(ITEM_MAX + 1)}}
# Fairbank & Pynsent (2000): with one or two sections unanswered, score over the answered ones.
MIN_SECTIONS_FOR_SCORE = 8

# Upper bounds (inclusive) of the disability bands in Fairbank & Pynsent (2000), on the
# unrounded score: 0-20 minimal, 21-40 moderate, 41-60 severe, 61-80 crippled, 81-100 bed-bound.
BANDS = (
    (20.0, "minimal"),
    (40.0, "moderate"),
    (60.0, "severe"),
    (80.0, "crippled"),
    (100.0, "bed-bound"),
)


@dataclass(frozen=True)
class Section:
    number: int
    title: str
    statements: tuple[str, str, str, str, str, str]
    may_skip: bool = False   # "if applicable": a patient may leave it blank without being asked again

    @property
    def field(self) -> str:
        return f"odi_{self.number}"


SECTIONS: tuple[Section, ...] = (
    Section(1, N_("Pain intensity"), (
        N_("I have no pain at the moment."),
        N_("The pain is very mild at the moment."),
        N_("The pain is moderate at the moment."),
        N_("The pain is fairly severe at the moment."),
        N_("The pain is very severe at the moment."),
        N_("The pain is the worst imaginable at the moment."),
    )),
    Section(2, N_("Personal care (washing, dressing, etc.)"), (
        N_("I can look after myself normally without causing extra pain."),
        N_("I can look after myself normally but it is very painful."),
        N_("It is painful to look after myself and I am slow and careful."),
        N_("I need some help but manage most of my personal care."),
        N_("I need help every day in most aspects of self-care."),
        N_("I do not get dressed, I wash with difficulty and stay in bed."),
    )),
    Section(3, N_("Lifting"), (
        N_("I can lift heavy weights without extra pain."),
        N_("I can lift heavy weights but it gives extra pain."),
        N_("Pain prevents me from lifting heavy weights off the floor, but I can manage if they "
           "are conveniently placed, for example on a table."),
        N_("Pain prevents me from lifting heavy weights, but I can manage light to medium weights "
           "if they are conveniently positioned."),
        N_("I can lift very light weights."),
        N_("I cannot lift or carry anything at all."),
    )),
    Section(4, N_("Walking"), (
        N_("Pain does not prevent me walking any distance."),
        N_("Pain prevents me from walking more than 1 mile."),
        N_("Pain prevents me from walking more than a quarter of a mile."),
        N_("Pain prevents me from walking more than 100 yards."),
        N_("I can only walk using a stick or crutches."),
        N_("I am in bed most of the time."),
    )),
    Section(5, N_("Sitting"), (
        N_("I can sit in any chair as long as I like."),
        N_("I can only sit in my favourite chair as long as I like."),
        N_("Pain prevents me sitting more than one hour."),
        N_("Pain prevents me from sitting more than 30 minutes."),
        N_("Pain prevents me from sitting more than 10 minutes."),
        N_("Pain prevents me from sitting at all."),
    )),
    Section(6, N_("Standing"), (
        N_("I can stand as long as I want without extra pain."),
        N_("I can stand as long as I want but it gives me extra pain."),
        N_("Pain prevents me from standing for more than 1 hour."),
        N_("Pain prevents me from standing for more than 30 minutes."),
        N_("Pain prevents me from standing for more than 10 minutes."),
        N_("Pain prevents me from standing at all."),
    )),
    Section(7, N_("Sleeping"), (
        N_("My sleep is never disturbed by pain."),
        N_("My sleep is occasionally disturbed by pain."),
        N_("Because of pain I have less than 6 hours sleep."),
        N_("Because of pain I have less than 4 hours sleep."),
        N_("Because of pain I have less than 2 hours sleep."),
        N_("Pain prevents me from sleeping at all."),
    )),
    Section(8, N_("Sex life (if applicable)"), (
        N_("My sex life is normal and causes no extra pain."),
        N_("My sex life is normal but causes some extra pain."),
        N_("My sex life is nearly normal but is very painful."),
        N_("My sex life is severely restricted by pain."),
        N_("My sex life is nearly absent because of pain."),
        N_("Pain prevents any sex life at all."),
    ), may_skip=True),
    Section(9, N_("Social life"), (
        N_("My social life is normal and gives me no extra pain."),
        N_("My social life is normal but increases the degree of pain."),
        N_("Pain has no significant effect on my social life apart from limiting my more "
           "energetic interests, for example sport."),
        N_("Pain has restricted my social life and I do not go out as often."),
        N_("Pain has restricted my social life to my home."),
        N_("I have no social life because of pain."),
    )),
    Section(10, N_("Travelling"), (
        N_("I can travel anywhere without pain."),
        N_("I can travel anywhere but it gives me extra pain."),
        N_("Pain is bad but I manage journeys over two hours."),
        N_("Pain restricts me to journeys of less than one hour."),
        N_("Pain restricts me to short necessary journeys under 30 minutes."),
        N_("Pain prevents me from travelling except to receive treatment."),
    )),
)

# Every section of version 2.1a: the dataset's odi_1 ... odi_10 columns, whichever version is asked.
FIELDS = tuple(section.field for section in SECTIONS)


def odi_score(items: Mapping[str, int | None], fields: tuple[str, ...] = FIELDS,
              min_sections: int = MIN_SECTIONS_FOR_SCORE) -> float | None:
    """Index in percent, unrounded: total / (5 x answered) x 100, or None under ``min_sections``.

    >>> odi_score({f"odi_{n}": v for n, v in enumerate([2, 2, 2, 2, 2, 2, 1, 1, 1, 1], 1)})
    32.0
    """
    answered = [items[field] for field in fields if items.get(field) is not None]
    return index(sum(answered), len(answered), min_sections)


def index(total: int, answered: int, min_sections: int = MIN_SECTIONS_FOR_SCORE) -> float | None:
    """The index of ``answered`` sections whose items add up to ``total`` (odi_score's formula):
    it depends on nothing else, so a reader of many forms can score each distinct pair once.

    >>> index(16, 10)
    32.0
    """
    if answered < min_sections:
        return None
    return total / (ITEM_MAX * answered) * 100


def odi_band(score: float | None) -> str | None:
    """Disability band of an unrounded index; None when the index is missing."""
    if score is None:
        return None
    for upper, band in BANDS:
        if score <= upper:
            return band
    raise ValueError(f"ODI score {score} is above 100")


@dataclass(frozen=True)
class OdiInstrument:
    id: str = "odi"
    version: str = "2.1a"
    title: str = N_("Back pain and daily life")
    instructions: str = N_(
        "These questions tell us how your back or leg pain affects your everyday life. "
        "In each section, choose the one statement that best describes you today. "
        "If two seem to apply, choose the one that most closely describes you.")

    sections: tuple[Section, ...] = SECTIONS
    # The fewest sections answered that give an index: 8 of the ten of version 2.1a.
    min_sections: int = MIN_SECTIONS_FOR_SCORE

    @cached_property   # read several times per form: validate and score
    def fields(self) -> tuple[str, ...]:
        """The sections this version asks, as answer fields (a subset of FIELDS, in order)."""
        return tuple(section.field for section in self.sections)

    def validate(self, answers: Mapping[str, Any], *, min_answered: int = 0) -> dict[str, Any]:
        """Canonical items (0-5 or None). ``min_answered`` makes a form refuse too many gaps."""
        errors: dict[str, str] = {}
        unknown = set(answers) - set(self.fields)
        if unknown:
            errors.update({field: N_("This is not a question of this form.") for field in sorted(unknown)})
        clean = {
            field: require_int(answers, field, 0, ITEM_MAX, errors,
                               N_("Please choose one statement."), required=False)
            for field in self.fields
        }
        if errors:
            raise AnswerError(errors)
        answered = sum(value is not None for value in clean.values())
        if answered < min_answered:
            # Mark the blank sections the patient is asked to fill; one that may be skipped
            # ("Sex life, if applicable") is never marked, though answering it would count.
            skippable = {section.field for section in self.sections if section.may_skip}
            raise AnswerError({field: N_("Please choose one statement.")
                               for field, value in clean.items() if value is None and field not in skippable})
        return clean

    def sections_still_needed(self, answers: Mapping[str, Any], min_answered: int) -> int:
        """How many more sections must be answered to reach ``min_answered``."""
        return max(0, min_answered - sum(answers.get(field) not in (None, "") for field in self.fields))

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        return self.score_valid(self.validate(answers))

    def score_valid(self, clean: Mapping[str, int | None]) -> dict[str, Any]:
        """score() of answers that validate() returned, without validating them a second time
        (the import scores tens of thousands of forms it has just validated)."""
        score = odi_score(clean, self.fields, self.min_sections)
        return {
            "odi_score": score,
            "odi_band": odi_band(score),
            "odi_answered": sum(value is not None for value in clean.values()),
        }

    def score_totals(self, total: int, answered: int) -> dict[str, Any]:
        """score_valid() of validated answers of which ``answered`` sections are answered, their
        items adding up to ``total`` (the paper import scores each distinct pair once)."""
        score = index(total, answered, self.min_sections)
        return {"odi_score": score, "odi_band": odi_band(score), "odi_answered": answered}


ODI = OdiInstrument()

VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")
FEWEST_SECTIONS = 5   # below this an "ODI" is some other instrument


def from_protocol(raw: Any, problems: list[str]) -> OdiInstrument:
    """The ODI a protocol asks, from its optional ``[odi]`` table; problems are appended.

    ``version`` (recorded with every answer), ``sections`` (numbers of version 2.1a's sections,
    in order; default all ten) and ``min_sections`` (default: all but two). A version that asks
    fewer sections must be named: answers to it are not answers to 2.1a.
    """
    if not isinstance(raw, dict):
        problems.append("odi: must be a table")
        return ODI
    unknown = set(raw) - {"version", "sections", "min_sections"}
    if unknown:
        problems.append(f"odi: unknown key(s) {', '.join(sorted(unknown))} (known: version, sections, min_sections)")
    numbers = raw.get("sections", [section.number for section in SECTIONS])
    every = {section.number: section for section in SECTIONS}
    if (not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers)
            or not set(numbers) <= set(every) or numbers != sorted(set(numbers)) or len(numbers) < FEWEST_SECTIONS):
        problems.append(f"odi.sections: increasing section numbers from 1 to {len(SECTIONS)}, "
                        f"at least {FEWEST_SECTIONS}, got {numbers!r}")
        return ODI
    version = raw.get("version", ODI.version)
    if not isinstance(version, str) or not VERSION_PATTERN.match(version):
        problems.append(f"odi.version: letters, digits, '.', '-' or '_', at most 32, got {version!r}")
        return ODI
    if len(numbers) < len(SECTIONS) and version == ODI.version:
        problems.append(f"odi.version: version {ODI.version} asks all {len(SECTIONS)} sections; "
                        f"name the version that asks sections {numbers}")
        return ODI
    min_sections = raw.get("min_sections", len(numbers) - (len(SECTIONS) - MIN_SECTIONS_FOR_SCORE))
    if isinstance(min_sections, bool) or not isinstance(min_sections, int) or not 1 <= min_sections <= len(numbers):
        problems.append(f"odi.min_sections: a whole number from 1 to {len(numbers)}, got {min_sections!r}")
        return ODI
    return OdiInstrument(version=version, sections=tuple(every[n] for n in numbers), min_sections=min_sections)
