"""Per-user memory between sessions: a SQLite file by default, DynamoDB on AWS Lambda.

Both stores implement the ASK SDK's persistence interface (``AbstractPersistenceAdapter``),
keyed by the Alexa user id, and add optimistic concurrency: every record carries an integer
``_version``; a save succeeds only if the stored version still equals the one the caller read,
and then writes version + 1. Two requests for the same user at once (two devices) therefore
never silently overwrite each other: the slower one gets ``StoreConflict``, reloads and retries.

Every backend failure surfaces as ``StoreError`` with a short reason, so the conversation can
carry on from the session. The user id is never logged.

boto3 is imported only when DynamoDB is chosen (``CRAMP_COACH_DYNAMODB_TABLE``), so the
embedded store keeps a short cold start.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_core.exceptions import PersistenceException

from skill.settings import Settings

__all__ = [
    "VERSION_KEY",
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


def _expected_version(attributes: Any) -> int | None:
    """Return the version the caller read (None: no record yet), or raise StoreError."""
    if not isinstance(attributes, dict):
        raise StoreError("attributes must be a dict")
    version = attributes.get(VERSION_KEY)
    if version is None:
        return None
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise StoreError(f"{VERSION_KEY} must be a positive integer")
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
    query itself on every turn. Saves are a compare-and-set inside ``BEGIN IMMEDIATE``, which takes
    the database's single write lock before reading the version, so no other writer (thread or
    process) can slip in between the check and the write. Nothing touches the disk until the
    first operation: a bad path fails that operation with StoreError, not the skill's start-up.
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
            # IMMEDIATE takes the write lock now, so the version read below cannot go
            # stale before the UPDATE: the check and the write are one atomic step.
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT version FROM user_memory WHERE user_id = ?", (user_id,)
                ).fetchone()
                stored = None if row is None else row[0]
                if stored != expected:
                    raise StoreConflict("another request saved this user's memory first")
                if expected is None:
                    conn.execute(
                        "INSERT INTO user_memory (user_id, version, attributes)"
                        " VALUES (?, ?, ?)",
                        (user_id, new_version, text),
                    )
                else:
                    conn.execute(
                        "UPDATE user_memory SET version = ?, attributes = ?"
                        " WHERE user_id = ? AND version = ?",
                        (new_version, text, user_id, expected),
                    )
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    # The connection stays open: release the write lock now.
                    with suppress(sqlite3.Error):
                        conn.execute("ROLLBACK")
                raise
        attributes[VERSION_KEY] = new_version

    def delete_attributes(self, request_envelope: Any) -> None:
        """Remove everything stored for the user, including old copies in the WAL file."""
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
        """This thread's connection (autocommit; transactions are explicit), schema ensured."""
        if not self._ready:
            with self._ready_lock:
                if not self._ready:
                    self._initialise()
                    self._ready = True
        local = self._local
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
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            with suppress(sqlite3.Error):
                conn.close()
        self._local.conn = None

    def _open(self) -> sqlite3.Connection:
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

    def _initialise(self) -> None:
        # The memory of a person's cramps is private: keep the folder to its owner.
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        conn = self._open()
        try:
            # WAL lets readers go on while one writer commits; the mode is stored in the file.
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()
            if not mode or str(mode[0]).lower() != "wal":
                raise sqlite3.OperationalError(f"cannot switch to WAL (journal mode {mode})")
            conn.execute(_SCHEMA)
        finally:
            conn.close()

    @contextmanager
    def _failures(self, action: str) -> Iterator[None]:
        """Turn sqlite3 and OS errors into StoreError with a short reason."""
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
# - 2 attempts in total (one retry, standard mode): one retry rides out a throttle or a dropped
#   connection; standard mode waits at most 1 s before it. Worst case per call is about
#   2 x 1.0 s + 1 s = 3 s, and a request makes one read and one write, so even a store that
#   hangs leaves time to answer from the session. A store that is down (refused) fails in ms.
DYNAMODB_CONNECT_TIMEOUT_S = 0.3
DYNAMODB_READ_TIMEOUT_S = 0.7
DYNAMODB_MAX_ATTEMPTS = 2
# Polling interval while waiting for a new table to become ACTIVE (the SDK waiter's 20 s
# default would make every local start-up with create_table=True wait 20 s).
TABLE_WAIT_DELAY_S = 0.5
TABLE_WAIT_MAX_ATTEMPTS = 120

