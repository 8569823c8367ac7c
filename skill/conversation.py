"""One turn of the conversation: load the state, advance the routine, keep it, answer.

This is the only place that joins the ASK request to the pure routine, the templates and
the user's memory; handlers only say which event a request is.

Where the state lives: within a session, in the session attributes (they travel with each
request); between sessions, in the store, saved after every turn so that a session that dies
loses nothing. The store's records carry a version: when two devices of one user answer at
once, the later save conflicts, and the turn is replayed on the state the other one saved,
so neither silently erases the other's progress. A store that fails is logged and the
conversation carries on from the session: nothing alarming is said.
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
from ask_sdk_model.interfaces.connections import SendRequestDirective
from ask_sdk_model.ui import AskForPermissionsConsentCard, SimpleCard

from skill import screen
from skill.memory import VERSION_KEY, StoreConflict, StoreError
from skill.routine import (
    ChangeTimer,
    ConsentCard,
    Ev,
    Event,
    Forget,
    Line,
    Outcome,
    Question,
    Routine,
    SetTimer,
    State,
    TimerCall,
    advance,
    load_routine,
)
from skill.speech import DEFAULT_LOCALE, Voice, to_text

if TYPE_CHECKING:
    # The Timers API client pulls in http.client and ssl (~30 ms of a cold start): it is
    # imported when a turn first calls it, and APL's model classes only for screens.
    from ask_sdk_model.interfaces.alexa.presentation.apl import RenderDocumentDirective

    from skill import timers

log = logging.getLogger(__name__)

# The session attribute, and the stored record's key, that carry the routine's state.
STATE_KEY = "routine"
# How often a turn is replayed after a conflicting save before the session's answer stands.
MAX_ATTEMPTS = 3
# Labels tried for one timer ("label", "label (2)", ...) before giving up on a duplicate.
LABEL_TRIES = 3
# The token Alexa hands back with its answer to the permission question.
PERMISSION_TOKEN = "cramp-coach-timers"

TimerServiceFor = Callable[[HandlerInput], "timers.TimerService"]
# Alexa's permission scope for skill timers (the same string as skill.json's permission).
TIMERS_SCOPE = "alexa::alerts:timers:skill:readwrite"


class Conversation:
    """Answers requests for one skill: its routine, a per-user store, the Timers API."""

    def __init__(self, store: AbstractPersistenceAdapter | None = None,
                 routine: Routine | None = None,
                 timer_service: TimerServiceFor | None = None) -> None:
        self.store = store
        self.routine = routine or load_routine()
        self.timer_service = timer_service

    def reply(self, handler_input: HandlerInput, event: Event) -> Response:
        """Answer one request: the routine decides, the templates speak."""
        event = replace(event, at=request_time(handler_input), in_car=in_vehicle(handler_input))
        memory = _Memory(handler_input, self.store, self.routine)
        for _attempt in range(MAX_ATTEMPTS):
            outcome = advance(memory.load(), event, self.routine)
            if memory.keep(outcome):
                break
        if any(isinstance(e, TimerCall) for e in outcome.effects):
            # Only once the turn's state is safely kept: a replayed turn must not set two timers.
            outcome = self._call_timers(handler_input, outcome, event)
            memory.keep(outcome, overwrite=True)
        return present(handler_input, outcome, self.routine)

    def apologise(self, handler_input: HandlerInput) -> Response:
        """After an error: sorry, and where the runner is, from the session alone.

        Neither the store nor the timers are touched: either may be what failed."""
        memory = _Memory(handler_input, None, self.routine)
        outcome = advance(memory.load(), Event(Ev.ERROR, at=request_time(handler_input)),
                          self.routine)
        memory.keep(outcome)
        return present(handler_input, outcome, self.routine)

    def _call_timers(self, handler_input: HandlerInput, outcome: Outcome,
                     cause: Event) -> Outcome:
        """Carry out the timer calls; each result is an event the routine answers at once."""
        from skill import timers

        service = (self.timer_service or timers.TimerService.from_handler_input)(handler_input)
        calls = [e for e in outcome.effects if isinstance(e, TimerCall)]
        while calls:
            voice = voice_for(handler_input, outcome.state, self.routine)
            result = _timer_call(service, calls.pop(0), voice)
            answered = Event(Ev.TIMER_RESULT, at=cause.at, in_car=cause.in_car, data=result)
            later = advance(outcome.state, answered, self.routine)
            outcome = outcome.then(later)
            calls += [e for e in later.effects if isinstance(e, TimerCall)]
        return outcome


def _timer_call(service: timers.TimerService, call: TimerCall, voice: Voice) -> dict[str, Any]:
    """One call to the Timers API, its outcome as plain data for the routine."""
    from skill import timers

    if isinstance(call, SetTimer):
        purpose = call.purpose.value
        label = voice.text("timer/label", purpose=purpose, round=call.round)
        announcement = voice.text("timer/announce", purpose=purpose)
        for copy in range(1, LABEL_TRIES + 1):
            # Labels must be unique on the device: an older routine's timer may hold this one.
            made = service.create(call.minutes, label=label if copy == 1 else f"{label} ({copy})",
                                  announcement=announcement, locale=voice.context["locale"])
            if not (isinstance(made, timers.TimerRefused) and made.reason == "duplicate_label"):
                break
        data: dict[str, Any] = {"op": "create", "purpose": purpose, "minutes": call.minutes}
        if isinstance(made, timers.TimerSet):
            return {**data, "result": "set", "id": made.id}
        if isinstance(made, timers.PermissionNeeded):
            return {**data, "result": "permission"}
        return {**data, "result": "failed", "reason": made.reason}
    assert isinstance(call, ChangeTimer)
    change = {"cancel": service.cancel, "pause": service.pause, "resume": service.resume}
    done = change[call.op](call.timer.id)
    result = {timers.Done: "done", timers.NotFound: "not_found"}.get(type(done), "failed")
    return {"op": call.op, "timer": call.timer.to_dict(), "result": result, "quiet": call.quiet}


class _Memory:
    """One request's view of where the user's state lives."""

    def __init__(self, handler_input: HandlerInput, store: AbstractPersistenceAdapter | None,
                 routine: Routine) -> None:
        self.handler_input = handler_input
        self.envelope = handler_input.request_envelope
        self.store = store
        self.routine = routine
        self.session = session_attributes(handler_input)
        session = self.envelope.session
        self.new_session = session is None or bool(session.new)
        # Read the store when a session opens; within one, the session attributes are current
        # (a session that could not reach the store at first reads it again next turn).
        self.reload = self.new_session or VERSION_KEY not in self.session

    def load(self) -> State:
        in_session = State.from_dict(self.session.get(STATE_KEY), self.routine)
        if self.store is None or not self.reload:
            return in_session.new_session() if self.new_session else in_session
        try:
            record = self.store.get_attributes(self.envelope)
        except StoreError as error:
            log.warning("memory unavailable, carrying on from the session: %s", error)
            self.store = None  # no write either: it could overwrite what we could not read
            return in_session.new_session() if self.new_session else in_session
        self.session[VERSION_KEY] = record.get(VERSION_KEY)
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
        self.session[STATE_KEY] = outcome.state.to_dict()
        if self.store is None:
            return True
        try:
            if any(isinstance(e, Forget) for e in outcome.effects):
                self.store.delete_attributes(self.envelope)
                self.session.pop(VERSION_KEY, None)
                return True
            record = {STATE_KEY: outcome.state.to_dict(),
                      VERSION_KEY: self.session.get(VERSION_KEY)}
            self.store.save_attributes(self.envelope, record)
            self.session[VERSION_KEY] = record[VERSION_KEY]
        except StoreConflict:
            if overwrite:
                return self._save_over(outcome)
            log.info("another request saved first; replaying the turn on its state")
            self.reload = True
            return False
        except StoreError as error:
            log.warning("memory not saved, the session still has it: %s", error)
        return True


    def _save_over(self, outcome: Outcome) -> bool:
        assert self.store is not None
        try:
            latest = self.store.get_attributes(self.envelope)
            record = {STATE_KEY: outcome.state.to_dict(), VERSION_KEY: latest.get(VERSION_KEY)}
            self.store.save_attributes(self.envelope, record)
            self.session[VERSION_KEY] = record[VERSION_KEY]
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


def voice_for(handler_input: HandlerInput, state: State, routine: Routine) -> Voice:
    """The words for this listener: the car's short ones, a helper's, or the runner's."""
    variants = (*(("car",) if state.driving else ()), *(("helper",) if state.helping else ()))
    return Voice(locale_of(handler_input), state, routine, variants=variants)


