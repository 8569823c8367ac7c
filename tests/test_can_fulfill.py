"""Name-free starts: the skill's answer to CanFulfillIntentRequest, per intent and per slot,
and that asking has no side effects at all (no memory read or written, no timer, no turn of
the routine, the session in progress untouched).

Assertions are on the wire answer (canFulfill, canUnderstand) and on what reached the store
and the Timers API stand-in, never on words.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.handlers.name_free import INTENTS, SLOTS, SlotKind
from skill.memory import SqliteStore
from tests.conftest import (
    LOCALES,
    OUTCOMES,
    ROOT,
    FakeClock,
    check_response,
    new_device,
    skill_on,
)
from tests.talk import (
    CHECKLIST,
    EMERGENCY,
    HELP,
    HELPER,
    HURTS,
    NEXT,
    NO,
    OVERVIEW,
    PREVENTION,
    RED_FLAG,
    SET_TIMER,
    START,
    STOP,
    YES,
    walk_to,
)
from tooling.standins.alexa import Alexa, Reply, Slot
from tooling.standins.nlu import Understanding
from tooling.standins.timers_api import TimersApiStandIn

CUSTOM_TYPES = {"muscle": "MUSCLE", "person": "PERSON", "possessive": "POSSESSIVE",
                "symptom": "RED_FLAG"}


def heard(name: str, value: str, resolved_id: str | None) -> Slot:
    """A custom slot as Alexa fills it: resolved to an id, or ER_SUCCESS_NO_MATCH."""
    return Slot(value, resolved_id, CUSTOM_TYPES[name])


def answer(reply: Reply) -> dict[str, Any]:
    found: dict[str, Any] = reply.response["canFulfillIntent"]
    return found


def slots_of(reply: Reply) -> dict[str, tuple[str, str]]:
    return {name: (slot["canUnderstand"], slot["canFulfill"])
            for name, slot in (answer(reply).get("slots") or {}).items()}


# --- the answer, per intent and slot --------------------------------------------------------


@pytest.mark.parametrize(("intent", "slots", "expected"), [
    (START, {}, "YES"),
    (START, {"muscle": heard("muscle", "calf", "calf")}, "YES"),
    (HELPER, {"person": heard("person", "my son", "son")}, "YES"),
    (CHECKLIST, {}, "YES"),
    (PREVENTION, {}, "YES"),
    (OVERVIEW, {}, "YES"),
    (RED_FLAG, {"symptom": heard("symptom", "can't put weight on it", "no_weight")}, "YES"),
], ids=["cramp", "cramp in the calf", "helping someone", "checklist", "prevention", "overview",
        "warning sign"])
def test_what_the_skill_answers_in_full_is_a_yes(
    alexa: Alexa, intent: str, slots: dict[str, Slot], expected: str
) -> None:
    """A cramp (the runner's or someone else's), what to have ready, prevention, the
    overview and a warning sign it recognises: YES, and YES for every slot it heard."""
    reply = alexa.can_fulfill(intent, slots)
    assert answer(reply)["canFulfill"] == expected
    assert slots_of(reply) == {name: ("YES", "YES") for name in slots}


def test_a_sign_alexa_could_not_resolve_is_a_maybe(alexa: Alexa) -> None:
    """"My leg feels strange": understood as a possible sign (the skill asks whether it is an
    injury), so MAYBE for the slot's understanding and the request, never NO."""
    reply = alexa.can_fulfill(RED_FLAG, {"symptom": heard("symptom", "feels strange", None)})
    assert answer(reply)["canFulfill"] == "MAYBE"
    assert slots_of(reply) == {"symptom": ("MAYBE", "YES")}


def test_an_unknown_helper_is_understood_in_part(alexa: Alexa) -> None:
    """Helping someone Alexa could not place: the routine is the same, so MAYBE, not NO."""
    reply = alexa.can_fulfill(HELPER, {"person": heard("person", "my coach", None)})
    assert answer(reply)["canFulfill"] == "MAYBE"
    assert slots_of(reply) == {"person": ("MAYBE", "YES")}


def test_a_cramp_the_leg_routine_is_not_for_is_a_no(alexa: Alexa) -> None:
    """"My arm is cramping": a muscle that is not one of the leg's is beyond the skill."""
    reply = alexa.can_fulfill(START, {"muscle": heard("muscle", "arm", None)})
    assert answer(reply)["canFulfill"] == "NO"
    assert slots_of(reply) == {"muscle": ("NO", "NO")}


