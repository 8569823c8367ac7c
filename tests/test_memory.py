"""The memory stores (skill/memory.py): SQLite on disk and DynamoDB against a real dynalite.

The DynamoDB store sends its own requests (skill.memory.DynamoDBClient, no botocore): tests
here hold them against botocore's for the same calls (the service model, the signature, the
endpoint), and run every store operation against dynalite, a real DynamoDB-compatible
server. The last part counts the store calls a whole routine makes.
"""

from __future__ import annotations

import http.server
import json
import logging
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ask_sdk_core.attributes_manager import AbstractPersistenceAdapter
from ask_sdk_model import Context, RequestEnvelope, User
from ask_sdk_model.interfaces.system import SystemState

from skill import memory
from skill.app import build_skill, event_handler
from skill.memory import (
    AwsCredentials,
    DynamoDBClient,
    DynamoStore,
    SqliteStore,
    StoreConflict,
    StoreError,
    store_for,
)
from skill.settings import Settings, default_db_path

if TYPE_CHECKING:
    from tests.dynamodb_server import DynaliteServer

# The DynamoDB fixtures (dynalite on 127.0.0.1): tests/dynamodb_server.py.
pytest_plugins = ["tests.dynamodb_server"]

# Worst case for one store call that fails, from the timeouts in skill/memory.py (about 3 s);
# Alexa gives the whole response 8 s.
FAIL_FAST_S = 4.0


def new_user() -> str:
    """A fresh Alexa-style user id, so tests never see each other's records."""
    return f"amzn1.ask.account.TEST{uuid.uuid4().hex.upper()}"


def envelope(user_id: str) -> RequestEnvelope:
    """The smallest request envelope that carries a user id, as Alexa sends it."""
    return RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))


def increment(store: Any, env: RequestEnvelope, times: int) -> int:
    """Read-modify-write a counter `times` times, retrying on conflict; return the conflicts."""
    conflicts = 0
    for _ in range(times):
        while True:
            attributes = store.get_attributes(env)
            attributes["counter"] = attributes.get("counter", 0) + 1
            attributes.setdefault("log", []).append(threading.get_ident() % 1000)
            try:
                store.save_attributes(env, attributes)
                break
            except StoreConflict:
                conflicts += 1
    return conflicts


def run_threads(count: int, target: Any) -> None:
    """Start `count` threads on target, wait for all, and re-raise the first failure."""
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def body() -> None:
        try:
            barrier.wait()  # start together, so the writers really overlap
            target()
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=body) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]


SAMPLE: dict[str, Any] = {
    "step": 4,
    "pending": "carry_on_or_start_over",
    "timers": [{"id": "t-1", "purpose": "cold", "ends": "2025-06-01T10:15:00Z"}],
    "first_time": False,
    "episodes": ["2025-05-30", "2025-06-01"],
    "ratio": 0.1,
    "nothing": None,
    "empty": "",
    "nested": {"deep": [1, 2.5, {"ok": True}]},
    "unicode": "crampe au mollet, ça fait mal",
}


# --- SQLite ----------------------------------------------------------------------------------


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A database path whose parent folders do not exist yet."""
    return tmp_path / "data" / "cramp-coach" / "memory.sqlite3"


def test_sqlite_round_trip(db_path: Path) -> None:
    """A saved record reads back equal, with the same JSON types and _version 1."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    assert store.get_attributes(env) == {}
    attributes = json.loads(json.dumps(SAMPLE))
    store.save_attributes(env, attributes)
    assert attributes["_version"] == 1
    loaded = store.get_attributes(env)
    assert loaded == {**SAMPLE, "_version": 1}
    assert isinstance(loaded["step"], int) and isinstance(loaded["ratio"], float)
    assert db_path.is_file()  # parent folders were created on first use
    # A second store on the same file (another process, a later start) sees the same record.
    assert SqliteStore(db_path).get_attributes(env) == loaded


def test_sqlite_second_save_in_one_request(db_path: Path) -> None:
    """Saving the same dict twice works, because a save updates _version in place."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    attributes: dict[str, Any] = {"step": 1}
    store.save_attributes(env, attributes)
    attributes["step"] = 2
    store.save_attributes(env, attributes)
    assert store.get_attributes(env) == {"step": 2, "_version": 2}


def test_sqlite_stale_save_conflicts(db_path: Path) -> None:
    """A save based on an outdated read raises StoreConflict and leaves the newer data alone."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    store.save_attributes(env, {"step": 1})
    first, second = store.get_attributes(env), store.get_attributes(env)
    first["step"] = 2
    store.save_attributes(env, first)
    second["step"] = 9
    with pytest.raises(StoreConflict):
        store.save_attributes(env, second)
    assert second["_version"] == 1  # untouched on failure
    assert store.get_attributes(env) == {"step": 2, "_version": 2}


