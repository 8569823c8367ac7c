"""Proves that a web-service request comes from Alexa, before the skill sees it.

Alexa signs every request it sends to a web-service skill. This module checks, on the raw
bytes of the body and before anything parses them:

1. the ``SignatureCertChainUrl`` header names an Amazon certificate location
   (:func:`validate_cert_chain_url`: https, host ``s3.amazonaws.com`` in any case, port 443 if
   given, normalized path under ``/echo.api/`` in exact case, no ``..`` climbing out);
2. the chain found there is valid now, chains to a trusted root and names
   ``echo-api.amazon.com`` (:class:`CertificateChainVerifier`, with
   ``cryptography.x509.verification``); verified chains are cached per URL until the earlier of a
   time-to-live and the chain's own expiry, failures for a short while (:class:`CertificateCache`);
3. the ``Signature-256`` header is an RSA PKCS#1 v1.5 signature, by that certificate's key, of the
   SHA-256 digest of the raw body (:class:`SignatureVerifier`);
4. the body is a JSON request envelope (:func:`parse_envelope`: UTF-8, at most
   :data:`MAX_JSON_DEPTH` levels deep) whose ``request.timestamp`` lies
   within 150 seconds of now (:class:`TimestampVerifier`) and, when a skill id is configured,
   whose application id is that skill's (:class:`ApplicationIdVerifier`).

:class:`AlexaRequestVerifier` runs these in that order and raises :class:`RequestRefused`, which
carries the HTTP status (400, or 403 for another skill's request) and a one-line reason.

Why not ``SkillAdapter(verifiers=[...])``: flask-ask-sdk deserializes the body before it calls
its verifiers, hands them a decoded ``str``, and turns every ``VerificationException`` into a 400
and every deserialization error into a 500. Checking at the Flask level, before the adapter,
verifies the exact bytes that were signed before parsing them, and lets a wrong skill id be a
403 and a malformed body a 400. The module depends only on ``cryptography`` and the standard
library, so it can be used and tested without Flask.
"""

from __future__ import annotations

import base64
import binascii
import functools
import ipaddress
import json
import logging
import posixpath
import ssl
import threading
import urllib.error
import urllib.request
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.utils import CryptographyDeprecationWarning
from cryptography.x509.verification import PolicyBuilder, Store
from cryptography.x509.verification import VerificationError as ChainVerificationError

from skill.app import nesting_depth  # the one iterative depth count (read_envelope's)

log = logging.getLogger(__name__)

CERT_URL_HEADER = "SignatureCertChainUrl"
SIGNATURE_HEADER = "Signature-256"
CERT_URL_HOST = "s3.amazonaws.com"
CERT_URL_PATH_PREFIX = "/echo.api/"
CERT_SAN = "echo-api.amazon.com"

#: Alexa's limit for an ordinary request's timestamp, either side of now.
TIMESTAMP_TOLERANCE = timedelta(seconds=150)
#: Skill events (enabled, disabled, permission changes...) may be delivered up to an hour late.
SKILL_EVENT_TOLERANCE = timedelta(hours=1)
SKILL_EVENT_TYPES = frozenset(
    {
        "AlexaSkillEvent.SkillEnabled",
        "AlexaSkillEvent.SkillDisabled",
        "AlexaSkillEvent.SkillPermissionChanged",
        "AlexaSkillEvent.SkillPermissionAccepted",
        "AlexaSkillEvent.SkillAccountLinked",
    }
)

#: A whole response must reach Alexa within about 8 s, so a slow certificate host must not eat it.
DEFAULT_FETCH_TIMEOUT = 3.0
#: Amazon's chain is about 7 KB; anything far larger is not a certificate chain.
MAX_CHAIN_BYTES = 64 * 1024
DEFAULT_CACHE_TTL = timedelta(hours=1)
#: Only verified chains are cached, so this bounds memory, not attacker-chosen URLs.
MAX_CACHED_CHAINS = 16
#: A URL whose chain could not be fetched or trusted is refused without a new fetch this long,
#: so a burst of requests naming a dead or slow URL costs one fetch, not one each.
DEFAULT_FAILURE_TTL = timedelta(seconds=30)
#: Failures are cached per URL, which requests choose: this bounds that memory.
MAX_CACHED_FAILURES = 256
#: Alexa's envelopes are about a dozen levels deep. The SDK copies and serializes parts of an
#: envelope recursively (AttributesManager deep-copies session attributes), so a few hundred
#: levels would raise RecursionError inside the skill: refuse them here, as malformed.
MAX_JSON_DEPTH = 64

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class RequestRefused(Exception):
    """A request that must not reach the skill; ``status`` is the HTTP status to answer with."""

    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WrongSkill(RequestRefused):
    """A correctly signed request meant for another skill."""

    status = 403


