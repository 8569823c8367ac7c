"""What the runner can ask at any time: help, the checklist, the overview, prevention."""

from __future__ import annotations

from skill.handlers.base import IntentFamily, always
from skill.routine import Ev


class InfoIntents(IntentFamily):
    intents = {
        "AMAZON.HelpIntent": always(Ev.HELP),
        "ChecklistIntent": always(Ev.CHECKLIST),
        "OverviewIntent": always(Ev.OVERVIEW),
        "PreventionIntent": always(Ev.PREVENTION),
    }
