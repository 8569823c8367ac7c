"""The three people the skill serves: a driver, a caregiver, and a runner with a screen."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import pytest

from tests.conftest import new_device
from tests.talk import (
    CHECKLIST,
    GO_TO,
    HANDS_ON_WORDS,
    HELP,
    HURTS,
    KEEP_MASSAGING,
    MORE,
    NEXT,
    NO,
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
from tooling.standins.alexa import Alexa, Device, Reply, Slot

DRIVING = "DrivingIntent"
PARKED = "ParkedIntent"
HELPER = "HelperModeIntent"
FOR_ME = "ForMeIntent"
OVERVIEW = "OverviewIntent"

# While driving every answer stays within one breath group or so: about 15 seconds of speech
# at Alexa's ~150 words a minute. Safety answers must fit too.
CAR_WORD_BUDGET = 45
HANDS_ON = [HANDS_ON_WORDS[n] for n in (2, 3, 4, 5)] + [
    "massage the cramping", "Put a cold compress", "Shall I time it", "soak in"]


def in_car(make_alexa: Callable[..., Alexa]) -> Alexa:
    device = new_device()
    car = Device.of_kind("car", user_id=device.user_id, api_endpoint=device.api_endpoint,
                         api_access_token=device.api_access_token)
    return make_alexa(device=car)


def words_before_prompt(reply: Reply) -> int:
    return len(reply.speech.split())


def assert_safe_for_a_driver(reply: Reply) -> None:
    for words in HANDS_ON:
        assert words.lower() not in reply.speech.lower(), f"told a driver: {words}"
    assert len(reply.speech.split()) <= CAR_WORD_BUDGET, reply.speech


# --- In the car ----------------------------------------------------------------------------

def test_a_driver_hears_no_hands_on_step_before_parking(
    make_alexa: Callable[..., Alexa],
) -> None:
    """Every step, the gate, more, repeat, help: nothing hands-on, short, the park prompt."""
    alexa = in_car(make_alexa)
    replies = [alexa.launch()]
    for intent in (NEXT, NEXT, MORE, REPEAT, KEEP_MASSAGING, NEXT, YES, SET_TIMER, NEXT, NEXT,
                   PREVIOUS, HELP, NEXT, NEXT, NEXT):
        replies.append(alexa.intent(intent))
    for reply in replies:
        assert_safe_for_a_driver(reply)
        if not reply.ends_session and reply.attributes["routine"]["pending"] is None:
            assert "When you've parked, say I've parked." in reply.speech
    assert step_of(replies[-1]) >= 5  # the place still moves on


def test_the_driver_gets_the_checklist_card_and_the_place_is_kept(
    make_alexa: Callable[..., Alexa],
) -> None:
    """Held steps send the checklist to the phone; the place is the step they asked for."""
    alexa = in_car(make_alexa)
    alexa.launch()
    held = alexa.intent(NEXT)
    assert held.card and held.card["title"] == "Cramp Coach checklist"
    assert step_of(held) == 2
    alexa.intent(STOP)
    back = alexa.launch()
    assert "You were at step 2" in back.speech


def test_parking_carries_on_with_the_step_and_its_safety_question(
    make_alexa: Callable[..., Alexa],
) -> None:
    """"I've parked": the held step is spoken in full, the massage gate asked first."""
    alexa = in_car(make_alexa)
    alexa.launch()
    alexa.intent(NEXT)
    alexa.intent(NEXT)  # the massage, held
    parked = alexa.intent(PARKED)
    assert "you've parked" in parked.speech
    assert "is the pain getting worse?" in parked.speech
    assert HANDS_ON_WORDS[3] in alexa.intent(NO).speech
    assert "Shall I time it?" in alexa.intent(NEXT).speech


def test_im_driving_on_any_device_holds_the_steps(alexa: Alexa) -> None:
    """A runner on a phone who says "I'm driving" gets the driver's answers too."""
    walk_to(alexa, 1)
    said = alexa.intent(DRIVING)
    assert "I've sent the checklist to your phone" in said.speech
    assert_safe_for_a_driver(alexa.intent(NEXT))


