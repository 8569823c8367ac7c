"""The HTTP client the skill's outbound calls go through: bounded in time, TLS-verified, kept alive.

`ask_sdk_core.api_client.DefaultApiClient` waits forever and refuses plain http outright
(PLATFORM.md trap 4). Alexa drops a skill response after about 8 seconds, so every call
here has a connect timeout and a read deadline, and plain http is allowed for loopback
only, where the local stand-in of the Timers API listens.

Connections are kept alive (`Connections`): one per endpoint (scheme, host, port) for the
life of the process, and as many more as threads call at once (the web service's workers).
A new TLS handshake costs more than the call itself; a routine makes a dozen Timers API calls
and a warm Lambda serves many turns. A connection the server has closed while it sat idle is
noticed before it is used (its socket is readable) and replaced; one that dies just as a
request goes out is replayed once on a fresh connection when that is safe (see
`Connections.request`).

Failures are raised as `ApiClientError` (an `ask_sdk_core` `ApiClientException`) whose
`kind` says what went wrong. The SDK's service clients wrap it in a
`ServiceException(status_code=500)`; the original stays reachable as `__context__`, which
is how `skill.timers` tells a timeout from a real 500. skill.memory's DynamoDB client sends
through `Connections` too.
"""

from __future__ import annotations

import http.client
import ipaddress
import json
import os
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
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
# turn, so two slow calls never stack up. A replay on a fresh connection (below) happens only
# after a failure that took no time (the old connection was already closed), so it does not
# add a second timeout.
CONNECT_TIMEOUT_S = 1.0
READ_TIMEOUT_S = 2.5

# A connection idle longer than this is closed rather than reused. Servers and NAT gateways
# drop idle connections after a minute or more (an ALB after 60 s, by default), sometimes
# without a word; past 30 s the handshake a fresh connection costs is cheaper than the risk
# of a request on a dead one waiting out the read timeout. Turns of one session come seconds
# apart, so a session keeps its connection.
KEEP_ALIVE_IDLE_S = 30.0
# Idle connections kept per endpoint: one per thread that called at the same time, up to this.
MAX_IDLE_PER_ENDPOINT = 4
# Methods HTTP defines as idempotent: sending one twice does what sending it once does.
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})

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

Endpoint = tuple[str, str, int | None]  # (scheme, host, port)


class ApiClientError(ApiClientException):
    """A call that got no usable HTTP response; `kind` names the reason.

    `unanswered`: the connection failed before any byte of a response came back, so the
    server may not have seen the request at all (what a replay needs to know)."""

    def __init__(self, kind: FailureKind, detail: str, *, unanswered: bool = False) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: FailureKind = kind
        self.unanswered = unanswered


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


