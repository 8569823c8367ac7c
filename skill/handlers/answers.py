"""Answers to a question the skill asked: yes, no, and the answers people give instead."""

from __future__ import annotations

from skill.handlers.base import IntentFamily, always
from skill.routine import Ev


class AnswerIntents(IntentFamily):
    intents = {
        "AMAZON.YesIntent": always(Ev.YES),
        "AMAZON.NoIntent": always(Ev.NO),
        "UnsureIntent": always(Ev.UNSURE),
        # "About the same", "it's easing off": not worse (to "is the pain getting worse?").
        "NotWorseIntent": always(Ev.NOT_WORSE),
        # "It's gone", "still cramping": answers to "is the cramping completely gone?".
        "CrampGoneIntent": always(Ev.CRAMP_GONE),
        "CrampStillIntent": always(Ev.CRAMP_STAYS),
    }
