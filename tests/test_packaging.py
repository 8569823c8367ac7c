"""`cramp-coach package`: the skill package layout and a Lambda zip that runs on its own.

The zip tests install wheels with pip, so they are slow (about ten seconds with a warm pip
cache) and marked `slow`; they run by default, and `-m "not slow"` deselects them.
"""

from __future__ import annotations

import fcntl
import importlib.util
import inspect
import json
import os
import re
import subprocess
import sys
import uuid
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from skill.routine import load_routine
from skill.speech import COMPILED, to_text
from tests.conftest import OUTCOMES
from tooling.build.locales import COMMAND, OVERRIDES_FILE, ROUTINE_FILE
from tooling.build.packaging import (
    PROVIDED_BY_LAMBDA,
    ZIP_TIMESTAMP,
    PackagingError,
    build,
    build_skill_package,
)
from tooling.build.publishing import (
    LAMBDA_ENTRY,
    MANIFEST_FILE,
    PACKAGE_DIR,
    PROJECT_ROOT,
    model_files,
)

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
# The zip's budget: 6 MB with English, and each other language's templates on top (source and
# compiled, about 330 KB compressed: de measured 307 KB compiled + 25 KB source). Shipping the
# compiled templates as bytecode only would halve that (a known improvement, not done yet).
LANGUAGE_ZIP_BYTES = 340_000
MAX_ZIP_BYTES = 6_000_000 + LANGUAGE_ZIP_BYTES * (
    len({p.name.split("-")[0] for p in (PROJECT_ROOT / "skill" / "templates").iterdir()
         if p.is_dir()}) - 1)

# Runs in a fresh `python -I -S`: only the unpacked zip on sys.path, then Lambda's boto3.
RUN_HANDLER = """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[2])
import lambda_function
response = lambda_function.lambda_handler(json.loads(sys.argv[3]), None)
modules = sorted({getattr(m, "__file__", None) or "" for m in list(sys.modules.values())})
print(json.dumps({"response": response, "module_files": modules}))
"""

MAX_TURNS = 40  # the routine's eight steps and their questions take about a dozen turns
# Our own modules the Lambda zip may hold: the entry point and what an Alexa request runs.
# Nothing of tooling/ (the console, the stand-ins, the build tools), tests/ or benchmarks/.
# A new module under skill/ goes here once it is something a request runs; else: tooling/.
SHIPPED_MODULES = frozenset({
    "lambda_function",
    "skill", "skill.app", "skill.conversation", "skill.http_client", "skill.memory",
    "skill.permissions", "skill.request_verification", "skill.response", "skill.screen",
    "skill.settings", "skill.speech", "skill.tasks", "skill.timers", "skill.web",
    "skill.handlers", "skill.handlers.answers", "skill.handlers.base", "skill.handlers.fallback",
    "skill.handlers.info", "skill.handlers.name_free", "skill.handlers.navigation",
    "skill.handlers.safety", "skill.handlers.session", "skill.handlers.situations",
    "skill.handlers.timers", "skill.handlers.touch",
    "skill.routine", "skill.routine.events", "skill.routine.flow", "skill.routine.outcome",
    "skill.routine.questions", "skill.routine.state", "skill.routine.steps",
    "skill.routine.timing", "skill.routine.turn",
})
# The templates compiled to Python by the build (jinja2's modules: data, not our code).
COMPILED_TEMPLATES = f"{PACKAGE_DIR}/{COMPILED.name}"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def drive_routine(handler: Handler, envelope: dict[str, Any], max_turns: int) -> list[Any]:
    """Launch, then "no" at the pain question and "next" at every other turn, to the end.

    Self-contained (standard library only), so its source also runs in the fresh interpreter.
    """
    import copy

    envelope = copy.deepcopy(envelope)
    responses = []
    for turn in range(max_turns):
        response = handler(envelope, None)
        responses.append(response)
        if response["response"].get("shouldEndSession") is not False:
            break
        attributes = response.get("sessionAttributes") or {}
        pending = (attributes.get("routine") or {}).get("pending")
        intent = "AMAZON.NoIntent" if pending == "pain_gate" else "AMAZON.NextIntent"
        envelope["session"].update(new=False, attributes=attributes)
        envelope["request"] = {
            "type": "IntentRequest", "requestId": f"amzn1.echo-api.request.turn-{turn + 2}",
            "timestamp": envelope["request"]["timestamp"], "locale": envelope["request"]["locale"],
            "dialogState": "COMPLETED",
            "intent": {"name": intent, "confirmationStatus": "NONE", "slots": {}},
        }
    return responses


