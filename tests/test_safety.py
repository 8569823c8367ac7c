"""The safety rules (DESIGN.md section 4, issue 12), one focused test each, through the wire.

Every test asserts what the routine chose (template keys and their arguments, the state, the
session's end, cards and screens), never words, so the module runs in every locale with a
model. The words themselves are the templates' business (tests/test_compiled_templates.py,
tests/test_consistency.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pytest

from skill.routine import Line, load_routine
from tests.conftest import OUTCOMES, FakeClock, new_device
from tests.talk import (
    CHECKLIST,
    CRAMP_GONE,
    CRAMP_STILL,
    EMERGENCY,
    FALLBACK,
    GO_TO,
    HELPER,
    HURTS,
    KEEP_MASSAGING,
    MORE,
    NEXT,
    NO,
    NOT_WORSE,
    PREVIOUS,
    RED_FLAG,
    REPEAT,
    SET_TIMER,
    SKIP,
    START_OVER,
    STOP,
    UNSURE,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Reply, Send, Slot
from tooling.standins.timers_api import TimersApiStandIn

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()
COLD, HEAT = 4, 5
HOUR_S = 3600.0

# What a red flag, an injury sign or an emergency bars until start over: the stretch, the
# massage (and the question and answer that lead into it) and the heat.
BARRED_AFTER_INJURY = frozenset({
    "step/stretch", "step/massage", "step/heat", "more/stretch", "more/massage", "more/heat",
    "gate/ask", "gate/no",
})
MASSAGE = frozenset({"step/massage", "more/massage", "gate/no"})
# Lines that put the cold compress on (again).
COMPRESS_ON = frozenset({"step/cold", "cold/round"})
# One of these ends every session the skill ends (rule 9).
COME_BACK = frozenset({
    "bye/stop", "bye/paused", "bye/come_back", "cold/come_back", "timer/wait_set",
    "finish/wrap_up", "memory/forgotten",
})
# The warning signs (the RED_FLAG slot's ids): how urgent each is, and whether the person
# can no longer walk (issue 12; skill/content/routine.json must agree).
SIGNS: Mapping[str, tuple[str, bool]] = {
    "severe_pain": ("urgent", False), "unbearable": ("urgent", False),
    "no_weight": ("urgent", True), "cant_stand": ("urgent", True), "fall": ("urgent", True),
    "tear": ("urgent", False), "pop": ("urgent", False),
    "red_hot": ("doctor", False), "swelling": ("doctor", False), "wont_ease": ("doctor", False),
    "every_run": ("checkup", False),
}
CANNOT_WALK = [sign for sign, (_, cannot_walk) in SIGNS.items() if cannot_walk]
# The number people in each country are taught (DESIGN.md section 4); None: not known.
# France: 112 works, but the number taught for a medical emergency is 15, the SAMU; Brazil's
# is 192, the SAMU too.
EU_112 = ["AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "DE", "GR", "HU", "IE",
          "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
EMERGENCY_NUMBERS = {"US": "911", "CA": "911", "MX": "911", "GB": "999", "AU": "000",
                     "IN": "112", "FR": "15", "BR": "192", **dict.fromkeys(EU_112, "112")}
ENTITY = re.compile(r"&(#\d+|#x[0-9a-fA-F]+|\w+);")


# --- helpers --------------------------------------------------------------------------------

def number_for(locale: str) -> str | None:
    return EMERGENCY_NUMBERS.get(locale.rsplit("-", 1)[-1].upper())


def sign(alexa: Alexa, sign_id: str | None, heard: str = "x") -> Reply:
    """RedFlagIntent as Alexa sends it: resolved to the sign's id, or not (ER_SUCCESS_NO_MATCH)."""
    slot = Slot(sign_id or heard, sign_id, custom_type="RED_FLAG")
    return alexa.intent(RED_FLAG, {"symptom": slot})


def lines(reply: Reply) -> tuple[Line, ...]:
    return tuple(reply.outcome.lines) if reply.outcome is not None else ()


def line(reply: Reply, key: str) -> Line:
    [found] = [x for x in lines(reply) if x.key == key]
    return found


def keys_of(replies: Iterable[Reply]) -> set[str]:
    return {key for reply in replies for key in reply.keys}


def go_to(alexa: Alexa, number: int) -> Reply:
    return alexa.intent(GO_TO, {"number": str(number)})


# How the rest of a routine is answered: "no" to the pain question, so a gate asked where it
# must not be would give the massage and show; "gone" to the cramp question, so the routine
# reaches the heat; no timers, so nothing hands-on runs on the device.
ANSWERS = {"pain_gate": NO, "cramp_gone": YES, "timer_offer": NO, "wait_offer": NO,
           "resume": YES, "sign_check": NO, "forget": NO}


