"""The one handler shape: declared intents, each turned into a routine event."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.conversation import Conversation
from skill.routine import Ev, Event

EventOf = Callable[[HandlerInput], Event]


def always(kind: Ev) -> EventOf:
    """An event that needs nothing from the request."""
    return lambda _handler_input: Event(kind)


class ConversationHandler(AbstractRequestHandler):
    """A handler that turns its requests into events for the conversation."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation


class IntentFamily(ConversationHandler):
    """Handles exactly the intents in `intents`, each mapped to the event it means."""

    intents: ClassVar[Mapping[str, EventOf]] = {}

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return intent_name(handler_input) in self.intents

    def handle(self, handler_input: HandlerInput) -> Response:
        event = self.intents[str(intent_name(handler_input))](handler_input)
        return self.conversation.reply(handler_input, event)


def intent_name(handler_input: HandlerInput) -> str | None:
    """The intent's name, or None (not an IntentRequest, or one that carries no intent)."""
    if not is_request_type("IntentRequest")(handler_input):
        return None
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    name = getattr(intent, "name", None)
    return name if isinstance(name, str) else None


def _slots(handler_input: HandlerInput) -> dict[str, Any]:
    intent = getattr(handler_input.request_envelope.request, "intent", None)
    return getattr(intent, "slots", None) or {}


def slot_value(handler_input: HandlerInput, name: str) -> str | None:
    """The slot's raw value, or None when it is missing or empty."""
    slots = _slots(handler_input)
    slot = slots.get(name)
    value = getattr(slot, "value", None)
    return value.strip() if isinstance(value, str) and value.strip() else None


def slot_id(handler_input: HandlerInput, name: str) -> str | None:
    """The id entity resolution matched for a custom slot, or None when nothing matched."""
    slots = _slots(handler_input)
    resolutions = getattr(slots.get(name), "resolutions", None)
    for authority in getattr(resolutions, "resolutions_per_authority", None) or []:
        code = getattr(getattr(authority.status, "code", None), "value", None)
        if code == "ER_SUCCESS_MATCH" and authority.values:
            return str(authority.values[0].value.id)
    return None


_ORDINAL = re.compile(r"^(\d+)(?:st|nd|rd|th)?$")


def step_number(raw: str | None) -> str | None:
    """A step number as digits ("4", "4th" -> "4"), or what was heard when it is not one.

    Alexa fills a number slot it could not make out with "?": that is no number at all."""
    if raw is None or raw == "?":
        return None
    match = _ORDINAL.match(raw.lower())
    return str(int(match.group(1))) if match else raw
