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

from skill.app import build_skill, event_handler
from skill.routine import Outcome
from skill.timers import TimerService
from tooling.standins.alexa import Alexa, Device, Reply, Send
from tooling.standins.timers_api import InProcessTimersClient, TimersApiStandIn

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
LOCALES = sorted(p.stem for p in (ROOT / "interaction_models").glob("*.json"))


def _main_locales() -> list[str]:
    """One locale per language: the one with a phrase corpus (tests/corpus/<locale>.txt), or
    the first by name. Tests that drive intents and assert keys say nothing a country changes
    but the emergency number, so they run once per language (marker `every_locale`); what
    countries change (the number, spelling, a template override) is checked in every locale
    (marker `every_country`, tests/test_locales.py, tests/test_wording.py)."""
    by_language: dict[str, list[str]] = {}
    for locale in LOCALES:
        by_language.setdefault(locale.split("-")[0], []).append(locale)
    corpora = {p.stem for p in (ROOT / "tests" / "corpus").glob("*.txt")}
    return sorted(next((loc for loc in found if loc in corpora), found[0])
                  for found in by_language.values())


MAIN_LOCALES = _main_locales()
LANGUAGES = sorted({locale.split("-")[0] for locale in LOCALES})
# The locales whose words can differ from their language's main locale's: the main ones and
# any with templates of its own (skill/templates/es-ES/...). Template checks run on these.
TEMPLATE_LOCALES = sorted({*MAIN_LOCALES, *(loc for loc in LOCALES
                                            if (ROOT / "skill" / "templates" / loc).is_dir())})

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


# Each test gets its own stand-in of Alexa's Timers API (one device's timers, so labels and
# the ten-timer limit are that test's alone), answering in process: the skill's own Timers
# client and TimerService run as they would, without a socket (tooling.standins.timers_api
# InProcessTimersClient). tests/test_timers.py drives the HTTP client against the stand-in
# served over real HTTP. No test can ever reach Amazon.
_timers_api: list[TimersApiStandIn] = []


@pytest.fixture(autouse=True)
def timers_api() -> Iterator[TimersApiStandIn]:
    standin = TimersApiStandIn(clock=_RequestClock())
    _timers_api.append(standin)
    yield standin
    _timers_api.remove(standin)


class _RequestClock:
    """The stand-in's clock follows the requests' timestamps (tests move time with them)."""

    now_s: float = datetime(2026, 11, 27, 17, 0, tzinfo=UTC).timestamp()

    def now(self) -> float:
        return self.now_s


def in_process_timers(handler_input: Any) -> TimerService:
    """The Timers API of the current test's stand-in, for the request's device."""
    standin = _timers_api[-1]
    envelope = handler_input.request_envelope
    stamp = getattr(envelope.request, "timestamp", None)
    if isinstance(standin.clock, _RequestClock) and isinstance(stamp, datetime):
        standin.clock.now_s = max(standin.clock.now_s, stamp.timestamp())
    locale = getattr(envelope.request, "locale", None)
    if isinstance(locale, str) and locale:
        standin.locale = locale  # the device speaks the request's language
    system = envelope.context.system
    return TimerService.for_endpoint(system.api_endpoint, system.api_access_token,
                                     api_client=InProcessTimersClient(standin))


class Outcomes:
    """What the skill chose for each request, by request id (the observer's record)."""

    def __init__(self) -> None:
        self.by_request: dict[str, Outcome] = {}

    def observe(self, handler_input: Any, outcome: Outcome) -> None:
        request_id = getattr(handler_input.request_envelope.request, "request_id", None)
        if isinstance(request_id, str):
            self.by_request[request_id] = outcome

    def pop(self, request_id: str) -> Outcome | None:
        return self.by_request.pop(request_id, None)


OUTCOMES = Outcomes()


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
    if request["request"]["type"] == "CanFulfillIntentRequest":
        # Only the answer: nothing said, shown or done (name-free interaction).
        assert set(response) == {"canFulfillIntent"}, sorted(response)
        answer = response["canFulfillIntent"]
        assert answer["canFulfill"] in ("YES", "NO", "MAYBE")
        for slot in (answer.get("slots") or {}).values():
            assert slot["canUnderstand"] in ("YES", "NO", "MAYBE")
            assert slot["canFulfill"] in ("YES", "NO")
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
    """The skill as lambda/lambda_function.py builds it, with the tests' two seams: the
    Timers API in process, and an observer recording what the routine chose."""
    return event_handler(build_skill(timer_service=in_process_timers,
                                     observe=OUTCOMES.observe))


def skill_on(store: Any) -> Send:
    """The skill on a store of the test's own (a spy, a fault injector, DynamoDB), with the
    same seams as lambda_handler, every reply held to Alexa's wire rules."""
    handle = event_handler(build_skill(store=store, timer_service=in_process_timers,
                                       observe=OUTCOMES.observe))

    def checked(envelope: dict[str, Any]) -> dict[str, Any]:
        raw = handle(envelope, None)
        check_response(envelope, raw)
        return raw

    return checked


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
        request_id = envelope["request"].get("requestId")
        outcome = OUTCOMES.by_request.get(request_id) if isinstance(request_id, str) else None
        replies.append(Reply(raw, outcome))
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


def new_device(kind: str = "speaker", **fields: Any) -> Device:
    """A device of a user nobody else in the test run has (its timers on the test's stand-in)."""
    fields.setdefault("user_id", f"amzn1.ask.account.test-{uuid.uuid4()}")
    fields.setdefault("api_access_token", f"token-{uuid.uuid4()}")
    return Device.of_kind(kind, **fields)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """`locale`: every locale with a model in tests marked `every_country`, each language's
    main locale in tests marked `every_locale`, else en-US."""
    if "locale" in metafunc.fixturenames:
        definition = metafunc.definition
        if definition.get_closest_marker("every_country") is not None:
            locales = LOCALES
        elif definition.get_closest_marker("every_locale") is not None:
            locales = MAIN_LOCALES
        else:
            locales = ["en-US"]
        metafunc.parametrize("locale", locales, scope="function")


@pytest.fixture
def alexa(send: Send, clock: FakeClock, locale: str) -> Iterator[Alexa]:
    """Alexa for a new user on a speaker, talking to the Lambda entry point (en-US, or every
    locale in a module marked `every_locale`)."""
    yield Alexa(send, locale=locale, device=new_device(), clock=clock, outcome_of=OUTCOMES.pop)


@pytest.fixture
def make_alexa(send: Send, clock: FakeClock, locale: str) -> Callable[..., Alexa]:
    """Alexa for another device (a new user unless the device says otherwise) or locale."""

    def make(locale: str = locale, device: Device | None = None) -> Alexa:
        return Alexa(send, locale=locale, device=device or new_device(), clock=clock,
                     outcome_of=OUTCOMES.pop)

    return make


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The exhaustive explorations first, then the other tests that take seconds each: pytest-
    xdist hands out tests in this order, so started last they would leave the other workers
    idle at the end."""
    def when(item: pytest.Item) -> int:
        if item.get_closest_marker("exhaustive") is not None:
            return 0
        return 1 if item.get_closest_marker("long") or item.get_closest_marker("slow") else 2

    items.sort(key=when)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The exhaustive exploration's figures (tests/test_exhaustive.py), at the end of a run."""
    lines = [value for report in terminalreporter.stats.get("passed", [])
             for name, value in getattr(report, "user_properties", ())
             if name == "exploration"]
    if lines:
        terminalreporter.section("states explored")
        for line in sorted(lines):
            terminalreporter.write_line(line)
