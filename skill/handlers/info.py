"""What the runner can ask at any time: help, the checklist, prevention."""

from __future__ import annotations

from skill.handlers.base import IntentFamily, always
from skill.routine import Ev


class InfoIntents(IntentFamily):
    intents = {
        "AMAZON.HelpIntent": always(Ev.HELP),
        "ChecklistIntent": always(Ev.CHECKLIST),
        "PreventionIntent": always(Ev.PREVENTION),
    }
