"""A local stand-in of Alexa's Timers API: a real HTTP server on 127.0.0.1.

It keeps the API's rules (PLATFORM.md "Timers API"): a bearer token it knows, an ISO-8601
duration over zero and at most PT2H, a label unique among live timers and at most 256
characters, announcement text for the device's locale, at most ten timers. Timers count
down on a clock and fire: the timer is removed and `on_fire(timer, announcement)` is
called. Faults can be injected: a status code, a hang, a dropped connection.

A LAUNCH_TASK timer (the timer's end asks "continue with <skill>?" and a yes launches the
skill with a task) is checked as Alexa would: the task is one the skill declares in skill.json
(named "<skill id>.<task>", its version), its input fits the task file's schema
(tasks/<task>.<version>.json), and the question is in the device's locale and holds the
skill's name placeholder. `launch_task=False` plays a device or locale without LAUNCH_TASK: such
a timer is refused with a 400. A fired LAUNCH_TASK timer carries its `task`; its announcement is
the question.

Connections are kept alive, as the real API's are (HTTP/1.1): `connections` counts the TCP
connections accepted, and `close_connections()` closes the open ones from the server's side,
as a server does with connections left idle too long.

Console use, with minutes shortened to seconds::

    with TimersApiStandIn(seconds_per_minute=1, on_fire=lambda t, text: print(text)) as api:
        ...  # put api.url in context.System.apiEndpoint; any non-empty token is accepted

Error bodies are `{"code", "message"}` like the real API's; the codes are the stand-in's
own (the public reference lists none), and `skill.timers.REFUSAL_CODES` reads them.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import formatdate
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import unquote, urlsplit

from ask_sdk_model.services import ApiClient, ApiClientRequest, ApiClientResponse

from skill.http_client import ApiClientError, error_body_for_sdk, is_loopback_host
from skill.timers import (
    CONTINUE_WITH_SKILL_NAME,
    MAX_DURATION_S,
    MAX_LABEL_CHARS,
    MAX_TIMERS,
    format_iso_duration,
    parse_iso_duration,
)
from tooling.standins.alexa import APPLICATION_ID

log = logging.getLogger(__name__)

BASE_PATH = "/v1/alerts/timers"
PROJECT_ROOT = Path(__file__).resolve().parents[2]

_DEFAULT_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "TIMER_NOT_FOUND",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_SERVER_ERROR",
    504: "DEVICE_OFFLINE",
}


# --- clocks -------------------------------------------------------------------------------


class Clock(Protocol):
    """The API's clock: seconds since the epoch."""

    def now(self) -> float: ...


class ScaledClock:
    """Wall time, sped up so that one API minute lasts `seconds_per_minute` real seconds."""

    def __init__(self, seconds_per_minute: float = 60.0) -> None:
        if seconds_per_minute <= 0:
            raise ValueError("seconds_per_minute must be positive")
        self.speed = 60.0 / seconds_per_minute
        self._epoch = time.time()
        self._start = time.monotonic()

    def now(self) -> float:
        return self._epoch + (time.monotonic() - self._start) * self.speed


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: float = 1_767_225_600.0) -> None:  # 2026-01-01T00:00:00Z
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds


# --- state --------------------------------------------------------------------------------


@dataclass
class StandInTimer:
    """A timer as the stand-in keeps it (times are on the stand-in's clock)."""

    id: str
    label: str | None
    duration: str
    duration_s: float
    status: Literal["ON", "PAUSED"]
    created: float
    updated: float
    trigger_at: float | None  # when ON
    remaining_when_paused: float | None  # when PAUSED
    announcement: str  # the text for the stand-in's locale ("" for NOTIFY_ONLY); LAUNCH_TASK:
    # the question asked, with the skill's name placeholder
    request: dict[str, Any] = field(repr=False)
    task: dict[str, Any] | None = None  # LAUNCH_TASK: the task a yes launches (name, version,
    # input), as the skill gave it

    def remaining(self, now: float) -> float:
        if self.status == "PAUSED":
            return self.remaining_when_paused or 0.0
        return max(0.0, (self.trigger_at or now) - now)

    def to_json(self) -> dict[str, Any]:
        """The timer shaped like the real API's TimerResponse."""
        body: dict[str, Any] = {
            "id": self.id,
            "status": self.status,
            "duration": self.duration,
            "createdTime": _iso_time(self.created),
            "updatedTime": _iso_time(self.updated),
        }
        if self.label is not None:
            body["timerLabel"] = self.label
        if self.status == "ON" and self.trigger_at is not None:
            body["triggerTime"] = _iso_time(self.trigger_at)
        if self.status == "PAUSED":
            body["remainingTimeWhenPaused"] = format_iso_duration(self.remaining_when_paused or 0)
        return body


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived (headers with their original case)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class _Fault:
    kind: Literal["status", "hang", "drop"]
    times: int | None  # None: every request until cleared
    status: int = 0
    body: Any = None
    seconds: float = 0.0