def test_sqlite_two_first_saves_conflict(db_path: Path) -> None:
    """When two requests both find no record, only the first one may create it."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    store.save_attributes(env, {"device": "kitchen"})
    with pytest.raises(StoreConflict):
        store.save_attributes(env, {"device": "bedroom"})
    assert store.get_attributes(env)["device"] == "kitchen"


def test_sqlite_save_after_forget_conflicts(db_path: Path) -> None:
    """A request still holding old data cannot bring back a record another request forgot."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    store.save_attributes(env, {"step": 3})
    stale = store.get_attributes(env)
    store.delete_attributes(env)
    with pytest.raises(StoreConflict):
        store.save_attributes(env, stale)
    assert store.get_attributes(env) == {}


def test_sqlite_concurrent_threads_lose_no_update(db_path: Path) -> None:
    """Threads doing read-modify-write on one user's record lose none of their increments."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    run_threads(6, lambda: increment(store, env, 25))
    final = store.get_attributes(env)
    assert final["counter"] == 6 * 25
    assert len(final["log"]) == 6 * 25
    assert final["_version"] == 6 * 25


# A separate interpreter doing the same read-modify-write loop on the same file, with two
# threads of its own; it prints how many conflicts it met.
PROCESS_WORKER = textwrap.dedent(
    """
    import sys, threading
    from ask_sdk_model import Context, RequestEnvelope, User
    from ask_sdk_model.interfaces.system import SystemState
    from skill.memory import SqliteStore, StoreConflict

    path, user_id, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
    env = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))
    store = SqliteStore(path)
    conflicts = []

    def work():
        n = 0
        for _ in range(times):
            while True:
                attributes = store.get_attributes(env)
                attributes["counter"] = attributes.get("counter", 0) + 1
                try:
                    store.save_attributes(env, attributes)
                    break
                except StoreConflict:
                    n += 1
        conflicts.append(n)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sum(conflicts))
    """
)


def test_sqlite_concurrent_processes_lose_no_update(db_path: Path) -> None:
    """Separate processes (and threads within them) sharing one file lose no increments."""
    store = SqliteStore(db_path)
    env = envelope(user_id := new_user())
    store.save_attributes(env, {"counter": 0})  # create the file before the race
    processes, times = 3, 30
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", PROCESS_WORKER, str(db_path), user_id, str(times)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        assert out.strip().isdigit()
    assert store.get_attributes(env)["counter"] == processes * 2 * times


def test_sqlite_corrupt_file_raises_store_error(db_path: Path) -> None:
    """A file of garbage bytes makes reads and writes raise StoreError, not crash."""
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(os.urandom(4096))
    store = SqliteStore(db_path)
    env = envelope(new_user())
    with pytest.raises(StoreError, match="not a database"):
        store.get_attributes(env)
    with pytest.raises(StoreError):
        store.save_attributes(env, {"step": 1})


@pytest.mark.parametrize(
    ("version", "text", "reason"),
    [
        (1, "{not json", "undecodable JSON"),
        (1, '["a", "list"]', "not an object"),
        ("one", "{}", "version"),
    ],
)
def test_sqlite_corrupt_record_raises_store_error(
    db_path: Path, caplog: pytest.LogCaptureFixture, version: Any, text: str, reason: str
) -> None:
    """A stored record of the wrong shape raises StoreError and is logged without the user id."""
    store = SqliteStore(db_path)
    user_id = new_user()
    env = envelope(user_id)
    store.save_attributes(env, {"step": 1})
    with sqlite3.connect(db_path) as conn:
        conn.execute(
            "UPDATE user_memory SET version = ?, attributes = ? WHERE user_id = ?",
            (version, text, user_id),
        )
    conn.close()
    with caplog.at_level(logging.DEBUG, logger="skill.memory"), pytest.raises(StoreError):
        store.get_attributes(env)
    assert reason in caplog.text
    assert user_id not in caplog.text


# A write to a file that cannot grow: RLIMIT_FSIZE stops every write past 1 byte with EFBIG,
# even for root (who ignores permission bits), so the database is genuinely unwritable while
# reads still work. Run in its own interpreter so the limit cannot touch pytest's own files.
UNWRITABLE_WORKER = textwrap.dedent(
    """
    import json, resource, signal, sys
    from ask_sdk_model import Context, RequestEnvelope, User
    from ask_sdk_model.interfaces.system import SystemState
    from skill.memory import SqliteStore, StoreError

    path, user_id = sys.argv[1], sys.argv[2]
    env = RequestEnvelope(context=Context(system=SystemState(user=User(user_id=user_id))))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # report EFBIG instead of dying
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, resource.RLIM_INFINITY))
    store = SqliteStore(path)
    result = {"read": store.get_attributes(env)}
    attributes = dict(result["read"], step=2)
    try:
        store.save_attributes(env, attributes)
        result["write"] = "saved"
    except StoreError as exc:
        result["write"] = str(exc)
    print(json.dumps(result))
    """
)


def test_sqlite_write_failure_raises_store_error(db_path: Path) -> None:
    """When the disk refuses writes, reads still work and a save raises StoreError."""
    store = SqliteStore(db_path)
    env = envelope(user_id := new_user())
    store.save_attributes(env, {"step": 1})
    # Another open connection (another request in flight) keeps the WAL index in place, so
    # the worker's reads need no writes; without one, even the first read must write.
    other = sqlite3.connect(db_path)
    other.execute("SELECT COUNT(*) FROM user_memory").fetchone()
    try:
        done = subprocess.run(
            [sys.executable, "-c", UNWRITABLE_WORKER, str(db_path), user_id],
            capture_output=True,
            text=True,
            timeout=30,
        )
    finally:
        other.close()
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["read"] == {"step": 1, "_version": 1}
    assert result["write"].startswith("sqlite write failed:")
    assert store.get_attributes(env) == {"step": 1, "_version": 1}  # nothing half-written


def test_sqlite_read_only_location_raises_store_error(tmp_path: Path) -> None:
    """A path that cannot be created (its parent is a regular file) raises StoreError per call."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    store = SqliteStore(blocker / "memory.sqlite3")  # constructing does no I/O
    env = envelope(new_user())
    with pytest.raises(StoreError):
        store.get_attributes(env)
    with pytest.raises(StoreError):
        store.save_attributes(env, {"step": 1})
    with pytest.raises(StoreError):
        store.delete_attributes(env)


