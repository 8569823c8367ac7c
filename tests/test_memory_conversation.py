"""Memory across sessions, through whole conversations, on the SQLite and DynamoDB stores.

Every conversation runs in every locale with a model and asserts what the skill chose (the
routine's keys and state), never its words.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope

from skill.memory import DynamoStore, SqliteStore, StoreError
from skill.speech import DEFAULT_LOCALE
from tests.conftest import OUTCOMES, FakeClock, new_device, skill_on
from tests.talk import (
    CANCEL,
    FALLBACK,
    FORGET,
    GO_TO,
    NEXT,
    NO,
    RESUME,
    START_OVER,
    STOP,
    UNSURE,
    YES,
    walk_to,
)
from tooling.standins.alexa import Alexa, Device, Reply, Send

pytest_plugins = ["tests.dynamodb_server"]
pytestmark = pytest.mark.every_locale


class FlakyStore(AbstractPersistenceAdapter):
    """A real store that fails on the calls a test chooses: a store that is down or slow."""

    def __init__(self, inner: AbstractPersistenceAdapter) -> None:
        self.inner = inner
        self.fail_reads = False
        self.fail_writes = False
        self.reads = self.writes = 0

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        self.reads += 1
        if self.fail_reads:
            raise StoreError("injected read failure")
        result: dict[str, Any] = self.inner.get_attributes(request_envelope)
        return result

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        self.writes += 1
        if self.fail_writes:
            raise StoreError("injected write failure")
        self.inner.save_attributes(request_envelope, attributes)

    def delete_attributes(self, request_envelope: Any) -> None:
        if self.fail_writes:
            raise StoreError("injected write failure")
        self.inner.delete_attributes(request_envelope)


def talk(send: Send, device: Device, clock: FakeClock, locale: str) -> Alexa:
    return Alexa(send, locale=locale, device=device, clock=clock, outcome_of=OUTCOMES.pop)


CONVERSATIONS_TABLE = f"cramp-coach-{uuid.uuid4().hex[:8]}"


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path,
          locale: str) -> Iterator[AbstractPersistenceAdapter]:
    """Each conversation test runs on both stores: a SQLite file and DynamoDB (dynalite).

    DynamoDB in one locale only: what is stored does not depend on the language. One table
    for the module's tests (each test is a user of its own): a new table waits half a second
    to become active, and tests/test_memory.py covers creating one."""
    if request.param == "sqlite":
        yield SqliteStore(tmp_path / "memory.sqlite3")
        return
    if locale != DEFAULT_LOCALE:
        pytest.skip(f"DynamoDB runs in {DEFAULT_LOCALE}; the other locales run on SQLite")
    request.getfixturevalue("dynamodb_env")
    # A test that looks at every item in the table (stored_records) has a table of its own.
    own = request.node.get_closest_marker("own_table") is not None
    yield DynamoStore(f"cramp-coach-{uuid.uuid4().hex[:8]}" if own else CONVERSATIONS_TABLE,
                      create_table=True)


@pytest.fixture
def user(store: AbstractPersistenceAdapter, clock: FakeClock,
         locale: str) -> Callable[..., Alexa]:
    """A function giving Alexa for one user (same user each call: a second device)."""
    device = new_device()
    send = skill_on(store)

    def make(device_id: str = "amzn1.ask.device.ONE") -> Alexa:
        return talk(send, Device(user_id=device.user_id, device_id=device_id), clock, locale)

    return make


def welcome_back(reply: Reply) -> dict[str, Any]:
    """The "welcome back" line's arguments, after checking it opens the reply and asks whether
    to carry on."""
    assert reply.keys == ("memory/welcome_back", "memory/resume_ask"), reply.keys
    assert reply.state["pending"] == "resume"
    return dict(reply.outcome.lines[0].args)


def no_disclaimer(reply: Reply) -> bool:
    return "open/disclaimer" not in reply.keys and not any(
        line.key == "open/welcome" and line.args.get("first_time") for line in reply.outcome.lines)


def test_stopped_mid_step_resumes_there(user: Callable[..., Alexa]) -> None:
    """Stop at step 5, come back: welcomed back (no disclaimer) and offered step 5; "carry on"
    gives step 5."""
    alexa = user()
    walk_to(alexa, 5)
    alexa.intent(STOP)
    back = alexa.launch()
    assert welcome_back(back)["stale"] is False
    assert back.state["step"] == 5 and no_disclaimer(back)
    resumed = alexa.intent(RESUME)
    assert resumed.keys[:2] == ("step/header", "step/heat") and resumed.state["step"] == 5


@pytest.mark.parametrize("answer", [YES, NEXT, RESUME])
def test_carry_on_answers(user: Callable[..., Alexa], answer: str) -> None:
    """Yes, "continue" and "carry on" all pick up the step."""
    alexa = user()
    walk_to(alexa, 6)
    alexa.intent(STOP)
    alexa.launch()
    reply = alexa.intent(answer)
    assert "step/hydrate" in reply.keys and reply.state["step"] == 6


@pytest.mark.parametrize("answer", [NO, START_OVER])
def test_start_over_from_the_resume_question(user: Callable[..., Alexa], answer: str) -> None:
    """No, or "start over", begins a fresh routine at step 1."""
    alexa = user()
    walk_to(alexa, 6)
    alexa.intent(CANCEL)
    alexa.launch()
    reply = alexa.intent(answer)
    assert reply.keys[:3] == ("memory/fresh_start", "step/header", "step/stop")
    assert reply.state["step"] == 1


def test_session_dies_at_the_pain_question_and_it_is_asked_again(
    user: Callable[..., Alexa],
) -> None:
    """Silence at the pain question: next time, a plain welcome back, and carrying on asks the
    question again, never gives the massage."""
    alexa = user()
    walk_to(alexa, 3, answer_gate=False)
    alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    back = alexa.launch()
    welcome_back(back)
    assert back.state["step"] == 3
    again = alexa.intent(YES)
    assert again.keys == ("step/header", "gate/ask")
    assert again.state["pending"] == "pain_gate"


def test_session_error_mid_step_keeps_the_place(user: Callable[..., Alexa]) -> None:
    """A session that ends in an error keeps the place like any other."""
    alexa = user()
    walk_to(alexa, 7)
    alexa.end_session("ERROR")
    back = alexa.launch()
    welcome_back(back)
    assert back.state["step"] == 7


def test_a_new_device_continues_the_same_user(user: Callable[..., Alexa]) -> None:
    """The place belongs to the user, not the device: another Echo offers it too."""
    walk_to(user(), 6)
    back = user("amzn1.ask.device.TWO").launch()
    welcome_back(back)
    assert back.state["step"] == 6


def test_old_progress_is_offered_not_forced(user: Callable[..., Alexa], clock: FakeClock) -> None:
    """Two days later the place is offered, said to be old (start over for a new cramp); it can
    still go on."""
    alexa = user()
    walk_to(alexa, 8)
    alexa.intent(STOP)
    clock.advance(days=2)
    back = alexa.launch()
    assert welcome_back(back) | {"hours": 0} == {"stale": True, "hours": 0, "days": 2,
                                                  "timer": None}
    carried = alexa.intent(YES)
    assert "step/rest" in carried.keys and carried.state["step"] == 8


def test_recent_progress_is_not_called_old(user: Callable[..., Alexa], clock: FakeClock) -> None:
    """An hour later the place is simply offered."""
    alexa = user()
    walk_to(alexa, 6)
    alexa.intent(STOP)
    clock.advance(hours=1)
    back = alexa.launch()
    assert welcome_back(back)["stale"] is False and back.state["step"] == 6


def test_disclaimer_once_per_user_not_once_per_session(user: Callable[..., Alexa]) -> None:
    """A returning user's launch goes straight to step 1: no disclaimer, no guide, nothing
    before the first instruction but the welcome and the step's header."""
    alexa = user()
    walk_to(alexa, 8)
    assert "finish/wrap_up" in alexa.intent(NEXT).keys  # finishes the routine
    again = alexa.launch()
    assert no_disclaimer(again) and "open/guide" not in again.keys
    first = again.keys.index("step/stop")
    assert set(again.keys[:first]) <= {"open/welcome", "step/header"}, again.keys


