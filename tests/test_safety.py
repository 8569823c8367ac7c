"""The safety rules of DESIGN.md section 4, each with its own tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.talk import (
    FALLBACK,
    GO_TO,
    HANDS_ON_WORDS,
    HURTS,
    KEEP_MASSAGING,
    MORE,
    NEXT,
    NO,
    PREVIOUS,
    RED_FLAG,
    REPEAT,
    UNSURE,
    YES,
    step_of,
    walk_to,
)
from tooling.standins.alexa import Alexa, Slot

GATE_QUESTION = "is the pain getting worse?"
MASSAGE = HANDS_ON_WORDS[3]


def at_gate(alexa: Alexa) -> None:
    reply = walk_to(alexa, 3, answer_gate=False)
    assert GATE_QUESTION in reply.speech


# --- The massage gate ---------------------------------------------------------------------

@pytest.mark.parametrize("route", ["next", "go to", "back from cold"])
def test_the_gate_comes_before_any_massage_instruction(alexa: Alexa, route: str) -> None:
    """However the runner reaches step 3, the pain question comes first and no massage is said."""
    if route == "next":
        reply = walk_to(alexa, 3, answer_gate=False)
    elif route == "go to":
        alexa.launch()
        reply = alexa.intent(GO_TO, {"number": "3"})
    else:
        walk_to(alexa, 4)
        reply = alexa.intent(PREVIOUS)
    assert GATE_QUESTION in reply.speech and GATE_QUESTION in reply.reprompt
    assert MASSAGE not in reply.speech
    assert reply.card and MASSAGE not in reply.card["content"]
    assert reply.attributes["routine"]["pending"] == "pain_gate"


@pytest.mark.parametrize("answer", [YES, HURTS])
def test_gate_yes_stops_massage_explains_and_moves_to_cold(alexa: Alexa, answer: str) -> None:
    """Yes (or "it hurts more"): stop now, say why, doctor for severe pain, then cold compress."""
    at_gate(alexa)
    reply = alexa.intent(answer)
    speech = reply.speech
    assert speech.index("Stop") < speech.index("Step 4 of 8")
    assert "sign to stop" in speech
    assert "Severe pain can mean a muscle injury" in speech and "see a doctor" in speech
    assert MASSAGE not in speech
    assert step_of(reply) == 4 and reply.attributes["routine"]["pending"] != "pain_gate"


def test_gate_no_gives_the_massage(alexa: Alexa) -> None:
    """No: the massage instruction, with how to keep going or move on."""
    at_gate(alexa)
    reply = alexa.intent(NO)
    assert MASSAGE in reply.speech and "keep massaging" in reply.speech
    assert step_of(reply) == 3 and reply.attributes["routine"]["pending"] is None


@pytest.mark.parametrize("unclear", [UNSURE, FALLBACK])
def test_unclear_answer_asks_again_then_stops_safely(alexa: Alexa, unclear: str) -> None:
    """"I'm not sure" or an unrecognised answer never counts as no: ask again, then skip safely."""
    at_gate(alexa)
    again = alexa.intent(unclear)
    assert GATE_QUESTION in again.speech and MASSAGE not in again.speech
    assert step_of(again) == 3
    stopped = alexa.intent(unclear)
    assert "skip the massage" in stopped.speech and MASSAGE not in stopped.speech
    assert "see a doctor" in stopped.speech
    assert step_of(stopped) == 4


def test_unclear_then_no_still_gives_the_massage(alexa: Alexa) -> None:
    """A clear no after one unclear answer is a no."""
    at_gate(alexa)
    alexa.intent(UNSURE)
    assert MASSAGE in alexa.intent(NO).speech


def test_silence_at_the_gate_reasks_and_never_counts_as_no(alexa: Alexa) -> None:
    """Silence: the reprompt asks the question again; when the session ends the question stays."""
    at_gate(alexa)
    last = alexa.last
    assert last is not None and GATE_QUESTION in last.reprompt
    ended = alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    assert ended is not None
    kept = ended.attributes["routine"]
    assert kept["step"] == 3 and kept["pending"] == "pain_gate"


def test_moving_on_without_answering_skips_the_massage(alexa: Alexa) -> None:
    """"Next" at the question skips the massage rather than treating it as a no."""
    at_gate(alexa)
    reply = alexa.intent(NEXT)
    assert "skip the massage" in reply.speech and MASSAGE not in reply.speech
    assert step_of(reply) == 4


@pytest.mark.parametrize("answer", [YES, NO])
def test_keep_massaging_asks_the_gate_every_time(alexa: Alexa, answer: str) -> None:
    """Each "keep massaging" asks about the pain again before any more massage."""
    walk_to(alexa, 3)
    for _ in range(2):
        ask = alexa.intent(KEEP_MASSAGING)
        assert GATE_QUESTION in ask.speech and MASSAGE not in ask.speech
        if answer == NO:
            assert MASSAGE in alexa.intent(NO).speech
    if answer == YES:
        stopped = alexa.intent(YES)
        assert "sign to stop" in stopped.speech and step_of(stopped) == 4


def test_keep_massaging_elsewhere_says_this_is_not_the_massage(alexa: Alexa) -> None:
    """"Keep massaging" at another step is answered, not obeyed."""
    walk_to(alexa, 5)
    reply = alexa.intent(KEEP_MASSAGING)
    assert "not the massage" in reply.speech and step_of(reply) == 5


def test_question_at_the_gate_explains_why(alexa: Alexa) -> None:
    """"Tell me more" at the pain question explains it and asks again."""
    at_gate(alexa)
    reply = alexa.intent(MORE)
    assert "ask first" in reply.speech and GATE_QUESTION in reply.speech


# --- "It hurts more" at any step ---------------------------------------------------------

STOP_WORDS = {
    1: "don't walk on it", 2: "Ease off the stretch", 3: "Stop the massage now",
    4: "Take the cold compress off", 5: "Stop the heat", 6: "Rest the leg",
    7: "Rest the leg", 8: "Keep resting the leg",
}


@pytest.mark.parametrize("step", range(1, 9))
def test_hurts_more_stops_the_hands_on_part_of_every_step(alexa: Alexa, step: int) -> None:
    """"It hurts more" stops that step's hands-on action and gives the doctor advice."""
    walk_to(alexa, step)
    reply = alexa.intent(HURTS)
    assert STOP_WORDS[step] in reply.speech
    assert "Severe pain can mean a muscle injury" in reply.speech
    if step == 3:
        assert step_of(reply) == 4  # the massage is over; on to the cold compress
        return
    assert HANDS_ON_WORDS[step] not in reply.speech
    for follow_up in (REPEAT, MORE):
        again = alexa.intent(follow_up)
        assert HANDS_ON_WORDS[step] not in again.speech, "no hands-on words after it hurt"
        assert step_of(again) == step


