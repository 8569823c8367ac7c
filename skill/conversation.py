"""One turn of the conversation: load the state, advance the routine, keep it, act, answer.

This is the only place that joins the ASK request to the pure routine, the user's memory and
the Timers API; handlers only say which event a request is, and skill/response.py only shapes
the routine's outcome into Alexa's response.

Where the state lives: within a session, in the session attributes (they travel with each
request); between sessions, in the store, read once when a session opens and saved after
every turn that changes it, so that a session that dies loses nothing. The store's records
carry a version: when two devices of one user answer at once, the later save conflicts, and
the turn is replayed on the state the other one saved, so neither silently erases the
other's progress. A store that fails is logged and the conversation carries on from the
session: nothing alarming is said.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response

from skill import response, tasks
from skill.memory import VERSION_KEY, StoreConflict, StoreError
from skill.routine import (
    ChangeTimer,
    Ev,
    Event,
    Forget,
    Outcome,
    Routine,
    SetTimer,
    State,
    TimerCall,
    TimerOp,
    TimerReport,
    TimerResult,
    advance,
    load_routine,
)
from skill.speech import Voice

if TYPE_CHECKING:
    # The Timers API client pulls in http.client and ssl (~30 ms of a cold start): it is
    # imported when a turn first calls it.
    from skill import timers

log = logging.getLogger(__name__)

# The session attribute, and the stored record's key, that carry the routine's state.
STATE_KEY = "routine"
# How often a turn is replayed after a conflicting save before the session's answer stands.
MAX_ATTEMPTS = 3
# Labels tried for one timer ("label", "label (2)", ...) before giving up on a duplicate.
LABEL_TRIES = 3

TimerServiceFor = Callable[[HandlerInput], "timers.TimerService"]
# Sees every turn's outcome (tests assert on what the routine chose, not on its words).
Observer = Callable[[HandlerInput, Outcome], None]


class Conversation:
    """Answers requests for one skill: its routine, a per-user store, the Timers API."""

    def __init__(self, store: AbstractPersistenceAdapter | None = None,
                 routine: Routine | None = None,
                 timer_service: TimerServiceFor | None = None,
                 observe: Observer | None = None) -> None:
        self.store = store
        self.routine = routine or load_routine()
        self.timer_service = timer_service
        self.observe = observe

    def reply(self, handler_input: HandlerInput, event: Event) -> Response:
        """Answer one request: the routine decides, the templates speak."""
        event = replace(event, at=request_time(handler_input), in_car=in_vehicle(handler_input))
        memory = _Memory(handler_input, self.store, self.routine)
        for _attempt in range(MAX_ATTEMPTS):
            outcome = advance(memory.load(), event, self.routine)
            if any(isinstance(e, TimerCall) for e in outcome.effects):
                # A timer set is done, whatever another device saved meanwhile: this turn's
                # state is saved over it rather than replayed (a replay would set it twice).
                outcome = self._call_timers(handler_input, outcome, event)
                memory.keep(outcome, overwrite=True)
                break
            if memory.keep(outcome):
                break
        return self._answer(handler_input, outcome)

    def apologise(self, handler_input: HandlerInput) -> Response:
        """After an error: sorry, and where the runner is, from the session alone.

        Neither the store nor the timers are touched: either may be what failed."""
        memory = _Memory(handler_input, None, self.routine)
        outcome = advance(memory.load(), Event(Ev.ERROR, at=request_time(handler_input)),
                          self.routine)
        memory.keep(outcome)
        return self._answer(handler_input, outcome)

    def _answer(self, handler_input: HandlerInput, outcome: Outcome) -> Response:
        if self.observe is not None:
            self.observe(handler_input, outcome)
        return response.present(handler_input, outcome, self.routine)

    def _call_timers(self, handler_input: HandlerInput, outcome: Outcome,
                     cause: Event) -> Outcome:
        """Carry out the timer calls; each result is an event the routine answers at once."""
        from skill import timers

        service = (self.timer_service or timers.TimerService.from_handler_input)(handler_input)
        skill_id = tasks.application_id(handler_input.request_envelope)
        calls = [e for e in outcome.effects if isinstance(e, TimerCall)]
        while calls:
            voice = response.voice_for(handler_input, outcome.state, self.routine)
            report = _timer_call(service, calls.pop(0), voice, skill_id)
            later = advance(outcome.state, Event(Ev.TIMER_RESULT, at=cause.at,
                                                 in_car=cause.in_car, report=report),
                            self.routine)
            outcome = outcome.then(later)
            calls += [e for e in later.effects if isinstance(e, TimerCall)]
        return outcome


def _timer_call(service: timers.TimerService, call: TimerCall, voice: Voice,
                skill_id: str | None = None) -> TimerReport:
    """One call to the Timers API, its outcome as a report for the routine."""
    from skill import timers

    if isinstance(call, SetTimer):
        label = voice.text("timer/label", purpose=call.purpose.value, round=call.round)
        announcement = voice.text("timer/announce", purpose=call.purpose.value)
        # The timer's end brings the skill back (its task), else it only announces.
        task = timers.LaunchTask(
            tasks.qualified_name(skill_id), tasks.TASK_VERSION,
            tasks.task_input(call.purpose, call.round, call.minutes),
            voice.text("timer/confirm", purpose=call.purpose.value,
                       skill=timers.CONTINUE_WITH_SKILL_NAME)) if skill_id else None
        for copy in range(1, LABEL_TRIES + 1):
            # Labels must be unique on the device: an older routine's timer may hold this one.
            made = service.create(call.minutes, label=label if copy == 1 else f"{label} ({copy})",
                                  announcement=announcement, locale=voice.locale, task=task)
            if not (isinstance(made, timers.TimerRefused) and made.reason == "duplicate_label"):
                break
        match made:
            case timers.TimerSet(id=timer_id):
                return TimerReport(call, TimerResult.DONE, timer_id=timer_id)
            case timers.PermissionNeeded():
                return TimerReport(call, TimerResult.NEEDS_PERMISSION)
            case _:
                return TimerReport(call, TimerResult.FAILED, reason=made.reason)
    assert isinstance(call, ChangeTimer)
    change = {TimerOp.CANCEL: service.cancel, TimerOp.PAUSE: service.pause,
              TimerOp.RESUME: service.resume}[call.op]
    match change(call.timer.id):
        case timers.Done():
            return TimerReport(call, TimerResult.DONE)
        case timers.NotFound():
            return TimerReport(call, TimerResult.NOT_FOUND)
        case failed:
            return TimerReport(call, TimerResult.FAILED, reason=getattr(failed, "reason", ""))


class _Memory:
    """One request's view of where the user's state lives."""

    def __init__(self, handler_input: HandlerInput, store: AbstractPersistenceAdapter | None,
                 routine: Routine) -> None:
        self.envelope = handler_input.request_envelope
        self.store = store
        self.routine = routine
        self.session = session_attributes(handler_input)
        session = self.envelope.session
        self.new_session = session is None or bool(session.new)
        # Read the store when a session opens; within one, the session attributes are current
        # (a session that could not reach the store at first reads it again next turn).
        self.reload = self.new_session or VERSION_KEY not in self.session
        self.kept: dict[str, Any] | None = None  # the state as last read or saved

    def load(self) -> State:
        in_session = State.from_dict(self.session.get(STATE_KEY), self.routine)
        if self.store is None or not self.reload:
            kept = self.session.get(STATE_KEY)
            self.kept = kept if isinstance(kept, dict) else None
            return in_session.new_session() if self.new_session else in_session
        try:
            record = self.store.get_attributes(self.envelope)
        except StoreError as error:
            log.warning("memory unavailable, carrying on from the session: %s", error)
            self.store = None  # no write either: it could overwrite what we could not read
            return in_session.new_session() if self.new_session else in_session
        self.reload = False
        self.session[VERSION_KEY] = record.get(VERSION_KEY)
        kept = record.get(STATE_KEY)
        self.kept = kept if isinstance(kept, dict) else None
        stored = State.from_dict(record.get(STATE_KEY), self.routine)
        if self.new_session:
            return stored.new_session()
        if record.get(VERSION_KEY) is None:
            return in_session  # nothing was ever kept: the session's own progress stands
        # Replaying on what the store accepted (after a conflict, or once a store that was out
        # of reach at the session's start answers): the stored place, this session's counters.
        return replace(stored, greeted=in_session.greeted, misses=in_session.misses,
                       unclear=in_session.unclear)

    def keep(self, outcome: Outcome, *, overwrite: bool = False) -> bool:
        """Keep the new state; False when another request saved first and the turn must rerun.

        `overwrite`: the turn already happened (a timer was set): save over a newer record
        rather than replay it.
        """
        state = outcome.state.to_dict()
        self.session[STATE_KEY] = state
        if self.store is None:
            return True
        try:
            if any(isinstance(e, Forget) for e in outcome.effects):
                self.store.delete_attributes(self.envelope)
                self.session.pop(VERSION_KEY, None)
                self.kept = None
                return True
            if state == self.kept and self.session.get(VERSION_KEY) is not None:
                return True  # nothing changed: no write
            record = {STATE_KEY: state, VERSION_KEY: self.session.get(VERSION_KEY)}
            self.store.save_attributes(self.envelope, record)
            self.session[VERSION_KEY] = record[VERSION_KEY]
            self.kept = state
        except StoreConflict:
            if overwrite:
                return self._save_over(state)
            log.info("another request saved first; replaying the turn on its state")
            self.reload = True
            return False
        except StoreError as error:
            log.warning("memory not saved, the session still has it: %s", error)
        return True

    def _save_over(self, state: dict[str, Any]) -> bool:
        assert self.store is not None
        try:
            latest = self.store.get_attributes(self.envelope)
            record = {STATE_KEY: state, VERSION_KEY: latest.get(VERSION_KEY)}
            self.store.save_attributes(self.envelope, record)
            self.session[VERSION_KEY] = record[VERSION_KEY]
            self.kept = state
        except StoreError as error:
            log.warning("memory not saved after a timer call: %s", error)
        return True


def request_time(handler_input: HandlerInput) -> float:
    """The request's own timestamp (so a replayed or tested request means the same)."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    return stamp.timestamp() if isinstance(stamp, datetime) else time.time()


def in_vehicle(handler_input: HandlerInput) -> bool:
    """A request from a car (Echo Auto, Alexa built in) carries context.Automotive, maybe {}."""
    return getattr(handler_input.request_envelope.context, "automotive", None) is not None


def session_attributes(handler_input: HandlerInput) -> dict[str, Any]:
    """The session's attributes; a request without a session gets a dict nobody keeps."""
    if handler_input.request_envelope.session is None:
        return {}
    attributes = handler_input.attributes_manager.session_attributes
    if not isinstance(attributes, dict):  # None, or a list or string someone sent us
        attributes = handler_input.attributes_manager.session_attributes = {}
    return attributes