def carry_on_to_the_end(alexa: Alexa, reply: Reply, limit: int = 40) -> list[Reply]:
    """Answer and go on ("next") until the routine is finished or the session ends."""
    said = [reply]
    while not reply.ends_session and not reply.state.get("finished") and len(said) < limit:
        pending = reply.state.get("pending")
        reply = alexa.intent(ANSWERS[pending] if pending else NEXT)
        said.append(reply)
    assert reply.ends_session or reply.state.get("finished"), "the routine never ended"
    return said


def strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def assert_plain(text: str) -> None:
    """Text for a card or a screen: no SSML tag, no XML entity (rule 10)."""
    assert "<" not in text, f"markup on a card or screen: {text!r}"
    assert not ENTITY.search(text), f"an XML entity on a card or screen: {text!r}"


def apl_payloads(reply: Reply) -> list[Mapping[str, Any]]:
    return [d["datasources"]["payload"] for d in reply.directives
            if d["type"] == "Alexa.Presentation.APL.RenderDocument"]


def check_reply_rules(replies: Iterable[Reply]) -> None:
    """Rules every reply keeps: an ending session says how to come back (rule 9); cards and
    screens are plain text (rule 10)."""
    for reply in replies:
        if not reply.ssml or reply.outcome is None:
            continue  # SessionEndedRequest: Alexa takes no speech
        if reply.ends_session:
            assert COME_BACK & set(reply.keys), f"ended with no way back: {reply.keys}"
        if reply.card and reply.card.get("type") == "Simple":
            assert_plain(reply.card["title"])
            assert_plain(reply.card["content"])
        for payload in apl_payloads(reply):
            for text in strings(payload):
                assert_plain(text)


@pytest.fixture(autouse=True)
def _every_reply_keeps_the_rules(replies: list[Reply]) -> Iterator[None]:
    yield
    check_reply_rules(replies)


def on(make_alexa: Callable[..., Alexa], kind: str) -> Alexa:
    """A new user on a speaker, a screen or in a car."""
    return make_alexa(device=new_device(kind))


def at_gate(alexa: Alexa) -> Reply:
    reply = walk_to(alexa, 3, answer_gate=False)
    assert reply.state["pending"] == "pain_gate"
    return reply


def assert_massage_stopped(alexa: Alexa, reply: Reply, why: str) -> None:
    """The massage stopped in one short answer for someone in pain: why, the doctor advice,
    and "next" for the cold compress; the place stays at the massage, hands off, and "next"
    then gives the cold compress."""
    assert reply.keys == (why, "safety/severe_pain_doctor", "prompt/after_stop")
    assert reply.outcome.prompt.args == {"next": "cold"}
    assert step_of(reply) == 3 and reply.state["hands_off"] is True
    assert reply.state["pending"] is None and reply.state["pain_worse"] is True
    onward = alexa.intent(NEXT)
    assert onward.keys[:2] == ("step/header", "step/cold") and step_of(onward) == COLD
    assert not MASSAGE & set(onward.keys)


# --- 1. The massage gate ----------------------------------------------------------------------

@pytest.mark.parametrize("route", ["next", "go to", "back from cold"])
def test_the_gate_comes_before_any_massage_instruction(alexa: Alexa, route: str) -> None:
    """However the runner reaches step 3, the pain question comes first, in speech, reprompt,
    card and screen, and no massage is said."""
    if route == "next":
        reply = walk_to(alexa, 3, answer_gate=False)
    elif route == "go to":
        alexa.launch()
        reply = go_to(alexa, 3)
    else:
        walk_to(alexa, COLD)
        reply = alexa.intent(PREVIOUS)
    assert reply.keys[-1] == "gate/ask" and reply.outcome.prompt.key == "gate/ask"
    assert not MASSAGE & set(reply.keys)
    assert reply.card and reply.outcome.shown.instruction.key == "gate/ask"
    assert reply.state["step"] == 3 and reply.state["pending"] == "pain_gate"


@pytest.mark.parametrize("answer", [YES, HURTS])
def test_worse_at_the_gate_stops_the_massage_and_moves_to_cold(alexa: Alexa, answer: str) -> None:
    """Yes (or "it hurts more"): stop, why, a doctor for severe pain, and "next" gives the
    cold compress."""
    at_gate(alexa)
    reply = alexa.intent(answer)
    assert not MASSAGE & set(reply.keys)
    assert_massage_stopped(alexa, reply, "gate/yes")


