"""Moving through the steps: next, back, repeat, jump, where am I."""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput

from skill.handlers.base import IntentFamily, always, slot_value, step_number
from skill.routine import Ev, Event


def _go_to(handler_input: HandlerInput) -> Event:
    heard = slot_value(handler_input, "number") or slot_value(handler_input, "ordinal")
    return Event(Ev.GO_TO, step_number(heard))


class NavigationIntents(IntentFamily):
    intents = {
        "AMAZON.NextIntent": always(Ev.NEXT),
        "AMAZON.PreviousIntent": always(Ev.PREVIOUS),
        "AMAZON.RepeatIntent": always(Ev.REPEAT),
        "AMAZON.StartOverIntent": always(Ev.START_OVER),
        "GoToStepIntent": _go_to,
        "WhereAmIIntent": always(Ev.WHERE_AM_I),
        "StepsLeftIntent": always(Ev.STEPS_LEFT),
        "SkipIntent": always(Ev.SKIP),
        "CantDoIntent": always(Ev.CANT_DO),
        "MoreDetailIntent": always(Ev.MORE),
    }