def test_parking_at_launch_starts_the_routine(make_alexa: Callable[..., Alexa]) -> None:
    """Parked before any step: the routine starts at step 1."""
    alexa = in_car(make_alexa)
    reply = alexa.intent(PARKED)
    assert "Step 1 of 8" in reply.speech and "walk home" in reply.speech


@pytest.mark.parametrize("flag", ["severe_pain", "fall", "every_run"])
def test_red_flags_in_the_car_pull_over_and_stay_short(
    make_alexa: Callable[..., Alexa], flag: str
) -> None:
    """A red flag while driving: pull over first, the number, nothing hands-on, within budget."""
    alexa = in_car(make_alexa)
    alexa.launch()
    reply = alexa.intent(RED_FLAG, {"symptom": Slot("x", flag, custom_type="RED_FLAG")})
    assert reply.speech.startswith("Pull over when it's safe.")
    assert_safe_for_a_driver(reply)
    if flag != "every_run":
        assert "call 911" in reply.speech and "I can't make calls" in reply.speech


def test_it_hurts_more_while_driving(make_alexa: Callable[..., Alexa]) -> None:
    """"It hurts more" in the car: pull over, the doctor advice, no massage talk."""
    alexa = in_car(make_alexa)
    alexa.launch()
    alexa.intent(NEXT)
    reply = alexa.intent(HURTS)
    assert "Pull over when it's safe" in reply.speech and "see a doctor" in reply.speech
    assert "massage" not in reply.speech.lower()
    assert_safe_for_a_driver(reply)


def test_no_timer_is_offered_while_driving_but_one_can_be_asked_for(
    make_alexa: Callable[..., Alexa],
) -> None:
    """Timers only when asked: never offered to a driver; "set a timer" still sets one."""
    alexa = in_car(make_alexa)
    alexa.launch()
    held = alexa.intent(GO_TO, {"number": "4"})
    assert "Shall I time it" not in held.speech
    assert "Timer set for 15 minutes" in alexa.intent(SET_TIMER).speech


# --- The caregiver -------------------------------------------------------------------------

def test_a_caregiver_one_shot_starts_the_routine_for_a_helper(alexa: Alexa) -> None:
    """"Tell cramp coach my son has a cramp": the welcome and every step for a helper."""
    first = alexa.intent(HELPER)
    assert "not a substitute for professional medical advice" in first.speech
    assert "helping them" in first.speech and "Have them stop running" in first.speech
    spoken = [first]
    reply = first
    while not reply.ends_session:
        if "is the pain getting worse?" in reply.speech:
            assert "ask them" in reply.speech.lower()
            reply = alexa.intent(NO)
        elif "completely gone?" in reply.speech:
            reply = alexa.intent(YES)
        else:
            reply = alexa.intent(NEXT)
        spoken.append(reply)
    steps = [r for r in spoken if r.card and r.card["title"].startswith("Step")]
    for reply in steps:
        text = reply.speech
        assert re.search(r"\b(them|their|they)\b", text, re.IGNORECASE), text
        assert "your leg" not in text.lower()


def test_helper_phrasing_for_the_gate_and_red_flags(alexa: Alexa) -> None:
    """The gate asks about the other person's pain; red flags speak of them."""
    alexa.intent(HELPER)
    alexa.intent(NEXT)
    gate = alexa.intent(NEXT)
    assert "ask them: is the pain getting worse?" in gate.speech
    flag = alexa.intent(RED_FLAG, {"symptom": Slot("I fell", "fall", custom_type="RED_FLAG")})
    assert "call 911" in flag.speech
    assert re.search(r"\b(them|their|they)\b", flag.speech, re.IGNORECASE)


