"""The flow: `advance(state, event)`, and one transition per kind of event.

An event that answers the question the skill is waiting on goes to that question's entry in
skill/routine/questions.py; any other event takes its own transition below (asking for help,
a warning sign, "go to step 2": the question is asked again, or left, as the move says).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from skill.routine import timing
from skill.routine.events import Ev, Event
from skill.routine.outcome import (
    Card,
    ChecklistShown,
    Line,
    Outcome,
    SetTimer,
    Shown,
    StepShown,
    TimerOp,
)
from skill.routine.questions import QUESTIONS
from skill.routine.state import Question, State, evolve
from skill.routine.steps import Routine, Urgency, load_routine
from skill.routine.turn import MAX_MISS_LEVEL, STALE_AFTER_S, Turn, Way

Transition = Callable[[Turn], Outcome]

# Lines whose words tell the runner to use their hands or body, beyond the steps' own
# (step/<id>, more/<id> of a hands-on step): never said to a driver.
HANDS_ON_LINES = frozenset({
    "gate/ask", "gate/no", "cold/round", "cold/come_back", "timer/offer", "timer/wait_offer",
    "timer/wait_set", "timer/time_yourself", "timer/choose", "timer/declined",
    "timer/cold_done",
})
# Lines that tell someone how to come back, one of which ends every session the skill ends.
COME_BACK_LINES = frozenset({
    "bye/stop", "bye/paused", "bye/come_back", "cold/come_back", "timer/wait_set",
    "finish/wrap_up", "memory/forgotten",
})
# Lines that carry the disclaimer: a first-time user hears one of them once.
DISCLAIMERS = frozenset({"open/disclaimer", "help/disclaimer"})


def advance(state: State, event: Event, routine: Routine | None = None) -> Outcome:
    """The one transition function: the state after `event`, what to say and show."""
    routine = routine or load_routine()
    if event.kind is Ev.SESSION_ENDED:
        return _silence(state)
    # Timers whose time has come have gone off on the device: the skill lets go of them.
    fired = tuple(t for t in state.timers if not t.paused_left and t.ends_at <= event.at)
    driving = (event.in_car or state.car_said == "driving") and state.car_said != "parked"
    turn = Turn(state, event, routine, first_time=state.first_time,
                fired=frozenset(t.purpose for t in fired), opens_session=not state.greeted)
    state = evolve(state, greeted=True, driving=driving,
                    timers=tuple(t for t in state.timers if t not in fired),
                    misses=state.misses if event.kind in _MISSES_KEPT else 0)
    turn = turn.with_state(state)
    answer = QUESTIONS[state.pending].answer(event.kind) if state.pending else None
    outcome = (answer or _TRANSITIONS[event.kind])(turn)
    if outcome.state.driving:
        outcome = _for_the_driver(outcome, routine)
    return _finish_turn(turn, outcome)


_MISSES_KEPT = frozenset({Ev.FALLBACK, Ev.UNSURE, Ev.TIMER_RESULT})


def _silence(state: State) -> Outcome:
    """The session closed unanswered: the place is kept, and the question if it keeps."""
    pending = state.pending
    if pending is not None and not QUESTIONS[pending].kept_on_silence:
        pending = None
    return Outcome(evolve(state, pending=pending, unclear=0, misses=0))


def _finish_turn(turn: Turn, outcome: Outcome) -> Outcome:
    """What every turn ends with: the disclaimer once, the time, what a screen shows."""
    lines = outcome.lines
    if turn.first_time and turn.event.kind not in _QUIET and not _welcomed(lines):
        lines = (Line("open/disclaimer"), *lines)
    heard = _welcomed(lines)  # the disclaimer, in a welcome or on its own
    if turn.first_time and heard and any(line.key.startswith("step/") for line in lines):
        lines = (*lines, Line("open/guide"))  # and, with the first step, how to move around
    state = evolve(outcome.state, saved_at=max(turn.now, outcome.state.saved_at),
                    first_time=outcome.state.first_time and not heard)
    # What is shown depends on the state and the card, not on the lines added above.
    return evolve(outcome, state=state, lines=lines,
                  shown=_shown(turn.with_state(state), outcome))


# Leaving, emergencies and internal results: the disclaimer waits for the next turn.
_QUIET = frozenset({Ev.STOP, Ev.PAUSE, Ev.FORGET, Ev.TIMER_RESULT, Ev.PERMISSION,
                    Ev.EMERGENCY, Ev.ERROR})


def _welcomed(lines: tuple[Line, ...]) -> bool:
    return any(line.key in DISCLAIMERS or (line.key == "open/welcome" and line.args.get(
        "first_time")) for line in lines)


def _shown(t: Turn, outcome: Outcome) -> Shown | None:
    """What a card and a screen show: the checklist when it was asked for, else the step."""
    if outcome.card is Card.CHECKLIST:
        return ChecklistShown()
    s = t.state
    step = t.current
    if step is None or not s.in_progress or outcome.hands_over:
        return None
    question = QUESTIONS[s.pending] if s.pending else None
    if s.driving and step.hands_on:
        instruction = Line("car/hold")
    elif question is not None and question.replaces_instruction:
        instruction = question.line(t)
    elif s.hands_off or t.barred(step):
        instruction = Line("safety/stopped_here")
    else:
        instruction = Line(f"step/{step.id}", t.step_args(step))
    timer = s.timers[-1] if s.timers else None
    return StepShown(s.step, instruction, t.time_left(timer) if timer else None)


def _hands_on_lines(routine: Routine) -> frozenset[str]:
    steps = {f"{kind}/{s.id}" for s in routine.steps if s.hands_on for kind in ("step", "more")}
    return frozenset(steps | HANDS_ON_LINES)


def _for_the_driver(outcome: Outcome, routine: Routine) -> Outcome:
    """The last guard at the wheel: no hands-on words and no hands-on timer reach a driver.

    The transitions already hold a hands-on step back (Turn.enter); this catches every other
    hands-on line (more about the stretch, a timer's words) and keeps the way back: parking."""
    hands_on = _hands_on_lines(routine)
    said = tuple(line for line in outcome.lines if line.key not in hands_on)
    asked = outcome.prompt
    timers = tuple(e for e in outcome.effects if isinstance(e, SetTimer))
    if len(said) == len(outcome.lines) and not timers and not (asked and asked.key in hands_on):
        return outcome
    held = outcome.state
    if held.pending is not None and QUESTIONS[held.pending].held_while_driving:
        held = evolve(held, pending=None)  # asked again once parked
    if 1 <= held.step <= routine.total and routine.step(held.step).hands_on:
        held = evolve(held, held_from=min(held.held_from or held.step, held.step))
    effects = tuple(e for e in outcome.effects if not isinstance(e, SetTimer))
    # A question a driver may answer is still asked; else the way back is to park.
    still_asked = asked if held.pending is not None and asked is not None \
        and asked.key not in hands_on else Line("car/park_prompt")
    return Outcome(held, (*said, Line("car/hold")), still_asked, Card.CHECKLIST, effects)


# --- transitions --------------------------------------------------------------------------


def _launch(t: Turn) -> Outcome:
    s = t.state
    if t.event.task is not None:
        return timing.task_comeback(t, t.event.task)
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
        "timer": t.time_left(running).args if running and not stale else None,
    })
    return t.ask(Question.RESUME, back)