def test_an_emergency_call_is_only_a_maybe(alexa: Alexa) -> None:
    """"Call an ambulance": the skill understands and gives the number, but cannot call;
    Alexa's own calling and emergency features must not lose it to a YES."""
    assert answer(alexa.can_fulfill(EMERGENCY))["canFulfill"] == "MAYBE"


@pytest.mark.parametrize("intent", [
    YES, NO, NEXT, HELP, STOP, HURTS, "AMAZON.FallbackIntent", "AMAZON.NavigateHomeIntent",
    "CrampGoneIntent", "DrivingIntent", "ForgetMeIntent", "TimerLeftIntent",
    "SomeOtherSkill.OrderPizzaIntent",
])
def test_anything_else_is_a_no(alexa: Alexa, intent: str) -> None:
    """Answers, navigation, the built-ins, "it hurts" said to no one, and intents the skill
    does not have: NO (such words mean something only inside the routine)."""
    reply = alexa.can_fulfill(intent)
    assert answer(reply) == {"canFulfill": "NO", "slots": {}}


def test_the_slots_of_a_request_that_is_not_ours_are_not_fulfilled(alexa: Alexa) -> None:
    """"Set a timer for 15 minutes" with no routine: NO, and its slot, though understood, is
    not fulfilled either."""
    reply = alexa.can_fulfill(SET_TIMER, {"minutes": "15"})
    assert answer(reply)["canFulfill"] == "NO"
    assert slots_of(reply) == {"minutes": ("YES", "NO")}


def test_empty_slots_are_left_out(alexa: Alexa) -> None:
    """Slots nobody filled are not answered for: only what was heard is."""
    reply = alexa.can_fulfill(HELPER, {"person": Slot(None), "possessive": Slot(None),
                                       "muscle": heard("muscle", "calf", "calf")})
    assert answer(reply)["canFulfill"] == "YES"
    assert slots_of(reply) == {"muscle": ("YES", "YES")}


# What people say to Alexa with no skill named, by language.
NAME_FREE = {
    "en": ["my calf is cramping", "I have a leg cramp", "how do I stop a leg cramp",
           "how do I get rid of a leg cramp", "I think I have a leg cramp"],
    "de": ["meine wade krampft", "ich habe einen wadenkrampf", "was hilft gegen einen krampf",
           "wie werde ich einen krampf los", "ich glaube ich habe einen krampf"],
    "es": ["tengo un calambre en la pierna", "me dio un calambre en la pantorrilla",
           "cómo se quita un calambre", "qué hago para quitarme un calambre",
           "creo que tengo un calambre"],
    "fr": ["j'ai une crampe au mollet", "j'ai une crampe à la jambe",
           "comment soulager une crampe", "comment faire passer une crampe",
           "quoi faire contre une crampe"],
    "it": ["ho un crampo al polpaccio", "ho un crampo alla gamba",
           "come faccio a far passare un crampo", "cosa devo fare per un crampo alla gamba",
           "credo di avere un crampo"],
    "pt": ["tô com câimbra na perna", "me deu uma câimbra na perna", "como tirar uma câimbra",
           "como faço pra passar uma câimbra", "acho que tô com câimbra"],
}


def test_every_language_has_name_free_phrasings() -> None:
    assert {loc.split("-")[0] for loc in LOCALES} <= set(NAME_FREE)


# conftest parametrizes any argument named `locale`: these take `loc`.
@pytest.mark.parametrize(("loc", "words"), [
    (loc, words) for loc in LOCALES for words in NAME_FREE.get(loc.split("-")[0], [])])
def test_name_free_phrasings_reach_a_yes(make_alexa: Callable[..., Alexa], loc: str,
                                         words: str) -> None:
    """"Alexa, my calf is cramping" said to no skill: each model hears a cramp in its own
    language, and the skill answers YES for what it heard."""
    understood = Understanding.for_locale(loc).understand(words)
    assert understood.intent == START, (loc, words, understood)
    reply = make_alexa(locale=loc).can_fulfill(understood.intent, understood.slots)
    assert answer(reply)["canFulfill"] == "YES"


