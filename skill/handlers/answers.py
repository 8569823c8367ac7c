"""Answers to a question the skill asked (or did not ask)."""

from __future__ import annotations

from skill.handlers.base import IntentFamily, always
from skill.routine import Ev


class AnswerIntents(IntentFamily):
    intents = {
        "AMAZON.YesIntent": always(Ev.YES),
        "AMAZON.NoIntent": always(Ev.NO),
        "UnsureIntent": always(Ev.UNSURE),
    }