@pytest.mark.parametrize("answer", [NO, NOT_WORSE])
def test_not_worse_at_the_gate_gives_the_massage(alexa: Alexa, answer: str) -> None:
    """No (or "about the same", "easing off"): the massage, and the step's prompt."""
    at_gate(alexa)
    reply = alexa.intent(answer)
    assert reply.keys[:2] == ("gate/no", "step/massage")
    assert step_of(reply) == 3 and reply.state["pending"] is None


@pytest.mark.parametrize("unclear", [UNSURE, FALLBACK])
def test_unclear_answer_asks_again_then_stops_safely(alexa: Alexa, unclear: str) -> None:
    """"I'm not sure" or an unrecognised answer never counts as no: ask again, then skip the
    massage with the doctor advice, and "next" gives the cold compress."""
    at_gate(alexa)
    again = alexa.intent(unclear)
    assert again.keys == ("gate/unclear", "gate/ask") and step_of(again) == 3
    stopped = alexa.intent(unclear)
    assert not MASSAGE & set(stopped.keys)
    assert_massage_stopped(alexa, stopped, "gate/unclear_stop")


def test_unclear_then_no_still_gives_the_massage(alexa: Alexa) -> None:
    """A clear no after one unclear answer is a no."""
    at_gate(alexa)
    alexa.intent(UNSURE)
    assert "step/massage" in alexa.intent(NO).keys


def test_silence_at_the_gate_never_counts_as_no(alexa: Alexa) -> None:
    """Silence: the reprompt is the question; when the session ends the question stays, and
    carrying on later asks it again before any massage."""
    at_gate(alexa)
    ended = alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    assert ended is not None
    assert ended.state["step"] == 3 and ended.state["pending"] == "pain_gate"
    back = alexa.launch()
    resumed = alexa.intent(YES) if back.state["pending"] == "resume" else back
    assert resumed.keys[-1] == "gate/ask" and not MASSAGE & keys_of([back, resumed])


@pytest.mark.parametrize("move", [NEXT, SKIP])
def test_moving_on_without_answering_skips_the_massage(alexa: Alexa, move: str) -> None:
    """"Next" or "skip" at the question skips the massage rather than treating it as a no."""
    at_gate(alexa)
    reply = alexa.intent(move)
    assert reply.keys[0] == "gate/skipped" and "step/cold" in reply.keys
    assert not MASSAGE & set(reply.keys) and step_of(reply) == COLD


@pytest.mark.parametrize("answer", [YES, NO])
def test_keep_massaging_asks_the_gate_every_time(alexa: Alexa, answer: str) -> None:
    """Each "keep massaging" asks about the pain again before any more massage."""
    walk_to(alexa, 3)
    for _ in range(2):
        ask = alexa.intent(KEEP_MASSAGING)
        assert ask.keys == ("gate/ask",) and ask.state["pending"] == "pain_gate"
        if answer == NO:
            assert "step/massage" in alexa.intent(NO).keys
    if answer == YES:
        assert_massage_stopped(alexa, alexa.intent(YES), "gate/yes")


def test_keep_massaging_elsewhere_is_answered_not_obeyed(alexa: Alexa) -> None:
    """"Keep massaging" at another step says this is not the massage, and stays."""
    walk_to(alexa, HEAT)
    reply = alexa.intent(KEEP_MASSAGING)
    assert reply.keys[0] == "nav/not_massage_step" and step_of(reply) == HEAT
    assert not MASSAGE & set(reply.keys)


def test_more_at_the_gate_explains_why_and_asks_again(alexa: Alexa) -> None:
    """"Tell me more" at the pain question explains it and asks again."""
    at_gate(alexa)
    reply = alexa.intent(MORE)
    assert reply.keys == ("gate/why", "gate/ask") and reply.state["pending"] == "pain_gate"


# --- 2. Pain said worse, and "it hurts more" -----------------------------------------------

def test_no_massage_after_the_pain_got_worse_until_start_over(alexa: Alexa) -> None:
    """After "yes, it's getting worse" the massage is skipped, however step 3 is reached,
    with why=pain; starting over asks the question again."""
    at_gate(alexa)
    alexa.intent(YES)
    replies = [go_to(alexa, 3), alexa.intent(PREVIOUS), alexa.intent(NEXT)]
    assert not MASSAGE & keys_of(replies)
    skipped = [x for r in replies for x in lines(r) if x.key == "safety/skipped"]
    assert skipped and all(x.args == {"steps": ("massage",), "why": "pain"} for x in skipped)
    assert step_of(alexa.intent(START_OVER)) == 1
    alexa.intent(NEXT)
    assert alexa.intent(NEXT).keys[-1] == "gate/ask"


