"""Kept-alive connections in skill/http_client.py, over real HTTP to the Timers API stand-in.

The stand-in counts the TCP connections it accepts and can close them from its side, as a
server does with idle connections, so these tests see on the wire whether a connection was
reused, replaced, or replayed on.
"""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from ask_sdk_model.services import ApiClientRequest

from skill import http_client, timers
from skill.http_client import ApiClientError, Connections, HttpApiClient
from skill.timers import Done, TimerList, TimerService, TimerSet, TimersUnavailable
from tooling.standins.timers_api import ManualClock, TimersApiStandIn

TOKEN = "token-with-permission"
ANNOUNCE = "Time is up: take the cold compress off now."
LOCALE = "en-US"


@pytest.fixture
def api() -> Iterator[TimersApiStandIn]:
    with TimersApiStandIn(tokens={TOKEN}, clock=ManualClock(), locale=LOCALE) as standin:
        yield standin


@pytest.fixture
def client() -> Iterator[HttpApiClient]:
    client = HttpApiClient()
    yield client
    client.close()


def service(api: TimersApiStandIn, client: HttpApiClient) -> TimerService:
    """A turn's TimerService on the given client (a new one per turn, as the skill makes)."""
    return TimerService.for_endpoint(api.url, TOKEN, api_client=client)


def set_timer(timer_service: TimerService, label: str) -> TimerSet:
    made = timer_service.create(15, label, ANNOUNCE, LOCALE)
    assert isinstance(made, TimerSet), made
    return made


