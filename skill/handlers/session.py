"""Opening, leaving and pausing a session."""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.handlers.base import ConversationHandler, IntentFamily, always
from skill.routine import Ev, Event


class LaunchHandler(ConversationHandler):
    """"Alexa, open cramp coach": straight to the first instruction."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.conversation.reply(handler_input, Event(Ev.LAUNCH))


class SessionEndedHandler(ConversationHandler):
    """The session closed (silence, "exit", an error): keep the place, say nothing."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("SessionEndedRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        return self.conversation.reply(handler_input, Event(Ev.SESSION_ENDED))


class SessionIntents(IntentFamily):
    intents = {
        "StartRoutineIntent": always(Ev.START),
        "AMAZON.StopIntent": always(Ev.STOP),
        "AMAZON.CancelIntent": always(Ev.STOP),
        "AMAZON.NavigateHomeIntent": always(Ev.STOP),
        "AMAZON.PauseIntent": always(Ev.PAUSE),
        "AMAZON.ResumeIntent": always(Ev.RESUME),
        "ForgetMeIntent": always(Ev.FORGET),
    }
