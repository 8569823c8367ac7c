"""What the machine answers: the lines to speak, what to show, and effects to carry out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from skill.routine.state import State, Timer
from skill.routine.steps import Purpose


@dataclass(frozen=True)
class Line:
    """One piece of speech: a template key and the values it needs beyond the state."""

    key: str
    args: Mapping[str, Any] = field(default_factory=dict)

    def __hash__(self) -> int:
        # The args are a small dict of plain values: hashed by their sorted items' text (once:
        # lines are values), so outcomes can be memoized and states explored. Most lines
        # have no args: their key's hash is enough.
        if not self.args:
            return hash(self.key)
        cached = self.__dict__.get("_hash")
        if cached is None:
            cached = hash((self.key, repr(sorted(self.args.items()))))
            object.__setattr__(self, "_hash", cached)
        return cached


class Card(Enum):
    """What the Alexa app's card shows, when a turn sends one."""

    STEP = "step"
    CHECKLIST = "checklist"


@dataclass(frozen=True)
class StepShown:
    """The current step as a card or a screen shows it."""

    number: int
    instruction: Line  # what to do; or the question asked before it; or the car's hold line
    timer: Line | None = None  # a running timer's time left


@dataclass(frozen=True)
class ChecklistShown:
    """The things you'll need, the steps in brief, and the disclaimer."""


Shown = StepShown | ChecklistShown


# Effects: what the conversation must do besides speaking. Timer calls report back as a
# TIMER_RESULT event, which the routine then answers in the same turn.
class TimerOp(Enum):
    CREATE = "create"
    CANCEL = "cancel"
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True)
class Forget:
    """Delete everything stored for this user."""


@dataclass(frozen=True)
class SetTimer:
    """Set a timer on the device through the Timers API."""

    purpose: Purpose
    minutes: int
    round: int = 1  # the cold round it times, for a label that is unique and says what it is

    @property
    def op(self) -> TimerOp:
        return TimerOp.CREATE


@dataclass(frozen=True)
class ChangeTimer:
    """Cancel, pause or resume a timer the routine set."""

    op: TimerOp  # CANCEL, PAUSE or RESUME
    timer: Timer
    quiet: bool = False  # tidying up after the runner moved on: nothing to say about it


@dataclass(frozen=True)
class AskTimerPermission:
    """Hand over to Alexa to ask for the timers permission by voice."""


@dataclass(frozen=True)
class ConsentCard:
    """Send the card that lets the user grant the timers permission in the Alexa app."""


Effect = Forget | SetTimer | ChangeTimer | AskTimerPermission | ConsentCard
TimerCall = SetTimer | ChangeTimer


class TimerResult(Enum):
    DONE = "done"  # set, cancelled, paused or resumed as asked
    NOT_FOUND = "not_found"  # the timer had already gone off, or was cancelled elsewhere
    NEEDS_PERMISSION = "needs_permission"  # the user has not allowed timers yet
    FAILED = "failed"  # refused, or the service could not be reached: `reason` says which


@dataclass(frozen=True)
class TimerReport:
    """What the Timers API did with one call."""

    call: TimerCall
    result: TimerResult
    timer_id: str = ""  # the new timer's id, when one was set
    reason: str = ""  # why it failed (skill.timers' refusal or unavailability reasons)


@dataclass(frozen=True)
class Outcome:
    """A turn's answer: the next state, what to say and show, and what to do besides."""

    state: State
    lines: tuple[Line, ...] = ()
    prompt: Line | None = None  # None: expect no answer, end the session
    card: Card | None = None  # a card for the Alexa app, showing `shown`
    effects: tuple[Effect, ...] = ()  # what the conversation must do besides speaking
    shown: Shown | None = None  # what a card and a screen show (set once the turn is done)

    @property
    def ends_session(self) -> bool:
        return self.prompt is None and not self.hands_over

    @property
    def hands_over(self) -> bool:
        """Alexa takes the next turn (the permission question): no prompt, no session end."""
        return any(isinstance(e, AskTimerPermission) for e in self.effects)

    @property
    def keys(self) -> tuple[str, ...]:
        """The template keys spoken, in order, the prompt's last: what the routine chose."""
        return tuple(line.key for line in (*self.lines, *((self.prompt,) if self.prompt else ())))

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed, in the same turn, by the answer to what its effects did."""
        done = tuple(e for e in self.effects if not isinstance(e, TimerCall))
        # A turn that ends the session still ends it: tidying a timer away asks nothing.
        ending = self.prompt is None and not self.hands_over
        return Outcome(later.state, self.lines + later.lines, None if ending else later.prompt,
                       later.card or self.card, done + later.effects, later.shown or self.shown)