def _start(t: Turn) -> Outcome:
    if t.state.in_progress:
        return t.stay(Line("nav/already_started"))
    return t.begin(1, *((t.welcome(),) if t.opens_session else ()))


def _next(t: Turn) -> Outcome:
    s = t.state
    if not s.in_progress and not s.finished:
        return t.begin()
    step = t.current
    rounds = bool(step and step.timer and step.timer.repeat_every)
    # "Skip" passes the cold rounds by; "next", or a yes to "say next when you're ready", asks.
    if (rounds and t.event.kind is not Ev.SKIP and not s.hands_off and not s.driving
            and s.cold_round and s.pending in (None, Question.TIMER_OFFER)):
        if s.cramp_stays and s.round_answered:
            return t.forward()  # heat waits while the cramping stays: Turn.enter says so
        # Cold rounds repeat until the cramping is completely gone: ask before moving on.
        return t.end_round().ask(Question.CRAMP_GONE)
    return t.with_state(evolve(s, pending=None)).forward()


def _cant_do(t: Turn) -> Outcome:
    """"I can't do that": never pushed; the step is skipped."""
    s = t.state
    if not s.in_progress:
        return _next(t)
    return t.with_state(evolve(s, pending=None)).forward(Line("nav/cant_do"))


def _previous(t: Turn) -> Outcome:
    s = t.state
    if s.finished:
        return t.enter(t.routine.total, way=Way.BACK)
    if s.step <= 1:
        return t.stay(Line("nav/first_step"))
    return t.enter(s.step - 1, way=Way.BACK)


