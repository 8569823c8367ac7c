"""Input that doesn't fit: each gets a useful answer and loses nothing.

The tests assert what the routine chose (keys, state), so they run in every locale with a
model; tests/test_wording.py checks the words (escalating misunderstandings, a value heard
that is escaped and cut short).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.app import build_skill, event_handler
from skill.memory import SqliteStore
from skill.routine import Line
from tests.conftest import OUTCOMES, check_response, new_device
from tests.talk import (
    FALLBACK,
    GO_TO,
    HELP,
    HURTS,
    NEXT,
    NO,
    REPEAT,
    STOP,
    UNSURE,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa

pytestmark = pytest.mark.every_locale


def miss_level(reply: Any) -> int:
    """The escalation level of a "sorry, I didn't get that" (0: none was said)."""
    levels = [line.args["level"] for line in reply.outcome.lines if line.key == "fallback/miss"]
    return int(levels[0]) if levels else 0


@pytest.mark.parametrize("start", [1, 2, 7])
def test_stray_yes_at_a_step_means_next(alexa: Alexa, start: int) -> None:
    """A yes with no question asked, at a step, is "ready": the next step comes."""
    walk_to(alexa, start)
    reply = alexa.intent(YES)
    assert step_of(reply) == start + 1 and reply.keys[0] == "step/header"
    assert "stray/yes" not in reply.keys and not reply.ends_session


def test_stray_yes_after_it_hurts_more_means_next(alexa: Alexa) -> None:
    """A yes after "it hurts more" stopped a step (no question asked) is "next" too."""
    walk_to(alexa, 6)
    assert alexa.intent(HURTS).state["hands_off"] is True
    reply = alexa.intent(YES)
    assert step_of(reply) == 7 and reply.keys[:2] == ("step/header", "step/medicine")


def test_stray_yes_at_the_last_step_finishes(alexa: Alexa) -> None:
    """At the last step, a stray yes finishes the routine, as next would."""
    walk_to(alexa, 8)
    reply = alexa.intent(YES)
    assert reply.keys == ("finish/wrap_up",) and reply.ends_session


def test_stray_no_at_a_step_keeps_the_place(alexa: Alexa) -> None:
    """A no with no question asked says so and keeps the step."""
    walk_to(alexa, 2)
    reply = alexa.intent(NO)
    assert reply.keys == ("stray/no", "prompt/step")
    assert step_of(reply) == 2 and not reply.ends_session


def test_stray_yes_before_starting(alexa: Alexa) -> None:
    """A one-shot yes with nothing going on says no question was asked and offers to start."""
    reply = alexa.intent(YES)
    assert "stray/yes" in reply.keys and reply.keys[-1] == "prompt/start"
    assert step_of(reply) == 0 and not reply.ends_session


def test_fallback_escalates_shorter_then_explain_then_help(alexa: Alexa) -> None:
    """Misunderstandings escalate: a short sorry, then the options here, then help or stop,
    which stays the answer; the place is kept throughout."""
    walk_to(alexa, 2)
    replies = [alexa.intent(FALLBACK) for _ in range(4)]
    assert [miss_level(r) for r in replies] == [1, 2, 3, 3]
    assert all(r.keys == ("fallback/miss", "prompt/step") for r in replies)
    assert all(step_of(r) == 2 and not r.ends_session for r in replies)


def test_fallback_counter_resets_after_an_understood_turn(alexa: Alexa) -> None:
    """After an understood request the next miss starts again at the short answer."""
    walk_to(alexa, 2)
    alexa.intent(FALLBACK)
    alexa.intent(FALLBACK)
    alexa.intent(REPEAT)
    assert miss_level(alexa.intent(FALLBACK)) == 1


def test_unsure_without_a_question_gives_help_for_this_step(alexa: Alexa) -> None:
    """"I don't know" at a step gets the step's help."""
    walk_to(alexa, 6)
    reply = alexa.intent(UNSURE)
    assert reply.keys == ("help/here", "help/disclaimer", "prompt/step") and step_of(reply) == 6


def test_unsure_at_a_timer_offer_gets_help_and_the_offer_again(alexa: Alexa) -> None:
    """"I'm not sure" to "shall I time it?" (no safety rides on it) is help for this moment,
    then the offer again, still open; it is never counted as an unclear answer."""
    walk_to(alexa, 5)
    for _ in range(3):
        reply = alexa.intent(UNSURE)
        assert reply.keys == ("help/here", "help/disclaimer", "timer/offer")
        assert reply.state["pending"] == "timer_offer" and step_of(reply) == 5


def test_unsure_whether_to_carry_on_gets_help_and_the_question_again(alexa: Alexa) -> None:
    """"I don't know" to "carry on, or start over?" gets help, and the question stays."""
    walk_to(alexa, 2)
    alexa.intent(STOP)
    alexa.launch()
    reply = alexa.intent(UNSURE)
    assert reply.keys == ("help/here", "help/disclaimer", "memory/resume_ask")
    assert reply.state["pending"] == "resume" and reply.state["step"] == 2


def test_stray_yes_after_stopping_a_step_does_not_restart_it(alexa: Alexa) -> None:
    """Once "it hurts more" stopped a step, a stray yes never says that step again."""
    walk_to(alexa, 2)
    alexa.intent(HURTS)
    reply = alexa.intent(YES)
    assert "step/stretch" not in reply.keys and not reply.ends_session


@pytest.mark.parametrize(("start", "expected"), [
    (2, ("fallback/miss", "prompt/step")),
    (4, ("answer/unclear", "timer/offer")),  # an answer not understood: asked again
])
def test_an_intent_the_skill_does_not_know(
    alexa: Alexa, start: int, expected: tuple[str, ...]
) -> None:
    """An intent missing from the skill (an old model, a stray request) is a fallback."""
    walk_to(alexa, start)
    reply = alexa.intent("SomeRetiredIntent")
    assert reply.keys == expected and step_of(reply) == start


