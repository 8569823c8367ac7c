"""Builds the skill: one factory for every entry point (Lambda, web service, console)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, Literal, cast

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import SerializationException
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_core.skill import CustomSkill
from ask_sdk_core.skill_builder import CustomSkillBuilder
from ask_sdk_model import RequestEnvelope

from skill.conversation import Conversation, Observer, TimerServiceFor
from skill.handlers.answers import AnswerIntents
from skill.handlers.base import ConversationHandler
from skill.handlers.fallback import (
    ErrorHandler,
    FallbackIntents,
    SystemExceptionHandler,
    UnknownRequestHandler,
)
from skill.handlers.info import InfoIntents
from skill.handlers.name_free import CanFulfillHandler
from skill.handlers.navigation import NavigationIntents
from skill.handlers.safety import SafetyIntents
from skill.handlers.session import LaunchHandler, SessionEndedHandler, SessionIntents
from skill.handlers.situations import SituationIntents
from skill.handlers.timers import PermissionAnswerHandler, TimerIntents
from skill.handlers.touch import TouchHandler
from skill.memory import store_for
from skill.settings import Settings

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


def build_skill(
    settings: Settings | None = None,
    *,
    store: AbstractPersistenceAdapter | None | Literal["from settings"] = "from settings",
    api_client: Any = None,
    timer_service: TimerServiceFor | None = None,
    observe: Observer | None = None,
) -> CustomSkill:
    """The Cramp Coach skill, configured by `settings` (default: read from the environment).

    `store` replaces the settings' store (None: the session only); `timer_service` and
    `observe` are seams for tools and tests (an in-process Timers API; the outcomes chosen).
    """
    settings = settings or Settings.from_env()
    conversation = Conversation(
        store=store_for(settings) if store == "from settings" else store,
        timer_service=timer_service or _timer_service(settings), observe=observe)
    # No API client at start: the Timers API's own (with timeouts) is made when first needed.
    builder = CustomSkillBuilder(api_client=api_client)
    # First, and apart from the conversation: asking whether the skill could answer a request
    # must never read or change the user's state.
    builder.add_request_handler(CanFulfillHandler())
    for handler in REQUEST_HANDLERS:
        builder.add_request_handler(handler(conversation))
    builder.add_exception_handler(ErrorHandler(conversation))
    # The SDK's type comment declares skill_id as None only; it takes the id string.
    builder.skill_id = settings.skill_id  # type: ignore[assignment]
    skill = builder.create()
    # The SDK's serializer, made cheaper (see EnvelopeSerializer): the web service serializes
    # responses with it, and the SDK's service clients (the Timers API) use it too.
    skill.serializer = _serializer
    return skill


def _timer_service(settings: Settings) -> TimerServiceFor | None:
    """The Timers API on the process's one HTTPS client, with the settings' CA bundle."""
    if settings.ca_bundle is None:
        return None  # the default: built on first use with the system's trust store

    def service(handler_input: Any) -> Any:
        from skill import timers  # lazy: http.client and ssl only when a timer is set

        return timers.TimerService.from_handler_input(
            handler_input, api_client=timers.default_api_client(settings.ca_bundle))

    return service


class EnvelopeSerializer(DefaultSerializer):
    """The SDK's serializer, with the two costliest steps of reading an envelope made cheap.

    Both override the SDK's private (name-mangled) methods, whose results they keep exactly;
    should a later SDK rename them, these are simply not called and the SDK's own run.

    - Timestamps: the SDK hands every date-time to dateutil's free-form parser, a third of
      deserializing an envelope. Alexa sends one form, ``2026-12-02T01:00:00Z``; that form is
      read directly, into the instant dateutil reads from it, in dateutil's UTC (dateutil
      itself answers with its local zone when the machine's zone is named UTC, as on Lambda:
      equal, with the same offset, timestamp and ISO form), and anything else still goes to
      dateutil.
    - Model classes: the SDK resolves each class name with ``__import__`` on every object of
      every request; a resolved name is kept.
    - Responses: ``serialize`` is the SDK's, case by case in the same order, except that a
      model class's (attribute, JSON key) pairs are worked out once per class instead of for
      every object of every response (the SDK rebuilt its attribute map each time).
    """

    _classes: dict[str, Any] = {}
    _keys: dict[type, tuple[tuple[str, str], ...]] = {}

    def serialize(self, obj: Any) -> Any:
        if obj is None:
            return None
        if isinstance(obj, self.PRIMITIVE_TYPES):
            return obj
        if isinstance(obj, list):
            return [self.serialize(item) for item in obj]
        if isinstance(obj, tuple):
            return tuple(self.serialize(item) for item in obj)
        if isinstance(obj, datetime | date):
            return obj.isoformat()
        if isinstance(obj, Enum):
            return obj.value
        if isinstance(obj, Decimal):
            return int(obj) if obj % 1 == 0 else float(obj)
        if isinstance(obj, dict):
            return {key: self.serialize(value) for key, value in obj.items()}
        keys = self._keys.get(type(obj))
        if keys is None or obj.deserialized_types is not type(obj).deserialized_types:
            # The SDK's rule: a type's own JSON name where attribute_map has one, else its name.
            names = getattr(obj, "attribute_map", {})
            keys = tuple((attr, names.get(attr, attr)) for attr in obj.deserialized_types)
            if obj.deserialized_types is getattr(type(obj), "deserialized_types", None):
                self._keys[type(obj)] = keys
        serialized = {}
        for attr, key in keys:
            value = getattr(obj, attr)
            if value is not None:
                serialized[key] = self.serialize(value)
        return serialized

    def _DefaultSerializer__deserialize_datetime(self, payload: Any, obj_type: Any) -> Any:
        if obj_type is datetime and isinstance(payload, str) and _ALEXA_TIME.fullmatch(payload):
            from dateutil.tz import UTC  # loaded with dateutil's parser, which the SDK needs

            try:
                return datetime(int(payload[0:4]), int(payload[5:7]), int(payload[8:10]),
                                int(payload[11:13]), int(payload[14:16]), int(payload[17:19]),
                                tzinfo=UTC)
            except ValueError:
                pass  # no such day or time (February 30th): dateutil says how the SDK reports it
        return super()._DefaultSerializer__deserialize_datetime(  # type: ignore[misc]
            payload, obj_type)

    def _DefaultSerializer__load_class_from_name(self, class_name: str) -> Any:
        found = self._classes.get(class_name)
        if found is None:
            found = super()._DefaultSerializer__load_class_from_name(  # type: ignore[misc]
                class_name)
            self._classes[class_name] = found
        return found


# Alexa's request timestamps: ISO 8601 in UTC, to the second. ASCII digits only (\d would take
# other scripts' digits, which int() reads but dateutil may not).
_ALEXA_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
_serializer = EnvelopeSerializer()
log = logging.getLogger(__name__)
# The intent name given to a request the SDK cannot deserialize (no handler claims it).
UNREADABLE_REQUEST = "CrampCoach.UnreadableRequest"


class NotAnEnvelope(ValueError):
    """The input is not an Alexa request envelope at all (no request object with a type)."""


#: Alexa's envelopes are about a dozen levels deep. The SDK deep-copies session attributes
#: (AttributesManager), which raises RecursionError a few hundred levels down: deeper input
#: is not an envelope Alexa sent.
MAX_ENVELOPE_DEPTH = 64


def nesting_depth(value: object, limit: int) -> int:
    """How deeply `value` nests lists and objects, counted no further than limit + 1.

    Iterative, so that it cannot itself run out of stack on the input it guards against."""
    deepest = 0
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > limit:
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def event_handler(skill: CustomSkill) -> EventHandler:
    """A Lambda-style function: Alexa's request JSON (as a dict) in, the response dict out."""

    def handle(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
        envelope = read_envelope(event)
        response = skill.invoke(request_envelope=envelope, context=context)
        return cast(dict[str, Any], _serializer.serialize(response))

    return handle


def read_envelope(event: object) -> RequestEnvelope:
    """The one policy for what reaches the skill, whichever entry point it came through.

    Not an envelope at all (not an object, no request with a type): NotAnEnvelope, which the
    web endpoint answers 400 and the Lambda reports as a failed invocation. An envelope the
    SDK cannot represent (a request type or a value newer than the SDK, say): a stand-in
    request, answered as input the skill did not understand (a session that ended for a
    reason newer than the SDK still just ended), instead of failing the whole turn.
    """
    if not isinstance(event, dict):
        raise NotAnEnvelope("the request is not a JSON object")
    raw = event.get("request")
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str):
        raise NotAnEnvelope("the envelope has no request with a type")
    if nesting_depth(event, MAX_ENVELOPE_DEPTH) > MAX_ENVELOPE_DEPTH:
        raise NotAnEnvelope(f"the envelope is nested over {MAX_ENVELOPE_DEPTH} levels deep")
    try:
        return _serializer.deserialize(json.dumps(event), RequestEnvelope)
    except (SerializationException, TypeError, ValueError, RecursionError):
        log.info("request the SDK cannot read: %s", raw["type"][:80])
    if raw["type"] == "LaunchRequest" and "task" in raw:
        # A task the SDK cannot read (not an object) is no task of ours: still a launch.
        return read_envelope({**event, "request": {k: v for k, v in raw.items() if k != "task"}})
    known: dict[str, Any] = {k: raw[k] for k in ("requestId", "timestamp", "locale")
                             if isinstance(raw.get(k), str)}
    if "timestamp" in known and not _is_iso_time(known["timestamp"]):
        del known["timestamp"]  # "yesterday" would fail the stand-in too
    ended = raw["type"] == "SessionEndedRequest"
    stand_in: dict[str, Any] = {**known, "type": "SessionEndedRequest"} if ended else {
        **known, "type": "IntentRequest", "intent": {"name": UNREADABLE_REQUEST}}
    readable = {k: event[k] for k in ("version", "context") if isinstance(event.get(k), dict)}
    session = event.get("session")
    if isinstance(session, dict):
        readable["session"] = session
    try:
        return _serializer.deserialize(json.dumps({**readable, "request": stand_in}),
                                       RequestEnvelope)
    except (SerializationException, TypeError, ValueError, RecursionError):
        # The session or context is what the SDK cannot read: answer without them.
        return _serializer.deserialize(json.dumps({"version": "1.0", "request": stand_in}),
                                       RequestEnvelope)


def _is_iso_time(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True
