"""Everything else: the fallback intent, unknown requests, and errors."""

from __future__ import annotations

import logging

from ask_sdk_core.dispatch_components import AbstractExceptionHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import get_request_type, is_request_type
from ask_sdk_model import Response

from skill.conversation import Conversation
from skill.handlers.base import ConversationHandler, IntentFamily, always
from skill.routine import Ev, Event

log = logging.getLogger(__name__)


class FallbackIntents(IntentFamily):
    intents = {"AMAZON.FallbackIntent": always(Ev.FALLBACK)}


class SystemExceptionHandler(ConversationHandler):
    """Alexa reports that a response of ours failed: log it; Alexa takes no answer to this."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("System.ExceptionEncountered")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        error = getattr(handler_input.request_envelope.request, "error", None)
        log.error("Alexa reported an error with a response: %s", getattr(error, "object_type",
                                                                          None) or error)
        return handler_input.response_builder.response


class UnknownRequestHandler(ConversationHandler):
    """Last in line: an intent or request type the skill has no handler for."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return True

    def handle(self, handler_input: HandlerInput) -> Response:
        log.info("unhandled request type %s", get_request_type(handler_input))
        if is_request_type("IntentRequest")(handler_input):
            return self.conversation.reply(handler_input, Event(Ev.FALLBACK))
        return self.conversation.reply(handler_input, Event(Ev.WHERE_AM_I))


class ErrorHandler(AbstractExceptionHandler):
    """Anything that raised: apologise briefly, say where the runner is, keep going."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation

    def can_handle(self, handler_input: HandlerInput, exception: Exception) -> bool:
        return True

    def handle(self, handler_input: HandlerInput, exception: Exception) -> Response:
        # Request type only: user and device ids must not reach the logs at INFO.
        log.error("error handling %s", get_request_type(handler_input), exc_info=exception)
        return self.conversation.apologise(handler_input)
