"""Throughput and latency of the verified web service beside a bare flask-ask-sdk hello world.

Run from the repository root: ``.venv/bin/python benchmarks/web_bench.py``

Both apps are served by gunicorn (2 sync workers) on 127.0.0.1 and driven, one after the other,
with the same pre-signed LaunchRequests (a test CA's signature, fresh timestamps) by a few
concurrent clients, each request on a new connection as gunicorn's sync workers close them.
The requests are launches by returning users (see USERS).
Cramp Coach verifies every request (signature, cached chain, timestamp, skill id) before its
routine answers; the hello world verifies nothing (see hello_web.py). The chain is served by a
loopback server through CRAMP_COACH_CERT_FETCH_BASE, a test-only setting. A warm-up, not
measured, lets each worker fetch and cache the chain. Any failed request stops the run with a
non-zero exit.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # for tests.alexa_pki when run as a script

from tests.alexa_pki import (  # noqa: E402
    CERT_URL,
    SKILL_ID,
    ChainServer,
    TestCA,
    encode,
    launch_request,
    signed_headers,
)

GUNICORN = Path(sys.executable).with_name("gunicorn")

Request = tuple[bytes, dict[str, str]]


class BenchmarkFailed(SystemExit):
    """A request failed or a server did not start: the figures would be meaningless."""


@dataclass
class Result:
    name: str
    requests: int
    seconds: float
    latencies_ms: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        return statistics.quantiles(self.latencies_ms, n=100, method="inclusive")[int(p) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def gunicorn(
    name: str, target: str, env: dict[str, str], workers: int, workdir: Path, extra: list[str]
) -> Iterator[str]:
    """Run gunicorn for ``target`` on a loopback port; yield its base URL; stop it after.

    Its log and control socket (gunicorn >= 23 opens one, by default under ~/.gunicorn) stay
    in ``workdir``.
    """
    port = free_port()
    log_path = workdir / f"{name}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                *("-w", str(workers), "-b", f"127.0.0.1:{port}"),
                *("--control-socket", str(workdir / f"{name}.ctl")),
                *extra,
                target,
            ],
            cwd=ROOT,
            env=os.environ | env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_until_listening(port, process, log_path)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()  # SIGTERM: gunicorn's graceful stop
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_listening(port: int, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkFailed(f"gunicorn exited early:\n{log_path.read_text()[-3000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise BenchmarkFailed(f"gunicorn did not listen within 20 s:\n{log_path.read_text()[-3000:]}")


def send(base: str, request: Request) -> float:
    """POST one request on a new connection; return its latency in ms or raise on any failure."""
    parts = urlsplit(base)
    body, headers = request
    started = time.perf_counter()
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", "/", body=body, headers=headers)
        response = conn.getresponse()
        payload = response.read()
    finally:
        conn.close()
    elapsed = (time.perf_counter() - started) * 1000
    if response.status != 200:
        raise BenchmarkFailed(f"{base}: HTTP {response.status}: {payload[:300]!r}")
    answer = json.loads(payload)
    if answer.get("version") != "1.0" or not isinstance(answer.get("response"), dict):
        raise BenchmarkFailed(f"{base}: not an Alexa response: {payload[:300]!r}")
    return elapsed


def drive(name: str, base: str, requests: list[Request], clients: int) -> Result:
    """Send every request once with ``clients`` concurrent senders; stop at the first failure."""
    latencies: list[float] = []
    lock = threading.Lock()
    next_index = iter(range(len(requests)))
    failed = threading.Event()

    def client() -> None:
        while not failed.is_set():
            with lock:
                i = next(next_index, None)
            if i is None:
                return
            try:
                latency = send(base, requests[i])
            except BaseException:
                failed.set()  # the other clients stop too
                raise
            with lock:
                latencies.append(latency)

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()  # re-raises the first failure
    seconds = time.perf_counter() - started
    if len(latencies) != len(requests):
        raise BenchmarkFailed(f"{name}: {len(latencies)} of {len(requests)} requests answered")
    return Result(name, len(requests), seconds, latencies)


def check_forgery_refused(base: str, request: Request) -> None:
    """Prove the server under load was verifying: a tampered copy of a request must get 400."""
    body, headers = request
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(
            "POST", "/", body=body.replace(b"LaunchRequest", b"LaunchRequesT"), headers=headers
        )
        status = conn.getresponse().status
    finally:
        conn.close()
    if status != 400:
        raise BenchmarkFailed(f"{base}: a tampered request got HTTP {status}, not 400")


# The users the LaunchRequests come from, in turn: more than there are concurrent clients, so
# that no two requests in flight are the same user's (one person does not launch the skill
# from four devices at once; the same user from every client measured conflicting saves and
# their replays). The warm-up launches each once, so the measured launches are returning
# users', the common case; --new-users makes every request a first launch instead.
USERS = [f"amzn1.ask.account.BENCH{i:04d}" for i in range(64)]


def signed_requests(ca: TestCA, count: int, new_users: bool = False) -> list[Request]:
    """Return ``count`` distinct LaunchRequests for Cramp Coach's skill id, signed by the CA."""
    requests = []
    for i in range(count):
        envelope = launch_request(application_id=SKILL_ID)
        user_id = f"amzn1.ask.account.NEW{uuid.uuid4().hex.upper()}" if new_users else USERS[
            i % len(USERS)]
        envelope["session"]["user"] = envelope["context"]["System"]["user"] = {"userId": user_id}
        body = encode(envelope)
        requests.append((body, signed_headers(body, ca.leaf.key, CERT_URL)))
    return requests