_THROTTLED = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "LimitExceededException",
}


def _dynamodb_reason(exc: BaseException) -> str:
    """A short, user-free reason for a boto3/botocore failure."""
    # The ASK adapter wraps errors in PersistenceException; the cause is in __context__.
    if isinstance(exc, PersistenceException) and exc.__context__ is not None:
        exc = exc.__context__
    name = type(exc).__name__
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = str(response.get("Error", {}).get("Code", name))
        if code in _THROTTLED:
            return f"throttled ({code})"
        if code == "ResourceNotFoundException":
            return "table not found"
        return f"DynamoDB error {code}"
    if "Timeout" in name:
        return f"timed out ({name})"
    if name in {"EndpointConnectionError", "ConnectionClosedError", "ConnectionError"}:
        return f"unreachable ({name})"
    if name in {"NoRegionError", "NoCredentialsError", "PartialCredentialsError"}:
        return f"not configured ({name})"
    return name


def _to_dynamodb(value: Any) -> Any:
    """Plain JSON -> what boto3 can store: floats become Decimal (boto3 refuses floats)."""
    from decimal import Decimal

    if isinstance(value, float):
        # repr() is the shortest string that reads back as the same float: 0.1 -> Decimal("0.1").
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_to_dynamodb(v) for v in value]
    if isinstance(value, dict):
        return {k: _to_dynamodb(v) for k, v in value.items()}
    return value


def _from_dynamodb(value: Any) -> Any:
    """What boto3 returns -> plain JSON: Decimal becomes int when whole, float otherwise."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError("a non-finite number")
        # DynamoDB normalises numbers (2.0 is stored as 2), so whole numbers come back as int.
        if value == value.to_integral_value():
            return int(value)
        return float(value)
    if isinstance(value, list):
        return [_from_dynamodb(v) for v in value]
    if isinstance(value, dict):
        return {k: _from_dynamodb(v) for k, v in value.items()}
    if value is None or isinstance(value, str | bool | int | float):
        return value
    # Sets and binary values are never written by this store.
    raise ValueError(f"a {type(value).__name__} value")


def _default_session(region: str | None) -> None:
    """Give boto3's default session the region the settings name (AWS_REGION or its peer)."""
    import boto3

    if boto3.DEFAULT_SESSION is None:
        # botocore reads the region from AWS_DEFAULT_REGION (or a profile) but not from
        # AWS_REGION, the variable other AWS SDKs use: skill.settings accepts either. It goes
        # on the default session because importing ask_sdk_dynamodb.adapter builds a resource
        # from that session (a default argument) and fails with NoRegionError without one.
        # Sharing the session also shares its loaded service model (a shorter cold start).
        boto3.setup_default_session(region_name=region)


