"""`cramp-coach chat` driven through piped standard input, as a new user would script it."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tooling.standins.nlu import Understanding

FULL_ROUTINE = """\
open cramp coach
next
next
no
keep massaging
no it's not
I'm done
tell me more
next
what's next
continue
what step am I on
how many steps are left
ready
next
next
"""


def chat(script: str, *args: str, db: Path | None = None) -> str:
    """Run the console on a script; a fresh memory file unless one is given."""
    db = db or Path(tempfile.mkdtemp()) / "memory.sqlite3"
    done = subprocess.run(
        [sys.executable, "-m", "tooling.console.cli", "chat", *args],
        input=script, capture_output=True, text=True, timeout=60, check=True,
        env={**os.environ, "CRAMP_COACH_DB": str(db)},
    )
    return done.stdout


def test_console_completes_a_full_routine_with_the_massage_gate() -> None:
    """A piped conversation goes from launch through the pain question to the wrap-up."""
    out = chat(FULL_ROUTINE)
    for n in range(1, 9):
        assert f"Step {n} of 8" in out
    # Asked before the massage and again on "keep massaging".
    assert out.count("is the pain getting worse?") >= 2
    assert "gentle pressure" in out
    assert "That's all 8 steps" in out
    assert out.rstrip().endswith("(session ended)")
    assert "[card] Step 4 of 8: The cold compress" in out
    assert "you> keep massaging" in out


def test_console_shows_reprompt_on_silence_then_closes() -> None:
    """An empty line is silence: the reprompt once, then Alexa closes the session."""
    out = chat("open cramp coach\nnext\nnext\n\n\n")
    assert out.count("Alexa: Before you massage: is the pain getting worse?") >= 1
    assert "(no answer: Alexa closed the session)" in out


def test_console_understands_one_shots_and_hurts_more() -> None:
    """"ask cramp coach for step four" and "yes it hurts more" resolve as Alexa would."""
    out = chat("ask cramp coach for step four\nyes it hurts more\nI can't put weight on my leg\n")
    assert "Step 4 of 8" in out
    assert "Take the cold compress off" in out
    assert "call 911" in out


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
    heard = Understanding.for_locale("en-US").understand(typed)
    assert heard.intent == intent
    got = {k: s.resolved_id or s.value for k, s in heard.slots.items()}
    assert got == slots


@pytest.mark.parametrize("typed", ["open cramp coach", "Alexa, launch cramp coach",
                                   "ask cramp coach"])
def test_invocations_launch(typed: str) -> None:
    """Opening phrases become a LaunchRequest."""
    assert Understanding.for_locale("en-US").understand(typed).kind == "launch"