# Where a request's time goes: (label, file the function is in, function name); each figure
# is that function's cumulative time per request (all its calls).
STAGES = [
    ("the whole WSGI request (Flask, werkzeug)", "flask/app.py", "wsgi_app"),
    ("  skill/web.py's view", "skill/web.py", "alexa"),
    ("    verification (signature, chain cache, timestamp)", "skill/request_verification.py",
     "verify"),
    ("    SDK deserialization (every call)", "ask_sdk_core/serialize.py", "deserialize"),
    ("      of which dateutil parsing timestamps", "dateutil/parser/_parser.py", "parse"),
    ("    SkillAdapter.dispatch_request (hello world)", "flask_ask_sdk/skill_adapter.py",
     "dispatch_request"),
    ("    EnvelopeSkillAdapter.dispatch_envelope", "skill/web.py", "dispatch_envelope"),
    ("      skill.invoke", "ask_sdk_core/skill.py", "invoke"),
    ("        store read", "skill/memory.py", "get_attributes"),
    ("        store write", "skill/memory.py", "save_attributes"),
    ("        routine (advance)", "skill/routine/flow.py", "advance"),
    ("        response and speech (present)", "skill/response.py", "present"),
    ("      SDK serialization", "ask_sdk_core/serialize.py", "serialize"),
    ("      jsonify", "flask/json/__init__.py", "jsonify"),
]


