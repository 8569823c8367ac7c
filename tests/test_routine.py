"""The state machine on its own: pure, total, and tolerant of what it is handed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from skill.routine import Ev, Event, Question, State, advance, load_routine

ROUTINE = load_routine()


@pytest.mark.parametrize("kind", list(Ev))
@pytest.mark.parametrize("step", range(0, 9))
@pytest.mark.parametrize("pending", [None, Question.PAIN_GATE])
def test_every_event_in_every_state_has_an_outcome(
    kind: Ev, step: int, pending: Question | None
) -> None:
    """Any event in any state gives a state in range and, unless the session ends, a prompt."""
    state = State(step=step, pending=pending if step == 3 else None, greeted=True,
                  first_time=False)
    outcome = advance(state, Event(kind, "3"), ROUTINE)
    assert 0 <= outcome.state.step <= ROUTINE.total
    if kind is not Ev.SESSION_ENDED:
        assert outcome.lines or outcome.prompt
    assert State.from_dict(outcome.state.to_dict(), ROUTINE) == outcome.state


def test_advance_does_not_change_its_input() -> None:
    """States are values: advancing returns a new one."""
    state = State(step=2, greeted=True)
    before = replace(state)
    advance(state, Event(Ev.NEXT), ROUTINE)
    assert state == before


def test_session_end_keeps_the_pending_question() -> None:
    """Silence never answers the pain question: it is still pending after the session ends."""
    state = State(step=3, pending=Question.PAIN_GATE, greeted=True)
    assert advance(state, Event(Ev.SESSION_ENDED), ROUTINE).state.pending is Question.PAIN_GATE


def test_new_session_resets_counters_not_the_place() -> None:
    """A new session keeps the step and question, and forgets misses and greetings."""
    state = State(step=5, misses=2, unclear=1, greeted=True, first_time=False)
    fresh = state.new_session()
    assert (fresh.step, fresh.misses, fresh.unclear, fresh.greeted) == (5, 0, 0, False)


def test_from_dict_drops_bad_values() -> None:
    """Bad types, unknown questions and out-of-range steps fall back to defaults."""
    state = State.from_dict({"step": 12, "pending": "nope", "misses": "2"}, ROUTINE)
    assert state == State()
    assert State.from_dict({"step": True}, ROUTINE).step == 0
