"""The routine from launch to wrap-up, and navigation at the first, a middle and the last step.

Every test asserts what the routine chose (template keys, state, cards, the session's end),
never its words, so each runs in every locale with a model; the words behind the keys are
checked once per template in tests/test_wording.py.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from skill.routine import Card, ChecklistShown, Line, StepShown, load_routine
from tests.talk import (
    CANCEL,
    CANT_DO,
    CHECKLIST,
    GO_TO,
    HELP,
    HOME,
    LEFT,
    LOUDER,
    MORE,
    NEXT,
    NO,
    PAUSE,
    PREVENTION,
    PREVIOUS,
    REPEAT,
    RESUME,
    SKIP,
    SLOWER,
    START,
    START_OVER,
    STOP,
    WHERE,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Reply, Slot

pytestmark = pytest.mark.every_locale

ROUTINE = load_routine()
STEPS = [s.id for s in ROUTINE.steps]
TOTAL = ROUTINE.total
FIRST, MIDDLE, LAST = 1, 5, TOTAL
# Lines that carry the disclaimer, and the first-timer's guide to moving around.
DISCLAIMERS = {"open/disclaimer", "help/disclaimer"}
GUIDE = "open/guide"


def instruction(number: int) -> str:
    return f"step/{STEPS[number - 1]}"


def first_time_welcome(reply: Reply) -> bool:
    """The reply carries the disclaimer a first-time user hears once."""
    lines = reply.outcome.lines
    return any(line.key in DISCLAIMERS for line in lines) or any(
        line.key == "open/welcome" and line.args.get("first_time") for line in lines)


def shows_step(reply: Reply, number: int) -> None:
    """The reply sends a step card for `number` (and shows the step on a screen)."""
    assert reply.outcome.card is Card.STEP
    shown = reply.outcome.shown
    assert isinstance(shown, StepShown) and shown.number == number
    assert reply.card and reply.card["type"] == "Simple"


def test_first_launch_is_sympathy_disclaimer_then_step_one_and_the_guide(alexa: Alexa) -> None:
    """A first-time user hears the welcome with the disclaimer, step 1, then the guide."""
    reply = alexa.launch()
    assert reply.keys == ("open/welcome", "step/header", "step/stop", GUIDE, "prompt/step")
    assert reply.outcome.lines[0].args == {"first_time": True}
    assert reply.outcome.lines[2].args == {"can_walk": True}
    assert reply.state["step"] == 1 and reply.state["first_time"] is False
    assert not reply.ends_session and not reply.directives  # a speaker gets no APL
    shows_step(reply, 1)
    assert reply.outcome.shown == StepShown(1, Line("step/stop", {"can_walk": True}))


def test_the_guide_comes_once_with_the_first_step(alexa: Alexa) -> None:
    """The guide to moving around is said with the first step a first-timer hears, and never
    again: not later in the session, not on start over, not in the next session."""
    assert GUIDE in alexa.launch().keys
    later = [alexa.intent(intent) for intent in (NEXT, REPEAT, PREVIOUS, START_OVER)]
    alexa.intent(STOP)
    later.append(alexa.launch())
    later.append(alexa.intent(RESUME))
    assert not [r.keys for r in later if GUIDE in r.keys or first_time_welcome(r)]


def test_returning_user_in_session_hears_no_disclaimer_again(alexa: Alexa) -> None:
    """Once heard, the disclaimer is not repeated on start over or a jump to a step."""
    walk_to(alexa, 2)
    again = alexa.intent(START_OVER)
    assert again.keys == ("nav/starting_over", "step/header", "step/stop", "prompt/step")
    jump = alexa.intent(GO_TO, {"number": "4"})
    assert not first_time_welcome(jump) and GUIDE not in jump.keys
    assert step_of(jump) == 4


def test_full_routine_from_launch_to_wrap_up(alexa: Alexa) -> None:
    """Next through all the steps (no at the pain question, yes once the cramping is gone)
    says every step in order and ends in the wrap-up, closing the session."""
    turns = [alexa.launch()]
    while not turns[-1].ends_session:
        pending = str(turns[-1].state.get("pending"))
        turns.append(alexa.intent({"pain_gate": NO, "cramp_gone": YES}.get(pending, NEXT)))
    assert [r.keys for r in turns] == [
        ("open/welcome", "step/header", "step/stop", GUIDE, "prompt/step"),
        ("step/header", "step/stretch", "prompt/step"),
        ("step/header", "gate/ask"),
        ("gate/no", "step/massage", "prompt/step"),
        ("step/header", "step/cold", "timer/offer"),
        ("cold/gone_ask",),  # next at the cold step: is the cramping completely gone?
        ("cold/gone", "step/header", "step/heat", "timer/offer"),
        ("step/header", "step/hydrate", "prompt/step"),
        ("step/header", "step/medicine", "prompt/step"),
        ("step/header", "step/rest", "prompt/step"),
        ("finish/wrap_up",),
    ]
    assert [step_of(r) for r in turns] == [1, 2, 3, 3, 4, 4, 5, 6, 7, 8, 8]
    assert turns[-1].state["finished"] and turns[-1].card is None


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_next_moves_one_step_or_finishes(alexa: Alexa, start: int) -> None:
    """Next goes to the following step; at the last step it finishes the routine."""
    walk_to(alexa, start)
    reply = alexa.intent(NEXT)
    if start == LAST:
        assert reply.keys == ("finish/wrap_up",) and reply.ends_session
        assert reply.state["finished"]
    else:
        assert step_of(reply) == start + 1
        assert reply.keys[:2] == ("step/header", instruction(start + 1))
        shows_step(reply, start + 1)


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_previous_goes_back_or_says_first(alexa: Alexa, start: int) -> None:
    """Go back returns to the step before; at step 1 it says this is the first step and stays."""
    walk_to(alexa, start)
    reply = alexa.intent(PREVIOUS)
    if start == FIRST:
        assert reply.keys == ("nav/first_step", "prompt/step") and step_of(reply) == 1
    else:
        assert step_of(reply) == start - 1 and reply.keys[0] == "step/header"
        # What a screen shows (back at the cold step within the hour, the question is asked
        # in place of the instruction, and no card is sent).
        shown = reply.outcome.shown
        assert isinstance(shown, StepShown) and shown.number == start - 1


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_repeat_says_the_same_step_again(alexa: Alexa, start: int) -> None:
    """Repeat says the current step again, the same instruction, and keeps the place."""
    first = walk_to(alexa, start)
    again = alexa.intent(REPEAT)
    assert step_of(again) == start
    assert again.keys == ("step/header", instruction(start), first.keys[-1])
    assert again.outcome.shown == first.outcome.shown


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_start_over_goes_to_step_one(alexa: Alexa, start: int) -> None:
    """Start over goes back to step 1 from anywhere."""
    walk_to(alexa, start)
    reply = alexa.intent(START_OVER)
    assert reply.keys == ("nav/starting_over", "step/header", "step/stop", "prompt/step")
    assert step_of(reply) == 1


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
@pytest.mark.parametrize("target", [1, 6, 8])
def test_go_to_step_by_number(alexa: Alexa, start: int, target: int) -> None:
    """"Go to step N" jumps to any step from any step."""
    walk_to(alexa, start)
    reply = alexa.intent(GO_TO, {"number": str(target)})
    assert reply.keys == ("step/header", instruction(target), "prompt/step")
    assert step_of(reply) == target
    shows_step(reply, target)


def test_go_to_step_by_ordinal(alexa: Alexa) -> None:
    """"Go to the sixth step" (AMAZON.Ordinal, "6th") works like a number."""
    walk_to(alexa, 2)
    reply = alexa.intent(GO_TO, {"ordinal": "6th"})
    assert step_of(reply) == 6 and instruction(6) in reply.keys


@pytest.mark.parametrize("heard", ["9", "0", "42"])
def test_go_to_step_out_of_range_is_explained(alexa: Alexa, heard: str) -> None:
    """A step that doesn't exist gets the range, and the place is kept."""
    walk_to(alexa, 2)
    reply = alexa.intent(GO_TO, {"number": heard})
    assert reply.keys == ("nav/no_such_step", "prompt/step")
    assert reply.outcome.lines[0].args == {"heard": heard}
    assert step_of(reply) == 2 and not reply.ends_session


