"""The publishing checks: the real skill.json and models pass, and each check catches a breakage."""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from skill.permissions import TIMERS_SCOPE
from skill.tasks import TASK_NAME, TASK_VERSION
from tooling.build.publishing import (
    APL_INTERFACE,
    CAN_FULFILL_INTERFACE,
    MAX_SAMPLE_CHARS,
    MAX_SLOT_VALUE_CHARS,
    PROJECT_ROOT,
    REQUIRED_INTENTS,
    check_invocation_name,
    detect_features,
    validate_project,
)

REAL_MODEL = PROJECT_ROOT / "interaction_models" / "en-US.json"

# A small valid skill, so every check can be shown failing before (or besides) the real files.
MINIMAL_MANIFEST: dict[str, Any] = {
    "manifest": {
        "manifestVersion": "1.0",
        "publishingInformation": {
            "locales": {
                "en-US": {
                    "name": "Calf Helper",
                    "summary": "Helps with a calf cramp.",
                    "description": "Talks you through a calf cramp. It is not a substitute for "
                    "professional medical advice. In an emergency, call your local emergency "
                    "number.",
                    "examplePhrases": [
                        "Alexa, open calf helper",
                        "Alexa, ask calf helper to go to step five",
                        "Alexa, tell calf helper my calf hurts",
                    ],
                }
            },
            "category": "HEALTH_AND_FITNESS",
            "distributionCountries": ["US"],
        },
        "privacyAndCompliance": {
            "allowsPurchases": False,
            "usesPersonalInfo": False,
            "isChildDirected": False,
            "isExportCompliant": True,
            "containsAds": False,
        },
        "apis": {"custom": {"endpoint": {"uri": "arn:aws:lambda:us-east-1:1:function:x"}}},
    }
}

MINIMAL_MODEL: dict[str, Any] = {
    "interactionModel": {
        "languageModel": {
            "invocationName": "calf helper",
            "intents": [
                {"name": "StartIntent", "samples": ["I have a cramp", "start the routine"]},
                {
                    "name": "GoToStepIntent",
                    "slots": [{"name": "number", "type": "AMAZON.NUMBER"}],
                    "samples": ["go to step {number}", "step {number}"],
                },
                {
                    "name": "WhereIntent",
                    "slots": [{"name": "sorePart", "type": "MUSCLE",
                               "samples": ["my {sorePart}"]}],
                    "samples": ["my {sorePart} hurts"],
                },
                *({"name": name, "samples": []} for name in REQUIRED_INTENTS),
            ],
            "types": [
                {
                    "name": "MUSCLE",
                    "values": [{"name": {"value": "calf", "synonyms": ["lower leg"]}}],
                }
            ],
        }
    }
}


# A small valid custom task (Amazon's rules: one path, POST only, JSON only, inline schemas).
MINIMAL_TASK: dict[str, Any] = {
    "openapi": "3.0.0",
    "info": {"title": "Count down", "version": "1"},
    "paths": {"/CountDown": {"post": {
        "requestBody": {"content": {"application/json": {"schema": {
            "$ref": "#/components/schemas/Input"}}}},
        "responses": {"200": {"description": "Done.",
                              "content": {"application/json": {"schema": {"type": "object"}}}}},
    }}},
    "components": {"schemas": {"Input": {"type": "object", "properties": {
        "seconds": {"type": "integer"}}}}},
}


