"""One turn's inputs, and the moves every transition is built from.

The article's rules that decide what a step may say live here, in `enter`: a step barred
after an injury or increasing pain is skipped, heat waits while the cramping stays, cold
rounds start at most hourly, and while driving a hands-on step is held back until parking.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import Enum

from skill.routine import questions
from skill.routine.events import Ev, Event
from skill.routine.outcome import Card, Line, Outcome, SetTimer
from skill.routine.state import Question, State, Timer, evolve
from skill.routine.steps import Purpose, Routine, Step

# Fallback escalation: say it shorter, then explain, then offer help or a way out.
MAX_MISS_LEVEL = 3
# Progress this old is offered as "is this a new cramp?". Cold rounds repeat hourly through
# an evening; half a day later a cramp is most likely a new one.
STALE_AFTER_S = 12 * 3600
# The seed: cramping "consistent after each run" needs a health professional. Three routines
# within two weeks (about every run, for someone running three times a week) counts as that.
FREQUENT_EPISODES = 3
FREQUENT_WINDOW_DAYS = 14
MAX_EPISODES = 12  # dates kept: enough for the rule, no longer a health history


class Way(Enum):
    """How the runner is moving to a step: a barred step is passed in that direction."""

    FORWARD = 1
    BACK = -1
    EXACT = 0  # "go to step 4", "repeat": a barred step is explained, and the place kept


def _day(at: float) -> date:
    return datetime.fromtimestamp(at, UTC).date()


@dataclass(frozen=True)
class Turn:
    """One turn's inputs, with the moves every transition is built from."""

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
        # The hottest copy in a turn (a dozen a turn): straight to the fields, no checks.
        turn = object.__new__(Turn)
        turn.__dict__.update(self.__dict__)
        turn.__dict__["state"] = state
        return turn

    def welcome(self) -> Line:
        return Line("open/welcome", {"first_time": self.first_time})

    # --- asking and staying -------------------------------------------------------------

    def stay(self, *lines: Line, card: Card | None = None) -> Outcome:
        """Keep the place and ask again whatever the current moment needs."""
        return Outcome(self.state, lines, self.prompt_here(), card)

    def stay_or_begin(self, *lines: Line) -> Outcome:
        """A reassuring answer ("I'm not hurt", "it's not getting worse") before any step, often
        in the breath that opened the skill: the steps begin at once rather than asking for
        "start". (A warning sign keeps its own turn: the advice first, the steps on "start".)"""
        s = self.state
        if s.step == 0 and not s.finished and s.pending is None:
            return self.begin(1, *lines)
        return self.stay(*lines)

    def ask(self, question: Question, *lines: Line, card: Card | None = None) -> Outcome:
        """Ask `question` (unless driving holds it: then the way back is to park)."""
        if self.state.driving and questions.QUESTIONS[question].held_while_driving:
            return self.with_state(evolve(self.state, pending=None)).stay(*lines, card=card)
        asking = evolve(self.state, pending=question, unclear=0)
        return Outcome(asking, lines, self.with_state(asking).prompt_here(), card)

    def prompt_here(self) -> Line:
        s = self.state
        if s.pending is not None:
            return questions.QUESTIONS[s.pending].line(self)
        if s.driving:
            return Line("car/park_prompt")
        if s.finished:
            return Line("prompt/finished")
        if s.step == 0:
            return Line("prompt/start")
        if s.hands_off:
            return Line("prompt/after_stop", {"next": self.next_step_id()})
        step = self.current
        if step and step.timer and s.timer_for(step.timer.purpose):
            return Line("prompt/timed")
        return Line("prompt/step")

    def next_step_id(self) -> str | None:
        """The step "next" leads to from here (a barred one passed over), None at the end."""
        for number in range(self.state.step + 1, self.routine.total + 1):
            if self.barred(self.routine.step(number)) is None:
                return self.routine.step(number).id
        return None

    # --- moving through the steps -------------------------------------------------------

    def begin(self, number: int = 1, *before: Line) -> Outcome:
        """A new routine (a new cramp): record the day it began."""
        episodes = (*self.state.episodes, _day(self.now).isoformat())[-MAX_EPISODES:]
        s = self.state
        stale = self.now - s.saved_at >= STALE_AFTER_S
        # "I can't walk" outlives a start over, not a new cramp half a day later; cold rounds
        # count afresh once the last one is over an hour old.
        fresh = evolve(s, episodes=episodes, cannot_walk=s.cannot_walk and not stale)
        if self.now - s.round_started_at >= self.routine.repeat_every * 60:
            fresh = evolve(fresh, cold_round=0, round_started_at=0.0, round_ends_at=0.0)
        if s.step == 0 and not s.finished and not stale:
            # Not begun yet: what was said before the first step (a warning sign, "it hurts
            # more") holds for this routine; only a start over lifts it.
            return self.with_state(fresh).enter(number, *before, way=Way.FORWARD)
        return self.with_state(fresh).restart(number, *before)

    def recent_episodes(self) -> int:
        """Routines begun in the last two weeks, this one included."""
        today = _day(self.now)
        return sum(1 for d in self.state.episodes
                   if (today - date.fromisoformat(d)).days < FREQUENT_WINDOW_DAYS)

    def restart(self, number: int = 1, *before: Line) -> Outcome:
        """From the top of the same routine: the rules kept "until start over" are lifted."""
        return self.with_state(self.state.fresh_routine()).enter(number, *before, way=Way.FORWARD)

    def barred(self, step: Step) -> str | None:
        """Why this step must not be given now ("injury" or "pain"), if it must not."""
        s = self.state
        if step.not_after_injury and s.injured:
            return "injury"
        if step.pain_gate and s.pain_worse:
            return "pain"
        return None

    def enter(self, number: int, *before: Line, way: Way = Way.EXACT) -> Outcome:
        """Move to step `number` and speak it, as the article's rules allow."""
        step = self.routine.step(number)
        if self.barred(step) is not None:
            return self.skip_barred(number, *before, way=way)
        s = self.state
        if step.after_the_cramp and s.cramp_stays:
            if not s.heat_explained:  # heat once the cramp has passed; say so, then cold again
                explained = evolve(s, heat_explained=True)
                not_yet = Line("heat/not_yet", {"stop": False})
                return self.with_state(explained).next_round(*before, not_yet)
            s = evolve(s, cramp_stays=False, heat_explained=False)  # asked again: their call
        state = evolve(s, step=number, finished=False, pending=None, unclear=0, hands_off=False)
        header = Line("step/header")
        if s.driving and step.hands_on:
            # Nothing hands-on at the wheel: the place moves, the words wait for parking.
            held = evolve(state, held_from=min(s.held_from or number, number))
            return Outcome(held, (*before, header, Line("car/hold")), Line("car/park_prompt"),
                           Card.CHECKLIST)
        turn = self.with_state(state)
        if step.pain_gate:
            return turn.ask(Question.PAIN_GATE, *before, header, card=Card.STEP)
        if step.timer and step.timer.repeat_every:
            return turn.arrive_at_cold(*before, header)
        instruction = Line(f"step/{step.id}", self.step_args(step))
        if step.timer is None:
            return Outcome(state, (*before, header, instruction), turn.prompt_here(), Card.STEP)
        return turn.offer_timer((*before, header), instruction)

    def skip_barred(self, number: int, *before: Line, way: Way) -> Outcome:
        """A step barred now, and any barred steps right after it the way the runner is
        going: the place moves onto the last of them, stopped, with one short line saying
        what is skipped and why, and "next" (or "go back") goes on from there."""
        skipped = [number]
        while way is not Way.EXACT and 1 <= skipped[-1] + way.value <= self.routine.total:
            following = self.routine.step(skipped[-1] + way.value)
            if self.barred(following) is None:
                break
            skipped.append(skipped[-1] + way.value)
        why = self.barred(self.routine.step(number))
        names = tuple(self.routine.step(n).id for n in skipped)
        landed = evolve(self.state, step=skipped[-1], finished=False, pending=None, unclear=0,
                        hands_off=True)
        if way is Way.FORWARD and skipped[-1] == self.routine.total:
            return self.with_state(landed).finish(*before, Line("safety/skipped", {
                "steps": names, "why": why}))
        return self.with_state(landed).stay(
            *before, Line("safety/skipped", {"steps": names, "why": why}), card=Card.STEP)

    def step_args(self, step: Step) -> dict[str, bool]:
        """What a step's words depend on besides the step: someone who cannot walk."""
        return {"can_walk": not self.state.cannot_walk} if step.id == "stop" else {}

    def forward(self, *before: Line) -> Outcome:
        s = self.state
        if s.finished:
            return self.stay(*before, Line("nav/already_finished"))
        if s.step >= self.routine.total:
            return self.finish(*before)
        return self.enter(s.step + 1, *before, way=Way.FORWARD)

    def finish(self, *before: Line) -> Outcome:
        """The wrap-up: the routine is done, the session ends. If cramps come often, the
        seed's advice to see a health professional comes with it, when there is time for it."""
        done = evolve(self.state, finished=True, pending=None, hands_off=False,
                      step=self.routine.total)
        recent = self.recent_episodes()
        frequent = (Line("memory/frequent", {"count": recent}),) if recent >= FREQUENT_EPISODES \
            else ()
        return Outcome(done, (*before, Line("finish/wrap_up"), *frequent))

    def say_current(self, *, again: bool = True) -> Outcome:
        """The current step, never its hands-on part once that has been stopped.

        `again`: said again because it was asked for ("repeat"); else the runner is carrying
        on, and a step whose timer already runs needs only how long is left."""
        s = self.state
        if s.step == 0:
            return self.begin()
        if s.finished:
            return self.stay(Line("nav/already_finished"))
        if s.pending is Question.PAIN_GATE:
            return self.stay(Line("step/header"))
        if s.hands_off:
            return self.stay(Line("safety/stopped_here"))
        step = self.current
        if not again and step and step.timer and s.timer_for(step.timer.purpose):
            header = Line("step/header")
            return self.offer_timer((header,), None)  # under way: how long is left
        return self.enter(s.step)

    def carry_on(self, *before: Line) -> Outcome:
        """Pick up where the runner left off, asking any safety question again."""
        outcome = self.with_state(evolve(self.state, pending=None)).say_current(again=False)
        return evolve(outcome, lines=(*before, *outcome.lines))

    def stop_massage(self, why: str) -> Outcome:
        """Pain is increasing (or unknown): no massage from now on; the cold compress is next.

        The cold step itself waits for "next": said at once it would make one long answer
        to someone whose pain just got worse."""
        stopped = evolve(self.state, pain_worse=True, hands_off=True, pending=None, unclear=0)
        return self.with_state(stopped).stay(Line(why), Line("safety/severe_pain_doctor"),
                                             card=Card.STEP)

    # --- cold rounds and timers ----------------------------------------------------------

    @property
    def longest_round_s(self) -> float:
        """How long one cold round can last (the longest compress time offered)."""
        cold = self.routine.step(self.routine.cold_step).timer
        return max(cold.choices) * 60.0 if cold else 20 * 60.0

    def round_running(self) -> bool:
        """The compress of the current cold round may still be on."""
        s = self.state
        if s.timer_for(Purpose.COLD):
            return True
        return Purpose.COLD not in self.fired and self.now < s.round_ends_at

    def start_round(self) -> Turn:
        """A new cold round from now: the compress stays on at most the longest time."""
        s = self.state
        return self.with_state(evolve(s, cold_round=s.cold_round + 1, round_started_at=self.now,
                                       round_ends_at=self.now + self.longest_round_s,
                                       round_answered=False))

    def end_round(self) -> Turn:
        """The compress is off (time's up, the runner moved on, or it hurt)."""
        return self.with_state(evolve(self.state,
                                       round_ends_at=min(self.state.round_ends_at, self.now)))

    def wait_minutes(self) -> int:
        """Minutes until the next hourly cold round may start."""
        start = self.state.round_started_at + self.routine.repeat_every * 60
        return max(0, math.ceil((start - self.now) / 60))

    def arrive_at_cold(self, *said: Line) -> Outcome:
        """The cold step: the round under way, the question after one, or a new round."""
        s = self.state
        if self.round_running():
            return self.offer_timer(said, Line("step/cold"))
        if s.round_started_at and self.wait_minutes() > 0:  # a round ended within the hour
            if s.round_answered and s.cramp_stays:
                return self.next_round(*said)
            return self.ask(Question.CRAMP_GONE, *said, card=Card.STEP)
        return self.start_round().offer_timer(said, Line("step/cold"))

    def next_round(self, *before: Line) -> Outcome:
        """Another cold round: now if its hour has come, else an offer to wait with a timer."""
        s = evolve(self.state, step=self.routine.cold_step, finished=False, hands_off=False)
        turn = self.with_state(s).end_round()
        minutes = turn.wait_minutes()
        if s.round_started_at and minutes > 0:  # the hour is not up: wait for it
            if s.timer_for(Purpose.WAIT):  # already timed: never a second timer for it
                back = Line("cold/come_back", {"minutes": minutes})
                return Outcome(evolve(s, pending=None), (*before, back))
            return turn.ask(Question.WAIT_OFFER, *before, Line("cold/wait", {"minutes": minutes}))
        if s.driving:
            return turn.enter(s.step, *before)
        started = turn.start_round()
        return started.offer_timer(before, Line("cold/round", {"round": started.state.cold_round}))

    def offer_timer(self, said: tuple[Line, ...], instruction: Line | None) -> Outcome:
        """A timed step: its instruction and an offer to time it; once its timer is set
        (running or paused), how long is left, the instruction only when asked to repeat it:
        the runner is already doing it, and hearing it again would sound like a new start."""
        step = self.current
        assert step is not None and step.timer is not None
        running = self.state.timer_for(step.timer.purpose)
        if running:
            again = (instruction,) if instruction and self.event.kind is Ev.REPEAT else ()
            return Outcome(self.state, (*said, *again, self.time_left(running)),
                           self.prompt_here(), Card.STEP)
        return self.ask(Question.TIMER_OFFER, *said, *((instruction,) if instruction else ()),
                        card=Card.STEP)

    def time_left(self, timer: Timer) -> Line:
        """"About N minutes left on the ... timer", as a line to speak or show."""
        return Line("timer/left", {"purpose": timer.purpose.value,
                                   "minutes": timer.minutes_left(self.now),
                                   "paused": bool(timer.paused_left)})

    def set_timer(self, minutes: int | None = None) -> Outcome:
        """Set the current step's timer (its default length unless one of its choices is asked)."""
        step = self.current
        if step is None or step.timer is None or not self.state.in_progress:
            return self.stay(Line("timer/nothing_to_time"))
        if self.state.driving:  # a hands-on timer waits for parking, like the step's words
            return self.stay(Line("car/hold"))
        purpose = step.timer.purpose
        running = self.state.timer_for(purpose)
        if running:  # never two timers for the same interval
            return self.with_state(evolve(self.state, pending=None)).stay(self.time_left(running))
        if step.timer.repeat_every and not self.round_running():
            # Between cold rounds a timer times the wait, never a new compress before its hour.
            waiting = self.state.timer_for(Purpose.WAIT)
            if waiting:
                return self.stay(self.time_left(waiting))
            if self.state.round_started_at and self.wait_minutes() > 0:
                return questions.QUESTIONS[Question.WAIT_OFFER].yes(self)
            return self.next_round()
        if minutes is not None and minutes not in step.timer.choices:
            return self.ask(Question.TIMER_OFFER, Line("timer/choose", {"heard": minutes}))
        chosen = minutes or step.timer.choices[0]
        return Outcome(evolve(self.state, pending=None), (), Line("prompt/step"),
                       effects=(SetTimer(purpose, chosen, self.state.cold_round),))
