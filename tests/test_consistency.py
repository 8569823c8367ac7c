"""The skill, its interaction models, its templates and its data agree with each other."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from skill.app import REQUEST_HANDLERS
from skill.handlers.base import IntentFamily
from skill.permissions import TIMERS_SCOPE
from skill.routine import load_routine
from skill.speech import TEMPLATES
from tooling.standins.nlu import Understanding, normalize, normalize_sample

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "interaction_models").glob("*.json"))
ROUTINE_SOURCES = sorted((ROOT / "skill" / "routine").glob("*.py"))
ROUTINE = load_routine()
# The folders a language's words live in (en, later de, fr...): locale folders only override.
LANGUAGES = sorted(p for p in TEMPLATES.iterdir() if p.is_dir() and "-" not in p.name)


def language_model(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    model: dict[str, Any] = data["interactionModel"]["languageModel"]
    return model


def routed_intents() -> set[str]:
    return {name for h in REQUEST_HANDLERS if issubclass(h, IntentFamily) for name in h.intents}


def template_keys(folder: Path) -> set[str]:
    """The keys a language folder has a template for in its own right (not only a variant)."""
    return {str(p.relative_to(folder).with_suffix("")) for p in folder.rglob("*.*")
            if "@" not in p.name}


def test_there_are_models() -> None:
    """At least the en-US model exists (the other checks would pass vacuously without it)."""
    assert ROOT / "interaction_models" / "en-US.json" in MODELS


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_model_intent_is_handled_and_every_handled_intent_is_modelled(model: Path) -> None:
    """The handlers route exactly the intents the model declares."""
    declared, routed = {i["name"] for i in language_model(model)["intents"]}, routed_intents()
    assert declared == routed, (f"routed, not in {model.name}: {sorted(routed - declared)}; "
                                f"in {model.name}, not routed: {sorted(declared - routed)}")


def suggested_phrases(locale: str = "en-US") -> set[str]:
    """Every phrase the locale's templates offer the user, marked with hint("..."): its
    language's (skill/templates/de/) and its own overrides' (skill/templates/es-ES/)."""
    phrases = set()
    for folder in {TEMPLATES / locale.split("-")[0], TEMPLATES / locale}:
        for path in folder.rglob("*.ssml"):
            phrases |= set(re.findall(r'hint\("([^"]+)"\)', path.read_text(encoding="utf-8")))
    return phrases


def test_templates_suggest_phrases() -> None:
    """The hint() marker is in use, so the next test has something to check."""
    assert {"next", "repeat", "go back", "keep massaging", "what do I need"} <= suggested_phrases()


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_suggested_phrase_is_a_sample_utterance(model: Path) -> None:
    """Never offer an option that leads nowhere: each hint of the locale's language matches a
    sample in the locale's model.

    A hint matches a literal sample, or a sample with a slot that the phrase fills
    ("twenty" fills "{minutes}").
    """
    locale = model.stem
    language = locale.split("-")[0]
    understanding = Understanding.for_locale(locale, model.parent)  # shared with other tests
    samples = {normalize_sample(s, language) for i in language_model(model)["intents"]
               for s in i.get("samples", [])}
    suggested = suggested_phrases(locale)
    assert suggested, f"no hint() in the templates of {locale}"
    missing = {
        p for p in suggested
        if normalize(p, language) not in samples
        and understanding.understand(p).intent in (None, "AMAZON.FallbackIntent")
    }
    assert not missing, f"suggested but not in {model.name}: {sorted(missing)}"


def test_exactly_eight_steps_each_with_its_templates() -> None:
    """Eight steps, each with its instruction, its detail and how to stop its hands-on part."""
    assert [s.id for s in ROUTINE.steps] == [
        "stop", "stretch", "massage", "cold", "heat", "hydrate", "medicine", "rest"
    ]
    for folder in LANGUAGES:
        keys = template_keys(folder)
        for step in ROUTINE.steps:
            wanted = {f"step/{step.id}", f"more/{step.id}", f"safety/stop/{step.id}"}
            assert wanted <= keys, f"{folder.name}: {sorted(wanted - keys)}"


# What each placeholder of a key built in an f-string can be: a new one must be added here.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "step.id": tuple(s.id for s in ROUTINE.steps),
    "s.id": tuple(s.id for s in ROUTINE.steps),
    "sign_id": tuple(ROUTINE.signs),
    "kind": ("step", "more"),  # flow._hands_on_lines: a hands-on step's words
    "setting": ("slow", "loud"),  # flow._voice
}
KEY = re.compile(r"[a-z_]+(/[a-z_]+)+")


def _expand(node: ast.JoinedStr, where: str) -> Iterator[str]:
    """The keys an f-string can make, each placeholder replaced by every value it can take."""
    keys = [""]
    for part in node.values:
        if isinstance(part, ast.Constant):
            keys = [k + str(part.value) for k in keys]
            continue
        assert isinstance(part, ast.FormattedValue)
        expression = ast.unparse(part.value)
        assert expression in PLACEHOLDERS, f"{where}: add {{{expression}}} to PLACEHOLDERS"
        keys = [k + value for k in keys for value in PLACEHOLDERS[expression]]
    yield from keys


def routine_keys() -> dict[str, str]:
    """Every template key the routine's source names, literal or built, with where it is."""
    found: dict[str, str] = {}
    for path in ROUTINE_SOURCES:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            where = f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', '?')}"
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if KEY.fullmatch(node.value):
                    found.setdefault(node.value, where)
            elif isinstance(node, ast.JoinedStr):
                head = node.values[0] if node.values else None
                if isinstance(head, ast.Constant) and "/" in str(head.value) or any(
                        isinstance(v, ast.Constant) and str(v.value).startswith("/")
                        for v in node.values):
                    for key in _expand(node, where):
                        found.setdefault(key, where)
    return found