def _dynamodb_resource() -> Any:
    """A boto3 DynamoDB resource with short timeouts; region and endpoint come from the env."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=DYNAMODB_CONNECT_TIMEOUT_S,
        read_timeout=DYNAMODB_READ_TIMEOUT_S,
        retries={"total_max_attempts": DYNAMODB_MAX_ATTEMPTS, "mode": "standard"},
    )
    # The endpoint is boto3's own business: it honours AWS_ENDPOINT_URL_DYNAMODB (and
    # AWS_ENDPOINT_URL), which is how the tests and `make run` reach a local server.
    return boto3.resource("dynamodb", config=config)


class DynamoStore(AbstractPersistenceAdapter):
    """The Lambda store: the ASK SDK's DynamoDbAdapter plus a version check on every save.

    The item layout is the SDK adapter's: partition key ``id`` (the user id, a string) and an
    ``attributes`` map, which also holds ``_version``. Saves are a conditional PutItem
    (``attributes._version = :read_version``, or no item / no version yet), so DynamoDB itself
    rejects a write based on a stale read. Reads are strongly consistent.
    """

    def __init__(
        self, table_name: str, *, region: str | None = None, create_table: bool = False,
        dynamodb_resource: Any = None,
    ) -> None:
        try:
            _default_session(region)
            resource = dynamodb_resource if dynamodb_resource is not None else _dynamodb_resource()
            # Imported here, not at module level: the adapter module calls
            # boto3.resource("dynamodb") as a default argument when it is imported.
            from ask_sdk_dynamodb.adapter import DynamoDbAdapter

            self.adapter = DynamoDbAdapter(
                table_name=table_name,
                partition_key_name="id",
                attribute_name="attributes",
                create_table=create_table,
                partition_keygen=_user_id,
                dynamodb_resource=resource,
            )
            if create_table:
                # The SDK adapter returns while the table is still CREATING.
                resource.meta.client.get_waiter("table_exists").wait(
                    TableName=table_name,
                    WaiterConfig={
                        "Delay": TABLE_WAIT_DELAY_S,
                        "MaxAttempts": TABLE_WAIT_MAX_ATTEMPTS,
                    },
                )
        except StoreError:
            raise
        except Exception as exc:
            reason = _dynamodb_reason(exc)
            log.warning("dynamodb: cannot set up table %s: %s", table_name, reason)
            raise StoreError(f"dynamodb setup failed: {reason}") from exc
        self.table_name = table_name
        self.table = resource.Table(table_name)

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        """Return the user's attributes with ``_version``, or {} when nothing is stored."""
        user_id = _user_id(request_envelope)
        try:
            response = self.table.get_item(
                Key={self.adapter.partition_key_name: user_id}, ConsistentRead=True
            )
        except Exception as exc:
            raise self._failed("read", exc) from exc
        item = response.get("Item")
        if item is None:
            return {}
        stored = item.get(self.adapter.attribute_name)
        if not isinstance(stored, dict):
            raise _corrupt("dynamodb", "the attributes are not a map")
        try:
            attributes: dict[str, Any] = _from_dynamodb(stored)
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
        stored = _to_dynamodb(_payload(attributes))
        stored[VERSION_KEY] = new_version
        names = {
            "#id": self.adapter.partition_key_name,
            "#attrs": self.adapter.attribute_name,
            "#ver": VERSION_KEY,
        }
        condition: dict[str, Any]
        if expected is None:
            # No item yet, or one written by a plain ASK adapter that has no version.
            condition = {
                "ConditionExpression": "attribute_not_exists(#id)"
                " OR attribute_not_exists(#attrs.#ver)",
                "ExpressionAttributeNames": names,
            }
        else:
            condition = {
                "ConditionExpression": "#attrs.#ver = :expected",
                "ExpressionAttributeNames": {"#attrs": names["#attrs"], "#ver": VERSION_KEY},
                "ExpressionAttributeValues": {":expected": expected},
            }
        try:
            self.table.put_item(
                Item={
                    self.adapter.partition_key_name: user_id,
                    self.adapter.attribute_name: stored,
                },
                **condition,
            )
        except Exception as exc:
            code = getattr(exc, "response", {}).get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                raise StoreConflict("another request saved this user's memory first") from exc
            raise self._failed("write", exc) from exc
        attributes[VERSION_KEY] = new_version

    def delete_attributes(self, request_envelope: Any) -> None:
        """Remove the user's item (the SDK adapter's DeleteItem)."""
        _user_id(request_envelope)  # a clear StoreError before the SDK wraps it
        try:
            self.adapter.delete_attributes(request_envelope)
        except StoreError:
            raise
        except Exception as exc:
            raise self._failed("delete", exc) from exc

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
        return DynamoStore(settings.dynamodb_table, region=settings.aws_region)
    assert settings.db_path is not None, "Settings.from_env always sets db_path"
    return SqliteStore(settings.db_path)
