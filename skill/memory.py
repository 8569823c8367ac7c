"""Per-user memory between sessions: a SQLite file by default, DynamoDB on AWS Lambda.

Both stores implement the ASK SDK's persistence interface (``AbstractPersistenceAdapter``),
keyed by the Alexa user id, and add optimistic concurrency: every record carries an integer
``_version``; a save succeeds only if the stored version still equals the one the caller read,
and then writes version + 1. Two requests for the same user at once (two devices) therefore
never silently overwrite each other: the slower one gets ``StoreConflict``, reloads and retries.

Every backend failure surfaces as ``StoreError`` with a short reason, so the conversation can
carry on from the session. The user id is never logged.

Each store imports what it needs when it is first used: sqlite3 for the embedded store; for
DynamoDB (``CRAMP_COACH_DYNAMODB_TABLE``) this module's own small client on http.client,
which reads the AWS variables botocore would (region, endpoint, credentials) and imports
botocore only off Lambda, to resolve credentials the environment does not hold. Neither boto3
nor botocore is on a Lambda's path, which keeps its cold start short (see DynamoDBClient).
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.settings import Settings, aws_environ

if TYPE_CHECKING:
    import sqlite3

__all__ = [
    "VERSION_KEY",
    "DynamoDBClient",
    "DynamoDBError",
    "DynamoStore",
    "SqliteStore",
    "StoreConflict",
    "StoreError",
    "store_for",
]

log = logging.getLogger(__name__)

VERSION_KEY = "_version"


class StoreError(PersistenceException):
    """The store could not be read or written; the conversation carries on from the session."""


class StoreConflict(StoreError):
    """Another request for the same user saved first; reload and try again."""


# --- shared helpers --------------------------------------------------------------------------


def _user_id(request_envelope: Any) -> str:
    """Return the Alexa user id (context.System.user.userId), as user_id_partition_keygen does."""
    try:
        user_id = request_envelope.context.system.user.user_id
    except AttributeError:
        user_id = None
    if not isinstance(user_id, str) or not user_id:
        raise StoreError("the request carries no user id")
    return user_id


def _check_json(value: Any, where: str = "attributes") -> None:
    """Raise TypeError/ValueError unless value is plain JSON (finite floats, str keys)."""
    if value is None or isinstance(value, str | bool | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is not a finite number")
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_json(item, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{where} has a non-string key")
            _check_json(item, f"{where}.{key}")
        return
    raise TypeError(f"{where} is a {type(value).__name__}, not a JSON value")


# Versions count saves; 2**53 is where JSON numbers stop being exact integers.
MAX_VERSION = 2**53


def _expected_version(attributes: Any) -> int | None:
    """Return the version the caller read (None: no record yet), or raise StoreError."""
    if not isinstance(attributes, dict):
        raise StoreError("attributes must be a dict")
    version = attributes.get(VERSION_KEY)
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version < MAX_VERSION:
        # A session attribute can be tampered with: a version no store ever wrote (one that
        # would overflow SQLite's integers on its next save, say) is refused, not saved.
        raise StoreError(f"{VERSION_KEY} must be a positive integer below {MAX_VERSION}")
    return version


def _payload(attributes: dict[str, Any]) -> dict[str, Any]:
    """Return the attributes to store (without the version key), checked to be plain JSON."""
    payload = {k: v for k, v in attributes.items() if k != VERSION_KEY}
    try:
        _check_json(payload)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"cannot store {exc}") from exc
    return payload


def _corrupt(store: str, reason: str) -> StoreError:
    """Log a corrupt record (never the user id) and return the error to raise."""
    log.warning("%s: corrupt record ignored: %s", store, reason)
    return StoreError(f"corrupt record: {reason}")


# --- SQLite ----------------------------------------------------------------------------------


_SCHEMA = """
CREATE TABLE IF NOT EXISTS user_memory (
    user_id    TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    attributes TEXT NOT NULL
)
"""


class SqliteStore(AbstractPersistenceAdapter):
    """The embedded store: one SQLite file in WAL mode, safe across threads and processes.

    Each thread keeps one connection (reopened after a fork, or when the file was replaced):
    closing the last connection to a WAL database checkpoints it, which cost more than the
    query itself on every turn. A save is one compare-and-set statement (an UPDATE on the
    version read, or an INSERT that does nothing if a record appeared): SQLite runs each
    statement as a transaction under its single write lock, so no other writer (thread or
    process) can slip in between the check and the write. Nothing touches the disk until the
    first operation: a bad path fails that operation with StoreError, not the skill's start-up.
    The methods import sqlite3 themselves, so a Lambda on DynamoDB never loads it.
    """

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout: float = 2.0) -> None:
        # busy_timeout: how long a write waits for another writer's lock. Writes take
        # microseconds, so 2 s only runs out when something is wrong, and still leaves most
        # of Alexa's 8-second budget for speaking from the session.
        self.path = Path(path)
        self.busy_timeout = busy_timeout
        self._ready = False
        self._ready_lock = threading.Lock()
        self._local = threading.local()  # this thread's connection, its pid and file

    # The ASK SDK calls these three.

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        """Return the user's attributes with ``_version``, or {} when nothing is stored."""
        user_id = _user_id(request_envelope)
        with self._failures("read"):
            conn = self._connect()
            row = conn.execute(
                "SELECT version, attributes FROM user_memory WHERE user_id = ?", (user_id,)
            ).fetchone()
        if row is None:
            return {}
        version, text = row
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise _corrupt("sqlite", "version is not a positive integer")
        try:
            attributes = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise _corrupt("sqlite", f"undecodable JSON ({type(exc).__name__})") from exc
        if not isinstance(attributes, dict):
            raise _corrupt("sqlite", f"a JSON {type(attributes).__name__}, not an object")
        attributes[VERSION_KEY] = version
        return attributes

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        """Write attributes if the stored version is still attributes["_version"]; bump it."""
        user_id = _user_id(request_envelope)
        expected = _expected_version(attributes)
        text = json.dumps(_payload(attributes), separators=(",", ":"), allow_nan=False)
        new_version = 1 if expected is None else expected + 1
        with self._failures("write"):
            conn = self._connect()
            # One statement, so one atomic step on its own (autocommit): it writes only if the
            # stored version is the one the caller read, and says whether it did.
            if expected is None:
                done = conn.execute(
                    "INSERT INTO user_memory (user_id, version, attributes) VALUES (?, ?, ?)"
                    " ON CONFLICT (user_id) DO NOTHING",
                    (user_id, new_version, text),
                )
            else:
                done = conn.execute(
                    "UPDATE user_memory SET version = ?, attributes = ?"
                    " WHERE user_id = ? AND version = ?",
                    (new_version, text, user_id, expected),
                )
            if done.rowcount != 1:
                raise StoreConflict("another request saved this user's memory first")
        attributes[VERSION_KEY] = new_version

    def delete_attributes(self, request_envelope: Any) -> None:
        """Remove everything stored for the user, including old copies in the WAL file."""
        import sqlite3

        user_id = _user_id(request_envelope)
        with self._failures("delete"):
            conn = self._connect()
            conn.execute("DELETE FROM user_memory WHERE user_id = ?", (user_id,))
            # secure_delete (set on every connection) zeroes the freed bytes; checkpointing
            # then copies that into the main file and empties the WAL, whose older frames
            # would otherwise still hold the forgotten record. Best effort: a concurrent
            # reader can keep the WAL, and the next checkpoint overwrites it.
            with suppress(sqlite3.OperationalError):  # the DELETE itself has committed
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()

    # Internals.

    def _connect(self) -> sqlite3.Connection:
        """This thread's connection (autocommit; each statement is a transaction), schema
        ensured."""
        local = self._local
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    fresh = self._initialise()
                    self._ready = True
                    # The set-up connection becomes this thread's: closing it would checkpoint
                    # the new file only to open it again (a millisecond of a cold start).
                    self._drop()
                    local.conn, local.pid, local.file_id = fresh, os.getpid(), _file_id(self.path)
                    return fresh
        file_id = _file_id(self.path)
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.pid != os.getpid() or local.file_id != file_id:
            self._drop()  # forked, or the file was replaced: start afresh
            if file_id is None:
                self._ready = False  # the file is gone: set it up again
                return self._connect()
            conn = self._open()
            local.conn, local.pid, local.file_id = conn, os.getpid(), file_id
        return conn

    def _drop(self) -> None:
        """Forget this thread's connection (closing it when this process opened it)."""
        import sqlite3

        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            with suppress(sqlite3.Error):
                conn.close()
        self._local.conn = None

    def _open(self) -> sqlite3.Connection:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=self.busy_timeout, isolation_level=None)
        try:
            # Forgotten data must not linger in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            # WAL with NORMAL sync cannot corrupt the file; a power cut may lose the last
            # turns' saves, which the session still holds. FULL syncs on every commit.
            conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn

    def _initialise(self) -> sqlite3.Connection:
        """Create the folder, the file in WAL mode and the table; the connection stays open."""
        import sqlite3

        # The memory of a person's cramps is private: keep the folder to its owner.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = self._open()
        try:
            # WAL lets readers go on while one writer commits; the mode is stored in the file.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch to WAL (journal mode {mode})")
            conn.execute(_SCHEMA)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """Turn sqlite3 and OS errors into StoreError with a short reason."""
        import sqlite3

        try:
            yield
        except (sqlite3.Error, OSError) as exc:
            self._drop()  # a broken connection is not reused
            if "no such table" in str(exc):
                self._ready = False  # the file was replaced: set it up again next time
            # sqlite's messages ("database is locked", "file is not a database",
            # "attempt to write a readonly database") name no user.
            reason = f"sqlite {action} failed: {exc}"
            log.warning("%s", reason)
            raise StoreError(reason) from exc