def test_hurts_more_at_any_step_bars_the_massage(alexa: Alexa) -> None:
    """"It hurts more" at the stretch: the massage is passed in one short turn, not asked
    about (the place on it, hands off), and "next" gives the cold compress."""
    walk_to(alexa, 2)
    alexa.intent(HURTS)
    reply = alexa.intent(NEXT)
    assert line(reply, "safety/skipped").args == {"steps": ("massage",), "why": "pain"}
    assert not MASSAGE & set(reply.keys) and "gate/ask" not in reply.keys
    assert step_of(reply) == 3 and reply.state["hands_off"] is True
    assert reply.outcome.prompt == Line("prompt/after_stop", {"next": "cold"})
    onward = alexa.intent(NEXT)
    assert "step/cold" in onward.keys and step_of(onward) == COLD


@pytest.mark.parametrize("step", range(1, 9))
def test_hurts_more_stops_the_hands_on_part_of_every_step(alexa: Alexa, step: int) -> None:
    """"It hurts more" stops that step's hands-on part (safety/stop/<step>) with the doctor
    advice; repeating or asking for more never gives that step's instruction again."""
    walk_to(alexa, step)
    step_id = ROUTINE.step(step).id
    reply = alexa.intent(HURTS)
    assert f"safety/stop/{step_id}" in reply.keys
    assert "safety/severe_pain_doctor" in reply.keys
    assert reply.state["pain_worse"] is True
    assert step_of(reply) == step and reply.state["hands_off"] is True
    for follow_up in (REPEAT, MORE):
        again = alexa.intent(follow_up)
        assert not {f"step/{step_id}", f"more/{step_id}"} & set(again.keys)
        assert step_of(again) == step


@pytest.mark.parametrize("step", [COLD, HEAT])
def test_hurts_more_cancels_the_steps_timer(
    alexa: Alexa, timers_api: TimersApiStandIn, step: int
) -> None:
    """A running cold or heat timer is cancelled when it hurts more: it would only tell them
    to carry on."""
    walk_to(alexa, step)
    timed = alexa.intent(YES)
    assert timed.state["timers"] and timers_api.timers()
    reply = alexa.intent(HURTS)
    assert reply.state["timers"] == [] and timers_api.timers() == []


def test_hurts_more_before_starting_still_gets_advice(alexa: Alexa) -> None:
    """Before any step (a one-shot), "it hurts more" still gets the rest-and-doctor advice."""
    reply = alexa.intent(HURTS)
    advice = tuple(key for key in reply.keys if key != "open/disclaimer")  # a first-timer's
    assert advice[:2] == ("safety/hurts_more_general", "safety/severe_pain_doctor")
    assert not reply.ends_session


def test_hurts_more_before_starting_bars_the_massage(alexa: Alexa) -> None:
    """"It hurts more" before step 1 still means no massage once the routine begins."""
    assert alexa.intent(HURTS).state["pain_worse"] is True
    said = [alexa.intent(NEXT), alexa.intent(NEXT), alexa.intent(NEXT)]
    assert not MASSAGE & keys_of(said) and "gate/ask" not in keys_of(said)


# --- 3. Warning signs -------------------------------------------------------------------------

@pytest.mark.parametrize("sign_id", list(SIGNS))
def test_every_sign_gets_its_advice_and_stops_the_hands_on_part(
    alexa: Alexa, locale: str, sign_id: str
) -> None:
    """Each sign: the advice for its urgency (an urgent one with the local emergency number),
    the stretch under way stopped, and never given again on repeat."""
    walk_to(alexa, 2)
    urgency, cannot_walk = SIGNS[sign_id]
    reply = sign(alexa, sign_id)
    assert line(reply, "safety/red_flag").args == {"flag": sign_id, "urgency": urgency}
    assert "safety/stop/stretch" in reply.keys and not reply.ends_session
    assert reply.state["injured"] is True and reply.state["hands_off"] is True
    assert reply.state["cannot_walk"] is cannot_walk
    number = number_for(locale)
    if urgency != "checkup" and number:
        assert number in reply.speech
    again = alexa.intent(REPEAT)
    assert "step/stretch" not in again.keys and step_of(again) == 2


