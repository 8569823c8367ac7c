"""The skill, its interaction models, its templates and its data agree with each other."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from skill.app import REQUEST_HANDLERS
from skill.handlers.base import IntentFamily
from skill.routine import load_routine
from skill.speech import TEMPLATES
from tooling.standins.nlu import Understanding, normalize, normalize_sample

ROOT = Path(__file__).resolve().parents[1]
MODELS = sorted((ROOT / "interaction_models").glob("*.json"))
SOURCE = "\n".join(p.read_text() for p in (ROOT / "skill" / "routine").glob("*.py"))


def language_model(path: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads(path.read_text())["interactionModel"]["languageModel"]
    return model


def routed_intents() -> set[str]:
    return {name for h in REQUEST_HANDLERS if issubclass(h, IntentFamily) for name in h.intents}


def template_keys() -> set[str]:
    return {
        str(p.relative_to(d).with_suffix("")).split("@")[0]
        for d in TEMPLATES.iterdir() for p in d.rglob("*.*")
    }


def test_there_are_models() -> None:
    """At least the en-US model exists (the other checks would pass vacuously without it)."""
    assert ROOT / "interaction_models" / "en-US.json" in MODELS


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_model_intent_is_handled_and_every_handled_intent_is_modelled(model: Path) -> None:
    """The handlers route exactly the intents the model declares."""
    declared = {i["name"] for i in language_model(model)["intents"]}
    assert declared == routed_intents()


def suggested_phrases() -> set[str]:
    """Every phrase a template offers the user, marked with hint("...")."""
    phrases = set()
    for path in TEMPLATES.rglob("*.ssml"):
        phrases |= set(re.findall(r'hint\("([^"]+)"\)', path.read_text()))
    return phrases


def test_templates_suggest_phrases() -> None:
    """The hint() marker is in use, so the next test has something to check."""
    assert {"next", "repeat", "go back", "keep massaging", "what do I need"} <= suggested_phrases()


@pytest.mark.parametrize("model", MODELS, ids=lambda p: p.stem)
def test_every_suggested_phrase_is_a_sample_utterance(model: Path) -> None:
    """Never offer an option that leads nowhere: each hint matches a sample in every model.

    A hint matches a literal sample, or a sample with a slot that the phrase fills
    ("twenty" fills "{minutes}").
    """
    understanding = Understanding(json.loads(model.read_text()))
    samples = {normalize_sample(s) for i in language_model(model)["intents"]
               for s in i.get("samples", [])}
    missing = {
        p for p in suggested_phrases()
        if normalize(p) not in samples
        and understanding.understand(p).intent in (None, "AMAZON.FallbackIntent")
    }
    assert not missing, f"suggested but not in {model.name}: {sorted(missing)}"


def test_exactly_eight_steps_each_with_its_templates() -> None:
    """Eight steps, each with its instruction, its detail and its "it hurts more" answer."""
    steps = load_routine().steps
    assert len(steps) == 8
    assert [s.id for s in steps] == [
        "stop", "stretch", "massage", "cold", "heat", "hydrate", "medicine", "rest"
    ]
    keys = template_keys()
    for step in steps:
        assert {f"step/{step.id}", f"more/{step.id}", f"safety/hurts_more/{step.id}"} <= keys


def test_every_template_key_the_routine_names_exists() -> None:
    """Each Line("...") in the routine has a template; f-string keys are checked per step."""
    keys = template_keys()
    literal = set(re.findall(r'Line\("([^"{]+)"', SOURCE))
    assert literal, "the routine names its lines"
    assert not literal - keys
    for prefix in re.findall(r'Line\(f"([a-z_/]+)\{step\.id\}"', SOURCE):
        for step in load_routine().steps:
            assert f"{prefix}{step.id}" in keys


def test_red_flag_ids_match_the_slot_type() -> None:
    """The routine's red flags are exactly the model's RED_FLAG value ids."""
    for model in MODELS:
        types = {t["name"]: t for t in language_model(model).get("types", [])}
        ids = {v["id"] for v in types["RED_FLAG"]["values"]}
        assert ids == set(load_routine().red_flags)


def test_the_timers_permission_is_one_scope_everywhere() -> None:
    """The scope the skill asks for is the one the Timers client and skill.json declare."""
    from skill.conversation import TIMERS_SCOPE
    from skill.permissions import TIMERS_SCOPE

    manifest = json.loads((ROOT / "skill.json").read_text())["manifest"]
    assert TIMERS_SCOPE == TIMERS_SCOPE
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
