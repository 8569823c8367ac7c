"""Alexa timers as the conversation code sees them: one call, one small typed outcome.

`TimerService` wraps ask-sdk-model's `TimerManagementServiceClient` on the bounded
`skill.http_client.HttpApiClient`. Every operation returns a value from a closed set
(`TimerSet`, `TimerInfo`, `TimerList`, `Done`, `NotFound`, `PermissionNeeded`,
`TimerRefused`, `TimersUnavailable`) and never raises for a service failure, so a broken
timer service can never end the routine. No spoken words live here: the caller passes
the announcement text, rendered from its templates in the request's locale.

Typical use in a handler::

    timers = TimerService.from_handler_input(handler_input)
    match timers.create(15, label="cold-1", announcement=text, locale=locale):
        case TimerSet() as timer: ...
        case PermissionNeeded(): ...  # ask by voice (Connections.SendRequest AskFor)
        case TimerRefused(reason=reason): ...
        case TimersUnavailable(): ...  # tell the runner how long to time it themselves
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Literal, TypeAlias, get_args

from ask_sdk_core.serialize import DefaultSerializer
from ask_sdk_model.services import ApiClient, ApiConfiguration
from ask_sdk_model.services.timer_management import (
    AnnounceOperation,
    CreationBehavior,
    DisplayExperience,
    LaunchTaskOperation,
    NotificationConfig,
    Task,
    TextToAnnounce,
    TextToConfirm,
    TimerManagementServiceClient,
    TimerRequest,
    TriggeringBehavior,
    Visibility,
)

from skill.http_client import ApiClientError, HttpApiClient
from skill.permissions import TIMERS_SCOPE

log = logging.getLogger(__name__)


# The API's documented limits (PLATFORM.md "Timers API").
MAX_DURATION_S = 2 * 60 * 60
MAX_LABEL_CHARS = 256
MAX_TIMERS = 10
# Where Alexa puts the skill's name in a LAUNCH_TASK timer's question ("... continue with
# Cramp Coach?"). Amazon's samples write it so; ask-sdk-model's docstring says "%s": this is the
# one place to change it.
CONTINUE_WITH_SKILL_NAME = "{continueWithSkillName}"

TimerState: TypeAlias = Literal["ON", "PAUSED", "OFF"]

RefusalReason: TypeAlias = Literal[
    "duplicate_label",  # a live timer already has this label
    "limit_reached",  # ten timers (skill and personal) already exist
    "too_long",  # over two hours
    "invalid_duration",  # zero, negative or not an ISO-8601 duration
    "label_too_long",  # over 256 characters
    "announcement_missing",  # no announcement text for the locale
    "forbidden",  # 403
    "bad_request",  # any other 400
]

# No HTTP response at all: skill.http_client's failures, its "bad_request" (the request
# could not be sent as given, a malformed endpoint) named "client_error" here.
NoAnswerReason: TypeAlias = Literal[
    "timeout",
    "connection_refused",
    "connection_dropped",
    "connection_failed",
    "tls_error",
    "insecure_url",
    "client_error",
]
UnavailableReason: TypeAlias = Literal[
    "server_error",  # 500
    "device_offline",  # 504
    "unexpected_status",  # a code the API does not declare here (429, 502, ...)
    "bad_response",  # a 2xx whose body is not a timer
    "no_endpoint",  # the request carried no apiEndpoint
    NoAnswerReason,
]

# Codes in the JSON body of a 400 that name the broken rule. Amazon's public reference
# lists no body codes; these are the local stand-in's (skill/standins/timers_api.py). A
# 400 from create with any other code is diagnosed by listing the timers.
REFUSAL_CODES: dict[str, RefusalReason] = {
    "DUPLICATE_LABEL": "duplicate_label",
    "MAX_TIMERS_EXCEEDED": "limit_reached",
    "DURATION_TOO_LONG": "too_long",
    "INVALID_DURATION": "invalid_duration",
    "LABEL_TOO_LONG": "label_too_long",
    "ANNOUNCEMENT_MISSING": "announcement_missing",
}


_DIAGNOSE_WITHIN_S = 1.0

_NO_ANSWER = frozenset(get_args(NoAnswerReason))


# --- outcomes -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TimerSet:
    """The timer was created; `ends_at` is on the API's clock (use `get` for time left)."""

    id: str
    label: str
    duration_s: int
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimerInfo:
    """One timer as the API reports it; `remaining_s` is None when it cannot be told."""

    id: str
    label: str | None
    status: TimerState
    duration_s: int
    remaining_s: int | None
    ends_at: datetime | None


