"""The caregiver's phrasing: every `@helper` template variant, and a helper's conversation.

A helper variant speaks to someone helping the runner ("have them straighten the leg"): the
same routine, the same options, in other words. Here, in every locale with a model: each
variant has its original, offers the same phrases, uses the same shared macros, renders
wherever its original does and is about as short; and in a conversation, "I'm helping
someone" changes the words, never what the routine chooses. What the English variants say
(their leg, never "your leg", every fact kept) is checked in tests/test_wording.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from skill.routine import Line, State, load_routine
from skill.speech import Voice, template_dirs, to_text
from tests.conftest import TEMPLATE_LOCALES, check_ssml
from tests.full_run import words
from tests.talk import FOR_ME, HELPER, NEXT, NO, step_of, walk_to
from tests.wording_checks import Template, renders, templates
from tooling.standins.alexa import Alexa, Reply

pytestmark = pytest.mark.every_locale

VARIANT = "helper"
ROUTINE = load_routine()


def helpers(loc: str) -> list[Template]:
    """The locale's helper variants (each test walks them all and reports every one that
    breaks its rule: a test per template and locale cost more in pytest's bookkeeping than
    in the checks)."""
    return [t for t in templates(loc) if t.variant == VARIANT]


def source(loc: str, template: Template) -> Path:
    """The file the locale renders for this template (the most specific folder's)."""
    for folder in template_dirs(loc):
        path = folder / template.name
        if path.is_file():
            return path
    raise FileNotFoundError(template.name)


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_helper_variants_cover_the_routine(loc: str) -> None:
    """Every step, detail, stop, the pain question, red flags, help and wrap-up have one."""
    keys = {t.key for t in templates(loc) if t.variant == VARIANT}
    steps = [s.id for s in ROUTINE.steps]
    required = {
        *(f"{prefix}/{s}" for s in steps for prefix in ("step", "more", "safety/stop")),
        "gate/ask", "gate/yes", "gate/unclear", "gate/unclear_stop", "gate/why",
        "safety/red_flag", "safety/severe_pain_doctor",
        "safety/hurts_more_general", "safety/stopped_here", "safety/no_more_massage",
        "safety/emergency", "safety/sign_check", "open/welcome", "help/here", "prompt/step",
        "prompt/after_stop", "finish/wrap_up", "info/checklist", "info/prevention",
        "info/overview", "memory/welcome_back", "bye/stop", "cold/gone_ask", "card/checklist",
    }
    assert not sorted(required - keys)


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_every_helper_variant_has_its_original(loc: str) -> None:
    """A variant is only ever an alternative phrasing of a key that exists on its own."""
    orphans = [t.name for t in helpers(loc) if t.original not in templates(loc)]
    assert helpers(loc) and not orphans


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_helper_variant_renders_wherever_its_original_does(loc: str) -> None:
    """In every state and with every argument its original renders with, the variant renders
    too (tests/test_wording.py checks each rendering is SSML Alexa accepts)."""
    problems: list[str] = []
    for template in helpers(loc):
        where = {(r.state, repr(r.args)) for r in renders(loc, template)}
        original = {(r.state, repr(r.args)) for r in renders(loc, template.original)}
        if not original or original - where:
            problems.append(f"{loc} {template.name}: {len(original - where)} renders missing")
    assert not problems, "\n".join(problems)


def _hints(path: Path) -> set[str]:
    return set(re.findall(r'hint\("([^"]+)"\)', path.read_text()))


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_helper_variant_offers_the_same_phrases(loc: str) -> None:
    """The helper is offered exactly the options the runner is (each already a sample)."""
    differ = [t.name for t in helpers(loc)
              if _hints(source(loc, t)) != _hints(source(loc, t.original))]
    assert not differ


IMPORTS = re.compile(r'{%\s*from\s+"([^"]+)"\s+import\s+([^%]+?)\s+with context\s*%}')


def _macros_used(path: Path) -> set[tuple[str, str]]:
    return {(origin, name.strip()) for origin, names in IMPORTS.findall(path.read_text())
            for name in names.split(",")}


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_helper_variant_uses_the_same_macros(loc: str) -> None:
    """The variant imports the same shared macros, so the emergency number stays by locale."""
    problems: list[str] = []
    for template in helpers(loc):
        variant, original = source(loc, template), source(loc, template.original)
        if not _macros_used(variant) <= _macros_used(original):
            problems.append(f"{template.name} imports other macros")
        for macro in ("emergency()", "number()"):
            if macro in original.read_text() and macro not in variant.read_text():
                problems.append(f"{template.name} lacks {macro}")
    assert not problems


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
def test_helper_variant_is_about_as_short_as_its_original(loc: str) -> None:
    """A helper is busy too: at most a third longer than the runner's wording, plus a word."""
    problems: list[str] = []
    for template in helpers(loc):
        originals = {(r.state, repr(r.args)): r.text for r in renders(loc, template.original)}
        for r in renders(loc, template):
            original = originals.get((r.state, repr(r.args)))
            if original is not None and words(r.text) > words(original) * 4 / 3 + 2:
                problems.append(f"{r.where}: {r.text!r}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("loc", TEMPLATE_LOCALES)
@pytest.mark.parametrize("key", ["mode/helper_on", "mode/helper_off"])
def test_mode_switches_are_short_acknowledgements(loc: str, key: str) -> None:
    """Switching who the skill talks to is a one-line acknowledgement (no variant needed)."""
    ssml = Voice(loc, State(step=2), ROUTINE).ssml(Line(key))
    check_ssml(f"<speak>{ssml}</speak>")
    assert 0 < words(to_text(ssml)) <= 15


# --- a helper's conversation ---------------------------------------------------------------


def speech_in(alexa: Alexa, reply: Reply, variants: tuple[str, ...]) -> str:
    """The SSML the reply's outcome gives in the phrasing variants named (skill/response.py
    renders the lines, then the prompt)."""
    outcome = reply.outcome
    voice = Voice(alexa.locale, outcome.state, ROUTINE, variants=variants)
    said = (voice.ssml(*outcome.lines), voice.ssml(outcome.prompt) if outcome.prompt else "")
    return f"<speak>{voice.styled(' '.join(p for p in said if p))}</speak>"


def test_helping_changes_the_words_not_the_routine(
    alexa: Alexa, make_alexa: Callable[..., Alexa]
) -> None:
    """A caregiver's routine chooses the same keys, step by step, as the runner's, spoken in
    the helper's phrasing; "it's for me" switches back to the runner's."""
    runner = make_alexa()
    walk_to(runner, 2)
    walk_to(alexa, 2)
    switched = alexa.intent(HELPER)
    assert switched.keys == ("mode/helper_on", "step/header", "step/stretch", "prompt/step")
    assert switched.state["helping"] is True
    for intent in (NEXT, NO, NEXT):
        mine, theirs = runner.intent(intent), alexa.intent(intent)
        assert theirs.keys == mine.keys and step_of(theirs) == step_of(mine)
        assert theirs.state["helping"] is True
        assert theirs.ssml == speech_in(alexa, theirs, (VARIANT,))
        assert mine.ssml == speech_in(runner, mine, ())
    back = alexa.intent(FOR_ME)
    assert back.keys[0] == "mode/helper_off" and back.state["helping"] is False
    assert back.ssml == speech_in(alexa, back, ())
