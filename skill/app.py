"""Builds the skill: one factory for every entry point (Lambda, web service, console)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model import RequestEnvelope

from skill.handlers.answers import AnswerIntents
from skill.handlers.fallback import ErrorHandler, FallbackIntents, UnknownRequestHandler
from skill.handlers.info import InfoIntents
from skill.handlers.navigation import NavigationIntents
from skill.handlers.safety import SafetyIntents
from skill.handlers.session import LaunchHandler, SessionEndedHandler, SessionIntents

# Order matters only for the last one, which takes whatever nothing else did.
HANDLERS = (
    LaunchHandler(),
    SessionEndedHandler(),
    SessionIntents(),
    NavigationIntents(),
    AnswerIntents(),
    SafetyIntents(),
    InfoIntents(),
    FallbackIntents(),
    UnknownRequestHandler(),
)

EventHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def build_skill(
    *, persistence_adapter: Any = None, api_client: Any = None, skill_id: str | None = None
) -> CustomSkill:
    """The Cramp Coach skill, with its handlers, interceptors and adapters."""
    builder = CustomSkillBuilder(persistence_adapter=persistence_adapter, api_client=api_client)
    for handler in HANDLERS:
        builder.add_request_handler(handler)
    builder.add_exception_handler(ErrorHandler())
    # The SDK's type comment declares skill_id as None only; it takes the id string.
    builder.skill_id = skill_id  # type: ignore[assignment]
    return builder.create()


_serializer = DefaultSerializer()


def event_handler(skill: CustomSkill) -> EventHandler:
    """A Lambda-style function: Alexa's request JSON (as a dict) in, the response dict out."""

    def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        envelope = _serializer.deserialize(json.dumps(event), RequestEnvelope)
        response = skill.invoke(request_envelope=envelope, context=context)
        return cast(dict[str, Any], _serializer.serialize(response))

    return handle
