"""Touch: a button pressed on a screen, as an Alexa.Presentation.APL.UserEvent request."""

from __future__ import annotations

from typing import Any

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill import screen
from skill.handlers.base import ConversationHandler
from skill.routine import Ev, Event

USER_EVENT = "Alexa.Presentation.APL.UserEvent"

# A button's action (its SendEvent's first argument, skill/screen.py) -> the event the same
# words would be: pressing Next is saying "next".
ACTIONS = {
    screen.NEXT: Ev.NEXT,
    screen.PREVIOUS: Ev.PREVIOUS,
    screen.REPEAT: Ev.REPEAT,
}


class TouchHandler(ConversationHandler):
    """A press on the step view's Next, Back or Repeat: the same turn as saying it.

    Anything else a screen may send (no arguments, an action this skill never gave a button,
    an event from an older document) answers where the runner is: a touch is never an error.
    """

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type(USER_EVENT)(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        action = first_argument(handler_input)
        kind = ACTIONS.get(action, Ev.WHERE_AM_I) if isinstance(action, str) else Ev.WHERE_AM_I
        return self.conversation.reply(handler_input, Event(kind))


def first_argument(handler_input: HandlerInput) -> Any:
    """The SendEvent's first argument, or None when it sent none."""
    arguments = getattr(handler_input.request_envelope.request, "arguments", None)
    return arguments[0] if isinstance(arguments, list) and arguments else None