def _file_id(path: Path) -> tuple[int, int] | None:
    """Which file is at `path` now (device, inode), or None if none is."""
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino


# --- DynamoDB --------------------------------------------------------------------------------

# Timeouts for every DynamoDB call, so a slow or unreachable store cannot eat Alexa's 8-second
# budget. In-region DynamoDB answers in a few milliseconds, so anything near these limits is a
# fault, not load:
# - connect 0.3 s: a TCP+TLS handshake in-region takes a few ms; 0.3 s still covers a cold one.
# - read 0.7 s: single-item reads and writes are ~10 ms at p99.
# - 2 attempts in total (one retry, as botocore's standard mode): one retry rides out a
#   throttle or a dropped connection, after a random wait of at most 1 s. Worst case per call
#   is about 2 x 1.0 s + 1 s = 3 s, and a request makes one read and one write, so even a
#   store that hangs leaves time to answer from the session. A store that is down (refused)
#   fails within the one wait.
DYNAMODB_CONNECT_TIMEOUT_S = 0.3
DYNAMODB_READ_TIMEOUT_S = 0.7
DYNAMODB_MAX_ATTEMPTS = 2
# Polling interval while waiting for a new table to become ACTIVE (the SDK waiter's 20 s
# default would make every local start-up with create_table=True wait 20 s).
TABLE_WAIT_DELAY_S = 0.5
TABLE_WAIT_MAX_ATTEMPTS = 120

