"""`cramp-coach chat`, the first thing a newcomer meets (`make run`): it understands typed
words, it completes a routine, and it reads well.

The console runs in process on the test's Alexa (so replies carry what the routine chose), and
once as `make run` would, through piped standard input. Its words are checked for their shape
(labels, wrapping, colour), never for their English.
"""

from __future__ import annotations

import functools
import io
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from skill.routine import State, load_routine
from skill.speech import Voice
from skill.timers import CONTINUE_WITH_SKILL_NAME
from tests.conftest import FakeClock, new_device
from tooling.console.cli import (
    ALEXA,
    CARD,
    NOTE,
    PIPED_WIDTH,
    REPROMPT,
    SCREEN,
    TIMER,
    YOU,
    Console,
    Look,
    parser,
)
from tooling.standins.alexa import Alexa, Reply
from tooling.standins.nlu import Understanding
from tooling.standins.timers_api import StandInTimer, TimersApiStandIn

# A whole routine as a runner might type it, every phrasing one the en-US model has.
FULL_ROUTINE = """\
open cramp coach
I'm somewhere safe
I'm ready
no it's about the same
keep massaging
it's not getting worse
I'm done
make it 20 minutes
yes
what's next
yes it is
no thanks
I'm finished
got it
that's done
finished
"""
ESCAPE = "\x1b"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
LABELS = {"alexa": ALEXA, "reprompt": REPROMPT, "card": CARD, "screen": SCREEN, "timer": TIMER}


@functools.cache
def en_us() -> Understanding:
    """The en-US model's understanding, built once for the module: it never changes once
    built, and building it (every sample compiled) costs a third of a second."""
    return Understanding.for_locale("en-US")


