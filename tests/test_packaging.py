"""`cramp-coach package`: the skill package layout and a Lambda zip that runs on its own.

The zip test installs wheels with pip, so it is slow (about ten seconds with a warm pip cache);
deselect it with `-k "not slow"` (its class name carries the word).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from skill.packaging import PROVIDED_BY_LAMBDA, ZIP_TIMESTAMP, PackagingError, build
from skill.publishing import LAMBDA_ENTRY, PROJECT_ROOT, model_files

SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000000"
MAX_ZIP_BYTES = 6_000_000

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


def launch_request() -> dict[str, Any]:
    """A LaunchRequest envelope as Alexa sends it to Lambda, for this test's skill id."""
    application = {"applicationId": SKILL_ID}
    user = {"userId": "amzn1.ask.account.TESTUSER"}
    return {
        "version": "1.0",
        "session": {"new": True, "sessionId": "amzn1.echo-api.session.1",
                    "application": application, "attributes": {}, "user": user},
        "context": {"System": {
            "application": application, "user": user,
            "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
            "apiEndpoint": "https://api.amazonalexa.com", "apiAccessToken": "token",
        }},
        "request": {"type": "LaunchRequest", "requestId": "amzn1.echo-api.request.1",
                    "timestamp": "2025-01-01T00:00:00Z", "locale": "en-US"},
    }


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


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The real project packaged once into a temporary dist/ (pip and PyPI: the slow part)."""
    missing = [p for p in ("skill.json", "interaction_models/en-US.json", str(LAMBDA_ENTRY))
               if not (PROJECT_ROOT / p).exists()]
    if missing:
        pytest.skip(f"not written yet: {', '.join(missing)}")
    tmp = tmp_path_factory.mktemp("package")
    report = build(tmp / "dist", verbose=False)
    return {"tmp": tmp, "report": report, "dist": tmp / "dist"}


class TestSlowLambdaZip:
    """Checks on the built package; the class name lets `-k "not slow"` skip the pip build."""

    def test_skill_package_has_the_ask_cli_layout(self, built: dict[str, Any]) -> None:
        """skill-package/ holds skill.json and interactionModels/custom/<locale>.json."""
        package = built["dist"] / "skill-package"
        assert json.loads((package / "skill.json").read_text())["manifest"]
        for locale, source in model_files(PROJECT_ROOT).items():
            copied = package / "interactionModels" / "custom" / f"{locale}.json"
            assert copied.read_bytes() == source.read_bytes()

    def test_zip_contents(self, built: dict[str, Any]) -> None:
        """The zip is small, deterministic, has compiled 3.11 bytecode and no boto3."""
        zip_path = built["report"].lambda_zip
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
        tmp = built["tmp"]
        task = tmp / "task"
        with zipfile.ZipFile(built["report"].lambda_zip) as archive:
            archive.extractall(task)
        runtime = lambda_runtime_packages(tmp / "runtime")
        env = {"PATH": os.environ.get("PATH", ""), "HOME": str(tmp),
               "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1",
               "CRAMP_COACH_SKILL_ID": SKILL_ID}
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-c", RUN_HANDLER, str(task), str(runtime),
             json.dumps(launch_request())],
            capture_output=True, text=True, env=env, cwd=tmp, timeout=60, check=False)
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
