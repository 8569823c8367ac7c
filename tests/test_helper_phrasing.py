"""The caregiver's phrasing: every `@helper` template variant, rendered for every step state.

A helper variant speaks to someone helping the runner ("have them straighten the leg"), so it
must never tell the listener to do something to their own leg, and it must carry each seed
fact its original carries: the variant changes who is addressed, never what is advised.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from skill.routine import Line, Question, State, load_routine
from skill.speech import TEMPLATES, Voice, to_text
from tests.conftest import check_ssml

VARIANT = "helper"
LOCALES = ["en-US", "en-GB"]  # 911 and 999: the emergency macro must survive the variant
EN = TEMPLATES / "en"


@dataclass(frozen=True)
class Template:
    key: str
    ext: str  # "ssml" (speech) or "txt" (card text)

    @property
    def path(self) -> Path:
        return EN / f"{self.key}.{self.ext}"

    @property
    def variant_path(self) -> Path:
        return EN / f"{self.key}@{VARIANT}.{self.ext}"


def helper_templates() -> list[Template]:
    found = []
    for path in sorted(EN.rglob(f"*@{VARIANT}.*")):
        key, _, _ = str(path.relative_to(EN)).partition("@")
        found.append(Template(key, path.suffix[1:]))
    return found


HELPER = helper_templates()

# Every state the routine can speak from: before it starts, at each step, at the pain
# question, and after the last step.
STATES = [
    State(),
    *(State(step=n) for n in range(1, 9)),
    State(step=3, pending=Question.PAIN_GATE),
    State(step=8, finished=True),
]

# The values a template needs beyond the state (the Line args the routine passes).
_FLAGS = [{"flag": f, "urgency": u} for f, u in load_routine().red_flags.items()]
ARGS: dict[str, list[dict[str, Any]]] = {
    "open/welcome": [{"first_time": True}, {"first_time": False}],
    "safety/red_flag": [*_FLAGS, {"flag": None, "urgency": "doctor"}],
    "memory/welcome_back": [
        {"stale": stale, "hours": hours, "days": days, "was_asking": asking, "timer": timer}
        for stale, hours, days in [(False, 0, 0), (True, 13, 0), (True, 30, 1), (True, 80, 3)]
        for asking in (None, "pain_gate")
        for timer in (None, {"minutes": 6, "purpose": "cold"}, {"minutes": 1, "purpose": "wait"})
    ],
    "memory/frequent": [{"count": 3}],
    "card/step": [{"instruction": "Put a cold compress on the muscle."}],
    "cold/come_back": [{"minutes": 40}],
    "cold/round": [{"round": 2}],
    "timer/announce": [{"purpose": p, "round": 2} for p in ("cold", "heat", "wait")],
}


@dataclass(frozen=True)
class Rendered:
    key: str
    original: str  # what a listener hears from the original, as plain text
    helper: str
    helper_markup: str  # the helper variant as rendered (SSML for speech)
    where: str  # the state and args, for failure messages


def render(template: Template, locale: str, state: State, args: dict[str, Any],
           variant: str | None) -> str:
    voice = Voice(locale, state, load_routine(), variants=(variant,) if variant else ())
    if template.ext == "txt":
        return voice.text(template.key, **args)
    return voice.ssml(Line(template.key, args))


def _where(locale: str, state: State, args: dict[str, Any]) -> str:
    pending = state.pending.value if state.pending else None
    return f"{locale}, step {state.step}, pending {pending}, finished {state.finished}, {args}"


@cache
def renders(template: Template) -> tuple[Rendered, ...]:
    """Both phrasings in every state and locale in which the original renders at all."""
    out = []
    for locale in LOCALES:
        for state in STATES:
            for args in ARGS.get(template.key, [{}]):
                try:
                    original = render(template, locale, state, args, None)
                except UndefinedError:
                    if state.step == 0:
                        continue  # a key that names the step is never spoken before step 1
                    raise  # ARGS lacks a value this template needs: add it
                helper = render(template, locale, state, args, VARIANT)
                out.append(Rendered(template.key, to_text(original), to_text(helper), helper,
                                    _where(locale, state, args)))
    return tuple(out)


def each(prefixes: tuple[str, ...] = ("",)) -> list[Any]:
    return [pytest.param(t, id=f"{t.key}.{t.ext}") for t in HELPER if t.key.startswith(prefixes)]


def test_helper_variants_cover_the_routine() -> None:
    """Every step, detail, hurts-more answer, the gate, red flags, help and wrap-up have one."""
    keys = {t.key for t in HELPER}
    steps = [s.id for s in load_routine().steps]
    required = {
        *(f"{prefix}/{s}" for s in steps for prefix in ("step", "more", "safety/hurts_more")),
        "gate/ask", "gate/yes", "gate/unclear", "gate/unclear_stop", "gate/why",
        "safety/red_flag", "safety/stop_massage", "safety/severe_pain_doctor",
        "safety/hurts_more_general", "safety/stopped_here", "safety/no_more_massage",
        "open/welcome", "help/here", "prompt/step", "finish/wrap_up", "info/checklist",
        "info/prevention", "info/overview", "memory/welcome_back", "bye/stop",
    }
    assert not required - keys


@pytest.mark.parametrize("template", each())
def test_every_helper_variant_has_its_original(template: Template) -> None:
    """A variant is only ever an alternative phrasing of a key that exists on its own."""
    assert template.path.is_file()


@pytest.mark.parametrize("template", each())
def test_helper_variant_renders_wherever_its_original_does(template: Template) -> None:
    """In every state, helper speech is well-formed SSML Alexa accepts."""
    rendered = renders(template)
    assert rendered, "the original renders in some state"
    if template.ext == "ssml":
        for r in rendered:
            check_ssml(f"<speak>{r.helper_markup}</speak>")


def _hints(path: Path) -> set[str]:
    return set(re.findall(r'hint\("([^"]+)"\)', path.read_text()))


@pytest.mark.parametrize("template", each())
def test_helper_variant_offers_the_same_phrases(template: Template) -> None:
    """The helper is offered exactly the options the runner is (each already a sample)."""
    assert _hints(template.variant_path) == _hints(template.path)


@pytest.mark.parametrize("template", each())
def test_helper_variant_uses_the_same_macros(template: Template) -> None:
    """The variant imports the same shared macros, so the emergency number stays by locale."""
    imports = re.compile(r'{%\s*from\s+"([^"]+)"\s+import\s+([^%]+?)\s+with context\s*%}')

    def used(path: Path) -> set[tuple[str, str]]:
        return {(source, name.strip()) for source, names in imports.findall(path.read_text())
                for name in names.split(",")}

    assert used(template.variant_path) <= used(template.path)
    if "emergency()" in template.path.read_text():
        assert "emergency()" in template.variant_path.read_text()


THEM = re.compile(r"\b(they|them|their|they're|they've|theirs)\b", re.IGNORECASE)


@pytest.mark.parametrize("template", each(("step/", "gate/", "safety/hurts_more/")))
def test_step_and_gate_variants_speak_about_the_other_person(template: Template) -> None:
    """Each instruction and each pain question is about them: their leg, their pain."""
    for r in renders(template):
        assert THEM.search(r.helper), f"{r.key} ({r.where}): {r.helper!r}"


# The runner's own body, addressed as "your": what a helper must never be told to do.
YOUR_BODY = re.compile(
    r"\byour (leg|legs|toes|knee|calf|muscle|muscles|pain|cramp|runs?|running|skin)\b",
    re.IGNORECASE,
)
# Sentences that, as the first words, instruct the listener to act on their own leg.
RUNNER_IMPERATIVES = (
    "stop running", "straighten", "pull your", "drink", "rest the", "take it as", "take them",
    "run again", "soak", "walk home", "sit down", "step off", "ease off", "keep resting",
)


@pytest.mark.parametrize("template", each())
def test_no_instruction_to_the_listeners_own_leg(template: Template) -> None:
    """No "your leg", and no sentence opening with an order meant for the runner's body."""
    for r in renders(template):
        assert not YOUR_BODY.search(r.helper), f"{r.key} ({r.where}): {r.helper!r}"
        for sentence in re.split(r"[.:;?!]\s*", r.helper):
            opening = sentence.strip().lower()
            assert not opening.startswith(RUNNER_IMPERATIVES), f"{r.key}: {sentence!r}"


