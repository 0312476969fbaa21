"""Cheaper SQLite commits for Dagster's event log during a command-line run.

Dagster's SQLite storage opens a new connection for every event it stores (NullPool), commits
and closes it. The databases are in WAL mode, where SQLite's default ``synchronous=FULL``
syncs the log on every commit, and closing the last connection to a database checkpoints the
log into it and deletes it: two or three fsyncs per event. A run after one small delivery
stores about 500 events (81 "planned" ones before the first step), so on a shared disk it
waited 15–25 ms per event: most of "Dagster between steps" (docs/performance.md).

Within :func:`quick_commits`:

- every SQLite connection to a file under the Dagster home gets ``synchronous=NORMAL``, which
  SQLite documents as safe with WAL: a commit is never lost by a crash of the process, only,
  at worst, the last commits by a power cut or an OS crash, and the database stays consistent;
- one idle read connection is kept open to each such database once it is in WAL mode, so that
  closing Dagster's connection no longer checkpoints and deletes the log each time. They are
  closed on leaving, which checkpoints once.

The hook is SQLAlchemy's documented ``connect`` event on every ``Engine``; no Dagster code is
changed, and other engines (GX's DuckDB one) are left alone.

:func:`pooled_event_log` goes one step further for the run's own instance: Dagster's SQLite
event log builds a SQLAlchemy engine for every event it stores (``create_engine`` with
``NullPool``, a connect, the hook above, a dispose: about 0.6 ms of CPU each, one-off), twice per
event (the run's shard and the index), about 1,000 times in a run. Within the block the
storage keeps one engine per shard with SQLAlchemy's default pool for a SQLite file (0.05 ms a
transaction); each event is still its own committed transaction, under Dagster's lock.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine


class _Held:
    """The idle connections kept open, by database file."""

    def __init__(self, home: Path) -> None:
        self.home = home.resolve()
        self.connections: dict[str, sqlite3.Connection] = {}
        self.lock = threading.Lock()

    def on_connect(self, dbapi_connection: object, _record: object) -> None:
        """SQLAlchemy's ``connect`` event: tune a SQLite connection to a Dagster storage file."""
        if not isinstance(dbapi_connection, sqlite3.Connection):
            return
        path = _main_file(dbapi_connection)
        if path is None or not path.is_relative_to(self.home):
            return
        dbapi_connection.execute("pragma synchronous = normal")
        mode = dbapi_connection.execute("pragma journal_mode").fetchone()
        if not mode or str(mode[0]).lower() != "wal":
            return  # not yet initialised by Dagster (it switches to WAL itself): not held
        with self.lock:
            if str(path) not in self.connections:
                holder = sqlite3.connect(path, check_same_thread=False)
                # Reading once maps the WAL index: from now on this connection is open on it.
                holder.execute("select count(*) from sqlite_master").fetchall()
                self.connections[str(path)] = holder

    def close(self) -> None:
        """Close every kept connection (the last one to close checkpoints its database)."""
        with self.lock:
            for holder in self.connections.values():
                holder.close()
            self.connections.clear()


def _main_file(con: sqlite3.Connection) -> Path | None:
    """The file of a SQLite connection's main database; None for an in-memory one."""
    for _, name, file in con.execute("pragma database_list").fetchall():
        if name == "main" and file:
            return Path(file).resolve()
    return None


@contextmanager
def quick_commits(dagster_home: Path) -> Iterator[dict[str, sqlite3.Connection]]:
    """Within the block, Dagster's SQLite files under ``dagster_home`` commit without an fsync
    and keep their WAL (see the module docstring); yields the kept connections by file."""
    held = _Held(dagster_home)
    event.listen(Engine, "connect", held.on_connect)
    try:
        yield held.connections
    finally:
        event.remove(Engine, "connect", held.on_connect)
        held.close()


@contextmanager
def pooled_event_log(instance: object) -> Iterator[dict[str, Engine]]:
    """Within the block, ``instance``'s SQLite event log stores events through one kept engine
    per shard instead of a new engine per event (see the module docstring); yields them by
    shard. Any other event log storage (Postgres, a consolidated SQLite file) is left alone.

    Dagster 1.13's ``SqliteEventLogStorage._connect`` and ``has_table`` (asked before storing
    an asset event) are replaced on this one storage object only, not the class, by the same
    steps with a kept engine: the shard's database created on first use as Dagster does
    (``_initdb``), one transaction per call under its lock. On leaving, the storage's own
    methods are back and the engines are disposed.
    """
    from dagster._core.storage.event_log.sqlite.sqlite_event_log import (
        INDEX_SHARD_NAME,
        SqliteEventLogStorage,
    )
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

    storage = getattr(instance, "event_log_storage", None)
    engines: dict[str, Engine] = {}
    # Only the storage class whose steps are copied below, and only while it still has the
    # private names they use: after a Dagster upgrade that renames one, runs are slower, not
    # broken (tests/test_event_log.py fails on it, so the copy is looked at again).
    needed = ("_connect", "_db_lock", "_initdb", "_initialized_dbs", "conn_string_for_shard")
    if type(storage) is not SqliteEventLogStorage or not all(hasattr(storage, n) for n in needed):
        yield engines
        return
    made = threading.Lock()  # not Dagster's lock: has_table may be asked inside a transaction

    def _engine(shard: str) -> Engine:
        with made:
            if shard not in engines:
                engines[shard] = create_engine(
                    storage.conn_string_for_shard(shard),
                    connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
                )
            return engines[shard]

    @contextmanager
    def _connect(shard: str) -> Iterator[Connection]:
        with storage._db_lock:
            engine = _engine(shard)
            if shard not in storage._initialized_dbs:
                storage._initdb(engine)
                storage._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(table_name: str) -> bool:
        engine = _engine(INDEX_SHARD_NAME)
        with engine.connect() as conn:
            return bool(engine.dialect.has_table(conn, table_name))

    storage._connect = _connect
    storage.has_table = has_table
    try:
        yield engines
    finally:
        del storage._connect, storage.has_table  # the class's methods again
        with made:
            for engine in engines.values():
                engine.dispose()
            engines.clear()