class FakeTerminal(io.StringIO):
    """Output that says it is a terminal, as a person's would."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def console(make_alexa: Callable[..., Alexa], timers_api: TimersApiStandIn
            ) -> Callable[..., tuple[Console, io.StringIO]]:
    """A console on the test's Alexa (a new user), writing to a stream of the test's choice."""

    def make(kind: str = "speaker", out: io.StringIO | None = None) -> tuple[Console, io.StringIO]:
        stream = out if out is not None else io.StringIO()
        alexa = make_alexa(device=new_device(kind))
        return Console(alexa, en_us(), stream, timers_api), stream

    return make


def type_in(console: Console, script: str) -> None:
    """Each line typed as `cramp-coach chat` reads piped input: echoed, then heard."""
    for line in script.splitlines():
        console.say(YOU, line)
        console.hear(line)


def chat(script: str, *args: str, env: dict[str, str] | None = None) -> str:
    """`cramp-coach chat` on piped input, with a fresh memory file."""
    db = Path(tempfile.mkdtemp()) / "memory.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "tooling.console.cli", "chat", *args],
        input=script, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "CRAMP_COACH_DB": str(db), **(env or {})},
    )
    return done.stdout


def visible(line: str) -> str:
    return _ANSI.sub("", line)


def fits(lines: list[str], width: int) -> bool:
    """Every line fits the width, but for a single word too long for any line."""
    return all(len(visible(line)) <= width or len(visible(line).split()) <= 2 for line in lines)


# --- a routine through the console ----------------------------------------------------------


def test_a_full_routine_completes_with_typed_phrases(
    console: Callable[..., tuple[Console, io.StringIO]], replies: list[Reply],
    timers_api: TimersApiStandIn,
) -> None:
    """Natural phrases from launch to wrap-up: the pain question before the massage and again
    on "keep massaging", Alexa's own permission question answered yes, a timer set, every
    step reached and the session ended."""
    chat_, out = console()
    timers_api.revoke(chat_.alexa.device.api_access_token)  # Alexa asks for the permission
    type_in(chat_, FULL_ROUTINE)
    keys = [key for reply in replies for key in reply.keys]
    assert keys.count("gate/ask") == 2 and keys.count("gate/no") == 2
    assert "timer/need_permission" in keys and "timer/set" in keys
    # Refused (401), set once "yes" to Alexa granted the token, tidied away once it was gone.
    assert [r.method for r in timers_api.requests] == ["POST", "POST", "DELETE"]
    assert sorted({r.state["step"] for r in replies if r.state}) == list(range(1, 9))
    last = replies[-1]
    assert last.keys[-1] == "finish/wrap_up" and last.state["finished"] and last.ends_session
    assert "fallback/miss" not in keys  # every phrase was understood
    assert out.getvalue().splitlines()[-1] == NOTE.label + "(session ended)"


def test_the_console_shows_the_reprompt_on_silence_then_closes(
    console: Callable[..., tuple[Console, io.StringIO]], replies: list[Reply]
) -> None:
    """An empty line is silence: Alexa says the reprompt once, then closes the session."""
    chat_, out = console()
    type_in(chat_, "open cramp coach\nnext\nnext\n")
    asked = replies[-1]
    assert asked.state["pending"] == "pain_gate"
    before = len(out.getvalue().splitlines())
    chat_.hear("")
    said = out.getvalue().splitlines()[before:]
    assert " ".join(visible(x) for x in said).split() == ["Alexa:", *asked.reprompt.split()]
    chat_.hear("")
    assert not chat_.alexa.in_session
    assert replies[-1].raw.get("response") == {}  # the SessionEndedRequest's empty answer
    assert out.getvalue().splitlines()[-1].startswith(NOTE.label + "(")


def test_the_console_understands_one_shots_and_hurts_more(
    console: Callable[..., tuple[Console, io.StringIO]], replies: list[Reply]
) -> None:
    """"ask cramp coach for step four" opens at the cold step; "yes it hurts more" stops it;
    "I can't put weight on my leg" is an urgent warning sign."""
    chat_, _ = console()
    type_in(chat_, "ask cramp coach for step four\n")
    assert replies[-1].state["step"] == 4 and "step/cold" in replies[-1].keys
    type_in(chat_, "yes it hurts more\n")
    assert "safety/stop/cold" in replies[-1].keys and replies[-1].state["hands_off"]
    type_in(chat_, "I can't put weight on it\n")
    [flag] = [line.args for line in replies[-1].outcome.lines if line.key == "safety/red_flag"]
    assert flag == {"flag": "no_weight", "urgency": "urgent"}


# --- how it reads -----------------------------------------------------------------------------


def test_piped_output_is_plain_text_at_a_fixed_width() -> None:
    """`make run` on piped input, even from a colour terminal's environment: no escape codes,
    no line over 100 columns, every typed line echoed and answered, the session ended last."""
    out = chat(FULL_ROUTINE, env={"TERM": "xterm-256color", "COLUMNS": "60", "NO_COLOR": ""})
    lines = out.splitlines()
    assert ESCAPE not in out
    assert fits(lines, PIPED_WIDTH) and max(len(line) for line in lines) > 60
    typed = [line for line in lines if line.startswith(YOU.label)]
    assert typed == [YOU.label + line for line in FULL_ROUTINE.splitlines()]
    turns = out.split("\n" + YOU.label)
    assert all(ALEXA.label in turn for turn in turns), "every typed line has an answer"
    assert lines[-1] == NOTE.label + "(session ended)"


def test_long_lines_wrap_at_word_boundaries_under_their_label() -> None:
    """A long line is cut between words, never inside one, and its later lines start under
    the first word; a word longer than a line stays whole."""
    words = ("Put a cold compress on the cramping muscle for 15 to 20 minutes, never on "
             "bare skin, and https://example.com/a-very-long-address-that-cannot-fit-anywhere "
             "stays whole.")
    lines = Look(width=40).lines(ALEXA, words)
    assert len(lines) > 3 and fits(lines, 40)
    assert lines[0].startswith(ALEXA.label)
    assert all(line.startswith(" " * len(ALEXA.label)) for line in lines[1:])
    assert " ".join(lines).split() == ["Alexa:", *words.split()]


def test_alexas_words_wrap_in_a_real_turn_with_nothing_lost(
    console: Callable[..., tuple[Console, io.StringIO]], replies: list[Reply]
) -> None:
    """On a narrow console the launch's words wrap, every word of the speech kept whole."""
    chat_, out = console(out=io.StringIO())
    chat_.look = Look(width=50)
    chat_.hear("open cramp coach")
    lines = out.getvalue().splitlines()
    speech = replies[-1].speech
    indent = " " * len(ALEXA.label)
    alexa = [lines[0]]
    for line in lines[1:]:  # Alexa's lines run until the first labelled one
        if not line.startswith(indent):
            break
        alexa.append(line)
    assert len(alexa) > 2 and fits(lines, 50)
    assert " ".join(alexa).split() == ["Alexa:", *speech.split()]