# The same driver in a fresh `python -I -S`, against the unpacked zip only.
RUN_ROUTINE = "from __future__ import annotations\n" + inspect.getsource(drive_routine) + """
import json, sys
sys.path.insert(0, sys.argv[1])
sys.path.append(sys.argv[2])
import lambda_function
print(json.dumps(drive_routine(lambda_function.lambda_handler, json.loads(sys.argv[3]),
                               int(sys.argv[4]))))
"""


def launch_request(user_id: str = "amzn1.ask.account.TESTUSER") -> dict[str, Any]:
    """A LaunchRequest envelope as Alexa sends it to Lambda, for this test's skill id."""
    application = {"applicationId": SKILL_ID}
    user = {"userId": user_id}
    return {
        "version": "1.0",
        "session": {"new": True, "sessionId": "amzn1.echo-api.session.1",
                    "application": application, "attributes": {}, "user": user},
        "context": {"System": {
            "application": application, "user": user,
            "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
            # Loopback, port 9 (discard): no test may reach Amazon's APIs.
            "apiEndpoint": "https://127.0.0.1:9", "apiAccessToken": "token",
        }},
        "request": {"type": "LaunchRequest", "requestId": "amzn1.echo-api.request.1",
                    "timestamp": "2025-01-01T00:00:00Z", "locale": "en-US"},
    }


def module_name(path: str) -> str:
    """"skill/routine/flow.py" -> "skill.routine.flow"; a package is its __init__."""
    return path.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def first_party_modules(archive: zipfile.ZipFile) -> frozenset[str]:
    """The zip's Python modules that no installed distribution (its RECORD) accounts for."""
    names = archive.namelist()
    installed = {line.split(",", 1)[0] for name in names if name.endswith(".dist-info/RECORD")
                 for line in archive.read(name).decode("utf-8").splitlines()}
    return frozenset(module_name(n) for n in names if n.endswith(".py") and n not in installed
                     and not n.startswith(f"{COMPILED_TEMPLATES}/"))


def test_the_allow_list_is_the_skill_package() -> None:
    """Every module under skill/ is on the zip's allow-list, and the list names no other
    (so a module added to skill/ is a decision: it runs on a request, or it is tooling)."""
    checkout = {module_name(p.relative_to(PROJECT_ROOT).as_posix())
                for p in (PROJECT_ROOT / PACKAGE_DIR).rglob("*.py")
                if not p.is_relative_to(PROJECT_ROOT / COMPILED_TEMPLATES)}
    assert checkout | {"lambda_function"} == SHIPPED_MODULES, (
        f"under skill/, not allowed: {sorted(checkout - SHIPPED_MODULES)}; allowed, not under "
        f"skill/: {sorted(SHIPPED_MODULES - checkout - {'lambda_function'})}")


def lambda_runtime_packages(into: Path) -> Path:
    """A directory holding only what Lambda provides (boto3 and friends), linked from the venv."""
    into.mkdir()
    for name in sorted(PROVIDED_BY_LAMBDA):
        spec = importlib.util.find_spec(name)
        assert spec is not None and spec.submodule_search_locations, name
        (into / name).symlink_to(list(spec.submodule_search_locations)[0])
    return into


def test_build_refuses_an_invalid_skill(tmp_path: Path) -> None:
    """An invalid skill.json stops the build before anything is written."""
    (tmp_path / "skill.json").write_text('{"manifest": {}}', encoding="utf-8")
    with pytest.raises(PackagingError, match="refusing to package"):
        build(tmp_path / "dist", root=tmp_path, verbose=False)
    assert not (tmp_path / "dist").exists()


def test_build_refuses_a_stale_locale(tmp_path: Path) -> None:
    """A locale model that en-US has moved on from stops the build, naming the command."""
    models = [path.relative_to(PROJECT_ROOT) for path in model_files(PROJECT_ROOT).values()]
    relatives: list[Path | str] = [MANIFEST_FILE, OVERRIDES_FILE, ROUTINE_FILE, *models]
    for relative in relatives:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_bytes((PROJECT_ROOT / relative).read_bytes())
    source = tmp_path / "interaction_models" / "en-US.json"
    model = json.loads(source.read_text(encoding="utf-8"))
    model["interactionModel"]["languageModel"]["intents"][0]["samples"].append("a new sample")
    source.write_text(json.dumps(model), encoding="utf-8")
    expected = re.escape(f"en-GB.json is out of date; run: {COMMAND}")
    with pytest.raises(PackagingError, match=expected):
        build(tmp_path / "dist", root=tmp_path, verbose=False)
    assert not (tmp_path / "dist").exists()