# The DynamoDB JSON protocol: every call is a POST of JSON naming the operation in a header.
DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810."
DYNAMODB_CONTENT_TYPE = "application/x-amz-json-1.0"
# Every operation this module sends (a test compares each request with botocore's own).
DYNAMODB_OPERATIONS = ("GetItem", "PutItem", "DeleteItem", "CreateTable", "DescribeTable")

# Error codes botocore's standard retry mode retries (throttling and transient ones).
_THROTTLED = frozenset({
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "LimitExceededException",
    "TransactionInProgressException",
    "BandwidthLimitExceeded",
    "RequestThrottled",
    "SlowDown",
})
_TRANSIENT = frozenset({"RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete"})
_TRANSIENT_STATUS = frozenset({500, 502, 503, 504})


class DynamoDBError(Exception):
    """DynamoDB's answer was an error: its code (ConditionalCheckFailedException, ...)."""

    def __init__(self, code: str, message: str, status: int) -> None:
        super().__init__(f"{code} ({status}): {message}")
        self.code = code
        self.status = status


class NotConfigured(Exception):
    """No region, or no credentials, to call DynamoDB with; the argument names which."""


class AwsCredentials(NamedTuple):
    """An access key pair, and the session token that temporary credentials (a Lambda
    function's role) come with. (A NamedTuple: a dataclass costs more to define, and this
    module is imported at every cold start.)"""

    access_key: str
    secret_key: str
    token: str | None = None

    def __repr__(self) -> str:
        return f"AwsCredentials(access_key={self.access_key!r}, ...)"  # no secrets in logs


