"""One turn of the conversation: load the state, advance the routine, save, answer.

This is the only place that joins the ASK request to the pure routine and the templates;
handlers only say which event a request is.
"""

from __future__ import annotations

from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_model import Response
from ask_sdk_model.ui import SimpleCard

from skill.routine import Event, Line, Outcome, Routine, State, advance, load_routine
from skill.speech import DEFAULT_LOCALE, Voice, to_text

# The session attribute that carries the routine's state from turn to turn.
STATE_KEY = "routine"


def converse(handler_input: HandlerInput, event: Event) -> Response:
    """Answer one request: the routine decides, the templates speak."""
    routine = load_routine()
    state = load_state(handler_input, routine)
    outcome = advance(state, event, routine)
    session_attributes(handler_input)[STATE_KEY] = outcome.state.to_dict()
    return present(handler_input, outcome, routine)


def load_state(handler_input: HandlerInput, routine: Routine) -> State:
    envelope = handler_input.request_envelope
    raw: Any = session_attributes(handler_input).get(STATE_KEY)
    state = State.from_dict(raw, routine)
    session = envelope.session
    if session is None or session.new:
        state = state.new_session()
    return state


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
        shown = Line("gate/ask") if outcome.state.pending else Line(f"step/{voice.context['step']}")
        instruction = to_text(voice.ssml(shown))
        text = voice.text("card/step", instruction=instruction)
    else:
        text = voice.text(f"card/{outcome.card}")
    title, _, body = text.partition("\n")
    return SimpleCard(title=title.strip(), content=body.strip())