# Seed facts, as the original templates phrase them (compared case-insensitively).
FACTS = [
    "15 to 20 minutes", "15 minute", "bare skin", "every hour", "once an hour",
    "completely gone", "pain is gone", "cold compress", "blood flow", "bruising",
    "further damage", "ibuprofen", "naproxen", "as the label says", "non-steroidal",
    "anti-inflammator", "over-the-counter", "see a doctor", "muscle injury",
    "professional treatment", "several days", "other muscle groups", "fully recovered",
    "health professional", "diabetes or thyroid disease", "endurance training or plyometrics",
    "conditioning", "before, during and after", "rehydration", "dehydration", "sweating",
    "heating pad", "hot shower", "very warm", "gentle pressure", "stop the massage",
    "pain increases", "calf cramps", "most common", "most often", "toes up toward",
    "toes back toward", "straighten", "walk home", "treadmill", "sit down", "stop running",
    "rest and stretch", "fall", "serious injury", "medical attention", "call 911", "call 999",
    "can't make calls", "not a substitute for professional medical advice",
    "overuse, muscle strain or dehydration", "warm-up", "main cramp has passed",
    "primary cramp", "getting worse", "skip the massage",
]


@pytest.mark.parametrize("template", each())
def test_helper_variant_keeps_every_fact_of_its_original(template: Template) -> None:
    """Whatever seed fact the runner hears in a state, the helper hears in the same state."""
    for r in renders(template):
        missing = [f for f in FACTS if f in r.original.lower() and f not in r.helper.lower()]
        assert not missing, f"{r.key} ({r.where}) lost {missing}: {r.helper!r}"


