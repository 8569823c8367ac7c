"""Transitions for the timers: setting them, their results, the permission, coming back."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from skill.routine.state import (
    AskTimerPermission,
    ChangeTimer,
    ConsentCard,
    Effect,
    Line,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    Timer,
)
from skill.routine.turn import Turn


def timer_comeback(t: Turn) -> Outcome | None:
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


def stop_step_timer(t: Turn) -> tuple[Effect, ...]:
    """The step's hands-on part stopped: its timer would only tell them to carry on."""
    step = t.current
    if step is None or step.timer is None:
        return ()
    running = t.state.timer_for(Purpose(step.timer.purpose))
    return (ChangeTimer("cancel", running, quiet=True),) if running else ()


def set_timer(t: Turn) -> Outcome:
    heard = t.event.value
    return t.set_timer(int(heard) if heard and heard.isdigit() else None)


def _live_timer(t: Turn) -> Timer | None:
    """The timer a "how long is left" or "cancel the timer" means: this step's, else any."""
    step = t.current
    if step and step.timer:
        mine = t.state.timer_for(Purpose(step.timer.purpose))
        if mine:
            return mine
    return t.state.timers[-1] if t.state.timers else None


def timer_left(t: Turn) -> Outcome:
    timer = _live_timer(t)
    return t.stay(t.time_left(timer) if timer else Line("timer/none"))


def change_timer(op: str) -> Callable[[Turn], Outcome]:
    def change(t: Turn) -> Outcome:
        timer = _live_timer(t)
        if timer is None:
            return t.stay(Line("timer/none"))
        if op != "cancel" and (op == "pause") == bool(timer.paused_left):  # already so
            return t.stay(t.time_left(timer))
        return Outcome(t.state, (), t.prompt_here(), effects=(ChangeTimer(op, timer),))

    return change


def timer_result(t: Turn) -> Outcome:
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


def _timer_changed(t: Turn, timer: Timer, result: object, op: str, quiet: bool) -> Outcome:
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


def _time_it_yourself(t: Turn, purpose: Purpose, minutes: int, why: Line) -> Outcome:
    """No timer could be set: the runner hears how long to time it, and the routine goes on."""
    s = replace(t.state, wanted_purpose="", wanted_minutes=0)
    yourself = Line("timer/time_yourself", {"purpose": purpose.value, "minutes": minutes})
    if purpose is Purpose.WAIT:
        return Outcome(s, (why, yourself, Line("cold/come_back", {"minutes": minutes})))
    return t.with_state(s).stay(why, yourself)


def permission(t: Turn) -> Outcome:
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
