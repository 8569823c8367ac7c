"""Memory across sessions, through whole conversations, on the SQLite and DynamoDB stores."""

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

from skill.app import build_skill, event_handler
from skill.memory import DynamoStore, SqliteStore, StoreError
from tests.conftest import FakeClock, check_response, new_device
from tests.talk import (
    CANCEL,
    FALLBACK,
    GO_TO,
    NEXT,
    NO,
    RESUME,
    START_OVER,
    STOP,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Device, Reply, Send

pytest_plugins = ["tests.dynamodb_server"]

FORGET = "ForgetMeIntent"


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


def checked_send(store: AbstractPersistenceAdapter) -> Send:
    handle = event_handler(build_skill(store=store))

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = handle(envelope, None)
        check_response(envelope, raw)
        return raw

    return send


@pytest.fixture(params=["sqlite", "dynamodb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AbstractPersistenceAdapter]:
    """Each conversation test runs on both stores: a SQLite file and DynamoDB (dynalite)."""
    if request.param == "sqlite":
        yield SqliteStore(tmp_path / "memory.sqlite3")
    else:
        request.getfixturevalue("dynamodb_env")
        yield DynamoStore(f"cramp-coach-{uuid.uuid4().hex[:8]}", create_table=True)


@pytest.fixture
def user(store: AbstractPersistenceAdapter, clock: FakeClock) -> Callable[..., Alexa]:
    """A function giving Alexa for one user (same user each call: a second device)."""
    device = new_device()
    send = checked_send(store)

    def make(device_id: str = "amzn1.ask.device.ONE") -> Alexa:
        return Alexa(send, device=Device(user_id=device.user_id, device_id=device_id),
                     clock=clock)

    return make


def test_stopped_mid_step_resumes_there(user: Callable[..., Alexa]) -> None:
    """Stop at step 5, come back: offered step 5; "carry on" speaks step 5."""
    alexa = user()
    walk_to(alexa, 5)
    alexa.intent(STOP)
    back = alexa.launch()
    assert "Welcome back. You were at step 5: heat." in back.speech
    assert "Sorry about the cramp" not in back.speech and "not a substitute" not in back.speech
    assert "Step 5 of 8" in alexa.intent(RESUME).speech


@pytest.mark.parametrize("answer", [YES, NEXT, RESUME])
def test_carry_on_answers(user: Callable[..., Alexa], answer: str) -> None:
    """Yes, "continue" and "carry on" all pick up the step."""
    alexa = user()
    walk_to(alexa, 6)
    alexa.intent(STOP)
    alexa.launch()
    assert "Step 6 of 8" in alexa.intent(answer).speech


@pytest.mark.parametrize("answer", [NO, START_OVER])
def test_start_over_from_the_resume_question(user: Callable[..., Alexa], answer: str) -> None:
    """No, or "start over", begins a fresh routine at step 1."""
    alexa = user()
    walk_to(alexa, 6)
    alexa.intent(CANCEL)
    alexa.launch()
    reply = alexa.intent(answer)
    assert "a fresh start" in reply.speech and "Step 1 of 8" in reply.speech


def test_session_dies_at_the_pain_question_and_it_is_asked_again(
    user: Callable[..., Alexa],
) -> None:
    """Silence at the pain question: next time the question comes back, never the massage."""
    alexa = user()
    walk_to(alexa, 3, answer_gate=False)
    alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    back = alexa.launch()
    assert "I'd asked whether the pain was getting worse" in back.speech
    again = alexa.intent(YES)
    assert "is the pain getting worse?" in again.speech
    assert "gentle pressure" not in again.speech


def test_session_error_mid_step_keeps_the_place(user: Callable[..., Alexa]) -> None:
    """A session that ends in an error keeps the place like any other."""
    alexa = user()
    walk_to(alexa, 7)
    alexa.end_session("ERROR")
    assert "You were at step 7" in alexa.launch().speech


def test_a_new_device_continues_the_same_user(user: Callable[..., Alexa]) -> None:
    """The place belongs to the user, not the device: another Echo offers it too."""
    walk_to(user(), 4)
    assert "You were at step 4" in user("amzn1.ask.device.TWO").launch().speech


def test_old_progress_is_offered_not_forced(user: Callable[..., Alexa], clock: FakeClock) -> None:
    """After 12 hours the place is offered with a nudge to start over; it can still go on."""
    alexa = user()
    walk_to(alexa, 8)
    alexa.intent(STOP)
    clock.advance(days=2)
    back = alexa.launch()
    assert "Last time, 2 days ago, you stopped at step 8: rest." in back.speech
    assert "If this is a new cramp, it's best to start over." in back.speech
    assert "Step 8 of 8" in alexa.intent(YES).speech


def test_recent_progress_is_not_called_old(user: Callable[..., Alexa], clock: FakeClock) -> None:
    """An hour later the place is simply offered."""
    alexa = user()
    walk_to(alexa, 4)
    alexa.intent(STOP)
    clock.advance(hours=1)
    assert "Last time" not in alexa.launch().speech


def test_disclaimer_once_per_user_not_once_per_session(user: Callable[..., Alexa]) -> None:
    """A returning user's launch goes straight to step 1 within 15 words."""
    alexa = user()
    walk_to(alexa, 8)
    alexa.intent(NEXT)  # finishes the routine
    again = alexa.launch()
    assert "not a substitute" not in again.speech
    assert again.speech.startswith("Sorry about the cramp.")
    assert len(again.speech[: again.speech.index("Stop running")].split()) <= 15


def test_routines_weeks_apart_are_not_frequent(
    user: Callable[..., Alexa], clock: FakeClock
) -> None:
    """Three routines a month apart do not trigger the frequent-cramps advice."""
    alexa = user()
    for _ in range(3):
        first = alexa.launch()
        assert "health professional" not in first.speech
        walk_to_end(alexa)
        clock.advance(days=30)


def walk_to_end(alexa: Alexa) -> Reply:
    reply = alexa.intent(GO_TO, {"number": "8"})
    while not reply.ends_session:
        reply = alexa.intent(NEXT)
    return reply


def test_third_routine_in_two_weeks_advises_a_health_professional_once(
    user: Callable[..., Alexa], clock: FakeClock
) -> None:
    """Cramps on most runs: the third routine in 14 days gets the seed's advice, once."""
    alexa = user()
    for _ in range(2):
        alexa.launch()
        walk_to_end(alexa)
        clock.advance(days=1)
    third = alexa.launch()
    assert "3 cramps in the last two weeks" in third.speech
    assert "diabetes or thyroid disease" in third.speech
    assert third.speech.index("Step 1 of 8") < third.speech.index("health professional")
    alexa.intent(STOP)
    resumed = alexa.launch()
    assert "health professional" not in resumed.speech
    assert "health professional" not in alexa.intent(YES).speech


def test_forget_my_data_deletes_everything(
    user: Callable[..., Alexa], store: AbstractPersistenceAdapter
) -> None:
    """"Forget my data": confirm, delete every record for the user, say so."""
    alexa = user()
    walk_to(alexa, 4)
    ask = alexa.intent(FORGET)
    assert "Shall I delete all of it?" in ask.speech
    done = alexa.intent(YES)
    assert "I've deleted everything" in done.speech and done.ends_session
    assert stored_records(store, alexa) == {}
    assert "not a substitute" in alexa.launch().speech  # a new user again


def test_forget_answered_no_keeps_everything(user: Callable[..., Alexa]) -> None:
    """No to the forget question keeps the place."""
    alexa = user()
    walk_to(alexa, 4)
    alexa.intent(FORGET)
    kept = alexa.intent(NO)
    assert "I haven't deleted anything" in kept.speech and step_of(kept) == 4


def test_forget_question_is_never_answered_by_an_unclear_reply(
    user: Callable[..., Alexa], store: AbstractPersistenceAdapter
) -> None:
    """Only a clear yes deletes anything."""
    alexa = user()
    walk_to(alexa, 2)
    alexa.intent(FORGET)
    again = alexa.intent(FALLBACK)
    assert "Shall I delete all of it?" in again.speech
    assert stored_records(store, alexa)


def stored_records(store: AbstractPersistenceAdapter, alexa: Alexa) -> dict[str, Any]:
    envelope = _envelope(alexa)
    if isinstance(store, SqliteStore):
        with sqlite3.connect(store.path) as db:  # every row, for any user: none may be left
            rows = db.execute("SELECT count(*) FROM user_memory").fetchone()[0]
        return store.get_attributes(envelope) if rows else {}
    if isinstance(store, DynamoStore):
        items = store.table.scan()["Items"]  # nothing at all, for any user of this test table
        return {"items": items} if items else {}
    raise AssertionError("unknown store")


def _envelope(alexa: Alexa) -> Any:
    body = {"version": "1.0", "context": alexa.device.context(),
            "request": {"type": "LaunchRequest", "requestId": "r", "locale": "en-US"}}
    return DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)


def test_two_devices_at_once_lose_no_progress(user: Callable[..., Alexa]) -> None:
    """Kitchen and bedroom Echo in the same routine: a turn on a stale session is replayed."""
    kitchen, bedroom = user("amzn1.ask.device.KITCHEN"), user("amzn1.ask.device.BEDROOM")
    walk_to(kitchen, 5)
    bedroom.launch()
    assert step_of(bedroom.intent(YES)) == 5
    assert step_of(bedroom.intent(NEXT)) == 6
    assert step_of(bedroom.intent(NEXT)) == 7
    # The kitchen session still thinks it is at step 5; its "next" builds on the bedroom's 7.
    reply = kitchen.intent(NEXT)
    assert "Step 8 of 8" in reply.speech
    assert "You were at step 8" in user().launch().speech


@pytest.mark.parametrize("failing", ["reads", "writes", "both"])
def test_a_failing_store_never_breaks_the_routine(
    store: AbstractPersistenceAdapter, clock: FakeClock, failing: str
) -> None:
    """Reads or writes failing mid-routine: the routine completes from the session, calmly."""
    flaky = FlakyStore(store)
    alexa = Alexa(checked_send(flaky), device=new_device(), clock=clock)
    walk_to(alexa, 3)
    flaky.fail_reads = failing in ("reads", "both")
    flaky.fail_writes = failing in ("writes", "both")
    reply = alexa.intent(NEXT)
    while not reply.ends_session:
        assert "problem" not in reply.speech and "wrong" not in reply.speech
        reply = alexa.intent(NO if "getting worse?" in reply.speech else NEXT)
    assert "That's all 8 steps" in reply.speech


def test_a_store_down_at_launch_still_starts_the_routine(
    store: AbstractPersistenceAdapter, clock: FakeClock
) -> None:
    """With the store unreachable at launch the runner still hears step 1 at once."""
    flaky = FlakyStore(store)
    flaky.fail_reads = flaky.fail_writes = True
    alexa = Alexa(checked_send(flaky), device=new_device(), clock=clock)
    reply = alexa.launch()
    assert "Step 1 of 8" in reply.speech and not reply.ends_session


def test_a_session_that_started_blind_builds_on_what_the_store_kept(
    store: AbstractPersistenceAdapter, clock: FakeClock
) -> None:
    """Store unreadable at launch: a fresh start; once it answers, the next turn builds on the
    progress it had kept, which is never overwritten by the blind session's."""
    flaky = FlakyStore(store)
    device = new_device()
    alexa = Alexa(checked_send(flaky), device=device, clock=clock)
    walk_to(alexa, 5)
    alexa.intent(STOP)
    flaky.fail_reads = True
    assert "Step 1 of 8" in alexa.launch().speech  # can't read: a fresh start, calmly
    flaky.fail_reads = False
    assert "Step 6 of 8" in alexa.intent(NEXT).speech
    alexa.intent(STOP)
    assert "You were at step 6" in Alexa(checked_send(store), device=device,
                                         clock=clock).launch().speech


def test_a_new_user_whose_first_read_failed_keeps_the_session_progress(
    store: AbstractPersistenceAdapter, clock: FakeClock
) -> None:
    """Nothing was ever stored: what the session did is saved once the store answers."""
    flaky = FlakyStore(store)
    device = new_device()
    alexa = Alexa(checked_send(flaky), device=device, clock=clock)
    flaky.fail_reads = True
    alexa.launch()
    flaky.fail_reads = False
    alexa.intent(NEXT)
    alexa.intent(STOP)
    assert "You were at step 2" in Alexa(checked_send(store), device=device,
                                         clock=clock).launch().speech
