"""The web service end to end: signed requests over real HTTP to the real Flask app.

A test certificate authority (tests/alexa_pki.py) signs the requests; its chains are served by a
loopback HTTP server, and the app fetches them there through its test-only fetch base while the
URL rules are checked on the Amazon URL each request names. Error bodies are fixed per status,
so what exactly a refusal was for is asserted on the app's log line, where it is written.
"""

from __future__ import annotations

import ast
import http.client
import json
import logging
import re
import socket
import ssl
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from skill import request_verification
from skill.app import UNREADABLE_REQUEST, NotAnEnvelope, build_skill, event_handler
from skill.request_verification import (
    MAX_JSON_DEPTH,
    CertificateChainVerifier,
    RequestRefused,
    fetch_chain,
    system_trust_roots,
    validate_cert_chain_url,
)
from skill.settings import Settings, SettingsError
from skill.web import ERROR_REASONS, MAX_BODY_BYTES, create_app
from tests.alexa_pki import (
    ALEXA_SAN,
    CERT_URL,
    SKILL_ID,
    ChainServer,
    Issued,
    TestCA,
    encode,
    issue,
    launch_request,
    new_key,
    serve_wsgi,
    signed_headers,
)
from tooling.console import cli

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
AMAZON_CHAIN = SHARED / "testdata" / "echo-api-cert-7.pem"


def cert_url(name: str) -> str:
    """Return the Amazon-style URL of a chain file served by the loopback chain server."""
    return f"https://s3.amazonaws.com/echo.api/{name}"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]
    raw: bytes = b""


