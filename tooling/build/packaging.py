"""`cramp-coach package`: the ASK CLI skill package and the AWS Lambda zip, from a checkout.

dist/skill-package/ has the layout `ask deploy` reads (skill.json,
interactionModels/custom/<locale>.json and tasks/<Task>.<Version>.json). dist/lambda.zip is for the
Lambda Python 3.11 runtime: lambda_function.py at the root, the `skill` package with its templates
and content, and the runtime dependencies as manylinux x86_64 wheels for CPython 3.11, minus what
Lambda already provides (boto3 and its own dependencies). Every module ships with a .pyc compiled
by Python 3.11 in unchecked-hash mode: /var/task is read-only, so Lambda cannot cache bytecode
itself, and an unchecked-hash .pyc is used without reading the source's mtime or hashing it. The
zip is deterministic (sorted entries, fixed timestamps and permissions) for the same resolved
versions."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from skill.speech import COMPILED, compile_templates
from tooling.build.locales import COMMAND, OVERRIDES_FILE, LocaleError, stale_files
from tooling.build.publishing import (
    LAMBDA_ENTRY,
    MANIFEST_FILE,
    PACKAGE_DIR,
    PROJECT_ROOT,
    TASKS_DIR,
    model_files,
    task_files,
    validate_project,
)

LAMBDA_EXTRAS = ("aws",)  # the pyproject extras the Lambda needs besides the core dependencies
# The Lambda Python runtime ships these; bundling them only adds megabytes.
PROVIDED_BY_LAMBDA = frozenset({"boto3", "botocore", "s3transfer", "jmespath"})
PIP_PLATFORM_ARGS = (
    "--platform", "manylinux2014_x86_64", "--only-binary=:all:",
    "--python-version", "3.11", "--implementation", "cp",
)
RUNTIME_PYTHON = (3, 11)
TASK_ROOT = "/var/task"  # where Lambda unpacks the zip; recorded in the .pyc for tracebacks
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can carry
JUNK_DIRS = frozenset({"__pycache__", "tests", "test"})


class PackagingError(RuntimeError):
    """The skill cannot be packaged; the message says why (one problem per line)."""


@dataclass(frozen=True)
class BuildReport:
    """What `build` wrote."""

    skill_package: Path
    lambda_zip: Path
    files: tuple[tuple[Path, int], ...]  # every file written, with its size in bytes
    zip_entries: int
    pyc_files: int
    unpacked_bytes: int
    requirements: tuple[str, ...]

    @property
    def zip_bytes(self) -> int:
        """Size of lambda.zip in bytes."""
        return self.lambda_zip.stat().st_size

    def lines(self) -> list[str]:
        """The human-readable summary `build` prints."""
        out = [f"{path} ({_size(size)})" for path, size in self.files if path != self.lambda_zip]
        out.append(
            f"{self.lambda_zip} ({_size(self.zip_bytes)}; {self.zip_entries} files, "
            f"{self.pyc_files} .pyc, {_size(self.unpacked_bytes)} unpacked)"
        )
        out.append("  dependencies: " + ", ".join(self.requirements))
        return out


def _size(n: int) -> str:
    return f"{n / 1_000_000:.2f} MB" if n >= 1_000_000 else f"{n / 1000:.1f} kB"


def _normalize_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lambda_requirements(root: Path, extras: tuple[str, ...] = LAMBDA_EXTRAS) -> list[str]:
    """The requirement strings from pyproject.toml that the Lambda needs (core plus extras)."""
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    optional = project.get("optional-dependencies", {})
    own_name = _normalize_name(project["name"])
    wanted, seen_extras = list(project.get("dependencies", [])), set()
    pending = list(extras)
    while pending:
        extra = pending.pop()
        if extra in seen_extras:
            continue
        seen_extras.add(extra)
        for requirement in optional.get(extra, []):
            # An extra that names the project itself ("cramp-coach[web,aws]") pulls in extras.
            match = re.match(r"\s*([A-Za-z0-9._-]+)\s*(?:\[([^\]]*)\])?", requirement)
            if match and _normalize_name(match.group(1)) == own_name:
                pending += [e.strip() for e in (match.group(2) or "").split(",") if e.strip()]
            else:
                wanted.append(requirement)
    return wanted


def runtime_python() -> str:
    """An interpreter whose bytecode the Lambda runtime can load (the .pyc magic number)."""
    if sys.version_info[:2] == RUNTIME_PYTHON:
        return sys.executable
    found = shutil.which("python{}.{}".format(*RUNTIME_PYTHON))
    if found is None:
        raise PackagingError("need Python {}.{} to compile bytecode for the Lambda runtime"
                             .format(*RUNTIME_PYTHON))
    return found


def _run(command: list[str], what: str, env: dict[str, str] | None = None) -> None:
    result = subprocess.run(command, capture_output=True, text=True, check=False,
                            env=None if env is None else {**os.environ, **env})
    if result.returncode != 0:
        raise PackagingError(f"{what} failed ({result.returncode}):\n"
                             f"{result.stdout}{result.stderr}".rstrip())


def _strip_provided(target: Path) -> None:
    """Delete the packages Lambda provides, by their installed file lists (RECORD)."""
    for dist_info in sorted(target.glob("*.dist-info")):
        # "<name>-<version>.dist-info", where pip has already turned "-" in the name into "_".
        name = _normalize_name(dist_info.name.split("-", 1)[0])
        if name not in PROVIDED_BY_LAMBDA:
            continue
        record = dist_info / "RECORD"
        for line in record.read_text(encoding="utf-8").splitlines() if record.exists() else []:
            path = (target / line.split(",", 1)[0]).resolve()
            if path.is_relative_to(target.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(dist_info)
    # What the RECORDs leave behind: emptied package directories.
    for directory in sorted(target.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _remove_junk(target: Path) -> None:
    """Drop test suites, bytecode from the build machine and console scripts."""
    for directory in sorted(target.rglob("*"), reverse=True):
        if directory.is_dir() and directory.name in JUNK_DIRS:
            shutil.rmtree(directory)
    bin_dir = target / "bin"  # pip --target puts console scripts here; Lambda never runs them
    if bin_dir.is_dir():
        shutil.rmtree(bin_dir)


def _copy_skill(root: Path, target: Path) -> None:
    """The `skill` package, templates and content data included, without local bytecode."""
    shutil.copytree(root / PACKAGE_DIR, target / PACKAGE_DIR,
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(root / LAMBDA_ENTRY, target / LAMBDA_ENTRY.name)


def _write_zip(source: Path, zip_path: Path) -> tuple[int, int, int]:
    """Zip `source` deterministically; returns (entries, .pyc entries, unpacked bytes)."""
    files = sorted((p for p in source.rglob("*") if p.is_file()),
                   key=lambda p: p.relative_to(source).as_posix())
    unpacked = 0
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w") as archive:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source).as_posix(), date_time=ZIP_TIMESTAMP)
            info.create_system = 3  # Unix, so the permission bits below are honoured
            info.external_attr = 0o100644 << 16
            data = path.read_bytes()
            unpacked += len(data)
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return len(files), sum(1 for p in files if p.suffix == ".pyc"), unpacked


def build_skill_package(root: Path, dist: Path) -> list[Path]:
    """dist/skill-package/ in the ASK CLI layout; returns the files written."""
    package = dist / "skill-package"
    if package.exists():
        shutil.rmtree(package)  # a locale removed from the project must not linger
    models = package / "interactionModels" / "custom"
    models.mkdir(parents=True)
    written = [package / "skill.json"]
    shutil.copyfile(root / MANIFEST_FILE, written[0])
    for locale, path in model_files(root).items():
        written.append(models / f"{locale}.json")
        shutil.copyfile(path, written[-1])
    for name, path in task_files(root).items():  # the custom tasks a timer's end launches
        written.append(package / TASKS_DIR / name)
        written[-1].parent.mkdir(exist_ok=True)
        shutil.copyfile(path, written[-1])
    return written


def _bytecode_only(compiled: Path) -> None:
    """The compiled templates as bytecode alone: each module's .pyc moved beside it, where
    Python's import finds a module with no source, and its generated .py dropped. Nobody reads
    those sources (the templates themselves ship), and each language's cost half as much."""
    for source in compiled.rglob("*.py"):
        cached = source.parent / "__pycache__"
        pyc = next(cached.glob(f"{source.stem}.*.pyc"))
        pyc.replace(source.with_suffix(".pyc"))
        source.unlink()
    for cached in compiled.rglob("__pycache__"):
        cached.rmdir()


