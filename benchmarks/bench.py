"""Cramp Coach beside a bare ask-sdk-core hello world: cold start, warm turns, memory, zip size.

Run from the repository root: ``make bench`` (or ``.venv/bin/python benchmarks/bench.py``;
``--help`` for the knobs). It prints one table, hello world (benchmarks/hello_skill/) and
Cramp Coach side by side, with the targets of issue 8 marked PASS or MISS, and for every
target missed, a profile of where the time or memory goes.

How each figure is taken:

- Lambda zips: both are built the same way by tooling.build.packaging (manylinux wheels for Python
  3.11, boto3 left to the runtime, every module precompiled); a fresh dist/lambda.zip is used
  as it is. Cold starts and memory run from the unpacked zips, as Lambda runs them. Without
  network (pip cannot fetch wheels) they run from the checkout instead, bytecode cached in a
  scratch folder, and the zip sizes print as n/a.
- Cold start: the wall-clock time for a fresh interpreter to import what Lambda's Python
  runtime imports first (json, logging, traceback, ...), then the Lambda entry point, and to
  answer one LaunchRequest (a new user each time); the median of --runs runs per variant, the
  variants alternating so that drift on the machine hits all of them alike. Cramp Coach runs
  with its embedded store (SQLite, in a fresh folder) and with DynamoDB (dynalite from
  tests/standins, boto3 from the runtime).
- Warm turns: in this process, the time inside `lambda_handler` for --turns turns or more of
  whole routines (launch, the checklist, next, the pain question, both timers set and
  cancelled on the Timers API stand-in, to the end), each routine a new user; hello world
  answers the very same request envelopes. The first routine warms up and is not counted.
- Peak memory: a fresh process imports the entry point, answers one whole routine (the
  envelopes recorded from a routine here, replayed) and reports ru_maxrss; hello world replays
  the same envelopes.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib.util import module_from_spec, spec_from_file_location
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # skill and tests, when run as a script

from tests.full_run import walk  # noqa: E402
from tooling.standins.alexa import Alexa, Device  # noqa: E402
from tooling.standins.timers_api import TimersApiStandIn  # noqa: E402

HELLO_DIR = ROOT / "benchmarks" / "hello_skill"
CRAMP_ENTRY = ROOT / "lambda" / "lambda_function.py"
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]

# Issue 8's targets: Cramp Coach / hello world at most this (zip: an absolute size).
COLD_TARGET = 1.3
WARM_P99_TARGET = 2.0
RSS_TARGET = 1.3
ZIP_TARGET_BYTES = 6_000_000

CHECKLIST = "ChecklistIntent"

# A fresh interpreter: import the entry point, answer one request, report the split. First
# what AWS Lambda's Python runtime (awslambdaric's bootstrap.py) has imported before it loads
# any handler, so neither skill is charged for those.
CHILD_COLD = r"""
import importlib, json, logging, os, sys, time, traceback
started = time.perf_counter()
sys.path[:0] = sys.argv[1].split(":")
import lambda_function
assert lambda_function.__file__.startswith(sys.path[0]), lambda_function.__file__
imported = time.perf_counter()
response = lambda_function.lambda_handler(json.loads(sys.argv[2]), None)
answered = time.perf_counter()
assert response["response"]["outputSpeech"]["ssml"], response
print(json.dumps({"import_ms": (imported - started) * 1000,
                  "first_ms": (answered - imported) * 1000,
                  "modules": len(sys.modules)}))
"""

# A fresh interpreter: import the entry point, answer recorded envelopes, report peak RSS.
# ru_maxrss is kept across exec on Linux, so a process spawned by this (large) benchmark would
# report the benchmark's own peak; the kernel's per-program high-water mark (VmHWM in
# /proc/self/status) starts afresh at exec, and is what ru_maxrss reports for a process
# started from a small one (a shell, the Lambda runtime). Elsewhere, ru_maxrss it is.
CHILD_RSS = r"""
import importlib, json, logging, os, sys, time, traceback, resource
sys.path[:0] = sys.argv[1].split(":")
import lambda_function
with open(sys.argv[2]) as f:
    events = json.load(f)
for event in events:
    lambda_function.lambda_handler(event, None)
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:
    with open("/proc/self/status") as f:
        rss_kb = next(int(l.split()[1]) for l in f if l.startswith("VmHWM:"))
except OSError:
    pass
