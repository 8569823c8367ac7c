"""The skill as a web service: flask-ask-sdk's SkillAdapter behind Alexa request verification.

``create_app()`` returns a Flask app with two routes:

- ``POST /``: the body is read (at most ``max_body_bytes``, whether it comes with a
  Content-Length or chunked), checked by
  :class:`skill.request_verification.AlexaRequestVerifier` on its raw bytes (signature,
  certificate URL and chain, timestamp, skill id) and parsed as JSON once; then
  :func:`skill.app.read_envelope`, the one policy the Lambda entry point follows too, turns it
  into the SDK's envelope (a request the SDK cannot represent becomes one the skill answers as
  not understood), and :class:`EnvelopeSkillAdapter`, flask-ask-sdk's SkillAdapter, dispatches
  that envelope to the skill without deserializing the body a second time. The adapter's own
  verifiers are switched off: its pinned version (see pyproject.toml) knows only the retired
  SHA-1 header, and it would turn a wrong skill id or a malformed body into 500s.
- ``GET /healthz``: 200 for a load balancer.

Refusals are 4xx: 400 for failed verification or a body that is not a request envelope (not
UTF-8 JSON, nested over 64 levels, no request with a type), 403 for another skill's request,
413 for a body over ``max_body_bytes``, 404 and 405 for other paths and methods. Every error
body is a fixed reason per status (:data:`ERROR_REASONS`); what exactly was wrong is only in
the log, one warning line per refusal.

Configuration is a :class:`skill.settings.Settings` (default: ``Settings.from_env()``); nothing
here reads the environment. Keyword arguments override it, for tests and tools:

- ``verify`` (``CRAMP_COACH_VERIFY=off``): either one off turns signature and timestamp checks
  off, for a local console only; the app then warns at start and on every request's log line.
- ``skill_id`` (``CRAMP_COACH_SKILL_ID``): requests for any other application id get 403. With
  verification on and no skill id the app refuses to start, unless ``allow_any_skill=True``
  says that accepting every skill's signed requests is meant.
- ``trusted_roots_pem`` (``CRAMP_COACH_TRUSTED_CA``, a PEM file): replaces the system's roots.
- ``cert_fetch_base`` (``CRAMP_COACH_CERT_FETCH_BASE``): TEST ONLY. An http(s) loopback URL from
  which the certificate chains are fetched instead of s3.amazonaws.com (the URL rules still
  apply to the request's URL); anything not on loopback is refused at start.

Production: ``gunicorn -w 2 -b 127.0.0.1:8080 'skill.web:create_app()'`` behind an HTTPS proxy.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import IO, Any

from ask_sdk_core.exceptions import AskSdkException
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope
from ask_sdk_webservice_support.webservice_handler import WebserviceSkillHandler
from flask import Flask, Response, jsonify, request
from flask_ask_sdk.skill_adapter import (
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)
from werkzeug.exceptions import HTTPException, InternalServerError, RequestEntityTooLarge

from skill.app import NotAnEnvelope, read_envelope
from skill.request_verification import (
    DEFAULT_CACHE_TTL,
    DEFAULT_FAILURE_TTL,
    DEFAULT_FETCH_TIMEOUT,
    AlexaRequestVerifier,
    CertificateCache,
    CertificateChainVerifier,
    ChainFetcher,
    LoopbackRewritingFetcher,
    RequestRefused,
    fetch_chain,
    load_pem_certificates,
    system_trust_roots,
    utc_now,
)
from skill.settings import ENV_SKILL_ID, ENV_TRUSTED_CA, Settings, SettingsError

log = logging.getLogger(__name__)

#: Alexa's requests are a few kilobytes; 128 KiB leaves room for large display contexts.
MAX_BODY_BYTES = 128 * 1024
UNVERIFIED = "UNVERIFIED (request verification is off): "

#: The whole error body a client gets, by status: nothing about what went wrong inside.
ERROR_REASONS = {
    400: "bad request",
    403: "forbidden",
    404: "not found",
    405: "method not allowed",
    413: "request too large",
    500: "internal error",
}


def error_reason(status: int) -> str:
    """The fixed text an error body carries for ``status``."""
    if status in ERROR_REASONS:
        return ERROR_REASONS[status]
    try:
        return HTTPStatus(status).phrase.lower()
    except ValueError:
        return "error"


class _EnvelopeHandler(WebserviceSkillHandler):
    """The SDK's web-service handler, given the envelope already read instead of the body."""

    def dispatch_envelope(self, envelope: RequestEnvelope) -> Any:
        """Invoke the skill and return the serialized response (as verify_request_and_dispatch
        does after its deserialization and verifiers, which have both happened already)."""
        response = self._skill.invoke(request_envelope=envelope, context=None)
        return self._skill.serializer.serialize(response)


