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
from dataclasses import replace
from datetime import datetime
from typing import Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill.memory import VERSION_KEY, StoreConflict, StoreError
from skill.routine import Event, Forget, Line, Outcome, Routine, State, advance, load_routine
from skill.speech import DEFAULT_LOCALE, Voice, to_text

log = logging.getLogger(__name__)

# The session attribute, and the stored record's key, that carry the routine's state.
STATE_KEY = "routine"
# How often a turn is replayed after a conflicting save before the session's answer stands.
MAX_ATTEMPTS = 3


class Conversation:
    """Answers requests for one skill: its routine, and (optionally) a per-user store."""

    def __init__(self, store: AbstractPersistenceAdapter | None = None,
                 routine: Routine | None = None) -> None:
        self.store = store
        self.routine = routine or load_routine()

    def reply(self, handler_input: HandlerInput, event: Event) -> Response:
        """Answer one request: the routine decides, the templates speak."""
        event = replace(event, at=request_time(handler_input))
        memory = _Memory(handler_input, self.store, self.routine)
        for _attempt in range(MAX_ATTEMPTS):
            outcome = advance(memory.load(), event, self.routine)
            if memory.keep(outcome):
                break
        return present(handler_input, outcome, self.routine)


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
        # (a session that could not reach the store at first learns its version later).
        self.reload = self.new_session or VERSION_KEY not in self.session
        self.conflicted = False

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
        if not self.conflicted:
            return in_session  # the session went on while the store was out of reach
        # Replaying after a conflict: the stored place, this session's own counters.
        return replace(stored, greeted=in_session.greeted, misses=in_session.misses,
                       unclear=in_session.unclear)

    def keep(self, outcome: Outcome) -> bool:
        """Keep the new state; False when another request saved first and the turn must rerun."""
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
            log.info("another request saved first; replaying the turn on its state")
            self.reload = self.conflicted = True
            return False
        except StoreError as error:
            log.warning("memory not saved, the session still has it: %s", error)
        return True


def request_time(handler_input: HandlerInput) -> float:
    """The request's own timestamp (so a replayed or tested request means the same)."""
    stamp = getattr(handler_input.request_envelope.request, "timestamp", None)
    return stamp.timestamp() if isinstance(stamp, datetime) else time.time()


def session_attributes(handler_input: HandlerInput) -> dict[str, Any]:
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
    voice = Voice(locale_of(handler_input), outcome.state, routine)
    spoken = (*outcome.lines, outcome.prompt) if outcome.prompt else outcome.lines
    builder.speak(voice.ssml(*spoken))
    if outcome.prompt is not None:
        builder.ask(voice.ssml(outcome.prompt))
    builder.set_should_end_session(outcome.ends_session)
    if outcome.card is not None:
        builder.set_card(_card(voice, outcome))
    return builder.response


def _card(voice: Voice, outcome: Outcome) -> SimpleCard:
    if outcome.card == "step":
        # Before the pain question is answered, the card shows the question, not the massage.
        step = voice.context["step"]
        shown = Line("gate/ask") if outcome.state.pending else Line(f"step/{step}")
        text = voice.text("card/step", instruction=to_text(voice.ssml(shown)))
    else:
        text = voice.text(f"card/{outcome.card}")
    title, _, body = text.partition("\n")
    return SimpleCard(title=title.strip(), content=body.strip())