def test_each_kind_of_line_has_its_own_label(
    console: Callable[..., tuple[Console, io.StringIO]]
) -> None:
    """Alexa's words start the line; a reprompt, a card, a screen and a timer going off are
    each indented under a label of their own."""
    labels = [kind.label.strip() for kind in LABELS.values()]
    assert len(set(labels)) == len(labels)
    assert ALEXA.label[0] != " " and all(
        kind.label.startswith("  ") for name, kind in LABELS.items() if name != "alexa")
    chat_, out = console("screen")
    chat_.hear("open cramp coach")
    timer = StandInTimer(id="id", label="cold, round 1", duration="PT15M", duration_s=900,
                         status="ON", created=0, updated=0, trigger_at=900,
                         remaining_when_paused=None, announcement="Time is up.", request={})
    chat_.announce(timer, timer.announcement)
    shown = out.getvalue().splitlines()
    for name, kind in LABELS.items():
        assert any(line.startswith(kind.label) for line in shown), f"no {name} line"


def test_a_terminal_gets_colour_and_its_own_width(
    console: Callable[..., tuple[Console, io.StringIO]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a terminal Alexa's words are bold and every label coloured, wrapped to the
    terminal's width (colour codes never count against it)."""
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.delenv("NO_COLOR", raising=False)
    chat_, out = console("screen", out=FakeTerminal())
    assert (chat_.look.width, chat_.look.colour) == (60, True)
    chat_.hear("open cramp coach")
    lines = out.getvalue().splitlines()
    assert fits(lines, 60) and max(len(visible(line)) for line in lines) > 50
    first = lines[0]
    assert first.startswith(ALEXA.label_style + ALEXA.label + "\x1b[0m" + ALEXA.text_style)
    for kind in (REPROMPT, CARD, SCREEN):
        assert any(line.startswith(kind.label_style + kind.label) for line in lines)


@pytest.mark.parametrize("setting", [{"NO_COLOR": "1"}, {}])
def test_no_colour_when_asked_or_when_not_a_terminal(
    console: Callable[..., tuple[Console, io.StringIO]], monkeypatch: pytest.MonkeyPatch,
    setting: dict[str, str],
) -> None:
    """NO_COLOR at a terminal, or output that is not a terminal: plain text, no escape codes;
    not a terminal also means the fixed width, whatever the terminal's."""
    monkeypatch.setenv("COLUMNS", "60")
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    stream = FakeTerminal() if setting else io.StringIO()
    chat_, out = console("screen", out=stream)
    chat_.hear("open cramp coach")
    assert ESCAPE not in out.getvalue()
    assert chat_.look.width == (60 if setting else PIPED_WIDTH)


@pytest.mark.parametrize(("answer", "launched"), [("yes", True), ("no", False)])
def test_a_timer_that_brings_the_skill_back_asks_first(
    console: Callable[..., tuple[Console, io.StringIO]], replies: list[Reply],
    timers_api: TimersApiStandIn, clock: FakeClock, answer: str, launched: bool,
) -> None:
    """When a compress timer goes off the console asks, as Alexa would, whether to continue
    with the skill (its name in place of Alexa's placeholder); yes opens a new session with
    the timer's task, on the question after the compress; no opens nothing."""
    chat_, out = console()
    type_in(chat_, "open cramp coach\nnext\nnext\nno\nnext\nyes")
    chat_.alexa.end_session("EXCEEDED_MAX_REPROMPTS")
    clock.advance(minutes=15)
    timers_api.clock.now_s = clock.now.timestamp()  # type: ignore[attr-defined]
    timers_api.on_fire = chat_.announce
    [fired] = timers_api.fire_due()
    assert fired.task is not None
    shown = out.getvalue().splitlines()
    asked = [line for line in shown if line.startswith(TIMER.label)]
    assert asked and chat_.name in " ".join(shown[shown.index(asked[-1]):])
    assert CONTINUE_WITH_SKILL_NAME not in out.getvalue()
    before = len(replies)
    type_in(chat_, answer)
    if launched:
        back = replies[before]
        assert back.keys[-1] == "cold/gone_ask" and back.state["pending"] == "cramp_gone"
    else:
        assert len(replies) == before and not chat_.alexa.in_session
    assert chat_.confirming is None


def test_a_device_without_launch_task_only_announces(
    console: Callable[..., tuple[Console, io.StringIO]], timers_api: TimersApiStandIn,
    clock: FakeClock,
) -> None:
    """`--no-launch-task` plays a device that refuses LAUNCH_TASK: the skill's timer falls back
    to announcing, and the console shows the announcement and asks nothing."""
    assert parser().parse_args(["chat", "--no-launch-task"]).no_launch_task
    timers_api.launch_task = False
    chat_, out = console()
    type_in(chat_, "open cramp coach\nnext\nnext\nno\nnext\nyes")
    clock.advance(minutes=15)
    timers_api.clock.now_s = clock.now.timestamp()  # type: ignore[attr-defined]
    timers_api.on_fire = chat_.announce
    [fired] = timers_api.fire_due()
    assert fired.task is None and chat_.confirming is None
    voice = Voice("en-US", State(), load_routine())
    shown = " ".join(out.getvalue().split())
    assert f"{fired.label}: {voice.text('timer/announce', purpose='cold')}" in shown


# --- understanding typed words ----------------------------------------------------------------


@pytest.mark.parametrize(("typed", "intent", "slots"), [
    ("next", "AMAZON.NextIntent", {}),
    ("I'm done", "AMAZON.NextIntent", {}),
    ("Go back.", "AMAZON.PreviousIntent", {}),
    ("go to step four", "GoToStepIntent", {"number": "4"}),
    ("go to step 4", "GoToStepIntent", {"number": "4"}),
    ("go to the fourth step", "GoToStepIntent", {"ordinal": "4"}),
    ("yes it hurts more", "HurtsMoreIntent", {}),
    ("I fell", "RedFlagIntent", {"symptom": "fall"}),
    ("what do I need", "ChecklistIntent", {}),
    ("purple elephants", "AMAZON.FallbackIntent", {}),
])
def test_typed_words_resolve_to_intents(typed: str, intent: str, slots: dict[str, str]) -> None:
    """The console's understanding maps phrasings to the model's intents and slot values."""
    heard = en_us().understand(typed)
    assert heard.intent == intent
    got = {k: s.resolved_id or s.value for k, s in heard.slots.items()}
    assert got == slots


@pytest.mark.parametrize("typed", ["open cramp coach", "Alexa, launch cramp coach",
                                   "ask cramp coach"])
def test_invocations_launch(typed: str) -> None:
    """Opening phrases become a LaunchRequest."""
    assert en_us().understand(typed).kind == "launch"
