"""The scratch database a run's deliveries are parsed into: ``_ingest_stage``, attached in
memory to the warehouse's DuckDB for one ``ingest_entity``.

The reading thread parses each canonical CSV there through a cursor of its own (a schema per
delivery, :class:`pipeline.ingest.duckdb_csv.Stage`); the main thread's connection reads the
good rows where they are (file-level checks, landed suite, insert) and drops the schema once
the delivery has landed or been refused. The database counts against the warehouse's memory
limit and spills to its temporary directory beyond it.
"""

from __future__ import annotations

import contextlib
import itertools

import duckdb

from pipeline.ingest.duckdb_csv import STAGE_CATALOG, Stage
from pipeline.warehouse import run


class Staging:
    """``with Staging(con):`` attaches the scratch database and opens the reading thread's
    cursor; on exit both are closed and whatever is left in the database is freed."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.cursor: duckdb.DuckDBPyConnection | None = None
        self._numbers = itertools.count(1)

    def __enter__(self) -> Staging:
        run(self.con, f"attach if not exists ':memory:' as {STAGE_CATALOG}")
        self.cursor = self.con.cursor()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None
        with contextlib.suppress(duckdb.Error):  # do not hide the error that got us here
            run(self.con, f"detach database if exists {STAGE_CATALOG}")

    def next_stage(self) -> Stage:
        """A new delivery's stage (on the reading thread, the cursor's only user)."""
        if self.cursor is None:
            raise RuntimeError("Staging is used outside its with block")
        return Stage(self.cursor, f"d{next(self._numbers)}")

    def drop(self, stage: Stage) -> None:
        """Free a delivery's staged parse (on the main thread, with its connection)."""
        # Should the drop fail, the delivery is landed all the same: the memory is freed when
        # the database is detached at the end of the run.
        with contextlib.suppress(duckdb.Error):
            run(self.con, f"drop schema if exists {STAGE_CATALOG}.{stage.schema} cascade")