def _dynamodb_reason(exc: BaseException) -> str:
    """A short, user-free reason for a failed DynamoDB call."""
    from skill.http_client import ApiClientError

    if isinstance(exc, DynamoDBError):
        if exc.code in _THROTTLED:
            return f"throttled ({exc.code})"
        if exc.code == "ResourceNotFoundException":
            return "table not found"
        return f"DynamoDB error {exc.code}"
    if isinstance(exc, ApiClientError):
        if exc.kind == "timeout":
            return "timed out"
        return f"unreachable ({exc.kind})"
    if isinstance(exc, NotConfigured):
        return f"not configured ({exc})"
    name = type(exc).__name__
    # botocore's, when it resolved the credentials (off Lambda).
    if name in {"NoRegionError", "NoCredentialsError", "PartialCredentialsError"}:
        return f"not configured ({name})"
    return name


def _to_wire(value: Any) -> dict[str, Any]:
    """Plain JSON -> a DynamoDB attribute value ({"S": ...}, {"N": ...}, {"M": ...}, ...)."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before int: True is an int
        return {"BOOL": value}
    if isinstance(value, int):
        return {"N": str(value)}
    if isinstance(value, float):
        from decimal import Decimal

        # repr() is the shortest string that reads back as the same float (0.1 -> "0.1"); the
        # Decimal spells it as boto3 did ("1E+16"), which DynamoDB reads exactly.
        return {"N": str(Decimal(repr(value)))}
    if value is None:
        return {"NULL": True}
    if isinstance(value, list):
        return {"L": [_to_wire(v) for v in value]}
    if isinstance(value, dict):
        return {"M": {k: _to_wire(v) for k, v in value.items()}}
    raise TypeError(f"a {type(value).__name__} value")  # _payload checked it is plain JSON


def _from_wire(value: Any) -> Any:
    """A DynamoDB attribute value -> plain JSON: numbers become int when whole, else float."""
    if not isinstance(value, dict) or len(value) != 1:
        raise ValueError("not an attribute value")
    [(kind, inner)] = value.items()
    if kind == "S" and isinstance(inner, str):
        return inner
    if kind == "N" and isinstance(inner, str):
        from decimal import Decimal, InvalidOperation

        try:
            number = Decimal(inner)
        except InvalidOperation as exc:
            raise ValueError("an unreadable number") from exc
        if not number.is_finite():
            raise ValueError("a non-finite number")
        # DynamoDB normalises numbers (2.0 is stored as 2), so whole numbers come back as int.
        if number == number.to_integral_value():
            return int(number)
        return float(number)
    if kind == "BOOL" and isinstance(inner, bool):
        return inner
    if kind == "NULL":
        return None
    if kind == "L" and isinstance(inner, list):
        return [_from_wire(v) for v in inner]
    if kind == "M" and isinstance(inner, dict):
        return {k: _from_wire(v) for k, v in inner.items()}
    # Sets and binary values are never written by this store.
    raise ValueError(f"a {kind} value")


def credentials_from_env(environ: Mapping[str, str]) -> AwsCredentials | None:
    """The credentials in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN),
    which is where AWS Lambda puts the function role's; None unless both keys are set."""
    access_key = environ.get("AWS_ACCESS_KEY_ID", "").strip()
    secret_key = environ.get("AWS_SECRET_ACCESS_KEY", "").strip()
    if not access_key or not secret_key:
        return None
    token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None
    return AwsCredentials(access_key, secret_key, token)


