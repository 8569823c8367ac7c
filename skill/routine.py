"""The cramp routine as a pure state machine: no ASK imports, no I/O, no words.

`advance(state, event)` returns an `Outcome`: the next state, the template keys to speak
(`Line`s), the prompt that asks for an answer (or None, which ends the session) and the
card to show. Everything here is immutable so a turn can be replayed and tested alone.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from enum import Enum
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

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "purpose": self.purpose.value}

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
        data = asdict(self)
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


# Fallback escalation: say it shorter, then explain, then offer help or a way out.
MAX_MISS_LEVEL = 3
# Unclear answers to the pain question before the skill stops the massage to be safe.
MAX_UNCLEAR_GATE = 2
# Progress this old is offered as "is this a new cramp?". Cold rounds repeat hourly through
# an evening; half a day later a cramp is most likely a new one.
STALE_AFTER_S = 12 * 3600
# The seed: cramping "consistent after each run" needs a health professional. Three routines
# within two weeks (about every run, for someone running three times a week) counts as that.
FREQUENT_EPISODES = 3
FREQUENT_WINDOW_DAYS = 14
MAX_EPISODES = 12  # dates kept: enough for the rule, no longer a health history


def advance(state: State, event: Event, routine: Routine | None = None) -> Outcome:
    """The one transition function: the state after `event`, and what to say."""
    routine = routine or load_routine()
    if event.kind is Ev.SESSION_ENDED:
        return Outcome(replace(state, unclear=0, misses=0))
    # Timers whose time has come have gone off on the device: the skill lets go of them.
    fired = tuple(t for t in state.timers if not t.paused_left and t.ends_at <= event.at)
    turn = _Turn(state, event, routine, first_time=state.first_time,
                 fired=frozenset(t.purpose for t in fired), opens_session=not state.greeted)
    driving = (event.in_car or state.car_said == "driving") and state.car_said != "parked"
    state = replace(state, greeted=True, first_time=False, driving=driving,
                    timers=tuple(t for t in state.timers if t not in fired))
    if event.kind not in (Ev.FALLBACK, Ev.UNSURE, Ev.TIMER_RESULT):
        state = replace(state, misses=0)
    outcome = _TRANSITIONS[event.kind](replace(turn, state=state))
    if outcome.state.driving:
        outcome = _for_the_driver(outcome, routine)
    after = replace(outcome.state, saved_at=max(event.at, outcome.state.saved_at))
    return replace(outcome, state=after, lines=_disclaimer(turn, outcome) + outcome.lines)


def _hands_on_keys(routine: Routine) -> frozenset[str]:
    """Lines that tell the runner to use their hands or body: never said to a driver."""
    keys = {f"{kind}/{s.id}" for s in routine.steps if s.hands_on for kind in ("step", "more")}
    return frozenset(keys | {"gate/ask", "gate/no", "cold/round", "cold/come_back",
                             "timer/offer", "timer/wait_set"})


def _for_the_driver(outcome: Outcome, routine: Routine) -> Outcome:
    """While driving: no hands-on instruction (the place moves, the words wait for parking),
    the checklist goes to the phone, and every prompt is the way back: "I've parked"."""
    hands_on = _hands_on_keys(routine)
    said = tuple(line for line in outcome.lines if line.key not in hands_on)
    asked = outcome.prompt
    if len(said) == len(outcome.lines) and not (asked and asked.key in hands_on):
        if asked is not None and asked.key.startswith("prompt/"):
            asked = Line("car/park_prompt")
        return replace(outcome, prompt=asked)
    held = outcome.state
    if held.pending in (Question.PAIN_GATE, Question.TIMER_OFFER):
        held = replace(held, pending=None)  # asked again once parked
    effects = tuple(e for e in outcome.effects if not isinstance(e, SetTimer))
    return Outcome(held, (*said, Line("car/hold")), Line("car/park_prompt"), "checklist",
                   effects)


def _disclaimer(turn: _Turn, outcome: Outcome) -> tuple[Line, ...]:
    """A first-time user hears the disclaimer once, whatever they open with."""
    # Leaving and internal results need none; a welcome says it itself.
    quiet = (Ev.STOP, Ev.PAUSE, Ev.FORGET, Ev.TIMER_RESULT, Ev.PERMISSION)
    welcomed = any(line.key == "open/welcome" for line in outcome.lines)
    if turn.first_time and turn.event.kind not in quiet and not welcomed:
        return (Line("open/disclaimer"),)
    return ()


def _repeat_every(routine: Routine) -> int:
    return next((s.timer.repeat_every for s in routine.steps
                 if s.timer and s.timer.repeat_every), 60)


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


@dataclass(frozen=True)
class _Turn:
    """One turn's inputs, with the small moves every transition is built from."""

    state: State
    event: Event
    routine: Routine
    first_time: bool  # as the turn began: the user had not yet heard the disclaimer
    fired: frozenset[Purpose] = frozenset()  # timers that went off since the last turn
    opens_session: bool = False  # the first turn of a session

    @property
    def now(self) -> float:
        return self.event.at

    @property
    def current(self) -> Step | None:
        s = self.state
        return self.routine.step(s.step) if 1 <= s.step <= self.routine.total else None

    def with_state(self, state: State) -> _Turn:
        return replace(self, state=state)

    def pull_over(self) -> tuple[Line, ...]:
        return (Line("car/pull_over"),) if self.state.driving else ()

    def welcome(self) -> Line:
        return Line("open/welcome", {"first_time": self.first_time})

    def enter(self, number: int, *before: Line) -> Outcome:
        """Move to step `number` and speak it; the massage opens with its pain question."""
        state = replace(
            self.state, step=number, finished=False, pending=None, unclear=0, hands_off=False
        )
        step = self.routine.step(number)
        if step.pain_gate:
            return Outcome(replace(state, pending=Question.PAIN_GATE),
                           (*before, Line("step/header")), Line("gate/ask"), "step")
        said = (*before, Line("step/header"), Line(f"step/{step.id}"))
        if step.timer is None:
            return Outcome(state, said, Line("prompt/step"), "step")
        arriving = self.state.step != number or not state.cold_round
        if step.timer.purpose == Purpose.COLD.value and arriving and not state.timer_for(
            Purpose.COLD
        ):
            state = replace(state, cold_round=max(1, state.cold_round),
                            round_started_at=self.now)
        return self.with_state(state).offer_timer(said)

    def offer_timer(self, said: tuple[Line, ...]) -> Outcome:
        """After a timed step's words: how long is left if it runs, else offer to time it."""
        step = self.current
        assert step is not None and step.timer is not None
        running = self.state.timer_for(Purpose(step.timer.purpose))
        if running:
            return Outcome(self.state, (*said, self.time_left(running)), Line("prompt/step"),
                           "step")
        return Outcome(replace(self.state, pending=Question.TIMER_OFFER), said,
                       Line("timer/offer"), "step")

    def time_left(self, timer: Timer) -> Line:
        minutes = max(1, math.ceil(timer.left(self.now) / 60))
        return Line("timer/left", {"purpose": timer.purpose.value, "minutes": minutes,
                                   "paused": bool(timer.paused_left)})

    def begin(self, number: int = 1, *before: Line) -> Outcome:
        """A new routine (a new cramp): record the day, and if cramps come often, say so once."""
        today = _day(self.event.at)
        episodes = (*self.state.episodes, today.isoformat())[-MAX_EPISODES:]
        recent = [d for d in episodes
                  if (today - date.fromisoformat(d)).days < FREQUENT_WINDOW_DAYS]
        fresh = replace(self.state, episodes=episodes, step=0, finished=False, pending=None,
                        cold_round=0, round_started_at=0.0)
        outcome = self.with_state(fresh).enter(number, *before)
        if len(recent) >= FREQUENT_EPISODES:
            frequent = Line("memory/frequent", {"count": len(recent)})
            outcome = replace(outcome, lines=(*outcome.lines, frequent))
        return outcome

    def stay(self, *lines: Line, card: str | None = None) -> Outcome:
        """Keep the place and ask again whatever the current moment needs."""
        return Outcome(self.state, lines, self.prompt_here(), card)

    def prompt_here(self) -> Line:
        s = self.state
        if s.pending is Question.PAIN_GATE:
            return Line("gate/ask")
        if s.pending is Question.RESUME:
            return Line("memory/resume_ask")
        if s.pending is Question.FORGET:
            return Line("memory/forget_ask")
        if s.pending is Question.TIMER_OFFER:
            return Line("timer/offer")
        if s.pending is Question.CRAMP_GONE:
            return Line("cold/gone_ask")
        if s.pending is Question.WAIT_OFFER:
            return Line("timer/wait_offer", {"minutes": self.wait_minutes()})
        if s.finished:
            return Line("prompt/finished")
        if s.step == 0:
            return Line("prompt/start")
        if s.hands_off:
            return Line("prompt/after_stop")
        return Line("prompt/step")

    def forward(self, *before: Line) -> Outcome:
        s = self.state
        if s.finished:
            return self.stay(Line("nav/already_finished"))
        if s.step >= self.routine.total:
            return Outcome(replace(s, finished=True, pending=None, hands_off=False),
                           (*before, Line("finish/wrap_up")))
        return self.enter(s.step + 1, *before)

    def say_current(self) -> Outcome:
        """Repeat the current step, never its hands-on part once that has been stopped."""
        s = self.state
        if s.step == 0:
            return self.begin()
        if s.finished:
            return self.stay(Line("nav/already_finished"))
        if s.pending is Question.PAIN_GATE:
            return self.stay(Line("step/header"))
        if s.hands_off:
            return self.stay(Line("safety/stopped_here"))
        return self.enter(s.step)

    def stop_massage(self, why: str) -> Outcome:
        """Pain is increasing (or unknown): no massage; go on to the cold compress."""
        return self.enter(self.state.step + 1, Line(why), Line("safety/severe_pain_doctor"))

    def wait_minutes(self) -> int:
        """Minutes until the next hourly cold round may start."""
        start = self.state.round_started_at + _repeat_every(self.routine) * 60
        return max(0, math.ceil((start - self.now) / 60))

    def next_round(self, *before: Line) -> Outcome:
        """The next cold round: now if its hour has come, else an offer to wait with a timer."""
        s = self.state
        minutes = self.wait_minutes()
        if minutes > 1:
            waiting = replace(s, step=self.cold_step(), pending=Question.WAIT_OFFER)
            return Outcome(waiting, (*before, Line("cold/wait", {"minutes": minutes})),
                           Line("timer/wait_offer", {"minutes": minutes}))
        started = replace(s, step=self.cold_step(), pending=None, hands_off=False,
                          cold_round=s.cold_round + 1, round_started_at=self.now)
        said = (*before, Line("cold/round", {"round": started.cold_round}))
        return self.with_state(started).offer_timer(said)

    def cold_step(self) -> int:
        return next(i for i, st in enumerate(self.routine.steps, 1)
                    if st.timer and st.timer.purpose == Purpose.COLD.value)

    def set_timer(self, minutes: int | None = None) -> Outcome:
        """Set the current step's timer (its default length unless one of its choices is asked)."""
        step = self.current
        if step is None or step.timer is None or not self.state.in_progress:
            return self.stay(Line("timer/nothing_to_time"))
        purpose = Purpose(step.timer.purpose)
        running = self.state.timer_for(purpose)
        if running:  # never two timers for the same interval
            return self.with_state(replace(self.state, pending=None)).stay(self.time_left(running))
        if minutes is not None and minutes not in step.timer.choices:
            return Outcome(replace(self.state, pending=Question.TIMER_OFFER),
                           (Line("timer/choose", {"heard": minutes}),), Line("timer/offer"))
        chosen = minutes or step.timer.choices[0]
        return Outcome(replace(self.state, pending=None), (),
                       Line("prompt/step"),
                       effects=(SetTimer(purpose, chosen, self.state.cold_round),))

    def carry_on(self) -> Outcome:
        """Pick up where the runner left off, asking any safety question again."""
        return self.with_state(replace(self.state, pending=None)).say_current()

    def carry_on_with(self, *before: Line) -> Outcome:
        outcome = self.carry_on()
        return replace(outcome, lines=(*before, *outcome.lines))


