"""Timer talk, and Alexa's answer to the timers permission question."""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response

from skill.handlers.base import ConversationHandler, IntentFamily, always, slot_value
from skill.routine import Ev, Event, PermissionAnswer


def _minutes(handler_input: HandlerInput) -> Event:
    """"Twenty", "make it twenty minutes", "PT20M": the minutes asked for, if any."""
    number = slot_value(handler_input, "minutes")
    if number and number.isdigit():
        return Event(Ev.SET_TIMER, str(int(number)))
    duration = slot_value(handler_input, "duration")
    # Imported here: the Timers client's module would otherwise load on every cold start.
    from skill.timers import parse_iso_duration

    seconds = parse_iso_duration(duration) if duration else None
    return Event(Ev.SET_TIMER, str(round(seconds / 60)) if seconds else None)


class TimerIntents(IntentFamily):
    intents = {
        "SetTimerIntent": _minutes,
        "TimerLeftIntent": always(Ev.TIMER_LEFT),
        "CancelTimerIntent": always(Ev.CANCEL_TIMER),
        "PauseTimerIntent": always(Ev.PAUSE_TIMER),
        "ResumeTimerIntent": always(Ev.RESUME_TIMER),
    }


# Connections.Response payload status -> what the routine hears.
_PERMISSION: dict[str, PermissionAnswer] = {
    "ACCEPTED": "accepted", "DENIED": "denied", "NOT_ANSWERED": "not_answered"}


class PermissionAnswerHandler(ConversationHandler):
    """Connections.Response to the AskFor permission request: accepted, denied or no answer."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("Connections.Response")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        request = handler_input.request_envelope.request
        code = str(getattr(getattr(request, "status", None), "code", ""))
        payload = getattr(request, "payload", None)
        payload = payload if isinstance(payload, dict) else {}
        answer = _PERMISSION.get(str(payload.get("status")), "error") if code == "200" else "error"
        thrown = payload.get("isCardThrown") is True  # Alexa already sent the consent card
        return self.conversation.reply(
            handler_input, Event(Ev.PERMISSION, answer, card_thrown=thrown))
