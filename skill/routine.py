"""The cramp routine as a pure state machine: no ASK imports, no I/O, no words.

`advance(state, event)` returns an `Outcome`: the next state, the template keys to speak
(`Line`s), the prompt that asks for an answer (or None, which ends the session) and the
card to show. Everything here is immutable so a turn can be replayed and tested alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, date, datetime
from enum import Enum
from functools import cache
from importlib import resources
from typing import Any


@dataclass(frozen=True)
class Step:
    id: str
    hands_on: bool
    pain_gate: bool = False


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
        Step(id=s["id"], hands_on=s["hands_on"], pain_gate=s.get("pain_gate", False))
        for s in data["steps"]
    )
    return Routine(steps, data["red_flags"], data["emergency_numbers"])


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
    ERROR = "error"  # the skill itself failed this turn


@dataclass(frozen=True)
class Event:
    kind: Ev
    # GO_TO: the step number as heard (may be None or out of range); RED_FLAG: the flag id.
    value: str | None = None
    at: float = 0.0  # when it happened (the request's timestamp), in seconds since the epoch


class Question(Enum):
    """A question the skill asked and is waiting on."""

    PAIN_GATE = "pain_gate"
    RESUME = "resume"  # carry on where you left off, or start over?
    FORGET = "forget"  # delete everything kept for this user?


@dataclass(frozen=True)
class Forget:
    """An effect: delete everything stored for this user."""


Effect = Forget


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

    @property
    def in_progress(self) -> bool:
        return self.step > 0 and not self.finished

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["pending"] = self.pending.value if self.pending else None
        data["episodes"] = list(self.episodes)
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
                values[f.name] = tuple(d for d in raw if isinstance(d, str) and _ISO_DATE.match(d))
            elif (f.type == "bool" and isinstance(raw, bool)) or (
                f.type == "int" and type(raw) is int and raw >= 0
            ):
                values[f.name] = raw
            elif f.type == "float" and isinstance(raw, int | float) and not isinstance(raw, bool):
                values[f.name] = float(raw) if 0 <= raw < 1e11 else 0.0
        state = cls(**values)
        if state.step > routine.total:
            return cls(first_time=state.first_time)
        return state

    def new_session(self) -> State:
        """The same place, with the per-session counters reset."""
        return replace(self, greeted=False, unclear=0, misses=0)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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
    turn = _Turn.of(state, event, routine)
    state = replace(state, greeted=True, first_time=False)
    if event.kind not in (Ev.FALLBACK, Ev.UNSURE):
        state = replace(state, misses=0)
    outcome = _TRANSITIONS[event.kind](replace(turn, state=state))
    after = replace(outcome.state, saved_at=max(event.at, outcome.state.saved_at))
    return replace(outcome, state=after, lines=_disclaimer(turn) + outcome.lines)


def _disclaimer(turn: _Turn) -> tuple[Line, ...]:
    """A first-time user hears the disclaimer once, whatever they open with."""
    quiet = (Ev.LAUNCH, Ev.START, Ev.STOP, Ev.PAUSE, Ev.FORGET)  # launches say it themselves
    if turn.first_time and turn.event.kind not in quiet:
        return (Line("open/disclaimer"),)
    return ()


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


@dataclass(frozen=True)
class _Turn:
    """One turn's inputs, with the small moves every transition is built from."""

    state: State
    event: Event
    routine: Routine
    first_time: bool  # as the turn began: the user had not yet heard the disclaimer

    @classmethod
    def of(cls, state: State, event: Event, routine: Routine) -> _Turn:
        return cls(state, event, routine, first_time=state.first_time)

    @property
    def current(self) -> Step | None:
        s = self.state
        return self.routine.step(s.step) if 1 <= s.step <= self.routine.total else None

    def with_state(self, state: State) -> _Turn:
        return replace(self, state=state)

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
        return Outcome(state, (*before, Line("step/header"), Line(f"step/{step.id}")),
                       Line("prompt/step"), "step")

    def begin(self, number: int = 1, *before: Line) -> Outcome:
        """A new routine (a new cramp): record the day, and if cramps come often, say so once."""
        today = _day(self.event.at)
        episodes = (*self.state.episodes, today.isoformat())[-MAX_EPISODES:]
        recent = [d for d in episodes
                  if (today - date.fromisoformat(d)).days < FREQUENT_WINDOW_DAYS]
        fresh = replace(self.state, episodes=episodes, step=0, finished=False, pending=None)
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

    def carry_on(self) -> Outcome:
        """Pick up where the runner left off, asking any safety question again."""
        return self.with_state(replace(self.state, pending=None)).say_current()


def _launch(t: _Turn) -> Outcome:
    s = t.state
    if not s.in_progress:
        return t.begin(1, t.welcome())
    # Progress from before: offered, never forced.
    away = max(0.0, t.event.at - s.saved_at) if s.saved_at else 0.0
    back = Line("memory/welcome_back", {
        "stale": away >= STALE_AFTER_S, "hours": int(away // 3600), "days": int(away // 86400),
        "was_asking": s.pending.value if s.pending else None,
    })
    asking = replace(s, pending=Question.RESUME, unclear=0)
    return Outcome(asking, (back,), Line("memory/resume_ask"))


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
    if step is None or s.finished or s.pending is not None:
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
    if s.pending is Question.PAIN_GATE:
        return t.stop_massage("gate/yes")
    if s.pending is Question.RESUME:
        return t.carry_on()
    if s.pending is Question.FORGET:
        return Outcome(State(greeted=True), (Line("memory/forgotten"),), effects=(Forget(),))
    return t.stay(Line("stray/yes"))


def _no(t: _Turn) -> Outcome:
    s = t.state
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
    if t.event.kind is Ev.UNSURE and s.pending is None:
        return _help(t)
    misses = min(s.misses + 1, MAX_MISS_LEVEL)
    return t.with_state(replace(s, misses=misses)).stay(Line("fallback/miss", {"level": misses}))


def _hurts_more(t: _Turn) -> Outcome:
    s = t.state
    step = t.current
    in_massage = step is not None and step.pain_gate and s.in_progress
    if s.pending is Question.PAIN_GATE or (in_massage and s.pending is None):
        return t.stop_massage("safety/stop_massage")
    if step is None or s.finished:
        return t.stay(Line("safety/hurts_more_general"), Line("safety/severe_pain_doctor"))
    return t.with_state(replace(s, hands_off=True, pending=None)).stay(
        Line(f"safety/hurts_more/{step.id}"), Line("safety/severe_pain_doctor")
    )


def _red_flag(t: _Turn) -> Outcome:
    flag = t.event.value if t.event.value in t.routine.red_flags else None
    urgency = t.routine.red_flags[flag] if flag else "doctor"
    stopped = replace(t.state, hands_off=t.state.in_progress, pending=None, unclear=0)
    return t.with_state(stopped).stay(
        Line("safety/red_flag", {"flag": flag, "urgency": urgency})
    )


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
    Ev.ERROR: _error,
}
assert set(_TRANSITIONS) | {Ev.SESSION_ENDED} == set(Ev), "every event needs a transition"
