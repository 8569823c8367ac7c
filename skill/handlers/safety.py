"""Pain, warning signs and emergencies: these can interrupt any step."""

from __future__ import annotations

from ask_sdk_core.handler_input import HandlerInput

from skill.handlers.base import IntentFamily, always, slot_id
from skill.routine import Ev, Event


def _red_flag(handler_input: HandlerInput) -> Event:
    # A sign Alexa could not resolve (ER_SUCCESS_NO_MATCH) arrives as None: the routine asks.
    return Event(Ev.RED_FLAG, slot_id(handler_input, "symptom"))


class SafetyIntents(IntentFamily):
    intents = {
        "EmergencyIntent": always(Ev.EMERGENCY),
        "HurtsMoreIntent": always(Ev.HURTS_MORE),
        "RedFlagIntent": _red_flag,
        "KeepMassagingIntent": always(Ev.KEEP_MASSAGING),
    }