def test_sqlite_immutable_file_raises_store_error(db_path: Path) -> None:
    """A database file and folder made immutable (chattr +i, which binds root too) fail cleanly.

    A fresh store (a new process, say) opens the file after the flag is set: a connection
    already open keeps writing to its write-ahead log until the next checkpoint."""
    env = envelope(new_user())
    SqliteStore(db_path).save_attributes(env, {"step": 1})
    store = SqliteStore(db_path)
    folder = db_path.parent
    if subprocess.run(["chattr", "+i", str(db_path), str(folder)], capture_output=True).returncode:
        subprocess.run(["chattr", "-i", str(db_path), str(folder)], capture_output=True)
        pytest.skip("this filesystem has no immutable flag; the RLIMIT_FSIZE test covers writes")
    try:
        attributes = {"step": 2, "_version": 1}
        with pytest.raises(StoreError):
            store.save_attributes(env, attributes)
        assert attributes["_version"] == 1
    finally:
        subprocess.run(["chattr", "-i", str(db_path), str(folder)], check=True)
    assert store.get_attributes(env) == {"step": 1, "_version": 1}


def test_sqlite_locked_database_fails_within_busy_timeout(db_path: Path) -> None:
    """A writer that holds the lock too long makes a save fail after the busy timeout."""
    store = SqliteStore(db_path, busy_timeout=0.2)
    env = envelope(new_user())
    store.save_attributes(env, {"step": 1})
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        attributes = store.get_attributes(env)  # WAL: readers are not blocked by the writer
        started = time.monotonic()
        with pytest.raises(StoreError, match="locked"):
            store.save_attributes(env, attributes)
        assert time.monotonic() - started < 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.save_attributes(env, attributes)  # and works again once the lock is gone
    assert store.get_attributes(env)["_version"] == 2


def test_sqlite_delete_leaves_nothing(db_path: Path) -> None:
    """Forgetting a user removes the row and leaves none of its bytes in the files."""
    store = SqliteStore(db_path)
    user_id, other = new_user(), new_user()
    marker = f"secret-{uuid.uuid4().hex}"
    for version in range(3):  # several versions, so old copies sit in the WAL
        store.save_attributes(envelope(user_id), {"note": marker, "_version": version or None})
    store.save_attributes(envelope(other), {"note": "keep me"})
    store.delete_attributes(envelope(user_id))
    assert store.get_attributes(envelope(user_id)) == {}
    assert store.get_attributes(envelope(other))["note"] == "keep me"
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute("SELECT COUNT(*) FROM user_memory WHERE user_id = ?", (user_id,))
        assert rows.fetchone() == (0,)
    conn.close()
    raw = b"".join(p.read_bytes() for p in db_path.parent.iterdir() if p.is_file())
    assert marker.encode() not in raw
    assert user_id.encode() not in raw
    store.delete_attributes(envelope(user_id))  # forgetting twice is fine


def test_sqlite_recreates_a_removed_file(db_path: Path) -> None:
    """If the database file is removed while the skill runs, the next call sets it up again."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    store.save_attributes(env, {"step": 1})
    for path in db_path.parent.iterdir():
        path.unlink()
    assert store.get_attributes(env) == {}
    store.save_attributes(env, {"step": 1})
    assert store.get_attributes(env) == {"step": 1, "_version": 1}


@pytest.mark.parametrize(
    "bad",
    [{"when": {1, 2}}, {"nan": float("nan")}, {"obj": object()}, {"k": {3: "int key"}}],
    ids=["set", "nan", "object", "int-key"],
)
def test_sqlite_rejects_non_json_values(db_path: Path, bad: dict[str, Any]) -> None:
    """Values that are not plain JSON raise StoreError and store nothing."""
    store = SqliteStore(db_path)
    env = envelope(new_user())
    with pytest.raises(StoreError, match="cannot store"):
        store.save_attributes(env, bad)
    assert store.get_attributes(env) == {}


def test_missing_user_id_raises_store_error(db_path: Path) -> None:
    """A request without a user id raises StoreError rather than storing under a blank key."""
    store = SqliteStore(db_path)
    with pytest.raises(StoreError, match="no user id"):
        store.get_attributes(RequestEnvelope(context=Context(system=SystemState())))


# --- DynamoDB (dynalite on 127.0.0.1) --------------------------------------------------------


def new_table_name() -> str:
    return f"cramp-coach-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def dynamo_store(dynamodb_env: DynaliteServer) -> DynamoStore:
    """A DynamoStore on a fresh table of the session's dynalite."""
    return DynamoStore(new_table_name(), create_table=True)