@dataclass(frozen=True, slots=True)
class Reply:
    """A whole HTTP response: status, headers in order, and the body read to its end."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


class Connections:
    """Kept-alive HTTP and HTTPS connections, per endpoint, shared by every thread.

    A request takes an idle connection to its endpoint (or opens one), and gives it back once
    the whole response is read, unless the server asked to close it. Two threads never share
    a connection at the same time: each takes its own from the idle list. After a fork (a web
    server's workers), the child starts with no idle connections, since the sockets belong to
    the parent.
    """

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        ssl_context: Callable[[], ssl.SSLContext],
        idle_s: float = KEEP_ALIVE_IDLE_S,
        max_idle: int = MAX_IDLE_PER_ENDPOINT,
    ) -> None:
        """`ssl_context` is called when an HTTPS connection is opened (build it once there)."""
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self.idle_s = idle_s
        self.max_idle = max_idle
        self._ssl_context = ssl_context
        self._idle: dict[Endpoint, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self._pid = os.getpid()
        self.opened = 0  # connections opened so far (the tests and the benchmark read it)

    def request(
        self,
        endpoint: Endpoint,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        *,
        replay: bool,
    ) -> Reply:
        """Send one request and read the whole response; raise ApiClientError without one.

        `replay`: whether the request may be sent a second time when a kept-alive connection
        turns out to be dead (the server closed it just as the request went out, or the
        network dropped it while the process slept) and no byte of an answer came back. A
        server that never saw the request gets it once; one that saw it and then lost the
        connection may get it twice, so only requests that mean the same sent twice (or
        callers that handle a repeat) should say yes. A request on a fresh connection is
        never replayed: its failure is the server's answer.
        """
        conn = self._take_idle(endpoint)
        if conn is not None:
            try:
                return self._finish(endpoint, conn, method, target, headers, body)
            except ApiClientError as error:
                if not (replay and error.unanswered):
                    raise
        conn = self._open(endpoint)
        return self._finish(endpoint, conn, method, target, headers, body)

    def close(self) -> None:
        """Close every idle connection (those in use are closed when their call ends)."""
        with self._lock:
            idle, self._idle = self._idle, {}
        for conns in idle.values():
            for conn, _since in conns:
                conn.close()

    def idle_count(self, endpoint: Endpoint | None = None) -> int:
        """How many idle connections are kept (to one endpoint, or to all)."""
        with self._lock:
            if endpoint is not None:
                return len(self._idle.get(endpoint, ()))
            return sum(len(conns) for conns in self._idle.values())

    # Internals.

    def _take_idle(self, endpoint: Endpoint) -> http.client.HTTPConnection | None:
        """The most recently used live idle connection to endpoint, if any; drops dead ones."""
        stale: list[http.client.HTTPConnection] = []
        found = None
        with self._lock:
            if self._pid != os.getpid():
                self._idle, self._pid = {}, os.getpid()  # a forked child: the parent's sockets
            conns = self._idle.get(endpoint)
            now = time.monotonic()
            while conns:
                conn, since = conns.pop()
                if now - since <= self.idle_s and not _closed_by_peer(conn):
                    found = conn
                    break
                stale.append(conn)
        for conn in stale:
            conn.close()
        return found

    def _give_back(self, endpoint: Endpoint, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            conns = self._idle.setdefault(endpoint, [])
            if len(conns) < self.max_idle and self._pid == os.getpid():
                conns.append((conn, time.monotonic()))
                return
        conn.close()

    def _open(self, endpoint: Endpoint) -> http.client.HTTPConnection:
        scheme, host, port = endpoint
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=self.connect_timeout, context=self._ssl_context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=self.connect_timeout)
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
        # http.client sends a request's headers and body in two writes; with Nagle's
        # algorithm the second waits for the server's delayed ACK of the first (40 ms on
        # Linux) once a kept-alive connection is past its first exchanges.
        if conn.sock is not None:
            conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            self.opened += 1
        return conn

    def _finish(
        self,
        endpoint: Endpoint,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> Reply:
        """One exchange on conn; conn goes back to the idle list if it can carry another."""
        try:
            reply, reusable = self._exchange(conn, method, target, headers, body)
        except BaseException:
            conn.close()  # in an unknown state: half a request or half a response
            raise
        if reusable:
            self._give_back(endpoint, conn)
        else:
            conn.close()
        return reply

    def _exchange(
        self,
        conn: http.client.HTTPConnection,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
    ) -> tuple[Reply, bool]:
        # One deadline for sending and the whole reply: a per-recv timeout alone would let a
        # server that trickles bytes keep the skill waiting past Alexa's limit.
        deadline = time.monotonic() + self.read_timeout
        sock = conn.sock
        answered = False
        try:
            if sock is not None:
                sock.settimeout(self.read_timeout)
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            answered = True
            chunks = []
            # The response counts as closed once its body has been read to the end (the
            # socket itself stays open for the next request unless the server closes it).
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
            raise ApiClientError(
                "connection_dropped", repr(e), unanswered=not answered
            ) from e
        except OSError as e:
            raise ApiClientError("connection_failed", str(e), unanswered=not answered) from e
        # http.client drops its socket (conn.sock None) when the server said it will close.
        reusable = conn.sock is not None and response.isclosed()
        return Reply(response.status, list(response.getheaders()), b"".join(chunks)), reusable


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """Whether an idle connection is unusable: gone, or readable (a close or stray bytes).

    An idle HTTP connection has nothing to read until the next request; if it is readable,
    the server has closed it (or sent something no request asked for)."""
    sock = conn.sock
    if sock is None:
        return True
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # a closed descriptor
        return True


class HttpApiClient(ApiClient):
    """An `ask_sdk_model.services.ApiClient` on the standard library's http.client.

    The standard library rather than `requests`: it gives the system trust store (requests
    would use certifi's bundle), and the connect/read split is explicit. Connections are kept
    alive per endpoint (`Connections`); one client serves the whole process (see
    skill.timers.default_api_client), from any thread.
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
        self.connections = Connections(
            connect_timeout=connect_timeout, read_timeout=read_timeout, ssl_context=self._context
        )

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

    def close(self) -> None:
        """Close the idle connections (a later call opens new ones)."""
        self.connections.close()

    def _invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        parts = urlsplit(request.url or "")
        host = parts.hostname
        port = parts.port  # raises ValueError on a malformed port
        if not (parts.scheme == "https" or (parts.scheme == "http" and is_loopback_host(host))):
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
        body = _encode_body(request.body, headers)
        method = (request.method or "GET").upper()
        # Timer calls that are not idempotent (create, pause, resume are POSTs) are not
        # replayed: a second create could set a second timer.
        reply = self.connections.request(
            (parts.scheme, host, port), method, target, headers, body,
            replay=method in IDEMPOTENT,
        )
        text = reply.body.decode("utf-8", errors="replace")
        return ApiClientResponse(
            headers=reply.headers,
            status_code=reply.status,
            body=error_body_for_sdk(reply.status, text),
        )

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
