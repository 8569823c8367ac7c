"""The web service end to end: signed requests over real HTTP to the real Flask app.

A test certificate authority (tests/alexa_pki.py) signs the requests; its chains are served by a
loopback HTTP server, and the app fetches them there through its test-only fetch base while the
URL rules are checked on the Amazon URL each request names.
"""

from __future__ import annotations

import http.client
import json
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from skill.app import build_skill
from skill.request_verification import (
    CertificateChainVerifier,
    RequestRefused,
    system_trust_roots,
    validate_cert_chain_url,
)
from skill.web import MAX_BODY_BYTES, create_app
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

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
AMAZON_CHAIN = SHARED / "testdata" / "echo-api-cert-7.pem"


def cert_url(name: str) -> str:
    """Return the Amazon-style URL of a chain file served by the loopback chain server."""
    return f"https://s3.amazonaws.com/echo.api/{name}"


@dataclass
class Reply:
    status: int
    body: dict[str, Any]


def post(base: str, body: bytes, headers: dict[str, str], path: str = "/") -> Reply:
    """POST over a real HTTP connection and return the status and JSON body."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        raw = response.read()
        return Reply(response.status, json.loads(raw) if raw.strip() else {})
    finally:
        conn.close()


def get(base: str, path: str) -> Reply:
    """GET over a real HTTP connection and return the status and JSON body (if any)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = {}
        return Reply(response.status, body)
    finally:
        conn.close()


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
        delays={"/echo.api/slow.pem": 1.5},
    )
    yield server
    server.close()


def make_app(pki: PKI, chains: ChainServer, **options: Any) -> Any:
    """Build the app as production does, trusting the test root and fetching from loopback."""
    options.setdefault("trusted_roots_pem", pki.ca.root_pem())
    options.setdefault("cert_fetch_base", chains.base)
    options.setdefault("fetch_timeout", 0.5)
    return create_app(build_skill(), **options)


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


# --------------------------------------------------------------------------- refused


@pytest.mark.parametrize("missing", [["SignatureCertChainUrl"], ["Signature-256"], []])
def test_missing_signature_headers_are_refused(base: str, pki: PKI, missing: list[str]) -> None:
    """A request without the certificate URL or the signature (or both) gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    drop = missing or ["SignatureCertChainUrl", "Signature-256"]
    reply = post(base, body, {k: v for k, v in headers.items() if k not in drop})
    assert reply.status == 400
    assert "missing" in reply.body["error"]


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
def test_certificate_url_rules_are_enforced(base: str, pki: PKI, url: str, rule: str) -> None:
    """Each broken URL rule gets 400, although the loopback fetch would have found the chain."""
    reply = post(base, *signed(pki.ca.leaf.key, url=url))
    assert reply.status == 400
    assert rule in reply.body["error"]


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
    base: str, pki: PKI, chain: str, signer: str
) -> None:
    """A self-signed, expired, wrongly named or foreign-rooted certificate gets 400."""
    holder = getattr(pki, signer)
    key = holder.leaf.key if isinstance(holder, TestCA) else holder.key
    reply = post(base, *signed(key, url=cert_url(chain)))
    assert reply.status == 400
    assert "not trusted" in reply.body["error"]


def test_unparseable_chain_is_refused(base: str, pki: PKI) -> None:
    """A certificate URL that serves something other than PEM gets 400."""
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("garbage.pem")))
    assert reply.status == 400


def test_missing_chain_is_refused(base: str, pki: PKI) -> None:
    """A certificate URL that answers 404 gets 400."""
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("nothing-here.pem")))
    assert reply.status == 400
    assert "404" in reply.body["error"]


def test_slow_certificate_host_times_out(base: str, pki: PKI) -> None:
    """A certificate host slower than the fetch timeout is given up on and the request refused."""
    started = time.monotonic()
    reply = post(base, *signed(pki.ca.leaf.key, url=cert_url("slow.pem")))
    assert reply.status == 400
    assert time.monotonic() - started < 1.5  # the server would answer after 1.5 s


def test_tampered_body_is_refused(base: str, pki: PKI) -> None:
    """A body changed after signing gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    tampered = body.replace(b'"locale":"en-US"', b'"locale":"en-GB"')
    assert tampered != body
    reply = post(base, tampered, headers)
    assert reply.status == 400
    assert "signature" in reply.body["error"]