def test_routines_weeks_apart_are_not_frequent(
    user: Callable[..., Alexa], clock: FakeClock
) -> None:
    """Three routines a month apart do not trigger the frequent-cramps advice."""
    alexa = user()
    for _ in range(3):
        first = alexa.launch()
        assert "step/stop" in first.keys and "memory/frequent" not in first.keys
        walk_to_end(alexa)
        clock.advance(days=30)


def walk_to_end(alexa: Alexa) -> Reply:
    reply = alexa.intent(GO_TO, {"number": "8"})
    while not reply.ends_session:
        reply = alexa.intent(NEXT)
    assert "finish/wrap_up" in reply.keys
    return reply


def test_third_routine_in_two_weeks_advises_a_health_professional_once(
    user: Callable[..., Alexa], clock: FakeClock
) -> None:
    """Cramps on most runs: the third routine in 14 days gets the seed's advice to see a
    health professional at its wrap-up (when there is time to hear it, not before the first
    instruction); the first two do not, and a routine resumed mid-way does not repeat it."""
    alexa = user()
    for _ in range(2):
        assert "memory/frequent" not in alexa.launch().keys
        assert "memory/frequent" not in walk_to_end(alexa).keys
        clock.advance(days=1)
    third = alexa.launch()
    assert "memory/frequent" not in third.keys
    alexa.intent(STOP)
    assert "memory/frequent" not in alexa.launch().keys  # resumed
    wrap_up = walk_to_end(alexa)
    advice = [line.args for line in wrap_up.outcome.lines if line.key == "memory/frequent"]
    assert advice == [{"count": 3}]
    assert wrap_up.keys.index("finish/wrap_up") < wrap_up.keys.index("memory/frequent")



