"""The flow: `advance(state, event)`, and one transition per kind of event."""

from __future__ import annotations

from dataclasses import replace

from skill.routine import timing
from skill.routine.state import (
    ChangeTimer,
    Ev,
    Event,
    Forget,
    Line,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    State,
)
from skill.routine.steps import Routine, load_routine
from skill.routine.turn import MAX_MISS_LEVEL, MAX_UNCLEAR_GATE, STALE_AFTER_S, Turn


def advance(state: State, event: Event, routine: Routine | None = None) -> Outcome:
    """The one transition function: the state after `event`, and what to say."""
    routine = routine or load_routine()
    if event.kind is Ev.SESSION_ENDED:
        return Outcome(replace(state, unclear=0, misses=0))
    # Timers whose time has come have gone off on the device: the skill lets go of them.
    fired = tuple(t for t in state.timers if not t.paused_left and t.ends_at <= event.at)
    turn = Turn(state, event, routine, first_time=state.first_time,
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


def _disclaimer(turn: Turn, outcome: Outcome) -> tuple[Line, ...]:
    """A first-time user hears the disclaimer once, whatever they open with."""
    # Leaving and internal results need none; a welcome says it itself.
    quiet = (Ev.STOP, Ev.PAUSE, Ev.FORGET, Ev.TIMER_RESULT, Ev.PERMISSION)
    welcomed = any(line.key == "open/welcome" for line in outcome.lines)
    if turn.first_time and turn.event.kind not in quiet and not welcomed:
        return (Line("open/disclaimer"),)
    return ()


def _launch(t: Turn) -> Outcome:
    s = t.state
    if not s.in_progress:
        return t.begin(1, t.welcome())
    away = max(0.0, t.now - s.saved_at) if s.saved_at else 0.0
    stale = away >= STALE_AFTER_S
    if not stale:
        timed = timing.timer_comeback(t)
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


def _start(t: Turn) -> Outcome:
    s = t.state
    if s.pending is Question.RESUME:
        return t.begin(1, Line("memory/fresh_start"))
    if s.in_progress:
        return t.stay(Line("nav/already_started"))
    return t.begin(1, t.welcome())


def _next(t: Turn) -> Outcome:
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


def _previous(t: Turn) -> Outcome:
    s = t.state
    if s.finished:
        return t.enter(t.routine.total)
    if s.step <= 1:
        return t.stay(Line("nav/first_step"))
    return t.enter(s.step - 1)


def _go_to(t: Turn) -> Outcome:
    heard = t.event.value
    if heard is not None and heard.isdigit() and 1 <= int(heard) <= t.routine.total:
        if not t.state.in_progress and not t.state.finished:
            return t.begin(int(heard))
        if int(heard) == t.state.step and t.state.hands_off:
            return t.say_current()  # the hands-on part stays stopped
        return t.enter(int(heard))
    return t.stay(Line("nav/no_such_step", {"heard": heard}))


def _where_am_i(t: Turn) -> Outcome:
    return t.stay(Line("nav/where"))


def _steps_left(t: Turn) -> Outcome:
    return t.stay(Line("nav/left"))


def _more(t: Turn) -> Outcome:
    s = t.state
    step = t.current
    if s.pending is Question.PAIN_GATE:
        return t.stay(Line("gate/why"))
    if step is None or s.finished or s.pending in (Question.RESUME, Question.FORGET):
        return _help(t)
    if s.hands_off:
        return t.stay(Line("safety/stopped_here"))
    return t.stay(Line(f"more/{step.id}"))


def _pause(t: Turn) -> Outcome:
    return Outcome(t.state, (Line("bye/paused"),))


def _resume(t: Turn) -> Outcome:
    return t.carry_on()


def _help(t: Turn) -> Outcome:
    return t.stay(Line("help/here"), Line("help/disclaimer"))


def _stop(t: Turn) -> Outcome:
    s = t.state
    # Stopping at "carry on or start over?" leaves the old place as it was.
    kept = replace(s, unclear=0, pending=None if s.pending is Question.FORGET else s.pending)
    return Outcome(kept, (Line("bye/stop"),))


def _yes(t: Turn) -> Outcome:
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


def _no(t: Turn) -> Outcome:
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


def _unclear(t: Turn) -> Outcome:
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


def _hurts_more(t: Turn) -> Outcome:
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
    return replace(stopped, effects=timing.stop_step_timer(t))


def _red_flag(t: Turn) -> Outcome:
    flag = t.event.value if t.event.value in t.routine.red_flags else None
    urgency = t.routine.red_flags[flag] if flag else "doctor"
    stopped = replace(t.state, hands_off=t.state.in_progress, pending=None, unclear=0)
    outcome = t.with_state(stopped).stay(
        *t.pull_over(), Line("safety/red_flag", {"flag": flag, "urgency": urgency})
    )
    return replace(outcome, effects=timing.stop_step_timer(t) if t.state.in_progress else ())


def _keep_massaging(t: Turn) -> Outcome:
    s = t.state
    step = t.current
    if step is None or not step.pain_gate or not s.in_progress:
        return t.stay(Line("nav/not_massage_step"))
    if s.hands_off:
        return t.stay(Line("safety/no_more_massage"))
    return Outcome(replace(s, pending=Question.PAIN_GATE, unclear=0), (), Line("gate/ask"))


def _checklist(t: Turn) -> Outcome:
    return t.stay(Line("info/checklist"), card="checklist")


def _prevention(t: Turn) -> Outcome:
    return t.stay(Line("info/prevention"))


def _forget(t: Turn) -> Outcome:
    return Outcome(replace(t.state, pending=Question.FORGET, unclear=0), (),
                   Line("memory/forget_ask"))


def _driving(t: Turn) -> Outcome:
    told = replace(t.state, car_said="driving", driving=True)
    if not told.in_progress:
        return Outcome(told, (Line("car/noted"),), Line("car/park_prompt"), "checklist")
    current = t.with_state(told).say_current()
    return replace(current, lines=(Line("car/noted"), *current.lines), card="checklist")


def _parked(t: Turn) -> Outcome:
    """Parked or home: the hands-on steps can start, from where the runner was."""
    parked = replace(t.state, car_said="parked", driving=False)
    turn = t.with_state(parked)
    if not parked.in_progress and not parked.finished:
        return turn.begin(1, Line("car/parked"))
    return turn.carry_on_with(Line("car/parked"))


def _helper(t: Turn) -> Outcome:
    return _switch_mode(t, helping=True)


def _for_me(t: Turn) -> Outcome:
    return _switch_mode(t, helping=False)


def _switch_mode(t: Turn, *, helping: bool) -> Outcome:
    """Who is talking: a caregiver, or the runner. The routine goes on in their words."""
    turn = t.with_state(replace(t.state, helping=helping))
    if t.state.helping == helping:  # already so: nothing to announce
        said: tuple[Line, ...] = ()
    else:
        said = (Line("mode/helper_on" if helping else "mode/helper_off"),)
    if not turn.state.in_progress:
        return turn.begin(1, *((turn.welcome(),) if t.opens_session else ()), *said)
    return turn.carry_on_with(*said)


def _overview(t: Turn) -> Outcome:
    return t.stay(Line("info/overview"))


def _error(t: Turn) -> Outcome:
    return t.stay(Line("error/sorry"), Line("nav/where"))


def _start_over(t: Turn) -> Outcome:
    if t.state.pending is Question.RESUME:
        return t.begin(1, Line("memory/fresh_start"))
    return t.enter(1, Line("nav/starting_over"))


_TRANSITIONS = {
    Ev.LAUNCH: _launch,
    Ev.START: _start,
    Ev.NEXT: _next,
    Ev.SKIP: _next,
    Ev.PREVIOUS: _previous,
    Ev.REPEAT: Turn.say_current,
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
    Ev.SET_TIMER: timing.set_timer,
    Ev.TIMER_LEFT: timing.timer_left,
    Ev.CANCEL_TIMER: timing.change_timer("cancel"),
    Ev.PAUSE_TIMER: timing.change_timer("pause"),
    Ev.RESUME_TIMER: timing.change_timer("resume"),
    Ev.TIMER_RESULT: timing.timer_result,
    Ev.PERMISSION: timing.permission,
    Ev.DRIVING: _driving,
    Ev.PARKED: _parked,
    Ev.HELPER: _helper,
    Ev.FOR_ME: _for_me,
    Ev.OVERVIEW: _overview,
    Ev.ERROR: _error,
}
assert set(_TRANSITIONS) | {Ev.SESSION_ENDED} == set(Ev), "every event needs a transition"