def test_the_routine_names_its_keys() -> None:
    """The collector finds the literal and the built keys (else the next test checks nothing)."""
    keys = routine_keys()
    assert {"gate/ask", "safety/severe_pain_doctor", "cold/gone_ask", "car/park_prompt"} <= set(
        keys)
    assert {f"step/{s.id}" for s in ROUTINE.steps} <= set(keys)
    assert {f"safety/stop/{s.id}" for s in ROUTINE.steps} <= set(keys)
    assert {"voice/slow", "voice/loud"} <= set(keys)


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda p: p.name)
def test_every_key_the_routine_can_emit_has_a_template(language: Path) -> None:
    """Each key the routine's source names (a Line, a question's, a set of lines), with built
    ones expanded per step id, sign and setting, has a template in every language."""
    have = template_keys(language)
    missing = {key: where for key, where in routine_keys().items() if key not in have}
    assert not missing, f"no template in {language.name}: {missing}"


@pytest.mark.parametrize("language", LANGUAGES, ids=lambda p: p.name)
def test_every_text_template_the_skill_renders_exists(language: Path) -> None:
    """Cards, screens and timer labels: each voice.text("...") key has a .txt template."""
    sources = sorted((ROOT / "skill").glob("*.py"))
    keys = {key for path in sources
            for key in re.findall(r'\.text\(\s*"([a-z_/]+)"', path.read_text(encoding="utf-8"))}
    assert {"card/step", "card/checklist", "timer/label"} <= keys
    missing = sorted(k for k in keys if not (language / f"{k}.txt").is_file())
    assert not missing, f"no .txt template in {language.name}: {missing}"


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_sign_ids_match_the_slot_type(model: Path) -> None:
    """The routine's warning signs are exactly the model's RED_FLAG value ids."""
    types = {t["name"]: t for t in language_model(model).get("types", [])}
    ids = {v["id"] for v in types["RED_FLAG"]["values"]}
    assert ids == set(ROUTINE.signs), (f"only in the routine: {sorted(set(ROUTINE.signs) - ids)}; "
                                       f"only in the model: {sorted(ids - set(ROUTINE.signs))}")


SCOPE_HOME = ROOT / "skill" / "permissions.py"


def test_the_timers_scope_has_one_home() -> None:
    """The timers scope is spelled out once, in skill/permissions.py: every other module (the
    skill, the tools, the stand-ins, the tests) imports it from there."""
    sources = [p for folder in ("skill", "tooling", "lambda", "tests", "benchmarks")
               for p in sorted((ROOT / folder).rglob("*.py")) if p != SCOPE_HOME]
    spelled = [str(p.relative_to(ROOT)) for p in sources
               if TIMERS_SCOPE in p.read_text(encoding="utf-8")
               or re.search(r"^\s*TIMERS_SCOPE\s*[:=]", p.read_text(encoding="utf-8"), re.M)]
    assert not spelled, f"import TIMERS_SCOPE from skill.permissions instead: {spelled}"
    assert TIMERS_SCOPE in SCOPE_HOME.read_text(encoding="utf-8")


def test_the_manifest_declares_the_timers_scope() -> None:
    """skill.json asks for exactly the permission the skill requests by voice and on its card."""
    manifest = json.loads((ROOT / "skill.json").read_text())["manifest"]
    assert {"name": TIMERS_SCOPE} in manifest["permissions"]


def test_what_ships_imports_no_tooling() -> None:
    """Nothing in skill/ (what the Lambda zip holds) imports the console, stand-ins or tools."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "skill").rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.match(r"\s*(from|import)\s+(tooling|tests|benchmarks)\b", line)
    ]
    assert not offenders