def test_red_flag_at_the_gate_means_no_massage(alexa: Alexa) -> None:
    """A red flag while the pain question waits cancels it and the massage."""
    at_gate(alexa)
    reply = sign(alexa, "severe_pain")
    assert reply.state["pending"] is None and "gate/ask" not in reply.keys
    assert not MASSAGE & set(alexa.intent(REPEAT).keys)
    assert alexa.intent(KEEP_MASSAGING).keys[0] == "safety/no_more_massage"


def test_a_swollen_leg_at_the_stretch_bars_stretch_massage_and_heat(alexa: Alexa) -> None:
    """"My leg is swollen" at the stretch, then "next" and "no": no massage, and no stretch or
    heat for the rest of the routine however it is reached; cold, water and rest still come;
    start over lifts the rule."""
    walk_to(alexa, 2)
    flagged = sign(alexa, "swelling")
    assert line(flagged, "safety/red_flag").args == {"flag": "swelling", "urgency": "doctor"}
    moved = alexa.intent(NEXT)
    assert line(moved, "safety/skipped").args == {"steps": ("massage",), "why": "injury"}
    said = [flagged, moved, alexa.intent(NO)]
    for ask in ((GO_TO, "2"), (GO_TO, "3"), (KEEP_MASSAGING, None), (PREVIOUS, None),
                (REPEAT, None), (MORE, None), (GO_TO, "5")):
        intent, number = ask
        said.append(alexa.intent(intent, {"number": number} if number else None))
    said += carry_on_to_the_end(alexa, go_to(alexa, COLD))
    assert not BARRED_AFTER_INJURY & keys_of(said)
    assert {"step/cold", "step/hydrate", "step/rest"} <= keys_of(said)
    assert all(t["purpose"] != "heat" for r in said for t in r.state["timers"])
    alexa.intent(START_OVER)
    assert "step/stretch" in alexa.intent(NEXT).keys


def test_barred_steps_are_passed_in_one_short_turn(alexa: Alexa) -> None:
    """After a sign at step 1, "next" passes the stretch and the massage in one turn: one
    safety/skipped line naming both, the place on the massage (hands off) and "next" for the
    cold compress, which the next "next" gives; the heat later is passed the same way."""
    walk_to(alexa, 1)
    sign(alexa, "tear")
    passed = alexa.intent(NEXT)
    assert [x for x in lines(passed) if x.key == "safety/skipped"] == [
        Line("safety/skipped", {"steps": ("stretch", "massage"), "why": "injury"})]
    assert step_of(passed) == 3 and passed.state["hands_off"] is True
    assert passed.outcome.prompt == Line("prompt/after_stop", {"next": "cold"})
    assert not BARRED_AFTER_INJURY & set(passed.keys)
    cold = alexa.intent(NEXT)
    assert "step/cold" in cold.keys and step_of(cold) == COLD
    alexa.intent(NO)  # no timer, thanks
    alexa.intent(CRAMP_GONE)  # gone: on to the heat, which is barred
    heat = alexa.last
    assert heat is not None and step_of(heat) == HEAT and heat.state["hands_off"] is True
    assert line(heat, "safety/skipped").args == {"steps": ("heat",), "why": "injury"}
    assert heat.outcome.prompt == Line("prompt/after_stop", {"next": "hydrate"})
    assert "step/hydrate" in alexa.intent(NEXT).keys


def test_a_sign_before_the_routine_still_bars_the_hands_on_steps(alexa: Alexa) -> None:
    """A red flag heard before any step (a one-shot) counts once the routine begins: no
    stretch, massage or heat (only start over lifts it)."""
    flagged = sign(alexa, "swelling")
    assert flagged.state["injured"] is True
    said = carry_on_to_the_end(alexa, alexa.intent(NEXT))
    assert not BARRED_AFTER_INJURY & keys_of(said)


def test_an_unresolved_sign_is_asked_about_not_advised_on(alexa: Alexa) -> None:
    """A sign Alexa could not resolve (ER_SUCCESS_NO_MATCH) is a question, not a fact."""
    walk_to(alexa, 2)
    reply = sign(alexa, None, heard="a weird twinge")
    assert reply.keys == ("safety/sign_check",) and reply.state["pending"] == "sign_check"
    assert reply.state["injured"] is False and reply.state["hands_off"] is False


@pytest.mark.parametrize("answer", [YES, HURTS])
def test_yes_to_the_sign_check_is_a_sign(alexa: Alexa, answer: str) -> None:
    """Yes (or "it hurts more") to "are you hurt?": the red flag advice and its rules."""
    walk_to(alexa, 2)
    sign(alexa, None)
    reply = alexa.intent(answer)
    assert "safety/red_flag" in reply.keys and "safety/stop/stretch" in reply.keys
    assert reply.state["injured"] is True and reply.state["pending"] is None