def test_dynamo_create_table_waits_until_active(dynamodb_env: DynaliteServer) -> None:
    """create_table=True returns only once the table is ACTIVE and usable at once."""
    import boto3

    client = boto3.client("dynamodb")
    # Without waiting, the server reports a new table as CREATING: the check below means something.
    client.create_table(
        TableName=(probe := new_table_name()),
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    assert client.describe_table(TableName=probe)["Table"]["TableStatus"] == "CREATING"

    store = DynamoStore(name := new_table_name(), create_table=True)
    table = client.describe_table(TableName=name)["Table"]
    assert table["TableStatus"] == "ACTIVE"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    store.save_attributes(envelope(new_user()), {"step": 1})
    # The store found the local server through AWS_ENDPOINT_URL_DYNAMODB alone.
    assert store.client.endpoint_url == dynamodb_env.endpoint
    # An existing table is fine too.
    DynamoStore(name, create_table=True)


def test_dynamo_round_trip_converts_decimals(dynamo_store: DynamoStore) -> None:
    """Numbers are stored as DynamoDB numbers and read back as int and float, not Decimal."""
    from decimal import Decimal

    user_id = new_user()
    env = envelope(user_id)
    assert dynamo_store.get_attributes(env) == {}
    attributes = json.loads(json.dumps(SAMPLE))
    dynamo_store.save_attributes(env, attributes)
    assert attributes["_version"] == 1
    raw = dynamo_store.table.get_item(Key={"id": user_id}, ConsistentRead=True)["Item"]
    assert raw["attributes"]["ratio"] == Decimal("0.1")  # exactly 0.1, not 0.1000000000000000055
    assert raw["attributes"]["_version"] == Decimal(1)
    loaded = dynamo_store.get_attributes(env)
    assert loaded == {**SAMPLE, "_version": 1}
    assert type(loaded["step"]) is int and type(loaded["ratio"]) is float
    assert type(loaded["nested"]["deep"][1]) is float and type(loaded["_version"]) is int
    loaded["step"] = 5
    dynamo_store.save_attributes(env, loaded)  # a second save from the same dict
    assert dynamo_store.get_attributes(env) == {**SAMPLE, "step": 5, "_version": 2}


def test_dynamo_stale_save_conflicts(dynamo_store: DynamoStore) -> None:
    """A save based on an outdated read, or a second first save, raises StoreConflict."""
    env = envelope(new_user())
    dynamo_store.save_attributes(env, {"step": 1})
    with pytest.raises(StoreConflict):
        dynamo_store.save_attributes(env, {"step": 7})  # believes there is no record yet
    first, second = dynamo_store.get_attributes(env), dynamo_store.get_attributes(env)
    first["step"] = 2
    dynamo_store.save_attributes(env, first)
    with pytest.raises(StoreConflict):
        dynamo_store.save_attributes(env, second)
    assert dynamo_store.get_attributes(env) == {"step": 2, "_version": 2}


def test_dynamo_concurrent_writers_lose_no_update(dynamo_store: DynamoStore) -> None:
    """Threads doing read-modify-write through DynamoDB lose none of their increments."""
    env = envelope(new_user())
    run_threads(4, lambda: increment(dynamo_store, env, 10))
    final = dynamo_store.get_attributes(env)
    assert final["counter"] == 40 and final["_version"] == 40


def test_dynamo_delete_leaves_no_item(dynamo_store: DynamoStore) -> None:
    """Forgetting a user deletes the item: a scan of the table finds nothing of it."""
    user_id, other = new_user(), new_user()
    dynamo_store.save_attributes(envelope(user_id), {"note": "forget me"})
    dynamo_store.save_attributes(envelope(other), {"note": "keep me"})
    dynamo_store.delete_attributes(envelope(user_id))
    items = dynamo_store.table.scan(ConsistentRead=True)["Items"]
    assert [item["id"] for item in items] == [other]
    assert "forget me" not in repr(items)
    assert dynamo_store.get_attributes(envelope(user_id)) == {}


@pytest.mark.parametrize(
    "stored",
    ["a string, not a map", {"tags": {"a", "b"}}, {"_version": "two"}],
    ids=["not-a-map", "string-set", "bad-version"],
)
def test_dynamo_corrupt_record_raises_store_error(
    dynamo_store: DynamoStore, caplog: pytest.LogCaptureFixture, stored: Any
) -> None:
    """An item of the wrong shape raises StoreError on read and is logged without the user id."""
    user_id = new_user()
    dynamo_store.table.put_item(Item={"id": user_id, "attributes": stored})
    with caplog.at_level(logging.DEBUG, logger="skill.memory"), pytest.raises(StoreError):
        dynamo_store.get_attributes(envelope(user_id))
    assert "corrupt record" in caplog.text
    assert user_id not in caplog.text


def test_dynamo_reads_and_upgrades_plain_sdk_records(dynamo_store: DynamoStore) -> None:
    """A record written by the plain ASK SDK adapter (no _version) is read and then versioned."""
    import boto3
    from ask_sdk_dynamodb.adapter import DynamoDbAdapter

    env = envelope(new_user())
    plain = DynamoDbAdapter(dynamo_store.table_name, dynamodb_resource=boto3.resource("dynamodb"))
    plain.save_attributes(env, {"step": 3})
    attributes = dynamo_store.get_attributes(env)
    assert attributes == {"step": 3}
    dynamo_store.save_attributes(env, attributes)
    assert dynamo_store.get_attributes(env) == {"step": 3, "_version": 1}
    assert plain.get_attributes(env)["step"] == 3  # and the SDK adapter can still read it


@pytest.mark.long
def test_dynamo_server_down_raises_store_error_quickly(
    private_dynalite: Callable[[], DynaliteServer], point_boto3: Callable[[str], None]
) -> None:
    """When the server stops mid-conversation, reads, saves and deletes fail fast (StoreError)."""
    server = private_dynalite()
    point_boto3(server.endpoint)
    store = DynamoStore(new_table_name(), create_table=True)
    env = envelope(new_user())
    store.save_attributes(env, {"step": 1})
    attributes = store.get_attributes(env)  # the client now holds a pooled connection
    server.stop()
    for call in (
        lambda: store.get_attributes(env),
        lambda: store.save_attributes(env, attributes),
        lambda: store.delete_attributes(env),
    ):
        started = time.monotonic()
        with pytest.raises(StoreError, match="dynamodb .* failed"):
            call()
        assert time.monotonic() - started < FAIL_FAST_S
    assert attributes["_version"] == 1


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP server on 127.0.0.1 that accepts connections and never answers (a hung store)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield int(listener.getsockname()[1])
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


@pytest.mark.long
def test_dynamo_slow_server_times_out_quickly(
    point_boto3: Callable[[str], None], silent_server: int
) -> None:
    """A store that accepts but never answers costs at most a few seconds, then StoreError."""
    point_boto3(f"http://127.0.0.1:{silent_server}")
    store = DynamoStore(new_table_name())  # no create_table: construction does no I/O
    started = time.monotonic()
    with pytest.raises(StoreError, match="timed out"):
        store.get_attributes(envelope(new_user()))
    assert time.monotonic() - started < FAIL_FAST_S


def test_dynamo_without_region_raises_store_error(
    monkeypatch: pytest.MonkeyPatch, dynamodb_env: DynaliteServer
) -> None:
    """With no AWS region configured, constructing the store raises StoreError, nothing else."""
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(StoreError, match="not configured"):
        DynamoStore(new_table_name())


# --- choosing a store ------------------------------------------------------------------------


def test_store_for_uses_cramp_coach_db(tmp_path: Path) -> None:
    """CRAMP_COACH_DB names the SQLite file when no DynamoDB table is set."""
    store = store_for(Settings.from_env({"CRAMP_COACH_DB": str(tmp_path / "x.sqlite3"),
                                         "HOME": "/nowhere"}))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "x.sqlite3"


def test_default_db_path_follows_xdg() -> None:
    """Without CRAMP_COACH_DB the file lives under $XDG_DATA_HOME, else ~/.local/share."""
    assert default_db_path({"XDG_DATA_HOME": "/xdg", "HOME": "/home/runner"}) == Path(
        "/xdg/cramp-coach/memory.sqlite3"
    )
    expected = Path("/home/runner/.local/share/cramp-coach/memory.sqlite3")
    assert default_db_path({"HOME": "/home/runner"}) == expected
    # The XDG spec says to ignore a relative XDG_DATA_HOME.
    assert default_db_path({"XDG_DATA_HOME": "rel", "HOME": "/home/runner"}) == expected
    assert default_db_path({"CRAMP_COACH_DB": "  ", "HOME": "/home/runner"}) == expected


def test_store_for_picks_dynamodb_when_table_set(dynamodb_env: DynaliteServer) -> None:
    """CRAMP_COACH_DYNAMODB_TABLE selects the DynamoDB store on that table."""
    store = store_for(Settings.from_env({"CRAMP_COACH_DYNAMODB_TABLE": "cramp-coach-memory",
                                         "HOME": "/x"}))
    assert isinstance(store, DynamoStore)
    assert store.table_name == "cramp-coach-memory"


# Which modules a fresh interpreter loads for each store, after using it.
IMPORT_PROBE = textwrap.dedent(
    """
    import json, os, sys
    from ask_sdk_model import Context, RequestEnvelope, User
    from ask_sdk_model.interfaces.system import SystemState
    import skill.memory
    from skill.settings import Settings
    env = RequestEnvelope(context=Context(system=SystemState(user=User(user_id="probe"))))
    if sys.argv[1] == "sqlite":
        settings = Settings.from_env({"CRAMP_COACH_DB": sys.argv[2]})
    else:
        settings = Settings.from_env({**os.environ, "CRAMP_COACH_DYNAMODB_TABLE": sys.argv[2],
                                      "AWS_REGION": "us-east-1"})
    store = skill.memory.store_for(settings)
    store.save_attributes(env, store.get_attributes(env))
    print(json.dumps([type(store).__name__,
                      sorted({m.split(".")[0] for m in sys.modules}
                             & {"boto3", "botocore", "sqlite3"})]))
    """
)


def test_each_store_loads_only_what_it_uses(tmp_path: Path, dynamodb_env: DynaliteServer) -> None:
    """The embedded store never loads boto3 or botocore; the DynamoDB store (credentials in
    the environment, as on Lambda) loads neither, nor sqlite3."""
    table = new_table_name()
    DynamoStore(table, create_table=True)

    def probe(kind: str, where: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-c", IMPORT_PROBE, kind, where],
            capture_output=True, text=True, timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    assert probe("sqlite", str(tmp_path / "m.sqlite3")) == ["SqliteStore", ["sqlite3"]]
    assert probe("dynamodb", table) == ["DynamoStore", []]


# --- the DynamoDB client held against botocore's ---------------------------------------------


class RecordingClient:
    """Stands in for DynamoDBClient: keeps what the store sends, answers from a table."""

    region = "us-east-1"
    endpoint_url = "https://dynamodb.us-east-1.amazonaws.com"

    def __init__(self, answers: dict[str, dict[str, Any]] | None = None) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.answers = answers or {}

    def call(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        self.sent.append((operation, json.loads(json.dumps(params))))
        return self.answers.get(operation, {})


def every_store_request() -> list[tuple[str, dict[str, Any]]]:
    """One of each request the store makes: set-up, read, first and later save, delete."""
    client = RecordingClient({"DescribeTable": {"Table": {"TableStatus": "ACTIVE"}}})
    store = DynamoStore("cramp-coach-memory", client=client, create_table=True)  # type: ignore[arg-type]
    env = envelope(new_user())
    store.get_attributes(env)
    attributes = json.loads(json.dumps(SAMPLE))
    store.save_attributes(env, attributes)  # no record yet
    store.save_attributes(env, attributes)  # over version 1
    store.delete_attributes(env)
    return client.sent


def test_every_request_is_valid_for_botocores_dynamodb_model() -> None:
    """Each request the store sends passes botocore's validation against the full DynamoDB
    service model, and botocore would send the same JSON under the same target header."""
    import botocore.session
    from botocore.serialize import create_serializer
    from botocore.validate import ParamValidator

    from skill.memory import DYNAMODB_CONTENT_TYPE, DYNAMODB_OPERATIONS, DYNAMODB_TARGET_PREFIX

    model = botocore.session.get_session().get_service_model("dynamodb")
    sent = every_store_request()
    assert sorted({operation for operation, _ in sent}) == sorted(DYNAMODB_OPERATIONS)
    for operation, params in sent:
        operation_model = model.operation_model(operation)
        report = ParamValidator().validate(params, operation_model.input_shape)
        assert not report.has_errors(), f"{operation}: {report.generate_report()}"
        wire = create_serializer("json").serialize_to_request(params, operation_model)
        assert json.loads(wire["body"]) == params
        assert wire["headers"]["X-Amz-Target"] == DYNAMODB_TARGET_PREFIX + operation
        assert wire["headers"]["Content-Type"] == DYNAMODB_CONTENT_TYPE


Scripted = tuple[int, dict[str, Any], dict[str, str]]  # status, JSON body, extra headers


@dataclass
class Capture:
    """A DynamoDB double on 127.0.0.1: records each request, answers from a script."""

    url: str = ""
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    script: list[Scripted] = field(default_factory=list)


class _CaptureHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    capture: Capture

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.capture.requests.append((dict(self.headers.items()), body))
        status, answer, extra = self.capture.script.pop(0) if self.capture.script else (
            200, {}, {})
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amz-crc32", extra.get("x-amz-crc32", str(zlib.crc32(data))))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def capture() -> Iterator[Capture]:
    """A running Capture server for one test."""
    found = Capture()
    handler = type("Handler", (_CaptureHandler,), {"capture": found})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    found.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield found
    server.shutdown()
    server.server_close()


EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"  # AWS's documentation example


def captured_client(capture: Capture, token: str | None = None) -> DynamoDBClient:
    return DynamoDBClient("eu-west-1", endpoint_url=capture.url, environ={},
                          credentials=AwsCredentials("AKIDEXAMPLE", EXAMPLE_SECRET, token))


@pytest.mark.parametrize("token", [None, "a-session-token"], ids=["keys", "role"])
def test_requests_are_signed_as_botocore_signs_them(
    capture: Capture, monkeypatch: pytest.MonkeyPatch, token: str | None
) -> None:
    """The Authorization header on the wire is the one botocore's SigV4Auth computes for the
    same request and time, with and without a session token (a Lambda role has one)."""
    import datetime as dt

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    client = captured_client(capture, token)
    client.call("GetItem", {"TableName": "t", "Key": {"id": {"S": "u"}}, "ConsistentRead": True})
    [(headers, body)] = capture.requests

    stamp = dt.datetime.strptime(headers["X-Amz-Date"], "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: stamp)
    expected = AWSRequest(method="POST", url=capture.url + "/", data=body,
                          headers={k: headers[k] for k in ("Content-Type", "X-Amz-Target")})
    credentials = client.credentials()
    botocore.auth.SigV4Auth(
        Credentials(credentials.access_key, credentials.secret_key, credentials.token),
        "dynamodb", "eu-west-1",
    ).add_auth(expected)
    assert headers["Authorization"] == expected.headers["Authorization"]
    assert headers.get("X-Amz-Security-Token") == token
    assert headers["Host"] == capture.url.removeprefix("http://")


def test_the_signature_of_a_default_port_https_endpoint_is_botocores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On AWS's own endpoint (https, no port in Host) the signature is botocore's too."""
    import datetime as dt

    import botocore.auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from skill.memory import sigv4_authorization

    body = b'{"TableName":"t"}'
    headers = {"Host": "dynamodb.eu-west-1.amazonaws.com",
               "Content-Type": "application/x-amz-json-1.0",
               "X-Amz-Target": "DynamoDB_20120810.DescribeTable",
               "X-Amz-Date": "20261127T170000Z"}
    credentials = AwsCredentials("AKIDEXAMPLE", "secret", None)
    ours = sigv4_authorization(credentials, region="eu-west-1", service="dynamodb",
                               amz_date=headers["X-Amz-Date"], path="/", headers=headers,
                               body=body)
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: dt.datetime(2026, 11, 27, 17, 0, 0))
    theirs = AWSRequest(method="POST", url="https://dynamodb.eu-west-1.amazonaws.com/",
                        data=body, headers={k: headers[k] for k in ("Content-Type",
                                                                    "X-Amz-Target")})
    botocore.auth.SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "dynamodb",
                            "eu-west-1").add_auth(theirs)
    assert ours == theirs.headers["Authorization"]


ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL", "AWS_USE_FIPS_ENDPOINT",
                      "AWS_USE_DUALSTACK_ENDPOINT", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
                      "AWS_PROFILE", "AWS_ACCOUNT_ID")


@pytest.mark.parametrize(
    ("region", "env"),
    [
        ("us-east-1", {}),
        ("eu-central-1", {}),
        ("us-gov-west-1", {}),
        ("cn-north-1", {}),
        ("us-east-1", {"AWS_USE_FIPS_ENDPOINT": "true"}),
        ("us-east-1", {"AWS_USE_DUALSTACK_ENDPOINT": "true"}),
        ("cn-north-1", {"AWS_USE_DUALSTACK_ENDPOINT": "true"}),
        ("us-east-1", {"AWS_ENDPOINT_URL": "http://localhost:9000"}),
        ("us-east-1", {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
                       "AWS_ENDPOINT_URL": "http://localhost:9000"}),
        ("us-east-1", {"AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8000",
                       "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"}),
    ],
)
def test_the_endpoint_is_the_one_botocore_chooses(
    monkeypatch: pytest.MonkeyPatch, region: str, env: dict[str, str]
) -> None:
    """The same environment sends the store where botocore's DynamoDB client would go."""
    import botocore.session

    from skill.memory import dynamodb_endpoint

    for name in ENDPOINT_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/cramp-coach/aws-config")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    botocore_client = botocore.session.Session().create_client(
        "dynamodb", region_name=region, aws_access_key_id="a", aws_secret_access_key="b")
    assert dynamodb_endpoint(region, os.environ) == botocore_client.meta.endpoint_url


def test_credentials_off_lambda_come_from_botocores_chain(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dynamodb_env: DynaliteServer
) -> None:
    """Without keys in the environment, a profile's keys (botocore's chain) are used."""
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    shared = tmp_path / "credentials"
    shared.write_text("[default]\naws_access_key_id = AKIDPROFILE\n"
                      "aws_secret_access_key = from-the-profile\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(shared))
    store = DynamoStore(new_table_name(), create_table=True)
    assert store.client.credentials() == AwsCredentials("AKIDPROFILE", "from-the-profile")
    env = envelope(new_user())
    store.save_attributes(env, {"step": 2})
    assert store.get_attributes(env) == {"step": 2, "_version": 1}


def test_keys_in_the_environment_are_used_as_lambda_sets_them(
    monkeypatch: pytest.MonkeyPatch, dynamodb_env: DynaliteServer
) -> None:
    """AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, as Lambda sets them."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "role-session")
    store = DynamoStore(new_table_name(), create_table=True)
    assert store.client.credentials() == AwsCredentials(
        "cramp-coach-test", "cramp-coach-test", "role-session")


def test_a_throttled_call_is_tried_once_more_after_a_short_wait(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Throttling, then success: one retry after a wait of at most 1 s (botocore's standard
    mode); throttled twice: StoreError naming the throttle."""
    waits: list[float] = []
    monkeypatch.setattr(memory.time, "sleep", waits.append)
    throttled: Scripted = (400, {"__type": "com.amazonaws.dynamodb.v20120810#"
                                 "ProvisionedThroughputExceededException", "message": "slow"}, {})
    capture.script += [throttled, (200, {"Item": {"id": {"S": "u"}, "attributes": {"M": {
        "step": {"N": "3"}, "_version": {"N": "2"}}}}}, {})]
    store = DynamoStore("t", client=captured_client(capture))
    env = envelope(new_user())
    assert store.get_attributes(env) == {"step": 3, "_version": 2}
    assert len(capture.requests) == 2 and len(waits) == 1 and 0 <= waits[0] <= 1

    capture.script += [throttled, throttled]
    with pytest.raises(StoreError, match=r"throttled \(ProvisionedThroughputExceededException\)"):
        store.get_attributes(env)
    assert len(capture.requests) == 4


def test_a_client_error_is_not_retried_and_a_damaged_answer_is(
    capture: Capture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A ValidationException fails at once; an answer whose CRC32 does not match is refused
    and asked for again, as botocore does."""
    monkeypatch.setattr(memory.time, "sleep", lambda seconds: None)
    store = DynamoStore("t", client=captured_client(capture))
    env = envelope(new_user())
    capture.script.append(
        (400, {"__type": "com.amazon.coral.validate#ValidationException", "message": "no"}, {}))
    with pytest.raises(StoreError, match="DynamoDB error ValidationException"):
        store.get_attributes(env)
    assert len(capture.requests) == 1

    capture.script += [(200, {}, {"x-amz-crc32": "1"}), (200, {}, {})]
    assert store.get_attributes(env) == {}
    assert len(capture.requests) == 3


def test_store_calls_share_one_kept_alive_connection(dynamo_store: DynamoStore) -> None:
    """Setting up, reading, saving and deleting cross one TCP connection to the server."""
    env = envelope(new_user())
    for step in range(1, 4):
        attributes = dynamo_store.get_attributes(env)
        attributes["step"] = step
        dynamo_store.save_attributes(env, attributes)
    dynamo_store.delete_attributes(env)
    assert dynamo_store.client.connections.opened == 1


# --- the store calls of a whole routine --------------------------------------------------------


class CountingStore(AbstractPersistenceAdapter):
    """A real store that records each call with the request and session it came from."""

    def __init__(self, inner: AbstractPersistenceAdapter) -> None:
        self.inner = inner
        self.calls: list[tuple[str, str, str]] = []  # (read|write|delete, request id, session id)

    def _record(self, kind: str, request_envelope: Any) -> None:
        session = request_envelope.session
        self.calls.append((kind, request_envelope.request.request_id,
                           session.session_id if session else ""))

    def get_attributes(self, request_envelope: Any) -> dict[str, Any]:
        self._record("read", request_envelope)
        found: dict[str, Any] = self.inner.get_attributes(request_envelope)
        return found

    def save_attributes(self, request_envelope: Any, attributes: dict[str, Any]) -> None:
        self._record("write", request_envelope)
        self.inner.save_attributes(request_envelope, attributes)

    def delete_attributes(self, request_envelope: Any) -> None:
        self._record("delete", request_envelope)
        self.inner.delete_attributes(request_envelope)


@pytest.mark.parametrize("session_per_step", [False, True], ids=["one-session", "session-a-step"])
def test_a_routine_reads_once_a_session_and_writes_once_for_each_change(
    tmp_path: Path, session_per_step: bool
) -> None:
    """Over a whole routine (timers set and cancelled on the way): at most one store read per
    session, and one write in each turn that changes the kept state, none in the others."""
    from tests.conftest import check_response, in_process_timers, new_device
    from tests.full_run import walk
    from tooling.standins.alexa import Alexa

    inner = SqliteStore(tmp_path / "memory.sqlite3")
    store = CountingStore(inner)
    handle = event_handler(build_skill(store=store, timer_service=in_process_timers))
    turns: list[tuple[str, str, bool]] = []  # request id, session id, kept state changed
    names: dict[str, str] = {}  # request id -> the request's type or intent, for messages

    def send(request: dict[str, Any]) -> dict[str, Any]:
        env = envelope(request["context"]["System"]["user"]["userId"])
        before = inner.get_attributes(env).get("routine")
        raw = handle(request, None)
        check_response(request, raw)
        names[request["request"]["requestId"]] = (
            request["request"].get("intent", {}).get("name") or request["request"]["type"])
        after = inner.get_attributes(env).get("routine")
        turns.append((request["request"]["requestId"], request["session"]["sessionId"],
                      before != after))
        return raw

    run = walk(Alexa(send, device=new_device()), session_per_step=session_per_step)
    assert run.turns == len(turns) > 8

    reads: dict[str, int] = {}
    writes: dict[str, int] = {}
    for kind, request_id, session_id in store.calls:
        if kind == "read":
            reads[session_id] = reads.get(session_id, 0) + 1
        else:
            writes[request_id] = writes.get(request_id, 0) + 1
    sessions = {session_id for _, session_id, _ in turns}
    assert max(reads.values()) == 1 and set(reads) <= sessions
    too_many = sorted(f"{names[r]} wrote {n} times" for r, n in writes.items() if n > 1)
    needless = sorted(names[r] for r, _, changed in turns if writes.get(r) and not changed)
    assert (too_many, needless) == ([], []), f"of {len(turns)} turns"
    assert all(writes.get(r) == 1 for r, _, changed in turns if changed)
