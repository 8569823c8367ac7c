"""Alexa's side of the wire: real request envelopes, a session carried from turn to turn.

The console and the tests both talk to the skill through this, as JSON dicts, so that
every turn crosses the same wire format a device's request would.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from skill.permissions import PERMISSION_TOKEN, TIMERS_SCOPE
from skill.speech import to_text

Send = Callable[[dict[str, Any]], dict[str, Any]]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)

APPLICATION_ID = "amzn1.ask.skill.00000000-0000-0000-0000-cramp0coach00"


@dataclass(frozen=True)
class Slot:
    """A slot as Alexa fills it: what was heard and, for custom types, the id it resolved to."""

    value: str | None
    resolved_id: str | None = None
    custom_type: str | None = None  # set for custom slot types, which carry resolutions


@dataclass(frozen=True)
class Reply:
    """A response from the skill, read the way a listener and the Alexa app would see it.

    `outcome`, when the skill was run in process with an observer (the tests), is what the
    routine chose: its `keys` are the template keys spoken, in order, the prompt's last."""

    raw: Mapping[str, Any]
    outcome: Any = None  # skill.routine.Outcome

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.outcome.keys) if self.outcome is not None else ()

    @property
    def state(self) -> dict[str, Any]:
        """The routine's state the reply carries ({} when it carries none)."""
        state = self.attributes.get("routine")
        return state if isinstance(state, dict) else {}

    @property
    def response(self) -> Mapping[str, Any]:
        return self.raw.get("response") or {}

    @property
    def ssml(self) -> str:
        return str((self.response.get("outputSpeech") or {}).get("ssml", ""))

    @property
    def speech(self) -> str:
        return to_text(self.ssml)

    @property
    def reprompt_ssml(self) -> str:
        reprompt = self.response.get("reprompt") or {}
        return str((reprompt.get("outputSpeech") or {}).get("ssml", ""))

    @property
    def reprompt(self) -> str:
        return to_text(self.reprompt_ssml)

    @property
    def card(self) -> Mapping[str, Any] | None:
        return self.response.get("card")

    @property
    def directives(self) -> list[Mapping[str, Any]]:
        return list(self.response.get("directives") or [])

    @property
    def ends_session(self) -> bool:
        return self.response.get("shouldEndSession") is not False and not self.hands_over

    @property
    def hands_over(self) -> bool:
        """The skill handed the next turn to Alexa (the permission question)."""
        return any(d.get("type") == "Connections.SendRequest" for d in self.directives)

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self.raw.get("sessionAttributes") or {})


@dataclass
class Device:
    """What a request's context says about the device and the user."""

    user_id: str = "amzn1.ask.account.TESTUSER"
    device_id: str = "amzn1.ask.device.TESTDEVICE"
    api_endpoint: str = "https://api.amazonalexa.com"
    api_access_token: str = "test-access-token"
    interfaces: dict[str, Any] = field(default_factory=dict)
    extra_context: dict[str, Any] = field(default_factory=dict)  # e.g. {"Automotive": {}}

    @classmethod
    def of_kind(cls, kind: str, **fields: Any) -> Device:
        """A speaker, a screen (APL) or a car (context.Automotive), as the request shows it."""
        if kind == "screen":
            fields.setdefault("interfaces", {"Alexa.Presentation.APL": {
                "runtime": {"maxVersion": "2023.3"}}})
        elif kind == "car":
            fields.setdefault("extra_context", {"Automotive": {}})
        elif kind != "speaker":
            raise ValueError(f"unknown device kind {kind!r}")
        return cls(**fields)

    def context(self) -> dict[str, Any]:
        return {
            "System": {
                "application": {"applicationId": APPLICATION_ID},
                "user": {"userId": self.user_id},
                "device": {"deviceId": self.device_id, "supportedInterfaces": self.interfaces},
                "apiEndpoint": self.api_endpoint,
                "apiAccessToken": self.api_access_token,
            },
            **self.extra_context,
        }