def session_attributes(handler_input: HandlerInput) -> dict[str, Any]:
    """The session's attributes; a request without a session gets a dict nobody keeps."""
    if handler_input.request_envelope.session is None:
        return {}
    attributes = handler_input.attributes_manager.session_attributes
    if attributes is None:  # the SDK types it Optional; a fresh dict keeps the turn going
        attributes = handler_input.attributes_manager.session_attributes = {}
    return attributes


def locale_of(handler_input: HandlerInput) -> str:
    locale = getattr(handler_input.request_envelope.request, "locale", None)
    return locale if isinstance(locale, str) and locale else DEFAULT_LOCALE


def present(handler_input: HandlerInput, outcome: Outcome, routine: Routine) -> Response:
    """Turn an outcome into Alexa's response: speech, reprompt, card, session end."""
    builder = handler_input.response_builder
    if not outcome.lines and outcome.prompt is None:
        return builder.response  # SessionEndedRequest: Alexa takes no speech
    voice = voice_for(handler_input, outcome.state, routine)
    prompt = voice.ssml(outcome.prompt) if outcome.prompt is not None else ""
    builder.speak(" ".join(part for part in (voice.ssml(*outcome.lines), prompt) if part))
    if outcome.hands_over:
        # Alexa asks the permission question itself and answers with Connections.Response.
        builder.add_directive(SendRequestDirective(
            name="AskFor", payload=PERMISSION_REQUEST, token=PERMISSION_TOKEN))
    else:
        if prompt:
            builder.ask(prompt)
        builder.set_should_end_session(outcome.ends_session)
    if any(isinstance(e, ConsentCard) for e in outcome.effects):
        builder.set_card(AskForPermissionsConsentCard(permissions=[TIMERS_SCOPE]))
    elif outcome.card is not None:
        builder.set_card(_card(voice, outcome))
    if screen.supports_apl(handler_input):
        view = _view(voice, outcome)
        if view is not None:
            builder.add_directive(view)
    return builder.response


