"""The three people the skill serves: a driver, a caregiver, and a runner with a screen.

Tests assert what the routine chose (keys, state, cards, directives) and, for the caregiver,
that the helper's phrasing was rendered, at the markup level: never English words, so the
module runs in every locale with a model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from skill import screen
from skill.routine import Card, Line, load_routine
from skill.speech import Voice, template_dirs, to_text
from tests.talk import (
    CHECKLIST,
    DRIVING,
    EMERGENCY,
    FOR_ME,
    GO_TO,
    HELP,
    HELPER,
    HURTS,
    KEEP_MASSAGING,
    MORE,
    NEXT,
    NO,
    OVERVIEW,
    PARKED,
    PREVIOUS,
    RED_FLAG,
    REPEAT,
    SET_TIMER,
    START,
    STOP,
    YES,
    step_of,
    walk_to,
)
from tests.test_safety import (  # every reply here is held to the same rules (autouse)
    _every_reply_keeps_the_rules,  # noqa: F401
    apl_payloads,
    number_for,
    on,
)
from tooling.standins.alexa import Alexa, Reply, Slot
from tooling.standins.timers_api import TimersApiStandIn

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()

# While driving every answer stays within one breath group or so: about 15 seconds of speech
# at Alexa's ~150 words a minute. Safety answers must fit too.
CAR_WORD_BUDGET = 45
# Never said to a driver (rule 7): hands-on instructions, the question that leads to the
# massage, and the offers and words of a hands-on timer.
NOT_AT_THE_WHEEL = frozenset({
    "step/stretch", "step/massage", "step/cold", "step/heat",
    "more/stretch", "more/massage", "more/cold", "more/heat",
    "gate/ask", "gate/no", "cold/round", "timer/offer", "timer/choose", "timer/time_yourself",
    "timer/wait_offer",
})
MASSAGE = frozenset({"step/massage", "more/massage", "gate/no"})


def assert_safe_for_a_driver(reply: Reply) -> None:
    told = NOT_AT_THE_WHEEL & set(reply.keys)
    assert not told, f"told a driver: {told}"


def words(reply: Reply) -> int:
    return len(reply.speech.split())


def voice(reply: Reply, locale: str, variants: tuple[str, ...]) -> Voice:
    return Voice(locale, reply.outcome.state, ROUTINE, variants=variants)


def rendered(reply: Reply, locale: str, variants: tuple[str, ...]) -> str:
    """The speech the reply's outcome makes in these variants, as skill/response.py joins it."""
    v = voice(reply, locale, variants)
    outcome = reply.outcome
    prompt = v.ssml(outcome.prompt) if outcome.prompt is not None else ""
    return f"<speak>{v.styled(' '.join(p for p in (v.ssml(*outcome.lines), prompt) if p))}</speak>"


def has_variant(key: str, variant: str, locale: str) -> bool:
    return any((folder / f"{key}@{variant}.ssml").is_file() for folder in template_dirs(locale))


def assert_spoken_for_a_helper(reply: Reply, locale: str) -> None:
    """The helper's phrasing was rendered: exactly that SSML, and not the runner's where the
    lines have a helper variant."""
    assert reply.state["helping"] is True
    assert reply.ssml == rendered(reply, locale, ("helper",))
    if any(has_variant(line.key, "helper", locale) for line in reply.outcome.lines):
        assert reply.ssml != rendered(reply, locale, ())


# --- In the car ----------------------------------------------------------------------------

def test_a_driver_hears_no_hands_on_step_before_parking(
    make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn
) -> None:
    """Every step, the gate, more, repeat, timers, help: nothing hands-on, short, the park
    prompt; the place still moves on and no timer is set."""
    alexa = on(make_alexa, "car")
    replies = [alexa.launch()]
    for intent in (NEXT, NEXT, MORE, REPEAT, KEEP_MASSAGING, NEXT, YES, SET_TIMER, NEXT, NEXT,
                   PREVIOUS, HELP, NEXT, NEXT, NEXT):
        replies.append(alexa.intent(intent))
    for reply in replies:
        assert_safe_for_a_driver(reply)
        if not reply.ends_session and reply.state["pending"] is None:
            assert reply.outcome.prompt.key == "car/park_prompt"
    assert step_of(replies[-1]) >= 5
    assert timers_api.timers() == [] and replies[-1].state["timers"] == []


