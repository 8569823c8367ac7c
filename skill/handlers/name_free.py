"""Name-free starts: Alexa asks whether the skill can fulfil a request before sending it.

"Alexa, my calf is cramping" names no skill: Alexa sends a CanFulfillIntentRequest (the intent
and slots it heard) to skills that might answer it, then chooses one. The answer is only that:
YES for what Cramp Coach answers in full, MAYBE where it understands but can do only part of it
or must ask, NO for anything else, with the same per slot. It must have no side effects: the
answer is built here from the request alone, never through the conversation (no memory read or
written, no timer, no words).
"""

from __future__ import annotations

import logging
from enum import Enum
from typing import Any

from ask_sdk_core.dispatch_components import AbstractRequestHandler
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.utils import is_request_type
from ask_sdk_model import Response
from ask_sdk_model.canfulfill import (
    CanFulfillIntent,
    CanFulfillIntentValues,
    CanFulfillSlot,
    CanFulfillSlotValues,
    CanUnderstandSlotValues,
)

log = logging.getLogger(__name__)

YES, NO, MAYBE = "YES", "NO", "MAYBE"

# What the skill does with each intent when it opens the skill by itself.
INTENTS: dict[str, str] = {
    # A cramp, or someone else's: the whole routine.
    "StartRoutineIntent": YES,
    "HelperModeIntent": YES,
    # What it tells anyone who asks.
    "ChecklistIntent": YES,
    "PreventionIntent": YES,
    "OverviewIntent": YES,
    # A warning sign: its advice, the emergency number when it is urgent.
    "RedFlagIntent": YES,
    # "Call an ambulance", "call my doctor": understood, and answered with the number to call,
    # but the skill cannot place a call; Alexa's own calling and emergency features come first.
    "EmergencyIntent": MAYBE,
}


class SlotKind(Enum):
    """What a slot's value means to the skill, by the custom type behind the slot's name."""

    SIGN = "RED_FLAG"  # a warning sign
    MUSCLE = "MUSCLE"  # where the cramp is
    WHO = "PERSON"  # who is being helped (PERSON and POSSESSIVE alike)


# The slots of the intents above, by name (tests/test_can_fulfill.py holds this to the models).
SLOTS: dict[str, SlotKind] = {
    "symptom": SlotKind.SIGN,
    "muscle": SlotKind.MUSCLE,
    "person": SlotKind.WHO,
    "possessive": SlotKind.WHO,
}

Answer = tuple[str, str]  # (canUnderstand, canFulfill) for one slot


def slot_answer(kind: SlotKind | None, resolved: bool | None) -> Answer:
    """One slot that carries a value. `resolved`: entity resolution matched (True), matched
    nothing (False), or did not say (None: a built-in type, or resolution failed)."""
    if resolved is True or kind is None:
        return YES, YES
    if kind is SlotKind.MUSCLE and resolved is False:
        return NO, NO  # a cramp the leg routine is not for ("my arm is cramping")
    # A sign Alexa could not resolve is asked about ("did you hurt it?") and treated as a sign
    # if unclear; an unknown helper changes nothing the routine does.
    return MAYBE, YES


def intent_answer(intent: str, slots: dict[str, Answer]) -> str:
    """The whole request: NO if the intent or any slot is beyond the skill, MAYBE if any part
    is only partly understood, else YES."""
    base = INTENTS.get(intent, NO)
    if base == NO or any(fulfil == NO for _, fulfil in slots.values()):
        return NO
    if base == MAYBE or any(understood != YES for understood, _ in slots.values()):
        return MAYBE
    return YES


class CanFulfillHandler(AbstractRequestHandler):
    """Answers CanFulfillIntentRequest from the request alone (no conversation, no state)."""

    def can_handle(self, handler_input: HandlerInput) -> bool:
        return bool(is_request_type("CanFulfillIntentRequest")(handler_input))

    def handle(self, handler_input: HandlerInput) -> Response:
        intent = getattr(handler_input.request_envelope.request, "intent", None)
        try:
            answer = _answer(intent)
        except Exception:  # a request the SDK let through half-formed: not ours to take
            log.exception("CanFulfillIntentRequest not understood")
            answer = CanFulfillIntent(can_fulfill=CanFulfillIntentValues.NO, slots={})
        builder = handler_input.response_builder
        builder.set_can_fulfill_intent(answer)
        return builder.response


def _answer(intent: Any) -> CanFulfillIntent:
    name = getattr(intent, "name", None)
    slots: dict[str, Answer] = {}
    for slot_name, slot in (getattr(intent, "slots", None) or {}).items():
        value = getattr(slot, "value", None)
        if not isinstance(value, str) or not value.strip():
            continue  # an empty slot: nothing was heard for it
        slots[slot_name] = slot_answer(SLOTS.get(slot_name), _resolved(slot))
    verdict = intent_answer(name if isinstance(name, str) else "", slots)
    if verdict == NO:  # the request is not ours: no slot of it is fulfilled either
        slots = {n: (understood, NO) for n, (understood, _) in slots.items()}
    return CanFulfillIntent(
        can_fulfill=CanFulfillIntentValues(verdict),
        slots={n: CanFulfillSlot(can_understand=CanUnderstandSlotValues(understood),
                                 can_fulfill=CanFulfillSlotValues(fulfil))
               for n, (understood, fulfil) in slots.items()})


def _resolved(slot: Any) -> bool | None:
    """Whether entity resolution matched the slot's value to one of the skill's values."""
    resolutions = getattr(getattr(slot, "resolutions", None), "resolutions_per_authority", None)
    codes = [getattr(getattr(getattr(a, "status", None), "code", None), "value", None)
             for a in resolutions or []]
    if "ER_SUCCESS_MATCH" in codes:
        return True
    # An error (a timeout) says nothing about the value: only a search that found nothing does.
    return False if "ER_SUCCESS_NO_MATCH" in codes else None
