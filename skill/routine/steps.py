"""The routine's steps as data: read once from skill/content/routine.json."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class StepTimer:
    purpose: str  # a Purpose value
    choices: tuple[int, ...]  # minutes the runner may pick; the first is the default
    repeat_every: int = 0  # minutes from one round's start to the next (0: no rounds)


@dataclass(frozen=True)
class Step:
    id: str
    hands_on: bool
    pain_gate: bool = False
    timer: StepTimer | None = None


@dataclass(frozen=True)
class Routine:
    steps: tuple[Step, ...]
    red_flags: Mapping[str, str]  # red flag id -> urgency: urgent | doctor | checkup
    emergency_numbers: Mapping[str, str]  # ISO country -> local emergency number

    @property
    def total(self) -> int:
        return len(self.steps)

    def step(self, number: int) -> Step:
        return self.steps[number - 1]


@cache
def load_routine() -> Routine:
    """The routine data, read once from the package (never relative to the working directory)."""
    data = json.loads(resources.files("skill.content").joinpath("routine.json").read_text())
    steps = tuple(
        Step(id=s["id"], hands_on=s["hands_on"], pain_gate=s.get("pain_gate", False),
             timer=_step_timer(s.get("timer")))
        for s in data["steps"]
    )
    return Routine(steps, data["red_flags"], data["emergency_numbers"])


def _step_timer(raw: Mapping[str, Any] | None) -> StepTimer | None:
    if raw is None:
        return None
    return StepTimer(raw["purpose"], tuple(raw["choices_minutes"]),
                     raw.get("repeat_every_minutes", 0))
