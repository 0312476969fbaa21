"""The build log ``meta.model_builds``: one row per table the engine (or a Python step) built.

A row keeps the sha256 of the model's SQL (or the Python step's code version), a build counter,
the ``as_of_end`` it was built for, the latest ``_delivery_seq`` of its source then, whether the
build wrote a delta (``meta.<model>__delta``: the rows it deleted and inserted, ``_change``), and
the build number of each parent it read. From these the engine tells whether a model can be
brought up to date and what each parent changed since the model last read it.

:class:`BuildLog` is the small API the other steps use: validation asks how often a table was
built and whether it was rebuilt whole since (``pipeline/validation/batches.py``); the
Python-built ``int_mention_sentiment`` reads what ``stg_social_mentions`` added and records its
own builds like a model (``pipeline/sentiment/scoring.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from pipeline.warehouse import add_missing_columns, rows, run, scalar, table_exists

DELTA = "__delta"  # meta.<model>__delta, read by children as <model>__delta
CHANGE = "_change"  # the delta's column: 'delete' or 'insert'
LAST_BUILD = "last_build"  # the one-row table changed_keys may read

# Every column, once. The first release had the first four; the others were added later and are
# nullable, so a table made then gets them added as NULL (prepare) and reads treat a NULL as
# "built before it was recorded": build_id 1, no delta, no parent builds, rebuild not known.
COLUMNS: dict[str, str] = {
    "model": "varchar primary key",
    "sql_sha256": "varchar not null",
    "source_delivery_seq": "bigint",  # latest _delivery_seq of the source at the build
    "built_at": "timestamp not null",
    "build_id": "bigint",  # how many times the model was built
    "as_of_end": "timestamp",  # meta.pipeline_settings.as_of_end at the build
    "has_delta": "boolean",  # the build wrote meta.<model>__delta
    "parent_builds": "varchar",  # JSON: build_id of each built parent when it was read
    "rebuilt_build_id": "bigint",  # the build_id of the last whole rebuild
}
FIRST_RELEASE = ("model", "sql_sha256", "source_delivery_seq", "built_at")
DDL = (
    "create table if not exists meta.model_builds (\n    "
    + ",\n    ".join(f"{c} {t}" for c, t in COLUMNS.items())
    + "\n)"
)


@dataclass(frozen=True)
class Build:
    """A table's row in ``meta.model_builds``: its last build."""

    sql_sha256: str
    source_seq: int | None
    build_id: int
    as_of_end: object
    has_delta: bool
    parent_builds: dict[str, int]
    rebuilt_build_id: int | None  # None: not known (built before it was recorded)


@dataclass(frozen=True)
class ParentDelta:
    """The rows a parent changed since a reader last read it (``CHANGE`` says which way)."""

    parent: str
    select: str  # a select of the changed rows: the parent's columns and CHANGE

    def inserted(self) -> str:
        """A select of the rows the parent inserted (new or rewritten)."""
        return f"select * from ({self.select}) as delta where {CHANGE} = 'insert'"


def delta_select(build: Build | None, seen: int | None, parent: str) -> str | None:
    """A select of the rows ``parent`` changed after its build number ``seen``; None when that
    cannot be told (never read, built more than once since, or rebuilt whole)."""
    if build is None or seen is None:
        return None
    if build.build_id == seen:  # not built since: nothing changed
        return f"select *, cast(null as varchar) as {CHANGE} from {parent} limit 0"
    if build.build_id == seen + 1 and build.has_delta:
        return f'select * from meta."{parent}{DELTA}"'
    return None


class BuildLog:
    """``meta.model_builds`` on one connection (created, or brought to the current columns)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        run(con, "create schema if not exists meta")
        run(con, DDL)
        later = {c: t for c, t in COLUMNS.items() if c not in FIRST_RELEASE}
        add_missing_columns(con, "meta", "model_builds", later)
        self._as_of_end: tuple[object] | None = None

    def as_of_end(self) -> object:
        """The run's ``as_of_end`` (``meta.pipeline_settings``; None without it), read once per
        log: a layer step builds all its models for the one run's settings."""
        if self._as_of_end is None:
            end = (
                scalar(self.con, "select max(as_of_end) from meta.pipeline_settings")
                if table_exists(self.con, "meta", "pipeline_settings")
                else None
            )
            self._as_of_end = (end,)
        return self._as_of_end[0]

    def builds(self, names: Iterable[str]) -> dict[str, Build]:
        """The last build of each named table that has one."""
        names = list(names)
        if not names:
            return {}
        found = rows(
            self.con,
            "select model, sql_sha256, source_delivery_seq, coalesce(build_id, 1), as_of_end, "
            "coalesce(has_delta, false), coalesce(parent_builds, '{}'), rebuilt_build_id "
            "from meta.model_builds "
            "where model in (select unnest(?))",
            [names],
        )
        return {
            r[0]: Build(r[1], r[2], int(r[3]), r[4], bool(r[5]), json.loads(r[6]), r[7])
            for r in found
        }

    def build_id(self, name: str) -> int | None:
        """How many times the table ``name`` was built (None: no record)."""
        build = self.builds([name]).get(name)
        return build.build_id if build else None

    def parent_delta(self, reader: str, version: str, parent: str) -> ParentDelta | None:
        """For a table built in Python: what ``parent`` changed since ``reader`` was last
        recorded (:meth:`record`) at this code ``version``; None when that cannot be told, and
        the reader must be rebuilt whole."""
        builds = self.builds([reader, parent])
        last = builds.get(reader)
        if last is None or last.sql_sha256 != version:
            return None
        select = delta_select(builds.get(parent), last.parent_builds.get(parent), parent)
        return None if select is None else ParentDelta(parent, select)

    def record(self, name: str, version: str, parents: Iterable[str]) -> None:
        """Record a build of the Python-built table ``name`` (code ``version``) and the builds
        of the ``parents`` it read, as the engine does for a model; it writes no delta."""
        builds = self.builds([name, *parents])
        self.write(name, version, None, builds.get(name), None, False, builds)

    def write(
        self,
        name: str,
        version: str,
        source_seq: int | None,
        last: Build | None,
        as_of_end: object,
        has_delta: bool,
        builds: dict[str, Build],
    ) -> int:
        """Record one build of ``name``: the next build number (returned), and the parents'
        builds read."""
        parent_builds = {p: b.build_id for p, b in builds.items() if p != name}
        build_id = (last.build_id if last else 0) + 1
        rebuilt = last.rebuilt_build_id if has_delta and last else build_id
        run(
            self.con,
            "insert or replace into meta.model_builds (model, sql_sha256, source_delivery_seq, "
            "built_at, build_id, as_of_end, has_delta, parent_builds, rebuilt_build_id) "
            "values (?, ?, ?, current_timestamp, ?, ?, ?, ?, ?)",
            [
                name,
                version,
                source_seq,
                build_id,
                as_of_end,
                has_delta,
                json.dumps(parent_builds, sort_keys=True),
                rebuilt,
            ],
        )
        return build_id