@pytest.mark.parametrize("template", each())
def test_helper_variant_is_about_as_short_as_its_original(template: Template) -> None:
    """A helper is busy too: at most a third longer than the runner's wording, plus a word."""
    for r in renders(template):
        limit = len(r.original.split()) * 4 / 3 + 2
        assert len(r.helper.split()) <= limit, f"{r.key} ({r.where}): {r.helper!r}"


@pytest.mark.parametrize("variant", [None, VARIANT])
def test_overview_names_all_eight_steps_in_one_breath(variant: str | None) -> None:
    """"Tell me all the steps": every step, in order, in a few seconds of speech."""
    voice = Voice("en-US", State(), load_routine(), variants=(variant,) if variant else ())
    ssml = voice.ssml(Line("info/overview"))
    check_ssml(f"<speak>{ssml}</speak>")
    text = to_text(ssml).lower()
    assert "8 steps" in text
    named = ["stop", "stretch", "massage", "cold compress", "heat", "water", "medicine", "rest"]
    positions = [text.find(word) for word in named]
    assert -1 not in positions and positions == sorted(positions), positions
    assert len(text.split()) <= 75  # about thirty seconds at Alexa's pace, at most


@pytest.mark.parametrize("key", ["mode/helper_on", "mode/helper_off"])
def test_mode_switches_are_short_acknowledgements(key: str) -> None:
    """Switching who the skill talks to is a one-line acknowledgement (no variant needed)."""
    ssml = Voice("en-US", State(step=2), load_routine()).ssml(Line(key))
    check_ssml(f"<speak>{ssml}</speak>")
    assert 0 < len(to_text(ssml).split()) <= 15