# --------------------------------------------------------------------------- certificate URL


def validate_cert_chain_url(url: str) -> str:
    """Return the canonical https URL of ``url`` if Alexa may use it, else raise RequestRefused.

    The rules are Amazon's: scheme https, host s3.amazonaws.com (case-insensitive), port 443 if
    given, and a path that after percent-decoding and normalization starts with ``/echo.api/``
    (case-sensitive). Normalizing first means ``/echo.api/../echo.api/x.pem`` is accepted and
    ``/echo.api/../x.pem`` is refused. User info, query and fragment are refused because an
    Amazon URL has none. The returned URL is the one to fetch and to cache under, so what is
    fetched is exactly what was checked.
    """
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise RequestRefused(f"certificate URL is not a URL: {exc}") from exc
    if parts.scheme.lower() != "https":
        raise RequestRefused(f"certificate URL scheme is not https: {parts.scheme!r}")
    if (parts.hostname or "") != CERT_URL_HOST:  # .hostname is already lower-cased
        raise RequestRefused(f"certificate URL host is not {CERT_URL_HOST}: {parts.hostname!r}")
    if port is not None and port != 443:
        raise RequestRefused(f"certificate URL port is not 443: {port}")
    if parts.username is not None or parts.password is not None:
        raise RequestRefused("certificate URL carries user info")
    if parts.query or parts.fragment:
        raise RequestRefused("certificate URL carries a query or fragment")
    path = posixpath.normpath(unquote(parts.path)) if parts.path else ""
    if not path.startswith(CERT_URL_PATH_PREFIX):
        raise RequestRefused(f"certificate URL path is not under {CERT_URL_PATH_PREFIX}: {path!r}")
    return f"https://{CERT_URL_HOST}{quote(path)}"


# --------------------------------------------------------------------------- fetching


class ChainFetcher(Protocol):
    """Fetches the PEM bytes at an already validated certificate URL."""

    def __call__(self, url: str, timeout: float) -> bytes: ...


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Refuses redirects: a redirect would lead away from the URL the rules approved."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@functools.cache  # two threads' very first fetches may each build one; one is kept
def _opener() -> urllib.request.OpenerDirector:
    """The one opener every fetch shares: one TLS context (CA store loaded once), no redirects."""
    return urllib.request.build_opener(
        _NoRedirects, urllib.request.HTTPSHandler(context=ssl.create_default_context())
    )


def fetch_chain(url: str, timeout: float) -> bytes:
    """GET ``url`` with a socket timeout, no redirects and a size cap; return the body."""
    try:
        with _opener().open(url, timeout=timeout) as response:
            if response.status != 200:
                raise RequestRefused(f"certificate fetch answered HTTP {response.status}")
            data: bytes = response.read(MAX_CHAIN_BYTES + 1)
    except RequestRefused:
        raise
    except urllib.error.HTTPError as exc:
        raise RequestRefused(f"certificate fetch answered HTTP {exc.code}") from exc
    except (OSError, ValueError) as exc:  # URLError, timeouts and resets are all OSError
        raise RequestRefused(f"certificate fetch failed: {exc}") from exc
    if len(data) > MAX_CHAIN_BYTES:
        raise RequestRefused(f"certificate chain is larger than {MAX_CHAIN_BYTES} bytes")
    return data