@pytest.mark.own_table
def test_forget_my_data_deletes_everything(
    user: Callable[..., Alexa], store: AbstractPersistenceAdapter
) -> None:
    """"Forget my data": confirm, delete every record for the user, say so and close."""
    alexa = user()
    walk_to(alexa, 4)
    ask = alexa.intent(FORGET)
    assert ask.keys[-1] == "memory/forget_ask" and ask.state["pending"] == "forget"
    done = alexa.intent(YES)
    assert done.keys == ("memory/forgotten",) and done.ends_session
    assert stored_records(store, alexa) == {}
    opening = alexa.launch().outcome.lines[0]  # a new user again: the disclaimer
    assert opening.key == "open/welcome" and opening.args["first_time"]


def test_forget_answered_no_keeps_everything(user: Callable[..., Alexa]) -> None:
    """No to the forget question keeps the place."""
    alexa = user()
    walk_to(alexa, 4)
    alexa.intent(FORGET)
    kept = alexa.intent(NO)
    assert kept.keys[0] == "memory/kept" and kept.state["step"] == 4
    assert kept.state["pending"] is None


@pytest.mark.own_table
def test_forget_question_is_never_answered_by_an_unclear_reply(
    user: Callable[..., Alexa], store: AbstractPersistenceAdapter
) -> None:
    """Only a clear yes deletes anything: an unclear reply asks again, "I'm not sure" gets
    help with the question still waiting, and a second unclear reply keeps everything."""
    alexa = user()
    walk_to(alexa, 2)
    alexa.intent(FORGET)
    again = alexa.intent(FALLBACK)
    assert again.keys == ("answer/unclear", "memory/forget_ask")
    unsure = alexa.intent(UNSURE)
    assert unsure.keys[-1] == "memory/forget_ask" and unsure.state["pending"] == "forget"
    settled = alexa.intent(FALLBACK)
    assert settled.keys[0] == "memory/kept" and settled.state["step"] == 2
    assert stored_records(store, alexa)


def stored_records(store: AbstractPersistenceAdapter, alexa: Alexa) -> dict[str, Any]:
    """Every record the store holds, for any user: only for own_table tests on DynamoDB."""
    envelope = _envelope(alexa)
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:  # every row, for any user: none may be left
            rows = db.execute("SELECT count(*) FROM user_memory").fetchone()[0]
        return store.get_attributes(envelope) if rows else {}
    if isinstance(store, DynamoStore):
        items = store.table.scan()["Items"]  # nothing at all, for any user: an own_table test
        return {"items": items} if items else {}
    raise AssertionError("unknown store")


