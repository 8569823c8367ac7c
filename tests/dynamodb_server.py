"""A real DynamoDB-compatible server for the tests: dynalite from npm, on 127.0.0.1.

Use it from a test module with ``pytest_plugins = ["tests.dynamodb_server"]``; the fixtures are:

- ``dynalite``: one server for the whole test session (in memory, ready in about 0.2 s).
- ``dynamodb_env``: points skill.memory's DynamoDB client (and boto3, which tests use to look
  at tables) at that server through the standard environment variables
  (AWS_ENDPOINT_URL_DYNAMODB, AWS_REGION, dummy credentials) for one test, and returns it.
- ``private_dynalite``: a function that starts another server for one test (one it may stop
  mid-way); all are stopped when the test ends.
- ``point_boto3``: a function that points both at any endpoint for one test.

Test modules should take these as fixtures rather than import this module, so that pytest
can still rewrite its asserts (importing it first triggers PytestAssertRewriteWarning).
The server comes from tests/standins (``make test`` runs ``npm ci --prefix tests/standins``).
"""

from __future__ import annotations

import http.client
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from skill import memory

STANDINS = Path(__file__).resolve().parent / "standins"
DYNALITE_CLI = STANDINS / "node_modules" / "dynalite" / "cli.js"

# Tables stay CREATING this long after CreateTable (dynalite's default is 500 ms), so a store
# that forgets to wait for ACTIVE fails its first call; short enough to keep the tests fast.
CREATE_TABLE_MS = 200
START_TIMEOUT_S = 10.0


class DynaliteServer:
    """A running dynalite process listening on 127.0.0.1:port."""

    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Stop the server and wait until its port is closed."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(port: int) -> bool:
    """True once the server answers a DynamoDB request (an unsigned one: any reply will do)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
    try:
        conn.request(
            "POST",
            "/",
            body=b"{}",
            headers={
                "X-Amz-Target": "DynamoDB_20120810.ListTables",
                "Content-Type": "application/x-amz-json-1.0",
            },
        )
        return conn.getresponse().status > 0
    except OSError:
        return False
    finally:
        conn.close()


def start_dynalite() -> DynaliteServer:
    """Start dynalite on a free loopback port and return once it answers requests."""
    if not DYNALITE_CLI.is_file():
        pytest.fail(
            f"dynalite is not installed ({DYNALITE_CLI} is missing): run `make test`, "
            "which installs the test stand-ins with `npm ci --prefix tests/standins`.",
            pytrace=False,
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not on PATH; the DynamoDB tests need Node.js for dynalite.")
    # dynalite cannot listen on port 0 (it treats 0 as "use 4567"), so pick a free port and
    # try again with another if someone else grabbed it first.
    for _ in range(3):
        port = free_port()
        process = subprocess.Popen(
            [
                node,
                str(DYNALITE_CLI),
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--createTableMs",
                str(CREATE_TABLE_MS),
                "--deleteTableMs",
                "0",
                "--updateTableMs",
                "0",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and process.poll() is None:
            if _answers(port):
                return DynaliteServer(process, port)
            time.sleep(0.05)
        if process.poll() is None:
            process.kill()
        _, stderr = process.communicate(timeout=5)
        if b"EADDRINUSE" not in stderr:
            pytest.fail(f"dynalite did not start: {stderr.decode(errors='replace')[-2000:]}")
    pytest.fail("dynalite did not start: no free port after 3 tries")


@pytest.fixture(scope="session")
def dynalite() -> Iterator[DynaliteServer]:
    """One dynalite server for the test session, stopped at the end."""
    server = start_dynalite()
    try:
        yield server
    finally:
        server.stop()


def point_boto3_at(monkeypatch: pytest.MonkeyPatch, endpoint: str) -> None:
    """Set the standard AWS variables so the store and boto3 talk to endpoint with dummy
    credentials."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", endpoint)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "cramp-coach-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cramp-coach-test")
    # Nothing from the machine's own AWS set-up may leak in (profiles, other endpoints).
    for name in ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE", "AWS_ENDPOINT_URL",
                 "AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT",
                 "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/cramp-coach/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/cramp-coach/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    # dynalite makes a new table ACTIVE after CREATE_TABLE_MS, not DynamoDB's seconds: polling
    # at the store's 0.5 s would make each test that creates a table wait most of a second.
    monkeypatch.setattr(memory, "TABLE_WAIT_DELAY_S", CREATE_TABLE_MS / 1000 / 4)


@pytest.fixture
def dynamodb_env(dynalite: DynaliteServer, monkeypatch: pytest.MonkeyPatch) -> DynaliteServer:
    """Point boto3 at the session's dynalite for one test."""
    point_boto3_at(monkeypatch, dynalite.endpoint)
    return dynalite


@pytest.fixture
def point_boto3(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """A function that points boto3 at an endpoint until the test ends."""
    return lambda endpoint: point_boto3_at(monkeypatch, endpoint)


@pytest.fixture
def private_dynalite() -> Iterator[Callable[[], DynaliteServer]]:
    """A function that starts a dynalite of the test's own; each is stopped after the test."""
    servers: list[DynaliteServer] = []

    def start() -> DynaliteServer:
        servers.append(start_dynalite())
        return servers[-1]

    try:
        yield start
    finally:
        for server in servers:
            server.stop()
