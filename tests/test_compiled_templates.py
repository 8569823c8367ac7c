"""The templates compiled for the Lambda zip say exactly what the templates say."""

from __future__ import annotations

from pathlib import Path

import pytest
from jinja2 import ChoiceLoader, FileSystemLoader, ModuleLoader

from skill import speech
from skill.routine import Line, Question, State, load_routine
from skill.speech import TEMPLATES, Voice, compile_templates, template_dirs

ROUTINE = load_routine()
# Every key of the English templates (variants and the macro files aside).
KEYS = sorted({
    str(p.relative_to(TEMPLATES / "en").with_suffix("")).split("@")[0]
    for p in (TEMPLATES / "en").rglob("*.ssml")
    if "macros" not in p.name
})
# Values for every argument any template takes, twice: each set takes other branches.
ARGS = {"first_time": True, "level": 2, "heard": "nine", "flag": "fall", "urgency": "urgent",
        "stale": False, "hours": 1, "days": 0, "timer": None, "can_walk": False, "why": "injury",
        "purpose": "cold", "minutes": 15, "paused": False, "result": "done", "op": "cancel",
        "reason": "timeout", "status": "denied", "round": 2, "count": 3, "stop": True,
        "next": "cold", "steps": ("stretch", "massage")}
OTHER_ARGS = {**ARGS, "first_time": False, "level": 3, "heard": None, "flag": "wont_ease",
              "urgency": "doctor", "stale": True, "days": 3, "can_walk": True, "why": "pain",
              "timer": {"purpose": "heat", "minutes": 4, "paused": True},
              "purpose": "wait", "minutes": 1, "paused": True, "result": "not_found",
              "op": "pause", "reason": "refused", "status": "not_answered", "round": 1,
              "stop": False, "next": None, "steps": ("heat",)}


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("compiled")
    compile_templates(target)
    return target


@pytest.mark.long
def test_compiled_templates_render_the_same_words(compiled: Path) -> None:
    """Every template key, rendered from the compiled modules in each phrasing and each way
    the emergency number is said (digit by digit, Australia's "triple zero"), matches the
    source's render."""
    differ: list[str] = []
    for speaking in ("en-US", "en-AU"):
        folders = template_dirs(speaking)
        source = speech._environment(ChoiceLoader([FileSystemLoader(d) for d in folders]))
        built = speech._environment(ChoiceLoader([ModuleLoader(compiled / d.name)
                                                  for d in folders]))
        for variants in ((), ("helper",), ("car",)):
            for step in (1, 3, 4, 8):
                state = State(step=step, pending=Question.PAIN_GATE if step == 3 else None)
                plain = Voice(speaking, state, ROUTINE, variants=variants)
                fast = Voice(speaking, state, ROUTINE, variants=variants)
                plain.env, fast.env = source, built
                differ += [f"{speaking} {variants} step {step}: {key}" for key in KEYS
                           for args in (ARGS, OTHER_ARGS)
                           if fast.ssml(Line(key, args)) != plain.ssml(Line(key, args))]
    assert not differ, "\n".join(differ)