def wait_until(condition: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def list_request(api: TimersApiStandIn) -> ApiClientRequest:
    return ApiClientRequest(url=f"{api.url}/v1/alerts/timers", method="GET",
                            headers=[("Authorization", f"Bearer {TOKEN}")])


def test_several_calls_over_several_turns_share_one_connection(
    api: TimersApiStandIn, client: HttpApiClient
) -> None:
    """Create, read, list, pause and cancel over three turns cross one TCP connection."""
    made = set_timer(service(api, client), "cold-1")
    turn = service(api, client)
    assert turn.get(made.id).id == made.id  # type: ignore[union-attr]
    assert isinstance(turn.list(), TimerList)
    assert turn.pause(made.id) == Done(made.id)
    assert service(api, client).cancel(made.id) == Done(made.id)

    assert len(api.requests) == 5
    assert api.connections == 1
    assert client.connections.opened == 1
    assert client.connections.idle_count() == 1


def test_a_connection_the_server_closed_while_idle_is_replaced(
    api: TimersApiStandIn, client: HttpApiClient
) -> None:
    """After the server closes the idle connection, the next call (a create) opens a new one
    and succeeds: the closed one is noticed before anything is sent on it."""
    set_timer(service(api, client), "cold-1")
    api.close_connections()

    set_timer(service(api, client), "cold-2")

    assert [t.label for t in api.timers()] == ["cold-1", "cold-2"]
    assert api.connections == 2
    assert client.connections.opened == 2


def test_a_connection_that_dies_as_a_request_goes_out_is_replayed_for_a_read(
    api: TimersApiStandIn, client: HttpApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the close is not seen in time (it lands just as the request is sent), a GET that got
    no byte of an answer is sent once more on a fresh connection."""
    client.invoke(list_request(api))
    monkeypatch.setattr(http_client, "_closed_by_peer", lambda conn: False)
    api.close_connections()
    wait_until(lambda: len(api._open) == 0)

    reply = client.invoke(list_request(api))

    assert reply.status_code == 200
    assert api.connections == 2


def test_a_create_on_a_connection_that_died_is_not_sent_twice(
    api: TimersApiStandIn, client: HttpApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A POST is never replayed (a second create could set a second timer): it reports
    connection_dropped, and the next call works on a new connection."""
    set_timer(service(api, client), "cold-1")
    monkeypatch.setattr(http_client, "_closed_by_peer", lambda conn: False)
    api.close_connections()
    wait_until(lambda: len(api._open) == 0)

    turn = service(api, client)
    assert turn.create(15, "cold-2", ANNOUNCE, LOCALE) == TimersUnavailable("connection_dropped")
    assert set_timer(service(api, client), "cold-3").label == "cold-3"
    assert [t.label for t in api.timers()] == ["cold-1", "cold-3"]


def test_a_server_that_drops_a_request_on_a_kept_connection_is_not_retried_forever(
    api: TimersApiStandIn, client: HttpApiClient
) -> None:
    """A server that keeps dropping reads fails once per call (one replay), then recovers."""
    client.invoke(list_request(api))
    api.drop_connection(times=None)
    with pytest.raises(ApiClientError) as raised:
        client.invoke(list_request(api))
    assert raised.value.kind == "connection_dropped"
    assert len(api.requests) == 3  # the first read, the call and its one replay
    api.clear_faults()
    assert client.invoke(list_request(api)).status_code == 200


def test_a_timeout_on_a_kept_connection_is_not_replayed(api: TimersApiStandIn) -> None:
    """A hung server costs one read timeout, not two; the connection is then replaced."""
    client = HttpApiClient(read_timeout=0.3)
    client.invoke(list_request(api))
    api.hang(seconds=5)
    started = time.monotonic()
    with pytest.raises(ApiClientError) as raised:
        client.invoke(list_request(api))
    assert raised.value.kind == "timeout"
    assert time.monotonic() - started < 1.0
    assert len(api.requests) == 2
    assert client.invoke(list_request(api)).status_code == 200
    assert client.connections.opened == 2
    client.close()


def test_a_connection_idle_too_long_is_not_reused(api: TimersApiStandIn) -> None:
    """Past the idle limit a connection is closed rather than trusted (it may be dead)."""
    client = HttpApiClient()
    client.connections.idle_s = 0.0
    client.invoke(list_request(api))
    time.sleep(0.01)
    client.invoke(list_request(api))
    assert api.connections == 2
    client.close()


def test_threads_calling_at_once_each_get_a_connection_and_reuse_them(
    api: TimersApiStandIn, client: HttpApiClient
) -> None:
    """Four threads at once (a threaded web worker): every call answered, no connection
    shared mid-call, and afterwards at most MAX_IDLE_PER_ENDPOINT kept for later calls."""
    errors: list[BaseException] = []
    statuses: list[int] = []
    barrier = threading.Barrier(4)

    def calls() -> None:
        try:
            barrier.wait()
            for _ in range(10):
                statuses.append(client.invoke(list_request(api)).status_code)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=calls) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert statuses == [200] * 40
    assert api.connections == client.connections.opened <= 4
    assert client.connections.idle_count() <= http_client.MAX_IDLE_PER_ENDPOINT
    opened = api.connections
    for _ in range(5):
        client.invoke(list_request(api))
    assert api.connections == opened  # later calls reuse what was kept


class _Http10Handler(http.server.BaseHTTPRequestHandler):
    """A server that closes after every response (HTTP/1.0, no keep-alive)."""

    def do_GET(self) -> None:
        body = b'{"timers": [], "totalCount": 0}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_a_server_that_closes_after_each_answer_gets_a_new_connection_each_time() -> None:
    """A response that says the connection closes is not kept: the next call opens another."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Http10Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    client = HttpApiClient()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1/alerts/timers"
        for _ in range(3):
            assert client.invoke(ApiClientRequest(url=url, method="GET")).status_code == 200
        assert client.connections.opened == 3
        assert client.connections.idle_count() == 0
    finally:
        server.shutdown()
        server.server_close()
        client.close()


def test_connections_are_per_endpoint(client: HttpApiClient) -> None:
    """Two Timers API endpoints (two regions) each keep their own connection."""
    with TimersApiStandIn() as one, TimersApiStandIn() as two:
        for api in (one, two, one, two):
            assert client.invoke(list_request(api)).status_code == 200
        assert (one.connections, two.connections) == (1, 1)
        assert client.connections.idle_count() == 2


def test_the_process_keeps_one_client_per_ca_bundle() -> None:
    """default_api_client gives the same client (and so the same connections) every turn."""
    assert timers.default_api_client() is timers.default_api_client()
    assert timers.default_api_client("/etc/ssl/other.pem") is not timers.default_api_client()
    assert timers.default_api_client("/etc/ssl/other.pem").ca_bundle == "/etc/ssl/other.pem"


def test_connections_can_be_used_without_the_sdk(api: TimersApiStandIn) -> None:
    """Connections is the transport on its own (skill.memory's DynamoDB client uses it)."""
    connections = Connections(connect_timeout=1.0, read_timeout=1.0,
                              ssl_context=lambda: pytest.fail("no TLS here"))
    endpoint = ("http", "127.0.0.1", api.port)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    for _ in range(3):
        reply = connections.request(endpoint, "GET", "/v1/alerts/timers", headers, None,
                                    replay=True)
        assert reply.status == 200 and b"timers" in reply.body
    assert connections.opened == 1 == api.connections
    connections.close()