def test_signature_by_another_key_is_refused(base: str, pki: PKI) -> None:
    """A signature not made with the certificate's key gets 400."""
    reply = post(base, *signed(pki.other_key))
    assert reply.status == 400
    assert "signature" in reply.body["error"]


def test_signature_that_is_not_base64_is_refused(base: str, pki: PKI) -> None:
    """A garbled Signature-256 header gets 400."""
    body, headers = signed(pki.ca.leaf.key)
    reply = post(base, body, headers | {"Signature-256": "not base64!"})
    assert reply.status == 400


@pytest.mark.parametrize(("offset", "word"), [(-151, "past"), (151, "future"), (-3600, "past")])
def test_stale_and_future_timestamps_are_refused(
    base: str, pki: PKI, offset: int, word: str
) -> None:
    """A correctly signed request more than 150 s from now gets 400 (a replay or a wrong clock)."""
    envelope = launch_request(timestamp=datetime.now(UTC) + timedelta(seconds=offset))
    reply = post(base, *signed(pki.ca.leaf.key, envelope=envelope))
    assert reply.status == 400
    assert word in reply.body["error"]


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
        pytest.param(lambda: b'{"version": "1.0", "request": {', id="truncated"),
        pytest.param(lambda: b"\xff\xfe not utf-8", id="not-utf8"),
        pytest.param(lambda: b"[]", id="not-an-object"),
        pytest.param(lambda: b'{"version": "1.0"}', id="no-request"),
        pytest.param(
            lambda: _envelope_with(request={"type": "NoSuchRequestType"}), id="unknown-type"
        ),
        pytest.param(lambda: _envelope_with(context="not an object"), id="context-not-object"),
        pytest.param(lambda: _envelope_with(session=[1]), id="session-not-object"),
    ],
)
def test_malformed_bodies_are_refused_with_400(
    base: str, pki: PKI, body: Callable[[], bytes]
) -> None:
    """A correctly signed, fresh body that is not a readable request envelope gets 400, not 500."""
    # Built when the test runs: a timestamp made at collection could be stale by now.
    made = body()
    reply = post(base, made, signed_headers(made, pki.ca.leaf.key))
    assert reply.status == 400
    assert "malformed" in reply.body["error"]


@pytest.mark.parametrize("timestamp", [None, 12, "yesterday"])
def test_unreadable_timestamps_are_refused(base: str, pki: PKI, timestamp: Any) -> None:
    """A signed request whose timestamp is missing or not ISO 8601 gets 400."""
    body = _envelope_with(request={"timestamp": timestamp})
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert reply.status == 400
    assert "timestamp" in reply.body["error"]


def test_oversized_body_is_refused_with_413(base: str, pki: PKI) -> None:
    """A body over the size limit gets 413 before anything reads it."""
    body = b" " * (MAX_BODY_BYTES + 1)
    reply = post(base, body, signed_headers(body, pki.ca.leaf.key))
    assert reply.status == 413


def test_get_on_root_is_405(base: str) -> None:
    """Only POST reaches the skill."""
    assert get(base, "/").status == 405


def test_wrong_skill_id_is_refused_with_403(pki: PKI, chains: ChainServer) -> None:
    """With a skill id configured, a correctly signed request for another skill gets 403."""
    with serve_wsgi(make_app(pki, chains, skill_id=SKILL_ID)) as url:
        ours = launch_request(application_id=SKILL_ID)
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key, envelope=ours)))
        theirs = launch_request(application_id="amzn1.ask.skill.someone-else")
        reply = post(url, *signed(pki.ca.leaf.key, envelope=theirs))
        assert reply.status == 403
        assert "another skill" in reply.body["error"]