class EnvelopeSkillAdapter(SkillAdapter):
    """flask-ask-sdk's SkillAdapter, dispatching an envelope the view has verified and read.

    SkillAdapter.dispatch_request deserializes ``request.data`` itself; the view has done that
    once already (and applied the entry points' shared policy for unreadable requests), so this
    adapter takes the envelope. Registration, the user agent and the response's JSON are the
    adapter's own.
    """

    def _create_webservice_handler(self, skill: CustomSkill, verifiers: Any) -> None:
        # No verifiers of the adapter's: skill/request_verification.py has checked the request.
        self._webservice_handler = _EnvelopeHandler(
            skill=skill, verify_signature=False, verify_timestamp=False, verifiers=[]
        )
        self._webservice_handler._add_custom_user_agent("flask-ask-sdk")

    def dispatch_request(self) -> Response:
        raise NotImplementedError("the body is read by the view: use dispatch_envelope")

    def dispatch_envelope(self, envelope: RequestEnvelope) -> Response:
        """The skill's answer to ``envelope`` as a JSON response (500 if the SDK fails)."""
        try:
            return jsonify(self._webservice_handler.dispatch_envelope(envelope))
        except AskSdkException as exc:
            log.error("skill dispatch failed", exc_info=True)
            raise InternalServerError() from exc


def _trusted_roots(
    trusted_roots_pem: bytes | str | None, settings: Settings
) -> CertificateChainVerifier:
    if trusted_roots_pem is None and settings.trusted_ca is not None:
        try:
            trusted_roots_pem = settings.trusted_ca.read_bytes()
        except OSError as exc:
            raise SettingsError(f"{ENV_TRUSTED_CA}: cannot read {settings.trusted_ca}: "
                                f"{exc.strerror}") from exc
        log.info("trusting only the certificates in %s (%s)", settings.trusted_ca, ENV_TRUSTED_CA)
    if trusted_roots_pem is None:
        return CertificateChainVerifier(system_trust_roots())
    if isinstance(trusted_roots_pem, str):
        trusted_roots_pem = trusted_roots_pem.encode()
    roots = load_pem_certificates(trusted_roots_pem)
    if not roots:
        raise SettingsError(f"the trusted CA PEM holds no certificate ({ENV_TRUSTED_CA})")
    return CertificateChainVerifier(roots)


def _fetcher(base: str | None) -> ChainFetcher:
    if base is None:
        return fetch_chain
    fetcher = LoopbackRewritingFetcher(base)  # raises unless base is on loopback
    log.warning("TEST ONLY: fetching Alexa certificate chains from %s", fetcher.base)
    return fetcher


