"""Transitions for the timers: setting them, their results, the permission, coming back."""

from __future__ import annotations

from collections.abc import Callable

from skill.routine.events import TimerTask
from skill.routine.outcome import (
    AskTimerPermission,
    ChangeTimer,
    ConsentCard,
    Effect,
    Line,
    Outcome,
    SetTimer,
    TimerOp,
    TimerResult,
)
from skill.routine.state import Question, Timer, evolve
from skill.routine.steps import Purpose
from skill.routine.turn import Turn


def timer_comeback(t: Turn) -> Outcome | None:
    """Back after a timer went off, or between cold rounds: straight to the right question."""
    s = t.state
    back = Line("timer/welcome_back")
    step = t.current
    if step is None or not s.in_progress or s.hands_off:
        return None
    purpose = step.timer.purpose if step.timer else None
    if purpose is Purpose.HEAT and Purpose.HEAT in t.fired:
        return t.forward(back, Line("timer/heat_done"))
    if purpose is not Purpose.COLD or t.round_running() or not s.cold_round:
        return None
    if Purpose.WAIT in t.fired or (s.cramp_stays and s.round_answered):
        return t.next_round(back)  # a round now if its hour has come, else the wait
    done = (Line("timer/cold_done"),) if Purpose.COLD in t.fired else ()
    return t.ask(Question.CRAMP_GONE, back, *done)


def task_comeback(t: Turn, task: TimerTask) -> Outcome:
    """A timer brought the skill back ("continue with Cramp Coach?" answered yes): straight
    to what its end means. What the state kept is trusted when it is about that routine;
    with nothing kept (another device, memory forgotten) the place is rebuilt from the task."""
    s = t.state
    step = t.routine.number_of(task.purpose)
    timed_from = t.now - task.minutes * 60
    if not s.in_progress or s.step != step:
        # The place comes from the task; when the cold rounds' times were kept, they stand
        # (the hourly rule counts from the last round that really began).
        last_round = task.round - 1 if task.purpose is Purpose.WAIT else task.round
        implied = (timed_from if task.purpose is Purpose.COLD else
                   t.now - t.routine.repeat_every * 60 if task.purpose is Purpose.WAIT else 0.0)
        # Whatever else was kept stands too: a warning sign still bars what it barred.
        s = evolve(s, step=step, finished=False, cold_round=max(0, last_round),
                   round_started_at=s.round_started_at or implied)
    timers = tuple(x for x in s.timers if x.purpose is not task.purpose)
    turn = t.with_state(evolve(s, timers=timers, pending=None, hands_off=False))
    back = Line("timer/welcome_back")
    if task.purpose is Purpose.HEAT:
        return turn.forward(back, Line("timer/heat_done"))
    if task.purpose is Purpose.WAIT:
        return turn.next_round(back)
    ended = turn.with_state(evolve(turn.state, round_ends_at=min(turn.state.round_ends_at or
                                                                 t.now, t.now)))
    return ended.ask(Question.CRAMP_GONE, back, Line("timer/cold_done"))


def stop_step_timer(t: Turn) -> tuple[Effect, ...]:
    """The step's hands-on part stopped: its timer would only tell them to carry on."""
    step = t.current
    if step is None or step.timer is None:
        return ()
    running = t.state.timer_for(step.timer.purpose)
    return (ChangeTimer(TimerOp.CANCEL, running, quiet=True),) if running else ()


def set_timer(t: Turn) -> Outcome:
    heard = t.event.value
    return t.set_timer(int(heard) if heard and heard.isdigit() else None)


def _live_timer(t: Turn) -> Timer | None:
    """The timer a "how long is left" or "cancel the timer" means: this step's, else any."""
    step = t.current
    if step and step.timer:
        mine = t.state.timer_for(step.timer.purpose)
        if mine:
            return mine
    return t.state.timers[-1] if t.state.timers else None


def timer_left(t: Turn) -> Outcome:
    timer = _live_timer(t)
    return t.stay(t.time_left(timer) if timer else Line("timer/none"))


def change_timer(op: TimerOp) -> Callable[[Turn], Outcome]:
    def change(t: Turn) -> Outcome:
        timer = _live_timer(t)
        if timer is None:
            return t.stay(Line("timer/none"))
        if op is not TimerOp.CANCEL and (op is TimerOp.PAUSE) == bool(timer.paused_left):
            return t.stay(t.time_left(timer))  # already so
        return Outcome(t.state, (), t.prompt_here(), effects=(ChangeTimer(op, timer),))

    return change


