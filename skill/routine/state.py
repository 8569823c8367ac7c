"""What the machine keeps: the state, its questions and its timers. Small JSON values only."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from enum import Enum
from typing import Any, TypeVar

from skill.routine.steps import Purpose, Routine


class Question(Enum):
    """A question the skill asked and is waiting on (skill/routine/questions.py says how)."""

    PAIN_GATE = "pain_gate"  # before the massage: is the pain getting worse?
    RESUME = "resume"  # carry on where you left off, or start over?
    FORGET = "forget"  # delete everything kept for this user?
    TIMER_OFFER = "timer_offer"  # shall I time this step (cold: 15 or 20 minutes)?
    CRAMP_GONE = "cramp_gone"  # after a cold round: is the cramping completely gone?
    WAIT_OFFER = "wait_offer"  # a timer for the next hourly cold round?
    SIGN_CHECK = "sign_check"  # a warning sign Alexa could not make out: are you hurt?


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

    def minutes_left(self, now: float) -> int:
        return max(1, math.ceil(self.left(now) / 60))

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "purpose": self.purpose.value, "minutes": self.minutes,
                "ends_at": self.ends_at, "paused_left": self.paused_left}

    @classmethod
    def from_dict(cls, raw: object) -> Timer | None:
        if not isinstance(raw, Mapping):
            return None
        try:
            timer = cls(str(raw["id"]), Purpose(raw["purpose"]), int(raw["minutes"]),
                        float(raw["ends_at"]), float(raw.get("paused_left", 0.0)))
        except (KeyError, ValueError, TypeError, OverflowError):
            return None
        finite = math.isfinite(timer.ends_at) and math.isfinite(timer.paused_left)
        return timer if finite and timer.id and 0 < timer.minutes <= 120 else None


@dataclass(frozen=True)
class State:
    """Where the runner is. Small JSON-friendly values only: it travels in the session."""

    step: int = 0  # 0 before the routine starts, then 1..total
    finished: bool = False
    pending: Question | None = None
    unclear: int = 0  # unclear answers in a row to the pending question
    misses: int = 0  # turns in a row the skill did not understand
    hands_off: bool = False  # "it hurts more" or a warning sign stopped this step's hands-on part
    greeted: bool = False  # this session has had its opening
    first_time: bool = True  # the user has not heard the disclaimer yet
    episodes: tuple[str, ...] = ()  # ISO dates (UTC) on which a routine began, oldest first
    saved_at: float = 0.0  # when the runner last did something, seconds since the epoch
    timers: tuple[Timer, ...] = ()  # timers set and not known to have ended
    cold_round: int = 0  # the current round of cold compress (they repeat hourly)
    round_started_at: float = 0.0  # when the last round began (rounds are an hour apart)
    round_ends_at: float = 0.0  # when its compress comes off (its timer, or the longest time)
    round_answered: bool = False  # since that round began, they said whether the cramp is gone
    wanted_purpose: Purpose | None = None  # a timer waiting for the permission ...
    wanted_minutes: int = 0  # ... and its length
    # The article's rules, remembered until the runner starts over:
    pain_worse: bool = False  # the pain was said to be increasing: no more massage
    injured: bool = False  # a warning sign or an emergency: no massage, stretch or heat
    cannot_walk: bool = False  # they cannot walk or stand: never tell them to walk
    cramp_stays: bool = False  # their last word was that the cramping is not gone: no heat yet
    heat_explained: bool = False  # ... and they have heard why, so asking again gives heat
    helping: bool = False  # a caregiver is talking: the steps are phrased for a helper
    held_from: int = 0  # the first step held back while driving (0: none)
    # This session only:
    car_said: str = ""  # "driving" or "parked", as the user told us
    driving: bool = False  # this turn: in a vehicle (or said so) and not parked
    slow: bool = False  # "slower please"
    loud: bool = False  # "speak up"

    def timer_for(self, purpose: Purpose) -> Timer | None:
        return next((t for t in self.timers if t.purpose is purpose), None)

    @property
    def in_progress(self) -> bool:
        return self.step > 0 and not self.finished

    def to_dict(self) -> dict[str, Any]:
        # Shallow on purpose: asdict's deep copy cost more than the rest of a turn's saving.
        data = {f.name: getattr(self, f.name) for f in _STATE_FIELDS}
        data["pending"] = self.pending.value if self.pending else None
        data["wanted_purpose"] = self.wanted_purpose.value if self.wanted_purpose else None
        data["episodes"] = list(self.episodes)
        data["timers"] = [t.to_dict() for t in self.timers]
        return data

    @classmethod
    def from_dict(cls, data: object, routine: Routine) -> State:
        """Rebuild a state, dropping anything tampered with or out of range."""
        if not isinstance(data, Mapping):
            return cls()
        values: dict[str, Any] = {}
        for f in _STATE_FIELDS:
            raw = data.get(f.name)
            if f.name == "pending":
                values[f.name] = _enum(Question, raw)
            elif f.name == "wanted_purpose":
                values[f.name] = _enum(Purpose, raw)
            elif f.name == "episodes" and isinstance(raw, list):
                values[f.name] = tuple(d for d in raw if _is_date(d))
            elif f.name == "timers" and isinstance(raw, list):
                values[f.name] = tuple(t for t in map(Timer.from_dict, raw) if t)
            elif (
                (f.type == "bool" and isinstance(raw, bool))
                or (f.type == "int" and type(raw) is int and 0 <= raw < 10_000)
                or (f.type == "str" and isinstance(raw, str) and len(raw) < 20)
            ):
                values[f.name] = raw
            elif f.type == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
                values[f.name] = float(raw) if 0 <= raw < 1e11 else 0.0
        state = cls(**values)
        if state.step > routine.total or state.held_from > routine.total:
            return cls(first_time=state.first_time, episodes=state.episodes)
        return state

    def new_session(self) -> State:
        """The same place, with the per-session counters and settings reset."""
        return evolve(self, greeted=False, unclear=0, misses=0, car_said="", driving=False,
                       slow=False, loud=False)

    def fresh_routine(self) -> State:
        """Step 0 of the routine again: the rules kept "until start over" are lifted.

        Kept: the user's history, this session's settings, the timers still on the device,
        the cold rounds (they stay an hour apart whatever happens) and that the person
        cannot walk."""
        return State(greeted=self.greeted, first_time=self.first_time, episodes=self.episodes,
                     saved_at=self.saved_at, timers=self.timers,
                     cold_round=self.cold_round, round_started_at=self.round_started_at,
                     round_ends_at=self.round_ends_at, round_answered=self.round_answered,
                     cannot_walk=self.cannot_walk,
                     helping=self.helping, car_said=self.car_said, driving=self.driving,
                     slow=self.slow, loud=self.loud)


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


E = TypeVar("E", bound=Enum)
V = TypeVar("V")


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def evolve(value: V, /, **changes: Any) -> V:
    """A copy of a frozen dataclass value with some fields changed: dataclasses.replace,
    without running __init__ field by field (which was most of a turn's time: the state has
    some thirty fields and a turn makes a dozen changed copies)."""
    kind = type(value)
    names = _FIELD_NAMES.get(kind)
    if names is None:
        names = _FIELD_NAMES[kind] = frozenset(f.name for f in fields(kind))  # type: ignore[arg-type]
    if not names.issuperset(changes):
        raise TypeError(f"{kind.__name__} has no field {sorted(set(changes) - names)[0]!r}")
    new = object.__new__(kind)
    fields_ = value.__dict__.copy()  # a dict's copy is faster than filling an empty one
    fields_.update(changes)
    object.__setattr__(new, "__dict__", fields_)
    return new


def _enum(kind: type[E], raw: object) -> E | None:
    try:
        return kind(raw) if raw is not None else None
    except (ValueError, TypeError):
        return None