print(json.dumps({"rss_kb": rss_kb, "modules": sorted(sys.modules)}))
"""


# --- what runs where ------------------------------------------------------------------------


@dataclass
class Target:
    """Where a skill's Lambda code is: paths to put first on sys.path, and its zip."""

    name: str
    paths: list[Path]
    zip_bytes: int | None = None
    env: dict[str, str] = field(default_factory=dict)  # what its children need besides

    @property
    def path_arg(self) -> str:
        return ":".join(str(p) for p in self.paths)


def newest_source_mtime() -> float:
    files = [ROOT / "pyproject.toml", CRAMP_ENTRY, *(ROOT / "skill").rglob("*")]
    return max(p.stat().st_mtime for p in files if p.is_file() and "__pycache__" not in p.parts)


def build_zips(scratch: Path) -> tuple[Path, Path] | None:
    """(Cramp Coach zip, hello world zip), built alike; None when they cannot be built."""
    from tooling.build.packaging import PackagingError, build, build_lambda_zip

    dist_zip = ROOT / "dist" / "lambda.zip"
    try:
        if dist_zip.is_file() and dist_zip.stat().st_mtime > newest_source_mtime():
            cramp_zip = dist_zip  # `make package` output, newer than every source file
        else:
            cramp_zip = build(scratch / "dist", verbose=False).lambda_zip
        # Hello world goes through the same builder: a project of its own with one entry point.
        hello_root = scratch / "hello-project"
        (hello_root / "lambda").mkdir(parents=True)
        (hello_root / "skill").mkdir()
        (hello_root / "skill" / "__init__.py").write_text("")
        shutil.copy(HELLO_DIR / "lambda_function.py", hello_root / "lambda")
        (hello_root / "pyproject.toml").write_text(
            '[project]\nname = "hello-world-skill"\nversion = "0"\n'
            'dependencies = ["ask-sdk-core>=1.19,<2"]\n'
        )
        hello_zip = scratch / "hello.zip"
        build_lambda_zip(hello_root, hello_zip)
    except (PackagingError, OSError) as error:
        print(f"(zips not built, measuring from the checkout: {str(error).splitlines()[0]})")
        return None
    return cramp_zip, hello_zip


def unpack(zip_path: Path, into: Path) -> Path:
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(into)
    return into


def targets(scratch: Path, use_zips: bool) -> tuple[Target, Target]:
    """(hello world, Cramp Coach) as Lambda would load them."""
    zips = build_zips(scratch) if use_zips else None
    if zips is None:
        # The checkout: bytecode cached in scratch (this machine may forbid writing it here).
        env = {"PYTHONPYCACHEPREFIX": str(scratch / "pycache"), "PYTHONDONTWRITEBYTECODE": ""}
        return (Target("hello", [HELLO_DIR], env=env),
                Target("cramp", [ROOT / "lambda", ROOT], env=env))
    cramp_zip, hello_zip = zips
    return (Target("hello", [unpack(hello_zip, scratch / "hello-task")], hello_zip.stat().st_size),
            Target("cramp", [unpack(cramp_zip, scratch / "cramp-task")], cramp_zip.stat().st_size))


def child_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRAMP_COACH_", "AWS_"))}
    env.update(extra)
    return {k: v for k, v in env.items() if v != ""}


