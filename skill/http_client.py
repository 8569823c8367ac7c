"""The HTTP client the skill's Alexa service calls go through: bounded in time, TLS-verified.

`ask_sdk_core.api_client.DefaultApiClient` waits forever and refuses plain http outright
(PLATFORM.md trap 4). Alexa drops a skill response after about 8 seconds, so every call
here has a connect timeout and a read deadline, and plain http is allowed for loopback
only, where the local stand-in of the Timers API listens.

Failures are raised as `ApiClientError` (an `ask_sdk_core` `ApiClientException`) whose
`kind` says what went wrong. The SDK's service clients wrap it in a
`ServiceException(status_code=500)`; the original stays reachable as `__context__`, which
is how `skill.timers` tells a timeout from a real 500.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import ssl
import threading
import time
from typing import Any, Literal
from urllib.parse import urlsplit

from ask_sdk_core.exceptions import ApiClientException
from ask_sdk_model.services import ApiClient, ApiClientRequest, ApiClientResponse

# Budget for one call, inside Alexa's ~8 s for the whole response:
#   cold start + routing + rendering   ~1.5 s (Lambda, warm is far less)
#   connect (TCP + TLS)                 1.0 s: the Alexa API endpoint is in the skill's own
#                                       AWS region and handshakes in tens of ms; if it has not
#                                       answered in 1 s it is not going to in time.
#   read                                2.5 s: the Timers API answers in a few hundred ms;
#                                       2.5 s is several times that and still leaves room.
# Worst case for one failing call: 3.5 s, so the response is still back in about 5 s with
# the spoken fallback. `skill.timers` stops calling after the first transport failure in a
# turn, so two slow calls never stack up.
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 2.5

FailureKind = Literal[
    "timeout",
    "connection_refused",
    "connection_dropped",
    "connection_failed",
    "tls_error",
    "insecure_url",
    "bad_request",  # the request could not be sent as given (malformed URL or header)
]

_CHUNK = 64 * 1024


class ApiClientError(ApiClientException):
    """A call that got no usable HTTP response; `kind` names the reason."""

    def __init__(self, kind: FailureKind, detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind


def is_loopback_host(host: str | None) -> bool:
    """True for localhost and literal addresses in 127.0.0.0/8 or ::1."""
    if not host:
        return False
    if host.rstrip(".").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class HttpApiClient(ApiClient):
    """An `ask_sdk_model.services.ApiClient` on the standard library's http.client.

    The standard library rather than `requests`: it gives the system trust store (requests
    would use certifi's bundle), and the connect/read split is explicit. One connection per
    call; on Lambda there is about one call per invocation, so pooling would buy little.
    """

    def __init__(
        self,
        *,
        connect_timeout: float = CONNECT_TIMEOUT_S,
        read_timeout: float = READ_TIMEOUT_S,
        ssl_context: ssl.SSLContext | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        """`ca_bundle`: a CA file for outbound HTTPS (Settings.ca_bundle); None: the system's."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._ssl_context = ssl_context
        self.ca_bundle = ca_bundle
        self._lock = threading.Lock()

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        """Send one request; raise ApiClientError when no HTTP response comes back."""
        try:
            return self._invoke(request)
        except ApiClientError:
            raise
        except Exception as e:
            # Anything else (a malformed URL or header) must still read as "no answer", not
            # as the HTTP 500 the SDK would otherwise report for it.
            raise ApiClientError("bad_request", repr(e)) from e

    def _invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        parts = urlsplit(request.url or "")
        host = parts.hostname
        port = parts.port  # raises ValueError on a malformed port
        if parts.scheme == "https":
            secure = True
        elif parts.scheme == "http" and is_loopback_host(host):
            secure = False
        else:
            # Refused before any socket is opened: a token must never travel in clear text.
            raise ApiClientError(
                "insecure_url",
                f"only https, or http to loopback, is allowed: {parts.scheme}://{host}",
            )
        if not host:
            raise ApiClientError("insecure_url", "the URL has no host")

        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        headers = _merge_headers(request.headers)
        headers["Connection"] = "close"
        body = _encode_body(request.body, headers)

        conn: http.client.HTTPConnection
        if secure:
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=self._context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
        try:
            self._connect(conn)
            return self._exchange(conn, request.method or "GET", target, headers, body)
        finally:
            conn.close()

    def _context(self) -> ssl.SSLContext:
        # Built once: loading a trust store costs a few milliseconds.
        with self._lock:
            if self._ssl_context is None:
                # cafile=None loads the system trust store (which itself honours SSL_CERT_FILE
                # and SSL_CERT_DIR); verification and hostname checks are on by default.
                bundle = self.ca_bundle
                try:
                    self._ssl_context = ssl.create_default_context(cafile=bundle)
                except OSError as e:  # a bundle path that does not exist or does not parse
                    raise ApiClientError("tls_error", f"cannot load CA bundle {bundle}: {e}") from e
            return self._ssl_context

    def _connect(self, conn: http.client.HTTPConnection) -> None:
        try:
            conn.connect()
        except TimeoutError as e:
            raise ApiClientError("timeout", f"connect took over {self.connect_timeout} s") from e
        except ConnectionRefusedError as e:
            raise ApiClientError("connection_refused", str(e)) from e
        except ssl.SSLError as e:
            raise ApiClientError("tls_error", str(e)) from e
        # Name resolution is not bounded by the timeout; on Lambda the resolver answers from
        # the VPC's cache in milliseconds.
        except OSError as e:  # DNS failure, unreachable network, reset during the handshake
            raise ApiClientError("connection_failed", str(e)) from e

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> ApiClientResponse:
        # One deadline for sending and the whole reply: a per-recv timeout alone would let a
        # server that trickles bytes keep the skill waiting past Alexa's limit.
        deadline = time.monotonic() + self.read_timeout
        sock = conn.sock
        try:
            if sock is not None:
                sock.settimeout(self.read_timeout)
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            chunks = []
            # The response closes the socket itself once the body is complete.
            while not response.isclosed():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError
                if sock is not None:
                    sock.settimeout(remaining)
                chunk = response.read(_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError as e:
            raise ApiClientError("timeout", f"no full reply within {self.read_timeout} s") from e
        except (ConnectionError, http.client.HTTPException) as e:
            # Includes RemoteDisconnected: the server closed the socket without answering.
            raise ApiClientError("connection_dropped", repr(e)) from e
        except OSError as e:
            raise ApiClientError("connection_failed", str(e)) from e

        text = b"".join(chunks).decode("utf-8", errors="replace")
        return ApiClientResponse(
            headers=list(response.getheaders()),
            status_code=response.status,
            body=error_body_for_sdk(response.status, text),
        )


def _merge_headers(pairs: list[tuple[str, str]] | None) -> dict[str, str]:
    merged: dict[str, str] = {}
    for key, value in pairs or []:
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def _encode_body(body: Any, headers: dict[str, str]) -> bytes | None:
    if body is None or body == "":
        return None
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    # The service clients hand over the serializer's dict; the wire format is JSON.
    if not any(key.lower() == "content-type" for key in headers):
        headers["Content-Type"] = "application/json"
    return json.dumps(body).encode("utf-8")


def error_body_for_sdk(status: int, text: str) -> str:
    """Keep a failed call's status code visible through the SDK.

    The SDK parses the body of a declared error code as JSON; an empty or HTML body (a
    gateway's error page, say) would raise SerializationException and lose the status.
    """
    if status < 400:
        return text
    if not text.strip():
        return "null"
    try:
        json.loads(text)
    except ValueError:
        return json.dumps({"code": "NON_JSON_ERROR_BODY", "message": text[:500]})
    return text
