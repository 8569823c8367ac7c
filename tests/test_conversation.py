"""The routine from launch to wrap-up, and navigation at the first, a middle and the last step."""

from __future__ import annotations

import pytest

from tests.talk import (
    CANCEL,
    CHECKLIST,
    GO_TO,
    HELP,
    HOME,
    LEFT,
    MORE,
    NEXT,
    NO,
    PAUSE,
    PREVENTION,
    PREVIOUS,
    REPEAT,
    RESUME,
    SKIP,
    START,
    START_OVER,
    STOP,
    WHERE,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Slot

FIRST, MIDDLE, LAST = 1, 5, 8


def words_before(speech: str, marker: str) -> int:
    return len(speech[: speech.index(marker)].split())


def test_first_launch_is_sympathy_disclaimer_guide_then_step_one(alexa: Alexa) -> None:
    """A first-time user hears one line of sympathy, the disclaimer and the guide, then step 1."""
    reply = alexa.launch()
    speech = reply.speech
    assert speech.startswith("Sorry about the cramp.")
    assert "not a substitute for professional medical advice" in speech
    assert "call 911" in speech
    assert "Say next, repeat or go back" in speech
    assert "Step 1 of 8" in speech and "Stop running" in speech
    assert words_before(speech, "Stop running") <= 45
    assert not reply.ends_session
    assert reply.card and reply.card["title"] == "Step 1 of 8: Stop and get safe"


def test_returning_user_in_session_hears_no_disclaimer_again(alexa: Alexa) -> None:
    """Once heard, the disclaimer is not repeated on start over or a jump to a step."""
    walk_to(alexa, 2)
    again = alexa.intent(START_OVER)
    assert "not a substitute" not in again.speech
    assert "Step 1 of 8" in again.speech
    assert "not a substitute" not in alexa.intent(GO_TO, {"number": "4"}).speech


def test_full_routine_from_launch_to_wrap_up(alexa: Alexa) -> None:
    """Next through all eight steps (no at the pain question) ends in the wrap-up and closes."""
    reply = alexa.launch()
    spoken_steps = [step_of(reply)]
    while not reply.ends_session:
        reply = alexa.intent(NO if "getting worse?" in reply.speech else NEXT)
        if not reply.ends_session:
            spoken_steps.append(step_of(reply))
    # Step 3 twice: the pain question, then the massage; step 4 twice: the compress, then
    # "is the cramping completely gone?" (next moves on to the heat).
    assert spoken_steps == [1, 2, 3, 3, 4, 4, 5, 6, 7, 8]
    assert "That's all 8 steps" in reply.speech
    assert "endurance training or plyometrics" in reply.speech
    assert "after every run" in reply.speech and "health professional" in reply.speech
    assert reply.ends_session


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_next_moves_one_step_or_finishes(alexa: Alexa, start: int) -> None:
    """Next goes to the following step; at the last step it finishes the routine."""
    walk_to(alexa, start)
    reply = alexa.intent(NEXT)
    if start == LAST:
        assert "That's all 8 steps" in reply.speech and reply.ends_session
    else:
        assert f"Step {start + 1} of 8" in reply.speech
        assert reply.card and reply.card["title"].startswith(f"Step {start + 1} of 8")


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_previous_goes_back_or_says_first(alexa: Alexa, start: int) -> None:
    """Go back returns to the step before; at step 1 it says this is the first step and stays."""
    walk_to(alexa, start)
    reply = alexa.intent(PREVIOUS)
    if start == FIRST:
        assert "This is the first step" in reply.speech and step_of(reply) == 1
    else:
        assert f"Step {start - 1} of 8" in reply.speech and step_of(reply) == start - 1


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_repeat_says_the_same_step_again(alexa: Alexa, start: int) -> None:
    """Repeat says the current step again, word for word, and keeps the place."""
    first = walk_to(alexa, start)
    again = alexa.intent(REPEAT)
    assert step_of(again) == start
    instruction = first.card["content"] if first.card else ""
    assert instruction and instruction in again.speech


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_start_over_goes_to_step_one(alexa: Alexa, start: int) -> None:
    """Start over goes back to step 1 from anywhere."""
    walk_to(alexa, start)
    reply = alexa.intent(START_OVER)
    assert "Starting again from the top" in reply.speech and step_of(reply) == 1


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
@pytest.mark.parametrize("target", [1, 6, 8])
def test_go_to_step_by_number(alexa: Alexa, start: int, target: int) -> None:
    """"Go to step N" jumps to any step from any step."""
    walk_to(alexa, start)
    reply = alexa.intent(GO_TO, {"number": str(target)})
    assert f"Step {target} of 8" in reply.speech and step_of(reply) == target


def test_go_to_step_by_ordinal(alexa: Alexa) -> None:
    """"Go to the sixth step" (AMAZON.Ordinal, "6th") works like a number."""
    walk_to(alexa, 2)
    reply = alexa.intent(GO_TO, {"ordinal": "6th"})
    assert "Step 6 of 8" in reply.speech


@pytest.mark.parametrize("heard", ["9", "0", "42"])
def test_go_to_step_out_of_range_is_explained(alexa: Alexa, heard: str) -> None:
    """A step that doesn't exist gets the range, and the place is kept."""
    walk_to(alexa, MIDDLE)
    reply = alexa.intent(GO_TO, {"number": heard})
    assert f"I don't have a step {heard}" in reply.speech
    assert "a number from 1 to 8" in reply.speech
    assert step_of(reply) == MIDDLE and not reply.ends_session


def test_go_to_step_with_no_number_asks_which(alexa: Alexa) -> None:
    """A missing or unrecognised number ("?") is asked for again, not guessed."""
    walk_to(alexa, 2)
    assert "I didn't catch which step" in alexa.intent(GO_TO, {"number": Slot(None)}).speech
    odd = alexa.intent(GO_TO, {"number": "?"})  # Alexa's value for a number it missed
    assert "I didn't catch which step" in odd.speech and step_of(odd) == 2


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_where_am_i_names_the_step(alexa: Alexa, start: int) -> None:
    """"What step am I on" gives the number and title and keeps the place."""
    walk_to(alexa, start)
    reply = alexa.intent(WHERE)
    assert f"You're on step {start} of 8" in reply.speech and step_of(reply) == start


@pytest.mark.parametrize(("start", "expected"), [
    (FIRST, "7 more after this one"), (MIDDLE, "3 more after this one"),
    (LAST, "This is the last step"),
])
def test_steps_left_counts_what_remains(alexa: Alexa, start: int, expected: str) -> None:
    """"How many steps are left" counts the steps after this one."""
    walk_to(alexa, start)
    assert expected in alexa.intent(LEFT).speech


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_skip_moves_on(alexa: Alexa, start: int) -> None:
    """Skip moves on like next."""
    walk_to(alexa, start)
    reply = alexa.intent(SKIP)
    assert reply.ends_session if start == LAST else step_of(reply) == start + 1


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_tell_me_more_gives_detail_and_keeps_place(alexa: Alexa, start: int) -> None:
    """"Tell me more" gives the step's detail, not the step again."""
    first = walk_to(alexa, start)
    more = alexa.intent(MORE)
    assert step_of(more) == start
    assert first.card and first.card["content"] not in more.speech
    assert len(more.speech) > 40


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_pause_keeps_place_and_resume_repeats_the_step(alexa: Alexa, start: int) -> None:
    """Pause ends the session at the step, saying how to resume; resume repeats the step."""
    walk_to(alexa, start)
    paused = alexa.intent(PAUSE)
    assert f"Paused at step {start}" in paused.speech and "resume" in paused.speech
    assert paused.ends_session
    assert paused.attributes["routine"]["step"] == start


def test_resume_in_session_repeats_the_step(alexa: Alexa) -> None:
    """Resume says the current step again."""
    walk_to(alexa, 2)
    assert "Step 2 of 8" in alexa.intent(RESUME).speech


@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_help_is_about_this_step(alexa: Alexa, start: int) -> None:
    """Help names the step and what can be said there, with the disclaimer."""
    walk_to(alexa, start)
    reply = alexa.intent(HELP)
    assert f"You're on step {start}" in reply.speech
    assert "it hurts more" in reply.speech and "tell me more" in reply.speech
    assert "not a substitute for professional medical advice" in reply.speech
    assert step_of(reply) == start and not reply.ends_session


@pytest.mark.parametrize("intent", [STOP, CANCEL, HOME])
@pytest.mark.parametrize("start", [FIRST, MIDDLE, LAST])
def test_stop_and_cancel_keep_the_place(alexa: Alexa, intent: str, start: int) -> None:
    """Stop, cancel and home end the session, keep the step and say how to come back."""
    walk_to(alexa, start)
    reply = alexa.intent(intent)
    assert reply.ends_session
    assert f"keep your place at step {start}" in reply.speech
    assert "Alexa, open cramp coach" in reply.speech
    assert reply.attributes["routine"]["step"] == start


def test_stop_then_relaunch_offers_the_place(alexa: Alexa) -> None:
    """After stopping at a step, "open cramp coach" offers to carry on from it."""
    walk_to(alexa, 5)
    alexa.intent(STOP)
    reply = alexa.launch()
    assert "Welcome back. You were at step 5: heat." in reply.speech
    assert "carry on, or start over?" in reply.speech and not reply.ends_session
    assert "Step 5 of 8" in alexa.intent(RESUME).speech


def test_one_shot_start_opens_with_disclaimer_and_step_one(alexa: Alexa) -> None:
    """"Tell cramp coach I have a cramp" starts the routine like a launch does."""
    reply = alexa.intent(START)
    assert reply.speech.startswith("Sorry about the cramp.")
    assert "not a substitute" in reply.speech and "Step 1 of 8" in reply.speech


def test_one_shot_step_four_gives_the_disclaimer_then_the_step(alexa: Alexa) -> None:
    """"Ask cramp coach for step four" goes straight there; a first-timer hears the disclaimer."""
    reply = alexa.intent(GO_TO, {"number": "4"})
    assert "not a substitute" in reply.speech
    assert "Step 4 of 8" in reply.speech and "15 to 20 minutes" in reply.speech


def test_start_again_mid_routine_keeps_the_place(alexa: Alexa) -> None:
    """"I have a cramp" in the middle of the routine does not restart it."""
    walk_to(alexa, 4)
    reply = alexa.intent(START)
    assert "already on step 4" in reply.speech and step_of(reply) == 4


def test_checklist_is_spoken_and_sent_as_a_card(alexa: Alexa) -> None:
    """"What do I need" names the cold compress and the medicine, and sends the checklist card."""
    walk_to(alexa, 2)
    reply = alexa.intent(CHECKLIST)
    assert "cold compress" in reply.speech and "ibuprofen or naproxen" in reply.speech
    assert reply.card and reply.card["title"] == "Cramp Coach checklist"
    assert "not a substitute for professional medical advice" in reply.card["content"]
    assert "never put ice on bare skin" in reply.card["content"]
    assert step_of(reply) == 2 and "Say next" in reply.speech


def test_checklist_before_starting_offers_to_start(alexa: Alexa) -> None:
    """Asked for in a one-shot before any step, the checklist offers to start."""
    reply = alexa.intent(CHECKLIST)
    assert "say start" in reply.speech and reply.card


def test_prevention_gives_causes_and_prevention(alexa: Alexa) -> None:
    """"How do I stop this happening again" gives causes, hydration and training."""
    walk_to(alexa, 8)
    reply = alexa.intent(PREVENTION)
    for fact in ("overuse", "muscle strain", "dehydration", "warm-up", "plyometrics",
                 "before, during and after"):
        assert fact in reply.speech
    assert step_of(reply) == 8
