"""One turn's inputs, and the small moves every transition is built from."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from skill.routine.state import (
    Event,
    Line,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    State,
    Timer,
)
from skill.routine.steps import Routine, Step

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


def _repeat_every(routine: Routine) -> int:
    return next((s.timer.repeat_every for s in routine.steps
                 if s.timer and s.timer.repeat_every), 60)


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


@dataclass(frozen=True)
class Turn:
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

    def with_state(self, state: State) -> Turn:
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
        return timer.left_line(self.now)

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