def test_go_to_step_with_no_number_asks_which(alexa: Alexa) -> None:
    """A missing or unrecognised number ("?") is asked for again, not guessed."""
    walk_to(alexa, 2)
    for slot in (Slot(None), "?"):  # "?": Alexa's value for a number it missed
        reply = alexa.intent(GO_TO, {"number": slot})
        assert reply.keys == ("nav/no_such_step", "prompt/step")
        assert reply.outcome.lines[0].args == {"heard": None} and step_of(reply) == 2


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_where_am_i_names_the_step(alexa: Alexa, start: int) -> None:
    """"What step am I on" says where we are and keeps the place, question and all."""
    before = walk_to(alexa, start)
    reply = alexa.intent(WHERE)
    assert reply.keys == ("nav/where", before.keys[-1])
    assert reply.state["step"] == start and reply.state["pending"] == before.state["pending"]


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_steps_left_counts_what_remains(alexa: Alexa, start: int) -> None:
    """"How many steps are left" answers at the step it is asked (the count is the template's,
    from the step: tests/test_wording.py checks it is said)."""
    before = walk_to(alexa, start)
    reply = alexa.intent(LEFT)
    assert reply.keys == ("nav/left", before.keys[-1]) and step_of(reply) == start


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_skip_moves_on(alexa: Alexa, start: int) -> None:
    """Skip moves on like next."""
    walk_to(alexa, start)
    reply = alexa.intent(SKIP)
    if start == LAST:
        assert reply.keys == ("finish/wrap_up",) and reply.ends_session
    else:
        assert step_of(reply) == start + 1 and instruction(start + 1) in reply.keys


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_cant_do_skips_the_step(alexa: Alexa, start: int) -> None:
    """"I can't do that" is never pushed: it is acknowledged and the step is skipped."""
    walk_to(alexa, start)
    reply = alexa.intent(CANT_DO)
    assert reply.keys[0] == "nav/cant_do"
    if start == LAST:
        assert reply.keys == ("nav/cant_do", "finish/wrap_up") and reply.ends_session
    else:
        assert reply.keys[1:3] == ("step/header", instruction(start + 1))
        assert step_of(reply) == start + 1


