"""The cramp routine as a pure state machine: no ASK imports, no I/O, no words.

`advance(state, event)` returns an `Outcome`: the next state, the template keys to speak
(`Line`s), the prompt that asks for an answer (or None, which ends the session), the card to
show, and the effects the conversation must carry out (a timer to set, data to forget). A
timer's result comes back as another event. Everything is immutable, so a turn can be
replayed and tested alone.

- steps.py: the eight steps as data (skill/content/routine.json)
- state.py: events, questions, timers, effects, the state and the outcome
- turn.py: one turn's inputs and the moves transitions are built from (enter a step, ...)
- flow.py: `advance` and one transition per kind of event
- timing.py: the transitions about timers
"""

from skill.routine.flow import advance
from skill.routine.state import (
    AskTimerPermission,
    ChangeTimer,
    ConsentCard,
    Effect,
    Ev,
    Event,
    Forget,
    Line,
    Outcome,
    Purpose,
    Question,
    SetTimer,
    State,
    Timer,
    TimerCall,
)
from skill.routine.steps import Routine, Step, StepTimer, load_routine

__all__ = [
    "AskTimerPermission", "ChangeTimer", "ConsentCard", "Effect", "Ev", "Event", "Forget",
    "Line", "Outcome", "Purpose", "Question", "Routine", "SetTimer", "State", "Step",
    "StepTimer", "Timer", "TimerCall", "advance", "load_routine",
]