def test_switching_to_helper_mid_routine_keeps_the_place(alexa: Alexa) -> None:
    """"It's for my wife" at step 2 rephrases step 2; "it's for me" switches back."""
    walk_to(alexa, 2)
    helper = alexa.intent(HELPER)
    assert "helping them" in helper.speech and "Have them straighten" in helper.speech
    assert step_of(helper) == 2
    me = alexa.intent(FOR_ME)
    assert "Straighten the cramping leg" in me.speech


def test_caregiver_checklist_in_speech_and_card(alexa: Alexa) -> None:
    """"What do I need", for a helper: spoken and sent as a card with the disclaimer."""
    alexa.intent(HELPER)
    reply = alexa.intent(CHECKLIST)
    assert "cold compress" in reply.speech and "ibuprofen" in reply.speech
    assert reply.card and "not a substitute" in reply.card["content"]


@pytest.mark.parametrize("mode", [START, HELPER])
def test_tell_me_all_the_steps(alexa: Alexa, mode: str) -> None:
    """The overview names all eight steps in one breath, then offers to walk through them."""
    alexa.intent(mode)
    reply = alexa.intent(OVERVIEW)
    for word in ("Stop", "Stretch", "Massage", "cold compress", "Heat", "water", "Medicine",
                 "rest"):
        assert word.lower() in reply.speech.lower()
    assert "Say next" in reply.speech


# --- Screens -------------------------------------------------------------------------------

def on_screen(make_alexa: Callable[..., Alexa], kind: str = "screen") -> Alexa:
    device = new_device()
    return make_alexa(device=Device.of_kind(kind, user_id=device.user_id,
                                            api_endpoint=device.api_endpoint,
                                            api_access_token=device.api_access_token))


def apl(reply: Reply) -> list[Mapping[str, Any]]:
    return [d for d in reply.directives if d["type"] == "Alexa.Presentation.APL.RenderDocument"]


def test_each_step_shows_on_a_screen(make_alexa: Callable[..., Alexa]) -> None:
    """An APL device sees step N of 8, the title, the instruction, and a running timer."""
    alexa = on_screen(make_alexa)
    reply = walk_to(alexa, 4)
    [view] = apl(reply)
    payload = view["datasources"]["payload"]
    assert payload["number"] == 4 and payload["total"] == 8
    assert payload["progress"] == "Step 4 of 8" and payload["title"] == "The cold compress"
    assert "15 to 20 minutes" in payload["instruction"] and payload["timer"] == ""
    timed = alexa.intent(YES)
    [view] = apl(timed)
    assert "15 minutes left" in view["datasources"]["payload"]["timer"]
    assert reply.card  # the Alexa app still gets its card


def test_the_checklist_has_its_own_view(make_alexa: Callable[..., Alexa]) -> None:
    alexa = on_screen(make_alexa)
    alexa.launch()
    [view] = apl(alexa.intent(CHECKLIST))
    payload = view["datasources"]["payload"]
    assert len(payload["items"]) == 2 and "not a substitute" in payload["disclaimer"]


def test_the_pain_question_shows_instead_of_the_massage(make_alexa: Callable[..., Alexa]) -> None:
    """Before the gate is answered the screen shows the question, not the massage."""
    alexa = on_screen(make_alexa)
    reply = walk_to(alexa, 3, answer_gate=False)
    [view] = apl(reply)
    assert "getting worse" in view["datasources"]["payload"]["instruction"]
    assert HANDS_ON_WORDS[3] not in view["datasources"]["payload"]["instruction"]


@pytest.mark.parametrize("kind", ["speaker", "car"])
def test_no_apl_to_devices_without_a_screen(make_alexa: Callable[..., Alexa], kind: str) -> None:
    """Speakers and cars without APL never get a RenderDocument directive."""
    alexa = on_screen(make_alexa, kind)
    for reply in (alexa.launch(), alexa.intent(NEXT), alexa.intent(CHECKLIST)):
        assert apl(reply) == []