@dataclass
class Project:
    """A skill checkout in a temporary directory, edited as JSON and then written out."""

    root: Path
    manifest: dict[str, Any]
    models: dict[str, dict[str, Any]]
    templates: set[str]
    tasks: dict[str, Any] = field(default_factory=dict)  # tasks/<file name> -> definition
    raw_files: dict[str, str] = field(default_factory=dict)  # relative path -> verbatim text
    # Locale -> a model file copied as it is: the real skill's models but `locale`'s, which no
    # breakage edits (reading and writing out twelve models took most of a test's time).
    unopened: dict[str, Path] = field(default_factory=dict)

    @property
    def locale(self) -> str:
        """The locale the breakages edit: en-US (they are written in English) if published."""
        published = sorted(self.manifest["manifest"]["publishingInformation"]["locales"])
        return "en-US" if "en-US" in published else published[0]

    @property
    def info(self) -> dict[str, Any]:
        locales = self.manifest["manifest"]["publishingInformation"]["locales"]
        info: dict[str, Any] = locales[self.locale]
        return info

    @property
    def language_model(self) -> dict[str, Any]:
        model: dict[str, Any] = self.models[self.locale]["interactionModel"]["languageModel"]
        return model

    def intents_with_samples(self) -> list[dict[str, Any]]:
        return [i for i in self.language_model["intents"] if i.get("samples")]

    def write(self) -> None:
        for name in ("skill.json", "interaction_models", "skill", "tasks"):
            path = self.root / name
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        (self.root / "skill.json").write_text(json.dumps(self.manifest), encoding="utf-8")
        (self.root / "interaction_models").mkdir()
        for locale, model in self.models.items():
            path = self.root / "interaction_models" / f"{locale}.json"
            path.write_text(json.dumps(model), encoding="utf-8")
        for locale, source in self.unopened.items():
            assert locale not in self.models, locale
            shutil.copyfile(source, self.root / "interaction_models" / f"{locale}.json")
        for template in self.templates:
            (self.root / "skill" / "templates" / template).mkdir(parents=True)
        for file_name, definition in self.tasks.items():
            (self.root / "tasks").mkdir(exist_ok=True)
            (self.root / "tasks" / file_name).write_text(json.dumps(definition),
                                                         encoding="utf-8")
        for relative, text in self.raw_files.items():
            (self.root / relative).write_text(text, encoding="utf-8")

    def problems(self, *, uses_timers: bool = False, uses_apl: bool = False,
                 uses_launch_task: bool = False, uses_can_fulfill: bool = False) -> list[str]:
        self.write()
        return validate_project(self.root, uses_timers=uses_timers, uses_apl=uses_apl,
                                uses_launch_task=uses_launch_task,
                                uses_can_fulfill=uses_can_fulfill)

    @property
    def task(self) -> dict[str, Any]:
        """The project's one task definition (the real skill's, or the minimal one's)."""
        [definition] = self.tasks.values()
        task: dict[str, Any] = definition
        return task

    @property
    def task_operation(self) -> dict[str, Any]:
        [item] = self.task["paths"].values()
        post: dict[str, Any] = item["post"]
        return post


def minimal_project(root: Path) -> Project:
    project = Project(root, copy.deepcopy(MINIMAL_MANIFEST),
                      {"en-US": copy.deepcopy(MINIMAL_MODEL)}, {"en"})
    project.manifest["manifest"]["apis"]["custom"]["tasks"] = [
        {"name": "CountDown", "version": "1"}]
    project.tasks["CountDown.1.json"] = copy.deepcopy(MINIMAL_TASK)
    return project


def real_project(root: Path) -> Project:
    if not REAL_MODEL.exists():
        pytest.skip("interaction_models/en-US.json is not written yet")
    manifest = json.loads((PROJECT_ROOT / "skill.json").read_text(encoding="utf-8"))
    models = {path.stem: path
              for path in sorted((PROJECT_ROOT / "interaction_models").glob("*.json"))}
    templates = {p.name for p in (PROJECT_ROOT / "skill" / "templates").iterdir() if p.is_dir()}
    tasks = {path.name: json.loads(path.read_text(encoding="utf-8"))
             for path in sorted((PROJECT_ROOT / "tasks").glob("*.json"))}
    project = Project(root, manifest, {}, templates, tasks, unopened=models)
    source = project.unopened.pop(project.locale)
    project.models[project.locale] = json.loads(source.read_text(encoding="utf-8"))
    return project


BASES: dict[str, Callable[[Path], Project]] = {"minimal": minimal_project, "real": real_project}


@dataclass(frozen=True)
class Breakage:
    """One small edit that must make a check report a problem containing `expect`."""

    name: str
    expect: str
    edit: Callable[[Project], None]
    uses_timers: bool = False
    uses_apl: bool = False
    uses_launch_task: bool = False
    uses_can_fulfill: bool = False


