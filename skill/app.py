"""Builds the skill: one factory for every entry point (Lambda, web service, console)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any, cast

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model import RequestEnvelope

from skill.conversation import Conversation
from skill.handlers.answers import AnswerIntents
from skill.handlers.base import ConversationHandler
from skill.handlers.fallback import (
    ErrorHandler,
    FallbackIntents,
    SystemExceptionHandler,
    UnknownRequestHandler,
)
from skill.handlers.info import InfoIntents
from skill.handlers.navigation import NavigationIntents
from skill.handlers.safety import SafetyIntents
from skill.handlers.session import LaunchHandler, SessionEndedHandler, SessionIntents
from skill.handlers.situations import SituationIntents
from skill.handlers.timers import PermissionAnswerHandler, TimerIntents
from skill.handlers.touch import TouchHandler
from skill.memory import store_from_env

# In the order they are asked; only the last one's place matters: it takes what nobody did.
REQUEST_HANDLERS: tuple[type[ConversationHandler], ...] = (
    LaunchHandler,
    SessionEndedHandler,
    SessionIntents,
    NavigationIntents,
    TouchHandler,
    AnswerIntents,
    SafetyIntents,
    TimerIntents,
    PermissionAnswerHandler,
    SituationIntents,
    InfoIntents,
    FallbackIntents,
    SystemExceptionHandler,
    UnknownRequestHandler,
)

EventHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

_FROM_ENV: Any = object()  # "use the store the environment names"


def build_skill(
    *,
    store: AbstractPersistenceAdapter | None = _FROM_ENV,
    api_client: Any = None,
    skill_id: str | None = None,
) -> CustomSkill:
    """The Cramp Coach skill. `store` defaults to the environment's (SQLite or DynamoDB)."""
    conversation = Conversation(store=store_from_env() if store is _FROM_ENV else store)
    # No API client at start: the Timers API's own (with timeouts) is made when first needed.
    builder = CustomSkillBuilder(api_client=api_client)
    for handler in REQUEST_HANDLERS:
        builder.add_request_handler(handler(conversation))
    builder.add_exception_handler(ErrorHandler(conversation))
    # The SDK's type comment declares skill_id as None only; it takes the id string.
    builder.skill_id = skill_id  # type: ignore[assignment]
    return builder.create()


_serializer = DefaultSerializer()
log = logging.getLogger(__name__)
# The intent name given to a request the SDK cannot deserialize (no handler claims it).
UNREADABLE_REQUEST = "CrampCoach.UnreadableRequest"


def event_handler(skill: CustomSkill) -> EventHandler:
    """A Lambda-style function: Alexa's request JSON (as a dict) in, the response dict out."""

    def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        envelope = _envelope(event)
        response = skill.invoke(request_envelope=envelope, context=context)
        return cast(dict[str, Any], _serializer.serialize(response))

    return handle


def _envelope(event: dict[str, Any]) -> RequestEnvelope:
    """The SDK's envelope for an event; a request the SDK cannot represent (a type or value
    newer than the SDK, say) becomes an intent nobody handles, so it is answered as input the
    skill did not understand instead of failing the whole invocation."""
    try:
        return _serializer.deserialize(json.dumps(event), RequestEnvelope)
    except SerializationException:
        raw = event.get("request")
        request: dict[str, Any] = raw if isinstance(raw, dict) else {}
        log.info("request type the SDK cannot read: %s", str(request.get("type"))[:80])
        known: dict[str, Any] = {
            k: request[k] for k in ("requestId", "timestamp", "locale") if k in request}
        # A session that ended for a reason newer than the SDK still just ended: no speech.
        ended = request.get("type") == "SessionEndedRequest"
        stand_in: dict[str, Any] = {**known, "type": "SessionEndedRequest"} if ended else {
            **known, "type": "IntentRequest", "intent": {"name": UNREADABLE_REQUEST}}
        return _serializer.deserialize(json.dumps({**event, "request": stand_in}),
                                       RequestEnvelope)
