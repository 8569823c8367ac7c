"""The cramp routine as a pure state machine: no ASK imports, no I/O, no words.

`advance(state, event)` returns an `Outcome`: the next state, the template keys to speak
(`Line`s), the prompt that asks for an answer (or None, which ends the session), the card and
what a screen shows, and the effects the conversation must carry out (a timer to set, data to
forget). A timer's result comes back as another event. Everything is immutable, so a turn can
be replayed, explored and tested alone.

- steps.py: the steps and warning signs as data (skill/content/routine.json)
- state.py: the state the skill keeps, its questions and timers
- events.py: what the machine is told
- outcome.py: what it answers: lines, card, screen, effects, and timer reports
- questions.py: every question, as data: how it is asked, what each answer does
- turn.py: one turn's inputs and the moves transitions are built from (enter a step, ...)
- flow.py: `advance` and one transition per kind of event
- timing.py: the transitions about timers
"""

from skill.routine.events import Ev, Event, PermissionAnswer, TimerTask
from skill.routine.flow import advance
from skill.routine.outcome import (
    AskTimerPermission,
    Card,
    ChangeTimer,
    ChecklistShown,
    ConsentCard,
    Effect,
    Forget,
    Line,
    Outcome,
    SetTimer,
    Shown,
    StepShown,
    TimerCall,
    TimerOp,
    TimerReport,
    TimerResult,
)
from skill.routine.questions import QUESTIONS
from skill.routine.state import Question, State, Timer
from skill.routine.steps import Purpose, Routine, Sign, Step, StepTimer, Urgency, load_routine

__all__ = [
    "QUESTIONS", "AskTimerPermission", "Card", "ChangeTimer", "ChecklistShown", "ConsentCard",
    "Effect", "Ev", "Event", "Forget", "Line", "Outcome", "PermissionAnswer", "Purpose",
    "Question", "Routine", "SetTimer", "Shown", "Sign", "State", "Step", "StepShown",
    "StepTimer", "Timer", "TimerCall", "TimerOp", "TimerReport", "TimerResult", "TimerTask",
    "Urgency",
    "advance", "load_routine",
]
