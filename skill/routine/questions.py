"""The questions the skill asks, as data: one entry each in QUESTIONS.

An entry says how the question is asked (its template key, and the reprompt if that differs),
what a yes, a no and an unclear answer do, what "next" does while it waits, which other events
count as an answer (a graded "a little worse" is a yes to "is the pain getting worse?"), whether
it survives the session closing in silence, and whether driving holds it back. Adding a
question is one entry here and one template.

The pain question's rule, default-safe: only a clear no gives the massage. Yes or worse to
any degree stops it; "I'm not sure", anything the skill could not make out, and moving on
without answering never count as no.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from skill.routine.events import Ev
from skill.routine.outcome import Card, ChangeTimer, Forget, Line, Outcome, SetTimer, TimerOp
from skill.routine.state import Question, State, evolve
from skill.routine.steps import Purpose

if TYPE_CHECKING:
    from skill.routine.turn import Turn

Move = Callable[["Turn"], Outcome]

# Unclear answers in a row before a question is settled its safe way.
MAX_UNCLEAR = 2


@dataclass(frozen=True)
class Ask:
    """One question: how it is asked and what each kind of answer does."""

    asks: str  # the template key that asks it; also the reprompt unless `reprompt` says
    yes: Move
    no: Move
    gives_up: Move  # after MAX_UNCLEAR unclear answers in a row: the safe way out
    unclear_line: str = "answer/unclear"  # said before asking again
    moving_on: Move | None = None  # "next", "skip" while it waits (None: the usual next)
    kept_on_silence: bool = True  # the session closed unanswered: asked again next time
    held_while_driving: bool = False  # it leads to something hands-on: not asked at the wheel
    replaces_instruction: bool = False  # while it waits, cards and screens show it, not the step
    reprompt: str | None = None
    args: Callable[[Turn], Mapping[str, Any]] | None = None  # values its template needs
    also_yes: frozenset[Ev] = frozenset()
    also_no: frozenset[Ev] = frozenset()
    # "I'm not sure" is help for this moment (the question asked again), except where a
    # question's safety needs a clear answer: there it is as unclear as what was not heard.
    also_unclear: frozenset[Ev] = frozenset()

    def line(self, turn: Turn) -> Line:
        return Line(self.asks, self.args(turn) if self.args else {})

    def answer(self, kind: Ev) -> Move | None:
        """The move an event makes while this question waits; None: it is no answer."""
        if kind is Ev.YES or kind in self.also_yes:
            return self.yes
        if kind is Ev.NO or kind in self.also_no:
            return self.no
        if kind is Ev.FALLBACK or kind in self.also_unclear:
            return self.unclear
        if kind in (Ev.NEXT, Ev.SKIP) and self.moving_on is not None:
            return self.moving_on
        return None

    def unclear(self, t: Turn) -> Outcome:
        """Ask again, saying why; after MAX_UNCLEAR in a row, settle it the safe way."""
        count = t.state.unclear + 1
        if count >= MAX_UNCLEAR:
            return self.gives_up(t.with_state(evolve(t.state, unclear=0)))
        again = t.with_state(evolve(t.state, unclear=count))
        return Outcome(again.state, (Line(self.unclear_line),), self.line(again))


# --- the moves the questions make -------------------------------------------------------


def _give_massage(t: Turn) -> Outcome:
    step = t.current
    assert step is not None  # the gate is only ever asked at a step
    cleared = evolve(t.state, pending=None, unclear=0)
    return Outcome(cleared, (Line("gate/no"), Line(f"step/{step.id}")), Line("prompt/step"),
                   Card.STEP)


def _stop_massage(why: str) -> Move:
    return lambda t: t.stop_massage(why)


def _skip_massage(t: Turn) -> Outcome:
    # Moving on without answering skips the massage: safe, and never read as "no".
    return t.with_state(evolve(t.state, pending=None)).forward(Line("gate/skipped"))


def _carry_on(t: Turn) -> Outcome:
    return t.carry_on()


def _fresh_start(t: Turn) -> Outcome:
    return t.begin(1, Line("memory/fresh_start"))


def _forget(t: Turn) -> Outcome:
    return Outcome(State(greeted=True, first_time=False), (Line("memory/forgotten"),),
                   effects=(Forget(),))


def _keep_memory(t: Turn) -> Outcome:
    return t.with_state(evolve(t.state, pending=None)).stay(Line("memory/kept"))


def _set_offered_timer(t: Turn) -> Outcome:
    return t.set_timer()


def _decline_timer(t: Turn) -> Outcome:
    return t.with_state(evolve(t.state, pending=None)).stay(Line("timer/declined"))


def _cramp_gone(t: Turn) -> Outcome:
    """Gone: the cold rounds are over (their timers tidied away), and on to the heat."""
    s = t.state
    tidy = tuple(ChangeTimer(TimerOp.CANCEL, timer, quiet=True) for timer in s.timers
                 if timer.purpose in (Purpose.COLD, Purpose.WAIT))
    done = evolve(s, pending=None, cramp_stays=False, heat_explained=False, round_answered=True)
    outcome = t.with_state(done).forward(Line("cold/gone"))
    return evolve(outcome, effects=outcome.effects + tidy)


def _cramp_stays(t: Turn) -> Outcome:
    """Not gone: no heat yet; another cold round, an hour after the last one started."""
    # Each "not gone" means heat waits again, until they ask for it after hearing why.
    return t.with_state(evolve(t.state, pending=None, cramp_stays=True, heat_explained=False,
                               round_answered=True)).next_round()


def _unsure_if_gone(t: Turn) -> Outcome:
    # Unclear twice: taken as still cramping, which never gives heat too early.
    outcome = _cramp_stays(t)
    return evolve(outcome, lines=(Line("cold/taken_as_stays"), *outcome.lines))


def _set_wait_timer(t: Turn) -> Outcome:
    s = t.state
    return Outcome(evolve(s, pending=None), (), None,
                   effects=(SetTimer(Purpose.WAIT, t.wait_minutes(), s.cold_round + 1),))


def _come_back_later(t: Turn) -> Outcome:
    # The question stays: coming back early hears how long is left, then the offer again.
    return Outcome(t.state, (Line("cold/come_back", {"minutes": t.wait_minutes()}),))


def _hurt(t: Turn) -> Outcome:
    """Yes to "are you hurt?" (or no clear answer): a warning sign of its own, default-safe."""
    from skill.routine.flow import warning_sign  # the transition a resolved sign takes

    return warning_sign(t.with_state(evolve(t.state, pending=None)), None)


def _not_hurt(t: Turn) -> Outcome:
    return t.with_state(evolve(t.state, pending=None)).stay_or_begin(Line("safety/not_hurt"))


def _ask_again(question: Question) -> Move:
    return lambda t: QUESTIONS[question].unclear(t)


QUESTIONS: Mapping[Question, Ask] = {
    Question.PAIN_GATE: Ask(
        replaces_instruction=True,
        asks="gate/ask",
        yes=_stop_massage("gate/yes"),
        no=_give_massage,
        gives_up=_stop_massage("gate/unclear_stop"),
        unclear_line="gate/unclear",
        moving_on=_skip_massage,
        held_while_driving=True,
        also_yes=frozenset({Ev.HURTS_MORE}),
        also_no=frozenset({Ev.NOT_WORSE, Ev.CRAMP_GONE}),
        also_unclear=frozenset({Ev.UNSURE, Ev.CRAMP_STAYS}),
    ),
    Question.RESUME: Ask(
        asks="memory/resume_ask",
        yes=_carry_on,
        no=_fresh_start,
        gives_up=_carry_on,  # safe: carrying on asks any safety question again
        moving_on=_carry_on,
        also_yes=frozenset({Ev.RESUME}),
    ),
    Question.FORGET: Ask(
        asks="memory/forget_ask",
        yes=_forget,
        no=_keep_memory,
        gives_up=_keep_memory,  # nothing is ever deleted on an unclear answer
        moving_on=_keep_memory,
        kept_on_silence=False,
    ),
    Question.TIMER_OFFER: Ask(
        asks="timer/offer",
        yes=_set_offered_timer,
        no=_decline_timer,
        gives_up=_decline_timer,
        kept_on_silence=False,  # the step offers it again when it is said again
        held_while_driving=True,
    ),
    Question.CRAMP_GONE: Ask(
        replaces_instruction=True,
        asks="cold/gone_ask",
        yes=_cramp_gone,
        no=_cramp_stays,
        gives_up=_unsure_if_gone,
        unclear_line="cold/unclear",
        moving_on=_ask_again(Question.CRAMP_GONE),  # "next" is no answer: heat waits for one
        also_yes=frozenset({Ev.CRAMP_GONE}),
        also_no=frozenset({Ev.CRAMP_STAYS}),
        also_unclear=frozenset({Ev.UNSURE, Ev.NOT_WORSE}),
    ),
    Question.WAIT_OFFER: Ask(
        replaces_instruction=True,
        asks="timer/wait_offer",
        yes=_set_wait_timer,
        no=_come_back_later,
        gives_up=_come_back_later,
        held_while_driving=True,
        args=lambda t: {"minutes": t.wait_minutes()},
    ),
    Question.SIGN_CHECK: Ask(
        replaces_instruction=True,
        asks="safety/sign_check",
        yes=_hurt,
        no=_not_hurt,
        gives_up=_hurt,
        moving_on=_ask_again(Question.SIGN_CHECK),
        also_yes=frozenset({Ev.HURTS_MORE}),
        also_no=frozenset({Ev.NOT_WORSE}),
        also_unclear=frozenset({Ev.UNSURE}),
    ),
}
assert set(QUESTIONS) == set(Question), "every question needs an entry"