def _read_body(stream: IO[bytes], limit: int) -> bytes:
    """The whole body, or 413 when it is longer than ``limit`` bytes.

    ``stream`` is werkzeug's guarded one: it ends at Content-Length, and a chunked body (no
    length; the server ends the stream) is cut at MAX_CONTENT_LENGTH, set to limit + 1 so that
    reading limit + 1 bytes tells a body over the limit from one exactly at it.
    """
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)  # may return less than asked: loop
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def create_app(
    skill: CustomSkill | None = None,
    *,
    settings: Settings | None = None,
    verify: bool = True,
    skill_id: str | None = None,
    allow_any_skill: bool = False,
    trusted_roots_pem: bytes | str | None = None,
    clock: Callable[[], datetime] | None = None,
    cert_fetch_base: str | None = None,
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
    cert_cache_ttl: timedelta = DEFAULT_CACHE_TTL,
    failed_fetch_ttl: timedelta = DEFAULT_FAILURE_TTL,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Flask:
    """Return the Flask app that serves ``skill`` (default: built from the settings) to Alexa.

    ``settings`` defaults to ``Settings.from_env()``; the keyword arguments override it.
    ``verify`` is ANDed with the settings' ``verify``, so either can turn verification off but
    neither alone on again. With verification on, a skill id is required unless
    ``allow_any_skill`` (SettingsError otherwise). ``clock`` returns an aware UTC datetime;
    tests inject one to move time.
    """
    settings = settings if settings is not None else Settings.from_env()
    settings = dataclasses.replace(
        settings,
        verify=verify and settings.verify,
        skill_id=skill_id or settings.skill_id,
        cert_fetch_base=cert_fetch_base or settings.cert_fetch_base,
    )
    verify = settings.verify
    if verify and settings.skill_id is None and not allow_any_skill:
        # Without an id, any skill's correctly signed requests would reach this one.
        raise SettingsError(
            f"{ENV_SKILL_ID} is not set: with verification on, the web service accepts only "
            "its own skill's requests (amzn1.ask.skill.<id>); to accept any skill's, say so "
            "explicitly (create_app(allow_any_skill=True), `cramp-coach serve --any-skill`)"
        )
    if skill is None:
        from skill.app import build_skill

        skill = build_skill(settings)
    clock = clock or utc_now

    certificates = None
    if verify:
        certificates = CertificateCache(
            _trusted_roots(trusted_roots_pem, settings),
            fetch=_fetcher(settings.cert_fetch_base),
            timeout=fetch_timeout,
            ttl=cert_cache_ttl,
            failure_ttl=failed_fetch_ttl,
            clock=clock,
        )
        if settings.skill_id is None:
            log.warning("accepting signed requests for any skill (allow_any_skill)")
    else:
        log.warning(
            "%sany caller can invoke the skill; never expose this server beyond loopback",
            UNVERIFIED,
        )
    verifier = AlexaRequestVerifier(certificates, skill_id=settings.skill_id, clock=clock)
    prefix = "" if verify else UNVERIFIED

    app = Flask(__name__)
    # One more than the limit: see _read_body. werkzeug answers 413 to a longer Content-Length.
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes + 1
    # Our verifier replaces the adapter's (see the module docstring).
    app.config[VERIFY_SIGNATURE_APP_CONFIG] = False
    app.config[VERIFY_TIMESTAMP_APP_CONFIG] = False
    # The adapter's skill_id is only a registry key; it checks nothing (PLATFORM.md, trap 2).
    adapter = EnvelopeSkillAdapter(
        skill=skill, skill_id=settings.skill_id or "cramp-coach", verifiers=[], app=app
    )

    def refuse(status: int, reason: str) -> tuple[Response, int]:
        log.warning(
            "%srefused %s %s -> %d: %s", prefix, request.method, request.path, status, reason
        )
        return jsonify(error=error_reason(status)), status

    # No automatic OPTIONS: anything but POST on / is a 405.
    @app.post("/", provide_automatic_options=False)
    def alexa() -> Any:
        started = time.perf_counter()
        body = _read_body(request.stream, max_body_bytes)
        try:
            raw = verifier.verify(request.headers, body)
            envelope = read_envelope(raw)
        except RequestRefused as refused:
            return refuse(refused.status, refused.reason)
        except NotAnEnvelope as exc:
            return refuse(400, f"not a request envelope: {exc}")
        except (AskSdkException, ValueError, TypeError, RecursionError) as exc:
            # read_envelope answers what the SDK cannot represent with a stand-in; should even
            # that fail, the request is still the client's fault, not the server's.
            return refuse(400, f"unreadable request envelope: {type(exc).__name__}: {exc}"[:300])
        response = adapter.dispatch_envelope(envelope)
        log.log(
            logging.INFO if verify else logging.WARNING,
            "%sPOST / %d %r %.1f ms",
            prefix,
            response.status_code,
            raw["request"]["type"][:80],
            (time.perf_counter() - started) * 1000,
        )
        return response

    @app.get("/healthz")
    def healthz() -> Any:
        return jsonify(status="ok", verify=verify)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        if status >= 500:
            log.error("%s%s %s -> %d: %s", prefix, request.method, request.path, status,
                      exc.description)
            return jsonify(error=error_reason(status)), status
        return refuse(status, exc.description or exc.name)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        # The traceback goes to the log; the client learns only that it was not its fault.
        log.error("%s%s %s -> 500", prefix, request.method, request.path, exc_info=exc)
        return jsonify(error=error_reason(500)), 500

    return app


def serve(
    host: str = "127.0.0.1", port: int = 8080, verify: bool = True, allow_any_skill: bool = False
) -> None:
    """Serve the skill with werkzeug's development server (for local use; see gunicorn above)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(verify=verify, allow_any_skill=allow_any_skill or not verify)
    app.run(host=host, port=port, threaded=True)