@pytest.mark.parametrize("answer", [NO, NOT_WORSE])
def test_no_to_the_sign_check_is_no_sign(alexa: Alexa, answer: str) -> None:
    """No: nothing is barred, and the step goes on."""
    walk_to(alexa, 2)
    sign(alexa, None)
    reply = alexa.intent(answer)
    assert reply.keys[0] == "safety/not_hurt" and "safety/red_flag" not in reply.keys
    assert reply.state["injured"] is False and reply.state["pending"] is None
    assert "step/stretch" in alexa.intent(REPEAT).keys


@pytest.mark.parametrize("unclear", [UNSURE, FALLBACK, NEXT])
def test_an_unclear_sign_check_twice_is_taken_as_a_sign(alexa: Alexa, unclear: str) -> None:
    """Unclear once: asked again; twice: treated as a sign (default safe)."""
    walk_to(alexa, 2)
    sign(alexa, None)
    again = alexa.intent(unclear)
    assert again.keys[-1] == "safety/sign_check" and again.state["pending"] == "sign_check"
    assert "safety/red_flag" not in again.keys and again.state["injured"] is False
    settled = alexa.intent(unclear)
    assert "safety/red_flag" in settled.keys and settled.state["injured"] is True


def test_the_emergency_number_follows_the_locale(alexa: Alexa, locale: str) -> None:
    """The local emergency number (911, 999, 000, 112) in the disclaimer and an urgent sign."""
    number = number_for(locale)
    assert number, f"no emergency number known for {locale}: add it to EMERGENCY_NUMBERS"
    assert number in alexa.launch().speech
    assert number in sign(alexa, "fall").speech


@pytest.fixture
def speaker_in(send: Send, clock: FakeClock) -> Callable[[str], Alexa]:
    """A speaker in a locale that may have no model yet (the request still reaches the skill)."""
    return lambda where: Alexa(send, locale=where, device=new_device(), clock=clock,
                               outcome_of=OUTCOMES.pop)


@pytest.mark.parametrize("where", ["de-DE", "fr-FR", "es-ES", "it-IT", "ja-JP", "pt-BR"])
def test_elsewhere_the_number_is_the_countrys_or_none_is_guessed(
    speaker_in: Callable[[str], Alexa], where: str
) -> None:
    """112 in the EU; where the number is not known, no number is said at all."""
    alexa = speaker_in(where)
    speech = alexa.launch().speech + sign(alexa, "fall").speech
    number = number_for(where)
    if number:
        assert number in speech
    else:
        assert not {"911", "999", "000", "112"} & set(re.findall(r"\d+", speech))


# --- 4. Emergency requests --------------------------------------------------------------------

@pytest.mark.parametrize("step", range(0, 9))
def test_an_emergency_request_at_any_step(alexa: Alexa, locale: str, step: int) -> None:
    """"Call 911" before the routine or at any step: the number, the session ends with how to
    come back, the state is injured, and no stretch, massage or heat is ever said after."""
    if step:
        walk_to(alexa, step, answer_gate=False)
    reply = alexa.intent(EMERGENCY)
    assert "safety/emergency" in reply.keys and reply.keys[-1] == "bye/come_back"
    assert reply.ends_session and reply.state["injured"] is True
    assert not BARRED_AFTER_INJURY & set(reply.keys)
    number = number_for(locale)
    assert number is None or number in reply.speech
    said = carry_on_to_the_end(alexa, alexa.launch())
    assert not BARRED_AFTER_INJURY & keys_of(said)
    assert all(t["purpose"] != "heat" for r in said for t in r.state["timers"])


def test_an_emergency_request_stops_the_running_timer(
    alexa: Alexa, timers_api: TimersApiStandIn
) -> None:
    """At the heat with its timer running, "call an ambulance" stops the heat and its timer."""
    walk_to(alexa, HEAT)
    alexa.intent(YES)
    reply = alexa.intent(EMERGENCY)
    assert "safety/stop/heat" in reply.keys
    assert reply.state["timers"] == [] and timers_api.timers() == []


def test_a_caregivers_emergency_request(alexa: Alexa) -> None:
    """A caregiver's "call an ambulance" gets the same answer, and the session ends."""
    alexa.intent(HELPER)
    reply = alexa.intent(EMERGENCY)
    assert "safety/emergency" in reply.keys and reply.keys[-1] == "bye/come_back"
    assert reply.ends_session and reply.state["injured"] and reply.state["helping"]


# --- 5. Heat only once the cramp has passed ---------------------------------------------------