def test_cant_do_at_the_pain_question_skips_the_massage(alexa: Alexa) -> None:
    """Unable to massage, asked whether the pain is worse: no massage, on to the cold."""
    walk_to(alexa, 3, answer_gate=False)
    reply = alexa.intent(CANT_DO)
    assert reply.keys[:3] == ("nav/cant_do", "step/header", "step/cold")
    assert "step/massage" not in reply.keys and step_of(reply) == 4


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_tell_me_more_gives_detail_and_keeps_place(alexa: Alexa, start: int) -> None:
    """"Tell me more" gives the step's detail, not the step again."""
    before = walk_to(alexa, start)
    more = alexa.intent(MORE)
    assert more.keys == (f"more/{STEPS[start - 1]}", before.keys[-1])
    assert step_of(more) == start


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_pause_keeps_place_and_ends_the_session(alexa: Alexa, start: int) -> None:
    """Pause ends the session at the step, saying how to come back."""
    walk_to(alexa, start)
    paused = alexa.intent(PAUSE)
    assert paused.keys == ("bye/paused",) and paused.ends_session
    assert paused.state["step"] == start


def test_resume_in_session_repeats_the_step(alexa: Alexa) -> None:
    """Resume says the current step again."""
    walk_to(alexa, 2)
    reply = alexa.intent(RESUME)
    assert reply.keys == ("step/header", "step/stretch", "prompt/step") and step_of(reply) == 2


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_help_is_about_this_step(alexa: Alexa, start: int) -> None:
    """Help is about this step, with the disclaimer, and asks again what was being asked."""
    before = walk_to(alexa, start)
    reply = alexa.intent(HELP)
    assert reply.keys == ("help/here", "help/disclaimer", before.keys[-1])
    assert step_of(reply) == start and not reply.ends_session


@pytest.mark.parametrize("intent", [STOP, CANCEL, HOME])
@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_stop_and_cancel_keep_the_place(alexa: Alexa, intent: str, start: int) -> None:
    """Stop, cancel and home end the session, keep the step and say how to come back."""
    walk_to(alexa, start)
    reply = alexa.intent(intent)
    assert reply.keys == ("bye/stop",) and reply.ends_session
    assert reply.state["step"] == start


def test_stop_then_relaunch_offers_the_place(alexa: Alexa) -> None:
    """After stopping at a step, "open cramp coach" offers to carry on from it."""
    walk_to(alexa, 5)
    alexa.intent(STOP)
    reply = alexa.launch()
    assert reply.keys == ("memory/welcome_back", "memory/resume_ask")
    assert reply.outcome.lines[0].args["stale"] is False
    assert reply.state["pending"] == "resume" and reply.state["step"] == 5
    assert not reply.ends_session
    resumed = alexa.intent(RESUME)
    assert resumed.keys[:2] == ("step/header", "step/heat") and step_of(resumed) == 5


def test_one_shot_start_opens_with_disclaimer_and_step_one(alexa: Alexa) -> None:
    """"Tell cramp coach I have a cramp" starts the routine like a launch does."""
    reply = alexa.intent(START)
    assert reply.keys == ("open/welcome", "step/header", "step/stop", GUIDE, "prompt/step")
    assert first_time_welcome(reply) and step_of(reply) == 1