def _go_to(t: Turn) -> Outcome:
    heard = t.event.value
    if heard is not None and heard.isdigit() and 1 <= int(heard) <= t.routine.total:
        if not t.state.in_progress and not t.state.finished:
            return t.begin(int(heard))
        if int(heard) == t.state.step and t.state.hands_off:
            return t.say_current()  # the hands-on part stays stopped
        return t.enter(int(heard))
    return t.stay(Line("nav/no_such_step", {"heard": heard}))


def _start_over(t: Turn) -> Outcome:
    if t.state.pending is Question.RESUME or not t.state.in_progress:
        return t.begin(1, Line("memory/fresh_start"))
    return t.restart(1, Line("nav/starting_over"))


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
        return _help_here(t)
    if s.hands_off or t.barred(step):
        return t.stay(Line("safety/stopped_here"))
    return t.stay(Line(f"more/{step.id}"))


def _pause(t: Turn) -> Outcome:
    return Outcome(_left_unanswered(t.state), (Line("bye/paused"),))


def _stop(t: Turn) -> Outcome:
    return Outcome(_left_unanswered(t.state), (Line("bye/stop"),))


def _left_unanswered(state: State) -> State:
    """Leaving mid-question keeps the question as silence would (never the forget one)."""
    return _silence(state).state


def _help(t: Turn) -> Outcome:
    if t.opens_session and not t.state.in_progress:
        # "Ask cramp coach for help": someone with a cramp, not someone after a manual.
        return t.begin(1, t.welcome())
    return _help_here(t)


def _help_here(t: Turn) -> Outcome:
    """What can be said at this moment, and the disclaimer."""
    return t.stay(Line("help/here"), Line("help/disclaimer"))


def _stray_yes(t: Turn) -> Outcome:
    """A yes with no question asked: at a step, that's "ready", so on we go."""
    if t.state.in_progress:
        return _next(t)
    return t.stay(Line("stray/yes"))


def _stray_no(t: Turn) -> Outcome:
    return t.stay(Line("stray/no"))


def _unclear(t: Turn) -> Outcome:
    """Neither the question's answer nor anything else the skill knows (or "I don't know")."""
    if t.event.kind is Ev.UNSURE:
        return _help_here(t)  # "I don't know" gets help for this moment, question included
    misses = min(t.state.misses + 1, MAX_MISS_LEVEL)
    return t.with_state(evolve(t.state, misses=misses)).stay(
        Line("fallback/miss", {"level": misses}))


def _pull_over(t: Turn) -> tuple[Line, ...]:
    return (Line("car/pull_over"),) if t.state.driving else ()


def _stop_here(t: Turn) -> tuple[Line, ...]:
    """How to stop what this step has the runner doing (never to a driver: nothing was
    started at the wheel)."""
    step = t.current
    if step is None or not t.state.in_progress or t.state.hands_off or t.state.driving:
        return ()
    return (Line(f"safety/stop/{step.id}"),)


def _hurts_more(t: Turn) -> Outcome:
    """It hurts more: the step's hands-on part stops, and no massage from now on."""
    s = evolve(t.state, pain_worse=True, pending=None, unclear=0)
    turn = t.with_state(s)
    step = t.current
    if s.driving:  # nothing hands-on was started: get off the road first
        return turn.stay(Line("car/pull_over"), Line("safety/severe_pain_doctor"))
    if step is None or not s.in_progress:
        return turn.stay(Line("safety/hurts_more_general"), Line("safety/severe_pain_doctor"))
    if step.pain_gate and not s.hands_off:
        return turn.stop_massage("safety/stop/massage")
    stopped = turn.with_state(evolve(s, hands_off=True)).end_round()
    outcome = stopped.stay(*_stop_here(t), Line("safety/severe_pain_doctor"))
    return evolve(outcome, effects=timing.stop_step_timer(t))