def build_lambda_zip(root: Path, zip_path: Path) -> tuple[int, int, int, list[str]]:
    """dist/lambda.zip; returns (entries, .pyc entries, unpacked bytes, requirements)."""
    requirements = lambda_requirements(root)
    python = runtime_python()
    with tempfile.TemporaryDirectory(prefix="cramp-coach-lambda-") as staging_name:
        staging = Path(staging_name)
        _run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--no-compile", "--target", str(staging), *PIP_PLATFORM_ARGS, *requirements],
             "pip install")
        _strip_provided(staging)
        _remove_junk(staging)
        _copy_skill(root, staging)
        compile_templates(staging / PACKAGE_DIR / COMPILED.name)
        _run([python, "-m", "compileall", "-q", "-j", "0", "-d", TASK_ROOT,
              "--invalidation-mode", "unchecked-hash", str(staging)], "compileall",
             # A fixed hash seed fixes the order of set constants, so the bytecode repeats.
             env={"PYTHONHASHSEED": "0"})
        _bytecode_only(staging / PACKAGE_DIR / COMPILED.name)
        if zip_path.exists():
            zip_path.unlink()
        entries, pycs, unpacked = _write_zip(staging, zip_path)
    return entries, pycs, unpacked, requirements


def build(dist_dir: str | Path = "dist", *, root: Path | None = None,
          verbose: bool = True) -> BuildReport:
    """Validate the skill, then build dist/skill-package/ and dist/lambda.zip.

    A relative `dist_dir` is taken from the project root. Raises PackagingError, building
    nothing, when skill.json or an interaction model fails validation, or a generated locale
    file is out of date with en-US (skill/locales.py).
    """
    root = PROJECT_ROOT if root is None else Path(root)
    dist = Path(dist_dir) if Path(dist_dir).is_absolute() else root / dist_dir
    problems = validate_project(root)
    if (root / OVERRIDES_FILE).is_file():
        # Deploying an en-GB that has drifted from en-US is what generating it prevents.
        try:
            problems += [f"{name} is out of date; run: {COMMAND}" for name in stale_files(root)]
        except LocaleError as error:
            problems.append(str(error))
    if not (root / LAMBDA_ENTRY).is_file():
        problems.append(f"{LAMBDA_ENTRY}: the Lambda entry point is missing")
    if problems:
        raise PackagingError("refusing to package an invalid skill:\n" + "\n".join(problems))

    written = build_skill_package(root, dist)
    zip_path = dist / "lambda.zip"
    entries, pycs, unpacked, requirements = build_lambda_zip(root, zip_path)
    written.append(zip_path)
    report = BuildReport(
        skill_package=dist / "skill-package",
        lambda_zip=zip_path,
        files=tuple((path, path.stat().st_size) for path in written),
        zip_entries=entries,
        pyc_files=pycs,
        unpacked_bytes=unpacked,
        requirements=tuple(requirements),
    )
    if verbose:
        print("built:")
        for line in report.lines():
            print("  " + line)
    return report
