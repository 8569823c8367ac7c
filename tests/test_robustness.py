"""Property-based robustness: generated requests and conversations through the Lambda entry point.

Every request goes through `lambda/lambda_function.py` as a JSON dict, exactly as Lambda would
hand it over, and every response is held to `tests.conftest.check_response` (SSML rules, a
reprompt if and only if the session stays open, at most 24 KB). On top of that, each response
must speak (no request may end in the SDK's error or the skill's own "I had a problem"
apology), its session attributes must survive JSON both ways and its routine state must read
back unchanged, and after "it hurts more" at a hands-on step no later turn at that step may
speak the step's instruction again (no `step/<id>` key: what the routine chose, in any
language).

What is generated: any intent of any interaction model in interaction_models/ (and made-up
ones), slots present, empty or missing, slot values with SSML/XML metacharacters and control
characters, empty and very long strings (random ones up to `LONG_MAX` characters, a few of
`HUGE`), missing fields (intent, slots, intent name, locale, timestamp, session attributes,
API token and endpoint), the other request types the SDK knows and some it does not, session
attributes tampered with (random JSON under "routine" and "_version", every field of the
routine's state in and out of range: a held step beyond the routine, a timer purpose that is
no purpose, round times that are NaN, infinite or huge), session attributes that are no object
at all (a list, a string, a number, null), a permission answer whose payload is no object, any
xx-YY locale,
stored progress in any state, and the Timers API stand-in (failing with any status or a
dropped connection mid-conversation), a refused endpoint or none.

Example counts (hypothesis profile "robustness-ci", the default; derandomized, no example
database, no deadline, so every CI run tries the same examples):
    test_any_request_in_any_state                     250 examples, one request each
    test_any_conversation                             120 examples of 10 to 30 turns
    test_no_hands_on_instruction_after_it_hurts_more  120 examples of 4 to 15 turns
about 2,800 requests in all, some 25 s on a 2-core machine. CRAMP_COACH_HYPOTHESIS=thorough
runs ten times as many, randomized.

The targeted tests at the end pin the failures these generators first found (a request type
newer than the SDK, an IntentRequest with no intent, a 10,000-character slot value, a control
character in a slot, "go to step N" at step N after "it hurts more", an impossible stored
date, a session ending for a reason newer than the SDK) and those issue 12 found (session
attributes that are no object, a permission payload that is no object, the routine's newer
fields tampered with), so each stays fixed whatever the generators happen to draw.
"""

from __future__ import annotations

import json
import math
import os
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import RequestEnvelope
from ask_sdk_model.request import Request
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from skill.app import build_skill, event_handler
from skill.memory import VERSION_KEY, store_for
from skill.permissions import PERMISSION_TOKEN, TIMERS_SCOPE
from skill.routine import Outcome, Purpose, Question, State, load_routine
from skill.settings import Settings
from skill.speech import to_text
from tests.conftest import OUTCOMES, ROOT, check_response
from tooling.standins.timers_api import TimersApiStandIn

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

settings.register_profile(
    "robustness-ci",
    max_examples=100,  # each test below sets its own count; see the module docstring
    deadline=None,  # a turn's time varies on a loaded CI machine; speed lives in benchmarks/
    derandomize=True,  # the same examples every run: a CI failure is reproducible
    database=None,  # nothing stored between runs, nothing shared between checkouts
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "robustness-thorough",
    parent=settings.get_profile("robustness-ci"),
    derandomize=False,
)
THOROUGH = os.environ.get("CRAMP_COACH_HYPOTHESIS") == "thorough"
PROFILE = settings.get_profile("robustness-thorough" if THOROUGH else "robustness-ci")


def examples(n: int) -> settings:
    """The module's profile with `n` examples (ten times as many when thorough)."""
    return settings(PROFILE, max_examples=n * 10 if THOROUGH else n)


# --- what the interaction models and the routine say ------------------------------------------

MODEL_DIR = ROOT / "interaction_models"
ROUTINE = load_routine()
STATE_KEY = "routine"  # the session attribute that carries the routine (skill.conversation)
# Long enough to be far past any spoken utterance; short enough that a value echoed back
# (escaped, up to 6 characters for 1) still fits Alexa's 8,000-character speech limit.
LONG_MAX = 1000
HUGE = 10_000  # a few values this long are drawn too: the skill must not echo them whole
HANDS_ON_STEPS = [n for n, s in enumerate(ROUTINE.steps, start=1) if s.hands_on]


@dataclass(frozen=True)
class Intent:
    name: str
    slots: dict[str, str]  # slot name -> slot type


@cache
def model_intents() -> tuple[Intent, ...]:
    """Every intent of every locale's model, with its slots (the union over locales)."""
    found: dict[str, dict[str, str]] = {}
    for path in sorted(MODEL_DIR.glob("*.json")):
        language = json.loads(path.read_text())["interactionModel"]["languageModel"]
        for intent in language["intents"]:
            slots = found.setdefault(intent["name"], {})
            slots.update({s["name"]: s["type"] for s in intent.get("slots", [])})
    return tuple(Intent(name, slots) for name, slots in sorted(found.items()))