def _launch(t: _Turn) -> Outcome:
    s = t.state
    if not s.in_progress:
        return t.begin(1, t.welcome())
    away = max(0.0, t.now - s.saved_at) if s.saved_at else 0.0
    stale = away >= STALE_AFTER_S
    if not stale:
        timed = _timer_comeback(t)
        if timed:
            return timed
    # Progress from before: offered, never forced.
    running = s.timers[0] if s.timers else None
    back = Line("memory/welcome_back", {
        "stale": stale, "hours": int(away // 3600), "days": int(away // 86400),
        "was_asking": s.pending.value if s.pending else None,
        "timer": t.time_left(running).args if running and not stale else None,
    })
    asking = replace(s, pending=Question.RESUME, unclear=0)
    return Outcome(asking, (back,), Line("memory/resume_ask"))


def _timer_comeback(t: _Turn) -> Outcome | None:
    """Back after a timer went off, or mid cold rounds: straight to the right question."""
    s = t.state
    back = Line("timer/welcome_back")
    if Purpose.HEAT in t.fired:
        return t.enter(s.step + 1 if s.step < t.routine.total else s.step,
                       back, Line("timer/heat_done"))
    cold_time = Purpose.COLD in t.fired or s.pending is Question.CRAMP_GONE
    if cold_time and not s.timer_for(Purpose.COLD):
        return Outcome(replace(s, pending=Question.CRAMP_GONE, unclear=0),
                       (back, Line("timer/cold_done")), Line("cold/gone_ask"))
    if Purpose.WAIT in t.fired or (s.pending is Question.WAIT_OFFER and t.wait_minutes() <= 1):
        return t.next_round(back)
    if s.pending is Question.WAIT_OFFER:
        return Outcome(s, (back, Line("cold/wait", {"minutes": t.wait_minutes()})),
                       Line("timer/wait_offer", {"minutes": t.wait_minutes()}))
    return None


def _start(t: _Turn) -> Outcome:
    s = t.state
    if s.pending is Question.RESUME:
        return t.begin(1, Line("memory/fresh_start"))
    if s.in_progress:
        return t.stay(Line("nav/already_started"))
    return t.begin(1, t.welcome())


def _next(t: _Turn) -> Outcome:
    s = t.state
    if s.pending is Question.RESUME:
        return t.carry_on()
    if not s.in_progress and not s.finished:
        return t.begin()
    if s.pending is Question.PAIN_GATE:
        # Moving on without answering skips the massage: safe, and never read as "no".
        return t.enter(s.step + 1, Line("gate/skipped"))
    step = t.current
    in_rounds = bool(step and step.timer and step.timer.repeat_every) and not s.hands_off
    if in_rounds and t.event.kind is Ev.NEXT and s.pending in (None, Question.TIMER_OFFER):
        # Cold rounds repeat until the cramping is completely gone: ask before moving on.
        return Outcome(replace(s, pending=Question.CRAMP_GONE, unclear=0), (),
                       Line("cold/gone_ask"))
    return t.forward()


def _previous(t: _Turn) -> Outcome:
    s = t.state
    if s.finished:
        return t.enter(t.routine.total)
    if s.step <= 1:
        return t.stay(Line("nav/first_step"))
    return t.enter(s.step - 1)


def _go_to(t: _Turn) -> Outcome:
    heard = t.event.value
    if heard is not None and heard.isdigit() and 1 <= int(heard) <= t.routine.total:
        if not t.state.in_progress and not t.state.finished:
            return t.begin(int(heard))
        if int(heard) == t.state.step and t.state.hands_off:
            return t.say_current()  # the hands-on part stays stopped
        return t.enter(int(heard))
    return t.stay(Line("nav/no_such_step", {"heard": heard}))


def _where_am_i(t: _Turn) -> Outcome:
    return t.stay(Line("nav/where"))


def _steps_left(t: _Turn) -> Outcome:
    return t.stay(Line("nav/left"))


def _more(t: _Turn) -> Outcome:
    s = t.state
    step = t.current
    if s.pending is Question.PAIN_GATE:
        return t.stay(Line("gate/why"))
    if step is None or s.finished or s.pending in (Question.RESUME, Question.FORGET):
        return _help(t)
    if s.hands_off:
        return t.stay(Line("safety/stopped_here"))
    return t.stay(Line(f"more/{step.id}"))


def _pause(t: _Turn) -> Outcome:
    return Outcome(t.state, (Line("bye/paused"),))


def _resume(t: _Turn) -> Outcome:
    return t.carry_on()


def _help(t: _Turn) -> Outcome:
    return t.stay(Line("help/here"), Line("help/disclaimer"))


def _stop(t: _Turn) -> Outcome:
    s = t.state
    # Stopping at "carry on or start over?" leaves the old place as it was.
    kept = replace(s, unclear=0, pending=None if s.pending is Question.FORGET else s.pending)
    return Outcome(kept, (Line("bye/stop"),))


def _yes(t: _Turn) -> Outcome:
    s = t.state
    if s.pending is Question.TIMER_OFFER:
        return t.set_timer()
    if s.pending is Question.CRAMP_GONE:
        tidy = tuple(ChangeTimer("cancel", timer, quiet=True) for timer in s.timers
                     if timer.purpose in (Purpose.COLD, Purpose.WAIT))
        outcome = t.with_state(replace(s, cold_round=0)).forward(Line("cold/gone"))
        return replace(outcome, effects=outcome.effects + tidy)
    if s.pending is Question.WAIT_OFFER:
        return Outcome(replace(s, pending=None), (), None,
                       effects=(SetTimer(Purpose.WAIT, t.wait_minutes(), s.cold_round + 1),))
    if s.pending is Question.PAIN_GATE:
        return t.stop_massage("gate/yes")
    if s.pending is Question.RESUME:
        return t.carry_on()
    if s.pending is Question.FORGET:
        return Outcome(State(greeted=True), (Line("memory/forgotten"),), effects=(Forget(),))
    return t.stay(Line("stray/yes"))


def _no(t: _Turn) -> Outcome:
    s = t.state
    if s.pending is Question.TIMER_OFFER:
        return t.with_state(replace(s, pending=None)).stay(Line("timer/declined"))
    if s.pending is Question.CRAMP_GONE:
        return t.next_round()
    if s.pending is Question.WAIT_OFFER:
        # The question stays: coming back early hears how long is left, then the offer again.
        return Outcome(s, (Line("cold/come_back", {"minutes": t.wait_minutes()}),))
    if s.pending is Question.PAIN_GATE:
        step = t.current
        assert step is not None  # the gate is only ever asked at a step
        cleared = replace(s, pending=None, unclear=0)
        return Outcome(cleared, (Line("gate/no"), Line(f"step/{step.id}")),
                       Line("prompt/step"), "step")
    if s.pending is Question.RESUME:
        return t.begin(1, Line("memory/fresh_start"))
    if s.pending is Question.FORGET:
        return t.with_state(replace(s, pending=None)).stay(Line("memory/kept"))
    return t.stay(Line("stray/no"))


def _unclear(t: _Turn) -> Outcome:
    """An answer that is neither yes nor no: for the pain question it never counts as no."""
    s = t.state
    if s.pending is Question.PAIN_GATE:
        unclear = s.unclear + 1
        if unclear >= MAX_UNCLEAR_GATE:
            return t.stop_massage("gate/unclear_stop")
        return Outcome(replace(s, unclear=unclear), (Line("gate/unclear"),), Line("gate/ask"))
    if t.event.kind is Ev.UNSURE:
        return _help(t)  # "I don't know" gets help for this moment, question included
    misses = min(s.misses + 1, MAX_MISS_LEVEL)
    return t.with_state(replace(s, misses=misses)).stay(Line("fallback/miss", {"level": misses}))


def _hurts_more(t: _Turn) -> Outcome:
    s = t.state
    step = t.current
    if s.driving:  # nothing hands-on was started: get off the road first
        return t.stay(Line("car/pull_over"), Line("safety/severe_pain_doctor"))
    in_massage = step is not None and step.pain_gate and s.in_progress
    if s.pending is Question.PAIN_GATE or (in_massage and s.pending is None):
        return t.stop_massage("safety/stop_massage")
    if step is None or s.finished:
        return t.stay(Line("safety/hurts_more_general"), Line("safety/severe_pain_doctor"))
    stopped = t.with_state(replace(s, hands_off=True, pending=None)).stay(
        *t.pull_over(), Line(f"safety/hurts_more/{step.id}"), Line("safety/severe_pain_doctor")
    )
    return replace(stopped, effects=_stop_step_timer(t))


def _stop_step_timer(t: _Turn) -> tuple[Effect, ...]:
    """The step's hands-on part stopped: its timer would only tell them to carry on."""
    step = t.current
    if step is None or step.timer is None:
        return ()
    running = t.state.timer_for(Purpose(step.timer.purpose))
    return (ChangeTimer("cancel", running, quiet=True),) if running else ()


def _red_flag(t: _Turn) -> Outcome:
    flag = t.event.value if t.event.value in t.routine.red_flags else None
    urgency = t.routine.red_flags[flag] if flag else "doctor"
    stopped = replace(t.state, hands_off=t.state.in_progress, pending=None, unclear=0)
    outcome = t.with_state(stopped).stay(
        *t.pull_over(), Line("safety/red_flag", {"flag": flag, "urgency": urgency})
    )
    return replace(outcome, effects=_stop_step_timer(t) if t.state.in_progress else ())


def _keep_massaging(t: _Turn) -> Outcome:
    s = t.state
    step = t.current
    if step is None or not step.pain_gate or not s.in_progress:
        return t.stay(Line("nav/not_massage_step"))
    if s.hands_off:
        return t.stay(Line("safety/no_more_massage"))
    return Outcome(replace(s, pending=Question.PAIN_GATE, unclear=0), (), Line("gate/ask"))


def _checklist(t: _Turn) -> Outcome:
    return t.stay(Line("info/checklist"), card="checklist")


def _prevention(t: _Turn) -> Outcome:
    return t.stay(Line("info/prevention"))


def _forget(t: _Turn) -> Outcome:
    return Outcome(replace(t.state, pending=Question.FORGET, unclear=0), (),
                   Line("memory/forget_ask"))


def _set_timer(t: _Turn) -> Outcome:
    heard = t.event.value
    return t.set_timer(int(heard) if heard and heard.isdigit() else None)


def _live_timer(t: _Turn) -> Timer | None:
    """The timer a "how long is left" or "cancel the timer" means: this step's, else any."""
    step = t.current
    if step and step.timer:
        mine = t.state.timer_for(Purpose(step.timer.purpose))
        if mine:
            return mine
    return t.state.timers[-1] if t.state.timers else None


def _timer_left(t: _Turn) -> Outcome:
    timer = _live_timer(t)
    return t.stay(t.time_left(timer) if timer else Line("timer/none"))


def _change_timer(op: str) -> Callable[[_Turn], Outcome]:
    def change(t: _Turn) -> Outcome:
        timer = _live_timer(t)
        if timer is None:
            return t.stay(Line("timer/none"))
        if op != "cancel" and (op == "pause") == bool(timer.paused_left):  # already so
            return t.stay(t.time_left(timer))
        return Outcome(t.state, (), t.prompt_here(), effects=(ChangeTimer(op, timer),))

    return change


def _timer_result(t: _Turn) -> Outcome:
    """The Timers API answered: keep what it did, and say so (or say how to time it by hand)."""
    data = t.event.data
    s = t.state
    result = data.get("result")
    if data.get("op") == "create":
        purpose, minutes = Purpose(data["purpose"]), int(data["minutes"])
        if result == "set":
            timer = Timer(str(data["id"]), purpose, minutes, t.now + minutes * 60)
            kept = replace(s, timers=(*s.timers, timer), wanted_purpose="", wanted_minutes=0)
            if purpose is Purpose.COLD:
                kept = replace(kept, round_started_at=t.now)
            said = Line("timer/set", {"purpose": purpose.value, "minutes": minutes})
            if purpose is Purpose.WAIT:
                return Outcome(kept, (said, Line("timer/wait_set")))
            return t.with_state(kept).stay(said)
        if result == "permission":
            asking = replace(s, wanted_purpose=purpose.value, wanted_minutes=minutes)
            return Outcome(asking, (Line("timer/need_permission"),),
                           effects=(AskTimerPermission(),))
        return _time_it_yourself(t, purpose, minutes, Line("timer/failed", {
            "reason": data.get("reason"), "purpose": purpose.value}))
    changed = Timer.from_dict(data.get("timer"))
    if changed is None:
        return t.stay()
    return _timer_changed(t, changed, result, str(data.get("op")), bool(data.get("quiet")))


def _timer_changed(t: _Turn, timer: Timer, result: object, op: str, quiet: bool) -> Outcome:
    s = t.state
    others = tuple(x for x in s.timers if x.id != timer.id)
    if result == "done" and op == "pause":
        paused = replace(timer, paused_left=max(1.0, timer.left(t.now)))
        return t.with_state(replace(s, timers=(*others, paused))).stay(
            Line("timer/changed", {"op": "pause", "purpose": timer.purpose.value,
                                   "result": result}))
    if result == "done" and op == "resume":
        running = replace(timer, ends_at=t.now + timer.paused_left, paused_left=0.0)
        return t.with_state(replace(s, timers=(*others, running))).stay(
            Line("timer/changed", {"op": "resume", "purpose": timer.purpose.value,
                                   "result": result}))
    if result in ("done", "not_found"):  # cancelled, or it had already gone off
        gone = t.with_state(replace(s, timers=others))
        if quiet:
            return gone.stay()
        return gone.stay(Line("timer/changed", {"op": op, "purpose": timer.purpose.value,
                                                 "result": result}))
    if quiet:
        return t.stay()
    return t.stay(Line("timer/change_failed", {"op": op}))


def _time_it_yourself(t: _Turn, purpose: Purpose, minutes: int, why: Line) -> Outcome:
    """No timer could be set: the runner hears how long to time it, and the routine goes on."""
    s = replace(t.state, wanted_purpose="", wanted_minutes=0)
    yourself = Line("timer/time_yourself", {"purpose": purpose.value, "minutes": minutes})
    if purpose is Purpose.WAIT:
        return Outcome(s, (why, yourself, Line("cold/come_back", {"minutes": minutes})))
    return t.with_state(s).stay(why, yourself)


def _permission(t: _Turn) -> Outcome:
    """Alexa asked for the timers permission by voice; this is the answer."""
    s = t.state
    if not s.wanted_purpose:
        return t.say_current()
    purpose, minutes = Purpose(s.wanted_purpose), s.wanted_minutes
    if t.event.value == "accepted":
        return Outcome(replace(s, wanted_purpose="", wanted_minutes=0), (), Line("prompt/step"),
                       effects=(SetTimer(purpose, minutes, s.cold_round),))
    refused = _time_it_yourself(t, purpose, minutes,
                                Line("timer/permission_refused", {"status": t.event.value}))
    card = () if t.event.data.get("card_thrown") else (ConsentCard(),)
    return replace(refused, effects=refused.effects + card)


def _driving(t: _Turn) -> Outcome:
    told = replace(t.state, car_said="driving", driving=True)
    if not told.in_progress:
        return Outcome(told, (Line("car/noted"),), Line("car/park_prompt"), "checklist")
    current = t.with_state(told).say_current()
    return replace(current, lines=(Line("car/noted"), *current.lines), card="checklist")


def _parked(t: _Turn) -> Outcome:
    """Parked or home: the hands-on steps can start, from where the runner was."""
    parked = replace(t.state, car_said="parked", driving=False)
    turn = t.with_state(parked)
    if not parked.in_progress and not parked.finished:
        return turn.begin(1, Line("car/parked"))
    return turn.carry_on_with(Line("car/parked"))


def _helper(t: _Turn) -> Outcome:
    return _switch_mode(t, helping=True)


def _for_me(t: _Turn) -> Outcome:
    return _switch_mode(t, helping=False)


def _switch_mode(t: _Turn, *, helping: bool) -> Outcome:
    """Who is talking: a caregiver, or the runner. The routine goes on in their words."""
    turn = t.with_state(replace(t.state, helping=helping))
    said = Line("mode/helper_on" if helping else "mode/helper_off")
    if not turn.state.in_progress:
        return turn.begin(1, *((turn.welcome(),) if t.opens_session else ()), said)
    return turn.carry_on_with(said)


def _overview(t: _Turn) -> Outcome:
    return t.stay(Line("info/overview"))


def _error(t: _Turn) -> Outcome:
    return t.stay(Line("error/sorry"), Line("nav/where"))


def _start_over(t: _Turn) -> Outcome:
    if t.state.pending is Question.RESUME:
        return t.begin(1, Line("memory/fresh_start"))
    return t.enter(1, Line("nav/starting_over"))


_TRANSITIONS = {
    Ev.LAUNCH: _launch,
    Ev.START: _start,
    Ev.NEXT: _next,
    Ev.SKIP: _next,
    Ev.PREVIOUS: _previous,
    Ev.REPEAT: _Turn.say_current,
    Ev.RESUME: _resume,
    Ev.START_OVER: _start_over,
    Ev.GO_TO: _go_to,
    Ev.WHERE_AM_I: _where_am_i,
    Ev.STEPS_LEFT: _steps_left,
    Ev.MORE: _more,
    Ev.PAUSE: _pause,
    Ev.HELP: _help,
    Ev.STOP: _stop,
    Ev.YES: _yes,
    Ev.NO: _no,
    Ev.UNSURE: _unclear,
    Ev.FALLBACK: _unclear,
    Ev.HURTS_MORE: _hurts_more,
    Ev.RED_FLAG: _red_flag,
    Ev.KEEP_MASSAGING: _keep_massaging,
    Ev.CHECKLIST: _checklist,
    Ev.PREVENTION: _prevention,
    Ev.FORGET: _forget,
    Ev.SET_TIMER: _set_timer,
    Ev.TIMER_LEFT: _timer_left,
    Ev.CANCEL_TIMER: _change_timer("cancel"),
    Ev.PAUSE_TIMER: _change_timer("pause"),
    Ev.RESUME_TIMER: _change_timer("resume"),
    Ev.TIMER_RESULT: _timer_result,
    Ev.PERMISSION: _permission,
    Ev.DRIVING: _driving,
    Ev.PARKED: _parked,
    Ev.HELPER: _helper,
    Ev.FOR_ME: _for_me,
    Ev.OVERVIEW: _overview,
    Ev.ERROR: _error,
}
assert set(_TRANSITIONS) | {Ev.SESSION_ENDED} == set(Ev), "every event needs a transition"