@dataclass(frozen=True, slots=True)
class TimerList:
    """The skill's live timers, soonest to end first."""

    timers: tuple[TimerInfo, ...]

    def by_label(self, label: str) -> TimerInfo | None:
        """The timer with this label, if one is live."""
        return next((t for t in self.timers if t.label == label), None)


@dataclass(frozen=True, slots=True)
class Done:
    """The change (cancel, pause, resume) was made; `timer_id` is None for "all timers"."""

    timer_id: str | None


@dataclass(frozen=True, slots=True)
class NotFound:
    """No such timer (404): it was cancelled, or it has already gone off."""

    timer_id: str


@dataclass(frozen=True, slots=True)
class PermissionNeeded:
    """401: the user has not granted the timers permission; ask for `scope`."""

    scope: str = TIMERS_SCOPE


@dataclass(frozen=True, slots=True)
class TimerRefused:
    """The API (or the rules checked before calling it) refused this request."""

    reason: RefusalReason
    status: int | None = None


@dataclass(frozen=True, slots=True)
class TimersUnavailable:
    """The timer service could not be used this turn; the routine goes on without it."""

    reason: UnavailableReason
    status: int | None = None


Failure: TypeAlias = PermissionNeeded | TimerRefused | TimersUnavailable
CreateOutcome: TypeAlias = TimerSet | Failure
GetOutcome: TypeAlias = TimerInfo | NotFound | Failure
ListOutcome: TypeAlias = TimerList | Failure
ChangeOutcome: TypeAlias = Done | NotFound | Failure


# --- ISO-8601 durations -------------------------------------------------------------------