OnFire = Callable[[StandInTimer, str], None]


class _ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --- the server ---------------------------------------------------------------------------


class TimersApiStandIn:
    """The Timers API on 127.0.0.1; start it with `with` (or start()/stop()).

    tokens: the bearer tokens that carry the timers permission; None accepts any
        non-empty token. `grant`/`revoke` change it while running (a consent dialog).
    locale: the device's locale; a create must carry announcement text for it.
    clock / seconds_per_minute: the API's clock; by default wall time, sped up when
        seconds_per_minute < 60.
    personal_timers: timers the user set by voice, which count against the limit of ten.
    ssl_context: serve https with this server context (to test certificate checks).
    skill_id: the skill whose timers these are (a LAUNCH_TASK task is named after it).
    tasks: {(task name, version): the input's JSON schema} the skill declares; by default
        the project's skill.json and tasks/ files.
    launch_task: whether the device takes LAUNCH_TASK timers (False: refused with a 400).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tokens: Iterable[str] | None = None,
        locale: str = "en-US",
        clock: Clock | None = None,
        seconds_per_minute: float = 60.0,
        on_fire: OnFire | None = None,
        personal_timers: int = 0,
        poll_interval_s: float = 0.02,
        ssl_context: ssl.SSLContext | None = None,
        skill_id: str = APPLICATION_ID,
        tasks: Mapping[tuple[str, str], Mapping[str, Any]] | None = None,
        launch_task: bool = True,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError("the stand-in speaks plain http, so it listens on loopback only")
        self.host = host
        self.port = port
        self.locale = locale
        self.clock: Clock = clock or ScaledClock(seconds_per_minute)
        self.on_fire = on_fire
        self.personal_timers = personal_timers
        self.skill_id = skill_id
        self.tasks = declared_tasks() if tasks is None else tasks
        self.launch_task = launch_task
        self.requests: list[RecordedRequest] = []
        self.fired: list[tuple[StandInTimer, str]] = []
        self._allowed: set[str] | None = set(tokens) if tokens is not None else None
        self._revoked: set[str] = set()
        self._timers: dict[str, StandInTimer] = {}
        self._fault: _Fault | None = None
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._poll_interval_s = poll_interval_s
        self._ssl_context = ssl_context
        self._server: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.connections = 0  # TCP connections accepted so far
        self._open: set[socket.socket] = set()  # connections a client may still send on

    # --- lifecycle ----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The apiEndpoint to put in the request envelope."""
        if self._server is None:
            raise RuntimeError("the stand-in is not running")
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self._ssl_context is not None else "http"
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> TimersApiStandIn:
        if self._server is not None:
            return self
        self._stop.clear()
        server_class = _Server6 if ":" in self.host else _Server
        server = server_class((self.host.strip("[]"), self.port), _Handler)
        server.standin = self
        if self._ssl_context is not None:
            # The handshake then happens in the request's thread, not in the accept loop.
            server.socket = self._ssl_context.wrap_socket(
                server.socket, server_side=True, do_handshake_on_connect=False
            )
        self._server = server
        self.port = server.server_address[1]
        self._threads = [
            threading.Thread(
                target=server.serve_forever, args=(0.05,), daemon=True, name="timers-standin-http"
            ),
            threading.Thread(target=self._fire_loop, daemon=True, name="timers-standin-clock"),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self._stop.set()  # releases hanging requests and the firing loop
        server.shutdown()
        server.server_close()
        self.close_connections()  # kept-alive connections: their handler threads end too
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []

    def __enter__(self) -> TimersApiStandIn:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- control ------------------------------------------------------------------------

    def grant(self, token: str) -> None:
        """Give `token` the timers permission (the user said yes)."""
        with self._lock:
            self._revoked.discard(token)
            if self._allowed is not None:
                self._allowed.add(token)

    def revoke(self, token: str) -> None:
        """Take the permission away from `token`: its calls now get 401."""
        with self._lock:
            self._revoked.add(token)
            if self._allowed is not None:
                self._allowed.discard(token)

    def respond_with(self, status: int, *, times: int | None = 1, body: Any = None) -> None:
        """Answer the next `times` requests (None: all) with `status`.

        body: a dict (sent as JSON), str or bytes (sent as is); by default a JSON error
        body `{"code", "message"}`.
        """
        with self._lock:
            self._fault = _Fault("status", times, status=status, body=body)

    def hang(self, *, times: int | None = 1, seconds: float = 30.0) -> None:
        """Read the next requests, then say nothing for `seconds` and close the socket."""
        with self._lock:
            self._fault = _Fault("hang", times, seconds=seconds)

    def drop_connection(self, *, times: int | None = 1) -> None:
        """Read the next requests, then close the socket without a response."""
        with self._lock:
            self._fault = _Fault("drop", times)

    def close_connections(self) -> None:
        """Close every open connection from the server's side (an idle timeout, a restart)."""
        with self._lock:
            conns, self._open = list(self._open), set()
        for conn in conns:
            with contextlib.suppress(OSError):  # the client closed it first
                conn.shutdown(socket.SHUT_RDWR)

    def _opened(self, conn: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self._open.add(conn)

    def _closed(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.discard(conn)

    def clear_faults(self) -> None:
        with self._lock:
            self._fault = None

    def timers(self) -> list[StandInTimer]:
        """The live timers (copies), soonest to end first."""
        with self._lock:
            now = self.clock.now()
            live = sorted(self._timers.values(), key=lambda t: t.remaining(now))
            return [dataclasses.replace(t) for t in live]

    def fire_due(self) -> list[StandInTimer]:
        """Fire every timer whose time has come; the clock thread calls this too."""
        with self._lock:
            now = self.clock.now()
            due = sorted(
                (
                    t
                    for t in self._timers.values()
                    if t.status == "ON" and t.trigger_at is not None and t.trigger_at <= now
                ),
                key=lambda t: t.trigger_at or 0.0,
            )
            for timer in due:
                del self._timers[timer.id]
                self.fired.append((timer, timer.announcement))
        for timer in due:
            if self.on_fire is not None:
                try:
                    self.on_fire(timer, timer.announcement)
                except Exception:  # a broken callback must not stop the clock
                    log.exception("on_fire failed for timer %s", timer.id)
        return due

    def _fire_loop(self) -> None:
        while not self._stop.wait(self._poll_interval_s):
            self.fire_due()

    # --- requests -----------------------------------------------------------------------

    def _serve(self, handler: _Handler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length > 0 else b""
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        answer = self.answer(handler.command, handler.path, dict(handler.headers.items()), body)
        if isinstance(answer, _Fault) and answer.kind == "hang":
            self._stop.wait(answer.seconds)
        if isinstance(answer, _Fault):
            handler.close_connection = True  # dropped or hung: no response at all
            return
        _send(handler, *answer)

    def answer(self, method: str, target: str, headers: dict[str, str],
               body: Any) -> tuple[int, Any] | _Fault:
        """One request, however it arrived: (status, payload), or the fault that replaces
        any response (a dropped connection, a hang)."""
        path = urlsplit(target).path.rstrip("/") or "/"
        with self._lock:
            self.requests.append(RecordedRequest(method, path, dict(headers), body))
            fault = self._take_fault()
        if fault is not None and fault.kind in ("drop", "hang"):
            return fault
        if fault is not None:
            return fault.status, _fault_body(fault)
        self.fire_due()  # a timer past its time is gone even if the clock thread lags
        authorization = next((v for k, v in headers.items() if k.lower() == "authorization"),
                             None)
        try:
            self._check_token(authorization)
            return self._route(method, path, body)
        except _ApiError as e:
            return e.status, {"code": e.code, "message": e.message}

    def _take_fault(self) -> _Fault | None:
        fault = self._fault
        if fault is None:
            return None
        if fault.times is not None:
            fault.times -= 1
            if fault.times <= 0:
                self._fault = None
        return fault

    def _check_token(self, authorization: str | None) -> None:
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        with self._lock:
            known = self._allowed is None or token in self._allowed
            if scheme.lower() != "bearer" or not token or token in self._revoked or not known:
                raise _ApiError(401, "UNAUTHORIZED", "Request Unauthorized.")

    def _route(self, method: str, path: str, body: Any) -> tuple[int, Any]:
        if path == BASE_PATH:
            if method == "POST":
                return 200, self._create(body)
            if method == "GET":
                return 200, self._list()
            if method == "DELETE":
                with self._lock:
                    self._timers.clear()
                return 200, None
        elif path.startswith(BASE_PATH + "/"):
            rest = [unquote(p) for p in path[len(BASE_PATH) + 1 :].split("/")]
            if len(rest) == 1 and method == "GET":
                return 200, self._find(rest[0]).to_json()
            if len(rest) == 1 and method == "DELETE":
                with self._lock:
                    del self._timers[self._find(rest[0]).id]
                return 200, None
            if len(rest) == 2 and method == "POST" and rest[1] in ("pause", "resume"):
                self._pause_or_resume(self._find(rest[0]), rest[1])
                return 200, None
        raise _ApiError(404, "NOT_FOUND", f"No such resource: {method} {path}")

    def _find(self, timer_id: str) -> StandInTimer:
        with self._lock:
            timer = self._timers.get(timer_id)
        if timer is None:
            raise _ApiError(404, "TIMER_NOT_FOUND", f"Timer {timer_id} not found.")
        return timer

    def _list(self) -> dict[str, Any]:
        timers = [t.to_json() for t in self.timers()]
        return {"totalCount": len(timers), "timers": timers}

    def _pause_or_resume(self, timer: StandInTimer, action: str) -> None:
        with self._lock:
            now = self.clock.now()
            if action == "pause" and timer.status == "ON":
                timer.remaining_when_paused = timer.remaining(now)
                timer.status, timer.trigger_at = "PAUSED", None
                timer.updated = now
            elif action == "resume" and timer.status == "PAUSED":
                timer.trigger_at = now + (timer.remaining_when_paused or 0.0)
                timer.status, timer.remaining_when_paused = "ON", None
                timer.updated = now

    def _create(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise _ApiError(400, "INVALID_REQUEST", "The body must be a JSON object.")
        duration = body.get("duration")
        seconds = parse_iso_duration(duration) if isinstance(duration, str) else None
        if seconds is None or seconds <= 0:
            raise _ApiError(400, "INVALID_DURATION", f"Invalid duration: {duration!r}.")
        if seconds > MAX_DURATION_S:
            raise _ApiError(400, "DURATION_TOO_LONG", "A timer can be at most 2 hours long.")

        label = body.get("timerLabel")
        if label is not None and not isinstance(label, str):
            raise _ApiError(400, "INVALID_REQUEST", "timerLabel must be a string.")
        if label is not None and len(label) > MAX_LABEL_CHARS:
            raise _ApiError(400, "LABEL_TOO_LONG", "timerLabel is over 256 characters.")

        visibility = _get(body, "creationBehavior", "displayExperience", "visibility")
        if visibility not in ("VISIBLE", "HIDDEN"):
            raise _ApiError(
                400,
                "INVALID_REQUEST",
                "creationBehavior.displayExperience.visibility must be VISIBLE or HIDDEN.",
            )
        if not isinstance(
            _get(body, "triggeringBehavior", "notificationConfig", "playAudible"), bool
        ):
            raise _ApiError(
                400,
                "INVALID_REQUEST",
                "triggeringBehavior.notificationConfig.playAudible must be a boolean.",
            )
        operation = _get(body, "triggeringBehavior", "operation")
        task = self._task(operation)
        announcement = self._announcement(operation)

        with self._lock:
            if label is not None and any(t.label == label for t in self._timers.values()):
                raise _ApiError(400, "DUPLICATE_LABEL", f"A timer labelled {label!r} exists.")
            if len(self._timers) + self.personal_timers >= MAX_TIMERS:
                raise _ApiError(400, "MAX_TIMERS_EXCEEDED", "There are already 10 timers.")
            now = self.clock.now()
            timer = StandInTimer(
                id=str(uuid.uuid4()),
                label=label,
                duration=duration if isinstance(duration, str) else format_iso_duration(seconds),
                duration_s=seconds,
                status="ON",
                created=now,
                updated=now,
                trigger_at=now + seconds,
                remaining_when_paused=None,
                announcement=announcement,
                request=body,
                task=task,
            )
            self._timers[timer.id] = timer
            return timer.to_json()

    def _announcement(self, operation: Any) -> str:
        kind = operation.get("type") if isinstance(operation, dict) else None
        if kind == "NOTIFY_ONLY":
            return ""
        if kind == "LAUNCH_TASK":
            return self._confirmation(operation)
        if kind != "ANNOUNCE":
            raise _ApiError(
                400,
                "INVALID_REQUEST",
                f"The stand-in supports ANNOUNCE, LAUNCH_TASK and NOTIFY_ONLY, not {kind!r}.",
            )
        entries = operation.get("textToAnnounce")
        for entry in entries if isinstance(entries, list) else []:
            if (
                isinstance(entry, dict)
                and str(entry.get("locale", "")).lower() == self.locale.lower()
                and isinstance(entry.get("text"), str)
                and entry["text"].strip()
            ):
                return str(entry["text"])
        raise _ApiError(400, "ANNOUNCEMENT_MISSING", f"No textToAnnounce for {self.locale}.")


    def _task(self, operation: Any) -> dict[str, Any] | None:
        """A LAUNCH_TASK operation's task, checked; None for the other operations."""
        if not isinstance(operation, dict) or operation.get("type") != "LAUNCH_TASK":
            return None
        if not self.launch_task:
            raise _ApiError(400, "INVALID_REQUEST",
                            "LAUNCH_TASK is not supported on this device or in this locale.")
        task = operation.get("task")
        if not isinstance(task, dict):
            raise _ApiError(400, "INVALID_REQUEST", "A LAUNCH_TASK operation needs a task.")
        name, version, given = task.get("name"), task.get("version"), task.get("input", {})
        prefix = f"{self.skill_id}."
        bare = name[len(prefix):] if isinstance(name, str) and name.startswith(prefix) else None
        schema = self.tasks.get((bare, version)) if isinstance(version, str) and bare else None
        if schema is None:
            raise _ApiError(400, "INVALID_REQUEST",
                            f"No task {name!r} version {version!r} declared by {self.skill_id}.")
        problems = schema_problems(given, schema)
        if problems:
            raise _ApiError(400, "INVALID_REQUEST", "Task input: " + "; ".join(problems))
        return {"name": name, "version": version, "input": given}

    def _confirmation(self, operation: dict[str, Any]) -> str:
        entries = operation.get("textToConfirm")
        for entry in entries if isinstance(entries, list) else []:
            if (
                isinstance(entry, dict)
                and str(entry.get("locale", "")).lower() == self.locale.lower()
                and isinstance(entry.get("text"), str)
                and CONTINUE_WITH_SKILL_NAME in entry["text"]
            ):
                return str(entry["text"])
        raise _ApiError(400, "INVALID_REQUEST", f"No textToConfirm for {self.locale} naming "
                                                f"{CONTINUE_WITH_SKILL_NAME}.")


@cache
def _project_tasks(root: Path) -> dict[tuple[str, str], dict[str, Any]]:
    manifest = json.loads((root / "skill.json").read_text(encoding="utf-8"))
    declared = _get(manifest, "manifest", "apis", "custom", "tasks")
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in declared if isinstance(declared, list) else []:
        name, version = _get(entry, "name"), _get(entry, "version")
        path = root / "tasks" / f"{name}.{version}.json"
        if not isinstance(name, str) or not isinstance(version, str) or not path.is_file():
            continue
        definition = json.loads(path.read_text(encoding="utf-8"))
        schema = _get(definition, "paths", f"/{name}", "post", "requestBody", "content",
                      "application/json", "schema")
        found[(name, version)] = schema if isinstance(schema, dict) else {}
    return found


def declared_tasks(root: Path = PROJECT_ROOT) -> dict[tuple[str, str], dict[str, Any]]:
    """{(name, version): input schema} of the tasks the project's skill.json declares."""
    return dict(_project_tasks(root))


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list,), "string": (str,), "integer": (int,),
    "number": (int, float), "boolean": (bool,),
}


def schema_problems(value: Any, schema: Mapping[str, Any], at: str = "input") -> list[str]:
    """Where `value` breaks an OpenAPI schema: the keywords task inputs use (type, enum,
    minimum, maximum, properties, required, additionalProperties), nothing more."""
    kind = schema.get("type")
    wanted = _JSON_TYPES.get(kind) if isinstance(kind, str) else None
    if wanted is not None and (not isinstance(value, wanted)
                               or (kind != "boolean" and isinstance(value, bool))):
        return [f"{at} is not of type {kind}"]
    problems = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{at} is not one of {schema['enum']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{at} is below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{at} is above {schema['maximum']}")
    if isinstance(value, dict):
        properties = schema.get("properties") or {}
        for key in schema.get("required") or []:
            if key not in value:
                problems.append(f"{at}.{key} is missing")
        for key, item in value.items():
            if key in properties:
                problems += schema_problems(item, properties[key], f"{at}.{key}")
            elif schema.get("additionalProperties") is False:
                problems.append(f"{at}.{key} is not expected")
    return problems


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    standin: TimersApiStandIn

    def process_request(self, request: Any, client_address: Any) -> None:
        self.standin._opened(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        self.standin._closed(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gives up mid-request (a timeout, a failed TLS handshake) is expected.
        log.debug("timers stand-in: request from %s failed", client_address, exc_info=True)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes; on a kept-alive connection Nagle's
    # algorithm would hold the body back until the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.do_handshake()

    def do_GET(self) -> None:
        self.server.standin._serve(self)

    do_POST = do_DELETE = do_PUT = do_PATCH = do_GET

    def date_time_string(self, timestamp: float | None = None) -> str:
        # The Date header is on the API's clock, so "time left" holds when minutes are sped up.
        return formatdate(
            self.server.standin.clock.now() if timestamp is None else timestamp, usegmt=True
        )

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("timers stand-in: " + format, *args)


def _send(handler: _Handler, status: int, payload: Any) -> None:
    if payload is None:
        data = b""
    elif isinstance(payload, bytes):
        data = payload
    elif isinstance(payload, str):
        data = payload.encode("utf-8")
    else:
        data = json.dumps(payload).encode("utf-8")
    handler.send_response(status)
    if data:
        handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def _fault_body(fault: _Fault) -> Any:
    if fault.body is not None:
        return fault.body
    code = _DEFAULT_CODES.get(fault.status, f"HTTP_{fault.status}")
    return {"code": code, "message": f"Injected {fault.status} from the stand-in."}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _iso_time(epoch_s: float) -> str:
    moment = datetime.fromtimestamp(epoch_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class InProcessTimersClient(ApiClient):
    """The stand-in without the network: an ASK `ApiClient` that answers in this process.

    A test seam in the manner of httpx's mock transport: the skill's own TimerService,
    serializer and error mapping run exactly as over HTTP, the request and its answer just
    never touch a socket. Faults map to what HttpApiClient raises for them: a dropped
    connection is "connection_dropped", a hang is "timeout" (at once, without the wait).
    The HTTP client itself is tested against the stand-in served over real HTTP.
    """

    def __init__(self, standin: TimersApiStandIn) -> None:
        self.standin = standin

    def invoke(self, request: ApiClientRequest) -> ApiClientResponse:
        parts = urlsplit(request.url or "")
        if parts.scheme not in ("http", "https"):
            raise ApiClientError("insecure_url", f"not a web URL: {request.url!r}")
        headers = {k: v for k, v in request.headers or []}
        body = request.body
        if isinstance(body, str | bytes) and body:
            try:
                body = json.loads(body)
            except ValueError:
                body = body.decode() if isinstance(body, bytes) else body
        answer = self.standin.answer(request.method or "GET", parts.path, headers, body or None)
        if isinstance(answer, _Fault):
            if answer.kind == "drop":
                raise ApiClientError("connection_dropped", "the stand-in dropped the connection")
            raise ApiClientError("timeout", "the stand-in hung")
        status, payload = answer
        text = payload if isinstance(payload, str) else (
            payload.decode() if isinstance(payload, bytes) else
            "" if payload is None else json.dumps(payload))
        return ApiClientResponse(
            headers=[("Content-Type", "application/json"),
                     ("Date", formatdate(self.standin.clock.now(), usegmt=True))],
            status_code=status, body=error_body_for_sdk(status, text))