def warning_sign(t: Turn, sign_id: str | None) -> Outcome:
    """A red flag or an injury sign: medical advice, and no massage, stretch or heat from now
    on; cold, water and rest go on. An urgent one carries the emergency number."""
    sign = t.routine.signs.get(sign_id or "")
    urgency = sign.urgency if sign else Urgency.DOCTOR
    s = t.state
    step = t.current
    stops = bool(step and s.in_progress and step.not_after_injury)  # barred from now on
    marked = evolve(s, injured=True, pending=None, unclear=0,
                     hands_off=s.hands_off or stops,
                     cannot_walk=s.cannot_walk or bool(sign and sign.cannot_walk))
    stopping = _stop_here(t) if stops else ()
    said = Line("safety/red_flag", {"flag": sign_id if sign else None,
                                    "urgency": urgency.value})
    outcome = t.with_state(marked).stay(*_pull_over(t), said, *stopping)
    return evolve(outcome, effects=timing.stop_step_timer(t) if stops else ())


def _red_flag(t: Turn) -> Outcome:
    if t.event.value not in t.routine.signs:
        # Alexa heard a warning-sign phrase but could not make out which: ask, default-safe.
        return t.ask(Question.SIGN_CHECK)
    return warning_sign(t, t.event.value)


def _emergency(t: Turn) -> Outcome:
    """"Call 911", "get me an ambulance": the number at once, that the skill can't call, and
    the hands-on steps pause; the session ends so the line is free, the place kept."""
    s = t.state
    step = t.current
    stops = bool(step and s.in_progress and step.not_after_injury)
    paused = evolve(s, injured=True, pending=None, unclear=0, hands_off=s.hands_off or stops)
    outcome = Outcome(paused, (*_pull_over(t), Line("safety/emergency"),
                               *(_stop_here(t) if stops else ()), Line("bye/come_back")))
    return evolve(outcome, effects=timing.stop_step_timer(t) if stops else ())


def _not_worse(t: Turn) -> Outcome:
    return t.stay_or_begin(Line("answer/not_worse"))


def _cramp_gone(t: Turn) -> Outcome:
    """"It's gone" unasked: at the cold step that answers the question; before it, on we go."""
    s = evolve(t.state, cramp_stays=False, heat_explained=False)
    turn = t.with_state(s)
    if t.state.step == t.routine.cold_step:
        turn = turn.with_state(evolve(s, round_answered=True))
    step = t.current
    if step is None or not s.in_progress:
        return turn.stay(Line("answer/eased"))
    if s.step == t.routine.cold_step and not s.driving:
        return QUESTIONS[Question.CRAMP_GONE].yes(turn)
    if s.step < t.routine.cold_step:
        return turn.with_state(evolve(s, pending=None)).forward(Line("answer/eased"))
    return turn.stay(Line("answer/eased"))


def _cramp_stays(t: Turn) -> Outcome:
    """"It's still cramping" unasked: after the cold step, back to cold rounds (heat waits)."""
    s = t.state
    step = t.current
    cold = t.routine.cold_step
    if step is None or not s.in_progress or s.step < cold or s.driving:
        return t.stay(Line("answer/keep_going"))
    if s.step == cold and t.round_running():
        return t.stay(Line("answer/keep_going"))
    stays = t.with_state(evolve(s, cramp_stays=True, heat_explained=False, pending=None,
                                round_answered=True))
    if step.after_the_cramp:  # at the heat: it stops, and has to wait, saying why
        tidy = timing.stop_step_timer(t)
        outcome = stays.with_state(evolve(stays.state, heat_explained=True)).next_round(
            Line("heat/not_yet", {"stop": not s.hands_off}))
        return evolve(outcome, effects=outcome.effects + tidy)
    if s.step == cold:
        return QUESTIONS[Question.CRAMP_GONE].no(stays)
    return stays.stay(Line("answer/keep_going"))


def _keep_massaging(t: Turn) -> Outcome:
    s = t.state
    step = t.current
    if step is None or not step.pain_gate or not s.in_progress:
        return t.stay(Line("nav/not_massage_step"))
    if s.hands_off or t.barred(step):
        return t.stay(Line("safety/no_more_massage"))
    return t.ask(Question.PAIN_GATE)


def _checklist(t: Turn) -> Outcome:
    return t.stay(Line("info/checklist"), card=Card.CHECKLIST)


def _prevention(t: Turn) -> Outcome:
    return t.stay(Line("info/prevention"))


def _overview(t: Turn) -> Outcome:
    return t.stay(Line("info/overview"))


def _forget(t: Turn) -> Outcome:
    return t.ask(Question.FORGET)