def dynamodb_endpoint(region: str, environ: Mapping[str, str]) -> str:
    """The endpoint URL, as botocore chooses it from the environment.

    AWS_ENDPOINT_URL_DYNAMODB, else AWS_ENDPOINT_URL (unless
    AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true), else the region's public endpoint: FIPS with
    AWS_USE_FIPS_ENDPOINT=true, dual-stack with AWS_USE_DUALSTACK_ENDPOINT=true."""

    def flag(name: str) -> bool:
        return environ.get(name, "").strip().lower() == "true"

    if not flag("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS"):
        for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL"):
            configured = environ.get(name, "").strip()
            if configured:
                return configured
    china = region.startswith("cn-")
    if flag("AWS_USE_DUALSTACK_ENDPOINT"):
        suffix = "api.amazonwebservices.com.cn" if china else "api.aws"
    else:
        suffix = "amazonaws.com.cn" if china else "amazonaws.com"
    name = "dynamodb-fips" if flag("AWS_USE_FIPS_ENDPOINT") else "dynamodb"
    return f"https://{name}.{region}.{suffix}"


def sigv4_authorization(
    credentials: AwsCredentials, *, region: str, service: str, amz_date: str, path: str,
    headers: Mapping[str, str], body: bytes,
) -> str:
    """The Authorization header of AWS Signature Version 4 for a request without a query.

    `headers` are the ones sent (Host and X-Amz-Date among them); all are signed.
    """
    import hashlib
    import hmac

    def hmac_sha256(key: bytes, text: str) -> bytes:
        return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()

    signed = sorted((k.lower(), " ".join(str(v).split())) for k, v in headers.items())
    signed_names = ";".join(name for name, _ in signed)
    canonical = "\n".join([
        "POST", path, "",  # method, URI, (empty) query
        *(f"{name}:{value}" for name, value in signed), "",
        signed_names,
        hashlib.sha256(body).hexdigest(),
    ])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = hmac_sha256(f"AWS4{credentials.secret_key}".encode(), date)
    for part in (region, service, "aws4_request"):
        key = hmac_sha256(key, part)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return (f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_names}, Signature={signature}")