def launch_event(user_id: str, api_endpoint: str) -> dict[str, Any]:
    """A LaunchRequest as Alexa sends it, for a user nobody has seen."""
    app = {"applicationId": "amzn1.ask.skill.bench"}
    return {
        "version": "1.0",
        "session": {"new": True, "sessionId": f"amzn1.echo-api.session.{uuid.uuid4()}",
                    "application": app, "user": {"userId": user_id}},
        "context": {"System": {
            "application": app, "user": {"userId": user_id},
            "device": {"deviceId": "amzn1.ask.device.bench", "supportedInterfaces": {}},
            "apiEndpoint": api_endpoint, "apiAccessToken": "bench-token",
        }},
        "request": {"type": "LaunchRequest", "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
                    "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                    "locale": "en-US"},
    }


# --- DynamoDB (dynalite) --------------------------------------------------------------------


@contextmanager
def dynamodb() -> Iterator[dict[str, str]]:
    """dynalite with a Cramp Coach table; yields the environment a Lambda would have."""
    from tests.dynamodb_server import start_dynalite

    server = start_dynalite()
    table = f"cramp-coach-bench-{uuid.uuid4().hex[:8]}"
    env = {
        "CRAMP_COACH_DYNAMODB_TABLE": table,
        "AWS_ENDPOINT_URL_DYNAMODB": server.endpoint,
        "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_CONFIG_FILE": "/nonexistent/cramp-coach/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/cramp-coach/aws-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    # The table must exist before a Lambda can use it; create it from a child so this
    # process keeps no AWS settings (its own skill uses the embedded store).
    subprocess.run([sys.executable, "-c",
                    "import sys; sys.path.insert(0, sys.argv[1]); from skill.memory import "
                    "DynamoStore; DynamoStore(sys.argv[2], create_table=True)",
                    str(ROOT), table], env=child_env(env), check=True)
    try:
        yield env
    finally:
        server.stop()


# --- measurements ---------------------------------------------------------------------------


def cold_starts(variants: dict[str, tuple[Target, dict[str, str]]], runs: int,
                api_endpoint: str, scratch: Path) -> dict[str, list[dict[str, float]]]:
    """Each variant `runs` times, alternating; wall ms plus the child's own split."""
    results: dict[str, list[dict[str, float]]] = defaultdict(list)
    for run in range(runs + 1):  # run 0 warms the page cache (and any bytecode cache)
        for name, (target, extra) in variants.items():
            env = child_env({**target.env, **extra,
                             "CRAMP_COACH_DB": str(scratch / f"cold-{name}-{run}" / "m.sqlite3")})
            event = json.dumps(launch_event(f"amzn1.ask.account.bench-{uuid.uuid4()}",
                                            api_endpoint))
            started = time.perf_counter()
            done = subprocess.run([sys.executable, "-c", CHILD_COLD, target.path_arg, event],
                                  env=env, capture_output=True, text=True)
            wall_ms = (time.perf_counter() - started) * 1000
            if done.returncode != 0:
                raise SystemExit(f"cold start of {name} failed:\n{done.stderr[-3000:]}")
            if run:
                results[name].append({"wall_ms": wall_ms, **json.loads(done.stdout)})
    return results


def load_handler(module_name: str, path: Path) -> Handler:
    spec = spec_from_file_location(module_name, path)
    assert spec and spec.loader
    module = module_from_spec(spec)
    spec.loader.exec_module(module)
    handler: Handler = module.lambda_handler
    return handler


@dataclass
class Recorder:
    """Sends through a handler, timing only the handler, keeping every envelope sent."""

    handler: Handler
    times_ms: list[float] = field(default_factory=list)
    envelopes: list[dict[str, Any]] = field(default_factory=list)
    profiler: cProfile.Profile | None = None  # profiles the handler calls only, if given

    def __call__(self, envelope: dict[str, Any]) -> dict[str, Any]:
        if self.profiler:
            self.profiler.enable()
        started = time.perf_counter()
        raw = self.handler(envelope, None)
        self.times_ms.append((time.perf_counter() - started) * 1000)
        if self.profiler:
            self.profiler.disable()
        self.envelopes.append(envelope)
        return raw


def clear_timers(api: TimersApiStandIn) -> None:
    """The stand-in allows ten timers in all: remove every routine's leftovers."""
    request = urllib.request.Request(f"{api.url}/v1/alerts/timers", method="DELETE",
                                     headers={"Authorization": "Bearer bench"})
    urllib.request.urlopen(request, timeout=5).close()


def one_routine(send: Callable[[dict[str, Any]], dict[str, Any]], api: TimersApiStandIn) -> None:
    """A new user's whole routine, asking for the checklist on the way."""
    alexa = Alexa(send, device=Device(user_id=f"amzn1.ask.account.bench-{uuid.uuid4()}",
                                      api_endpoint=api.url, api_access_token="bench-token"))
    checklist_asked = False

    def with_checklist(step: int) -> None:
        nonlocal checklist_asked
        if step == 2 and not checklist_asked:  # once, mid-routine, in the same session
            checklist_asked = True
            alexa.intent(CHECKLIST)

    walk(alexa, before_turn=with_checklist)
    clear_timers(api)


def warm_turns(cramp: Handler, hello: Handler, api: TimersApiStandIn,
               turns: int) -> tuple[list[float], list[float], list[dict[str, Any]]]:
    """(Cramp Coach ms, hello world ms, the envelopes), over at least `turns` turns."""
    one_routine(Recorder(cramp), api)  # warm-up: templates compiled, store set up
    recorder = Recorder(cramp)
    while len(recorder.times_ms) < turns:
        one_routine(recorder, api)
    baseline = Recorder(hello)
    for envelope in recorder.envelopes[:200]:  # hello world's warm-up
        hello(envelope, None)
    for envelope in recorder.envelopes:
        baseline(envelope)
    return recorder.times_ms, baseline.times_ms, recorder.envelopes


def storeless_turns(api: TimersApiStandIn, turns: int) -> list[float]:
    """Cramp Coach with no store at all (state in the session only): what persisting costs."""
    from skill.app import build_skill, event_handler

    handler = event_handler(build_skill(store=None))
    one_routine(Recorder(handler), api)  # warm-up
    recorder = Recorder(handler)
    while len(recorder.times_ms) < turns:
        one_routine(recorder, api)
    return recorder.times_ms


def one_routine_envelopes(cramp: Handler, api: TimersApiStandIn) -> list[dict[str, Any]]:
    recorder = Recorder(cramp)
    one_routine(recorder, api)
    return recorder.envelopes


def peak_rss(target: Target, events_file: Path, scratch: Path,
             api: TimersApiStandIn) -> dict[str, Any]:
    clear_timers(api)
    env = child_env({**target.env, "CRAMP_COACH_DB": str(scratch / f"rss-{target.name}" /
                                                         "m.sqlite3")})
    done = subprocess.run([sys.executable, "-c", CHILD_RSS, target.path_arg, str(events_file)],
                          env=env, capture_output=True, text=True)
    clear_timers(api)
    if done.returncode != 0:
        raise SystemExit(f"memory run of {target.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def percentile(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


# --- profiles for missed targets ------------------------------------------------------------


def import_times(target: Target, extra: dict[str, str], scratch: Path,
                 api_endpoint: str) -> dict[str, float]:
    """Module -> cumulative import ms (python -X importtime) in a cold start."""
    env = child_env({**target.env, **extra, "CRAMP_COACH_DB": str(scratch / "imp" / "m.sqlite3")})
    event = json.dumps(launch_event(f"amzn1.ask.account.bench-{uuid.uuid4()}", api_endpoint))
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", CHILD_COLD,
                           target.path_arg, event], env=env, capture_output=True, text=True)
    times: dict[str, float] = {}
    for line in done.stderr.splitlines():
        if line.startswith("import time:") and "[us]" not in line:
            _self, cumulative, name = line[len("import time:"):].split("|")
            times[name.strip()] = max(times.get(name.strip(), 0.0), int(cumulative) / 1000)
    return times


def print_cold_profile(hello: Target, cramp: Target, scratch: Path, api_endpoint: str,
                       cold: dict[str, list[dict[str, float]]]) -> None:
    print("\ncold start, where the time goes (median ms inside the fresh interpreter):")
    for name in ("hello", "embedded"):
        rows = cold[name]
        print(f"  {name:9} import {statistics.median(r['import_ms'] for r in rows):6.1f}"
              f"   first answer {statistics.median(r['first_ms'] for r in rows):6.1f}"
              f"   modules {int(statistics.median(r['modules'] for r in rows))}")
    hello_imports = import_times(hello, {}, scratch, api_endpoint)
    cramp_imports = import_times(cramp, {}, scratch, api_endpoint)
    own = {m: t for m, t in cramp_imports.items() if m not in hello_imports}
    # Top of each import chain only: a module whose parent package is listed is inside it.
    tops = sorted(((t, m) for m, t in own.items()
                   if m.count(".") <= 1 and t >= 2.0), reverse=True)[:14]
    print("  imports hello world does not make (cumulative ms, python -X importtime):")
    for t, m in tops:
        print(f"    {t:6.1f}  {m}")


STORE = "store (skill/memory.py, sqlite3)"
TIMERS = "Timers API calls (skill/timers.py, http.client)"
SPEECH = "speech (skill/speech.py, jinja2)"
SDK_JSON = "SDK request/response (de)serialization"
# (substring of a profiled function's file or name, the part of the stack it belongs to)
PARTS = [
    ("/skill/memory", STORE), ("sqlite3", STORE),
    ("/skill/timers", TIMERS), ("/skill/http_client", TIMERS), ("http/client", TIMERS),
    ("socket", TIMERS), ("ssl", TIMERS), ("email/", TIMERS),
    ("/skill/speech", SPEECH), ("jinja2", SPEECH), ("markupsafe", SPEECH),
    ("/skill/routine", "routine (the state machine)"), ("/skill/screen", "screen (APL)"),
    ("/skill/conversation", "conversation glue"), ("/skill/handlers", "handlers"),
    ("ask_sdk_core/serialize", SDK_JSON), ("json", SDK_JSON), ("dateutil", SDK_JSON),
    ("ask_sdk_model", "SDK model objects"), ("ask_sdk", "SDK dispatch"),
]


def categorise(where: str) -> str:
    """Which part of the stack a profiled function belongs to."""
    return next((part for marker, part in PARTS if marker in where), "other (stdlib, builtins)")


def print_warm_profile(cramp: Handler, api: TimersApiStandIn, turns: int) -> None:
    profiler = cProfile.Profile()
    recorder = Recorder(cramp, profiler=profiler)
    while len(recorder.times_ms) < turns:
        one_routine(recorder, api)
    stats = pstats.Stats(profiler)
    raw: dict[Any, Any] = stats.stats  # type: ignore[attr-defined]
    by_part: dict[str, float] = defaultdict(float)
    functions: list[tuple[float, str]] = []
    for (filename, line, name), (_cc, _nc, tottime, _ct, _callers) in raw.items():
        by_part[categorise(f"{filename}:{name}")] += tottime
        short = filename.split("/site-packages/")[-1].split("/task/")[-1].replace(str(ROOT), ".")
        functions.append((tottime, f"{name} ({short}:{line})"))
    n = len(recorder.times_ms)
    by_kind: dict[str, list[float]] = defaultdict(list)
    for envelope, ms in zip(recorder.envelopes, recorder.times_ms, strict=True):
        request = envelope["request"]
        by_kind[(request.get("intent") or {}).get("name") or request["type"]].append(ms)
    print(f"\nwarm turns by request (ms under the profiler, {n} turns: count, median, max):")
    for kind, times in sorted(by_kind.items(), key=lambda kv: -statistics.median(kv[1])):
        print(f"  {kind:28} {len(times):5}  {statistics.median(times):7.2f}  {max(times):7.2f}")
    print(f"\nwarm turns, where the time goes (cProfile inside lambda_handler over {n} turns; "
          "own time, ms per turn):")
    for part, seconds in sorted(by_part.items(), key=lambda kv: -kv[1]):
        print(f"  {seconds / n * 1000:7.3f}  {part}")
    print("  the costliest functions:")
    for seconds, where in sorted(functions, reverse=True)[:10]:
        print(f"  {seconds / n * 1000:7.3f}  {where}")


def print_rss_profile(hello: dict[str, Any], cramp: dict[str, Any]) -> None:
    extra = sorted(set(cramp["modules"]) - set(hello["modules"]))
    packages: dict[str, int] = defaultdict(int)
    for module in extra:
        packages[module.split(".")[0]] += 1
    print(f"\npeak memory, what is loaded besides hello world's: {len(extra)} more modules "
          f"({len(cramp['modules'])} against {len(hello['modules'])}); by package:")
    print("  " + ", ".join(f"{p} {n}" for p, n in sorted(packages.items(), key=lambda kv: -kv[1])
                           [:16]))


# --- the table ------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="cold starts per variant")
    parser.add_argument("--turns", type=int, default=10_000, help="warm turns, at least")
    parser.add_argument("--no-zip", action="store_true",
                        help="measure from the checkout, do not build the zips")
    parser.add_argument("--no-profile", action="store_true", help="no profiles for misses")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cramp-bench-") as scratch_name, \
            TimersApiStandIn() as api:
        scratch = Path(scratch_name)
        os.environ["CRAMP_COACH_DB"] = str(scratch / "warm" / "memory.sqlite3")
        os.environ.pop("CRAMP_COACH_DYNAMODB_TABLE", None)
        print("building the Lambda zips ...", flush=True)
        hello, cramp = targets(scratch, use_zips=not args.no_zip)

        print(f"cold starts: {args.runs} runs each, alternating ...", flush=True)
        with dynamodb() as dynamo_env:
            cold = cold_starts({"hello": (hello, {}), "embedded": (cramp, {}),
                                "dynamodb": (cramp, dynamo_env)}, args.runs, api.url, scratch)

        print(f"warm turns: {args.turns}+ ...", flush=True)
        cramp_handler = load_handler("cramp_lambda_function", CRAMP_ENTRY)
        hello_handler = load_handler("hello_lambda_function", HELLO_DIR / "lambda_function.py")
        cramp_ms, hello_ms, _ = warm_turns(cramp_handler, hello_handler, api, args.turns)
        bare_ms = storeless_turns(api, max(1000, args.turns // 5))

        print("peak memory after a full routine ...", flush=True)
        events_file = scratch / "routine.json"
        events_file.write_text(json.dumps(one_routine_envelopes(cramp_handler, api)))
        hello_rss = peak_rss(hello, events_file, scratch, api)
        cramp_rss = peak_rss(cramp, events_file, scratch, api)

        cold_ms = {k: statistics.median(r["wall_ms"] for r in v) for k, v in cold.items()}
        cold_ratio = cold_ms["embedded"] / cold_ms["hello"]
        p50 = (percentile(hello_ms, 50), percentile(cramp_ms, 50))
        p99 = (percentile(hello_ms, 99), percentile(cramp_ms, 99))
        rss_mb = (hello_rss["rss_kb"] / 1024, cramp_rss["rss_kb"] / 1024)
        rss_ratio = rss_mb[1] / rss_mb[0]
        misses = {"cold": cold_ratio > COLD_TARGET, "warm": p99[1] / p99[0] > WARM_P99_TARGET,
                  "rss": rss_ratio > RSS_TARGET}

        rows: list[tuple[str, str, str, str, str, str]] = [
            (f"cold start, embedded store (ms, median of {args.runs})", f"{cold_ms['hello']:.0f}",
             f"{cold_ms['embedded']:.0f}", f"{cold_ratio:.2f}x", f"<= {COLD_TARGET}x",
             verdict(not misses["cold"])),
            ("cold start, DynamoDB store (ms, median)", f"{cold_ms['hello']:.0f}",
             f"{cold_ms['dynamodb']:.0f}", f"{cold_ms['dynamodb'] / cold_ms['hello']:.2f}x",
             "-", ""),
            (f"warm turn p50 (ms, {len(cramp_ms)} turns)", f"{p50[0]:.2f}", f"{p50[1]:.2f}",
             f"{p50[1] / p50[0]:.1f}x", "-", ""),
            (f"warm turn p99 (ms, {len(cramp_ms)} turns)", f"{p99[0]:.2f}", f"{p99[1]:.2f}",
             f"{p99[1] / p99[0]:.1f}x", f"<= {WARM_P99_TARGET}x", verdict(not misses["warm"])),
            (f"  warm p50 / p99 with no store (ms, {len(bare_ms)} turns)", "",
             f"{percentile(bare_ms, 50):.2f} / {percentile(bare_ms, 99):.2f}",
             f"{percentile(bare_ms, 99) / p99[0]:.1f}x", "-", ""),
            ("peak RSS after a full routine (MB)", f"{rss_mb[0]:.1f}", f"{rss_mb[1]:.1f}",
             f"{rss_ratio:.2f}x", f"<= {RSS_TARGET}x", verdict(not misses["rss"])),
        ]
        if hello.zip_bytes and cramp.zip_bytes:
            zip_ratio = cramp.zip_bytes / hello.zip_bytes
            rows.append(("Lambda zip (MB)", f"{hello.zip_bytes / 1e6:.2f}",
                         f"{cramp.zip_bytes / 1e6:.2f}", f"{zip_ratio:.2f}x",
                         f"< {ZIP_TARGET_BYTES / 1e6:.0f} MB",
                         verdict(cramp.zip_bytes < ZIP_TARGET_BYTES)))
        else:
            rows.append(("Lambda zip (MB)", "n/a", "n/a", "", f"< {ZIP_TARGET_BYTES / 1e6:.0f} MB",
                         "n/a"))
        where = "unpacked Lambda zips" if hello.zip_bytes else "the checkout"
        print(f"\nCramp Coach beside a bare ask-sdk-core hello world (Python "
              f"{sys.version.split()[0]}, {os.cpu_count()} CPUs; cold starts and memory from "
              f"{where})\n")
        header = ("", "hello world", "Cramp Coach", "ratio", "target", "")
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(6)]
        for row in [header, *rows]:
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(row, widths, strict=True))).rstrip())

        if args.no_profile:
            return
        if misses["cold"]:
            print_cold_profile(hello, cramp, scratch, api.url, cold)
        if misses["warm"]:
            print_warm_profile(cramp_handler, api, 2000)
        if misses["rss"]:
            print_rss_profile(hello_rss, cramp_rss)


if __name__ == "__main__":
    main()