def test_hurts_more_before_starting_still_gets_advice(alexa: Alexa) -> None:
    """Before any step (a one-shot), "it hurts more" still gets the rest-and-doctor advice."""
    reply = alexa.intent(HURTS)
    assert "rest it" in reply.speech and "see a doctor" in reply.speech


# --- Red flags --------------------------------------------------------------------------

RED_FLAGS = {
    "severe_pain": "severe pain",
    "no_weight": "I can't put weight on my leg",
    "fall": "I fell",
    "swelling": "swelling",
    "wont_ease": "the cramp won't go away",
    "every_run": "I get cramps after every run",
}


def red_flag(alexa: Alexa, flag: str | None, heard: str = "something") -> str:
    slot = Slot(RED_FLAGS.get(flag or "", heard), flag, custom_type="RED_FLAG")
    return alexa.intent(RED_FLAG, {"symptom": slot}).speech


@pytest.mark.parametrize("flag", ["severe_pain", "no_weight", "fall"])
def test_urgent_red_flags_say_get_help_and_the_emergency_number(alexa: Alexa, flag: str) -> None:
    """Severe pain, no weight on the leg, a fall: medical attention now, and call 911 if urgent."""
    walk_to(alexa, 2)
    speech = red_flag(alexa, flag)
    assert "medical attention" in speech and "call 911" in speech
    assert "I can't make calls for you" in speech


@pytest.mark.parametrize("flag", ["swelling", "wont_ease"])
def test_red_flags_that_need_a_doctor(alexa: Alexa, flag: str) -> None:
    """Swelling, a cramp that won't ease: see a doctor, and the emergency number if severe."""
    walk_to(alexa, 4)
    speech = red_flag(alexa, flag)
    assert "medical attention" in speech and "see a doctor" in speech and "call 911" in speech


def test_cramps_after_every_run_mean_a_health_professional(alexa: Alexa) -> None:
    """Cramps after every run: the seed's advice (diabetes, thyroid), see a health professional."""
    walk_to(alexa, 8)
    speech = red_flag(alexa, "every_run")
    assert "health professional" in speech and "diabetes" in speech and "thyroid" in speech


def test_unrecognised_symptom_still_gets_medical_advice(alexa: Alexa) -> None:
    """A symptom the model didn't resolve still gets see-a-doctor advice and the number."""
    walk_to(alexa, 2)
    speech = red_flag(alexa, None, heard="a funny feeling")
    assert "see a doctor" in speech and "call 911" in speech


@pytest.mark.parametrize("flag", list(RED_FLAGS))
def test_red_flags_stop_the_hands_on_part_and_never_claim_to_call(alexa: Alexa, flag: str) -> None:
    """After a red flag the hands-on words are not repeated; nothing claims to call anyone."""
    walk_to(alexa, 2)
    speech = red_flag(alexa, flag)
    assert "calling" not in speech.lower() and "i'll call" not in speech.lower()
    assert HANDS_ON_WORDS[2] not in alexa.intent(REPEAT).speech


def test_red_flag_at_the_gate_means_no_massage(alexa: Alexa) -> None:
    """A red flag while the pain question waits cancels the massage."""
    at_gate(alexa)
    red_flag(alexa, "severe_pain")
    assert MASSAGE not in alexa.intent(REPEAT).speech
    assert "no more massage" in alexa.intent(KEEP_MASSAGING).speech


@pytest.mark.parametrize(("locale", "number"), [
    ("en-US", "911"), ("en-CA", "911"), ("en-GB", "999"), ("en-AU", "000"), ("en-IN", "112"),
    ("de-DE", "112"), ("fr-FR", "112"),
])
def test_emergency_number_follows_the_locale(
    make_alexa: Callable[..., Alexa], locale: str, number: str
) -> None:
    """The emergency number is the local one: 911, 999, 000, 112."""
    alexa = make_alexa(locale=locale)
    assert f"call {number}" in alexa.launch().speech
    assert f"call {number}" in red_flag(alexa, "fall")


def test_unknown_country_gets_local_emergency_number_wording(
    make_alexa: Callable[..., Alexa],
) -> None:
    """Where the number is unknown the skill says "your local emergency number", never a guess."""
    alexa = make_alexa(locale="ja-JP")
    assert "call your local emergency number" in alexa.launch().speech