def test_every_answer_to_a_driver_is_short(make_alexa: Callable[..., Alexa]) -> None:
    """A driver's answers, the safety answers included, stay within about 15 seconds of
    speech (the first-time launch, with the disclaimer, is bound by the words before its
    first instruction instead: tests/test_speech_budget.py)."""
    alexa = on(make_alexa, "car")
    first = alexa.launch()
    assert Line("open/welcome", {"first_time": True}) in first.outcome.lines
    replies = [alexa.intent(intent) for intent in (
        NEXT, NEXT, MORE, REPEAT, KEEP_MASSAGING, NEXT, YES, SET_TIMER, HELP, HURTS, NEXT, NEXT,
        NEXT, NEXT, EMERGENCY)]
    too_long = {reply.keys: words(reply) for reply in replies if words(reply) > CAR_WORD_BUDGET}
    assert not too_long


def test_the_driver_gets_the_checklist_card_and_the_place_is_kept(
    make_alexa: Callable[..., Alexa],
) -> None:
    """A held step sends the checklist to the phone; the place is the step they asked for."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    held = alexa.intent(NEXT)
    assert held.outcome.card is Card.CHECKLIST and held.card
    assert "car/hold" in held.keys and step_of(held) == 2
    alexa.intent(STOP)
    back = alexa.launch()
    assert step_of(back) == 2 and back.state["pending"] == "resume"


def test_go_to_the_cold_step_and_twenty_minutes_while_driving(
    make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn
) -> None:
    """"Go to step four", then "twenty": the place moves, but no hands-on words and no timer
    (nothing reaches the Timers API); the car's hold line instead."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    moved = alexa.intent(GO_TO, {"number": "4"})
    assert step_of(moved) == 4 and "car/hold" in moved.keys
    twenty = alexa.intent(SET_TIMER, {"minutes": "20"})
    for reply in (moved, twenty):
        assert_safe_for_a_driver(reply)
    assert "car/hold" in twenty.keys
    assert twenty.state["timers"] == [] and timers_api.timers() == []


@pytest.mark.parametrize("how", ["car", "said so"])
def test_parking_starts_with_the_first_step_held_back(
    make_alexa: Callable[..., Alexa], how: str
) -> None:
    """Held at the stretch and the massage, "I've parked": the stretch comes first, then the
    massage after its question, then the cold compress with its timer offer."""
    alexa = on(make_alexa, "car" if how == "car" else "speaker")
    alexa.launch()
    if how == "said so":
        assert "car/noted" in alexa.intent(DRIVING).keys
    held = [alexa.intent(NEXT), alexa.intent(NEXT)]
    assert [step_of(r) for r in held] == [2, 3] and all("car/hold" in r.keys for r in held)
    assert held[-1].state["held_from"] == 2
    parked = alexa.intent(PARKED)
    assert parked.keys[:3] == ("car/parked", "step/header", "step/stretch")
    assert step_of(parked) == 2 and parked.state["held_from"] == 0
    assert alexa.intent(NEXT).keys[-1] == "gate/ask"
    assert "step/massage" in alexa.intent(NO).keys
    cold = alexa.intent(NEXT)
    assert "step/cold" in cold.keys and cold.keys[-1] == "timer/offer"


def test_im_driving_on_any_device_holds_the_steps(alexa: Alexa) -> None:
    """A runner on a speaker who says "I'm driving" gets the driver's answers and the card."""
    walk_to(alexa, 1)
    said = alexa.intent(DRIVING)
    assert said.keys[0] == "car/noted" and said.outcome.card is Card.CHECKLIST
    assert said.state["car_said"] == "driving"
    assert_safe_for_a_driver(alexa.intent(NEXT))


def test_parking_at_launch_starts_the_routine(make_alexa: Callable[..., Alexa]) -> None:
    """Parked before any step: the routine starts at step 1, walking home included."""
    alexa = on(make_alexa, "car")
    reply = alexa.intent(PARKED)
    assert "car/parked" in reply.keys and step_of(reply) == 1
    [stop] = [line for line in reply.outcome.lines if line.key == "step/stop"]
    assert stop.args == {"can_walk": True}