@cache
def custom_slot_ids() -> dict[str, tuple[str, ...]]:
    """Custom slot type -> the ids its values resolve to."""
    ids: dict[str, set[str]] = {}
    for path in sorted(MODEL_DIR.glob("*.json")):
        language = json.loads(path.read_text())["interactionModel"]["languageModel"]
        for slot_type in language.get("types", []):
            ids.setdefault(slot_type["name"], set()).update(
                v.get("id") or v["name"]["value"] for v in slot_type["values"]
            )
    return {name: tuple(sorted(values)) for name, values in ids.items()}


def model_locales() -> list[str]:
    return sorted(p.stem for p in MODEL_DIR.glob("*.json"))


# Request types the SDK can read, besides the three every skill handles, and some it cannot
# (newer than the SDK): the skill must answer each inside a session.
OTHER_REQUEST_TYPES = sorted(
    set(Request.discriminator_value_class_map)
    - {"LaunchRequest", "IntentRequest", "SessionEndedRequest"}
)
NEWER_REQUEST_TYPES = ["Alexa.Something.New", "Dialog.Future", "Foo"]
SESSION_END_REASONS = ["USER_INITIATED", "ERROR", "EXCEEDED_MAX_REPROMPTS", "A_NEW_REASON"]


@cache
def memory() -> Any:
    """The store the skill keeps users in (the settings' SQLite file: conftest's scratch one)."""
    return store_for(Settings.from_env())


# --- strategies -------------------------------------------------------------------------------