def _set_invocation(name: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        p.language_model["invocationName"] = name

    return edit


def _drop_intent(name: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        p.language_model["intents"] = [i for i in p.language_model["intents"]
                                       if i["name"] != name]

    return edit


def _add_sample(sample: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        p.intents_with_samples()[0]["samples"].append(sample)

    return edit


def _add_slot(slot_type: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        p.intents_with_samples()[0].setdefault("slots", []).append(
            {"name": "addedSlot", "type": slot_type})

    return edit


def _set_example(phrase: str) -> Callable[[Project], None]:
    """Replace the last example phrase; {inv} stands for the model's invocation name."""

    def edit(p: Project) -> None:
        p.info["examplePhrases"][-1] = phrase.replace("{inv}", p.language_model["invocationName"])

    return edit


def _duplicate_across_intents(p: Project) -> None:
    first, second = p.intents_with_samples()[:2]
    # Same words, different case and spacing: Alexa treats them as one utterance.
    second["samples"].append("  " + first["samples"][0].upper().replace(" ", "   ") + " ")


def _duplicate_within_intent(p: Project) -> None:
    intent = p.intents_with_samples()[0]
    intent["samples"].append(intent["samples"][0].upper())


def _invocation_in_sample(p: Project) -> None:
    p.intents_with_samples()[0]["samples"].append(f"use {p.language_model['invocationName']}")


def _long_slot_value(p: Project) -> None:
    p.language_model.setdefault("types", []).append(
        {"name": "LONG_TYPE", "values": [{"name": {"value": "word " * MAX_SLOT_VALUE_CHARS}}]})


def _strip_from_description(text: str) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        p.info["description"] = p.info["description"].lower().replace(text, "")

    return edit


def _drop_permissions_and_interfaces(p: Project) -> None:
    p.manifest["manifest"].pop("permissions", None)
    p.manifest["manifest"]["apis"]["custom"].pop("interfaces", None)


def _publish_locale_without_model(p: Project) -> None:
    locales = p.manifest["manifest"]["publishingInformation"]["locales"]
    locales["en-ZZ"] = copy.deepcopy(p.info)


def _model_without_locale(p: Project) -> None:
    p.models["en-ZZ"] = copy.deepcopy(p.models[p.locale])


def _locale_without_templates(p: Project) -> None:
    locales = p.manifest["manifest"]["publishingInformation"]["locales"]
    locales["xx-XX"] = copy.deepcopy(p.info)
    p.models["xx-XX"] = copy.deepcopy(p.models[p.locale])


def _unknown_interface(p: Project) -> None:
    p.manifest["manifest"]["apis"]["custom"]["interfaces"] = [{"type": "NOT_AN_INTERFACE"}]


def _intents_not_a_list(p: Project) -> None:
    p.language_model["intents"] = "AMAZON.HelpIntent"


def _broken_json(p: Project) -> None:
    p.raw_files["skill.json"] = json.dumps(p.manifest)[:-1]


def _missing_privacy_flag(p: Project) -> None:
    p.manifest["manifest"]["privacyAndCompliance"].pop("isChildDirected")


def _too_many_examples(p: Project) -> None:
    p.info["examplePhrases"] = [p.info["examplePhrases"][0]] * 4


def _declared_tasks(p: Project) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = p.manifest["manifest"]["apis"]["custom"]["tasks"]
    return tasks


def _undeclare_tasks(p: Project) -> None:
    p.manifest["manifest"]["apis"]["custom"].pop("tasks")


def _drop_task_file(p: Project) -> None:
    p.tasks.clear()


def _rename_task(name: str, version: str) -> Callable[[Project], None]:
    """The manifest entry renamed (the file keeps its name)."""

    def edit(p: Project) -> None:
        _declared_tasks(p)[0].update(name=name, version=version)

    return edit


def _edit_task(change: Callable[[dict[str, Any]], None]) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        change(p.task)

    return edit


def _edit_task_operation(change: Callable[[dict[str, Any]], None]) -> Callable[[Project], None]:
    def edit(p: Project) -> None:
        change(p.task_operation)

    return edit


def _second_path(task: dict[str, Any]) -> None:
    task["paths"]["/Another"] = copy.deepcopy(next(iter(task["paths"].values())))


def _get_operation(task: dict[str, Any]) -> None:
    [item] = task["paths"].values()
    item["get"] = copy.deepcopy(item["post"])


def _text_body(post: dict[str, Any]) -> None:
    content = post["requestBody"]["content"]
    content["text/plain"] = content.pop("application/json")


def _external_schema(post: dict[str, Any]) -> None:
    post["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "https://example.com/schemas/input.json"}


def _dangling_ref(post: dict[str, Any]) -> None:
    post["requestBody"]["content"]["application/json"]["schema"] = {
        "$ref": "#/components/schemas/Nowhere"}


def _drop_interfaces(p: Project) -> None:
    p.manifest["manifest"]["apis"]["custom"].pop("interfaces", None)


BREAKAGES = [
    Breakage("one-word invocation", "two or more words", _set_invocation("coach")),
    Breakage("uppercase invocation", "lowercase", _set_invocation("Cramp Coach")),
    Breakage("digit in invocation", "characters Alexa does not allow",
             _set_invocation("cramp coach two 2")),
    Breakage("wake word in invocation", "wake word", _set_invocation("echo cramp coach")),
    Breakage("launch word in invocation", "launch word", _set_invocation("start cramp coach")),
    Breakage("article in two-word invocation", "article or preposition",
             _set_invocation("the cramp")),
    *(Breakage(f"no {name}", f"{name} is missing", _drop_intent(name))
      for name in REQUIRED_INTENTS),
    Breakage("sample in two intents", "is in both", _duplicate_across_intents),
    Breakage("sample twice in one intent", "twice", _duplicate_within_intent),
    Breakage("undefined slot in sample", "which the intent does not define",
             _add_sample("my {undefinedSlot} hurts")),
    Breakage("malformed slot reference", "malformed slot", _add_sample("my {bad slot} hurts")),
    Breakage("unbalanced brace", "unbalanced", _add_sample("my {muscle hurts")),
    Breakage("undefined custom slot type", "which the model does not define",
             _add_slot("NO_SUCH_TYPE")),
    Breakage("unknown built-in slot type", "not a known built-in", _add_slot("AMAZON.Muscle")),
    Breakage("numeral in sample", "write numbers as words", _add_sample("go to step 2")),
    Breakage("question mark in sample", "does not allow", _add_sample("what now?")),
    Breakage("comma in sample", "does not allow", _add_sample("yes, please")),
    Breakage("exclamation mark in sample", "does not allow", _add_sample("help me!")),
    Breakage("over-long sample", f"at most {MAX_SAMPLE_CHARS}",
             _add_sample("please " * (MAX_SAMPLE_CHARS // 7 + 1))),
    Breakage("empty sample", "empty sample", _add_sample("  ")),
    Breakage("invocation name in sample", "contains the invocation name", _invocation_in_sample),
    Breakage("over-long slot value", f"longer than {MAX_SLOT_VALUE_CHARS}", _long_slot_value),
    Breakage("example without wake word", "must start with 'Alexa,'",
             _set_example("open the skill please")),
    Breakage("example without launch word", "launch word",
             _set_example("Alexa, please help me")),
    Breakage("example with another invocation name", "launch word",
             _set_example("Alexa, open some other skill")),
    Breakage("example request not a sample", "is not a sample utterance",
             _set_example("Alexa, ask {inv} to juggle three flaming torches")),
    Breakage("example slot value not of its type", "is not a sample utterance",
             _set_example("Alexa, tell {inv} my elbow hurts")),
    Breakage("too many example phrases", "at most 3", _too_many_examples),
    Breakage("timers used but not declared", TIMERS_SCOPE,
             _drop_permissions_and_interfaces, uses_timers=True),
    Breakage("APL used but not declared", APL_INTERFACE,
             _drop_permissions_and_interfaces, uses_apl=True),
    Breakage("no medical-advice disclaimer", "disclaimer",
             _strip_from_description("not a substitute for professional medical advice")),
    Breakage("no emergency advice", "disclaimer", _strip_from_description("emergency")),
    Breakage("published locale without model", "has no interaction model",
             _publish_locale_without_model),
    Breakage("model file for unpublished locale", "is not in", _model_without_locale),
    Breakage("locale without templates", "has no templates", _locale_without_templates),
    Breakage("manifest the library rejects", "does not deserialize", _unknown_interface),
    Breakage("model the library rejects", "does not deserialize", _intents_not_a_list),
    Breakage("skill.json not JSON", "not valid JSON", _broken_json),
    Breakage("privacy flag missing", "privacyAndCompliance.isChildDirected",
             _missing_privacy_flag),
    Breakage("declared task without its file", "is missing", _drop_task_file),
    Breakage("task file nobody declares", "not declared", _undeclare_tasks),
    Breakage("task version not a whole number", "positive whole number",
             _rename_task("CountDown", "v1")),
    Breakage("task version zero", "positive whole number", _rename_task("CountDown", "0")),
    Breakage("task name with a dot", "letters and digits", _rename_task("Count.Down", "1")),
    Breakage("manifest names another version", "is missing", _rename_task("CountDown", "2")),
    Breakage("task file version differs", "info.version",
             _edit_task(lambda t: t["info"].update(version="2"))),
    Breakage("task not OpenAPI 3", "OpenAPI 3", _edit_task(lambda t: t.update(openapi="2.0"))),
    Breakage("task file with two paths", "exactly one path", _edit_task(_second_path)),
    Breakage("task path not the task's name", "exactly one path",
             _edit_task(lambda t: t.update(paths={"/Other": t["paths"].popitem()[1]}))),
    Breakage("task with a GET", "only a post operation", _edit_task(_get_operation)),
    Breakage("task body not JSON", "may only be application/json",
             _edit_task_operation(_text_body)),
    Breakage("task schema in another file", "must point inside the file",
             _edit_task_operation(_external_schema)),
    Breakage("task reference to nothing", "must point inside the file",
             _edit_task_operation(_dangling_ref)),
    Breakage("task access scope unknown", "x-amzn-alexa-access-scope",
             _edit_task(lambda t: t["info"].update({"x-amzn-alexa-access-scope": "everyone"}))),
    Breakage("timers launch an undeclared task", f"{TASK_NAME} version {TASK_VERSION}",
             _undeclare_tasks, uses_launch_task=True),
    Breakage("name-free answers but not declared", CAN_FULFILL_INTERFACE, _drop_interfaces,
             uses_can_fulfill=True),
]


@pytest.fixture(scope="module")
def unbroken(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], list[str]]:
    """A base's problems before any breakage: the same copy every time, so checked once."""
    found: dict[str, list[str]] = {}

    def problems(base: str) -> list[str]:
        if base not in found:
            found[base] = BASES[base](tmp_path_factory.mktemp(base)).problems()
        return found[base]

    return problems


@pytest.mark.parametrize("breakage", BREAKAGES, ids=lambda b: b.name)
@pytest.mark.parametrize("base", sorted(BASES))
def test_check_fails_on_broken_copy(base: str, breakage: Breakage, tmp_path: Path,
                                    unbroken: Callable[[str], list[str]]) -> None:
    """Each check reports a new problem on a copy of the skill broken in just that way."""
    project = BASES[base](tmp_path)
    flags = {"uses_timers": breakage.uses_timers, "uses_apl": breakage.uses_apl,
             "uses_launch_task": breakage.uses_launch_task,
             "uses_can_fulfill": breakage.uses_can_fulfill}
    before = unbroken(base)
    breakage.edit(project)
    after = project.problems(**flags)
    new = [problem for problem in after if problem not in before]
    assert any(breakage.expect in problem for problem in new), after


def test_minimal_skill_is_valid(tmp_path: Path) -> None:
    """The minimal fixture passes every check, so the breakages above are what fail."""
    assert minimal_project(tmp_path).problems() == []


def test_real_skill_files_pass() -> None:
    """skill.json, every interaction model and the templates pass, with features detected."""
    if not REAL_MODEL.exists():
        pytest.skip("interaction_models/en-US.json is not written yet")
    assert validate_project() == []


def test_the_real_task_and_name_free_are_declared(tmp_path: Path) -> None:
    """A copy of the real skill, whose timers launch its task and which answers name-free
    requests, passes: the task file and the CAN_FULFILL_INTENT_REQUEST interface are there."""
    project = real_project(tmp_path)
    assert f"{TASK_NAME}.{TASK_VERSION}.json" in project.tasks
    assert project.problems(uses_launch_task=True, uses_can_fulfill=True) == []


def test_declared_timers_and_apl_pass(tmp_path: Path) -> None:
    """Declaring the timers permission and the APL interface satisfies those checks."""
    project = minimal_project(tmp_path)
    body = project.manifest["manifest"]
    body["permissions"] = [{"name": TIMERS_SCOPE}]
    body["apis"]["custom"]["interfaces"] = [{"type": APL_INTERFACE}]
    assert project.problems(uses_timers=True, uses_apl=True) == []


@pytest.mark.parametrize("phrase", [
    "Alexa, open {inv}",
    "Alexa, start {inv}.",
    "Alexa, ask {inv} to go to step three",
    "Alexa, talk to {inv} and go to step ten",
    "Alexa, tell {inv}, my lower leg hurts",
])
def test_example_phrase_forms_alexa_accepts(phrase: str, tmp_path: Path) -> None:
    """Launch phrases, connecting words, slots and closing punctuation are accepted."""
    project = minimal_project(tmp_path)
    _set_example(phrase)(project)
    assert project.problems() == []


@pytest.mark.parametrize("name", ["cramp coach", "runner's cramp coach", "dr. stretch coach",
                                  "leg cramp coach"])
def test_valid_invocation_names(name: str) -> None:
    """Names that follow the rules pass (articles are fine in names of three or more words)."""
    assert check_invocation_name(name) == []


def test_feature_detection_follows_imports(tmp_path: Path) -> None:
    """Timers count as used only when code the Lambda entry point imports creates them."""
    (tmp_path / "lambda").mkdir()
    (tmp_path / "lambda" / "lambda_function.py").write_text("import skill.app\n")
    (tmp_path / "skill").mkdir()
    (tmp_path / "skill" / "__init__.py").write_text("")
    (tmp_path / "skill" / "app.py").write_text("X = 1\n")
    (tmp_path / "skill" / "timers.py").write_text(
        "from ask_sdk_model.services.timer_management import TimerRequest\n")
    assert not detect_features(tmp_path).uses_timers
    (tmp_path / "skill" / "app.py").write_text("from skill import timers\n")
    assert detect_features(tmp_path).uses_timers
    assert not detect_features(tmp_path).uses_apl
    assert not detect_features(tmp_path).uses_launch_task
    (tmp_path / "skill" / "timers.py").write_text(
        "from ask_sdk_model.services.timer_management import LaunchTaskOperation\n")
    assert detect_features(tmp_path).uses_launch_task
    assert not detect_features(tmp_path).uses_can_fulfill
    (tmp_path / "skill" / "app.py").write_text(
        "from skill import timers\nNAME_FREE = 'CanFulfillIntentRequest'\n")
    assert detect_features(tmp_path).uses_can_fulfill


def test_the_real_skill_uses_what_it_declares() -> None:
    """The skill's own code launches a task from its timers and answers name-free requests,
    so the checks of those declarations apply to the real skill.json."""
    features = detect_features(PROJECT_ROOT)
    assert features.uses_launch_task and features.uses_can_fulfill


@pytest.mark.parametrize(("slot_type", "said", "matches"), [
    ("AMAZON.NUMBER", "twenty five", True),
    ("AMAZON.NUMBER", "12", True),
    ("AMAZON.Ordinal", "fourth", True),
    ("AMAZON.DURATION", "twenty minutes", True),
    ("AMAZON.DURATION", "an hour and a half", True),
    ("AMAZON.NUMBER", "juggle three flaming torches", False),
    ("AMAZON.DURATION", "juggle three flaming torches", False),
])
def test_bare_built_in_slot_sample_matches_only_its_kind_of_words(
    slot_type: str, said: str, matches: bool, tmp_path: Path
) -> None:
    """A sample that is only a number or duration slot ("{minutes}") does not match any request."""
    project = minimal_project(tmp_path)
    project.language_model["intents"].append(
        {"name": "TimerIntent", "slots": [{"name": "amount", "type": slot_type}],
         "samples": ["{amount}"]})
    _set_example(f"Alexa, tell {{inv}} {said}")(project)
    problems = project.problems()
    assert (problems == []) if matches else any("is not a sample utterance" in p
                                                 for p in problems)