@pytest.mark.parametrize("flag", ["severe_pain", "fall", "every_run"])
def test_red_flags_in_the_car_pull_over_and_stay_short(
    make_alexa: Callable[..., Alexa], locale: str, flag: str
) -> None:
    """A red flag while driving: pull over first, the advice (the number if urgent), nothing
    hands-on, within the budget."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    reply = alexa.intent(RED_FLAG, {"symptom": Slot(flag, flag, custom_type="RED_FLAG")})
    assert reply.keys[:2] == ("car/pull_over", "safety/red_flag")
    assert_safe_for_a_driver(reply)
    assert words(reply) <= CAR_WORD_BUDGET
    number = number_for(locale)
    if flag != "every_run" and number:
        assert number in reply.speech


def test_it_hurts_more_while_driving(make_alexa: Callable[..., Alexa]) -> None:
    """"It hurts more" in the car: pull over, the doctor advice, no massage talk."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    alexa.intent(NEXT)
    reply = alexa.intent(HURTS)
    assert reply.keys[:2] == ("car/pull_over", "safety/severe_pain_doctor")
    assert not MASSAGE & set(reply.keys) and reply.state["pain_worse"] is True
    assert_safe_for_a_driver(reply)


def test_an_emergency_request_while_driving(make_alexa: Callable[..., Alexa]) -> None:
    """"Call 911" at the wheel: pull over, the number, and the session ends with the way back."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    reply = alexa.intent(EMERGENCY)
    assert reply.keys[:2] == ("car/pull_over", "safety/emergency")
    assert reply.keys[-1] == "bye/come_back" and reply.ends_session
    assert_safe_for_a_driver(reply)


def test_no_timer_is_offered_or_set_while_driving(
    make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn
) -> None:
    """At the cold step in the car no timer is offered, and "set a timer" sets none."""
    alexa = on(make_alexa, "car")
    alexa.launch()
    held = alexa.intent(GO_TO, {"number": "4"})
    assert held.state["pending"] is None and "timer/offer" not in held.keys
    asked = alexa.intent(SET_TIMER)
    assert "timer/set" not in asked.keys and timers_api.timers() == []


# --- The caregiver -------------------------------------------------------------------------

ANSWERS = {"pain_gate": NO, "cramp_gone": YES, "timer_offer": NO, "wait_offer": NO}


def test_a_caregiver_one_shot_starts_the_routine_for_a_helper(
    alexa: Alexa, locale: str
) -> None:
    """"Tell cramp coach my son has a cramp": the first-time welcome in the helper's phrasing
    (it says it all: no separate "helper mode on") and every answer of the routine so."""
    first = alexa.intent(HELPER)
    welcome = first.outcome.lines[0]
    assert welcome == Line("open/welcome", {"first_time": True})
    assert "mode/helper_on" not in first.keys and "step/stop" in first.keys
    spoken = [first]
    reply = first
    while not reply.ends_session and len(spoken) < 30:
        pending = reply.state["pending"]
        reply = alexa.intent(ANSWERS[pending] if pending else NEXT)
        spoken.append(reply)
    assert reply.keys[-1] == "finish/wrap_up"
    assert "gate/ask" in {key for r in spoken for key in r.keys}
    for reply in spoken:
        assert_spoken_for_a_helper(reply, locale)


def test_helper_phrasing_for_the_gate_red_flags_and_emergencies(
    alexa: Alexa, locale: str
) -> None:
    """The gate asks about the other person's pain; a red flag and "call an ambulance" speak
    of them, with the number."""
    alexa.intent(HELPER)
    alexa.intent(NEXT)
    gate = alexa.intent(NEXT)
    assert gate.keys[-1] == "gate/ask"
    flag = alexa.intent(RED_FLAG, {"symptom": Slot("fall", "fall", custom_type="RED_FLAG")})
    assert "safety/red_flag" in flag.keys
    emergency = alexa.intent(EMERGENCY)
    assert "safety/emergency" in emergency.keys
    number = number_for(locale)
    for reply in (gate, flag, emergency):
        assert_spoken_for_a_helper(reply, locale)
    assert number is None or (number in flag.speech and number in emergency.speech)


def test_switching_to_helper_mid_routine_keeps_the_place(alexa: Alexa, locale: str) -> None:
    """"It's for my wife" at step 2 says step 2 again for a helper; "it's for me" switches back."""
    walk_to(alexa, 2)
    helper = alexa.intent(HELPER)
    assert helper.keys[:3] == ("mode/helper_on", "step/header", "step/stretch")
    assert step_of(helper) == 2
    assert_spoken_for_a_helper(helper, locale)
    me = alexa.intent(FOR_ME)
    assert me.keys[:3] == ("mode/helper_off", "step/header", "step/stretch")
    assert me.state["helping"] is False and me.ssml == rendered(me, locale, ())


def test_caregiver_checklist_in_speech_and_card(alexa: Alexa, locale: str) -> None:
    """"What do I need", for a helper: spoken and sent as the helper's checklist card."""
    alexa.intent(HELPER)
    reply = alexa.intent(CHECKLIST)
    assert reply.keys[0] == "info/checklist" and reply.outcome.card is Card.CHECKLIST
    assert_spoken_for_a_helper(reply, locale)
    title, _, body = voice(reply, locale, ("helper",)).text("card/checklist").partition("\n")
    assert reply.card == {"type": "Simple", "title": title.strip(), "content": body.strip()}