def send(
    base: str,
    method: str,
    path: str = "/",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Reply:
    """Send one request over a real HTTP connection; return the status and JSON body (if any)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw.strip() else {}
        except ValueError:
            parsed = {}
        return Reply(response.status, parsed if isinstance(parsed, dict) else {}, raw)
    finally:
        conn.close()


def post(base: str, body: Any, headers: dict[str, str], path: str = "/") -> Reply:
    """POST over a real HTTP connection and return the status and JSON body."""
    return send(base, "POST", path, body, headers)


def get(base: str, path: str) -> Reply:
    """GET over a real HTTP connection and return the status and JSON body (if any)."""
    return send(base, "GET", path)


def raw_status(base: str, data: bytes, *, close_write: bool = False) -> int:
    """Write raw bytes to the server and return the status of its answer (0 if none).

    A request line the server cannot read gets an HTTP/0.9-style answer from http.server, a
    bare HTML page without a status line; its status is then the page's "Error code".
    """
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname or "", parts.port or 80), timeout=10) as sock:
        sock.sendall(data)
        if close_write:
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while not (answer.startswith(b"HTTP/") and b"\r\n" in answer):
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    line = answer.split(b"\r\n", 1)[0].split()
    if answer.startswith(b"HTTP/") and len(line) > 1 and line[1].isdigit():
        return int(line[1])
    page = re.search(rb"Error code: (\d+)", answer)
    return int(page.group(1)) if page else 0


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class PKI:
    """The test CA plus the forged certificates served beside its real chain."""

    ca: TestCA
    self_signed: Issued
    expired: Issued
    wrong_san: Issued
    foreign: TestCA
    other_key: Any


@pytest.fixture(scope="module")
def pki() -> PKI:
    ca = TestCA.create()
    now = datetime.now(UTC)
    return PKI(
        ca=ca,
        self_signed=issue(ALEXA_SAN),  # no issuer: signs itself
        expired=issue(
            ALEXA_SAN,
            issuer=ca.intermediate,
            not_before=now - timedelta(days=60),
            not_after=now - timedelta(days=1),
        ),
        wrong_san=issue("skills.example.com", issuer=ca.intermediate, san=("skills.example.com",)),
        foreign=TestCA.create("Untrusted"),
        other_key=new_key(),
    )


@pytest.fixture(scope="module")
def chains(pki: PKI) -> Iterator[ChainServer]:
    server = ChainServer(
        files={
            urlsplit(CERT_URL).path: pki.ca.chain_pem(),
            "/echo.api/cached.pem": pki.ca.chain_pem(),
            "/echo.api/self-signed.pem": pki.self_signed.pem(),
            "/echo.api/expired.pem": pki.ca.chain_pem(pki.expired),
            "/echo.api/wrong-san.pem": pki.ca.chain_pem(pki.wrong_san),
            "/echo.api/untrusted.pem": pki.foreign.chain_pem(),
            "/echo.api/garbage.pem": b"this is not a certificate\n",
            "/echo.api/slow.pem": pki.ca.chain_pem(),
        },
        delays={"/echo.api/slow.pem": 1.5, "/echo.api/dead.pem": 0.3},
    )
    yield server
    server.close()


def make_app(pki: PKI, chains: ChainServer, **options: Any) -> Any:
    """Build the app as production does (verification on, this skill's id), trusting the test
    root and fetching from loopback; explicit settings, so the tester's environment is not read."""
    options.setdefault("settings", Settings())
    options.setdefault("skill_id", SKILL_ID)
    options.setdefault("trusted_roots_pem", pki.ca.root_pem())
    options.setdefault("cert_fetch_base", chains.base)
    options.setdefault("fetch_timeout", 0.5)
    return create_app(options.pop("skill", None) or build_skill(), **options)


@pytest.fixture(scope="module")
def base(pki: PKI, chains: ChainServer) -> Iterator[str]:
    with serve_wsgi(make_app(pki, chains)) as url:
        yield url


def signed(
    key: Any, *, url: str = CERT_URL, envelope: dict[str, Any] | None = None
) -> tuple[bytes, dict[str, str]]:
    """Return a LaunchRequest body and its headers signed with ``key``."""
    body = encode(envelope or launch_request())
    return body, signed_headers(body, key, url)


def assert_alexa_response(reply: Reply) -> None:
    """Check the shape every Alexa response envelope has, whatever the skill says."""
    assert reply.status == 200, reply.body
    assert reply.body["version"] == "1.0"
    assert isinstance(reply.body["response"], dict)


def refusals(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The app's refusal log lines so far in this test."""
    return [r.getMessage() for r in caplog.records
            if r.name == "skill.web" and " refused " in f" {r.getMessage()}"]


def assert_refused(
    reply: Reply, status: int, caplog: pytest.LogCaptureFixture, *words: str
) -> None:
    """The reply is ``status`` with only the fixed reason; the log line says why (``words``)."""
    assert reply.status == status, reply
    assert reply.body == {"error": ERROR_REASONS[status]}, reply.raw
    lines = refusals(caplog)
    assert lines, "the refusal was not logged"
    for word in words:
        assert word in lines[-1], lines[-1]


# --------------------------------------------------------------------------- accepted


def test_signed_launch_request_gets_the_skills_answer(base: str, pki: PKI) -> None:
    """A request signed by a trusted echo-api.amazon.com certificate reaches the skill."""
    assert_alexa_response(post(base, *signed(pki.ca.leaf.key)))


@pytest.mark.parametrize(
    "url",
    [
        "https://S3.AmazonAWS.com/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com:443/echo.api/echo-api-cert-test.pem",
        "https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert-test.pem",
        "HTTPS://s3.amazonaws.com/echo.api/echo-api-cert-test.pem",
    ],
)
def test_url_variants_amazon_allows_are_accepted(base: str, pki: PKI, url: str) -> None:
    """Host case, an explicit 443 and a `..` that stays under /echo.api/ are all allowed."""
    assert_alexa_response(post(base, *signed(pki.ca.leaf.key, url=url)))


def test_healthz_answers_200(base: str) -> None:
    """The load balancer's health check needs no signature."""
    reply = get(base, "/healthz")
    assert reply.status == 200
    assert reply.body["status"] == "ok"


def test_chunked_body_within_the_limit_is_read_whole(base: str, pki: PKI) -> None:
    """A chunked body (no Content-Length) exactly at the size limit is read to its end."""
    compact = encode(launch_request())
    body = compact + b" " * (MAX_BODY_BYTES - len(compact))  # JSON allows trailing spaces
    headers = signed_headers(body, pki.ca.leaf.key)
    chunks = iter([body[i:i + 16384] for i in range(0, len(body), 16384)])
    assert_alexa_response(post(base, chunks, headers))


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("missing", [["SignatureCertChainUrl"], ["Signature-256"], []])
def test_missing_signature_headers_are_refused(
    base: str, pki: PKI, missing: list[str], caplog: pytest.LogCaptureFixture
) -> None:
    """A request without the certificate URL or the signature (or both) gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    drop = missing or ["SignatureCertChainUrl", "Signature-256"]
    reply = post(base, body, {k: v for k, v in headers.items() if k not in drop})
    assert_refused(reply, 400, caplog, "missing")


@pytest.mark.parametrize(
    ("url", "rule"),
    [
        ("http://s3.amazonaws.com/echo.api/echo-api-cert-test.pem", "scheme"),
        ("https://notamazon.com/echo.api/echo-api-cert-test.pem", "host"),
        ("https://s3.amazonaws.com.evil.example/echo.api/echo-api-cert-test.pem", "host"),
        ("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert-test.pem", "path"),
        ("https://s3.amazonaws.com/invalid.path/echo-api-cert-test.pem", "path"),
        ("https://s3.amazonaws.com/echo.api/../echo-api-cert-test.pem", "path"),
        ("https://s3.amazonaws.com/echo.api/%2e%2e/echo-api-cert-test.pem", "path"),
        ("https://s3.amazonaws.com:563/echo.api/echo-api-cert-test.pem", "port"),
    ],
)
def test_certificate_url_rules_are_enforced(
    base: str, pki: PKI, url: str, rule: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each broken URL rule gets 400, although the loopback fetch would have found the chain."""
    reply = post(base, *signed(pki.ca.leaf.key, url=url))
    assert_refused(reply, 400, caplog, rule)


@pytest.mark.parametrize(
    "url",
    [
        "https://user@s3.amazonaws.com/echo.api/x.pem",
        "https://s3.amazonaws.com/echo.api/x.pem?v=1",
        "https://s3.amazonaws.com/echo.api/",
        "https://s3.amazonaws.com/echo.api",
        "https://s3.amazonaws.com:notaport/echo.api/x.pem",
        "s3.amazonaws.com/echo.api/x.pem",
        "",
    ],
)
def test_other_unusual_certificate_urls_are_refused(url: str) -> None:
    """URLs Amazon never uses (user info, query, no file, bad port, no scheme) are refused."""
    with pytest.raises(RequestRefused):
        validate_cert_chain_url(url)


def test_validated_url_is_canonical() -> None:
    """What is fetched and cached is the normalized https URL, not the header's spelling."""
    canonical = validate_cert_chain_url("https://S3.amazonaws.com:443/echo.api/../echo.api/c.pem")
    assert canonical == "https://s3.amazonaws.com/echo.api/c.pem"


@pytest.mark.parametrize(
    ("chain", "signer"),
    [
        ("self-signed.pem", "self_signed"),
        ("expired.pem", "expired"),
        ("wrong-san.pem", "wrong_san"),
        ("untrusted.pem", "foreign"),
    ],
)
def test_untrustworthy_certificates_are_refused(
    base: str, pki: PKI, chain: str, signer: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A self-signed, expired, wrongly named or foreign-rooted certificate gets 400."""
    holder = getattr(pki, signer)
    key = holder.leaf.key if isinstance(holder, TestCA) else holder.key
    reply = post(base, *signed(key, url=cert_url(chain)))
    assert_refused(reply, 400, caplog, "not trusted")


def test_unparseable_chain_is_refused(
    base: str, pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    """A certificate URL that serves something other than PEM gets 400."""
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("garbage.pem")))
    assert_refused(reply, 400, caplog, "PEM")


def test_missing_chain_is_refused(base: str, pki: PKI, caplog: pytest.LogCaptureFixture) -> None:
    """A certificate URL that answers 404 gets 400."""
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("nothing-here.pem")))
    assert_refused(reply, 400, caplog, "404")


def test_slow_certificate_host_times_out(base: str, pki: PKI) -> None:
    """A certificate host slower than the fetch timeout is given up on and the request refused."""
    started = time.monotonic()
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("slow.pem")))
    assert reply.status == 400
    assert time.monotonic() - started < 1.5  # the server would answer after 1.5 s


def test_tampered_body_is_refused(base: str, pki: PKI, caplog: pytest.LogCaptureFixture) -> None:
    """A body changed after signing gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    tampered = body.replace(b'"locale":"en-US"', b'"locale":"en-GB"')
    assert tampered != body
    assert_refused(post(base, tampered, headers), 400, caplog, "signature")


def test_signature_by_another_key_is_refused(
    base: str, pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    """A signature not made with the certificate's key gets 400."""
    assert_refused(post(base, *signed(pki.other_key)), 400, caplog, "signature")


def test_signature_that_is_not_base64_is_refused(
    base: str, pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    """A garbled Signature-256 header gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    reply = post(base, body, headers | {"Signature-256": "not base64!"})
    assert_refused(reply, 400, caplog, "base64")


# A future timestamp comes nearer while the request travels, and the envelope carries whole
# seconds: 151 s ahead can be 150 s ahead by the time it is checked on a busy machine, so the
# future case keeps a margin (the past only grows older).
@pytest.mark.parametrize(("offset", "word"), [(-151, "past"), (160, "future"), (-3600, "past")])
def test_stale_and_future_timestamps_are_refused(
    base: str, pki: PKI, offset: int, word: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A correctly signed request more than 150 s from now gets 400 (a replay or a wrong clock)."""
    envelope = launch_request(timestamp=datetime.now(UTC) + timedelta(seconds=offset))
    reply = post(base, *signed(pki.ca.leaf.key, envelope=envelope))
    assert_refused(reply, 400, caplog, word)


def test_timestamp_within_tolerance_is_accepted(base: str, pki: PKI) -> None:
    """A request 100 s old is still within Alexa's 150 s."""
    envelope = launch_request(timestamp=datetime.now(UTC) - timedelta(seconds=100))
    assert_alexa_response(post(base, *signed(pki.ca.leaf.key, envelope=envelope)))


def _envelope_with(**changes: Any) -> bytes:
    """Return a fresh LaunchRequest with top-level or request-level fields replaced."""
    envelope = launch_request()
    envelope["request"].update(changes.pop("request", {}))
    envelope.update(changes)
    return encode(envelope)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"version": "1.0", "request": {', id="truncated"),
        pytest.param(b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(b"[]", id="not-an-object"),
        pytest.param(b'{"version": "1.0"}', id="no-request"),
        pytest.param(b'{"version": "1.0", "request": {"type": 7}}', id="type-not-a-string"),
    ],
)
def test_bodies_that_are_not_envelopes_are_refused_with_400(
    base: str, pki: PKI, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A correctly signed body that is not a request envelope at all gets 400, not 500."""
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert_refused(reply, 400, caplog, "malformed")


@pytest.mark.parametrize("timestamp", [None, 12, "yesterday", "0001-01-01T00:00:00+23:59"])
def test_unreadable_timestamps_are_refused(
    base: str, pki: PKI, timestamp: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """A signed request whose timestamp is missing, not ISO 8601 or out of range gets 400."""
    body = _envelope_with(request={"timestamp": timestamp})
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert_refused(reply, 400, caplog, "timestamp")


def test_oversized_body_is_refused_with_413(base: str, pki: PKI) -> None:
    """A body over the size limit gets 413 before anything reads it."""
    body = b" " * (MAX_BODY_BYTES + 1)
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert reply.status == 413
    assert reply.body == {"error": ERROR_REASONS[413]}


def test_oversized_chunked_body_is_refused_with_413(base: str, pki: PKI) -> None:
    """A chunked body (no Content-Length) one byte over the limit gets 413, not a cut body."""
    compact = encode(launch_request())
    # Signed and valid as a whole, so only its size can be what is refused.
    body = compact + b" " * (MAX_BODY_BYTES + 1 - len(compact))
    headers = signed_headers(body, pki.ca.leaf.key)
    chunks = iter([body[i:i + 16384] for i in range(0, len(body), 16384)])
    reply = post(base, chunks, headers)
    assert reply.status == 413
    assert reply.body == {"error": ERROR_REASONS[413]}


def test_get_on_root_is_405(base: str) -> None:
    """Only POST reaches the skill."""
    reply = get(base, "/")
    assert reply.status == 405
    assert reply.body == {"error": ERROR_REASONS[405]}


def test_wrong_skill_id_is_refused_with_403(
    base: str, pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    """With a skill id configured, a correctly signed request for another skill gets 403."""
    ours = launch_request(application_id=SKILL_ID)
    assert_alexa_response(post(base, *signed(pki.ca.leaf.key, envelope=ours)))
    theirs = launch_request(application_id="amzn1.ask.skill.someone-else")
    reply = post(base, *signed(pki.ca.leaf.key, envelope=theirs))
    assert_refused(reply, 403, caplog, "another skill")


def test_deep_nesting_in_an_envelope_is_refused_and_ordinary_depth_accepted(
    base: str, pki: PKI, caplog: pytest.LogCaptureFixture
) -> None:
    """An envelope nested past the limit gets 400 (the SDK's deep copy of session attributes
    would raise RecursionError a few hundred levels down); one within it is answered."""

    def nested(levels: int) -> Any:
        value: Any = "x"
        for _ in range(levels):
            value = [value]
        return value

    for levels, status in [(MAX_JSON_DEPTH - 5, 200), (MAX_JSON_DEPTH, 400), (400, 400)]:
        envelope = launch_request()
        envelope["session"]["attributes"] = {"deep": nested(levels)}
        reply = post(base, *signed(pki.ca.leaf.key, envelope=envelope))
        assert reply.status == status, levels
    assert "nested" in refusals(caplog)[-1]


# --------------------------------------------------------------------------- error bodies


def test_internal_errors_answer_500_without_detail(
    pki: PKI, chains: ChainServer, caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An exception inside the app is a 500 whose body is a fixed reason; the log has the rest."""
    from ask_sdk_core.exceptions import AskSdkException

    skill = build_skill()
    with serve_wsgi(make_app(pki, chains, skill=skill)) as url:
        for error in (RuntimeError("/srv/secret/path.py exploded"),
                      AskSdkException("/srv/secret/path.py exploded")):

            def fail(*args: Any, error: Exception = error, **kwargs: Any) -> Any:
                raise error

            monkeypatch.setattr(skill, "invoke", fail)
            reply = post(url, *signed(pki.ca.leaf.key))
            assert reply.status == 500
            assert reply.body == {"error": ERROR_REASONS[500]}
            assert b"secret" not in reply.raw and b"exploded" not in reply.raw
    logged = [r for r in caplog.records if r.name == "skill.web" and r.levelno == logging.ERROR]
    assert any(r.exc_info and "exploded" in str(r.exc_info[1]) for r in logged)


# --------------------------------------------------------------------------- malformed battery


def _huge_integer_envelope() -> bytes:
    return b'{"version": ' + b"9" * 5000 + b', "request": {"type": "LaunchRequest"}}'


def _attribute_bomb() -> bytes:
    return b'{"version": "1.0", "session": {"attributes": ' + b'{"a":' * 20000 + b"1" \
        + b"}" * 20000 + b'}, "request": {"type": "LaunchRequest"}}'


@dataclass
class Malformed:
    """One malformed request: a body (signed with the test CA unless ``sign`` is off), header
    changes (None drops a header), a method and a path; or ``raw`` bytes for the socket."""

    body: Callable[[], Any] = lambda: encode(launch_request())
    headers: dict[str, str | None] = field(default_factory=dict)
    method: str = "POST"
    path: str = "/"
    sign: bool = True
    raw: bytes | None = None
    close_write: bool = False


BATTERY = {
    # bodies
    "empty": Malformed(body=lambda: b""),
    "garbage-bytes": Malformed(body=lambda: bytes(range(256)) * 4),
    "invalid-utf8": Malformed(body=lambda: b'{"request": {"type": "\xc3\x28"}}'),
    "utf16": Malformed(body=lambda: json.dumps(launch_request()).encode("utf-16")),
    "json-list": Malformed(body=lambda: b"[1, 2, 3]"),
    "json-number": Malformed(body=lambda: b"42"),
    "json-null": Malformed(body=lambda: b"null"),
    "json-string": Malformed(body=lambda: b'"LaunchRequest"'),
    "json-true": Malformed(body=lambda: b"true"),
    "request-a-string": Malformed(body=lambda: b'{"version": "1.0", "request": "Launch"}'),
    "request-type-null": Malformed(body=lambda: b'{"request": {"type": null}}'),
    "huge-integer": Malformed(body=_huge_integer_envelope),
    "huge-float-timestamp": Malformed(
        body=lambda: _envelope_with(request={"timestamp": 1e308}).replace(b"1e+308", b"1e999")),
    "nan-timestamp": Malformed(
        body=lambda: _envelope_with(request={"timestamp": float("nan")})),
    "deep-arrays": Malformed(body=lambda: b"[" * 60000 + b"]" * 60000),
    "deep-objects": Malformed(body=lambda: b'{"a":' * 20000 + b"1" + b"}" * 20000),
    "deep-session-attributes": Malformed(body=_attribute_bomb),
    "trailing-garbage": Malformed(body=lambda: encode(launch_request()) + b"}{"),
    "two-documents": Malformed(body=lambda: encode(launch_request()) * 2),
    # headers
    "no-cert-url": Malformed(headers={"SignatureCertChainUrl": None}),
    "no-signature": Malformed(headers={"Signature-256": None}),
    "no-headers-at-all": Malformed(sign=False),
    "signature-empty": Malformed(headers={"Signature-256": ""}),
    "signature-not-base64": Malformed(headers={"Signature-256": "not base64!"}),
    "signature-urlsafe-alphabet": Malformed(headers={"Signature-256": "ab-_" * 86 + "ab=="}),
    "signature-short": Malformed(headers={"Signature-256": "AAAA"}),
    "signature-padding-only": Malformed(headers={"Signature-256": "===="}),
    "signature-latin1": Malformed(headers={"Signature-256": "\u00e9\u00e9\u00e9\u00e9"}),
    "signature-huge": Malformed(headers={"Signature-256": "A" * 60000}),
    "cert-url-huge": Malformed(
        headers={"SignatureCertChainUrl": cert_url("x" * 8000 + ".pem")}),
    "cert-url-bad-port": Malformed(
        headers={"SignatureCertChainUrl": "https://s3.amazonaws.com:99999/echo.api/x.pem"}),
    "cert-url-bad-ipv6": Malformed(headers={"SignatureCertChainUrl": "https://[::1/echo.api/x"}),
    "cert-url-nul": Malformed(headers={"SignatureCertChainUrl": cert_url("%00.pem")}),
    "cert-url-latin1": Malformed(headers={"SignatureCertChainUrl": cert_url("\u00e9.pem")}),
    "content-type-form": Malformed(
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        body=lambda: b"request=LaunchRequest"),
    # methods and paths
    **{f"method-{m.lower()}": Malformed(method=m)
       for m in ("GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")},
    "post-healthz": Malformed(path="/healthz"),
    "post-elsewhere": Malformed(path="/admin"),
    "get-elsewhere": Malformed(method="GET", path="/../../etc/passwd"),
    # HTTP itself
    "header-line-too-long": Malformed(headers={"X-Padding": "a" * 70000}),
    "too-many-headers": Malformed(raw=b"POST / HTTP/1.1\r\nHost: x\r\n"
                                  + b"".join(b"X-%d: y\r\n" % i for i in range(200)) + b"\r\n"),
    "bad-http-version": Malformed(raw=b"POST / HTTX/1.1\r\nHost: x\r\n\r\n"),
    "binary-method": Malformed(raw=b"\x16\x03\x01\xfc / HTTP/1.1\r\nHost: x\r\n\r\n"),
    "unknown-method": Malformed(raw=b"BREW / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"),
    "bad-content-length": Malformed(
        raw=b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"),
    "negative-content-length": Malformed(
        raw=b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}"),
    "short-body": Malformed(
        raw=b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{}", close_write=True),
    "bad-chunk-size": Malformed(
        raw=b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n{}\r\n",
        close_write=True),
    "chunked-then-cut": Malformed(
        raw=b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\n{}",
        close_write=True),
}


@pytest.mark.parametrize("case", list(BATTERY), ids=list(BATTERY))
def test_malformed_requests_get_4xx_and_the_app_keeps_answering(
    base: str, pki: PKI, case: str
) -> None:
    """Every kind of malformed request gets a 4xx, never a 5xx, and a good request after it
    is still answered."""
    bad = BATTERY[case]
    if bad.raw is not None:
        status = raw_status(base, bad.raw, close_write=bad.close_write)
    else:
        body = bad.body()
        headers = signed_headers(body, pki.ca.leaf.key) if bad.sign else {}
        for name, value in bad.headers.items():
            headers.pop(name, None)
            if value is not None:
                headers[name] = value
        try:
            status = send(base, bad.method, bad.path, body, headers).status
        except http.client.RemoteDisconnected:
            status = 0
        except UnicodeEncodeError:  # http.client sends headers as Latin-1: send raw instead
            pytest.fail("header not encodable")
    assert 400 <= status < 500, status
    assert_alexa_response(post(base, *signed(pki.ca.leaf.key)))


def test_malformed_bodies_get_4xx_with_verification_off() -> None:
    """Without verification a body that is not an envelope is still a 400, not a 500."""
    with serve_wsgi(create_app(build_skill(), settings=Settings(verify=False))) as url:
        for body in (b"{nope", b"[]", b"null", b"9" * 5000, b"[" * 60000 + b"]" * 60000,
                     b'{"request": {"type": null}}', b"\xff"):
            assert post(url, body, {}).status == 400, body[:20]
        assert_alexa_response(post(url, encode(launch_request()), {}))


# ----------------------------------------------------- one policy with the Lambda entry point


@dataclass
class Seen:
    """What the skill was asked and chose, for one request."""

    request_type: str | None
    intent: str | None
    keys: tuple[str, ...]


@pytest.fixture
def observed_skill() -> tuple[Any, list[Seen]]:
    seen: list[Seen] = []

    def observe(handler_input: Any, outcome: Any) -> None:
        request = handler_input.request_envelope.request
        intent = getattr(request, "intent", None)
        seen.append(Seen(getattr(request, "object_type", None),
                         getattr(intent, "name", None), tuple(outcome.keys)))

    return build_skill(observe=observe), seen


def _fresh_user(envelope: dict[str, Any]) -> dict[str, Any]:
    """The same envelope for a user never seen before (so both entry points start alike)."""
    user = {"userId": f"amzn1.ask.account.{uuid.uuid4()}"}
    if isinstance(envelope.get("session"), dict):
        envelope["session"]["user"] = user
    if isinstance(envelope.get("context"), dict):
        envelope["context"]["System"]["user"] = user
    return envelope


def _newer_request_type() -> dict[str, Any]:
    envelope = launch_request()
    envelope["request"]["type"] = "Alexa.Future.SomethingRequest"
    return envelope


def _newer_enum_value() -> dict[str, Any]:
    envelope = launch_request()
    envelope["session"]["new"] = False
    envelope["request"].update(type="IntentRequest", dialogState="COMPLETED",
                               intent={"name": "AMAZON.YesIntent",
                                       "confirmationStatus": "SOMETHING_NEW"})
    return envelope


def _context_not_an_object() -> dict[str, Any]:
    envelope = launch_request()
    envelope["context"] = "not an object"
    return envelope


def _session_not_an_object() -> dict[str, Any]:
    envelope = launch_request()
    envelope["session"] = [1]
    return envelope


def _session_ended_for_a_newer_reason() -> dict[str, Any]:
    envelope = launch_request()
    envelope["request"].update(type="SessionEndedRequest", reason="A_REASON_FROM_THE_FUTURE")
    return envelope


@pytest.mark.parametrize(
    "make",
    [_newer_request_type, _newer_enum_value, _context_not_an_object, _session_not_an_object,
     _session_ended_for_a_newer_reason],
    ids=["request-type", "enum-value", "context", "session", "session-ended-reason"],
)
def test_envelopes_the_sdk_cannot_represent_are_answered_alike_by_lambda_and_web(
    pki: PKI, chains: ChainServer, observed_skill: tuple[Any, list[Seen]],
    make: Callable[[], dict[str, Any]],
) -> None:
    """An envelope the SDK cannot read is answered by both entry points the same way: the
    skill sees the same stand-in (an intent it did not understand, or a session that ended)
    and chooses the same words; over the web that is a 200."""
    skill, seen = observed_skill
    lambda_answer = event_handler(skill)(_fresh_user(make()), None)
    by_lambda = list(seen)
    seen.clear()
    with serve_wsgi(make_app(pki, chains, skill=skill)) as url:
        reply = post(url, *signed(pki.ca.leaf.key, envelope=_fresh_user(make())))
    assert_alexa_response(reply)
    assert seen == by_lambda
    assert reply.body["response"].get("shouldEndSession") == \
        lambda_answer["response"].get("shouldEndSession")
    if make is not _session_ended_for_a_newer_reason:
        assert [s.intent for s in seen] == [UNREADABLE_REQUEST]
        assert seen[0].keys  # the skill answered: what it says to input it did not understand


@pytest.mark.parametrize(
    "event",
    [[], 5, None, "LaunchRequest", {"version": "1.0"}, {"request": "LaunchRequest"},
     {"request": {"type": 7}}, {"request": {"requestId": "x"}}],
    ids=["list", "number", "null", "string", "no-request", "request-string", "type-number",
         "no-type"],
)
def test_not_an_envelope_fails_the_lambda_and_is_400_over_the_web(
    base: str, pki: PKI, observed_skill: tuple[Any, list[Seen]], event: Any
) -> None:
    """Input that is not an envelope at all fails the Lambda invocation and is a 400 over the
    web; the skill sees it through neither."""
    skill, seen = observed_skill
    with pytest.raises(NotAnEnvelope):
        event_handler(skill)(event, None)
    body = json.dumps(event).encode()
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert reply.status == 400
    assert reply.body == {"error": ERROR_REASONS[400]}
    assert seen == []


def test_the_web_endpoint_deserializes_each_body_once(
    pki: PKI, chains: ChainServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request is turned into the SDK's envelope once, not once to check and again to
    dispatch (dateutil's timestamp parsing made that double deserialization costly)."""
    from ask_sdk_core.serialize import DefaultSerializer

    calls: list[Any] = []
    real = DefaultSerializer.deserialize

    def counting(self: Any, payload: Any, obj_type: Any) -> Any:
        calls.append(obj_type)
        return real(self, payload, obj_type)

    monkeypatch.setattr(DefaultSerializer, "deserialize", counting)
    with serve_wsgi(make_app(pki, chains)) as url:
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key)))
    assert len(calls) == 1


# --------------------------------------------------------------------------- certificate cache


def test_certificate_is_fetched_once_while_cached_and_again_after_expiry(
    pki: PKI, chains: ChainServer
) -> None:
    """The chain is fetched on first use, reused within the TTL, and fetched again after it."""
    clock = FakeClock()
    app = make_app(pki, chains, clock=clock, cert_cache_ttl=timedelta(seconds=60))
    path = "/echo.api/cached.pem"

    def send_one(server: str) -> None:
        envelope = launch_request(timestamp=clock())
        request = signed(pki.ca.leaf.key, url=cert_url("cached.pem"), envelope=envelope)
        assert_alexa_response(post(server, *request))

    with serve_wsgi(app) as server:
        for _ in range(3):
            send_one(server)
        assert chains.hits[path] == 1
        clock.advance(30)
        send_one(server)
        assert chains.hits[path] == 1
        clock.advance(31)  # 61 s after the fetch: the entry has expired
        send_one(server)
        assert chains.hits[path] == 2
        send_one(server)
        assert chains.hits[path] == 2


def test_cached_certificate_is_not_used_past_its_own_expiry(pki: PKI, chains: ChainServer) -> None:
    """A cache entry ends when the certificate does, even inside the TTL; the refetch is refused."""
    clock = FakeClock()
    leaf = issue(ALEXA_SAN, issuer=pki.ca.intermediate, not_after=clock() + timedelta(minutes=5))
    chains.files["/echo.api/short-lived.pem"] = pki.ca.chain_pem(leaf)
    app = make_app(pki, chains, clock=clock, cert_cache_ttl=timedelta(hours=1))
    url = cert_url("short-lived.pem")
    with serve_wsgi(app) as base:
        envelope = launch_request(timestamp=clock())
        assert_alexa_response(post(base, *signed(leaf.key, url=url, envelope=envelope)))
        clock.advance(6 * 60)
        envelope = launch_request(timestamp=clock())
        reply = post(base, *signed(leaf.key, url=url, envelope=envelope))
        assert reply.status == 400
        assert chains.hits["/echo.api/short-lived.pem"] == 2


def test_a_burst_naming_a_dead_url_makes_one_fetch_until_the_failure_is_forgotten(
    pki: PKI, chains: ChainServer
) -> None:
    """Concurrent and later requests naming a URL whose fetch failed wait for that one fetch or
    reuse its failure; after the failure's 30 s the URL is tried again (and may now work)."""
    clock = FakeClock()
    app = make_app(pki, chains, clock=clock, failed_fetch_ttl=timedelta(seconds=30))
    path = "/echo.api/dead.pem"  # answers 404 after 0.3 s
    chains.hits[path] = 0

    def request() -> tuple[bytes, dict[str, str]]:
        return signed(pki.ca.leaf.key, url=cert_url("dead.pem"),
                      envelope=launch_request(timestamp=clock()))

    with serve_wsgi(app) as url, ThreadPoolExecutor(max_workers=8) as pool:
        burst = list(pool.map(lambda _: post(url, *request()).status, range(8)))
        assert burst == [400] * 8
        assert chains.hits[path] == 1
        clock.advance(29)
        assert post(url, *request()).status == 400
        assert chains.hits[path] == 1
        chains.files[path] = pki.ca.chain_pem()  # the URL comes back to life
        clock.advance(2)
        assert_alexa_response(post(url, *request()))
        assert chains.hits[path] == 2


def test_every_fetch_shares_one_tls_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """Certificate fetches reuse one TLS context instead of loading the CA store each time."""
    made: list[ssl.SSLContext] = []
    real = ssl.create_default_context

    def counting(*args: Any, **kwargs: Any) -> ssl.SSLContext:
        made.append(real(*args, **kwargs))
        return made[-1]

    with socket.socket() as closed:  # a port nobody listens on: connection refused at once
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setattr(ssl, "create_default_context", counting)
    request_verification._opener.cache_clear()
    try:
        for _ in range(3):
            with pytest.raises(RequestRefused, match="fetch failed"):
                fetch_chain(f"https://127.0.0.1:{port}/echo.api/x.pem", 1.0)
    finally:
        request_verification._opener.cache_clear()
    assert len(made) == 1


# --------------------------------------------------------------------------- configuration


def test_verification_off_accepts_unsigned_requests_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """verify=False lets an unsigned request through and says so at start and on its log line."""
    with caplog.at_level(logging.INFO, logger="skill.web"):
        app = create_app(build_skill(), settings=Settings(), verify=False)
        assert any("UNVERIFIED" in r.message for r in caplog.records)
        caplog.clear()
        with serve_wsgi(app) as url:
            reply = post(url, encode(launch_request()), {"Content-Type": "application/json"})
    assert_alexa_response(reply)
    request_lines = [r for r in caplog.records if r.name == "skill.web" and "POST /" in r.message]
    assert request_lines and all("UNVERIFIED" in r.message for r in request_lines)


def test_environment_can_turn_verification_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRAMP_COACH_VERIFY=off is the other explicit way to turn verification off."""
    monkeypatch.setenv("CRAMP_COACH_VERIFY", "off")
    monkeypatch.delenv("CRAMP_COACH_SKILL_ID", raising=False)
    with serve_wsgi(create_app(build_skill())) as url:
        assert get(url, "/healthz").body["verify"] is False
        assert_alexa_response(post(url, encode(launch_request()), {}))


def test_unknown_verify_setting_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in CRAMP_COACH_VERIFY stops the app rather than leave verification in doubt."""
    monkeypatch.setenv("CRAMP_COACH_VERIFY", "of")
    with pytest.raises(SettingsError, match="CRAMP_COACH_VERIFY"):
        create_app(build_skill())


def test_verification_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no setting, an unsigned request is refused."""
    monkeypatch.delenv("CRAMP_COACH_VERIFY", raising=False)
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", SKILL_ID)
    with serve_wsgi(create_app(build_skill())) as url:
        assert get(url, "/healthz").body["verify"] is True
        assert post(url, encode(launch_request()), {}).status == 400


def test_verification_without_a_skill_id_refuses_to_start_unless_told(
    pki: PKI, chains: ChainServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With verification on and no skill id the app will not start (any skill's signed requests
    would reach it); allow_any_skill=True starts it, and then another skill's request passes."""
    monkeypatch.delenv("CRAMP_COACH_SKILL_ID", raising=False)
    with pytest.raises(SettingsError, match="CRAMP_COACH_SKILL_ID"):
        create_app(build_skill())
    with pytest.raises(SettingsError, match="CRAMP_COACH_SKILL_ID"):
        make_app(pki, chains, skill_id=None)
    with serve_wsgi(make_app(pki, chains, skill_id=None, allow_any_skill=True)) as url:
        theirs = launch_request(application_id="amzn1.ask.skill.someone-else")
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key, envelope=theirs)))


def test_skill_id_comes_from_the_environment(
    pki: PKI, chains: ChainServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRAMP_COACH_SKILL_ID configures the application id check."""
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", "amzn1.ask.skill.configured")
    app = create_app(build_skill(), trusted_roots_pem=pki.ca.root_pem(),
                     cert_fetch_base=chains.base)
    with serve_wsgi(app) as url:
        assert post(url, *signed(pki.ca.leaf.key)).status == 403


def test_environment_configures_trusted_ca_and_fetch_base(
    pki: PKI, chains: ChainServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRAMP_COACH_TRUSTED_CA and CRAMP_COACH_CERT_FETCH_BASE work as the benchmark uses them."""
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.ca.root_pem())
    monkeypatch.setenv("CRAMP_COACH_TRUSTED_CA", str(ca_file))
    monkeypatch.setenv("CRAMP_COACH_CERT_FETCH_BASE", chains.base)
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", SKILL_ID)
    with serve_wsgi(create_app(build_skill())) as url:
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key)))
        foreign = post(url, *signed(pki.foreign.leaf.key, url=cert_url("untrusted.pem")))
        assert foreign.status == 400


def test_settings_configure_the_app_and_the_environment_is_not_read(
    pki: PKI, chains: ChainServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Given Settings, create_app takes everything from them: an environment that would stop
    the app (a bad CRAMP_COACH_VERIFY) or point it elsewhere changes nothing."""
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.ca.root_pem())
    skill = build_skill()  # the skill's own settings are not what this test is about
    monkeypatch.setenv("CRAMP_COACH_VERIFY", "of")
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", "amzn1.ask.skill.from-the-environment")
    monkeypatch.setenv("CRAMP_COACH_CERT_FETCH_BASE", "http://10.0.0.1:1")
    settings = Settings(skill_id=SKILL_ID, trusted_ca=ca_file, cert_fetch_base=chains.base)
    with serve_wsgi(create_app(skill, settings=settings)) as url:
        assert get(url, "/healthz").body["verify"] is True
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key)))
        theirs = launch_request(application_id="amzn1.ask.skill.from-the-environment")
        assert post(url, *signed(pki.ca.leaf.key, envelope=theirs)).status == 403


@pytest.mark.parametrize(
    "fetch_base", ["http://10.0.0.1:8000", "https://s3.example.com", "ftp://127.0.0.1/"]
)
def test_fetch_base_off_loopback_refuses_to_start(
    pki: PKI, monkeypatch: pytest.MonkeyPatch, fetch_base: str
) -> None:
    """The test-only fetch base can never point a server's certificate fetches off the machine."""
    monkeypatch.setenv("CRAMP_COACH_CERT_FETCH_BASE", fetch_base)
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", SKILL_ID)
    with pytest.raises(ValueError, match="loopback"):
        create_app(build_skill(), trusted_roots_pem=pki.ca.root_pem())
    with pytest.raises(ValueError, match="loopback"):
        create_app(build_skill(), settings=Settings(skill_id=SKILL_ID, cert_fetch_base=fetch_base),
                   trusted_roots_pem=pki.ca.root_pem())


def test_only_settings_reads_the_environment() -> None:
    """Nothing in skill/ but skill/settings.py reads os.environ or calls os.getenv."""
    readers = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    found = []
    for path in sorted((ROOT / "skill").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if name == "skill/settings.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(), name)):
            reads = (
                isinstance(node, ast.Attribute) and node.attr in readers
                and isinstance(node.value, ast.Name) and node.value.id == "os"
            ) or (
                isinstance(node, ast.ImportFrom) and node.module == "os"
                and any(alias.name in readers for alias in node.names)
            )
            if reads:
                found.append(f"{name}:{getattr(node, 'lineno', '?')}")
    assert found == []


# --------------------------------------------------------------------------- cramp-coach serve


def test_serve_without_the_web_extra_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cramp-coach serve` without Flask says which extra to install instead of a traceback."""
    monkeypatch.setitem(sys.modules, "flask", None)  # an import of flask now fails
    monkeypatch.delitem(sys.modules, "skill.web")
    assert cli.main(["serve"]) == 1
    assert "pip install 'cramp-coach[web]'" in capsys.readouterr().err


def test_serve_refuses_to_start_without_a_skill_id_unless_told(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`cramp-coach serve` with verification on and no CRAMP_COACH_SKILL_ID exits naming the
    variable; --any-skill or --no-verify start it."""
    import flask

    started: list[dict[str, Any]] = []
    monkeypatch.setattr(flask.Flask, "run", lambda self, **kwargs: started.append(kwargs))
    monkeypatch.delenv("CRAMP_COACH_SKILL_ID", raising=False)
    monkeypatch.delenv("CRAMP_COACH_VERIFY", raising=False)
    assert cli.main(["serve", "--port", "0"]) == 2
    assert "CRAMP_COACH_SKILL_ID" in capsys.readouterr().err
    assert started == []
    assert cli.main(["serve", "--port", "0", "--any-skill"]) == 0
    assert cli.main(["serve", "--port", "0", "--no-verify"]) == 0
    assert len(started) == 2


# --------------------------------------------------------------------------- Amazon's chain


@pytest.fixture(scope="module")
def amazon_chain() -> bytes:
    if not AMAZON_CHAIN.is_file():
        pytest.skip(f"{AMAZON_CHAIN} is absent (shared/ test data lies beside the repo)")
    return AMAZON_CHAIN.read_bytes()


@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_real_amazon_chain_validates_with_system_roots(amazon_chain: bytes) -> None:
    """Alexa's real signing chain is trusted at a time inside its validity, and not after it."""
    verifier = CertificateChainVerifier(system_trust_roots())
    chain = verifier.verify(amazon_chain, datetime(2020, 1, 1, tzinfo=UTC))
    assert chain.not_after == datetime(2020, 5, 15, 12, tzinfo=UTC)
    with pytest.raises(RequestRefused, match="not trusted"):
        verifier.verify(amazon_chain, datetime(2021, 1, 1, tzinfo=UTC))