def timer_result(t: Turn) -> Outcome:
    """The Timers API answered: keep what it did, and say so (or say how to time it by hand)."""
    report = t.event.report
    if report is None:
        return t.stay()
    call = report.call
    if isinstance(call, SetTimer):
        return _timer_set(t, call, report.result, report.timer_id, report.reason)
    return _timer_changed(t, call, report.result)


def _timer_set(t: Turn, call: SetTimer, result: TimerResult, timer_id: str,
               reason: str) -> Outcome:
    s = t.state
    if result is TimerResult.DONE:
        timer = Timer(timer_id, call.purpose, call.minutes, t.now + call.minutes * 60)
        kept = evolve(s, timers=(*s.timers, timer), wanted_purpose=None, wanted_minutes=0)
        if call.purpose is Purpose.COLD:  # the round runs from the timer
            kept = evolve(kept, round_started_at=t.now, round_ends_at=timer.ends_at)
        said = Line("timer/set", {"purpose": call.purpose.value, "minutes": call.minutes})
        if call.purpose is Purpose.WAIT:
            return Outcome(kept, (said, Line("timer/wait_set")))
        return t.with_state(kept).stay(said)
    if result is TimerResult.NEEDS_PERMISSION:
        asking = evolve(s, wanted_purpose=call.purpose, wanted_minutes=call.minutes)
        return Outcome(asking, (Line("timer/need_permission"),),
                       effects=(AskTimerPermission(),))
    why = Line("timer/failed", {"reason": reason, "purpose": call.purpose.value})
    return _time_it_yourself(t, call.purpose, call.minutes, why)


def _timer_changed(t: Turn, call: ChangeTimer, result: TimerResult) -> Outcome:
    s = t.state
    timer, op = call.timer, call.op
    others = tuple(x for x in s.timers if x.id != timer.id)
    said = Line("timer/changed", {"op": op.value, "purpose": timer.purpose.value,
                                  "result": result.value})
    if result is TimerResult.DONE and op is TimerOp.PAUSE:
        paused = evolve(timer, paused_left=max(1.0, timer.left(t.now)))
        return t.with_state(evolve(s, timers=(*others, paused))).stay(said)
    if result is TimerResult.DONE and op is TimerOp.RESUME:
        running = evolve(timer, ends_at=t.now + timer.paused_left, paused_left=0.0)
        return t.with_state(evolve(s, timers=(*others, running))).stay(said)
    if result in (TimerResult.DONE, TimerResult.NOT_FOUND):  # cancelled, or already gone off
        gone = t.with_state(evolve(s, timers=others))
        return gone.stay() if call.quiet else gone.stay(said)
    if call.quiet:
        return t.stay()
    return t.stay(Line("timer/change_failed", {"op": op.value}))


def _time_it_yourself(t: Turn, purpose: Purpose, minutes: int, why: Line) -> Outcome:
    """No timer could be set: the runner hears how long to time it, and the routine goes on."""
    s = evolve(t.state, wanted_purpose=None, wanted_minutes=0)
    if purpose is Purpose.WAIT:  # how to come back says how long to wait
        return Outcome(s, (why, Line("cold/come_back", {"minutes": minutes})))
    yourself = Line("timer/time_yourself", {"purpose": purpose.value, "minutes": minutes})
    return t.with_state(s).stay(why, yourself)


def permission(t: Turn) -> Outcome:
    """Alexa asked for the timers permission by voice; this is the answer."""
    s = t.state
    if s.wanted_purpose is None:
        return t.say_current()
    purpose, minutes = s.wanted_purpose, s.wanted_minutes
    if t.event.value == "accepted":
        # Timed as of now, the way the runner would have had it then: a wait timer for what
        # is left of the hour; a step's timer only if its step still wants one (a compress
        # round not over, say), so a late yes can never start cold early.
        granted = t.with_state(evolve(s, wanted_purpose=None, wanted_minutes=0))
        if purpose is Purpose.WAIT:
            if granted.wait_minutes() <= 0 or s.timer_for(Purpose.WAIT):
                return granted.stay()
            return Outcome(granted.state, (), None, effects=(
                SetTimer(Purpose.WAIT, granted.wait_minutes(), s.cold_round + 1),))
        return granted.set_timer(minutes)
    refused = _time_it_yourself(t, purpose, minutes,
                                Line("timer/permission_refused", {"status": t.event.value}))
    card = () if t.event.card_thrown else (ConsentCard(),)
    return evolve(refused, effects=refused.effects + card)
