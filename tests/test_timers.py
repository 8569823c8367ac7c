"""The timer service over real HTTP: HttpApiClient + TimerService against the local stand-in.

Every call crosses a socket on 127.0.0.1 to tooling/standins/timers_api.py; nothing in the
code under test is replaced. Firing uses the stand-in's sped-up clock, so the file is fast.
The conversation tests' in-process seam (InProcessTimersClient) is held to answer exactly as
HTTP does, call for call (the parity tests below).
"""

from __future__ import annotations

import datetime as dt
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ask_sdk_core.handler_input import HandlerInput
from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model import Context, RequestEnvelope
from ask_sdk_model.interfaces.system import SystemState
from ask_sdk_model.services import (
    ApiClient,
    ApiClientRequest,
    ApiClientResponse,
    ApiConfiguration,
    ServiceClientFactory,
)
from ask_sdk_model.services.timer_management import TimerManagementServiceClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from skill.http_client import READ_TIMEOUT_S, ApiClientError, HttpApiClient, is_loopback_host
from skill.permissions import TIMERS_SCOPE
from skill.settings import Settings
from skill.timers import (
    Done,
    NotFound,
    PermissionNeeded,
    RefusalReason,
    TimerInfo,
    TimerList,
    TimerRefused,
    TimerService,
    TimerSet,
    TimersUnavailable,
    build_timer_request,
    format_iso_duration,
    parse_iso_duration,
)
from tooling.standins.timers_api import (
    InProcessTimersClient,
    ManualClock,
    StandInTimer,
    TimersApiStandIn,
)

TOKEN = "token-with-permission"
ANNOUNCE = "Time is up: take the cold compress off now."
LOCALE = "en-US"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def api(clock: ManualClock) -> Iterator[TimersApiStandIn]:
    with TimersApiStandIn(tokens={TOKEN}, clock=clock, locale=LOCALE) as standin:
        yield standin


@pytest.fixture
def timers(api: TimersApiStandIn) -> TimerService:
    return TimerService.for_endpoint(api.url, TOKEN, api_client=HttpApiClient())


def create(service: TimerService, minutes: int | str = 15, label: str = "cold-1") -> Any:
    return service.create(minutes, label, ANNOUNCE, LOCALE)


def timer_set(service: TimerService, minutes: int | str = 15, label: str = "cold-1") -> TimerSet:
    outcome = create(service, minutes, label)
    assert isinstance(outcome, TimerSet), outcome
    return outcome


def raw_client(api: TimersApiStandIn, token: str = TOKEN) -> TimerManagementServiceClient:
    """The SDK's own client on our HTTP client, to see the stand-in's answers unmapped."""
    return TimerManagementServiceClient(
        ApiConfiguration(
            serializer=DefaultSerializer(),
            api_client=HttpApiClient(),
            authorization_value=token,
            api_endpoint=api.url,
        )
    )


def free_loopback_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the happy path -------------------------------------------------------------------------