class DynamoDBClient:
    """The five DynamoDB operations this module sends, on DynamoDB's JSON protocol.

    Why not botocore: importing it costs about 170 ms of CPU and building its DynamoDB client
    20 ms more even from a trimmed service model, more than all the rest of a cold start (the
    usual ASK skill on boto3 starts 2.2-3x as slow as a hello world; benchmarks/bench.py),
    while this client costs what http.client costs, which the Timers API needs anyway. It
    keeps what matters from botocore: Signature Version 4, the endpoint and credentials the
    environment names (on Lambda: AWS_REGION and the role's keys; elsewhere botocore's own
    credential chain, imported only then), the timeouts above, one retry of throttled,
    transient or dropped calls after botocore's standard-mode wait, and the CRC32 check of
    DynamoDB's answers. Connections are kept alive (skill.http_client.Connections), from any
    thread. Errors are raised as DynamoDBError (DynamoDB's code) or ApiClientError (no answer).
    """

    def __init__(
        self,
        region: str | None = None,
        *,
        endpoint_url: str | None = None,
        credentials: AwsCredentials | None = None,
        environ: Mapping[str, str] | None = None,
        connect_timeout: float = DYNAMODB_CONNECT_TIMEOUT_S,
        read_timeout: float = DYNAMODB_READ_TIMEOUT_S,
        max_attempts: int = DYNAMODB_MAX_ATTEMPTS,
    ) -> None:
        """Raises NotConfigured without a region; credentials are looked up on first use."""
        from urllib.parse import quote, urlsplit

        from skill.http_client import Connections

        env = aws_environ() if environ is None else environ
        found = (region or env.get("AWS_REGION", "").strip()
                 or env.get("AWS_DEFAULT_REGION", "").strip() or _botocore_region())
        if not found:
            raise NotConfigured("NoRegionError")
        self.region: str = found
        self.endpoint_url = endpoint_url or dynamodb_endpoint(self.region, env)
        parts = urlsplit(self.endpoint_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise NotConfigured(f"bad endpoint URL {self.endpoint_url!r}")
        self._endpoint = (parts.scheme, parts.hostname, parts.port)
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        default_port = 443 if parts.scheme == "https" else 80
        self._host = host if parts.port in (None, default_port) else f"{host}:{parts.port}"
        self._path = quote(parts.path or "/", safe="/~")
        self._credentials = credentials
        self._environ = env
        self._credentials_lock = threading.Lock()
        self._refreshable: Any = None  # botocore's credentials, when they came from there
        self.max_attempts = max_attempts
        self.connections = Connections(
            connect_timeout=connect_timeout, read_timeout=read_timeout,
            ssl_context=self._ssl_context,
        )
        self._context: Any = None

    def call(self, operation: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send one operation; its JSON answer. Throttled, transient and dropped calls are
        tried again once (max_attempts in all)."""
        from skill.http_client import ApiClientError

        body = json.dumps(params, separators=(",", ":")).encode("utf-8")
        attempt = 1
        while True:
            try:
                return self._send(operation, body)
            except (ApiClientError, DynamoDBError) as exc:
                if attempt >= self.max_attempts or not _retryable(exc):
                    raise
            import random  # here: most cold starts never retry, and random costs 2 ms

            # botocore's standard mode: a random wait of up to base**(attempt - 1) seconds.
            time.sleep(random.random() * min(20.0, 2.0 ** (attempt - 1)))
            attempt += 1

    def close(self) -> None:
        """Close the kept-alive connections."""
        self.connections.close()

    def _send(self, operation: str, body: bytes) -> dict[str, Any]:
        import zlib

        credentials = self.credentials()
        headers = {
            "Host": self._host,
            "Content-Type": DYNAMODB_CONTENT_TYPE,
            "X-Amz-Target": DYNAMODB_TARGET_PREFIX + operation,
            "X-Amz-Date": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()),
        }
        if credentials.token:
            headers["X-Amz-Security-Token"] = credentials.token
        headers["Authorization"] = sigv4_authorization(
            credentials, region=self.region, service="dynamodb", amz_date=headers["X-Amz-Date"],
            path=self._path, headers=headers, body=body,
        )
        reply = self.connections.request(
            self._endpoint, "POST", self._path, headers, body,
            # A call on a kept-alive connection that died unanswered is sent again on a fresh
            # one: reads and deletes mean the same twice, and a conditional put that had in
            # fact been written fails its condition the second time (StoreConflict, and the
            # turn is replayed on what was stored), never writing twice.
            replay=True,
        )
        crc = next((v for k, v in reply.headers if k.lower() == "x-amz-crc32"), None)
        if crc is not None and crc.isdigit() and int(crc) != zlib.crc32(reply.body):
            raise DynamoDBError("Crc32Mismatch", "the answer was damaged in transit", 0)
        try:
            answer = json.loads(reply.body) if reply.body else {}
        except ValueError:
            answer = None
        if reply.status >= 300 or not isinstance(answer, dict):
            raise _error_from(reply.status, answer)
        return answer

    def credentials(self) -> AwsCredentials:
        """The credentials to sign with: given, from the environment, or botocore's chain."""
        if self._credentials is not None:
            return self._credentials
        with self._credentials_lock:
            if self._refreshable is None:
                found = credentials_from_env(self._environ)
                if found is not None:
                    self._credentials = found
                    return found
                self._refreshable = _botocore_credentials()
        # Temporary credentials from a role refresh themselves before they expire.
        frozen = self._refreshable.get_frozen_credentials()
        return AwsCredentials(frozen.access_key, frozen.secret_key, frozen.token)

    def _ssl_context(self) -> Any:
        import ssl

        if self._context is None:
            # The system's trust store (Amazon's roots are in it), or AWS_CA_BUNDLE as botocore.
            bundle = self._environ.get("AWS_CA_BUNDLE", "").strip() or None
            self._context = ssl.create_default_context(cafile=bundle)
        return self._context


def _retryable(exc: BaseException) -> bool:
    from skill.http_client import ApiClientError

    if isinstance(exc, ApiClientError):
        # No answer: a timeout, a refused or dropped connection. TLS failures and bad URLs
        # would fail again the same way.
        return exc.kind in ("timeout", "connection_refused", "connection_dropped",
                            "connection_failed")
    if isinstance(exc, DynamoDBError):
        return (exc.code in _THROTTLED or exc.code in _TRANSIENT
                or exc.status in _TRANSIENT_STATUS or exc.code == "Crc32Mismatch")
    return False


def _error_from(status: int, answer: Any) -> DynamoDBError:
    """DynamoDB's error body ({"__type": "com.amazonaws...#Code", "message": ...}) as an error."""
    code, message = f"HTTP{status}", ""
    if isinstance(answer, dict):
        code = str(answer.get("__type") or code).rsplit("#", 1)[-1]
        message = str(answer.get("message") or answer.get("Message") or "")
    return DynamoDBError(code, message[:300], status)


def _botocore_region() -> str | None:
    """The region of the AWS config profile (off Lambda, which sets AWS_REGION), if botocore
    is installed; None otherwise."""
    try:
        import botocore.session
    except ImportError:
        return None
    region = botocore.session.Session().get_config_variable("region")
    return str(region) if region else None


def _botocore_credentials() -> Any:
    """botocore's credential chain (profiles, SSO, container and instance roles): off Lambda,
    where the environment holds no keys."""
    try:
        import botocore.session
    except ImportError as exc:
        raise NotConfigured("NoCredentialsError") from exc
    found = botocore.session.Session().get_credentials()
    if found is None:
        raise NotConfigured("NoCredentialsError")
    return found


class DynamoStore(AbstractPersistenceAdapter):
    """The Lambda store: one DynamoDB item per user, with a version check on every save.

    The item layout is the ASK SDK DynamoDbAdapter's, so a table it wrote can be used as it
    is: partition key ``id`` (the user id, a string) and an ``attributes`` map, which also
    holds ``_version``. Saves are a conditional PutItem (``attributes._version =
    :read_version``, or no item / no version yet), so DynamoDB itself rejects a write based on
    a stale read. Reads are strongly consistent. The calls go through DynamoDBClient.
    """

    partition_key_name = "id"
    attribute_name = "attributes"

    def __init__(
        self, table_name: str, *, region: str | None = None, create_table: bool = False,
        client: DynamoDBClient | None = None, environ: Mapping[str, str] | None = None,
    ) -> None:
        """`environ`: the AWS_* variables (Settings.aws); None: the process environment."""
        self.table_name = table_name
        try:
            self.client = client if client is not None else DynamoDBClient(region,
                                                                           environ=environ)
            if create_table:
                self._create_table()
        except Exception as exc:
            reason = _dynamodb_reason(exc)
            log.warning("dynamodb: cannot set up table %s: %s", table_name, reason)
            raise StoreError(f"dynamodb setup failed: {reason}") from exc

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        """Return the user's attributes with ``_version``, or {} when nothing is stored."""
        user_id = _user_id(request_envelope)
        try:
            response = self.client.call("GetItem", {
                "TableName": self.table_name,
                "Key": {self.partition_key_name: {"S": user_id}},
                "ConsistentRead": True,
            })
        except Exception as exc:
            raise self._failed("read", exc) from exc
        item = response.get("Item")
        if item is None:
            return {}
        stored = item.get(self.attribute_name) if isinstance(item, dict) else None
        if not (isinstance(stored, dict) and isinstance(stored.get("M"), dict)):
            raise _corrupt("dynamodb", "the attributes are not a map")
        try:
            attributes: dict[str, Any] = _from_wire(stored)
        except ValueError as exc:
            raise _corrupt("dynamodb", str(exc)) from exc
        version = attributes.get(VERSION_KEY)
        if version is not None and (
            isinstance(version, bool) or not isinstance(version, int) or version < 1
        ):
            raise _corrupt("dynamodb", "version is not a positive integer")
        return attributes

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        """Write attributes if the stored version is still attributes["_version"]; bump it."""
        user_id = _user_id(request_envelope)
        expected = _expected_version(attributes)
        new_version = 1 if expected is None else expected + 1
        stored = _to_wire({**_payload(attributes), VERSION_KEY: new_version})
        params: dict[str, Any] = {
            "TableName": self.table_name,
            "Item": {self.partition_key_name: {"S": user_id}, self.attribute_name: stored},
        }
        if expected is None:
            # No item yet, or one written by a plain ASK adapter that has no version.
            params["ConditionExpression"] = (
                "attribute_not_exists(#id) OR attribute_not_exists(#attrs.#ver)")
            params["ExpressionAttributeNames"] = {
                "#id": self.partition_key_name, "#attrs": self.attribute_name, "#ver": VERSION_KEY}
        else:
            params["ConditionExpression"] = "#attrs.#ver = :expected"
            params["ExpressionAttributeNames"] = {"#attrs": self.attribute_name,
                                                  "#ver": VERSION_KEY}
            params["ExpressionAttributeValues"] = {":expected": {"N": str(expected)}}
        try:
            self.client.call("PutItem", params)
        except DynamoDBError as exc:
            if exc.code == "ConditionalCheckFailedException":
                raise StoreConflict("another request saved this user's memory first") from exc
            raise self._failed("write", exc) from exc
        except Exception as exc:
            raise self._failed("write", exc) from exc
        attributes[VERSION_KEY] = new_version

    def delete_attributes(self, request_envelope: Any) -> None:
        """Remove the user's item."""
        user_id = _user_id(request_envelope)
        try:
            self.client.call("DeleteItem", {
                "TableName": self.table_name,
                "Key": {self.partition_key_name: {"S": user_id}},
            })
        except Exception as exc:
            raise self._failed("delete", exc) from exc

    @property
    def table(self) -> Any:
        """A boto3 Table on the same table and endpoint, for tests and tools (imports boto3;
        the store itself never does)."""
        import boto3

        return boto3.resource(
            "dynamodb", region_name=self.client.region, endpoint_url=self.client.endpoint_url
        ).Table(self.table_name)

    def _create_table(self) -> None:
        """Create the table as the ASK SDK adapter does, if it is missing; wait until ACTIVE."""
        try:
            self.client.call("CreateTable", {
                "TableName": self.table_name,
                "KeySchema": [{"AttributeName": self.partition_key_name, "KeyType": "HASH"}],
                "AttributeDefinitions": [
                    {"AttributeName": self.partition_key_name, "AttributeType": "S"}],
                "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5},
            })
        except DynamoDBError as exc:
            if exc.code != "ResourceInUseException":  # it exists already
                raise
        # As botocore's TableExists waiter: until ACTIVE; "not found" may come first.
        for attempt in range(TABLE_WAIT_MAX_ATTEMPTS):
            try:
                answer = self.client.call("DescribeTable", {"TableName": self.table_name})
            except DynamoDBError as exc:
                if exc.code != "ResourceNotFoundException":
                    raise
            else:
                if answer.get("Table", {}).get("TableStatus") == "ACTIVE":
                    return
            if attempt + 1 < TABLE_WAIT_MAX_ATTEMPTS:
                time.sleep(TABLE_WAIT_DELAY_S)
        raise DynamoDBError("WaiterTimeout", f"{self.table_name} never became ACTIVE", 0)

    @staticmethod
    def _failed(action: str, exc: BaseException) -> StoreError:
        reason = f"dynamodb {action} failed: {_dynamodb_reason(exc)}"
        log.warning("%s", reason)
        return StoreError(reason)


# --- choosing a store ------------------------------------------------------------------------


def store_for(settings: Settings) -> AbstractPersistenceAdapter:
    """DynamoStore when the settings name a table, else SqliteStore at their db_path.

    AWS credentials and AWS_ENDPOINT_URL_DYNAMODB are boto3's own to read.
    """
    if settings.dynamodb_table:
        return DynamoStore(settings.dynamodb_table, region=settings.aws_region,
                           environ=settings.aws)
    assert settings.db_path is not None, "Settings.from_env always sets db_path"
    return SqliteStore(settings.db_path)
