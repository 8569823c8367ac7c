"""Opening, leaving and pausing a session."""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.handlers.base import ConversationHandler, IntentFamily, always
from skill.routine import Ev, Event
from skill.tasks import launched_by


class LaunchHandler(ConversationHandler):
    """"Alexa, open cramp coach": straight to the first instruction. A timer that brought the
    runner back ("continue with Cramp Coach?" answered yes) sends its task with the launch:
    straight to what that timer's end means. A task that is not ours, or not sound, is a plain
    launch."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("LaunchRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        task = launched_by(handler_input.request_envelope)
        return self.conversation.reply(handler_input, Event(Ev.LAUNCH, task=task))


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
