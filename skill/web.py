"""The skill as a web service: flask-ask-sdk's SkillAdapter behind Alexa request verification.

``create_app()`` returns a Flask app with two routes:

- ``POST /``: every request is checked by :class:`skill.request_verification.AlexaRequestVerifier`
  on its raw bytes (signature, certificate URL and chain, timestamp, skill id) and must be a
  request envelope the ASK SDK can read; only then does SkillAdapter dispatch it to the skill.
  The adapter's own verifiers are switched off: its pinned version (see pyproject.toml) knows
  only the retired SHA-1 header, and it would turn a wrong skill id or a malformed body into
  500s.
- ``GET /healthz``: 200 for a load balancer.

Refusals are 4xx with a one-line reason in the log: 400 for failed verification or a malformed
body, 403 for another skill's request, 413 for a body over ``max_body_bytes``, 405 for anything
but POST on ``/``.

Configuration (arguments win over the environment):

- ``CRAMP_COACH_VERIFY=off`` (or ``verify=False``) turns signature and timestamp checks off, for a
  local console only; the app then warns at start and on every request's log line.
- ``CRAMP_COACH_SKILL_ID``: when set, requests for any other application id get 403.
- ``CRAMP_COACH_TRUSTED_CA``: a PEM file whose certificates replace the system's trusted roots.
- ``CRAMP_COACH_CERT_FETCH_BASE``: TEST ONLY. An http(s) loopback URL from which the certificate
  chains are fetched instead of s3.amazonaws.com (the URL rules still apply to the request's
  URL); anything not on loopback is refused at start.

Production: ``gunicorn -w 2 -b 127.0.0.1:8080 'skill.web:create_app()'`` behind an HTTPS proxy.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ask_sdk_core.exceptions import AskSdkException
from ask_sdk_core.skill import CustomSkill
from ask_sdk_model import RequestEnvelope
from flask import Flask, Response, jsonify, request
from flask_ask_sdk.skill_adapter import (
    VERIFY_SIGNATURE_APP_CONFIG,
    VERIFY_TIMESTAMP_APP_CONFIG,
    SkillAdapter,
)
from werkzeug.exceptions import HTTPException

from skill.request_verification import (
    DEFAULT_CACHE_TTL,
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

log = logging.getLogger(__name__)

#: Alexa's requests are a few kilobytes; 128 KiB leaves room for large display contexts.
MAX_BODY_BYTES = 128 * 1024
UNVERIFIED = "UNVERIFIED (request verification is off): "

ENV_VERIFY = "CRAMP_COACH_VERIFY"
ENV_SKILL_ID = "CRAMP_COACH_SKILL_ID"
ENV_TRUSTED_CA = "CRAMP_COACH_TRUSTED_CA"
ENV_CERT_FETCH_BASE = "CRAMP_COACH_CERT_FETCH_BASE"


def _verify_from_env() -> bool:
    value = os.environ.get(ENV_VERIFY, "").strip().lower()
    if value in ("", "on"):
        return True
    if value == "off":
        return False
    # A typo must not leave anyone guessing whether requests are verified.
    raise ValueError(f"{ENV_VERIFY} must be 'on' or 'off', not {value!r}")


def _trusted_roots(trusted_roots_pem: bytes | str | None) -> CertificateChainVerifier:
    if trusted_roots_pem is None and os.environ.get(ENV_TRUSTED_CA):
        path = Path(os.environ[ENV_TRUSTED_CA])
        trusted_roots_pem = path.read_bytes()
        log.info("trusting only the certificates in %s (%s)", path, ENV_TRUSTED_CA)
    if trusted_roots_pem is None:
        return CertificateChainVerifier(system_trust_roots())
    if isinstance(trusted_roots_pem, str):
        trusted_roots_pem = trusted_roots_pem.encode()
    roots = load_pem_certificates(trusted_roots_pem)
    if not roots:
        raise ValueError("the trusted CA PEM holds no certificate")
    return CertificateChainVerifier(roots)


def _fetcher(cert_fetch_base: str | None) -> ChainFetcher:
    base = cert_fetch_base or os.environ.get(ENV_CERT_FETCH_BASE) or None
    if base is None:
        return fetch_chain
    fetcher = LoopbackRewritingFetcher(base)  # raises unless base is on loopback
    log.warning("TEST ONLY: fetching Alexa certificate chains from %s", fetcher.base)
    return fetcher


def create_app(
    skill: CustomSkill | None = None,
    *,
    verify: bool = True,
    skill_id: str | None = None,
    trusted_roots_pem: bytes | str | None = None,
    clock: Callable[[], datetime] | None = None,
    cert_fetch_base: str | None = None,
    fetch_timeout: float = DEFAULT_FETCH_TIMEOUT,
    cert_cache_ttl: timedelta = DEFAULT_CACHE_TTL,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Flask:
    """Return the Flask app that serves ``skill`` (default: ``build_skill()``) to Alexa.

    ``clock`` returns an aware UTC datetime; tests inject one to move time. ``verify`` is ANDed
    with ``CRAMP_COACH_VERIFY``, so either can turn verification off but neither alone on again.
    """
    if skill is None:
        from skill.app import build_skill

        skill = build_skill()
    verify = verify and _verify_from_env()
    skill_id = skill_id or os.environ.get(ENV_SKILL_ID) or None
    clock = clock or utc_now

    certificates = None
    if verify:
        certificates = CertificateCache(
            _trusted_roots(trusted_roots_pem),
            fetch=_fetcher(cert_fetch_base),
            timeout=fetch_timeout,
            ttl=cert_cache_ttl,
            clock=clock,
        )
    else:
        log.warning(
            "%sany caller can invoke the skill; never expose this server beyond loopback",
            UNVERIFIED,
        )
    verifier = AlexaRequestVerifier(certificates, skill_id=skill_id, clock=clock)
    prefix = "" if verify else UNVERIFIED

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes  # werkzeug answers 413 when reading more
    # Our verifier replaces the adapter's (see the module docstring).
    app.config[VERIFY_SIGNATURE_APP_CONFIG] = False
    app.config[VERIFY_TIMESTAMP_APP_CONFIG] = False
    # The adapter's skill_id is only a registry key; it checks nothing (PLATFORM.md, trap 2).
    adapter = SkillAdapter(skill=skill, skill_id=skill_id or "cramp-coach", verifiers=[], app=app)

    def refuse(status: int, reason: str) -> tuple[Response, int]:
        log.warning(
            "%srefused %s %s -> %d: %s", prefix, request.method, request.path, status, reason
        )
        return jsonify(error=reason), status

    @app.post("/")
    def alexa() -> Any:
        started = time.perf_counter()
        body = request.get_data(cache=True)  # raises 413 past MAX_CONTENT_LENGTH
        try:
            envelope = verifier.verify(request.headers, body)
            _check_readable(skill, body)
        except RequestRefused as refused:
            return refuse(refused.status, refused.reason)
        response = adapter.dispatch_request()
        log.log(
            logging.INFO if verify else logging.WARNING,
            "%sPOST / %d %s %.1f ms",
            prefix,
            response.status_code,
            envelope["request"]["type"],
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
            log.error(
                "%s%s %s -> %d: %s", prefix, request.method, request.path, status, exc.description
            )
            return jsonify(error=exc.description), status
        return refuse(status, exc.description or exc.name)

    return app


def _check_readable(skill: CustomSkill, body: bytes) -> None:
    """Refuse (400) a body the SDK cannot deserialize, which SkillAdapter would answer with 500."""
    try:
        skill.serializer.deserialize(payload=body.decode("utf-8"), obj_type=RequestEnvelope)
    except AskSdkException as exc:
        raise RequestRefused(f"malformed request envelope: {exc}") from exc


def serve(host: str = "127.0.0.1", port: int = 8080, verify: bool = True) -> None:
    """Serve the skill with werkzeug's development server (for local use; see gunicorn above)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    app = create_app(verify=verify)
    app.run(host=host, port=port, threaded=True)
