"""Touch on screens: the step view's Next, Back and Repeat buttons, and the skill's answer.

A press arrives as Alexa.Presentation.APL.UserEvent with the button's SendEvent arguments; it
must do exactly what saying the same thing does. Each test plays two users side by side, one
speaking and one touching, and compares the state they reach and the screen they get.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pytest

from skill import screen
from skill.handlers.touch import ACTIONS
from skill.routine import Ev
from tests.conftest import new_device
from tests.talk import NEXT, PREVIOUS, REPEAT, WHERE, step_of, walk_to
from tooling.standins.alexa import Alexa, Device, Reply

USER_EVENT = "Alexa.Presentation.APL.UserEvent"
RENDER = "Alexa.Presentation.APL.RenderDocument"
SAID = {screen.NEXT: NEXT, screen.PREVIOUS: PREVIOUS, screen.REPEAT: REPEAT}


def screen_device(**fields: Any) -> Device:
    device = new_device()
    return Device.of_kind("screen", user_id=device.user_id, api_endpoint=device.api_endpoint,
                          api_access_token=device.api_access_token, **fields)


@pytest.fixture
def on_screen(make_alexa: Callable[..., Alexa]) -> Callable[[], Alexa]:
    """A new user on an Echo Show each call."""
    return lambda: make_alexa(device=screen_device())


def user_event(arguments: Any = ..., *, button: str = "button-next") -> dict[str, Any]:
    """A UserEvent as Alexa sends it when a TouchWrapper's SendEvent runs (`...`: none)."""
    request: dict[str, Any] = {
        "type": USER_EVENT,
        "token": screen.STEP_TOKEN,
        "source": {"type": "TouchWrapper", "handler": "Press", "id": button,
                   "uid": ":1017", "value": False},
        "components": {},
    }
    if arguments is not ...:
        request["arguments"] = arguments
    return request


def press(alexa: Alexa, action: str) -> Reply:
    return alexa.request(user_event([action], button=f"button-{action}"))


def routine(reply: Reply) -> Mapping[str, Any]:
    state: Mapping[str, Any] = reply.attributes["routine"]
    return state


def views(reply: Reply) -> list[Mapping[str, Any]]:
    return [d["datasources"]["payload"] for d in reply.directives if d["type"] == RENDER]


def view(reply: Reply) -> Mapping[str, Any]:
    [payload] = views(reply)
    return payload


def same_turn(spoken: Reply, touched: Reply) -> None:
    """The touch did what the words did: same step, same question pending, same screen."""
    assert step_of(touched) == step_of(spoken)
    assert routine(touched)["pending"] == routine(spoken)["pending"]
    assert routine(touched)["finished"] == routine(spoken)["finished"]
    assert views(touched) == views(spoken)
    assert touched.ends_session == spoken.ends_session


@pytest.mark.parametrize(("action", "at"), [
    (screen.NEXT, 1),      # step 1 -> 2
    (screen.NEXT, 2),      # step 2 -> the pain question before the massage
    (screen.NEXT, 6),
    (screen.PREVIOUS, 4),
    (screen.PREVIOUS, 2),
    (screen.REPEAT, 5),
])
def test_a_press_is_the_same_turn_as_saying_it(
    on_screen: Callable[[], Alexa], action: str, at: int
) -> None:
    """Next, Back and Repeat by touch move the routine exactly as the spoken intents do."""
    speaker, toucher = on_screen(), on_screen()
    walk_to(speaker, at)
    walk_to(toucher, at)
    spoken, touched = speaker.intent(SAID[action]), press(toucher, action)
    same_turn(spoken, touched)
    if action != screen.REPEAT:
        assert step_of(touched) != at or routine(touched)["pending"]  # it really moved


# Answers to the questions on the way (by voice: a question has no buttons; no timers, so no
# permission dialog), and the presses in between: forward mostly, with a step back and a
# repeat now and then.
ANSWERS = {"pain_gate": "AMAZON.NoIntent", "timer_offer": "AMAZON.NoIntent"}
PRESSES = [screen.NEXT, screen.NEXT, screen.PREVIOUS, screen.REPEAT, screen.NEXT, screen.NEXT]


def test_a_whole_routine_by_touch_is_the_routine_by_voice(
    on_screen: Callable[[], Alexa],
) -> None:
    """Two runners, one touching and one speaking, stay in step turn by turn to the end."""
    speaker, toucher = on_screen(), on_screen()
    spoken, touched = speaker.launch(), toucher.launch()
    presses = 0
    reached: set[int] = set()  # steps a press arrived at
    for _turn in range(60):
        same_turn(spoken, touched)
        if routine(touched)["finished"] or touched.ends_session:
            break
        pending = routine(touched)["pending"]
        if pending:
            answer = ANSWERS.get(pending, "AMAZON.YesIntent")
            spoken, touched = speaker.intent(answer), toucher.intent(answer)
            continue
        action = PRESSES[presses % len(PRESSES)]
        presses += 1
        spoken, touched = speaker.intent(SAID[action]), press(toucher, action)
        reached.add(step_of(touched))
    assert routine(touched)["finished"]
    assert presses >= len(PRESSES) and reached >= {2, 3, 4, 6, 7, 8}, (presses, reached)


