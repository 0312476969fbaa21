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
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import Engine


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
