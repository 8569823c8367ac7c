"""Speech budgets, on word counts: how soon the first instruction comes, how long answers run.

A runner in pain hears every word before being told what to do (DESIGN.md section 3, issue
12): a first-time user hears the first instruction within 25 words of launch, a returning one
within 12, and no response inside the routine runs over 40 words except the checklist and
the wrap-up. Measured in every situation of tests/full_run.py SITUATIONS and every locale with
a model, language-neutrally: the lines said before the first step instruction (`step/<id>`,
not the header) are found by key, rendered as the skill renders them, and counted with
tests/full_run.py `words` (tokens with a letter or digit). Languages differ in how many words
say the same thing, so the same runs are also timed in seconds by espeak-ng in the locale's
own voice, where it is installed (`apt-get install espeak-ng`; skipped without it).
`make speech-report` prints the same runs in full, with seconds.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable

import pytest

from skill.routine import Line, load_routine
from skill.speech import Voice, to_text
from tests.conftest import FakeClock, new_device
from tests.full_run import SITUATIONS, Run, Situation, finished, walk, words
from tooling.standins.alexa import Alexa, Reply

pytestmark = pytest.mark.every_locale

FIRST_TIME_USER_WORDS = 25  # the disclaimer included
RETURNING_USER_WORDS = 12
RESPONSE_WORDS = 40
# Responses that may run longer: the checklist read out, the overview of all the steps, and
# the wrap-up.
LONG_ALLOWED = {"info/checklist", "info/overview", "finish/wrap_up"}

ROUTINE = load_routine()
INSTRUCTIONS = {f"step/{s.id}" for s in ROUTINE.steps}


@pytest.fixture
def runner(make_alexa: Callable[..., Alexa]) -> Callable[[Situation], Alexa]:
    """Alexa for a new user in a situation, through the Lambda entry point (checked replies,
    each with what the routine chose)."""

    def make(situation: Situation) -> Alexa:
        try:
            device = new_device(situation.device)
        except ValueError:
            pytest.skip(f"the simulator has no {situation.device!r} device yet")
        return make_alexa(device=device)

    return make


def situations() -> list[object]:
    return [pytest.param(s, id=s.name.replace(", ", "-")) for s in SITUATIONS]


def voice_for(alexa: Alexa, reply: Reply) -> Voice:
    """The words this reply was rendered in: its locale, and the car's or a helper's phrasing
    as the routine's state says (skill/response.py voice_for)."""
    state = reply.outcome.state
    variants = (*(("car",) if state.driving else ()), *(("helper",) if state.helping else ()))
    return Voice(alexa.locale, state, ROUTINE, variants=variants)


def before_instruction(alexa: Alexa, reply: Reply) -> tuple[tuple[str, ...], int]:
    """The keys said before the first step instruction, and their words."""
    lines: list[Line] = []
    for line in reply.outcome.lines:
        if line.key in INSTRUCTIONS:
            break
        lines.append(line)
    else:
        pytest.fail(f"no step instruction in {reply.keys}")
    return tuple(line.key for line in lines), words(to_text(voice_for(alexa, reply).ssml(*lines)))


@pytest.mark.parametrize("situation", situations())
def test_a_first_time_user_hears_the_first_instruction_within_25_words(
    runner: Callable[[Situation], Alexa], situation: Situation
) -> None:
    """A first-time user's launch carries the disclaimer and reaches the first instruction
    within 25 words."""
    alexa = runner(situation)
    launch = alexa.launch()
    welcome = [line for line in launch.outcome.lines if line.key.startswith("open/")]
    assert any(line.args.get("first_time") or line.key == "open/disclaimer"
               for line in welcome), launch.keys
    keys, count = before_instruction(alexa, launch)
    assert count <= FIRST_TIME_USER_WORDS, f"{count} words before the instruction: {keys}"


@pytest.mark.parametrize("situation", situations())
def test_a_returning_user_hears_the_first_instruction_within_12_words(
    runner: Callable[[Situation], Alexa], situation: Situation, clock: FakeClock
) -> None:
    """A user who finished a routine before, with none in progress, reaches the first
    instruction within 12 words of launch."""
    alexa = runner(situation)
    assert finished(walk(alexa, opening=situation.opening).last)
    clock.advance(days=1)  # a new cramp, another day
    launch = alexa.launch()
    keys, count = before_instruction(alexa, launch)
    assert count <= RETURNING_USER_WORDS, f"{count} words before the instruction: {keys}"


def over_budget(run: Run) -> list[tuple[tuple[str, ...], int]]:
    """The responses inside the routine (after the launch) longer than the budget, but for
    the checklist and the wrap-up."""
    return [(r.keys, words(r.speech)) for r in run.replies[1:]
            if words(r.speech) > RESPONSE_WORDS and not LONG_ALLOWED & set(r.keys)]


@pytest.mark.parametrize("situation", situations())
def test_no_response_inside_the_routine_is_over_40_words(
    runner: Callable[[Situation], Alexa], situation: Situation
) -> None:
    """Every response of a full run after the launch, its prompt included, is at most 40
    words, except the checklist and the wrap-up."""
    run = walk(runner(situation), opening=situation.opening)
    assert all(r.outcome is not None for r in run.replies)
    over = over_budget(run)
    assert not over, "\n".join(f"{count} words: {keys}" for keys, count in over)


def test_the_budgets_measure_real_instructions(runner: Callable[[Situation], Alexa]) -> None:
    """The counting stops where the instruction begins: after the opening words, before the
    end of the speech."""
    alexa = runner(SITUATIONS[0])
    launch = alexa.launch()
    keys, count = before_instruction(alexa, launch)
    assert keys and keys[-1] == "step/header"
    assert 0 < count < words(launch.speech)


# espeak-ng's voice for each language (its default rate, about 175 words a minute, is close to
# Alexa's): the seconds are a measure across languages, not Alexa's exact timing.
ESPEAK_VOICES = {"en": "en-us", "de": "de", "es": "es-419", "fr": "fr-fr", "it": "it",
                 "pt": "pt-br"}
RESPONSE_SECONDS = 18.0  # 40 English words at espeak-ng's rate, with room for the pauses


def seconds(ssml: str, locale: str) -> float:
    """How long espeak-ng takes to say the SSML in the locale's voice (from the WAV's size)."""
    voice = ESPEAK_VOICES.get(locale.split("-")[0], locale.split("-")[0])
    wav = subprocess.run(["espeak-ng", "-m", "-v", voice, "--stdout", ssml],
                         capture_output=True, check=True, timeout=30).stdout
    rate = int.from_bytes(wav[24:28], "little")  # the WAV header's sample rate, 16-bit mono
    return (len(wav) - 44) / (2 * rate)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
def test_no_response_inside_the_routine_takes_over_18_seconds(
    runner: Callable[[Situation], Alexa], locale: str
) -> None:
    """A full run on a speaker, timed in the locale's voice: every response after the launch,
    but the checklist and the wrap-up, is said within 18 seconds."""
    run = walk(runner(SITUATIONS[0]), opening=SITUATIONS[0].opening)
    timed = [(r.keys, seconds(r.speech, locale)) for r in run.replies[1:]
             if not LONG_ALLOWED & set(r.keys)]
    assert timed and all(t > 0 for _, t in timed)
    over = [(keys, round(t, 1)) for keys, t in timed if t > RESPONSE_SECONDS]
    assert not over, over