def test_skill_id_comes_from_the_environment(
    pki: PKI, chains: ChainServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRAMP_COACH_SKILL_ID configures the application id check."""
    monkeypatch.setenv("CRAMP_COACH_SKILL_ID", "amzn1.ask.skill.configured")
    with serve_wsgi(make_app(pki, chains)) as url:
        reply = post(url, *signed(pki.ca.leaf.key))
        assert reply.status == 403


# --------------------------------------------------------------------------- certificate cache


def test_certificate_is_fetched_once_while_cached_and_again_after_expiry(
    pki: PKI, chains: ChainServer
) -> None:
    """The chain is fetched on first use, reused within the TTL, and fetched again after it."""
    clock = FakeClock()
    app = make_app(pki, chains, clock=clock, cert_cache_ttl=timedelta(seconds=60))
    path = "/echo.api/cached.pem"

    def send(server: str) -> None:
        envelope = launch_request(timestamp=clock())
        request = signed(pki.ca.leaf.key, url=cert_url("cached.pem"), envelope=envelope)
        assert_alexa_response(post(server, *request))

    with serve_wsgi(app) as server:
        for _ in range(3):
            send(server)
        assert chains.hits[path] == 1
        clock.advance(30)
        send(server)
        assert chains.hits[path] == 1
        clock.advance(31)  # 61 s after the fetch: the entry has expired
        send(server)
        assert chains.hits[path] == 2
        send(server)
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


# --------------------------------------------------------------------------- configuration


def test_verification_off_accepts_unsigned_requests_and_warns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """verify=False lets an unsigned request through and says so at start and on its log line."""
    with caplog.at_level(logging.INFO, logger="skill.web"):
        app = create_app(build_skill(), verify=False)
        assert any("UNVERIFIED" in r.message for r in caplog.records)
        caplog.clear()
        with serve_wsgi(app) as url:
            reply = post(url, encode(launch_request()), {"Content-Type": "application/json"})
    assert_alexa_response(reply)
    request_lines = [r for r in caplog.records if r.name == "skill.web" and "POST /" in r.message]
    assert request_lines and all("UNVERIFIED" in r.message for r in request_lines)


def test_verification_off_still_refuses_malformed_json() -> None:
    """Without verification a malformed body is still a 400, not a 500."""
    with serve_wsgi(create_app(build_skill(), verify=False)) as url:
        assert post(url, b"{nope", {}).status == 400


def test_environment_can_turn_verification_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """CRAMP_COACH_VERIFY=off is the other explicit way to turn verification off."""
    monkeypatch.setenv("CRAMP_COACH_VERIFY", "off")
    with serve_wsgi(create_app(build_skill())) as url:
        assert get(url, "/healthz").body["verify"] is False
        assert_alexa_response(post(url, encode(launch_request()), {}))


def test_unknown_verify_setting_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A typo in CRAMP_COACH_VERIFY stops the app rather than leave verification in doubt."""
    monkeypatch.setenv("CRAMP_COACH_VERIFY", "of")
    with pytest.raises(ValueError, match="CRAMP_COACH_VERIFY"):
        create_app(build_skill())


def test_verification_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """With no setting, an unsigned request is refused."""
    monkeypatch.delenv("CRAMP_COACH_VERIFY", raising=False)
    with serve_wsgi(create_app(build_skill())) as url:
        assert get(url, "/healthz").body["verify"] is True
        assert post(url, encode(launch_request()), {}).status == 400


def test_environment_configures_trusted_ca_and_fetch_base(
    pki: PKI, chains: ChainServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CRAMP_COACH_TRUSTED_CA and CRAMP_COACH_CERT_FETCH_BASE work as the benchmark uses them."""
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.ca.root_pem())
    monkeypatch.setenv("CRAMP_COACH_TRUSTED_CA", str(ca_file))
    monkeypatch.setenv("CRAMP_COACH_CERT_FETCH_BASE", chains.base)
    with serve_wsgi(create_app(build_skill())) as url:
        assert_alexa_response(post(url, *signed(pki.ca.leaf.key)))
        foreign = post(url, *signed(pki.foreign.leaf.key, url=cert_url("untrusted.pem")))
        assert foreign.status == 400


@pytest.mark.parametrize(
    "fetch_base", ["http://10.0.0.1:8000", "https://s3.example.com", "ftp://127.0.0.1/"]
)
def test_fetch_base_off_loopback_refuses_to_start(
    pki: PKI, monkeypatch: pytest.MonkeyPatch, fetch_base: str
) -> None:
    """The test-only fetch base can never point a server's certificate fetches off the machine."""
    monkeypatch.setenv("CRAMP_COACH_CERT_FETCH_BASE", fetch_base)
    with pytest.raises(ValueError, match="loopback"):
        create_app(build_skill(), trusted_roots_pem=pki.ca.root_pem())


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