def test_create_sends_the_documented_body_and_returns_the_timer(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """A create posts the documented ANNOUNCE body with the bearer token and returns the timer."""
    made = timer_set(timers, 15, "cold-1")

    assert made.label == "cold-1" and made.duration_s == 900
    assert made.ends_at == dt.datetime.fromtimestamp(api.clock.now() + 900, dt.UTC)
    [request] = api.requests
    assert (request.method, request.path) == ("POST", "/v1/alerts/timers")
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.body == {
        "duration": "PT15M",
        "timerLabel": "cold-1",
        "creationBehavior": {"displayExperience": {"visibility": "VISIBLE"}},
        "triggeringBehavior": {
            "operation": {
                "type": "ANNOUNCE",
                "textToAnnounce": [{"locale": "en-US", "text": ANNOUNCE}],
            },
            "notificationConfig": {"playAudible": True},
        },
    }


def test_get_reports_status_and_time_left_on_the_api_clock(
    clock: ManualClock, timers: TimerService
) -> None:
    """Five minutes into a fifteen-minute timer, get reports it ON with ten minutes left."""
    made = timer_set(timers, 15)
    clock.advance(300)

    info = timers.get(made.id)

    assert info == TimerInfo(made.id, "cold-1", "ON", 900, 600, made.ends_at)


def test_pause_freezes_the_time_left_and_resume_restarts_it(
    clock: ManualClock, timers: TimerService
) -> None:
    """A paused timer keeps its time left however long it waits, and runs again once resumed."""
    made = timer_set(timers, 15)
    clock.advance(60)
    assert timers.pause(made.id) == Done(made.id)
    clock.advance(1000)

    paused = timers.get(made.id)
    assert isinstance(paused, TimerInfo)
    assert (paused.status, paused.remaining_s, paused.ends_at) == ("PAUSED", 840, None)

    assert timers.resume(made.id) == Done(made.id)
    clock.advance(40)
    resumed = timers.get(made.id)
    assert isinstance(resumed, TimerInfo)
    assert (resumed.status, resumed.remaining_s) == ("ON", 800)


def test_cancel_removes_the_timer_and_a_second_cancel_finds_nothing(timers: TimerService) -> None:
    """A cancelled timer is gone: get and a second cancel both answer NotFound."""
    made = timer_set(timers)

    assert timers.cancel(made.id) == Done(made.id)
    assert timers.get(made.id) == NotFound(made.id)
    assert timers.cancel(made.id) == NotFound(made.id)
    assert timers.pause(made.id) == NotFound(made.id)


def test_list_gives_live_timers_soonest_first_and_cancel_all_clears_them(
    timers: TimerService,
) -> None:
    """The list is ordered by time left and findable by label; cancel_all empties it."""
    timer_set(timers, 20, "cold-2")
    timer_set(timers, 15, "heat")

    listed = timers.list()
    assert isinstance(listed, TimerList)
    assert [t.label for t in listed.timers] == ["heat", "cold-2"]
    heat = listed.by_label("heat")
    assert heat is not None and heat.remaining_s == 900
    assert listed.by_label("cold-1") is None

    assert timers.cancel_all() == Done(None)
    assert timers.list() == TimerList(())


@pytest.mark.parametrize(
    ("duration", "sent"),
    [
        (15, "PT15M"),
        (20, "PT20M"),
        ("PT20M", "PT20M"),
        ("PT1H30M", "PT1H30M"),
        ("pt90s", "PT1M30S"),
        ("PT2H", "PT2H"),
    ],
)
def test_minutes_and_iso_durations_are_sent_as_iso_8601(
    api: TimersApiStandIn, timers: TimerService, duration: int | str, sent: str
) -> None:
    """Whole minutes and AMAZON.DURATION values both reach the API as ISO-8601 durations."""
    timer_set(timers, duration)
    assert api.requests[-1].body["duration"] == sent


# --- the API's rules ----------------------------------------------------------------------


def test_an_unknown_token_means_permission_is_needed_until_granted(api: TimersApiStandIn) -> None:
    """A token without the timers permission gets 401, mapped to PermissionNeeded, until granted."""
    service = TimerService.for_endpoint(api.url, "no-consent-yet")

    assert create(service) == PermissionNeeded(scope=TIMERS_SCOPE)
    assert service.list() == PermissionNeeded()

    api.grant("no-consent-yet")
    assert isinstance(create(service), TimerSet)
    api.revoke("no-consent-yet")
    assert service.list() == PermissionNeeded()


def test_a_missing_token_means_permission_is_needed(api: TimersApiStandIn) -> None:
    """An envelope with no apiAccessToken still asks the API, and its 401 asks for consent."""
    assert create(TimerService.for_endpoint(api.url, None)) == PermissionNeeded()
    assert len(api.requests) == 1


def test_the_stand_in_answers_in_the_shape_of_the_real_api(
    api: TimersApiStandIn, clock: ManualClock, timers: TimerService
) -> None:
    """Timers come back with the real API's fields: triggerTime when ON, time left when PAUSED."""
    made = timer_set(timers, 15, "cold-1")
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    headers = {"Authorization": f"Bearer {TOKEN}"}

    conn.request("GET", f"/v1/alerts/timers/{made.id}", headers=headers)
    running = json.loads(conn.getresponse().read())
    assert running == {
        "id": made.id,
        "status": "ON",
        "duration": "PT15M",
        "timerLabel": "cold-1",
        "createdTime": "2026-01-01T00:00:00.000Z",
        "updatedTime": "2026-01-01T00:00:00.000Z",
        "triggerTime": "2026-01-01T00:15:00.000Z",
    }

    timers.pause(made.id)
    clock.advance(3)
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    conn.request("GET", "/v1/alerts/timers", headers=headers)
    listed = json.loads(conn.getresponse().read())
    assert listed["totalCount"] == 1
    [paused] = listed["timers"]
    assert paused["status"] == "PAUSED" and paused["remainingTimeWhenPaused"] == "PT15M"
    assert "triggerTime" not in paused


def test_the_stand_in_refuses_requests_without_a_bearer_token(api: TimersApiStandIn) -> None:
    """Plain HTTP with no Authorization header gets 401 from the stand-in itself."""
    conn = http.client.HTTPConnection("127.0.0.1", api.port, timeout=5)
    conn.request("GET", "/v1/alerts/timers")
    response = conn.getresponse()
    assert response.status == 401
    assert json.loads(response.read())["code"] == "UNAUTHORIZED"
    conn.close()


@pytest.mark.parametrize(
    ("duration", "label", "device_locale", "code"),
    [
        ("PT2H0M1S", "long", LOCALE, "DURATION_TOO_LONG"),
        ("PT0S", "zero", LOCALE, "INVALID_DURATION"),
        ("soon", "words", LOCALE, "INVALID_DURATION"),
        ("PT5M", "x" * 257, LOCALE, "LABEL_TOO_LONG"),
        ("PT5M", "german", "de-DE", "ANNOUNCEMENT_MISSING"),
    ],
)
def test_the_stand_in_enforces_the_create_rules(
    api: TimersApiStandIn, duration: str, label: str, device_locale: str, code: str
) -> None:
    """Over 2 h, zero, not ISO, a 257-character label or no text in the device's locale: 400."""
    with pytest.raises(Exception) as raised:
        raw_client(api).create_timer(
            build_timer_request(duration, label, ANNOUNCE, device_locale))

    assert getattr(raised.value, "status_code", None) == 400
    assert raised.value.body.code == code  # type: ignore[attr-defined]
    assert api.timers() == []


def test_the_stand_in_accepts_exactly_two_hours_and_256_characters(api: TimersApiStandIn) -> None:
    """The limits themselves are allowed: PT2H and a 256-character label."""
    made: Any = raw_client(api).create_timer(
        build_timer_request("PT2H", "x" * 256, ANNOUNCE, LOCALE)
    )
    assert made.timer_label == "x" * 256 and made.duration == "PT2H"


@pytest.mark.parametrize(
    ("duration", "label", "announcement", "reason"),
    [
        (121, "cold-1", ANNOUNCE, "too_long"),
        ("PT3H", "cold-1", ANNOUNCE, "too_long"),
        (0, "cold-1", ANNOUNCE, "invalid_duration"),
        ("twenty", "cold-1", ANNOUNCE, "invalid_duration"),
        ("P1M", "cold-1", ANNOUNCE, "invalid_duration"),
        (15, "x" * 257, ANNOUNCE, "label_too_long"),
        (15, "cold-1", "  ", "announcement_missing"),
    ],
)
def test_requests_that_break_a_documented_limit_are_refused_before_any_call(
    api: TimersApiStandIn,
    timers: TimerService,
    duration: int | str,
    label: str,
    announcement: str,
    reason: RefusalReason,
) -> None:
    """The service refuses what the API is documented to refuse without spending a network call."""
    assert timers.create(duration, label, announcement, LOCALE) == TimerRefused(reason)
    assert api.requests == []


def test_a_duplicate_label_is_refused(timers: TimerService) -> None:
    """A second live timer with the same label is refused as duplicate_label."""
    timer_set(timers, 15, "cold-1")
    assert create(timers, 20, "cold-1") == TimerRefused("duplicate_label", 400)


def test_a_label_is_free_again_once_its_timer_fired(
    clock: ManualClock, timers: TimerService
) -> None:
    """Uniqueness holds among live timers only: after it fires the label can be used again."""
    timer_set(timers, 15, "cold-1")
    clock.advance(15 * 60)
    assert isinstance(create(timers, 15, "cold-1"), TimerSet)


def test_announcement_text_must_be_in_the_devices_locale(timers: TimerService) -> None:
    """Text only in another locale than the device's is refused as announcement_missing."""
    outcome = timers.create(15, "heat", "Die Zeit ist um.", "de-DE")
    assert outcome == TimerRefused("announcement_missing", 400)


def test_the_eleventh_timer_is_refused(api: TimersApiStandIn, timers: TimerService) -> None:
    """Ten timers at once is the limit; the eleventh is refused as limit_reached."""
    for n in range(10):
        timer_set(timers, 5, f"t{n}")
    assert create(timers, 5, "t10") == TimerRefused("limit_reached", 400)
    assert len(api.timers()) == 10


def test_personal_timers_count_against_the_limit(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """Timers the user set by voice share the limit of ten with the skill's."""
    api.personal_timers = 9
    timer_set(timers, 5, "cold-1")
    assert create(timers, 5, "heat") == TimerRefused("limit_reached", 400)


# --- injected failures ----------------------------------------------------------------------

OPERATIONS = ["create", "get", "list", "cancel", "pause", "resume", "cancel_all"]


def call(service: TimerService, op: str, timer_id: str) -> Any:
    if op == "create":
        return create(service, 15, "heat")
    if op == "list":
        return service.list()
    if op == "cancel_all":
        return service.cancel_all()
    return getattr(service, op)(timer_id)


def expected_outcome(status: int, op: str, timer_id: str) -> Any:
    by_id = op in ("get", "cancel", "pause", "resume")
    return {
        400: TimerRefused("bad_request", 400),
        401: PermissionNeeded(),
        403: TimerRefused("forbidden", 403),
        404: NotFound(timer_id) if by_id else TimersUnavailable("unexpected_status", 404),
        429: TimersUnavailable("unexpected_status", 429),
        500: TimersUnavailable("server_error", 500),
        504: TimersUnavailable("device_offline", 504),
    }[status]


@pytest.mark.parametrize("op", OPERATIONS)
@pytest.mark.parametrize("status", [400, 401, 403, 404, 429, 500, 504])
def test_each_error_code_maps_to_its_outcome(
    api: TimersApiStandIn, timers: TimerService, status: int, op: str
) -> None:
    """Every declared and undeclared error code comes back as a value, never an exception."""
    made = timer_set(timers, 15, "cold-1")
    api.respond_with(status, times=None)

    assert call(timers, op, made.id) == expected_outcome(status, op, made.id)


def test_an_injected_fault_lasts_only_as_many_requests_as_asked(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """respond_with(times=2) fails two calls and the third goes through."""
    api.respond_with(500, times=2)
    assert timers.list() == TimersUnavailable("server_error", 500)
    assert timers.list() == TimersUnavailable("server_error", 500)
    assert timers.list() == TimerList(())


def test_a_bare_400_on_create_is_diagnosed_as_a_duplicate_label(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """A 400 whose code the service does not know is explained by listing: here a live duplicate."""
    timer_set(timers, 15, "cold-1")
    api.respond_with(400, body={"code": "SOMETHING_ELSE", "message": "no"})

    assert create(timers, 20, "cold-1") == TimerRefused("duplicate_label", 400)
    assert [r.method for r in api.requests[-2:]] == ["POST", "GET"]


def test_an_error_page_that_is_not_json_keeps_its_status(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """A gateway's HTML error page still maps by status code instead of failing to parse."""
    api.respond_with(500, body="<html><body>Internal error</body></html>")
    assert timers.list() == TimersUnavailable("server_error", 500)
    api.respond_with(502, body="Bad gateway")
    assert timers.list() == TimersUnavailable("unexpected_status", 502)
    api.respond_with(504, body="")
    assert create(timers) == TimersUnavailable("device_offline", 504)


def test_a_success_that_is_not_a_timer_is_a_bad_response(
    api: TimersApiStandIn, timers: TimerService
) -> None:
    """A 200 whose body is not a timer is reported as bad_response, not raised."""
    api.respond_with(200, body="not json")
    assert create(timers) == TimersUnavailable("bad_response")
    api.respond_with(200, body={"unexpected": True})
    assert timers.get("some-id") == TimersUnavailable("bad_response")


@pytest.mark.long
def test_a_hang_past_the_read_timeout_is_unavailable_in_about_the_timeout(
    api: TimersApiStandIn,
) -> None:
    """A service that never answers costs the read timeout (2.5 s), well inside Alexa's 8 s."""
    service = TimerService.for_endpoint(api.url, TOKEN)  # the default client and timeouts
    api.hang(seconds=30)

    started = time.monotonic()
    outcome = create(service)
    elapsed = time.monotonic() - started

    assert outcome == TimersUnavailable("timeout")
    assert READ_TIMEOUT_S * 0.8 < elapsed < 5.0


def test_after_a_call_gets_no_answer_the_rest_of_the_turn_fails_fast(
    api: TimersApiStandIn,
) -> None:
    """One timeout per turn: later calls on the same service answer at once without a request."""
    service = TimerService.for_endpoint(api.url, TOKEN, api_client=HttpApiClient(read_timeout=0.3))
    api.hang(times=None, seconds=30)
    assert service.list() == TimersUnavailable("timeout")
    sent = len(api.requests)

    started = time.monotonic()
    assert create(service) == TimersUnavailable("timeout")
    assert service.cancel("any") == TimersUnavailable("timeout")
    assert time.monotonic() - started < 0.2
    assert len(api.requests) == sent


def test_a_dropped_connection_is_unavailable(api: TimersApiStandIn, timers: TimerService) -> None:
    """A server that closes the socket without answering gives connection_dropped."""
    api.drop_connection()
    assert create(timers) == TimersUnavailable("connection_dropped")
    assert api.timers() == []


def test_a_refused_connection_is_unavailable() -> None:
    """Nothing listening on the endpoint gives connection_refused at once."""
    service = TimerService.for_endpoint(f"http://127.0.0.1:{free_loopback_port()}", TOKEN)
    started = time.monotonic()
    assert create(service) == TimersUnavailable("connection_refused")
    assert time.monotonic() - started < 1.0


def test_a_malformed_endpoint_is_unavailable_not_a_server_error(no_network: list[Any]) -> None:
    """An endpoint that cannot be requested reads as client_error, never as the API's 500."""
    service = TimerService.for_endpoint("https://api.amazonalexa.com:port", TOKEN)
    assert create(service) == TimersUnavailable("client_error")
    assert no_network == []


def test_a_request_without_an_api_endpoint_is_unavailable() -> None:
    """No apiEndpoint in the request means no timers this turn, and no call."""
    assert create(TimerService.for_endpoint(None, TOKEN)) == TimersUnavailable("no_endpoint")
    assert TimerService.for_endpoint("", TOKEN).list() == TimersUnavailable("no_endpoint")


# --- transport security ---------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record (and block) any name lookup or connection attempt."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"network call attempted: {args}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    return attempts


@pytest.mark.parametrize(
    "url",
    [
        "http://api.amazonalexa.com/v1/alerts/timers",
        "http://10.0.0.8:8080/v1/alerts/timers",
        "http://127.0.0.1.nip.io/v1/alerts/timers",
        "ftp://127.0.0.1/v1/alerts/timers",
    ],
)
def test_plain_http_to_a_non_loopback_host_is_refused_without_a_network_call(
    no_network: list[Any], url: str
) -> None:
    """The token never leaves in clear text: http is refused before any lookup or connect."""
    request = ApiClientRequest(url=url, method="GET", headers=[("Authorization", "Bearer t")])
    with pytest.raises(ApiClientError) as raised:
        HttpApiClient().invoke(request)

    assert raised.value.kind == "insecure_url"
    assert no_network == []


def test_the_service_reports_an_insecure_endpoint_as_unavailable(no_network: list[Any]) -> None:
    """An http apiEndpoint off loopback gives TimersUnavailable("insecure_url") and no call."""
    service = TimerService.for_endpoint("http://api.amazonalexa.com", TOKEN)
    assert create(service) == TimersUnavailable("insecure_url")
    assert no_network == []


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("128.0.0.1", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_loopback_is_127_0_0_0_8_ipv6_one_and_localhost(host: str | None, loopback: bool) -> None:
    """Only 127.0.0.0/8, ::1 and localhost count as loopback."""
    assert is_loopback_host(host) is loopback


def make_certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "timers stand-in")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_api(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[TimersApiStandIn, Path]]:
    cert_path, key_path = make_certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    with TimersApiStandIn(tokens={TOKEN}, clock=clock, ssl_context=context) as standin:
        yield standin, cert_path


def test_https_to_an_untrusted_certificate_is_refused(
    tls_api: tuple[TimersApiStandIn, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the system trust store a self-signed certificate fails verification: tls_error."""
    api, _ = tls_api
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    service = TimerService.for_endpoint(api.url, TOKEN, api_client=HttpApiClient())

    assert api.url.startswith("https://")
    assert create(service) == TimersUnavailable("tls_error")
    assert api.timers() == []


@pytest.mark.parametrize("variable", ["REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_https_trusts_the_bundle_named_in_the_environment(
    tls_api: tuple[TimersApiStandIn, Path], monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    """A CA bundle named by REQUESTS_CA_BUNDLE or SSL_CERT_FILE is trusted (host name checked)."""
    api, cert_path = tls_api
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.setenv(variable, str(cert_path))
    # The environment is read once, by the settings, which hand the bundle to the client.
    ca_bundle = Settings.from_env().ca_bundle
    service = TimerService.for_endpoint(api.url, TOKEN, api_client=HttpApiClient(
        ca_bundle=ca_bundle))

    assert isinstance(create(service), TimerSet)


# --- firing ---------------------------------------------------------------------------------


def test_timers_count_down_and_fire_with_their_announcement() -> None:
    """On a sped-up clock a one-minute timer fires, calls on_fire with its text and is gone."""
    fired: list[tuple[StandInTimer, str]] = []
    done = threading.Event()

    def on_fire(timer: StandInTimer, text: str) -> None:
        fired.append((timer, text))
        done.set()

    # One API minute lasts 0.1 real seconds.
    with TimersApiStandIn(seconds_per_minute=0.1, on_fire=on_fire) as api:
        service = TimerService.for_endpoint(api.url, TOKEN)
        made = timer_set(service, 1, "cold-1")
        running = service.get(made.id)
        assert isinstance(running, TimerInfo) and 0 < (running.remaining_s or 0) <= 60

        assert done.wait(timeout=5)
        assert service.get(made.id) == NotFound(made.id)
        assert service.list() == TimerList(())

    [(timer, text)] = fired
    assert (timer.id, timer.label, text) == (made.id, "cold-1", ANNOUNCE)


def test_each_timer_fires_once_in_order_and_a_paused_one_waits(
    api: TimersApiStandIn, clock: ManualClock, timers: TimerService
) -> None:
    """Due timers fire once each, soonest first; a paused timer does not fire."""
    cold = timer_set(timers, 15, "cold-1")
    heat = timer_set(timers, 10, "heat")
    paused = timer_set(timers, 5, "paused")
    assert timers.pause(paused.id) == Done(paused.id)

    clock.advance(20 * 60)
    api.fire_due()
    api.fire_due()

    assert [t.id for t, _ in api.fired] == [heat.id, cold.id]
    assert [t.id for t in api.timers()] == [paused.id]


def test_a_failing_on_fire_callback_does_not_stop_the_clock(clock: ManualClock) -> None:
    """An exception in on_fire is logged; later timers still fire."""
    calls: list[str] = []

    def flaky(timer: StandInTimer, text: str) -> None:
        calls.append(timer.label or "")
        raise RuntimeError("console went away")

    with TimersApiStandIn(clock=clock, on_fire=flaky) as api:
        service = TimerService.for_endpoint(api.url, TOKEN)
        timer_set(service, 1, "a")
        timer_set(service, 2, "b")
        clock.advance(180)
        api.fire_due()

    assert calls == ["a", "b"]


# --- the in-process seam answers as HTTP does ------------------------------------------------
#
# Conversation tests reach the stand-in in process (InProcessTimersClient, wired in
# tests/conftest.py), where a hang is a timeout at once. These tests hold that seam to the real
# thing, so it cannot drift: the same calls, made over HTTP to one stand-in and in process to
# another on the same clock, give the same outcomes and the same raw answers (status, body,
# Date), and leave the same requests and timers behind. Timer ids are random: each is replaced
# by the order it first appeared in.

IN_PROCESS_ENDPOINT = "https://api.amazonalexa.com"  # in process, only the path is used
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class RecordingClient(ApiClient):
    """An ApiClient that keeps every raw answer (or the failure) of the one it wraps."""

    def __init__(self, inner: ApiClient) -> None:
        self.inner = inner
        self.answers: list[tuple[Any, ...]] = []

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        try:
            response = self.inner.invoke(request)
        except ApiClientError as e:
            self.answers.append(("raised", e.kind))
            raise
        date = next((v for k, v in response.headers or [] if k.lower() == "date"), None)
        self.answers.append((response.status_code, response.body, date))
        return response


@dataclass
class Way:
    """One way of reaching a stand-in: over HTTP, or in process."""

    api: TimersApiStandIn
    client: RecordingClient
    endpoint: str

    def service(self, token: str = TOKEN) -> TimerService:
        return TimerService.for_endpoint(self.endpoint, token, api_client=self.client)

    def advance(self, seconds: float) -> None:
        assert isinstance(self.api.clock, ManualClock)
        self.api.clock.advance(seconds)

    def seen(self, results: list[Any]) -> dict[str, list[str]]:
        """Everything observable of a scenario, with timer ids numbered in order of appearance."""
        now = self.api.clock.now()
        observed: dict[str, list[Any]] = {
            "results": results,
            "raw answers": self.client.answers,
            "requests": [(r.method, r.path, _authorization(r.headers), r.body)
                         for r in self.api.requests],
            "timers left": [(t.label, t.status, t.duration, t.remaining(now), t.announcement)
                            for t in self.api.timers()],
        }
        ids: dict[str, str] = {}

        def numbered(value: Any) -> str:
            return _UUID.sub(lambda m: ids.setdefault(m[0], f"<id {len(ids) + 1}>"), repr(value))

        return {part: [numbered(v) for v in values] for part, values in observed.items()}


def _authorization(headers: dict[str, str]) -> str | None:
    return next((v for k, v in headers.items() if k.lower() == "authorization"), None)


def in_process_way() -> Way:
    """A stand-in that is never started, answering in process (as in tests/conftest.py)."""
    alone = TimersApiStandIn(tokens={TOKEN}, clock=ManualClock(), locale=LOCALE)
    return Way(alone, RecordingClient(InProcessTimersClient(alone)), IN_PROCESS_ENDPOINT)


@pytest.fixture
def both_ways() -> Iterator[tuple[Way, Way]]:
    """Two stand-ins on clocks at the same moment: one served over HTTP (its client with a
    short read timeout, so a hang costs 0.3 s), one answering in process."""
    with TimersApiStandIn(tokens={TOKEN}, clock=ManualClock(), locale=LOCALE) as served:
        over_http = Way(served, RecordingClient(HttpApiClient(read_timeout=0.3)), served.url)
        yield over_http, in_process_way()


def _made(outcome: Any) -> TimerSet:
    assert isinstance(outcome, TimerSet), outcome
    return outcome


def scenario_create(way: Way) -> list[Any]:
    return [create(way.service(), 15, "cold-1"), create(way.service(), "PT20M", "heat")]


def scenario_get(way: Way) -> list[Any]:
    service = way.service()
    made = _made(create(service))
    way.advance(300)
    return [made, service.get(made.id)]


def scenario_list(way: Way) -> list[Any]:
    service = way.service()
    first, second = create(service, 20, "cold-2"), create(service, 15, "heat")
    way.advance(60)
    return [first, second, service.list()]


def scenario_pause(way: Way) -> list[Any]:
    service = way.service()
    made = _made(create(service))
    way.advance(60)
    paused = service.pause(made.id)
    way.advance(1000)
    return [paused, service.get(made.id), service.pause(made.id)]


def scenario_resume(way: Way) -> list[Any]:
    service = way.service()
    made = _made(create(service))
    service.pause(made.id)
    way.advance(500)
    resumed = service.resume(made.id)
    way.advance(40)
    return [resumed, service.get(made.id), service.list()]


def scenario_cancel(way: Way) -> list[Any]:
    service = way.service()
    made = _made(create(service))
    create(service, 20, "heat")
    return [service.cancel(made.id), service.get(made.id), service.cancel(made.id),
            service.cancel_all(), service.list()]


def scenario_401(way: Way) -> list[Any]:
    service = way.service("no-consent-yet")
    return [create(service), service.list(), service.get("any")]


def scenario_400_duplicate_label(way: Way) -> list[Any]:
    service = way.service()
    create(service, 15, "cold-1")
    duplicate = create(service, 20, "cold-1")
    way.api.respond_with(400, body={"code": "SOMETHING_ELSE", "message": "no"})
    return [duplicate, create(service, 20, "cold-1")]  # a bare 400, diagnosed by listing


def scenario_404(way: Way) -> list[Any]:
    service = way.service()
    return [service.get("no-such-timer"), service.cancel("no-such-timer"),
            service.pause("no-such-timer"), service.resume("no-such-timer")]


def scenario_500(way: Way) -> list[Any]:
    service = way.service()
    way.api.respond_with(500)
    listed = service.list()
    way.api.respond_with(500, body="<html><body>Internal error</body></html>")
    return [listed, create(service), service.list()]


def scenario_504(way: Way) -> list[Any]:
    service = way.service()
    way.api.respond_with(504)
    return [create(service), create(service)]


def scenario_dropped(way: Way) -> list[Any]:
    way.api.drop_connection()
    return [create(way.service()), way.service().list()]


def scenario_hang(way: Way) -> list[Any]:
    service = way.service()
    way.api.hang(seconds=5)
    # After a call gets no answer, the rest of the turn fails fast, without a request.
    return [create(service), service.list(), way.service().list()]


SCENARIOS = [scenario_create, scenario_get, scenario_list, scenario_pause, scenario_resume,
             scenario_cancel, scenario_401, scenario_400_duplicate_label, scenario_404,
             scenario_500, scenario_504, scenario_dropped, scenario_hang]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda f: f.__name__[len("scenario_"):])
def test_the_in_process_seam_answers_exactly_as_http_does(
    both_ways: tuple[Way, Way], scenario: Callable[[Way], list[Any]]
) -> None:
    """The same calls over HTTP and in process: the same outcomes, raw answers, requests and
    timers left, so conversation tests on the seam test what the skill meets over HTTP."""
    over_http, in_process = both_ways
    expected = over_http.seen(scenario(over_http))
    assert in_process.seen(scenario(in_process)) == expected


def test_the_parity_scenarios_cover_every_outcome_the_seam_can_give() -> None:
    """The scenarios above reach every kind of outcome, so parity is not checked on a subset."""
    kinds = {type(r).__name__ for scenario in SCENARIOS for r in scenario(in_process_way())}
    assert kinds >= {"TimerSet", "TimerInfo", "TimerList", "Done", "NotFound",
                     "PermissionNeeded", "TimerRefused", "TimersUnavailable"}


def test_the_in_process_seam_answers_a_hang_at_once() -> None:
    """In process a hang is the client's timeout without the wait: the seam stays fast."""
    in_process = in_process_way()
    in_process.api.hang(times=None, seconds=30)
    started = time.monotonic()
    assert create(in_process.service()) == TimersUnavailable("timeout")
    assert time.monotonic() - started < 0.1


# --- wiring from a request ------------------------------------------------------------------


def handler_input_for(endpoint: str | None, token: str | None, factory: Any = None) -> HandlerInput:
    envelope = RequestEnvelope(
        context=Context(system=SystemState(api_endpoint=endpoint, api_access_token=token))
    )
    return HandlerInput(request_envelope=envelope, service_client_factory=factory)


def test_from_handler_input_uses_the_requests_endpoint_and_token(api: TimersApiStandIn) -> None:
    """The service talks to context.System.apiEndpoint with context.System.apiAccessToken."""
    service = TimerService.from_handler_input(handler_input_for(api.url, TOKEN))
    assert isinstance(create(service), TimerSet)
    assert api.requests[-1].headers["Authorization"] == f"Bearer {TOKEN}"


def test_from_handler_input_uses_the_skills_http_client(api: TimersApiStandIn) -> None:
    """The skill's own HttpApiClient (here with a 0.3 s read timeout) is the one used."""
    factory = ServiceClientFactory(
        ApiConfiguration(
            serializer=DefaultSerializer(),
            api_client=HttpApiClient(read_timeout=0.3),
            authorization_value=TOKEN,
            api_endpoint=api.url,
        )
    )
    service = TimerService.from_handler_input(handler_input_for(api.url, TOKEN, factory))
    api.hang()

    started = time.monotonic()
    assert service.list() == TimersUnavailable("timeout")
    assert time.monotonic() - started < 1.5


def test_from_handler_input_without_an_endpoint_is_unavailable() -> None:
    """An envelope with no apiEndpoint gives a service that answers no_endpoint."""
    service = TimerService.from_handler_input(handler_input_for(None, None))
    assert service.get("x") == TimersUnavailable("no_endpoint")


# --- ISO-8601 durations ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT15M", 900),
        ("PT20M", 1200),
        ("PT1H30M", 5400),
        ("PT2H", 7200),
        ("PT45S", 45),
        ("PT1.5S", 1.5),
        ("P1D", 86400),
        ("P1W", 604800),
        ("pt5m", 300),
        ("PT", None),
        ("P", None),
        ("P1DT", None),
        ("P1M", None),
        ("15", None),
        ("PT-5M", None),
        ("", None),
    ],
)
def test_parse_iso_duration(text: str, seconds: float | None) -> None:
    """ISO-8601 durations in weeks, days, hours, minutes, seconds parse; anything else is None."""
    assert parse_iso_duration(text) == seconds


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (900, "PT15M"),
        (5400, "PT1H30M"),
        (7200, "PT2H"),
        (90, "PT1M30S"),
        (0, "PT0S"),
        (1.25, "PT1.25S"),
    ],
)
def test_format_iso_duration(seconds: float, text: str) -> None:
    """Seconds format as the shortest ISO-8601 duration, which parses back to the same value."""
    assert format_iso_duration(seconds) == text
    assert parse_iso_duration(text) == seconds