@pytest.mark.parametrize("mode", [START, HELPER])
def test_tell_me_all_the_steps(alexa: Alexa, locale: str, mode: str) -> None:
    """The overview of all the steps, then the prompt to walk through them."""
    alexa.intent(mode)
    reply = alexa.intent(OVERVIEW)
    assert reply.keys[0] == "info/overview" and reply.outcome.prompt is not None
    assert not reply.ends_session
    if mode == HELPER:
        assert_spoken_for_a_helper(reply, locale)


# --- Screens -------------------------------------------------------------------------------

def the_view(reply: Reply) -> Mapping[str, Any]:
    [payload] = apl_payloads(reply)
    return payload


def shown_text(reply: Reply, locale: str, line: Line) -> str:
    return to_text(voice(reply, locale, ()).ssml(line))


def test_each_step_shows_on_a_screen(
    make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn, locale: str
) -> None:
    """An APL device sees step N of 8, the title, the instruction, and a running timer."""
    alexa = on(make_alexa, "screen")
    reply = walk_to(alexa, 4)
    shown = reply.outcome.shown
    assert shown.instruction.key == "step/cold" and shown.timer is None
    v = voice(reply, locale, ())
    assert the_view(reply) == {
        "number": 4, "total": ROUTINE.total, "progress": v.text("screen/progress"),
        "title": v.text("screen/title"),
        "instruction": shown_text(reply, locale, shown.instruction), "timer": "",
        "buttons": [{"label": v.text(f"screen/button_{action}"), "action": action}
                    for action in screen.STEP_BUTTONS],
    }
    assert reply.card  # the Alexa app still gets its card
    timed = alexa.intent(YES)
    timer = timed.outcome.shown.timer
    assert timer is not None and timer.key == "timer/left"
    assert the_view(timed)["timer"] == shown_text(timed, locale, timer) != ""


def test_the_checklist_has_its_own_view(make_alexa: Callable[..., Alexa], locale: str) -> None:
    """The checklist view: its title, the two things you'll need, and the disclaimer."""
    alexa = on(make_alexa, "screen")
    alexa.launch()
    reply = alexa.intent(CHECKLIST)
    v = voice(reply, locale, ())
    assert the_view(reply) == {
        "title": v.text("screen/checklist_title"),
        "items": v.text("screen/checklist_items").splitlines(),
        "disclaimer": v.text("screen/disclaimer"),
    }
    assert len(the_view(reply)["items"]) == 2


def test_the_pain_question_shows_instead_of_the_massage(
    make_alexa: Callable[..., Alexa], locale: str
) -> None:
    """Before the gate is answered the screen and card show the question, not the massage."""
    alexa = on(make_alexa, "screen")
    reply = walk_to(alexa, 3, answer_gate=False)
    assert reply.outcome.shown.instruction.key == "gate/ask"
    instruction = the_view(reply)["instruction"]
    assert instruction == shown_text(reply, locale, Line("gate/ask"))
    assert instruction != shown_text(reply, locale, Line("step/massage"))


@pytest.mark.parametrize("kind", ["speaker", "car"])
def test_no_apl_to_devices_without_a_screen(make_alexa: Callable[..., Alexa], kind: str) -> None:
    """Speakers and cars without APL never get a RenderDocument directive."""
    alexa = on(make_alexa, kind)
    for reply in (alexa.launch(), alexa.intent(NEXT), alexa.intent(CHECKLIST)):
        assert apl_payloads(reply) == []