def _driving(t: Turn) -> Outcome:
    """"I'm driving": nothing hands-on from now until parked; the step under way waits."""
    s = evolve(t.state, car_said="driving", driving=True, pending=None)
    step = t.current
    if s.in_progress and step is not None and step.hands_on:
        s = evolve(s, held_from=min(s.held_from or s.step, s.step))
    return t.with_state(s).stay(Line("car/noted"), card=Card.CHECKLIST)


def _parked(t: Turn) -> Outcome:
    """Parked or home: the hands-on steps can start, the first one held back first."""
    s = t.state
    parked = t.with_state(evolve(s, car_said="parked", driving=False, held_from=0))
    if not s.in_progress and not s.finished:
        return parked.begin(1, Line("car/parked"))
    if s.held_from and s.in_progress:
        return parked.with_state(evolve(parked.state, pending=None)).enter(
            s.held_from, Line("car/parked"))
    return parked.carry_on(Line("car/parked"))


def _switch_mode(*, helping: bool) -> Transition:
    """Who is talking: a caregiver, or the runner. The routine goes on in their words."""

    def switch(t: Turn) -> Outcome:
        turn = t.with_state(evolve(t.state, helping=helping))
        said = () if t.state.helping == helping else (
            Line("mode/helper_on" if helping else "mode/helper_off"),)
        if not turn.state.in_progress:
            # Opening with it ("my wife has a cramp"): the welcome in their words says it all.
            return turn.begin(1, *((turn.welcome(),) if t.opens_session else said))
        return turn.carry_on(*said)

    return switch


def _voice(setting: str) -> Transition:
    """"Slower please", "speak up": the rest of the session sounds so; the step is said again."""

    def change(t: Turn) -> Outcome:
        turn = t.with_state(evolve(t.state, slow=t.state.slow or setting == "slow",
                                    loud=t.state.loud or setting == "loud"))
        said = Line(f"voice/{setting}")
        if turn.state.in_progress and turn.state.pending is None:
            return turn.carry_on(said)
        return turn.stay(said)

    return change


def _error(t: Turn) -> Outcome:
    return t.stay(Line("error/sorry"), Line("nav/where"))


_TRANSITIONS: Mapping[Ev, Transition] = {
    Ev.LAUNCH: _launch,
    Ev.START: _start,
    Ev.NEXT: _next,
    Ev.SKIP: _next,
    Ev.CANT_DO: _cant_do,
    Ev.PREVIOUS: _previous,
    Ev.REPEAT: Turn.say_current,
    Ev.RESUME: Turn.carry_on,
    Ev.START_OVER: _start_over,
    Ev.GO_TO: _go_to,
    Ev.WHERE_AM_I: _where_am_i,
    Ev.STEPS_LEFT: _steps_left,
    Ev.MORE: _more,
    Ev.PAUSE: _pause,
    Ev.HELP: _help,
    Ev.STOP: _stop,
    Ev.YES: _stray_yes,
    Ev.NO: _stray_no,
    Ev.UNSURE: _unclear,
    Ev.FALLBACK: _unclear,
    Ev.HURTS_MORE: _hurts_more,
    Ev.NOT_WORSE: _not_worse,
    Ev.CRAMP_GONE: _cramp_gone,
    Ev.CRAMP_STAYS: _cramp_stays,
    Ev.RED_FLAG: _red_flag,
    Ev.EMERGENCY: _emergency,
    Ev.KEEP_MASSAGING: _keep_massaging,
    Ev.CHECKLIST: _checklist,
    Ev.PREVENTION: _prevention,
    Ev.OVERVIEW: _overview,
    Ev.FORGET: _forget,
    Ev.SET_TIMER: timing.set_timer,
    Ev.TIMER_LEFT: timing.timer_left,
    Ev.CANCEL_TIMER: timing.change_timer(TimerOp.CANCEL),
    Ev.PAUSE_TIMER: timing.change_timer(TimerOp.PAUSE),
    Ev.RESUME_TIMER: timing.change_timer(TimerOp.RESUME),
    Ev.TIMER_RESULT: timing.timer_result,
    Ev.PERMISSION: timing.permission,
    Ev.DRIVING: _driving,
    Ev.PARKED: _parked,
    Ev.HELPER: _switch_mode(helping=True),
    Ev.FOR_ME: _switch_mode(helping=False),
    Ev.SLOWER: _voice("slow"),
    Ev.LOUDER: _voice("loud"),
    Ev.ERROR: _error,
}
assert set(_TRANSITIONS) | {Ev.SESSION_ENDED} == set(Ev), "every event needs a transition"
