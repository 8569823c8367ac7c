"""What the machine works with: events in, states and outcomes out. Small JSON values only."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from datetime import date
from enum import Enum
from typing import Any

from skill.routine.steps import Routine


class Ev(Enum):
    """What the user did, whatever words they used."""

    LAUNCH = "launch"
    START = "start"
    NEXT = "next"
    PREVIOUS = "previous"
    REPEAT = "repeat"
    START_OVER = "start_over"
    GO_TO = "go_to"
    WHERE_AM_I = "where_am_i"
    STEPS_LEFT = "steps_left"
    SKIP = "skip"
    MORE = "more"
    PAUSE = "pause"
    RESUME = "resume"
    HELP = "help"
    STOP = "stop"
    YES = "yes"
    NO = "no"
    UNSURE = "unsure"
    HURTS_MORE = "hurts_more"
    RED_FLAG = "red_flag"
    KEEP_MASSAGING = "keep_massaging"
    CHECKLIST = "checklist"
    PREVENTION = "prevention"
    FALLBACK = "fallback"
    SESSION_ENDED = "session_ended"
    FORGET = "forget"
    SET_TIMER = "set_timer"  # value: minutes asked for, if any
    TIMER_LEFT = "timer_left"
    CANCEL_TIMER = "cancel_timer"
    PAUSE_TIMER = "pause_timer"
    RESUME_TIMER = "resume_timer"
    TIMER_RESULT = "timer_result"  # the Timers API answered an effect; data says how
    PERMISSION = "permission"  # Alexa's answer to asking for the timers permission by voice
    DRIVING = "driving"  # "I'm driving"
    PARKED = "parked"  # "I've parked", "I'm home"
    HELPER = "helper"  # "I'm helping someone", "my son has a cramp"
    FOR_ME = "for_me"  # "it's for me"
    OVERVIEW = "overview"  # "tell me all the steps"
    ERROR = "error"  # the skill itself failed this turn


@dataclass(frozen=True)
class Event:
    kind: Ev
    # GO_TO: the step number as heard (may be None or out of range); RED_FLAG: the flag id.
    value: str | None = None
    at: float = 0.0  # when it happened (the request's timestamp), in seconds since the epoch
    data: Mapping[str, Any] = field(default_factory=dict)  # results reported by the services
    in_car: bool = False  # the request came from a vehicle (context.Automotive)


class Question(Enum):
    """A question the skill asked and is waiting on."""

    PAIN_GATE = "pain_gate"
    RESUME = "resume"  # carry on where you left off, or start over?
    FORGET = "forget"  # delete everything kept for this user?
    TIMER_OFFER = "timer_offer"  # shall I time this step (cold: 15 or 20 minutes)?
    CRAMP_GONE = "cramp_gone"  # after a cold round: is the cramping completely gone?
    WAIT_OFFER = "wait_offer"  # a timer for the next hourly cold round?


class Purpose(Enum):
    """What a timer times."""

    COLD = "cold"  # the compress is on
    WAIT = "wait"  # until the next hourly cold round
    HEAT = "heat"  # the hot shower, bath or heating pad


@dataclass(frozen=True)
class Timer:
    """An Alexa timer the skill set, as far as the skill knows."""

    id: str
    purpose: Purpose
    minutes: int
    ends_at: float  # seconds since the epoch
    paused_left: float = 0.0  # seconds left when paused; 0 while running

    def left(self, now: float) -> float:
        return self.paused_left if self.paused_left else self.ends_at - now

    def left_line(self, now: float) -> Line:
        """"About N minutes left on the ... timer", as a line to speak or show."""
        minutes = max(1, math.ceil(self.left(now) / 60))
        return Line("timer/left", {"purpose": self.purpose.value, "minutes": minutes,
                                   "paused": bool(self.paused_left)})

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "purpose": self.purpose.value, "minutes": self.minutes,
                "ends_at": self.ends_at, "paused_left": self.paused_left}

    @classmethod
    def from_dict(cls, raw: object) -> Timer | None:
        try:
            assert isinstance(raw, Mapping)
            timer = cls(str(raw["id"]), Purpose(raw["purpose"]), int(raw["minutes"]),
                        float(raw["ends_at"]), float(raw.get("paused_left", 0.0)))
        except (AssertionError, KeyError, ValueError, TypeError):
            return None
        return timer if timer.id and 0 < timer.minutes <= 120 else None


# Effects: what the conversation must do besides speaking. Timer calls report back as a
# TIMER_RESULT event, which the routine then answers in the same turn.
@dataclass(frozen=True)
class Forget:
    """Delete everything stored for this user."""


@dataclass(frozen=True)
class SetTimer:
    purpose: Purpose
    minutes: int
    round: int = 1  # the cold round it times, for a label that is unique and says what it is


@dataclass(frozen=True)
class ChangeTimer:
    op: str  # "cancel" | "pause" | "resume"
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


@dataclass(frozen=True)
class State:
    """Where the runner is. Small JSON-friendly values only: it travels in the session."""

    step: int = 0  # 0 before the routine starts, then 1..total
    finished: bool = False
    pending: Question | None = None
    unclear: int = 0  # unclear answers in a row to the pending question
    misses: int = 0  # turns in a row the skill did not understand
    hands_off: bool = False  # "it hurts more" or a red flag stopped this step's hands-on part
    greeted: bool = False  # this session has had its opening
    first_time: bool = True  # the user has not heard the disclaimer yet
    episodes: tuple[str, ...] = ()  # ISO dates (UTC) on which a routine began, oldest first
    saved_at: float = 0.0  # when the runner last did something, seconds since the epoch
    timers: tuple[Timer, ...] = ()  # timers set and not known to have ended
    cold_round: int = 0  # the current round of cold compress (they repeat hourly)
    round_started_at: float = 0.0  # when that round began
    wanted_purpose: str = ""  # a timer waiting for the permission (a Purpose value) ...
    wanted_minutes: int = 0  # ... and its length
    helping: bool = False  # a caregiver is talking: the steps are phrased for a helper
    car_said: str = ""  # this session: "driving" or "parked", as the user told us
    driving: bool = False  # this turn: in a vehicle (or said so) and not parked

    def timer_for(self, purpose: Purpose) -> Timer | None:
        return next((t for t in self.timers if t.purpose is purpose), None)

    @property
    def in_progress(self) -> bool:
        return self.step > 0 and not self.finished

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: asdict's deep copy cost more than the rest of a turn's saving.
        data = {f.name: getattr(self, f.name) for f in _STATE_FIELDS}
        data["pending"] = self.pending.value if self.pending else None
        data["episodes"] = list(self.episodes)
        data["timers"] = [t.to_dict() for t in self.timers]
        return data

    @classmethod
    def from_dict(cls, data: object, routine: Routine) -> State:
        """Rebuild a state, dropping anything tampered with or out of range."""
        if not isinstance(data, Mapping):
            return cls()
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = data.get(f.name)
            if f.name == "pending":
                values[f.name] = _question(raw)
            elif f.name == "episodes" and isinstance(raw, list):
                values[f.name] = tuple(d for d in raw if _is_date(d))
            elif f.name == "timers" and isinstance(raw, list):
                values[f.name] = tuple(t for t in map(Timer.from_dict, raw) if t)
            elif (
                (f.type == "bool" and isinstance(raw, bool))
                or (f.type == "int" and type(raw) is int and raw >= 0)
                or (f.type == "str" and isinstance(raw, str))
            ):
                values[f.name] = raw
            elif f.type == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
                values[f.name] = float(raw) if 0 <= raw < 1e11 else 0.0
        state = cls(**values)
        if state.step > routine.total:
            return cls(first_time=state.first_time)
        return state

    def new_session(self) -> State:
        """The same place, with the per-session counters and the car's say-so reset."""
        return replace(self, greeted=False, unclear=0, misses=0, car_said="", driving=False)


_STATE_FIELDS = fields(State)
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_date(raw: object) -> bool:
    if not isinstance(raw, str) or not _ISO_DATE.match(raw):
        return False
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def _question(raw: object) -> Question | None:
    try:
        return Question(raw) if raw is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class Line:
    """One piece of speech: a template key and the values it needs beyond the state."""

    key: str
    args: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Outcome:
    state: State
    lines: tuple[Line, ...] = ()
    prompt: Line | None = None  # None: expect no answer, end the session
    card: str | None = None  # "step" or "checklist"
    effects: tuple[Effect, ...] = ()  # what the conversation must do besides speaking

    @property
    def ends_session(self) -> bool:
        return self.prompt is None

    @property
    def hands_over(self) -> bool:
        """Alexa takes the next turn (the permission question): no prompt, no session end."""
        return any(isinstance(e, AskTimerPermission) for e in self.effects)

    def then(self, later: Outcome) -> Outcome:
        """This outcome followed, in the same turn, by the answer to what its effects did."""
        done = tuple(e for e in self.effects if not isinstance(e, TimerCall))
        return Outcome(later.state, self.lines + later.lines, later.prompt,
                       later.card or self.card, done + later.effects)