class Alexa:
    """Plays Alexa for one user: opens sessions, sends requests, keeps session attributes."""

    def __init__(self, send: Send, *, locale: str = "en-US", device: Device | None = None,
                 clock: Clock = utc_now,
                 outcome_of: Callable[[str], Any] | None = None) -> None:
        """`outcome_of(request_id)`: what the skill chose for a request, when it can be seen
        (the skill in process, with an observer): it becomes the reply's `outcome`."""
        self.send = send
        self.outcome_of = outcome_of
        self.locale = locale
        self.device = device or Device()
        self.clock = clock
        self.session_id: str | None = None
        self.attributes: dict[str, Any] = {}
        self.last: Reply | None = None

    @property
    def in_session(self) -> bool:
        return self.session_id is not None

    def launch(self, task: Any = None) -> Reply:
        """"Open cramp coach"; with a `task` ({name, version, input}), the launch a timer's
        "continue with Cramp Coach?" answered yes sends (tests may send any JSON there).
        Always a new session."""
        self.session_id = None
        request: dict[str, Any] = {"type": "LaunchRequest"}
        if task is not None:
            request["task"] = task
        return self._send(request)

    def can_fulfill(self, name: str, slots: Mapping[str, Slot | str] | None = None) -> Reply:
        """A CanFulfillIntentRequest: could the skill answer this request, named by no one?
        Alexa asks it outside any session of the user's: the session in progress, if any, is
        neither sent nor changed."""
        session, attributes, last = self.session_id, self.attributes, self.last
        self.session_id = None
        try:
            return self._send({
                "type": "CanFulfillIntentRequest",
                "intent": {"name": name, "confirmationStatus": "NONE",
                           "slots": _slots(slots or {})},
            }, keep=False)
        finally:
            self.session_id, self.attributes, self.last = session, attributes, last

    def intent(self, name: str, slots: Mapping[str, Slot | str] | None = None) -> Reply:
        """An IntentRequest; outside a session it opens one, as a one-shot request would."""
        return self._send({
            "type": "IntentRequest",
            "dialogState": "COMPLETED",
            "intent": {"name": name, "confirmationStatus": "NONE",
                       "slots": _slots(slots or {})},
        })

    def end_session(self, reason: str = "USER_INITIATED") -> Reply | None:
        """Alexa closing the session (silence after the reprompt, "exit", an error)."""
        if not self.in_session:
            return None
        request: dict[str, Any] = {"type": "SessionEndedRequest", "reason": reason}
        if reason == "ERROR":
            request["error"] = {"type": "INTERNAL_SERVICE_ERROR", "message": "test"}
        reply = self._send(request)
        self._close()
        return reply

    def request(self, request: Mapping[str, Any]) -> Reply:
        """Any other request type, in the current session."""
        return self._send(dict(request))

    def permission_answer(self, status: str = "DENIED", *, card_thrown: bool = False) -> Reply:
        """Alexa's Connections.Response after it asked for the timers permission itself."""
        return self.request({
            "type": "Connections.Response", "name": "AskFor",
            "status": {"code": "200", "message": "OK"},
            "payload": {"permissionScope": TIMERS_SCOPE, "status": status,
                        "isCardThrown": card_thrown},
            "token": PERMISSION_TOKEN,
        })

    def _send(self, request: dict[str, Any], *, keep: bool = True) -> Reply:
        """Send one request in the session (a new one if none is open); `keep=False`: the
        reply changes nothing Alexa holds (CanFulfillIntentRequest)."""
        new = self.session_id is None
        if new:
            self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
            self.attributes = {}
        request.setdefault("requestId", f"amzn1.echo-api.request.{uuid.uuid4()}")
        request.setdefault("timestamp", self.clock().strftime("%Y-%m-%dT%H:%M:%SZ"))
        request.setdefault("locale", self.locale)
        envelope = {
            "version": "1.0",
            "session": {
                "new": new,
                "sessionId": self.session_id,
                "application": {"applicationId": APPLICATION_ID},
                "attributes": self.attributes,
                "user": {"userId": self.device.user_id},
            },
            "context": self.device.context(),
            "request": request,
        }
        # Through JSON both ways, as on the wire.
        raw = json.loads(json.dumps(self.send(json.loads(json.dumps(envelope)))))
        reply = Reply(raw, self.outcome_of(request["requestId"]) if self.outcome_of else None)
        if not keep:
            return reply
        self.last = reply
        if request["type"] == "SessionEndedRequest":
            return reply
        if reply.ends_session:
            self._close()
        else:
            self.attributes = reply.attributes
        return reply

    def _close(self) -> None:
        self.session_id = None
        self.attributes = {}


def _slots(slots: Mapping[str, Slot | str]) -> dict[str, Any]:
    wire: dict[str, Any] = {}
    for name, slot in slots.items():
        slot = slot if isinstance(slot, Slot) else Slot(slot)
        entry: dict[str, Any] = {"name": name, "confirmationStatus": "NONE"}
        if slot.value is not None:
            entry["value"] = slot.value
        if slot.custom_type and slot.value is not None:
            authority = f"amzn1.er-authority.echo-sdk.{APPLICATION_ID}.{slot.custom_type}"
            if slot.resolved_id:
                status, values = "ER_SUCCESS_MATCH", [
                    {"value": {"name": slot.value, "id": slot.resolved_id}}
                ]
            else:
                status, values = "ER_SUCCESS_NO_MATCH", []
            entry["resolutions"] = {"resolutionsPerAuthority": [
                {"authority": authority, "status": {"code": status}, "values": values}
            ]}
        wire[name] = entry
    return wire