def test_repeat_at_the_pain_question_keeps_the_question(on_screen: Callable[[], Alexa]) -> None:
    """Repeat by touch while the pain question waits: still step 3, still asking."""
    speaker, toucher = on_screen(), on_screen()
    walk_to(speaker, 3, answer_gate=False)
    walk_to(toucher, 3, answer_gate=False)
    touched = press(toucher, screen.REPEAT)
    same_turn(speaker.intent(REPEAT), touched)
    assert routine(touched)["pending"] == "pain_gate"


def test_next_by_touch_cannot_skip_the_pain_question(on_screen: Callable[[], Alexa]) -> None:
    """The massage gate holds for touch too: Next while the question waits does not massage."""
    speaker, toucher = on_screen(), on_screen()
    walk_to(speaker, 3, answer_gate=False)
    walk_to(toucher, 3, answer_gate=False)
    touched = press(toucher, screen.NEXT)
    same_turn(speaker.intent(NEXT), touched)
    assert not (step_of(touched) == 3 and routine(touched)["pending"] is None)


GARBAGE = [
    pytest.param(..., id="no arguments"),
    pytest.param([], id="empty"),
    pytest.param(["jump"], id="unknown action"),
    pytest.param(["NEXT"], id="wrong case"),
    pytest.param([42], id="a number"),
    pytest.param([None], id="null"),
    pytest.param([{"action": "next"}], id="an object"),
    pytest.param(["next" * 2000], id="very long"),
    pytest.param("next", id="a string, not a list"),
]


@pytest.mark.parametrize("arguments", GARBAGE)
def test_a_touch_the_skill_never_sent_says_where_you_are(
    on_screen: Callable[[], Alexa], arguments: Any
) -> None:
    """Garbage arguments: answered (a valid response, the session open), the place kept."""
    alexa = on_screen()
    before = walk_to(alexa, 4)
    reply = alexa.request(user_event(arguments))
    assert step_of(reply) == 4 and routine(reply)["pending"] == routine(before)["pending"]
    assert not reply.ends_session and reply.speech


def test_an_unknown_action_is_the_where_am_i_turn(on_screen: Callable[[], Alexa]) -> None:
    """An action nobody handles is answered as "what step am I on"."""
    speaker, toucher = on_screen(), on_screen()
    walk_to(speaker, 5)
    walk_to(toucher, 5)
    same_turn(speaker.intent(WHERE), toucher.request(user_event(["jump"])))


def test_a_touch_after_the_session_closed_opens_one(on_screen: Callable[[], Alexa]) -> None:
    """The view outlives the session on screen: a later press starts a session and answers."""
    alexa = on_screen()
    alexa.launch()
    alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    reply = press(alexa, screen.NEXT)
    assert reply.speech and "routine" in reply.attributes


# --- what the screen is given -----------------------------------------------------------------

def test_the_step_view_carries_back_repeat_and_next(on_screen: Callable[[], Alexa]) -> None:
    """Three buttons, left to right Back, Repeat, Next, with their words from the templates."""
    payload = view(on_screen().launch())
    buttons = payload["buttons"]
    assert [b["action"] for b in buttons] == [screen.PREVIOUS, screen.REPEAT, screen.NEXT]
    labels = [b["label"] for b in buttons]
    assert all(label.strip() == label and label for label in labels)
    assert len(set(labels)) == 3
    from skill.speech import environment
    rendered = [environment("en-US").get_template(f"screen/button_{name}.txt").render().strip()
                for name in screen.STEP_BUTTONS]
    assert labels == rendered


def test_every_step_and_the_pain_question_show_the_buttons(on_screen: Callable[[], Alexa]) -> None:
    """Each step's view, and the pain question's, has the same three buttons."""
    views = [view(walk_to(on_screen(), step, answer_gate=False)) for step in range(1, 9)]
    views.append(view(walk_to(on_screen(), 3)))  # the massage itself, after the pain question
    assert [v["number"] for v in views] == [*range(1, 9), 3]
    for shown in views:
        assert [b["action"] for b in shown["buttons"]] == list(screen.STEP_BUTTONS)


def test_every_button_action_has_a_touch_answer() -> None:
    """No button leads nowhere: each action the step view offers is one the handler maps."""
    assert set(screen.STEP_BUTTONS) == set(ACTIONS)
    assert ACTIONS == {screen.NEXT: Ev.NEXT, screen.PREVIOUS: Ev.PREVIOUS,
                       screen.REPEAT: Ev.REPEAT}


def test_a_driver_gets_no_buttons(make_alexa: Callable[..., Alexa]) -> None:
    """A car with a screen shows the hold view without buttons: hands stay on the wheel."""
    alexa = make_alexa(device=screen_device(extra_context={"Automotive": {}}))
    assert view(alexa.launch())["buttons"] == []


def test_an_action_no_handler_answers_is_refused_when_building_the_view() -> None:
    """The screen module will not put a button on screen that the skill cannot answer."""
    with pytest.raises(ValueError, match="jump"):
        screen.step_directive(number=1, total=8, title="t", instruction="i", timer=None,
                              buttons=[screen.Button("Jump", "jump")])


def test_the_speaker_gets_no_screen_and_a_touch_still_answers(
    make_alexa: Callable[..., Alexa],
) -> None:
    """A UserEvent from a device without APL (it cannot happen, but) is answered, no APL back."""
    alexa = make_alexa(device=new_device())
    walk_to(alexa, 2)
    reply = press(alexa, screen.NEXT)
    assert step_of(reply) == 3 and not [d for d in reply.directives if d["type"] == RENDER]