def test_ask_resources_points_at_the_built_skill_package(tmp_path: Path) -> None:
    """`ask deploy` (ask-resources.json) uploads the folder `make package` writes, and only it."""
    resources = json.loads((PROJECT_ROOT / "ask-resources.json").read_text(encoding="utf-8"))
    profile = resources["profiles"]["default"]
    default_dist = PROJECT_ROOT / inspect.signature(build).parameters["dist_dir"].default
    written = build_skill_package(PROJECT_ROOT, tmp_path)
    package = (PROJECT_ROOT / profile["skillMetadata"]["src"]).resolve()
    assert package == (default_dist / written[0].parent.relative_to(tmp_path)).resolve()
    # No code or infrastructure: SAM deploys the AWS side (lambda/template.yaml).
    assert set(profile) == {"skillMetadata"}


def test_the_skill_package_carries_the_task_definitions(tmp_path: Path) -> None:
    """dist/skill-package/tasks/ holds each task file as it is, beside skill.json, which
    declares them (the timers' ResumeRecovery task)."""
    written = build_skill_package(PROJECT_ROOT, tmp_path)
    package = tmp_path / "skill-package"
    declared = json.loads((package / "skill.json").read_text(encoding="utf-8"))[
        "manifest"]["apis"]["custom"]["tasks"]
    sources = sorted((PROJECT_ROOT / "tasks").glob("*.json"))
    assert {f"{t['name']}.{t['version']}.json" for t in declared} == {p.name for p in sources}
    for source in sources:
        copied = package / "tasks" / source.name
        assert copied in written and copied.read_bytes() == source.read_bytes()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real project packaged once into a temporary dist/ (pip and PyPI: the slow part).

    Once a run, not once a pytest-xdist worker: the tests only read dist/, so the first worker
    to get here builds it in the run's temporary directory (the one above each worker's own)
    while the others wait, and they all read that. "tmp" is the worker's own, for unpacking."""
    missing = [p for p in ("skill.json", "interaction_models/en-US.json", str(LAMBDA_ENTRY))
               if not (PROJECT_ROOT / p).exists()]
    if missing:
        pytest.skip(f"not written yet: {', '.join(missing)}")
    run = tmp_path_factory.getbasetemp()
    if "PYTEST_XDIST_WORKER" in os.environ:
        run = run.parent
    shared, dist = run / "shared-package", run / "shared-package" / "dist"
    with (run / "shared-package.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held until the file closes: one builder at a time
        if not (shared / "built").exists():  # a failed build leaves no mark: the next tries
            build(dist, verbose=False)
            (shared / "built").touch()
    return {"tmp": tmp_path_factory.mktemp("package"), "dist": dist, "zip": dist / "lambda.zip"}


def unpacked(built: dict[str, Any]) -> tuple[Path, Path, dict[str, str]]:
    """The zip unpacked as Lambda's /var/task, Lambda's own packages, and a bare environment."""
    tmp = built["tmp"]
    task, runtime = tmp / "task", tmp / "runtime"
    if not task.exists():
        with zipfile.ZipFile(built["zip"]) as archive:
            archive.extractall(task)
        lambda_runtime_packages(runtime)
    env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp),
           "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
           "CRAMP_COACH_SKILL_ID": SKILL_ID}
    return task, runtime, env