def _is_loopback_host(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LoopbackRewritingFetcher:
    """TEST ONLY: fetches a validated Amazon certificate URL's path from a loopback server.

    Alexa's rules allow only ``https://s3.amazonaws.com/echo.api/...``, which tests and
    benchmarks cannot serve. This fetcher keeps every rule (they are checked on the original URL
    before it is called) and only replaces the scheme, host and port of the approved URL with
    ``base``, which must be an http(s) URL on a loopback address so that it can never send a
    production server's fetches elsewhere.
    """

    def __init__(self, base: str, fetch: ChainFetcher = fetch_chain) -> None:
        parts = urlsplit(base)
        if parts.scheme not in ("http", "https") or not _is_loopback_host(parts.hostname or ""):
            raise ValueError(f"certificate fetch base must be an http(s) loopback URL: {base!r}")
        self.base = base.rstrip("/")
        self._fetch = fetch

    def __call__(self, url: str, timeout: float) -> bytes:
        return self._fetch(self.base + urlsplit(url).path, timeout)


# --------------------------------------------------------------------------- chain verification


def load_pem_certificates(pem: bytes) -> list[x509.Certificate]:
    """Parse every certificate in a PEM bundle, skipping blocks this cryptography cannot read."""
    marker = b"-----END CERTIFICATE-----"
    certificates: list[x509.Certificate] = []
    for block in pem.split(marker)[:-1]:
        try:
            with warnings.catch_warnings():
                # Some long-trusted roots (Starfield Services Root G2, Go Daddy...) have serial 0,
                # which cryptography warns will one day be an error; when it is, the ValueError
                # below skips just that root.
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                certificates.append(x509.load_pem_x509_certificate(block + marker))
        except ValueError:
            log.debug("skipping a certificate that cannot be parsed")
    return certificates


def system_trust_roots() -> list[x509.Certificate]:
    """Return the system's trusted root certificates (certifi's when the system has none)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile):
        if candidate and Path(candidate).is_file():
            roots = load_pem_certificates(Path(candidate).read_bytes())
            if roots:
                return roots
    try:
        import certifi
    except ImportError as exc:
        raise RuntimeError("no trusted root certificates; set CRAMP_COACH_TRUSTED_CA") from exc
    return load_pem_certificates(Path(certifi.where()).read_bytes())


@dataclass(frozen=True)
class VerifiedChain:
    """A certificate chain that passed verification: the signer's key and when trust ends."""

    public_key: rsa.RSAPublicKey
    not_after: datetime


class CertificateChainVerifier:
    """Verifies a PEM chain (leaf first) for ``echo-api.amazon.com`` against trusted roots.

    Uses ``cryptography.x509.verification``: path building to a root in the store, signatures,
    validity at the given time for every certificate, CA constraints, and the leaf's SAN
    (``DNSName("echo-api.amazon.com")``) and server-auth key usage. Certificates in the PEM
    after the leaf are only candidates for intermediates, never trust anchors.
    """

    def __init__(self, roots: Iterable[x509.Certificate]) -> None:
        roots = list(roots)
        if not roots:
            raise ValueError("no trusted root certificates")
        self._store = Store(roots)

    def verify(self, pem: bytes, now: datetime) -> VerifiedChain:
        """Return the verified chain's signing key and expiry, or raise RequestRefused."""
        try:
            certificates = x509.load_pem_x509_certificates(pem)
        except ValueError as exc:
            raise RequestRefused(f"certificate chain is not PEM: {exc}") from exc
        leaf, intermediates = certificates[0], certificates[1:]
        verifier = (
            PolicyBuilder()
            .store(self._store)
            .time(now)
            .build_server_verifier(x509.DNSName(CERT_SAN))
        )
        try:
            chain = verifier.verify(leaf, intermediates)
        except (ChainVerificationError, ValueError) as exc:  # ValueError: malformed extensions
            raise RequestRefused(f"certificate chain not trusted: {exc}") from exc
        key = leaf.public_key()
        if not isinstance(key, rsa.RSAPublicKey):
            raise RequestRefused("signing certificate key is not RSA")
        return VerifiedChain(key, min(c.not_valid_after_utc for c in chain))


@dataclass(frozen=True)
class _CacheEntry:
    chain: VerifiedChain
    expires_at: datetime


@dataclass(frozen=True)
class _Failure:
    refused: RequestRefused
    expires_at: datetime


class _Fetch:
    """One fetch in progress; requests that miss the cache meanwhile wait for its outcome."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.chain: VerifiedChain | None = None
        self.refused: RequestRefused | None = None


def _put(entries: dict[str, Any], url: str, value: Any, limit: int) -> None:
    """Store ``value`` under ``url``, dropping the entry that expires first when full."""
    if url not in entries and len(entries) >= limit:
        entries.pop(min(entries, key=lambda k: entries[k].expires_at))
    entries[url] = value


class CertificateCache:
    """Fetches, verifies and caches certificate chains per canonical URL.

    A verified chain lives until the earlier of ``ttl`` after the fetch and the chain's own
    expiry, so a cached certificate is never used past its validity and a replaced one is
    picked up within ``ttl``. A failure (no answer, not PEM, not trusted) is remembered for
    ``failure_ttl``, and while a URL is being fetched other requests for it wait for that fetch
    (at most the fetch timeout and a second) instead of starting their own: a burst naming a
    dead URL makes one fetch. Fetches happen outside the lock.
    """

    def __init__(
        self,
        verifier: CertificateChainVerifier,
        *,
        fetch: ChainFetcher = fetch_chain,
        timeout: float = DEFAULT_FETCH_TIMEOUT,
        ttl: timedelta = DEFAULT_CACHE_TTL,
        failure_ttl: timedelta = DEFAULT_FAILURE_TTL,
        clock: Clock = utc_now,
        max_entries: int = MAX_CACHED_CHAINS,
        max_failures: int = MAX_CACHED_FAILURES,
    ) -> None:
        self._verifier = verifier
        self._fetch = fetch
        self._timeout = timeout
        self._ttl = ttl
        self._failure_ttl = failure_ttl
        self._clock = clock
        self._max_entries = max_entries
        self._max_failures = max_failures
        self._entries: dict[str, _CacheEntry] = {}
        self._failures: dict[str, _Failure] = {}
        self._fetching: dict[str, _Fetch] = {}
        self._lock = threading.Lock()

    def get(self, url: str) -> VerifiedChain:
        """Return the verified chain at the canonical ``url``, fetching it if not cached."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(url)
            if entry is not None and now < entry.expires_at:
                return entry.chain
            failure = self._failures.get(url)
            if failure is not None and now < failure.expires_at:
                raise RequestRefused(f"{failure.refused.reason} (remembered)")
            fetch = self._fetching.get(url)
            leader = fetch is None
            if fetch is None:
                fetch = self._fetching[url] = _Fetch()
        if not leader:
            return self._wait_for(fetch)
        try:
            chain = self._verifier.verify(self._fetch(url, self._timeout), now)
            fetch.chain = chain
        except RequestRefused as refused:
            fetch.refused = refused
            with self._lock:
                _put(self._failures, url, _Failure(refused, now + self._failure_ttl),
                     self._max_failures)
            raise
        finally:
            with self._lock:
                del self._fetching[url]
                if fetch.chain is not None:
                    self._failures.pop(url, None)
                    _put(self._entries, url,
                         _CacheEntry(fetch.chain, min(now + self._ttl, fetch.chain.not_after)),
                         self._max_entries)
            fetch.done.set()  # also after an unexpected error: nobody waits on a dead fetch
        return chain

    def _wait_for(self, fetch: _Fetch) -> VerifiedChain:
        if not fetch.done.wait(self._timeout + 1.0):
            raise RequestRefused("certificate fetch by another request did not finish in time")
        if fetch.chain is not None:
            return fetch.chain
        if fetch.refused is not None:
            raise RequestRefused(f"{fetch.refused.reason} (fetched for another request)")
        raise RequestRefused("certificate fetch by another request failed")


# --------------------------------------------------------------------------- request checks


class HeaderLookup(Protocol):
    """Case-insensitive header access, as werkzeug's ``Headers`` offers."""

    def get(self, key: str, /) -> str | None: ...


def _header(headers: HeaderLookup, name: str) -> str:
    value = headers.get(name)
    if not value:
        raise RequestRefused(f"missing {name} header")
    return value


class SignatureVerifier:
    """Checks ``Signature-256`` over the raw body with the key of the chain at the header's URL."""

    def __init__(self, certificates: CertificateCache) -> None:
        self._certificates = certificates

    def verify(self, headers: HeaderLookup, body: bytes) -> None:
        """Return if the body was signed by a trusted Alexa certificate, else raise."""
        cert_url = _header(headers, CERT_URL_HEADER)
        signature_b64 = _header(headers, SIGNATURE_HEADER)
        try:
            signature = base64.b64decode(signature_b64, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise RequestRefused(f"{SIGNATURE_HEADER} is not base64") from exc
        chain = self._certificates.get(validate_cert_chain_url(cert_url))
        try:
            chain.public_key.verify(signature, body, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature as exc:
            raise RequestRefused("signature does not match the body") from exc


def parse_envelope(body: bytes) -> dict[str, Any]:
    """Return the JSON request envelope in ``body``, or raise RequestRefused if malformed."""
    try:
        envelope = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        # ValueError: not UTF-8, not JSON, or an integer longer than Python converts (4300
        # digits); RecursionError: nested deeper than the parser's recursion limit.
        raise RequestRefused(f"malformed JSON: {type(exc).__name__}: {exc}"[:200]) from exc
    depth = nesting_depth(envelope, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        raise RequestRefused(f"malformed request envelope: nested over {MAX_JSON_DEPTH} levels")
    if not isinstance(envelope, dict) or not isinstance(envelope.get("request"), dict):
        raise RequestRefused("malformed request envelope: no request object")
    if not isinstance(envelope["request"].get("type"), str):
        raise RequestRefused("malformed request envelope: no request type")
    return envelope


class TimestampVerifier:
    """Checks that ``request.timestamp`` is within 150 s of now (an hour for skill events)."""

    def __init__(self, clock: Clock = utc_now) -> None:
        self._clock = clock

    def verify(self, envelope: Mapping[str, Any]) -> None:
        """Return if the request is fresh, else raise RequestRefused."""
        request = envelope["request"]
        raw = request.get("timestamp")
        try:
            stamp = datetime.fromisoformat(raw) if isinstance(raw, str) else None
        except ValueError:
            stamp = None
        if stamp is None:
            raise RequestRefused(f"request timestamp missing or unreadable: {raw!r}")
        if stamp.tzinfo is None:
            stamp = stamp.replace(tzinfo=UTC)  # Alexa sends UTC; be lenient about a missing Z
        tolerance = (
            SKILL_EVENT_TOLERANCE if request["type"] in SKILL_EVENT_TYPES else TIMESTAMP_TOLERANCE
        )
        try:
            skew = stamp - self._clock()
        except OverflowError as exc:  # an offset that moves year 1 or 9999 out of range
            raise RequestRefused(f"request timestamp out of range: {raw!r}") from exc
        if abs(skew) > tolerance:
            direction = "future" if skew > timedelta(0) else "past"
            raise RequestRefused(
                f"request timestamp {raw} is {abs(skew.total_seconds()):.0f} s in the {direction}"
            )


def application_ids(envelope: Mapping[str, Any]) -> list[str]:
    """Return every application id the envelope states (context and session)."""
    found = []
    for path in (("context", "System", "application"), ("session", "application")):
        node: Any = envelope
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and "applicationId" in node:
            found.append(str(node["applicationId"]))
    return found


class ApplicationIdVerifier:
    """Checks that every application id in the envelope is the configured skill id."""

    def __init__(self, skill_id: str) -> None:
        self.skill_id = skill_id

    def verify(self, envelope: Mapping[str, Any]) -> None:
        """Return if the request is for this skill, else raise WrongSkill (403)."""
        ids = application_ids(envelope)
        if not ids:
            raise WrongSkill("request states no application id")
        wrong = [i for i in ids if i != self.skill_id]
        if wrong:
            raise WrongSkill(f"request is for another skill: {wrong[0]}")


class AlexaRequestVerifier:
    """Runs every check on one request and returns its parsed envelope.

    With ``verify_signature`` off (an explicit, logged choice for local consoles) the signature
    and timestamp are skipped; the JSON and, when ``skill_id`` is set, the application id are
    still checked.
    """

    def __init__(
        self,
        certificates: CertificateCache | None,
        *,
        skill_id: str | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self._signature = SignatureVerifier(certificates) if certificates is not None else None
        self._timestamp = TimestampVerifier(clock)
        self._application = ApplicationIdVerifier(skill_id) if skill_id else None

    @property
    def verifies_signatures(self) -> bool:
        """Whether requests must be signed by Alexa."""
        return self._signature is not None

    def verify(self, headers: HeaderLookup, body: bytes) -> dict[str, Any]:
        """Return the request envelope if the request may reach the skill, else raise."""
        if self._signature is not None:
            self._signature.verify(headers, body)  # on the raw bytes, before parsing them
        envelope = parse_envelope(body)
        if self._signature is not None:
            self._timestamp.verify(envelope)
        if self._application is not None:
            self._application.verify(envelope)
        return envelope