def test_unknown_request_type_answers_with_the_place(alexa: Alexa) -> None:
    """A request type the skill doesn't use still gets where the runner is and a prompt."""
    walk_to(alexa, 6)
    reply = alexa.request({"type": "Alexa.Presentation.APL.UserEvent", "arguments": []})
    assert reply.keys == ("nav/where", "prompt/step") and not reply.ends_session


@pytest.mark.parametrize("value", ["five & a half", "<speak>3</speak>", "x" * 300, "   "])
def test_odd_slot_values_never_break_the_ssml(alexa: Alexa, value: str) -> None:
    """Slot values with XML metacharacters, very long or blank, are passed on as heard (blank:
    nothing heard) and give well-formed speech (conftest checks every reply)."""
    walk_to(alexa, 2)
    reply = alexa.intent(GO_TO, {"number": value})
    assert step_of(reply) == 2 and reply.keys == ("nav/no_such_step", "prompt/step")
    assert reply.outcome.lines[0].args == {"heard": value.strip() or None}


@pytest.mark.parametrize("tampered", [
    "not a dict", {"step": 99}, {"step": -2, "pending": "bogus"}, {"step": "3"},
    {"finished": "yes", "misses": 10**9}, None,
])
def test_tampered_session_attributes_are_survivable(alexa: Alexa, tampered: object) -> None:
    """Session attributes that are not what the skill wrote still give a normal answer."""
    walk_to(alexa, 2)
    alexa.attributes = {"routine": tampered}
    reply = alexa.intent(NEXT)
    assert "step/header" in reply.keys and not reply.ends_session
    assert 1 <= step_of(reply) <= 8


class BuggyStore(SqliteStore):
    """A store with a bug (not a StoreError): the skill's own failure, not an outage."""

    broken = False

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        if self.broken:
            raise RuntimeError("a bug, not an outage")
        super().save_attributes(request_envelope, attributes)


def test_an_exception_inside_the_skill_gets_help_not_silence(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in a handler is logged (no user ids), answered with the place, kept."""
    store = BuggyStore(tmp_path / "memory.sqlite3")
    handle = event_handler(build_skill(store=store, observe=OUTCOMES.observe))

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = handle(envelope, None)
        check_response(envelope, raw)
        return raw

    alexa = Alexa(send, device=new_device(), outcome_of=OUTCOMES.pop)
    walk_to(alexa, 2)
    caplog.set_level(logging.INFO)
    store.broken = True
    reply = alexa.intent(NEXT)
    # Sorry, and where we are: the session may already hold the turn that failed to be stored
    # (step 3 and its question), never anything else.
    assert reply.keys[:2] == ("error/sorry", "nav/where") and not reply.ends_session
    assert step_of(reply) in (2, 3) and reply.outcome.state.step == step_of(reply)
    assert "error handling IntentRequest" in caplog.text
    for secret in (alexa.device.user_id, alexa.device.device_id, alexa.device.api_access_token):
        assert secret not in caplog.text
    store.broken = False
    after = alexa.intent(NEXT)  # the routine goes on
    assert step_of(after) == step_of(reply) + 1 and "step/header" in after.keys


def test_an_intent_request_without_an_intent_is_not_understood(alexa: Alexa) -> None:
    """An IntentRequest that carries no intent is answered like any input not understood."""
    walk_to(alexa, 6)
    reply = alexa.request({"type": "IntentRequest"})
    assert reply.keys == ("fallback/miss", "prompt/step") and step_of(reply) == 6


def test_a_request_type_newer_than_the_sdk_is_answered(alexa: Alexa) -> None:
    """A request type the SDK cannot deserialize is still answered, the place kept."""
    walk_to(alexa, 6)
    reply = alexa.request({"type": "Alexa.Future.SomethingNew", "payload": {}})
    assert reply.keys == ("fallback/miss", "prompt/step") and step_of(reply) == 6


def test_help_opening_a_session_starts_the_routine(alexa: Alexa) -> None:
    """"Ask cramp coach for help" with no routine in progress is someone with a cramp: the
    welcome (a first-timer's, with the disclaimer) and step 1."""
    reply = alexa.intent(HELP)
    assert reply.outcome.lines[0] == Line("open/welcome", {"first_time": True})
    assert reply.keys[1:3] == ("step/header", "step/stop")
    assert step_of(reply) == 1 and not reply.ends_session


def test_help_before_starting_in_an_open_session_explains_the_skill(alexa: Alexa) -> None:
    """Help before any step, in a session already open (after a one-shot "it hurts more"),
    explains the skill and how to start."""
    alexa.intent(HURTS)
    reply = alexa.intent(HELP)
    assert reply.keys == ("help/here", "help/disclaimer", "prompt/start")
    assert step_of(reply) == 0 and not reply.ends_session


def test_alexa_reporting_an_error_gets_an_empty_answer(
    lambda_handler: Callable[[dict[str, Any], Any], dict[str, Any]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """System.ExceptionEncountered (no session) is logged and answered with no speech."""
    device = new_device()
    envelope = {
        "version": "1.0",
        "context": device.context(),
        "request": {
            "type": "System.ExceptionEncountered", "requestId": "r", "locale": "en-US",
            "timestamp": "2026-11-27T17:00:00Z",
            "error": {"type": "INVALID_RESPONSE", "message": "bad response"},
            "cause": {"requestId": "earlier"},
        },
    }
    raw = lambda_handler(envelope, None)
    check_response(envelope, raw)
    assert "outputSpeech" not in raw.get("response", {})
    assert "Alexa reported an error" in caplog.text