@pytest.mark.slow
class TestSlowLambdaZip:
    """Checks on the built package (marked slow: `-m "not slow"` skips the pip build)."""

    def test_skill_package_has_the_ask_cli_layout(self, built: dict[str, Any]) -> None:
        """skill-package/ holds skill.json and interactionModels/custom/<locale>.json."""
        package = built["dist"] / "skill-package"
        assert json.loads((package / "skill.json").read_text())["manifest"]
        assert sorted(p.name for p in (package / "tasks").iterdir()) == sorted(
            p.name for p in (PROJECT_ROOT / "tasks").glob("*.json"))
        for locale, source in model_files(PROJECT_ROOT).items():
            copied = package / "interactionModels" / "custom" / f"{locale}.json"
            assert copied.read_bytes() == source.read_bytes()

    def test_zip_contents(self, built: dict[str, Any]) -> None:
        """The zip is small, deterministic, has compiled 3.11 bytecode and no boto3, and of our
        own code only the allow-listed modules of skill/ and the entry point."""
        zip_path = built["zip"]
        assert zip_path.stat().st_size < MAX_ZIP_BYTES
        with zipfile.ZipFile(zip_path) as archive:
            infos = archive.infolist()
            names = [info.filename for info in infos]
            assert names == sorted(names)
            assert {info.date_time for info in infos} == {ZIP_TIMESTAMP}
            tops = {name.split("/")[0].split("-")[0].lower() for name in names}
            assert not tops & PROVIDED_BY_LAMBDA
            assert "lambda_function.py" in names
            assert any(n.startswith("skill/templates/") for n in names)
            assert any(n.startswith("skill/content/") for n in names)
            assert not [n for n in names if "/tests/" in n or n.startswith("bin/")]
            # Only what Alexa's requests run: no console, stand-in or build tool ships.
            modules = first_party_modules(archive)
            assert modules == SHIPPED_MODULES, (
                f"the zip's own modules: {sorted(modules)}; "
                f"not allowed: {sorted(modules - SHIPPED_MODULES)}; "
                f"missing: {sorted(SHIPPED_MODULES - modules)}")
            assert any(n.startswith(f"{COMPILED_TEMPLATES}/") for n in names)
            pycs = {n for n in names if n.endswith(".pyc")}
            assert pycs
            # Every module has its bytecode, for this Python, in unchecked-hash mode (flags 0b01).
            tag = sys.implementation.cache_tag
            for name in names:
                if name.endswith(".py"):
                    folder, _, stem = name.rpartition("/")
                    pyc = f"{folder}/__pycache__/{stem[:-3]}.{tag}.pyc".lstrip("/")
                    assert pyc in pycs, name
            for name in sorted(pycs):
                header = archive.read(name)[:8]
                assert header[:4] == importlib.util.MAGIC_NUMBER, name
                assert int.from_bytes(header[4:8], "little") == 0b01, name

    def test_unpacked_zip_answers_a_launch_request(self, built: dict[str, Any]) -> None:
        """Unzipped alone in a fresh interpreter, the handler answers LaunchRequest."""
        task, runtime, env = unpacked(built)
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUN_HANDLER, str(task), str(runtime),
             json.dumps(launch_request())],
            capture_output=True, text=True, env=env, cwd=built["tmp"], timeout=60, check=False)
        assert result.returncode == 0, result.stderr
        out = json.loads(result.stdout)

        # Nothing came from the build machine's site-packages or the checkout.
        allowed = (str(task), str(runtime), sys.base_prefix)
        assert [f for f in out["module_files"] if f and not f.startswith(allowed)] == []

        response = out["response"]
        assert response["version"] == "1.0"
        assert len(json.dumps(response).encode()) <= 24_000
        speech = response["response"]["outputSpeech"]
        assert speech["type"] == "SSML"
        assert speech["ssml"].startswith("<speak>") and speech["ssml"].endswith("</speak>")
        assert speech["ssml"][len("<speak>"):-len("</speak>")].strip()
        assert len(speech["ssml"]) <= 8000
        if response["response"].get("shouldEndSession") is False:
            assert response["response"]["reprompt"]["outputSpeech"]["ssml"]

    def test_unpacked_zip_runs_a_full_routine(self, built: dict[str, Any],
                                              lambda_handler: Handler) -> None:
        """Unzipped alone, it walks launch to wrap-up exactly as the checkout's handler does."""
        task, runtime, env = unpacked(built)
        # New users each (memory would turn a second launch into "welcome back").
        envelope = launch_request(f"amzn1.ask.account.zip-{uuid.uuid4()}")
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUN_ROUTINE, str(task), str(runtime),
             json.dumps(envelope), str(MAX_TURNS)],
            capture_output=True, text=True, env=env, cwd=built["tmp"], timeout=120, check=False)
        assert result.returncode == 0, result.stderr
        from_zip = [to_text(r["response"]["outputSpeech"]["ssml"])
                    for r in json.loads(result.stdout)]

        envelope = launch_request(f"amzn1.ask.account.checkout-{uuid.uuid4()}")
        from_checkout = [to_text(r["response"]["outputSpeech"]["ssml"])
                         for r in drive_routine(lambda_handler, envelope, MAX_TURNS)]
        assert from_zip == from_checkout

        # What the checkout's routine chose on those turns (drive_routine's request ids).
        ids = [envelope["request"]["requestId"], *(
            f"amzn1.echo-api.request.turn-{n}" for n in range(2, len(from_checkout) + 1))]
        chosen = [OUTCOMES.pop(request_id) for request_id in ids]
        routine = load_routine()
        assert len(from_zip) < MAX_TURNS, "the routine never finished"
        assert chosen[-1] is not None and chosen[-1].keys[-1] == "finish/wrap_up"
        steps = [key for outcome in chosen if outcome for key in outcome.keys
                 if key.startswith("step/") and key != "step/header"]
        assert steps == [f"step/{step.id}" for step in routine.steps]