def profile(count: int) -> None:
    """Per request, in this process through Flask's test client: where each app's CPU goes.

    The same signed requests go to both apps, under cProfile timing CPU. gunicorn's share (the
    socket, HTTP parsing) is the same for both and is not in here.
    """
    import cProfile
    import pstats

    from skill.web import create_app

    ca = TestCA.create("Benchmark")
    chains = ChainServer(files={urlsplit(CERT_URL).path: ca.chain_pem()})
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["CRAMP_COACH_DB"] = str(Path(tmp) / "memory.sqlite3")
        sys.path.insert(0, str(ROOT / "benchmarks"))
        import hello_web

        apps = {"cramp-coach": create_app(verify=True, skill_id=SKILL_ID,
                                          trusted_roots_pem=ca.root_pem(),
                                          cert_fetch_base=chains.base),
                "hello-world": hello_web.app}
        figures: dict[str, dict[str, float]] = {}
        totals: dict[str, tuple[float, float]] = {}
        for name, app in apps.items():
            client = app.test_client()
            for body, headers in signed_requests(ca, len(USERS)):  # warm-up: users seen once
                assert client.post("/", data=body, headers=headers).status_code == 200
            requests = signed_requests(ca, count)
            started = time.process_time()
            for body, headers in requests:
                client.post("/", data=body, headers=headers)
            plain_ms = (time.process_time() - started) * 1000 / count
            profiler = cProfile.Profile(time.process_time)
            profiler.enable()
            for body, headers in signed_requests(ca, count):
                client.post("/", data=body, headers=headers)
            profiler.disable()
            raw: dict[Any, Any] = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
            total_ms = sum(own for (_cc, _nc, own, _cum, _callers) in raw.values()) * 1000 / count
            totals[name] = (plain_ms, total_ms)
            figures[name] = {}
            for label, where, function in STAGES:
                found = [(cum, calls) for (filename, _line, fn), (_cc, calls, _own, cum, _c)
                         in raw.items() if filename.endswith(where) and fn == function]
                if found:
                    # Nested calls of the same function are inside the outermost one.
                    figures[name][label] = max(cum for cum, _ in found) * 1000 / count
                    if function == "deserialize":
                        figures[name][label + f" x{sum(c for _, c in found) / count:.0f}"] = 0.0
    chains.close()
    print(f"\nweb: where a request's CPU goes, in process ({count} signed LaunchRequests through "
          "Flask's test client; cumulative ms per request under cProfile):")
    print(f"  {'':62}{'cramp-coach':>12}{'hello-world':>12}")
    print(f"  {'CPU per request without the profiler':62}"
          + "".join(f"{totals[n][0]:12.3f}" for n in apps))
    print(f"  {'CPU per request under the profiler':62}"
          + "".join(f"{totals[n][1]:12.3f}" for n in apps))
    for label, _where, _function in STAGES:
        row = [figures[n].get(label) for n in apps]
        times = [next((k for k in figures[n] if k.startswith(label + " x")), "") for n in apps]
        calls = " ".join(t.rsplit(" ", 1)[-1] for t in times if t)
        print(f"  {label + (' (' + calls + ')' if calls else ''):62}"
              + "".join(f"{v:12.3f}" if v is not None else f"{'-':>12}" for v in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--new-users", action="store_true",
                        help="every request a new user's first launch (default: returning users)")
    parser.add_argument("--profile", action="store_true",
                        help="instead: where each app's CPU goes per request, in process")
    args = parser.parse_args()
    if args.profile:
        profile(min(args.requests, 1000))
        return

    ca = TestCA.create("Benchmark")
    chains = ChainServer(files={urlsplit(CERT_URL).path: ca.chain_pem()})
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        stack.callback(chains.close)
        root_file = Path(tmp) / "root.pem"
        root_file.write_bytes(ca.root_pem())
        cramp_env = {
            # The embedded store in the scratch folder, never the user's own memory file.
            "CRAMP_COACH_DB": str(Path(tmp) / "memory.sqlite3"),
            "CRAMP_COACH_TRUSTED_CA": str(root_file),
            "CRAMP_COACH_CERT_FETCH_BASE": chains.base,  # test only: loopback chain server
            "CRAMP_COACH_SKILL_ID": SKILL_ID,
            "CRAMP_COACH_VERIFY": "on",
        }
        bench_dir = ["--pythonpath", str(ROOT / "benchmarks")]
        bases = {
            name: stack.enter_context(gunicorn(name, target, env, args.workers, Path(tmp), extra))
            for name, target, env, extra in [
                ("cramp-coach", "skill.web:create_app()", cramp_env, []),
                ("hello-world", "hello_web:app", {}, bench_dir),
            ]
        }
        for name, base in bases.items():
            drive(name, base, signed_requests(ca, max(args.warmup, len(USERS))), args.clients)
        # Rounds alternate which app goes first, so a neighbour's load on this small machine
        # falls on both alike.
        measured: dict[str, list[Result]] = {name: [] for name in bases}
        per_round = args.requests // args.rounds
        for round_number in range(args.rounds):
            # Signed just before each round so every timestamp is inside the 150 s window.
            requests = signed_requests(ca, per_round, args.new_users)
            order = list(bases) if round_number % 2 == 0 else list(reversed(bases))
            for name in order:
                measured[name].append(drive(name, bases[name], requests, args.clients))
        check_forgery_refused(bases["cramp-coach"], requests[0])
    results = [
        Result(
            name,
            sum(r.requests for r in rounds),
            sum(r.seconds for r in rounds),
            [ms for r in rounds for ms in r.latencies_ms],
        )
        for name, rounds in measured.items()
    ]

    print(
        f"{per_round * args.rounds} signed LaunchRequests per app in {args.rounds} alternating "
        f"rounds, {args.clients} concurrent clients, "
        f"gunicorn {args.workers} sync workers, 127.0.0.1, {os.cpu_count()} CPUs"
    )
    print(f"certificate chain fetches (one per gunicorn worker): {sum(chains.hits.values())}")
    print(f"{'app':<14}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}")
    for r in results:
        print(f"{r.name:<14}{r.rate:>10.0f}{r.percentile(50):>10.2f}{r.percentile(99):>10.2f}")
    if args.json:
        args.json.write_text(
            json.dumps(
                [
                    {
                        "app": r.name,
                        "requests": r.requests,
                        "requests_per_s": round(r.rate, 1),
                        "p50_ms": round(r.percentile(50), 2),
                        "p99_ms": round(r.percentile(99), 2),
                    }
                    for r in results
                ],
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
