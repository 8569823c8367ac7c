"""Input that doesn't fit: each gets a useful spoken answer and loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.app import build_skill, event_handler
from skill.memory import SqliteStore
from tests.conftest import check_response, new_device
from tests.talk import FALLBACK, GO_TO, HELP, NEXT, NO, REPEAT, UNSURE, YES, step_of, walk_to
from tooling.standins.alexa import Alexa


@pytest.mark.parametrize("answer", [YES, NO])
def test_yes_or_no_with_no_question_pending(alexa: Alexa, answer: str) -> None:
    """A stray yes or no says no question was asked, names the step and keeps going."""
    walk_to(alexa, 2)
    reply = alexa.intent(answer)
    assert "I didn't ask a question" in reply.speech and "step 2" in reply.speech
    assert step_of(reply) == 2 and not reply.ends_session


def test_stray_yes_before_starting(alexa: Alexa) -> None:
    """A one-shot yes with nothing going on offers to start."""
    reply = alexa.intent(YES)
    assert "I didn't ask a question" in reply.speech and "say start" in reply.speech


def test_fallback_escalates_shorter_then_explain_then_help(alexa: Alexa) -> None:
    """Misunderstandings escalate: a short sorry, then the options here, then help or stop."""
    walk_to(alexa, 2)
    first = alexa.intent(FALLBACK).speech
    second = alexa.intent(FALLBACK).speech
    third = alexa.intent(FALLBACK).speech
    assert first.startswith("Sorry, I didn't get that.")
    assert "We're on step 2" in second and "next, repeat or go back" in second
    assert "Say help" in third and "keep your place" in third
    assert len(first) < len(second)
    assert "I'm having trouble" in alexa.intent(FALLBACK).speech  # it stays at the top level


def test_fallback_counter_resets_after_an_understood_turn(alexa: Alexa) -> None:
    """After an understood request the next miss starts again at the short answer."""
    walk_to(alexa, 2)
    alexa.intent(FALLBACK)
    alexa.intent(FALLBACK)
    alexa.intent(REPEAT)
    assert alexa.intent(FALLBACK).speech.startswith("Sorry, I didn't get that.")


def test_unsure_without_a_question_gives_help_for_this_step(alexa: Alexa) -> None:
    """"I don't know" at a step gets the step's help."""
    walk_to(alexa, 5)
    reply = alexa.intent(UNSURE)
    assert "You're on step 5" in reply.speech and "say next" in reply.speech.lower()


def test_an_intent_the_skill_does_not_know(alexa: Alexa) -> None:
    """An intent missing from the skill (an old model, a stray request) is a fallback."""
    walk_to(alexa, 4)
    reply = alexa.intent("SomeRetiredIntent")
    assert "Sorry, I didn't get that." in reply.speech and step_of(reply) == 4


def test_unknown_request_type_answers_with_the_place(alexa: Alexa) -> None:
    """A request type the skill doesn't use still gets where the runner is and a prompt."""
    walk_to(alexa, 6)
    reply = alexa.request({"type": "Alexa.Presentation.APL.UserEvent", "arguments": []})
    assert "You're on step 6 of 8" in reply.speech and not reply.ends_session


@pytest.mark.parametrize("value", ["five & a half", "<speak>3</speak>", "x" * 300, "   "])
def test_odd_slot_values_never_break_the_ssml(alexa: Alexa, value: str) -> None:
    """Slot values with XML metacharacters, very long or blank, give well-formed speech."""
    walk_to(alexa, 2)
    reply = alexa.intent(GO_TO, {"number": value})
    assert step_of(reply) == 2
    if value.strip():
        # Escaped in SSML, intact to the ear; a long one is cut short, not read out whole.
        assert f"I don't have a step {value[:40]}" in reply.speech
        assert value[:41] not in reply.speech or len(value) <= 40
    else:
        assert "I didn't catch which step" in reply.speech


@pytest.mark.parametrize("tampered", [
    "not a dict", {"step": 99}, {"step": -2, "pending": "bogus"}, {"step": "3"},
    {"finished": "yes", "misses": 10**9}, None,
])
def test_tampered_session_attributes_are_survivable(alexa: Alexa, tampered: object) -> None:
    """Session attributes that are not what the skill wrote still give a normal answer."""
    walk_to(alexa, 2)
    alexa.attributes = {"routine": tampered}
    reply = alexa.intent(NEXT)
    assert "Step" in reply.speech and not reply.ends_session


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
    handle = event_handler(build_skill(store=store))

    def send(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = handle(envelope, None)
        check_response(envelope, raw)
        return raw

    alexa = Alexa(send, device=new_device())
    walk_to(alexa, 4)
    caplog.set_level(logging.INFO)
    store.broken = True
    reply = alexa.intent(NEXT)
    assert "Sorry, I had a problem there" in reply.speech
    assert "You're on step 4 of 8" in reply.speech and not reply.ends_session
    assert step_of(reply) == 4
    assert "error handling IntentRequest" in caplog.text
    for secret in (alexa.device.user_id, alexa.device.device_id, alexa.device.api_access_token):
        assert secret not in caplog.text
    store.broken = False
    assert "Step 5 of 8" in alexa.intent(NEXT).speech  # the routine goes on


def test_an_intent_request_without_an_intent_is_not_understood(alexa: Alexa) -> None:
    """An IntentRequest that carries no intent is answered like any input not understood."""
    walk_to(alexa, 4)
    reply = alexa.request({"type": "IntentRequest"})
    assert "Sorry, I didn't get that" in reply.speech and step_of(reply) == 4


def test_a_request_type_newer_than_the_sdk_is_answered(alexa: Alexa) -> None:
    """A request type the SDK cannot deserialize is still answered, the place kept."""
    walk_to(alexa, 6)
    reply = alexa.request({"type": "Alexa.Future.SomethingNew", "payload": {}})
    assert "Sorry, I didn't get that" in reply.speech and step_of(reply) == 6


def test_help_before_starting_explains_the_skill(alexa: Alexa) -> None:
    """Help in a one-shot, before any step, says what the skill does and how to start."""
    reply = alexa.intent(HELP)
    assert "one step at a time" in reply.speech and "say start" in reply.speech


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
