"""Who is talking, where, and how they want to be spoken to."""

from __future__ import annotations

from skill.handlers.base import IntentFamily, always
from skill.routine import Ev


class SituationIntents(IntentFamily):
    intents = {
        "DrivingIntent": always(Ev.DRIVING),
        "ParkedIntent": always(Ev.PARKED),
        "HelperModeIntent": always(Ev.HELPER),
        "ForMeIntent": always(Ev.FOR_ME),
        "SlowerIntent": always(Ev.SLOWER),
        "LouderIntent": always(Ev.LOUDER),
    }