def test_one_shot_step_four_gives_the_disclaimer_then_the_step(alexa: Alexa) -> None:
    """"Ask cramp coach for step four" goes straight there; a first-timer hears the disclaimer
    and the guide."""
    reply = alexa.intent(GO_TO, {"number": "4"})
    assert reply.keys == ("open/disclaimer", "step/header", "step/cold", GUIDE, "timer/offer")
    assert step_of(reply) == 4 and reply.state["pending"] == "timer_offer"


def test_start_again_mid_routine_keeps_the_place(alexa: Alexa) -> None:
    """"I have a cramp" in the middle of the routine does not restart it."""
    before = walk_to(alexa, 4)
    reply = alexa.intent(START)
    assert reply.keys == ("nav/already_started", before.keys[-1]) and step_of(reply) == 4


def test_checklist_is_spoken_and_sent_as_a_card(alexa: Alexa) -> None:
    """"What do I need" says the checklist, sends it as a card and keeps the place."""
    walk_to(alexa, 2)
    reply = alexa.intent(CHECKLIST)
    assert reply.keys == ("info/checklist", "prompt/step")
    assert reply.outcome.card is Card.CHECKLIST and reply.outcome.shown == ChecklistShown()
    assert reply.card and reply.card["type"] == "Simple"
    assert step_of(reply) == 2 and not reply.ends_session


def test_checklist_before_starting_offers_to_start(alexa: Alexa) -> None:
    """Asked for in a one-shot before any step, the checklist is sent and offers to start."""
    reply = alexa.intent(CHECKLIST)
    assert "info/checklist" in reply.keys and reply.keys[-1] == "prompt/start"
    assert reply.outcome.card is Card.CHECKLIST and reply.card
    assert step_of(reply) == 0


def test_prevention_gives_causes_and_prevention(alexa: Alexa) -> None:
    """"How do I stop this happening again" answers and keeps the place."""
    walk_to(alexa, 8)
    reply = alexa.intent(PREVENTION)
    assert reply.keys == ("info/prevention", "prompt/step") and step_of(reply) == 8


# --- the session's voice: "slower please", "speak up" ------------------------------------


def prosody(ssml: str) -> dict[str, str]:
    """The attributes of the <prosody> wrapped around the whole speech ({} when none)."""
    root = ET.fromstring(ssml)
    children = list(root)
    if len(children) == 1 and children[0].tag == "prosody" and not (root.text or "").strip():
        return dict(children[0].attrib)
    return {}


def test_slower_slows_the_speech_for_the_rest_of_the_session(alexa: Alexa) -> None:
    """"Slower please": acknowledged, the step said again, and every answer in the session,
    reprompts too, wrapped in a slow prosody; a new session speaks normally again."""
    walk_to(alexa, 2)
    slow = alexa.intent(SLOWER)
    assert slow.keys == ("voice/slow", "step/header", "step/stretch", "prompt/step")
    assert slow.state["slow"] is True and step_of(slow) == 2
    later = alexa.intent(NEXT)
    for reply in (slow, later):
        assert prosody(reply.ssml).get("rate") == "slow", reply.ssml
        assert prosody(reply.reprompt_ssml).get("rate") == "slow", reply.reprompt_ssml
    alexa.intent(STOP)
    fresh = alexa.launch()
    assert prosody(fresh.ssml) == {} and fresh.state["slow"] is False


def test_louder_raises_the_volume_for_the_rest_of_the_session(alexa: Alexa) -> None:
    """"Speak up": acknowledged, and the session's speech is louder until it ends."""
    walk_to(alexa, 2)
    loud = alexa.intent(LOUDER)
    assert loud.keys[0] == "voice/loud" and loud.state["loud"] is True
    later = alexa.intent(NEXT)
    for reply in (loud, later):
        assert "volume" in prosody(reply.ssml), reply.ssml
    alexa.intent(STOP)
    fresh = alexa.launch()
    assert prosody(fresh.ssml) == {} and fresh.state["loud"] is False


def test_slower_at_a_question_keeps_the_question(alexa: Alexa) -> None:
    """"Slower please" at the pain question slows down and asks it again, unanswered."""
    walk_to(alexa, 3, answer_gate=False)
    reply = alexa.intent(SLOWER)
    assert reply.keys == ("voice/slow", "gate/ask") and reply.state["pending"] == "pain_gate"
    assert prosody(reply.ssml).get("rate") == "slow"
