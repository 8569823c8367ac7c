"""The memory stores (skill/memory.py): SQLite on disk and DynamoDB against a real dynalite."""

from __future__ import annotations

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
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ask_sdk_model import Context, RequestEnvelope, User
from ask_sdk_model.interfaces.system import SystemState

from skill.memory import (
    DynamoStore,
    SqliteStore,
    StoreConflict,
    StoreError,
    default_db_path,
    store_from_env,
)

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
    # boto3 found the local server through AWS_ENDPOINT_URL_DYNAMODB alone.
    assert store.table.meta.client.meta.endpoint_url == dynamodb_env.endpoint
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
    from ask_sdk_dynamodb.adapter import DynamoDbAdapter

    env = envelope(new_user())
    plain = DynamoDbAdapter(
        dynamo_store.table_name, dynamodb_resource=dynamo_store.adapter.dynamodb
    )
    plain.save_attributes(env, {"step": 3})
    attributes = dynamo_store.get_attributes(env)
    assert attributes == {"step": 3}
    dynamo_store.save_attributes(env, attributes)
    assert dynamo_store.get_attributes(env) == {"step": 3, "_version": 1}
    assert plain.get_attributes(env)["step"] == 3  # and the SDK adapter can still read it


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
    import boto3

    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setattr(boto3, "DEFAULT_SESSION", None)  # forget the session other tests made
    with pytest.raises(StoreError, match="not configured"):
        DynamoStore(new_table_name())


# --- choosing a store ------------------------------------------------------------------------


def test_store_from_env_uses_cramp_coach_db(tmp_path: Path) -> None:
    """CRAMP_COACH_DB names the SQLite file when no DynamoDB table is set."""
    store = store_from_env({"CRAMP_COACH_DB": str(tmp_path / "x.sqlite3"), "HOME": "/nowhere"})
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


def test_store_from_env_picks_dynamodb_when_table_set(dynamodb_env: DynaliteServer) -> None:
    """CRAMP_COACH_DYNAMODB_TABLE selects the DynamoDB store on that table."""
    store = store_from_env({"CRAMP_COACH_DYNAMODB_TABLE": "cramp-coach-memory", "HOME": "/x"})
    assert isinstance(store, DynamoStore)
    assert store.table_name == "cramp-coach-memory"


# Which modules a fresh interpreter loads for the embedded store, and then for DynamoDB.
IMPORT_PROBE = textwrap.dedent(
    """
    import json, sys
    import skill.memory
    store = skill.memory.store_from_env({"CRAMP_COACH_DB": sys.argv[1]})
    after_sqlite = "boto3" in sys.modules
    store = skill.memory.store_from_env({"CRAMP_COACH_DYNAMODB_TABLE": "cramp-coach-memory"})
    print(json.dumps([after_sqlite, "boto3" in sys.modules, type(store).__name__]))
    """
)


def test_importing_memory_does_not_import_boto3(
    tmp_path: Path, dynamodb_env: DynaliteServer
) -> None:
    """boto3 is loaded only once DynamoDB is chosen, so the embedded store keeps its cold start."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_PROBE, str(tmp_path / "m.sqlite3")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == [False, True, "DynamoStore"]
