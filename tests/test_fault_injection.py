"""Fault injection across a whole routine: the store, then the Timers API, failing at each step.

For every step of the routine (however many it has), and each way a dependency can fail, the
failure is switched on while the runner is at that step and off everywhere else, and the
routine is walked to the end (tests/full_run.py: launch, next, the pain question, the timer
offers, ...). Every time:

- the routine completes, every response keeps the wire rules (tests.conftest.check_response)
  and the skill never falls back on its error apology;
- no progress the store accepted is lost: the saves it accepts never go back to an earlier
  step, and afterwards a fresh session on a healthy store resumes at the last accepted save
  (or begins a new routine when that save was the finished one).

The store fails through tests/test_memory_conversation.py's FlakyStore (reads, writes, or
both) on a real SQLite file; the Timers API through the stand-in's own fault injection
(an error status, a connection dropped, a request that hangs past the client's timeout).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.memory import SqliteStore
from skill.routine import Line, State, load_routine
from skill.speech import Voice, to_text
from tests.conftest import FakeClock, new_device
from tests.full_run import Run, finished, state_of, step_of, walk
from tests.test_memory_conversation import FlakyStore, checked_send
from tooling.standins.alexa import Alexa
from tooling.standins.timers_api import TimersApiStandIn

STEPS = list(range(1, load_routine().total + 1))
STORE_FAULTS = ["reads", "writes", "both"]
# How the Timers API fails: an error status (each code the API can answer with), a dropped
# connection, or a hang longer than the client's read timeout (skill/http_client.py).
TIMER_FAULTS = ["401", "500", "504", "drop", "hang"]  # 429 is handled as 500 is
HANG_S = 4.0  # past the 2.5 s read timeout, so the call times out


class RecordingStore(FlakyStore):
    """FlakyStore that also keeps every routine state the real store accepted, in order."""

    def __init__(self, inner: SqliteStore) -> None:
        super().__init__(inner)
        self.accepted: list[dict[str, Any]] = []

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        super().save_attributes(request_envelope, attributes)  # raises when told to fail
        self.accepted.append(copy.deepcopy(attributes.get("routine") or {}))


@pytest.fixture
def store(tmp_path: Path) -> RecordingStore:
    return RecordingStore(SqliteStore(tmp_path / "memory.sqlite3"))


@pytest.fixture
def timers_api() -> Iterator[TimersApiStandIn]:
    """A Timers API of the test's own, so its faults reach no other test."""
    with TimersApiStandIn() as api:
        yield api


def apology() -> str:
    return to_text(Voice("en-US", State(), load_routine()).ssml(Line("error/sorry")))


def progress(state: dict[str, Any]) -> tuple[bool, int]:
    """How far a routine got: finishing beats any step."""
    return bool(state.get("finished")), int(state.get("step") or 0)


def check_nothing_lost(store: RecordingStore, alexa: Alexa, clock: FakeClock) -> None:
    """Accepted saves only move forward, and a fresh session resumes at the last of them."""
    steps = [progress(s) for s in store.accepted]
    assert steps, "the store accepted nothing at all"
    assert steps == sorted(steps), f"a save went back to an earlier step: {steps}"
    store.fail_reads = store.fail_writes = False
    later = Alexa(checked_send(store.inner), device=alexa.device, clock=clock)
    back = later.launch()
    last = store.accepted[-1]
    if last.get("finished"):
        assert step_of(back) == 1 and state_of(back).get("pending") != "resume"
    else:
        assert step_of(back) == last["step"], back.speech


def check_completed(run: Run) -> None:
    assert finished(run.last) and run.last.ends_session, run.transcript()
    sorry = apology()
    for reply in run.replies:
        assert sorry not in reply.speech, run.transcript()


class Outage:
    """An outage during one visit to a step: it starts with the first turn the runner takes
    at step `failing` and is over once they are somewhere else (whatever moved them there)."""

    def __init__(self, failing: int) -> None:
        self.failing = failing
        self.state = "before"  # before -> during -> over

    def down(self, step: int) -> bool:
        if self.state == "before" and step == self.failing:
            self.state = "during"
        elif self.state == "during" and step != self.failing:
            self.state = "over"
        return self.state == "during"