def to_cramp_question(alexa: Alexa, clock: FakeClock, minutes: float = 16) -> Reply:
    """A cold round timed by hand, then "next" once the compress is off."""
    walk_to(alexa, COLD)
    alexa.intent(NO)  # no timer, thanks
    clock.advance(minutes=minutes)
    reply = alexa.intent(NEXT)
    assert reply.keys == ("cold/gone_ask",) and reply.state["pending"] == "cramp_gone"
    return reply


@pytest.mark.parametrize("not_gone", [NO, CRAMP_STILL])
@pytest.mark.parametrize("move", ["next", "go to 5"])
def test_heat_waits_while_the_cramping_stays(
    alexa: Alexa, clock: FakeClock, not_gone: str, move: str
) -> None:
    """"No, the cramping is not gone", then on to heat: first why not yet and the next cold
    round or the offer to wait; only asking again after that gives the heat."""
    to_cramp_question(alexa, clock)
    stays = alexa.intent(not_gone)
    assert stays.state["cramp_stays"] is True and "step/heat" not in stays.keys

    def onward() -> Reply:
        return alexa.intent(NEXT) if move == "next" else go_to(alexa, HEAT)

    first = onward()
    assert first.keys[0] == "heat/not_yet" and "step/heat" not in first.keys
    assert {"cold/wait", "cold/round"} & set(first.keys)
    assert step_of(first) == COLD
    second = onward()
    assert "step/heat" in second.keys and step_of(second) == HEAT


# --- 6. Cold rounds, an hour apart ------------------------------------------------------------

def test_next_at_the_cold_step_asks_whether_the_cramping_is_gone(
    alexa: Alexa, clock: FakeClock
) -> None:
    """Next after a round: "is it gone?"; no -> the wait for the next round; yes -> heat."""
    to_cramp_question(alexa, clock)
    waiting = alexa.intent(NO)
    assert waiting.keys[0] == "cold/wait" and waiting.state["pending"] == "wait_offer"
    assert line(waiting, "cold/wait").args["minutes"] == 60 - 16
    assert not COMPRESS_ON & set(waiting.keys)


def test_yes_the_cramping_is_gone_gives_the_heat(alexa: Alexa, clock: FakeClock) -> None:
    """Yes to "is the cramping completely gone?": the cold is done, on to the heat."""
    to_cramp_question(alexa, clock)
    reply = alexa.intent(YES)
    assert reply.keys[0] == "cold/gone" and "step/heat" in reply.keys
    assert step_of(reply) == HEAT and reply.state["cramp_stays"] is False


@pytest.mark.parametrize("timed_by", ["hand", "skill"])
def test_back_after_a_round_is_asked_whether_the_cramping_is_gone(
    alexa: Alexa, clock: FakeClock, timers_api: TimersApiStandIn, timed_by: str
) -> None:
    """20 minutes of cold timed by hand (timer declined) or by the skill, the skill closed,
    back 21 minutes later: "is the cramping gone?", not the compress again."""
    walk_to(alexa, COLD)
    if timed_by == "hand":
        assert alexa.intent(NO).state["timers"] == []
    else:
        timed = alexa.intent(SET_TIMER, {"minutes": "20"})
        assert [t["minutes"] for t in timed.state["timers"]] == [20]
        assert len(timers_api.timers()) == 1
    alexa.intent(STOP)
    clock.advance(minutes=21)
    back = alexa.launch()
    assert back.keys[0] == "timer/welcome_back" and back.keys[-1] == "cold/gone_ask"
    assert back.state["pending"] == "cramp_gone" and not COMPRESS_ON & set(back.keys)


def round_starts(replies: Iterable[Reply]) -> list[float]:
    """When each cold round began, as the replies' states tell it."""
    starts: list[float] = []
    for reply in replies:
        started = reply.state.get("round_started_at")
        if started and (not starts or started != starts[-1]):
            starts.append(started)
    return starts


def test_cold_rounds_are_an_hour_apart_across_sessions(
    alexa: Alexa, clock: FakeClock, replies: list[Reply]
) -> None:
    """Not gone after round 1 (timed by hand), no wait timer: coming back 41 minutes after it
    began gives the wait, not the compress; 61 minutes after, round 2."""
    begun = clock.now.timestamp()
    to_cramp_question(alexa, clock, minutes=21)
    alexa.intent(NO)  # not gone
    left = alexa.intent(NO)  # no wait timer: come back later
    assert left.ends_session and "cold/come_back" in left.keys
    clock.advance(minutes=20)
    early = alexa.launch()
    assert not COMPRESS_ON & set(early.keys) and early.state["cold_round"] == 1
    assert "cold/wait" in early.keys or early.keys[-1] == "timer/wait_offer"
    alexa.intent(NO)
    clock.advance(minutes=20)
    due = alexa.launch()
    assert "cold/round" in due.keys and due.state["cold_round"] == 2
    starts = round_starts(replies)
    assert starts[0] == begun
    assert all(later - earlier >= HOUR_S for earlier, later in zip(starts, starts[1:],
                                                                       strict=False))


