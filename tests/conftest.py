"""Shared fixtures: the skill behind the real Lambda entry point, and Alexa's wire rules.

Every reply any test gets through the `alexa` fixture is checked against the rules a
real Alexa response must keep (well-formed SSML with allowed tags, size limits, a reprompt
whenever the session stays open), so those rules hold across the whole suite.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
import tempfile
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tooling.standins.alexa import Alexa, Device, Reply, Send
from tooling.standins.timers_api import TimersApiStandIn

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

ALLOWED_SSML_TAGS = {
    "speak", "break", "emphasis", "lang", "p", "phoneme", "prosody", "s", "say-as", "sub",
    "voice", "w", "audio", "amazon:effect", "amazon:domain", "amazon:emotion",
}
AMAZON_NS = "{http://www.amazon.com/ssml}"  # stands in for the amazon: prefix when parsing
MAX_SPEECH_CHARS = 8000
MAX_RESPONSE_BYTES = 24 * 1024


def pytest_configure(config: pytest.Config) -> None:
    """The embedded store goes to a scratch folder, never the tester's own memory file."""
    if "CRAMP_COACH_DB" not in os.environ:
        os.environ["CRAMP_COACH_DB"] = str(Path(tempfile.mkdtemp()) / "memory.sqlite3")


# Each test gets its own stand-in of Alexa's Timers API on 127.0.0.1 (one device's timers,
# so labels and the ten-timer limit are that test's alone); every test device's apiEndpoint
# points at it, so no test can ever reach Amazon.
_timers_api: list[TimersApiStandIn] = []


_shared: list[TimersApiStandIn] = []


def _shared_timers_api() -> TimersApiStandIn:
    """For devices made outside any test (a module- or session-scoped fixture)."""
    if not _shared:
        _shared.append(TimersApiStandIn().start())
    return _shared[0]


def pytest_unconfigure(config: pytest.Config) -> None:
    for standin in _shared:
        standin.stop()


@pytest.fixture(autouse=True)
def timers_api() -> Iterator[TimersApiStandIn]:
    with TimersApiStandIn() as standin:
        _timers_api.append(standin)
        yield standin
        _timers_api.remove(standin)


def load_lambda_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """lambda/lambda_function.py, imported by path as the Lambda runtime would load it."""
    spec = importlib.util.spec_from_file_location(
        "lambda_function", ROOT / "lambda" / "lambda_function.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("lambda_function", module)
    spec.loader.exec_module(module)
    handler: Callable[[dict[str, Any], Any], dict[str, Any]] = module.lambda_handler
    return handler


def check_ssml(ssml: str) -> None:
    """SSML Alexa accepts: well-formed, allowed tags only, breaks of at most 10 s."""
    assert len(ssml) <= MAX_SPEECH_CHARS, f"speech is {len(ssml)} characters"
    namespaced = ssml.replace("<speak>", f'<speak xmlns:amazon="{AMAZON_NS[1:-1]}">', 1)
    root = ET.fromstring(namespaced)  # raises on anything not well-formed
    assert root.tag == "speak"
    for element in root.iter():
        tag = element.tag.replace(AMAZON_NS, "amazon:")
        assert tag in ALLOWED_SSML_TAGS, f"SSML tag <{tag}> is not allowed"
        if tag == "break" and "time" in element.attrib:
            value = element.attrib["time"]
            match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)", value)
            assert match, f"bad break time {value!r}"
            seconds = float(match[1]) / (1000 if match[2] == "ms" else 1)
            assert seconds <= 10, f"break of {seconds} s"


def check_response(request: dict[str, Any], raw: dict[str, Any]) -> None:
    """The rules every response keeps, whatever the request."""
    assert len(json.dumps(raw).encode()) <= MAX_RESPONSE_BYTES
    assert raw.get("version") == "1.0"
    response = raw.get("response", {})
    if request["request"]["type"] in ("SessionEndedRequest", "System.ExceptionEncountered"):
        assert "outputSpeech" not in response, "Alexa takes no speech for these requests"
        return
    speech = response.get("outputSpeech")
    assert speech and speech["type"] == "SSML", "every answer speaks"
    check_ssml(speech["ssml"])
    reprompt = response.get("reprompt")
    directives = [d.get("type") for d in response.get("directives") or []]
    if "Connections.SendRequest" in directives:
        # Handing over to Alexa's permission question: Alexa speaks next, not the skill.
        assert not reprompt and response.get("shouldEndSession") is not False
        return
    if response.get("shouldEndSession") is False:
        assert reprompt, "a response that waits for an answer needs a reprompt"
        check_ssml(reprompt["outputSpeech"]["ssml"])
    else:
        assert not reprompt, "a response with no prompt must end the session"
        assert response.get("shouldEndSession") is True
    card = response.get("card")
    if card and card.get("type") == "AskForPermissionsConsent":
        assert card.get("permissions")
    elif card:
        assert card.get("title") and len(card.get("content", "")) <= 8000


@pytest.fixture(scope="session")
def lambda_handler() -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    return load_lambda_handler()


@pytest.fixture
def replies() -> list[Reply]:
    """Every reply the test's conversations produced, for assertions across a whole run."""
    return []


@pytest.fixture
def send(
    lambda_handler: Callable[[dict[str, Any], Any], dict[str, Any]], replies: list[Reply]
) -> Send:
    def checked(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = lambda_handler(envelope, None)
        check_response(envelope, raw)
        replies.append(Reply(raw))
        return raw

    return checked


@dataclass
class FakeClock:
    """Request timestamps a test can move forward ("an hour later")."""

    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 17, 0, tzinfo=UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def new_device(timers_api: TimersApiStandIn | None = None) -> Device:
    """A device of a user nobody else in the test run has, its timers on the test's stand-in."""
    api = timers_api or (_timers_api[-1] if _timers_api else _shared_timers_api())
    return Device(user_id=f"amzn1.ask.account.test-{uuid.uuid4()}", api_endpoint=api.url,
                  api_access_token=f"token-{uuid.uuid4()}")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def alexa(send: Send, clock: FakeClock) -> Iterator[Alexa]:
    """Alexa for a new user on a speaker, en-US, talking to the Lambda entry point."""
    yield Alexa(send, locale="en-US", device=new_device(), clock=clock)


@pytest.fixture
def make_alexa(send: Send, clock: FakeClock) -> Callable[..., Alexa]:
    """Alexa for another locale or device (a new user unless the device says otherwise)."""

    def make(locale: str = "en-US", device: Device | None = None) -> Alexa:
        return Alexa(send, locale=locale, device=device or new_device(), clock=clock)

    return make