def break_store_at(store: RecordingStore, failing: int, mode: str) -> Callable[[int], None]:
    """Before each turn: the store fails during the runner's first visit to step `failing`."""
    outage = Outage(failing)

    def before(step: int) -> None:
        down = outage.down(step)
        store.fail_reads = down and mode in ("reads", "both")
        store.fail_writes = down and mode in ("writes", "both")

    return before


@pytest.mark.parametrize("mode", STORE_FAULTS)
@pytest.mark.parametrize("failing", STEPS)
def test_store_failing_at_one_step_in_one_session(
    store: RecordingStore, clock: FakeClock, failing: int, mode: str
) -> None:
    """One long session; the store fails at one step: the routine completes, nothing is lost."""
    alexa = Alexa(checked_send(store), device=new_device(), clock=clock)
    run = walk(alexa, before_turn=break_store_at(store, failing, mode))
    check_completed(run)
    check_nothing_lost(store, alexa, clock)


@pytest.mark.parametrize("mode", STORE_FAULTS)
@pytest.mark.parametrize("failing", STEPS)
def test_store_failing_at_one_step_with_a_session_per_step(
    store: RecordingStore, clock: FakeClock, failing: int, mode: str
) -> None:
    """The runner reopens the skill at every step (each one a fresh read of the store) while
    the store fails at one step: the routine completes and a fresh session resumes at the
    last accepted save."""
    alexa = Alexa(checked_send(store), device=new_device(), clock=clock)
    run = walk(alexa, before_turn=break_store_at(store, failing, mode), session_per_step=True)
    check_completed(run)
    check_nothing_lost(store, alexa, clock)


def test_a_session_that_could_not_read_the_store_never_saves_over_further_progress(
    store: RecordingStore, clock: FakeClock
) -> None:
    """Reads failing as the runner reopens the skill at the last step: once the store is
    back, what it holds never goes back to an earlier step."""
    alexa = Alexa(checked_send(store), device=new_device(), clock=clock)
    walk(alexa, before_turn=break_store_at(store, STEPS[-1], "reads"), session_per_step=True)
    check_nothing_lost(store, alexa, clock)


def break_timers_at(api: TimersApiStandIn, failing: int, fault: str) -> Callable[[int], None]:
    """Before each turn: the Timers API fails during the runner's first visit to `failing`."""
    outage = Outage(failing)

    def before(step: int) -> None:
        api.clear_faults()
        if not outage.down(step):
            return
        if fault == "drop":
            api.drop_connection(times=None)
        elif fault == "hang":
            api.hang(times=None, seconds=HANG_S)
        else:
            api.respond_with(int(fault), times=None)

    return before


@pytest.mark.parametrize("fault", TIMER_FAULTS)
@pytest.mark.parametrize("failing", STEPS)
def test_timers_failing_at_one_step(
    store: RecordingStore, clock: FakeClock, timers_api: TimersApiStandIn, failing: int,
    fault: str,
) -> None:
    """The Timers API fails at one step: the routine completes, nothing is lost."""
    alexa = Alexa(checked_send(store), device=new_device(timers_api), clock=clock)
    run = walk(alexa, before_turn=break_timers_at(timers_api, failing, fault))
    check_completed(run)
    check_nothing_lost(store, alexa, clock)
    timers_api.clear_faults()


def test_a_healthy_run_sets_timers_so_the_faults_above_hit_real_calls(
    store: RecordingStore, clock: FakeClock, timers_api: TimersApiStandIn
) -> None:
    """Without faults the walk sets timers through the stand-in: the injected faults land on
    calls the skill really makes."""
    alexa = Alexa(checked_send(store), device=new_device(timers_api), clock=clock)
    check_completed(walk(alexa))
    assert any(r.method == "POST" for r in timers_api.requests)

