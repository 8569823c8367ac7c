"""The routine's steps as data: read once from skill/content/routine.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import Any


class Purpose(Enum):
    """What a timer times."""

    COLD = "cold"  # the compress is on
    WAIT = "wait"  # until the next hourly cold round
    HEAT = "heat"  # the hot shower, bath or heating pad


class Urgency(Enum):
    """How soon a warning sign needs someone other than Cramp Coach."""

    URGENT = "urgent"  # medical help now; the emergency number if it is an emergency
    DOCTOR = "doctor"  # see a doctor
    CHECKUP = "checkup"  # see a health professional about a pattern (cramps after every run)


@dataclass(frozen=True)
class StepTimer:
    """The timer a step offers: what it times and for how long."""

    purpose: Purpose
    choices: tuple[int, ...]  # minutes the runner may pick; the first is the default
    repeat_every: int = 0  # minutes from one round's start to the next (0: no rounds)


@dataclass(frozen=True)
class Step:
    """One step of the routine, as skill/content/routine.json describes it."""

    id: str
    hands_on: bool  # tells the runner to use their hands or body: never said to a driver
    pain_gate: bool = False  # asks whether the pain is increasing before it starts
    timer: StepTimer | None = None
    not_after_injury: bool = False  # skipped once a warning sign or emergency was heard
    after_the_cramp: bool = False  # only once the runner has not said the cramping stays


@dataclass(frozen=True)
class Sign:
    """A warning sign the runner can report (a red flag or an injury sign)."""

    urgency: Urgency
    cannot_walk: bool = False  # the person cannot walk or stand: never tell them to walk


@dataclass(frozen=True)
class Routine:
    """The whole routine: its steps, the warning signs it knows, emergency numbers."""

    steps: tuple[Step, ...]
    signs: Mapping[str, Sign]  # sign id (the RED_FLAG slot's ids) -> what it means
    emergency_numbers: Mapping[str, str]  # ISO country -> local emergency number

    @property
    def total(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> Step:
        return self.steps[number - 1]

    def number_of(self, purpose: Purpose) -> int:
        """The step a timer purpose belongs to (the wait between cold rounds: the cold step)."""
        wanted = Purpose.COLD if purpose is Purpose.WAIT else purpose
        return next(i for i, s in enumerate(self.steps, 1) if s.timer and s.timer.purpose is wanted)

    @property
    def cold_step(self) -> int:
        return self.number_of(Purpose.COLD)

    @property
    def repeat_every(self) -> int:
        """Minutes from the start of one cold round to the next."""
        return next((s.timer.repeat_every for s in self.steps
                     if s.timer and s.timer.repeat_every), 60)


# The routine's data, in the package beside this one (the Lambda zip keeps it unzipped). A path,
# not importlib.resources: that module and the readers it loads cost 3-4 ms of a cold start.
ROUTINE_FILE = Path(__file__).parents[1] / "content" / "routine.json"


@cache
def load_routine() -> Routine:
    """The routine data, read once from the package (never relative to the working directory)."""
    data = json.loads(ROUTINE_FILE.read_text(encoding="utf-8"))
    steps = tuple(
        Step(id=s["id"], hands_on=s["hands_on"], pain_gate=s.get("pain_gate", False),
             timer=_step_timer(s.get("timer")), not_after_injury=s.get("not_after_injury", False),
             after_the_cramp=s.get("after_the_cramp", False))
        for s in data["steps"]
    )
    signs = {sign_id: Sign(Urgency(raw["urgency"]), raw.get("cannot_walk", False))
             for sign_id, raw in data["signs"].items()}
    return Routine(steps, signs, data["emergency_numbers"])


def _step_timer(raw: Mapping[str, Any] | None) -> StepTimer | None:
    if raw is None:
        return None
    return StepTimer(Purpose(raw["purpose"]), tuple(raw["choices_minutes"]),
                     raw.get("repeat_every_minutes", 0))