def _envelope(alexa: Alexa) -> Any:
    body = {"version": "1.0", "context": alexa.device.context(),
            "request": {"type": "LaunchRequest", "requestId": "r", "locale": alexa.locale}}
    return DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)


def test_two_devices_at_once_lose_no_progress(user: Callable[..., Alexa]) -> None:
    """Kitchen and bedroom Echo in the same routine: a turn on a stale session is replayed."""
    kitchen, bedroom = user("amzn1.ask.device.KITCHEN"), user("amzn1.ask.device.BEDROOM")
    walk_to(kitchen, 5)
    bedroom.launch()
    assert bedroom.intent(YES).state["step"] == 5
    assert bedroom.intent(NEXT).state["step"] == 6
    assert bedroom.intent(NEXT).state["step"] == 7
    # The kitchen session still thinks it is at step 5; its "next" builds on the bedroom's 7.
    reply = kitchen.intent(NEXT)
    assert "step/rest" in reply.keys and reply.state["step"] == 8
    assert user().launch().state["step"] == 8


@pytest.mark.parametrize("failing", ["reads", "writes", "both"])
def test_a_failing_store_never_breaks_the_routine(
    store: AbstractPersistenceAdapter, clock: FakeClock, locale: str, failing: str
) -> None:
    """Reads or writes failing mid-routine: the routine completes from the session, calmly
    (never the skill's apology)."""
    flaky = FlakyStore(store)
    alexa = talk(skill_on(flaky), new_device(), clock, locale)
    walk_to(alexa, 3)
    flaky.fail_reads = failing in ("reads", "both")
    flaky.fail_writes = failing in ("writes", "both")
    reply = alexa.intent(NEXT)
    while not reply.ends_session:
        assert "error/sorry" not in reply.keys
        reply = alexa.intent(NO if reply.state["pending"] == "pain_gate" else NEXT)
    assert reply.keys[-1] == "finish/wrap_up"
    assert flaky.reads if failing != "writes" else flaky.writes


def test_a_store_down_at_launch_still_starts_the_routine(
    store: AbstractPersistenceAdapter, clock: FakeClock, locale: str
) -> None:
    """With the store unreachable at launch the runner still hears step 1 at once."""
    flaky = FlakyStore(store)
    flaky.fail_reads = flaky.fail_writes = True
    reply = talk(skill_on(flaky), new_device(), clock, locale).launch()
    assert "step/stop" in reply.keys and "error/sorry" not in reply.keys
    assert not reply.ends_session


def test_a_session_that_started_blind_builds_on_what_the_store_kept(
    store: AbstractPersistenceAdapter, clock: FakeClock, locale: str
) -> None:
    """Store unreadable at launch: a fresh start; once it answers, the next turn builds on the
    progress it had kept, which is never overwritten by the blind session's."""
    flaky = FlakyStore(store)
    device = new_device()
    alexa = talk(skill_on(flaky), device, clock, locale)
    walk_to(alexa, 5)
    alexa.intent(STOP)
    flaky.fail_reads = True
    blind = alexa.launch()  # can't read: a fresh start, calmly
    assert "step/stop" in blind.keys and blind.state["step"] == 1
    flaky.fail_reads = False
    later = alexa.intent(NEXT)
    assert "step/hydrate" in later.keys and later.state["step"] == 6
    alexa.intent(STOP)
    assert talk(skill_on(store), device, clock, locale).launch().state["step"] == 6


def test_a_new_user_whose_first_read_failed_keeps_the_session_progress(
    store: AbstractPersistenceAdapter, clock: FakeClock, locale: str
) -> None:
    """Nothing was ever stored: what the session did is saved once the store answers."""
    flaky = FlakyStore(store)
    device = new_device()
    alexa = talk(skill_on(flaky), device, clock, locale)
    flaky.fail_reads = True
    alexa.launch()
    flaky.fail_reads = False
    alexa.intent(NEXT)
    alexa.intent(STOP)
    assert talk(skill_on(store), device, clock, locale).launch().state["step"] == 2