@pytest.mark.parametrize("waiting_on", ["cramp_gone", "wait_offer"])
def test_a_timer_asked_for_between_rounds_never_starts_cold_early(
    alexa: Alexa, clock: FakeClock, timers_api: TimersApiStandIn, waiting_on: str
) -> None:
    """"Set a timer" while the hour between rounds runs: no cold compress timer, and the last
    round's start stays where it was (a new round only an hour after it)."""
    to_cramp_question(alexa, clock, minutes=21)
    if waiting_on == "wait_offer":
        assert alexa.intent(NO).state["pending"] == "wait_offer"
    before = alexa.last
    assert before is not None
    started = before.state["round_started_at"]
    reply = alexa.intent(SET_TIMER)
    assert all(t["purpose"] != "cold" for t in reply.state["timers"])
    assert not any(t.duration_s in (15 * 60, 20 * 60) for t in timers_api.timers())
    assert reply.state["round_started_at"] == started
    assert not COMPRESS_ON & set(reply.keys)


# --- 8. Someone who cannot walk -------------------------------------------------------------

def stop_lines(replies: Iterable[Reply]) -> list[Line]:
    """Every step/stop line spoken or shown."""
    found = [x for r in replies for x in lines(r) if x.key == "step/stop"]
    found += [r.outcome.shown.instruction for r in replies
              if r.outcome is not None and getattr(r.outcome.shown, "instruction", None)
              and r.outcome.shown.instruction.key == "step/stop"]
    return found


@pytest.mark.parametrize("sign_id", CANNOT_WALK)
@pytest.mark.parametrize("when", ["before the routine", "at step 1", "at step 3"])
def test_someone_who_cannot_walk_is_never_told_to_walk_home(
    alexa: Alexa, sign_id: str, when: str
) -> None:
    """"I can't put weight on it", "I can't stand", "I fell": step 1 never says walk home,
    whether reached by next, back, go to, repeat, start over or a new session."""
    if when == "before the routine":
        said = [sign(alexa, sign_id), alexa.intent(NEXT)]
    else:
        walk_to(alexa, 1 if when == "at step 1" else 3, answer_gate=False)
        said = [sign(alexa, sign_id), alexa.intent(REPEAT), go_to(alexa, 1)]
    said += [alexa.intent(NEXT), alexa.intent(PREVIOUS), alexa.intent(REPEAT),
             alexa.intent(START_OVER), alexa.intent(STOP)]
    back = alexa.launch()
    said += [back, alexa.intent(NO) if back.state["pending"] == "resume" else back]
    spoken = stop_lines(said)
    assert len(spoken) >= 4
    assert all(x.args.get("can_walk") is False for x in spoken), spoken


# --- 10. Cards and screens are plain text ---------------------------------------------------

@pytest.mark.parametrize("helping", [False, True])
def test_the_checklist_card_and_screen_are_plain_text(
    make_alexa: Callable[..., Alexa], locale: str, helping: bool
) -> None:
    """The checklist card and the screen's disclaimer carry the number as plain text: no
    <say-as>, no <sub> (Australia's 000 included), no entities."""
    alexa = on(make_alexa, "screen")
    if helping:
        alexa.intent(HELPER)
    else:
        alexa.launch()
    reply = alexa.intent(CHECKLIST)
    assert reply.card and reply.card["type"] == "Simple"
    [payload] = apl_payloads(reply)
    texts = [reply.card["title"], reply.card["content"], *strings(payload)]
    for text in texts:
        assert_plain(text)
    number = number_for(locale)
    if number:
        assert number in reply.card["content"] and number in payload["disclaimer"]


def test_cards_and_screens_stay_plain_through_a_whole_routine(
    make_alexa: Callable[..., Alexa],
) -> None:
    """Every card and screen of a routine with a warning sign and a timer is plain text."""
    alexa = on(make_alexa, "screen")
    walk_to(alexa, 2)
    sign(alexa, "fall")
    said = carry_on_to_the_end(alexa, alexa.intent(NEXT))
    assert any(r.card for r in said) and any(apl_payloads(r) for r in said)
    check_reply_rules(said)