# Any character but lone surrogates (which no UTF-8 JSON from Alexa can carry): letters,
# emoji, XML metacharacters, and control characters XML forbids even escaped.
speakable = st.characters(blacklist_categories=["Cs"])
TRICKY = [
    "", " ", "   ", "&", "<", ">", '"', "'", "&amp;", "&lt;speak&gt;", "<speak>3</speak>",
    "</speak>", "<break time=\"30s\"/>", "five & a half", "]]>", "<!--", "x" * LONG_MAX,
    "&" * LONG_MAX, "\"'<>&" * (LONG_MAX // 5), "\u00e9t\u00e9", "\U0001f4a9", "NaN", "null",
    "4\x01", "\x00", "\ufffe", "x" * HUGE, "<&>" * (HUGE // 3),
]
slot_text = st.one_of(
    st.text(speakable, max_size=30),
    st.sampled_from(TRICKY),
    st.text(speakable, min_size=200, max_size=LONG_MAX),
    # Step numbers as heard: in range, out of range, ordinals.
    st.integers(-1, ROUTINE.total + 2).map(str),
    st.integers(0, ROUTINE.total + 2).map(lambda n: f"{n}{'th' if n > 3 else 'rd'}"),
)


@st.composite
def wire_slot(draw: st.DrawFn, name: str, slot_type: str) -> dict[str, Any]:
    """One slot as Alexa sends it: with or without a value, resolved or not (custom types)."""
    entry: dict[str, Any] = {"name": name, "confirmationStatus": "NONE"}
    if draw(st.integers(0, 5)):  # mostly heard; sometimes a slot with no value
        entry["value"] = draw(slot_text)
    ids = custom_slot_ids().get(slot_type)
    if ids is not None and draw(st.booleans()):
        authority = f"amzn1.er-authority.echo-sdk.test.{slot_type}"
        matched = draw(st.one_of(st.none(), st.sampled_from(ids), st.text(speakable, max_size=20)))
        if matched is None:
            status, values = "ER_SUCCESS_NO_MATCH", []
        else:
            status, values = "ER_SUCCESS_MATCH", [
                {"value": {"name": entry.get("value", ""), "id": matched}}
            ]
        entry["resolutions"] = {"resolutionsPerAuthority": [
            {"authority": authority, "status": {"code": status}, "values": values}
        ]}
    return entry


made_up_intent = st.one_of(
    st.from_regex(r"[A-Z][A-Za-z]{0,20}Intent", fullmatch=True),
    st.sampled_from(["AMAZON.ScrollUpIntent", "AMAZON.SelectIntent", "AMAZON.LoopOnIntent"]),
).map(lambda name: Intent(name, {}))


@st.composite
def intent_request(draw: st.DrawFn) -> dict[str, Any]:
    """An IntentRequest for an intent of the model (or a made-up one), slots in any shape."""
    intent = draw(st.one_of(st.sampled_from(model_intents()), made_up_intent))
    body: dict[str, Any] = {"name": intent.name, "confirmationStatus": "NONE"}
    shape = draw(st.sampled_from(["declared", "declared", "none", "null", "extra"]))
    if shape in ("declared", "extra"):
        slots = {}
        for name, slot_type in intent.slots.items():
            if draw(st.integers(0, 4)):  # mostly present
                slots[name] = draw(wire_slot(name, slot_type))
        if shape == "extra":
            slots["undeclared"] = draw(wire_slot("undeclared", "AMAZON.SearchQuery"))
        body["slots"] = slots
    elif shape == "null":
        body["slots"] = None
    if not draw(st.integers(0, 20)):
        del body["name"]  # an intent with no name at all
    if not draw(st.integers(0, 20)):
        return {"type": "IntentRequest", "dialogState": "COMPLETED"}  # no intent at all
    return {"type": "IntentRequest", "dialogState": "COMPLETED", "intent": body}


json_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(speakable, max_size=20),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
@st.composite
def other_request(draw: st.DrawFn, kind: str | None = None) -> dict[str, Any]:
    """A request of another type than launch, intent or session end, with a plausible body."""
    kind = kind or draw(st.sampled_from(OTHER_REQUEST_TYPES + NEWER_REQUEST_TYPES))
    request: dict[str, Any] = {"type": kind}
    if kind == "Connections.Response":
        # An answer to a permission question (the timers consent) in any shape.
        request.update({
            "name": draw(st.sampled_from(["AskFor", "Buy", "Other"])),
            "status": {"code": draw(st.sampled_from(["200", "400", "500"])), "message": "OK"},
            # Mostly an object; sometimes a list, a string, a number or null (issue 12).
            "payload": draw(st.one_of(st.fixed_dictionaries({}, optional={
                "status": st.sampled_from(["ACCEPTED", "DENIED", "NOT_ANSWERED", "junk"]),
                "permissionScope": st.sampled_from([TIMERS_SCOPE, "other"]),
                "isCardThrown": st.one_of(st.booleans(), json_scalar),
            }), json_value)),
            "token": draw(st.one_of(st.just(PERMISSION_TOKEN), st.text(speakable, max_size=20))),
        })
    elif kind == "Alexa.Presentation.APL.UserEvent":
        request["arguments"] = draw(st.lists(st.text(speakable, max_size=10), max_size=3))
    return request


# Times a request may carry, and ones that no clock gives: NaN, infinities, huge (issue 12).
BAD_FLOATS = [math.nan, math.inf, -math.inf, 1e300, -1.0, -0.0]
_FIELD_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "int": st.one_of(st.integers(-2, ROUTINE.total + 3), st.sampled_from([10**6, 2**63])),
    "bool": st.booleans(),
    "float": st.one_of(st.floats(-1e12, 1e12), st.sampled_from([0.0, 1.7e9, 1e11, *BAD_FLOATS])),
    "str": st.one_of(st.sampled_from(["driving", "parked", ""]), st.text(speakable, max_size=30)),
}
timer_dict = st.fixed_dictionaries({}, optional={
    "id": st.one_of(st.just("t-1"), json_scalar),
    "purpose": st.one_of(st.sampled_from([p.value for p in Purpose]), json_scalar),
    "minutes": st.one_of(st.integers(-1, 200), json_scalar),
    "ends_at": st.one_of(st.sampled_from([1.795e9, *BAD_FLOATS]), json_scalar),
    "paused_left": st.one_of(st.sampled_from([0.0, 60.0, *BAD_FLOATS]), json_scalar),
})


def state_field_values(name: str, type_name: str) -> st.SearchStrategy[Any]:
    """Values for one field of the routine's state: its own type mostly, junk sometimes."""
    own: st.SearchStrategy[Any] = _FIELD_VALUES.get(type_name, json_value)
    if name == "pending":
        own = st.sampled_from([None, *(q.value for q in Question)])
    elif name == "wanted_purpose":
        own = st.sampled_from([None, *(p.value for p in Purpose), "lava", "", "COLD"])
    elif name == "held_from":  # the first step held back while driving: beyond the routine too
        own = st.integers(-1, ROUTINE.total + 2)
    elif name == "timers":
        own = st.lists(st.one_of(timer_dict, json_value), max_size=4)
    elif name == "episodes":
        own = st.lists(st.one_of(
            st.dates().map(lambda d: d.isoformat()),
            st.sampled_from(["2026-13-45", "2026-02-30", "yesterday", "", "2026"]),
        ), max_size=14)
    return st.one_of(own, own, own, json_value)


# Every field of the state, whatever fields the routine grows (timers, situations).
routine_dict = st.fixed_dictionaries({}, optional={
    f.name: state_field_values(f.name, str(f.type)) for f in fields(State)
})
tampered_attributes = st.fixed_dictionaries({}, optional={
    STATE_KEY: st.one_of(routine_dict, routine_dict, json_value),
    VERSION_KEY: st.one_of(st.integers(-3, 10**20), json_value),
    "anything": json_value,
})
NULL = None  # sent as JSON null: the "attributes" field is there, and null
OMIT = object()  # the "attributes" field left out
# Session attributes that are no object at all (issue 12): Alexa sends back what it was given.
not_an_object = st.one_of(
    st.lists(json_value, max_size=3), st.text(speakable, max_size=20),
    st.integers(-(2**70), 2**70), st.floats(), st.booleans(), st.just(NULL),
)
locale = st.one_of(
    st.sampled_from(model_locales()),
    st.from_regex(r"[a-z]{2}-[A-Z]{2}", fullmatch=True),
    st.none(),  # no locale field at all
)


# --- Alexa's side, with fields that can go missing -------------------------------------------

KEEP = object()  # "send the session attributes Alexa holds", as opposed to replacing them


@dataclass
class Wire:
    """Alexa for one user, sending hand-built envelopes whose fields may be left out."""

    handler: Handler
    api_endpoint: str | None
    locale: str | None = "en-US"
    timers_api: TimersApiStandIn | None = None  # the stand-in behind api_endpoint, if any
    user_id: str = field(default_factory=lambda: f"amzn1.ask.account.robust-{uuid.uuid4()}")
    session_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    now: datetime = field(default_factory=lambda: datetime(2026, 11, 27, 17, 0, tzinfo=UTC))
    outcome: Outcome | None = None  # what the routine chose for the last request

    def envelope(self, request: dict[str, Any], *, attributes: Any = KEEP,
                 locale: Any = KEEP, timestamp: bool = True, api: bool = True,
                 ) -> dict[str, Any]:
        new = self.session_id is None
        if new:
            self.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
            self.attributes = {}
        request = {"requestId": f"amzn1.echo-api.request.{uuid.uuid4()}", **request}
        if timestamp:
            request["timestamp"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")
        chosen = self.locale if locale is KEEP else locale
        if chosen is not None:
            request["locale"] = chosen
        session: dict[str, Any] = {
            "new": new, "sessionId": self.session_id,
            "application": {"applicationId": "amzn1.ask.skill.robustness"},
            "user": {"userId": self.user_id},
        }
        sent = self.attributes if attributes is KEEP else attributes
        if sent is not OMIT:
            session["attributes"] = sent
        envelope: dict[str, Any] = {"version": "1.0", "session": session, "request": request}
        system: dict[str, Any] = {
            "application": {"applicationId": "amzn1.ask.skill.robustness"},
            "user": {"userId": self.user_id},
            "device": {"deviceId": "amzn1.ask.device.robust", "supportedInterfaces": {}},
        }
        if api:  # no api: no token and no endpoint (the Alexa APIs cannot be called)
            system["apiAccessToken"] = "robustness-token"
            if self.api_endpoint is not None:
                system["apiEndpoint"] = self.api_endpoint
        envelope["context"] = {"System": system}
        return envelope

    def send(self, envelope: dict[str, Any]) -> dict[str, Any]:
        """Send through JSON both ways, check the wire rules, and carry the session on."""
        raw: dict[str, Any] = json.loads(json.dumps(self.handler(json.loads(json.dumps(
            envelope)), None)))
        self.outcome = OUTCOMES.pop(envelope["request"]["requestId"])
        check_answer(envelope, raw, self.outcome)
        if envelope["request"]["type"] == "SessionEndedRequest" or session_ends(raw):
            self.session_id, self.attributes = None, {}
        else:
            self.attributes = raw.get("sessionAttributes") or {}
        return raw


def session_ends(raw: dict[str, Any]) -> bool:
    """Whether Alexa closes the session after this response (a hand-over keeps it open)."""
    response = raw.get("response") or {}
    directives = [d.get("type") for d in response.get("directives") or []]
    return response.get("shouldEndSession") is not False and (
        "Connections.SendRequest" not in directives)


def check_answer(envelope: dict[str, Any], raw: dict[str, Any], outcome: Outcome | None) -> None:
    """The properties every single response must have."""
    check_response(envelope, raw)  # SSML, reprompt iff open, size, version
    request = envelope["request"]
    attributes = raw.get("sessionAttributes")
    if attributes is not None:
        text = json.dumps(attributes, allow_nan=False)  # plain JSON: no NaN, no objects
        assert json.loads(text) == attributes
        if STATE_KEY in attributes:
            # The state the skill wrote reads back as itself: nothing of it is dropped.
            state = State.from_dict(attributes[STATE_KEY], ROUTINE)
            assert state.to_dict() == attributes[STATE_KEY]
    if request["type"] in ("SessionEndedRequest", "System.ExceptionEncountered"):
        return  # Alexa takes no speech for these
    if request["type"] == "CanFulfillIntentRequest":
        # Only an answer to "could you take this?": no turn of the routine at all.
        assert outcome is None, "asking whether the skill can fulfil a request took a turn"
        return
    speech = to_text(raw["response"]["outputSpeech"]["ssml"])
    assert speech, "the skill must say something"
    assert outcome is not None, "the answer did not come from the routine"
    assert "error/sorry" not in outcome.keys, (
        "the request reached the error handler: something in the skill raised"
    )


def step_in(raw: dict[str, Any]) -> tuple[int, bool] | None:
    """(step, finished) as the response's session says, or None when the session ended."""
    state = (raw.get("sessionAttributes") or {}).get(STATE_KEY)
    if not isinstance(state, dict) or session_ends(raw):
        return None
    return int(state.get("step", 0)), bool(state.get("finished"))


def user_envelope(user_id: str) -> Any:
    """A request envelope (SDK object) naming the user, to read or seed their stored state."""
    body = {"version": "1.0", "request": {"type": "LaunchRequest", "requestId": "r"},
            "context": {"System": {"user": {"userId": user_id}}}}
    return DefaultSerializer().deserialize(json.dumps(body), RequestEnvelope)


def stored_step(user_id: str) -> int:
    """Where the skill will pick up for this user: the stored state's step (0 if none)."""
    record = memory().get_attributes(user_envelope(user_id))
    return State.from_dict(record.get(STATE_KEY), ROUTINE).step


def step_before(envelope: dict[str, Any]) -> int:
    """The step a request finds the runner at: its session's state, or the stored one."""
    session = envelope.get("session") or {}
    if session.get("new", True):
        return stored_step(session["user"]["userId"])
    state = (session.get("attributes") or {}).get(STATE_KEY)
    return State.from_dict(state, ROUTINE).step


@dataclass
class HurtsMoreWatch:
    """After "it hurts more" at a hands-on step, that step's instruction (its `step/<id>` key)
    is never spoken again until the runner has left the step."""

    step: int | None = None

    def after(self, wire: Wire, envelope: dict[str, Any], raw: dict[str, Any],
              reset: bool = False) -> None:
        request = envelope["request"]
        keys = wire.outcome.keys if wire.outcome is not None else ()
        intent = (request.get("intent") or {}).get("name")
        hurt_at = step_before(envelope) if intent == "HurtsMoreIntent" else None
        for watched in {s for s in (self.step, hurt_at) if s is not None and s in HANDS_ON_STEPS}:
            if reset and watched == self.step:
                continue
            if currently_in_test_context():  # statistics, for --hypothesis-show-statistics
                event("a turn checked after 'it hurts more'")
            instruction = f"step/{ROUTINE.step(watched).id}"
            assert instruction not in keys, (
                f"step {watched}'s instruction after 'it hurts more': {keys}")
        where = step_in(raw)
        if where is None:  # the session ended: the stored state is where the skill resumes
            step = stored_step(wire.user_id)
            where = (step, step == 0)
        if reset or where[0] != self.step or where[1]:
            self.step = None
        if hurt_at is not None and where == (hurt_at, False) and hurt_at in HANDS_ON_STEPS:
            self.step = hurt_at


# --- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lambda_handler() -> Handler:
    """The skill as the Lambda builds it, its Timers API over HTTP (to the stand-in, to a port
    that refuses, or to no endpoint at all), with the tests' observer of what it chose."""
    return event_handler(build_skill(observe=OUTCOMES.observe))


# Module-scoped, in place of conftest's per-test in-process one: hypothesis runs many examples
# in one test, and the skill here calls the stand-in over real HTTP.
@pytest.fixture(scope="module")
def timers_api() -> Iterator[TimersApiStandIn]:
    """The Timers API stand-in, for the skill's timer calls (whatever the skill makes)."""
    with TimersApiStandIn() as api:
        yield api


@pytest.fixture(scope="module")
def endpoints(timers_api: TimersApiStandIn) -> list[str | None]:
    """apiEndpoint values: the stand-in, a loopback port that refuses, or none at all."""
    return [timers_api.url, timers_api.url, "http://127.0.0.1:9", None]


def fresh_wire(handler: Handler, timers_api: TimersApiStandIn, endpoint: str | None,
               locale: str | None) -> Wire:
    """A new user, with the Timers API stand-in healthy and empty (it is shared by examples)."""
    timers_api.clear_faults()
    for timer in timers_api.timers():
        request = urllib.request.Request(f"{timers_api.url}/v1/alerts/timers/{timer.id}",
                                         method="DELETE",
                                         headers={"Authorization": "Bearer robustness-token"})
        urllib.request.urlopen(request, timeout=5).close()
    return Wire(handler, endpoint, locale=locale,
                timers_api=timers_api if endpoint == timers_api.url else None)


def turn_strategy() -> st.SearchStrategy[tuple[str, Any]]:
    """One turn of a conversation: what Alexa sends, and how the envelope is damaged."""
    return st.one_of(
        st.tuples(st.just("intent"), intent_request()),
        st.tuples(st.just("intent"), intent_request()),
        st.tuples(st.just("intent"), intent_request()),
        st.tuples(st.just("next"), st.sampled_from(
            ["AMAZON.NextIntent", "AMAZON.YesIntent", "AMAZON.NoIntent", "HurtsMoreIntent"])),
        st.tuples(st.just("launch"), st.none()),
        st.tuples(st.just("end"), st.sampled_from(SESSION_END_REASONS)),
        st.tuples(st.just("other"), other_request()),
        st.tuples(st.just("other"), other_request("Connections.Response")),  # a consent answer
        st.tuples(st.just("timers_fault"), st.sampled_from(
            [400, 401, 403, 404, 429, 500, 502, 504, "drop"])),
        st.tuples(st.just("tamper"), tampered_attributes),
        st.tuples(st.just("tamper"), not_an_object),
        st.tuples(st.just("no_attributes"), st.none()),
        st.tuples(st.just("locale"), locale),
        st.tuples(st.just("wait"), st.sampled_from([5, 90, 3600, 13 * 3600, 3 * 86400])),
    )


def play(wire: Wire, turn: tuple[str, Any], watch: HurtsMoreWatch) -> None:
    """Send one generated turn (some turns only change what the next envelope looks like)."""
    kind, value = turn
    if kind == "locale":
        wire.locale = value
        return
    if kind == "wait":
        wire.now += timedelta(seconds=value)
        return
    if kind == "end" and wire.session_id is None:
        return  # Alexa only ends a session that is open
    request: dict[str, Any]
    attributes: Any = KEEP
    reset = False
    if kind == "intent":
        request = value
    elif kind == "next":
        request = {"type": "IntentRequest", "intent": {"name": value, "slots": {}}}
    elif kind == "launch":
        wire.session_id = None
        request = {"type": "LaunchRequest"}
    elif kind == "end":
        request = {"type": "SessionEndedRequest", "reason": value}
    elif kind == "timers_fault":
        if wire.timers_api is not None:  # the Timers API fails from now on, in this way
            if value == "drop":
                wire.timers_api.drop_connection(times=None)
            else:
                wire.timers_api.respond_with(value, times=None)
        return
    elif kind == "other":
        request = value
    else:  # tamper, no_attributes: a follow-up in the same session with damaged attributes
        request = {"type": "IntentRequest", "intent": {"name": "AMAZON.RepeatIntent"}}
        attributes = value if kind == "tamper" else OMIT
        reset = True  # the state is whatever the damage made it
    envelope = wire.envelope(request, attributes=attributes)
    raw = wire.send(envelope)
    watch.after(wire, envelope, raw, reset=reset)


# --- the properties ---------------------------------------------------------------------------


def storable(value: Any) -> Any:
    """`value` as a store can hold it: JSON has no NaN or infinity (the store refuses them)."""
    if isinstance(value, float) and not math.isfinite(value):
        return 1e300
    if isinstance(value, list):
        return [storable(v) for v in value]
    if isinstance(value, dict):
        return {k: storable(v) for k, v in value.items()}
    return value


@pytest.mark.long
@examples(250)
@given(
    stored=st.one_of(st.none(), routine_dict.map(storable)),
    in_session=st.one_of(st.none(), routine_dict),
    request=st.one_of(intent_request(), intent_request(), intent_request(),
                      st.just({"type": "LaunchRequest"}), other_request(),
                      st.sampled_from(SESSION_END_REASONS).map(
                          lambda r: {"type": "SessionEndedRequest", "reason": r})),
    request_locale=locale,
    endpoint=st.integers(0, 3),
    damage=st.sampled_from(["none", "none", "no_timestamp", "no_api_access", "no_attributes",
                            "not_an_object"]),
    odd=not_an_object,
)
def test_any_request_in_any_state(
    lambda_handler: Handler, timers_api: TimersApiStandIn, endpoints: list[str | None],
    stored: dict[str, Any] | None,
    in_session: dict[str, Any] | None, request: dict[str, Any], request_locale: str | None,
    endpoint: int, damage: str, odd: Any,
) -> None:
    """Any request, in any stored and in-session state, gets a valid spoken answer."""
    wire = fresh_wire(lambda_handler, timers_api, endpoints[endpoint], request_locale)
    if stored is not None:  # progress from an earlier session, in whatever state
        memory().save_attributes(user_envelope(wire.user_id), {STATE_KEY: stored})
    if in_session is not None:  # a session already under way
        wire.session_id = f"amzn1.echo-api.session.{uuid.uuid4()}"
    attributes: Any = {STATE_KEY: in_session or {}}
    if damage == "no_attributes":
        attributes = OMIT
    elif damage == "not_an_object":
        attributes = odd
    wire.send(wire.envelope(request, attributes=attributes,
                            timestamp=damage != "no_timestamp", api=damage != "no_api_access"))


@pytest.mark.long
@examples(120)
@given(
    start_locale=st.sampled_from(model_locales()),
    endpoint=st.integers(0, 3),
    turns=st.lists(turn_strategy(), min_size=10, max_size=30),
)
def test_any_conversation(lambda_handler: Handler, timers_api: TimersApiStandIn,
                          endpoints: list[str | None], start_locale: str, endpoint: int,
                          turns: list[tuple[str, Any]]) -> None:
    """Any sequence of turns, damaged envelopes and a failing Timers API included, keeps
    every response valid."""
    wire = fresh_wire(lambda_handler, timers_api, endpoints[endpoint], start_locale)
    watch = HurtsMoreWatch()
    for turn in turns:
        play(wire, turn, watch)
    event(f"turns: {len(turns) // 5 * 5}+")


@pytest.mark.long
@examples(120)
@given(
    step=st.sampled_from(HANDS_ON_STEPS),
    answer_gate=st.sampled_from(["AMAZON.NoIntent", "HurtsMoreIntent", "AMAZON.YesIntent"]),
    turns=st.lists(turn_strategy(), min_size=2, max_size=12),
    start_locale=st.sampled_from(model_locales()),
)
def test_no_hands_on_instruction_after_it_hurts_more(
    lambda_handler: Handler, timers_api: TimersApiStandIn, step: int, answer_gate: str,
    turns: list[tuple[str, Any]], start_locale: str,
) -> None:
    """After "it hurts more" at a hands-on step, nothing said at that step repeats its
    instruction, whatever comes next (repeat, resume, help, a new session...)."""
    wire = fresh_wire(lambda_handler, timers_api, timers_api.url, start_locale)
    watch = HurtsMoreWatch()
    go_to = {"type": "IntentRequest", "intent": {"name": "GoToStepIntent", "slots": {
        "number": {"name": "number", "value": str(step)}}}}
    raw = wire.send(wire.envelope({"type": "LaunchRequest"}))
    raw = wire.send(wire.envelope(go_to))
    if (raw.get("sessionAttributes") or {}).get(STATE_KEY, {}).get("pending"):
        # The massage asks about the pain first; any answer is fine for this property.
        envelope = wire.envelope({"type": "IntentRequest", "intent": {"name": answer_gate}})
        raw = wire.send(envelope)
        watch.after(wire, envelope, raw)
    hurts = wire.envelope({"type": "IntentRequest", "intent": {"name": "HurtsMoreIntent"}})
    watch.after(wire, hurts, wire.send(hurts))
    for turn in turns:
        play(wire, turn, watch)
    event(f"turns: {len(turns) // 5 * 5}+")


# --- the failures the generators first found, pinned -------------------------------------------


def _single(lambda_handler: Handler, request: dict[str, Any], **options: Any) -> dict[str, Any]:
    wire = Wire(lambda_handler, None)
    wire.send(wire.envelope({"type": "LaunchRequest"}))
    envelope = wire.envelope(request, **options)
    return wire.send(envelope)


def test_a_request_type_the_sdk_does_not_know_still_gets_an_answer(
    lambda_handler: Handler,
) -> None:
    """A request type newer than the SDK gets the place and a prompt, like any unknown one."""
    _single(lambda_handler, {"type": "Alexa.Something.New", "payload": {}})


def test_an_intent_request_without_an_intent_is_a_fallback(lambda_handler: Handler) -> None:
    """An IntentRequest that names no intent is treated as not understood, not as an error."""
    _single(lambda_handler, {"type": "IntentRequest", "dialogState": "COMPLETED"})


def test_a_huge_slot_value_is_not_echoed_whole(lambda_handler: Handler) -> None:
    """However long the heard step number, the answer stays within Alexa's limits."""
    _single(lambda_handler, {"type": "IntentRequest", "intent": {
        "name": "GoToStepIntent", "slots": {"number": {"name": "number", "value": "x" * HUGE}}}})


def test_a_control_character_in_a_slot_never_breaks_the_ssml(lambda_handler: Handler) -> None:
    """A control character heard in a slot is dropped, not sent to Alexa inside SSML."""
    _single(lambda_handler, {"type": "IntentRequest", "intent": {
        "name": "GoToStepIntent", "slots": {"number": {"name": "number", "value": "4\x01"}}}})


def test_going_to_the_same_step_after_it_hurts_more_keeps_the_instruction_back(
    lambda_handler: Handler,
) -> None:
    """'Go to step 2' while at the stretch, after it hurt more, does not say to stretch again."""
    step = HANDS_ON_STEPS[0]
    wire = Wire(lambda_handler, None)
    watch = HurtsMoreWatch()
    wire.send(wire.envelope({"type": "LaunchRequest"}))
    go_to = {"type": "IntentRequest", "intent": {"name": "GoToStepIntent", "slots": {
        "number": {"name": "number", "value": str(step)}}}}
    wire.send(wire.envelope(go_to))
    hurts = wire.envelope({"type": "IntentRequest", "intent": {"name": "HurtsMoreIntent"}})
    watch.after(wire, hurts, wire.send(hurts))
    again = wire.envelope(go_to)
    watch.after(wire, again, wire.send(again))


def test_an_impossible_date_in_the_stored_episodes_is_dropped(lambda_handler: Handler) -> None:
    """A stored episode date that cannot exist is dropped like any other tampered value."""
    wire = Wire(lambda_handler, None)
    record: dict[str, Any] = {STATE_KEY: {"episodes": ["2026-13-45"], "first_time": False}}
    memory().save_attributes(user_envelope(wire.user_id), record)
    wire.send(wire.envelope({"type": "LaunchRequest"}))


def test_a_session_that_ends_for_a_reason_newer_than_the_sdk_gets_no_speech(
    lambda_handler: Handler,
) -> None:
    """Alexa closing the session for a reason the SDK does not know gets no speech back."""
    _single(lambda_handler, {"type": "SessionEndedRequest", "reason": "A_NEW_REASON"})


def test_generators_reach_every_intent_and_request_type() -> None:
    """The generators draw from the models and the SDK, not from a list kept here."""
    names = {i.name for i in model_intents()}
    assert {"AMAZON.NextIntent", "HurtsMoreIntent", "GoToStepIntent"} <= names
    assert "Connections.Response" in OTHER_REQUEST_TYPES
    assert HANDS_ON_STEPS, "no hands-on step to watch after 'it hurts more'"
    assert Path(MODEL_DIR / "en-US.json").is_file()


# --- what issue 12 found, pinned ---------------------------------------------------------------

NOT_OBJECTS: list[Any] = [[], [{"routine": {"step": 3}}], "routine", "", 0, 42, 3.5, True, NULL]
NEXT = {"type": "IntentRequest", "intent": {"name": "AMAZON.NextIntent", "slots": {}}}
PERMISSION_ANSWER = {"type": "Connections.Response", "name": "AskFor",
                     "status": {"code": "200", "message": "OK"}, "token": PERMISSION_TOKEN,
                     "payload": {"permissionScope": TIMERS_SCOPE, "status": "ACCEPTED"}}
REQUESTS: dict[str, dict[str, Any]] = {
    "launch": {"type": "LaunchRequest"},
    "next": NEXT,
    "permission answer": PERMISSION_ANSWER,
    "session ended": {"type": "SessionEndedRequest", "reason": "USER_INITIATED"},
}


@pytest.mark.parametrize("attributes", NOT_OBJECTS, ids=repr)
@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_session_attributes_that_are_not_an_object_get_a_spoken_answer(
    lambda_handler: Handler, attributes: Any, request_name: str,
) -> None:
    """Session attributes that are a list, a string, a number or null: the routine answers
    (from the stored state, or afresh), nothing raises."""
    wire = Wire(lambda_handler, None)
    wire.send(wire.envelope({"type": "LaunchRequest"}))  # a session under way
    wire.send(wire.envelope(REQUESTS[request_name], attributes=attributes))


def in_session_at(wire: Wire, routine: dict[str, Any]) -> None:
    """A session under way whose attributes carry `routine` as the routine's state."""
    wire.send(wire.envelope({"type": "LaunchRequest"}))
    # The version kept (the session is current with the store), the routine replaced.
    wire.attributes = {**wire.attributes,
                       STATE_KEY: {"greeted": True, "first_time": False, **routine}}


ACCEPTED = PERMISSION_ANSWER["payload"]


@pytest.mark.parametrize("payload", [ACCEPTED, None, [], ["ACCEPTED"], "ACCEPTED", 200, True,
                                     {"status": ["ACCEPTED"]}], ids=repr)
def test_a_permission_answer_whose_payload_is_not_an_object_is_no_consent(
    lambda_handler: Handler, timers_api: TimersApiStandIn, payload: Any,
) -> None:
    """A Connections.Response whose payload is no object (or whose status is no string) gets
    a spoken answer, and is never taken as the timers permission given: no timer is set (only
    the well-formed "accepted" sets the timer waiting for it)."""
    wire = fresh_wire(lambda_handler, timers_api, timers_api.url, "en-US")
    started = wire.now.timestamp()  # the round began as the permission was asked
    in_session_at(wire, {"step": ROUTINE.cold_step, "cold_round": 1,
                         "round_started_at": started, "round_ends_at": started + 20 * 60,
                         "wanted_purpose": "cold", "wanted_minutes": 15})
    wire.send(wire.envelope({**PERMISSION_ANSWER, "payload": payload}))
    assert wire.outcome is not None
    consent = payload is ACCEPTED
    assert ("timer/set" in wire.outcome.keys) is consent
    assert len(wire.outcome.state.timers) == consent


TAMPERED: dict[str, dict[str, Any]] = {
    "held beyond the steps": {"step": 2, "held_from": ROUTINE.total + 1, "car_said": "driving"},
    "held far beyond": {"step": 2, "held_from": 10**9, "car_said": "parked"},
    "held below the first": {"step": 2, "held_from": -1},
    "held, not a number": {"step": 2, "held_from": "4"},
    "purpose garbage": {"step": ROUTINE.cold_step, "wanted_purpose": "lava",
                        "wanted_minutes": 15},
    "purpose an object": {"step": ROUTINE.cold_step, "wanted_purpose": {"cold": 1},
                          "wanted_minutes": 10**9},
    "round times NaN": {"step": ROUTINE.cold_step, "cold_round": 1,
                        "round_started_at": math.nan, "round_ends_at": math.nan},
    "round times infinite": {"step": ROUTINE.cold_step, "cold_round": 1,
                             "round_started_at": -math.inf, "round_ends_at": math.inf},
    "round times huge": {"step": ROUTINE.cold_step, "cold_round": 10**6,
                         "round_started_at": 1e300, "round_ends_at": 1e308},
    "timer times NaN": {"step": ROUTINE.cold_step, "timers": [
        {"id": "t", "purpose": "cold", "minutes": 15, "ends_at": math.nan,
         "paused_left": math.inf}]},
}
AFTER_TAMPERING: dict[str, dict[str, Any]] = {
    "next": NEXT,
    "repeat": {"type": "IntentRequest", "intent": {"name": "AMAZON.RepeatIntent"}},
    "parked": {"type": "IntentRequest", "intent": {"name": "ParkedIntent"}},
    "set a timer": {"type": "IntentRequest", "intent": {"name": "SetTimerIntent", "slots": {
        "minutes": {"name": "minutes", "value": "15"}}}},
    "permission answer": PERMISSION_ANSWER,
}


@pytest.mark.parametrize("tampered", list(TAMPERED))
@pytest.mark.parametrize("request_name", list(AFTER_TAMPERING))
def test_the_routine_tampered_with_in_its_newer_fields_is_read_safely(
    lambda_handler: Handler, tampered: str, request_name: str,
) -> None:
    """A held step beyond the routine, a timer purpose that is none, round times that are NaN,
    infinite or huge: a spoken answer, and a state written back in range (check_answer: plain
    JSON that reads back as itself)."""
    wire = Wire(lambda_handler, None)
    in_session_at(wire, TAMPERED[tampered])
    raw = wire.send(wire.envelope(AFTER_TAMPERING[request_name]))
    assert wire.outcome is not None
    state = wire.outcome.state
    assert 0 <= state.step <= ROUTINE.total and 0 <= state.held_from <= ROUTINE.total
    assert all(math.isfinite(x) and 0 <= x < 1e11 for x in (
        state.round_started_at, state.round_ends_at, state.saved_at))
    assert state.wanted_purpose in (None, *Purpose)
    if not session_ends(raw):
        assert raw["sessionAttributes"][STATE_KEY] == state.to_dict()
