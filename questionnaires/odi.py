"""Oswestry Disability Index, version 2.1a (Fairbank & Pynsent, Spine 2000;25:2940-53).

Ten sections of six statements each, scored 0 (least disability) to 5 (most). The index is
total / (5 x sections answered) x 100, computed only when at least MIN_SECTIONS_FOR_SCORE
sections are answered; otherwise it is missing. The score is kept unrounded; rounding is a
matter of presentation.

The ODI is copyright Jeremy Fairbank; it is distributed by Mapi Research Trust, from whom a
licence (and any translation) must be obtained before use in a trial.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from questionnaires.base import N_, AnswerError, require_int

ITEM_MAX = 5
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

FIELDS = tuple(section.field for section in SECTIONS)


def odi_score(items: Mapping[str, int | None]) -> float | None:
    """Index in percent, unrounded: total / (5 x answered) x 100, or None under 8 answered.

    >>> odi_score({f"odi_{n}": v for n, v in enumerate([2, 2, 2, 2, 2, 2, 1, 1, 1, 1], 1)})
    32.0
    """
    answered = [items[field] for field in FIELDS if items.get(field) is not None]
    if len(answered) < MIN_SECTIONS_FOR_SCORE:
        return None
    return sum(answered) / (ITEM_MAX * len(answered)) * 100


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

    def validate(self, answers: Mapping[str, Any], *, min_answered: int = 0) -> dict[str, Any]:
        """Canonical items (0-5 or None). ``min_answered`` makes a form refuse too many gaps."""
        errors: dict[str, str] = {}
        unknown = set(answers) - set(FIELDS)
        if unknown:
            errors.update({field: N_("This is not a question of this form.") for field in sorted(unknown)})
        clean = {
            field: require_int(answers, field, 0, ITEM_MAX, errors,
                               N_("Please choose one statement."), required=False)
            for field in FIELDS
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
        return max(0, min_answered - sum(answers.get(field) not in (None, "") for field in FIELDS))

    def score(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        clean = self.validate(answers)
        score = odi_score(clean)
        return {
            "odi_score": score,
            "odi_band": odi_band(score),
            "odi_answered": sum(value is not None for value in clean.values()),
        }


ODI = OdiInstrument()