def _view(voice: Voice, outcome: Outcome) -> RenderDocumentDirective | None:
    """What a screen shows: the checklist when it was asked for, else the current step."""
    state = outcome.state
    if outcome.card == "checklist":
        lines = plain_text(voice.text("card/checklist")).splitlines()
        items = [line[2:] for line in lines if line.startswith("- ")]
        return screen.checklist_directive(title=lines[0], items=items,
                                          disclaimer=lines[-1])
    if not state.in_progress or outcome.hands_over:
        return None
    timer = state.timers[-1] if state.timers else None
    left = to_text(voice.ssml(timer.left_line(state.saved_at))) if timer else None
    # A driver's screen shows no hands-on instruction either, and no buttons: a driver's
    # hands stay on the wheel, and voice does all that the buttons would.
    shown = Line("car/hold") if state.driving else _instruction(voice, state)
    buttons = () if state.driving else tuple(
        screen.Button(voice.text(BUTTON_LABELS[action]), action)
        for action in screen.STEP_BUTTONS)
    return screen.step_directive(
        number=state.step, total=voice.context["total"], title=voice.text("screen/title"),
        instruction=to_text(voice.ssml(shown)), timer=left, progress=voice.text("screen/progress"),
        buttons=buttons,
    )


# The words on each of the step view's buttons (skill/templates/<lang>/screen/button_*.txt).
BUTTON_LABELS = {
    screen.PREVIOUS: "screen/button_back",
    screen.REPEAT: "screen/button_repeat",
    screen.NEXT: "screen/button_next",
}


def _instruction(voice: Voice, state: State) -> Line:
    """The step's instruction; before the pain question is answered, the question instead."""
    if state.pending is Question.PAIN_GATE:
        return Line("gate/ask")
    return Line(f"step/{voice.context['step']}")


PERMISSION_REQUEST: dict[str, object] = {
    "@type": "AskForPermissionsConsentRequest",
    "@version": "2",
    "permissionScopes": [
        {"permissionScope": TIMERS_SCOPE, "consentLevel": "ACCOUNT"}
    ],
}


def _card(voice: Voice, outcome: Outcome) -> SimpleCard:
    if outcome.card == "step":
        instruction = to_text(voice.ssml(_instruction(voice, outcome.state)))
        text = voice.text("card/step", instruction=instruction)
    else:
        text = voice.text(f"card/{outcome.card}")
    title, _, body = plain_text(text).partition("\n")
    return SimpleCard(title=title.strip(), content=body.strip())


def plain_text(text: str) -> str:
    """A card's or a screen's text as a person reads it, line breaks kept.

    Card templates share speech macros (the emergency number is spoken digit by digit), so
    their text can carry SSML tags and XML entities; neither may reach a card or a screen."""
    return "\n".join(to_text(line) for line in text.splitlines())
