"""A test certificate authority, Alexa-style signed requests, and loopback servers.

Shared by tests/test_web.py and benchmarks/web_bench.py. Everything is made at run time with
``cryptography``; nothing here touches the network beyond 127.0.0.1.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from werkzeug.serving import make_server

ALEXA_SAN = "echo-api.amazon.com"
SKILL_ID = "amzn1.ask.skill.00000000-0000-0000-0000-000000000001"
#: Where Alexa would name the chain; a loopback fetch base serves the same path in tests.
CERT_URL = "https://s3.amazonaws.com/echo.api/echo-api-cert-test.pem"


def new_key() -> rsa.RSAPrivateKey:
    """Return a fresh RSA key of the size Amazon's signing certificates use."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclass
class Issued:
    """A certificate with its private key."""

    cert: x509.Certificate
    key: rsa.RSAPrivateKey

    def pem(self) -> bytes:
        """Return the certificate in PEM."""
        return self.cert.public_bytes(serialization.Encoding.PEM)


def issue(
    common_name: str,
    *,
    issuer: Issued | None = None,
    ca: bool = False,
    san: tuple[str, ...] = (ALEXA_SAN,),
    not_before: datetime | None = None,
    not_after: datetime | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> Issued:
    """Issue a CA or server certificate with the extensions a web PKI verifier requires.

    ``issuer=None`` makes it self-signed (a root when ``ca`` is true).
    """
    key = key or new_key()
    now = datetime.now(UTC)
    not_before = not_before or now - timedelta(days=1)
    not_after = not_after or now + timedelta(days=30)
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.cert.subject if issuer else _name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
    )
    if ca:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        ).add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        builder = (
            builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=True,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False
            )
        )
    return Issued(builder.sign(signer_key, hashes.SHA256()), key)


@dataclass
class TestCA:
    """A root, an intermediate and an echo-api.amazon.com leaf, like Amazon's signing chain."""

    root: Issued
    intermediate: Issued
    leaf: Issued

    __test__ = False  # not a pytest test class

    @classmethod
    def create(cls, name: str = "Cramp Coach Test") -> TestCA:
        """Make a fresh hierarchy."""
        root = issue(f"{name} Root CA", ca=True)
        intermediate = issue(f"{name} Intermediate CA", issuer=root, ca=True)
        return cls(root, intermediate, issue(ALEXA_SAN, issuer=intermediate))

    def root_pem(self) -> bytes:
        """Return the trust anchor to configure the server with."""
        return self.root.pem()

    def chain_pem(self, leaf: Issued | None = None) -> bytes:
        """Return the chain file as Alexa publishes it: leaf, intermediate, root."""
        leaf = leaf or self.leaf
        return leaf.pem() + self.intermediate.pem() + self.root.pem()


def sign(body: bytes, key: rsa.RSAPrivateKey) -> str:
    """Return the Signature-256 header value for ``body``."""
    return base64.b64encode(key.sign(body, padding.PKCS1v15(), hashes.SHA256())).decode()


def alexa_timestamp(when: datetime) -> str:
    """Format a time as Alexa does in request.timestamp."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def launch_request(
    *, timestamp: datetime | None = None, application_id: str = SKILL_ID
) -> dict[str, Any]:
    """Return a LaunchRequest envelope shaped like one from an Echo device."""
    user = {"userId": "amzn1.ask.account.TEST"}
    application = {"applicationId": application_id}
    return {
        "version": "1.0",
        "session": {
            "new": True,
            "sessionId": f"amzn1.echo-api.session.{uuid.uuid4()}",
            "application": application,
            "user": user,
        },
        "context": {
            "System": {
                "application": application,
                "user": user,
                "device": {"deviceId": "amzn1.ask.device.TEST", "supportedInterfaces": {}},
                "apiEndpoint": "https://api.amazonalexa.com",
                "apiAccessToken": "test-token",
            }
        },
        "request": {
            "type": "LaunchRequest",
            "requestId": f"amzn1.echo-api.request.{uuid.uuid4()}",
            "timestamp": alexa_timestamp(timestamp or datetime.now(UTC)),
            "locale": "en-US",
        },
    }


def signed_headers(body: bytes, key: rsa.RSAPrivateKey, cert_url: str = CERT_URL) -> dict[str, str]:
    """Return the headers Alexa sends with ``body`` signed by ``key``."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "SignatureCertChainUrl": cert_url,
        "Signature-256": sign(body, key),
    }


def encode(envelope: dict[str, Any]) -> bytes:
    """Serialize an envelope as Alexa does (compact UTF-8 JSON)."""
    return json.dumps(envelope, separators=(",", ":")).encode()


@dataclass
class ChainServer:
    """A loopback HTTP server that serves certificate chains by path and counts the fetches."""

    files: dict[str, bytes] = field(default_factory=dict)
    #: Paths whose answer is delayed this many seconds, to exercise fetch timeouts.
    delays: dict[str, float] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)

    def __post_init__(self) -> None:
        files, delays, hits = self.files, self.delays, self.hits

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                hits[self.path] += 1
                time.sleep(delays.get(self.path, 0.0))
                data = files.get(self.path)
                try:
                    self.send_response(200 if data is not None else 404)
                    self.send_header("Content-Type", "application/x-pem-file")
                    self.send_header("Content-Length", str(len(data or b"")))
                    self.end_headers()
                    self.wfile.write(data or b"")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # a client that timed out on a delayed path has gone

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        # A short poll interval makes shutdown() return quickly.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        """Stop serving and release the port."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def serve_wsgi(app: Any) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 in a thread; yield its base URL and stop it afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
