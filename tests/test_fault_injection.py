"""Fault injection across a whole routine: the store, then the Timers API, failing at each step.

For every step of the routine (however many it has), and each way a dependency can fail, the
failure is switched on while the runner is at that step and off everywhere else, and the
routine is walked to the end (tests/full_run.py: launch, next, the pain question, the timer
offers, ...). Every time:

- the routine completes (its wrap-up chosen), every response keeps the wire rules
  (tests.conftest.check_response), and every turn is answered by the routine, never by the
  skill's error apology (`error/sorry`);
- no progress the store accepted is lost: the saves it accepts never go back to an earlier
  step, and afterwards a fresh session on a healthy store resumes at the last accepted save
  (or begins a new routine when that save was the finished one);
- a Timers API fault is heard exactly where a timer is set, as the reason it failed.

The store fails through tests/test_memory_conversation.py's FlakyStore (reads, writes, or
both) on a real SQLite file; the Timers API through the stand-in's own fault injection (an
error status, a connection dropped, a request that hangs), answering in process as in every
conversation test (tests/test_timers.py holds that seam to the HTTP client's answers).
Everything asserted is what the routine chose (keys, state), so the walk holds in any locale.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.memory import SqliteStore
from skill.routine import load_routine
from tests.conftest import OUTCOMES, FakeClock, new_device, skill_on
from tests.full_run import Run, finished, step_of, walk
from tests.test_memory_conversation import FlakyStore
from tooling.standins.alexa import Alexa
from tooling.standins.timers_api import TimersApiStandIn

pytestmark = pytest.mark.every_locale  # the walk holds in every locale (tests that ask)

STEPS = list(range(1, load_routine().total + 1))
STORE_FAULTS = ["reads", "writes", "both"]
# How the Timers API fails: an error status (each code the API can answer with), a dropped
# connection, or a hang past the client's read timeout. The stand-in answers in process
# (tests/conftest.py), where a hang is the client's timeout at once: no test waits for it.
TIMER_FAULTS = ["401", "500", "504", "drop", "hang"]  # 429 is handled as 500 is


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


def runner(store: RecordingStore, clock: FakeClock, locale: str = "en-US") -> Alexa:
    """A new user's Alexa, talking to the skill on `store`."""
    return Alexa(skill_on(store), locale=locale, device=new_device(), clock=clock,
                 outcome_of=OUTCOMES.pop)


def progress(state: dict[str, Any]) -> tuple[bool, int]:
    """How far a routine got: finishing beats any step."""
    return bool(state.get("finished")), int(state.get("step") or 0)


def check_nothing_lost(store: RecordingStore, alexa: Alexa, clock: FakeClock) -> None:
    """Accepted saves only move forward, and a fresh session resumes at the last of them."""
    steps = [progress(s) for s in store.accepted]
    assert steps, "the store accepted nothing at all"
    assert steps == sorted(steps), f"a save went back to an earlier step: {steps}"
    store.fail_reads = store.fail_writes = False
    later = Alexa(skill_on(store.inner), locale=alexa.locale, device=alexa.device, clock=clock,
                  outcome_of=OUTCOMES.pop)
    back = later.launch()
    last = store.accepted[-1]
    if last.get("finished"):
        # A finished routine is not offered again: the launch begins a new one.
        assert step_of(back) == 1 and back.state.get("pending") != "resume", back.keys
        assert "memory/resume_ask" not in back.keys
    else:
        assert step_of(back) == last["step"], back.keys
        assert back.state.get("pending") == "resume" or "timer/welcome_back" in back.keys


def check_completed(run: Run) -> None:
    """The walk reached the wrap-up, and every turn was answered by the routine itself."""
    assert finished(run.last) and run.last.ends_session, run.transcript()
    assert "finish/wrap_up" in run.last.keys, run.transcript()
    for reply in run.replies:
        assert reply.outcome is not None, run.transcript()  # the routine answered it
        assert "error/sorry" not in reply.keys, run.transcript()


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
    alexa = runner(store, clock)
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
    alexa = runner(store, clock)
    run = walk(alexa, before_turn=break_store_at(store, failing, mode), session_per_step=True)
    check_completed(run)
    check_nothing_lost(store, alexa, clock)


def test_a_session_that_could_not_read_the_store_never_saves_over_further_progress(
    store: RecordingStore, clock: FakeClock
) -> None:
    """Reads failing as the runner reopens the skill at the last step: once the store is
    back, what it holds never goes back to an earlier step."""
    alexa = runner(store, clock)
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
            api.hang(times=None)
        else:
            api.respond_with(int(fault), times=None)

    return before


# What the routine hears of each fault: the permission question (401), or a failure's reason.
HEARD = {"401": "timer/need_permission", "500": "server_error", "504": "device_offline",
         "drop": "connection_dropped", "hang": "timeout"}
TIMED_STEPS = {n for n in STEPS if load_routine().step(n).timer is not None}


def timer_troubles(run: Run) -> list[str]:
    """Every timer trouble the runner heard of: a failure's reason, or the permission asked."""
    heard = []
    for reply in run.replies:
        assert reply.outcome is not None
        for line in reply.outcome.lines:
            if line.key == "timer/failed":
                heard.append(str(line.args["reason"]))
            elif line.key == "timer/need_permission":
                heard.append(line.key)
    return heard


@pytest.mark.parametrize("fault", TIMER_FAULTS)
@pytest.mark.parametrize("failing", STEPS)
def test_timers_failing_at_one_step(
    store: RecordingStore, clock: FakeClock, timers_api: TimersApiStandIn, failing: int,
    fault: str,
) -> None:
    """The Timers API fails at one step: the routine completes, nothing is lost, and the
    runner hears of the trouble exactly where a timer was set."""
    alexa = runner(store, clock)
    run = walk(alexa, before_turn=break_timers_at(timers_api, failing, fault))
    check_completed(run)
    check_nothing_lost(store, alexa, clock)
    troubles = timer_troubles(run)
    assert set(troubles) == ({HEARD[fault]} if failing in TIMED_STEPS else set()), troubles


def test_a_healthy_run_sets_timers_so_the_faults_above_hit_real_calls(
    store: RecordingStore, clock: FakeClock, timers_api: TimersApiStandIn, locale: str
) -> None:
    """Without faults the walk, in any locale, sets every step's timer through the stand-in:
    the injected faults land on calls the skill really makes."""
    timers_api.locale = locale  # the API wants announcements in the device's locale
    alexa = runner(store, clock, locale)
    run = walk(alexa)
    check_completed(run)
    assert timer_troubles(run) == []
    set_for = {r.body["timerLabel"] for r in timers_api.requests if r.method == "POST"}
    assert len(set_for) >= len(TIMED_STEPS)