_ISO_DURATION = re.compile(
    r"P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?",
    re.IGNORECASE,
)
_UNIT_S = {"w": 604800.0, "d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}


def parse_iso_duration(text: str) -> float | None:
    """Seconds in an ISO-8601 duration such as "PT20M" or "PT1H30M"; None if not one.

    Years and months are refused: their length in seconds is not fixed.
    """
    text = text.strip()
    match = _ISO_DURATION.fullmatch(text)
    if match is None or text.upper().endswith("T"):
        return None
    parts = {k: v for k, v in match.groupdict().items() if v is not None}
    if not parts:
        return None
    return sum(float(v) * _UNIT_S[k] for k, v in parts.items())


def format_iso_duration(seconds: float) -> str:
    """The ISO-8601 duration for a number of seconds: 900 -> "PT15M", 5400 -> "PT1H30M"."""
    total_ms = max(0, round(seconds * 1000))
    hours, rest = divmod(total_ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if rest or text == "PT":
        text += f"{rest // 1000}S" if rest % 1000 == 0 else f"{rest / 1000:.3f}".rstrip("0") + "S"
    return text


def duration_seconds(duration: int | str) -> float | None:
    """Whole minutes (an int) or an ISO-8601 duration (a str, as AMAZON.DURATION gives it)."""
    if isinstance(duration, bool):  # bool is an int; True minutes is a bug upstream
        return None
    if isinstance(duration, int):
        return duration * 60.0
    return parse_iso_duration(duration)


@dataclass(frozen=True, slots=True)
class LaunchTask:
    """What a timer that brings the skill back launches when it ends (LAUNCH_TASK): the task
    (`name` is "<skill id>.<task>"), its input, and the question Alexa asks first, which must
    hold CONTINUE_WITH_SKILL_NAME."""

    name: str
    version: str
    input: dict[str, Any]
    confirm: str


def build_timer_request(
    duration_iso: str, label: str, announcement: str, locale: str,
    task: LaunchTask | None = None,
) -> TimerRequest:
    """The create body: visible on screens, chimes, then speaks `announcement` in `locale`;
    with a `task`, asks its question in `locale` instead and launches it on a yes."""
    operation: AnnounceOperation | LaunchTaskOperation
    if task is None:
        operation = AnnounceOperation(
            text_to_announce=[TextToAnnounce(locale=locale, text=announcement)])
    else:
        operation = LaunchTaskOperation(
            text_to_confirm=[TextToConfirm(locale=locale, text=task.confirm)],
            task=Task(name=task.name, version=task.version, input=dict(task.input)))
    return TimerRequest(
        duration=duration_iso,
        timer_label=label,
        creation_behavior=CreationBehavior(
            display_experience=DisplayExperience(visibility=Visibility.VISIBLE)
        ),
        triggering_behavior=TriggeringBehavior(
            operation=operation,
            notification_config=NotificationConfig(play_audible=True),
        ),
    )


# --- the service --------------------------------------------------------------------------

_default_clients: dict[str | None, HttpApiClient] = {}
_default_clients_lock = threading.Lock()


def default_api_client(ca_bundle: str | None = None) -> HttpApiClient:
    """One client per process (per CA bundle), from any thread: a warm Lambda or a web
    worker reuses its loaded trust store and its kept-alive connections to the API."""
    with _default_clients_lock:
        client = _default_clients.get(ca_bundle)
        if client is None:
            client = _default_clients[ca_bundle] = HttpApiClient(ca_bundle=ca_bundle)
        return client


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TimerService:
    """Create, read, pause, resume and cancel Alexa timers; failures come back as values.

    Build one per turn (`from_handler_input`). After a call gets no HTTP response at all
    (timeout, refused or dropped connection) the service answers every later call in the
    same turn with the same `TimersUnavailable` at once, so one slow turn costs one
    timeout, not several.
    """

    def __init__(
        self,
        client: TimerManagementServiceClient | None,
        *,
        clock: Callable[[], datetime] = _utc_now,
    ) -> None:
        """`client` None means no endpoint: every call answers TimersUnavailable."""
        self._client = client
        self._clock = clock
        self._broken: TimersUnavailable | None = (
            None if client is not None else TimersUnavailable("no_endpoint")
        )

    @classmethod
    def for_endpoint(
        cls,
        api_endpoint: str | None,
        api_access_token: str | None,
        *,
        api_client: ApiClient | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> TimerService:
        """A service for the request's `apiEndpoint` and `apiAccessToken`."""
        if not api_endpoint:
            return cls(None, clock=clock)
        configuration = ApiConfiguration(
            serializer=DefaultSerializer(),
            api_client=api_client or default_api_client(),
            # No token at all is sent as an empty bearer token: the API answers 401, which
            # is exactly "ask for permission".
            authorization_value=api_access_token or "",
            api_endpoint=api_endpoint,
        )
        return cls(TimerManagementServiceClient(configuration), clock=clock)

    @classmethod
    def from_handler_input(
        cls,
        handler_input: Any,
        *,
        api_client: ApiClient | None = None,
        clock: Callable[[], datetime] = _utc_now,
    ) -> TimerService:
        """A service for this request, on the skill's HttpApiClient (or a default one).

        The skill's API client (CustomSkillBuilder(api_client=...)) is used only if it is
        an HttpApiClient: the SDK's DefaultApiClient has no timeout.
        """
        system = getattr(getattr(handler_input.request_envelope, "context", None), "system", None)
        client = api_client or _skill_api_client(handler_input)
        return cls.for_endpoint(
            getattr(system, "api_endpoint", None),
            getattr(system, "api_access_token", None),
            api_client=client,
            clock=clock,
        )

    # --- operations -----------------------------------------------------------------------

    def create(
        self, duration: int | str, label: str, announcement: str, locale: str,
        *, task: LaunchTask | None = None,
    ) -> CreateOutcome:
        """Set a timer of `duration` (minutes, or ISO-8601) that speaks `announcement`.

        With a `task`, the timer asks whether to go back to the skill and launches the task on a
        yes. Where the API refuses that (a device or locale without LAUNCH_TASK answers 400),
        the same timer is set to speak `announcement` instead: the caller sees a timer set.
        """
        seconds = duration_seconds(duration)
        if seconds is None or seconds <= 0:
            return TimerRefused("invalid_duration")
        if seconds > MAX_DURATION_S:
            return TimerRefused("too_long")
        if not label:
            return TimerRefused("bad_request")
        if len(label) > MAX_LABEL_CHARS:
            return TimerRefused("label_too_long")
        if not announcement.strip() or not locale:
            return TimerRefused("announcement_missing")
        if self._broken or self._client is None:
            return self._broken or TimersUnavailable("no_endpoint")

        if task is not None and CONTINUE_WITH_SKILL_NAME not in task.confirm:
            log.warning("timers create: the task's question lacks %s; announcing instead",
                        CONTINUE_WITH_SKILL_NAME)
            task = None
        iso = format_iso_duration(seconds)
        request = build_timer_request(iso, label, announcement, locale, task)
        started = time.monotonic()
        try:
            response = self._client.create_timer(request)
        except Exception as exc:
            outcome = self._failure("create", exc)
            if task is not None and _operation_refused(outcome):
                log.info("timers create: LAUNCH_TASK refused (%s); announcing instead", outcome)
                return self.create(duration, label, announcement, locale)
            # A second call to explain the refusal only if the first was quick, so the two
            # together stay inside the turn's time budget.
            quick = time.monotonic() - started < _DIAGNOSE_WITHIN_S
            if isinstance(outcome, TimerRefused) and outcome.reason == "bad_request" and quick:
                return self._diagnose_refusal(label, outcome)
            return outcome
        info = _timer_info(response, reference=self._clock())
        if info is None:
            return self._unavailable("create", TimersUnavailable("bad_response"))
        return TimerSet(
            id=info.id,
            label=info.label if info.label is not None else label,
            duration_s=info.duration_s or round(seconds),
            ends_at=info.ends_at,
        )

    def get(self, timer_id: str) -> GetOutcome:
        """The timer's status and how long is left."""
        if not timer_id:
            return NotFound(timer_id)
        if self._broken or self._client is None:
            return self._broken or TimersUnavailable("no_endpoint")
        try:
            api_response: Any = self._client.get_timer(timer_id, full_response=True)
        except Exception as exc:
            return self._failure_for(timer_id, "get", exc)
        reference = _server_time(api_response.headers) or self._clock()
        info = _timer_info(api_response.body, reference=reference)
        if info is None:
            return self._unavailable("get", TimersUnavailable("bad_response"))
        return info

    def list(self) -> ListOutcome:
        """Every live timer this skill set for the user, soonest to end first."""
        if self._broken or self._client is None:
            return self._broken or TimersUnavailable("no_endpoint")
        try:
            api_response: Any = self._client.get_timers(full_response=True)
        except Exception as exc:
            return self._failure("list", exc)
        reference = _server_time(api_response.headers) or self._clock()
        if api_response.body is None:
            return self._unavailable("list", TimersUnavailable("bad_response"))
        infos = [_timer_info(t, reference=reference) for t in api_response.body.timers or ()]
        if any(i is None for i in infos):
            return self._unavailable("list", TimersUnavailable("bad_response"))
        timers = tuple(i for i in infos if i is not None)
        return TimerList(tuple(sorted(timers, key=_soonest_first)))

    def cancel(self, timer_id: str) -> ChangeOutcome:
        """Cancel one timer."""
        return self._change("cancel", timer_id) if timer_id else NotFound(timer_id)

    def cancel_all(self) -> ChangeOutcome:
        """Cancel every timer this skill set for the user."""
        return self._change("cancel_all", None)

    def pause(self, timer_id: str) -> ChangeOutcome:
        """Pause a running timer."""
        return self._change("pause", timer_id) if timer_id else NotFound(timer_id)

    def resume(self, timer_id: str) -> ChangeOutcome:
        """Resume a paused timer."""
        return self._change("resume", timer_id) if timer_id else NotFound(timer_id)

    # --- internals ------------------------------------------------------------------------

    def _change(self, op: str, timer_id: str | None) -> ChangeOutcome:
        if self._broken or self._client is None:
            return self._broken or TimersUnavailable("no_endpoint")
        try:
            if timer_id is None:
                self._client.delete_timers()
            elif op == "cancel":
                self._client.delete_timer(timer_id)
            elif op == "pause":
                self._client.pause_timer(timer_id)
            else:
                self._client.resume_timer(timer_id)
        except Exception as exc:
            return self._failure_for(timer_id, op, exc) if timer_id else self._failure(op, exc)
        return Done(timer_id)

    def _failure_for(self, timer_id: str, op: str, exc: Exception) -> NotFound | Failure:
        """As `_failure`, where a 404 means this timer is gone."""
        if getattr(exc, "status_code", None) == 404 and _transport_error(exc) is None:
            log.info("timers %s: %s not found", op, timer_id)
            return NotFound(timer_id)
        return self._failure(op, exc)

    def _failure(self, op: str, exc: Exception) -> Failure:
        """Map whatever the SDK raised to an outcome."""
        transport = _transport_error(exc)
        if transport is not None:
            kind = transport.kind
            reason: UnavailableReason = "client_error" if kind == "bad_request" else kind
            return self._unavailable(op, TimersUnavailable(reason), exc)
        status = getattr(exc, "status_code", None)
        if not isinstance(status, int):
            # SerializationException and the like: an answer we could not read.
            return self._unavailable(op, TimersUnavailable("bad_response"), exc)
        outcome: Failure
        if status == 401:
            outcome = PermissionNeeded()
        elif status == 403:
            outcome = TimerRefused("forbidden", 403)
        elif status == 400:
            outcome = TimerRefused(REFUSAL_CODES.get(_error_code(exc) or "", "bad_request"), 400)
        elif status == 500:
            outcome = TimersUnavailable("server_error", 500)
        elif status == 504:
            outcome = TimersUnavailable("device_offline", 504)
        else:
            outcome = TimersUnavailable("unexpected_status", status)
        log.warning("timers %s: HTTP %s -> %s", op, status, outcome)
        return outcome

    def _unavailable(
        self, op: str, outcome: TimersUnavailable, exc: Exception | None = None
    ) -> TimersUnavailable:
        # Only a call with no HTTP answer trips the breaker; a 500 may pass on the next call.
        if outcome.reason in _NO_ANSWER:
            self._broken = outcome
        log.warning("timers %s: %s (%s)", op, outcome.reason, exc)
        return outcome

    def _diagnose_refusal(self, label: str, refused: TimerRefused) -> TimerRefused:
        """A 400 with an unknown code: tell a duplicate label or a full house by listing."""
        listed = self.list()
        if isinstance(listed, TimerList):
            if listed.by_label(label) is not None:
                return TimerRefused("duplicate_label", refused.status)
            if len(listed.timers) >= MAX_TIMERS:
                return TimerRefused("limit_reached", refused.status)
        return refused


def _operation_refused(outcome: Failure) -> bool:
    """A 400 that names no rule the announcing timer would also break (a duplicate label, the
    ten timers, the length): what a device or locale without LAUNCH_TASK answers."""
    return isinstance(outcome, TimerRefused) and outcome.reason == "bad_request"


def _skill_api_client(handler_input: Any) -> HttpApiClient | None:
    try:
        factory = handler_input.service_client_factory
    except (AttributeError, ValueError):  # ValueError: the skill was built without a client
        return None
    client = getattr(getattr(factory, "api_configuration", None), "api_client", None)
    return client if isinstance(client, HttpApiClient) else None


def _transport_error(exc: BaseException) -> ApiClientError | None:
    """The ApiClientError behind an SDK ServiceException, if any (it is the __context__)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, ApiClientError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _error_code(exc: Exception) -> str | None:
    body = getattr(exc, "body", None)
    code = getattr(body, "code", None)  # a declared code: the SDK's timer_management Error
    if isinstance(code, str):
        return code
    if isinstance(body, str):  # an undeclared code: the raw text
        try:
            data = json.loads(body)
        except ValueError:
            return None
        if isinstance(data, dict) and isinstance(data.get("code"), str):
            return str(data["code"])
    return None


def _server_time(headers: Any) -> datetime | None:
    """The response's Date header: "time left" measured on the API's own clock."""
    for key, value in headers or ():
        if str(key).lower() == "date":
            try:
                return _as_utc(parsedate_to_datetime(value))
            except (TypeError, ValueError):
                return None
    return None


def _as_utc(moment: Any) -> datetime | None:
    if not isinstance(moment, datetime):
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _timer_info(response: Any, *, reference: datetime) -> TimerInfo | None:
    """A TimerResponse as a TimerInfo; None if it is not a usable timer."""
    timer_id = getattr(response, "id", None)
    if not isinstance(timer_id, str) or not timer_id:
        return None
    raw_status = getattr(response, "status", None)
    status = getattr(raw_status, "value", raw_status)
    if status not in ("ON", "PAUSED", "OFF"):
        return None
    duration = parse_iso_duration(str(getattr(response, "duration", "") or ""))
    ends_at = _as_utc(getattr(response, "trigger_time", None))
    remaining: float | None = None
    if status == "PAUSED":
        remaining = parse_iso_duration(str(getattr(response, "remaining_time_when_paused", "")))
        ends_at = None  # a paused timer has no end time until it resumes
    elif status == "OFF":
        remaining = 0.0
    elif ends_at is not None:
        remaining = max(0.0, (ends_at - reference) / timedelta(seconds=1))
    label = getattr(response, "timer_label", None)
    return TimerInfo(
        id=timer_id,
        label=label if isinstance(label, str) else None,
        status=status,
        duration_s=round(duration or 0),
        remaining_s=None if remaining is None else round(remaining),
        ends_at=ends_at,
    )


def _soonest_first(info: TimerInfo) -> tuple[int, int]:
    return (0 if info.remaining_s is not None else 1, info.remaining_s or 0)