def test_the_slot_table_matches_every_model() -> None:
    """Every slot of the intents the skill claims is in the handler's table, with the custom
    type the table says (a slot it did not know would be answered as a built-in)."""
    kinds = {SlotKind.SIGN: {"RED_FLAG"}, SlotKind.MUSCLE: {"MUSCLE"},
             SlotKind.WHO: {"PERSON", "POSSESSIVE"}}
    for path in sorted((ROOT / "interaction_models").glob("*.json")):
        model = json.loads(path.read_text(encoding="utf-8"))["interactionModel"]["languageModel"]
        intents = {i["name"]: i for i in model["intents"]}
        assert set(INTENTS) <= set(intents), path.name
        for name in INTENTS:
            for slot in intents[name].get("slots", []):
                assert slot["name"] in SLOTS, (path.name, name, slot)
                assert slot["type"] in kinds[SLOTS[slot["name"]]], (path.name, name, slot)


# --- no side effects ------------------------------------------------------------------------


class SpyStore(SqliteStore):
    """The embedded store, noting every call the skill makes to it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[str] = []

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        self.calls.append("get")
        return super().get_attributes(request_envelope)

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        self.calls.append("save")
        super().save_attributes(request_envelope, attributes)

    def delete_attributes(self, request_envelope: Any) -> None:
        self.calls.append("delete")
        super().delete_attributes(request_envelope)


@pytest.fixture
def spied(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Alexa, SpyStore]]:
    """A runner on a skill whose store is watched (its timers on the test's stand-in)."""
    store = SpyStore(tmp_path / "memory.sqlite3")
    yield Alexa(skill_on(store), device=new_device(), clock=clock,
                outcome_of=OUTCOMES.pop), store


ASKED: list[tuple[str, dict[str, Slot | str]]] = [
    (START, {"muscle": heard("muscle", "calf", "calf")}),
    (RED_FLAG, {"symptom": heard("symptom", "feels strange", None)}),
    (EMERGENCY, {}),
    (SET_TIMER, {"minutes": "15"}),
    ("AMAZON.StopIntent", {}),
    ("ForgetMeIntent", {}),
    (YES, {}),
]


def test_asking_changes_nothing_mid_routine(spied: tuple[Alexa, SpyStore],
                                            timers_api: TimersApiStandIn) -> None:
    """Mid-routine, with a timer running: asking about every kind of request reads and
    writes no memory, calls no Timers API, takes no turn of the routine, and the session in
    progress carries on where it was."""
    runner, store = spied
    walk_to(runner, 4)
    before = runner.intent(YES)  # a cold timer runs
    assert len(timers_api.timers()) == 1
    calls, requests = list(store.calls), list(timers_api.requests)
    kept = SqliteStore(store.path).get_attributes(_envelope_of(runner))
    for intent, slots in ASKED:
        reply = runner.can_fulfill(intent, slots)
        assert reply.outcome is None, f"{intent} took a turn of the routine"
        assert reply.attributes == {}
    assert store.calls == calls
    assert timers_api.requests == requests
    assert SqliteStore(store.path).get_attributes(_envelope_of(runner)) == kept
    after = runner.intent("WhereAmIIntent")
    assert after.state["step"] == before.state["step"] == 4
    assert after.state["timers"] == before.state["timers"]


def test_asking_a_new_user_keeps_nothing(spied: tuple[Alexa, SpyStore],
                                         timers_api: TimersApiStandIn) -> None:
    """Someone the skill has never met: nothing is stored or read for them by asking, and
    their first real launch is a first-time welcome."""
    runner, store = spied
    for intent, slots in ASKED:
        runner.can_fulfill(intent, slots)
    assert store.calls == [] and timers_api.requests == []
    assert SqliteStore(store.path).get_attributes(_envelope_of(runner)) == {}
    assert "open/welcome" in runner.launch().keys


def test_a_request_without_a_session_is_answered_too(lambda_handler: Any) -> None:
    """Alexa may ask with no session at all: the answer is the same, and only the answer."""
    envelope = {
        "version": "1.0",
        "context": new_device().context(),
        "request": {"type": "CanFulfillIntentRequest", "requestId": "amzn1.echo-api.request.x",
                    "timestamp": "2026-11-27T17:00:00Z", "locale": "en-US",
                    "intent": {"name": START, "slots": {}}},
    }
    raw = lambda_handler(envelope, None)
    check_response(envelope, raw)
    assert raw["response"] == {"canFulfillIntent": {"canFulfill": "YES", "slots": {}}}


def _envelope_of(alexa: Alexa) -> Any:
    """Enough of a request envelope for a store to find the runner's record."""

    class _User:
        user_id = alexa.device.user_id

    class _System:
        user = _User()

    class _Context:
        system = _System()

    class _Envelope:
        context = _Context()

    return _Envelope()
