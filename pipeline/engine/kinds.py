"""Model kinds: how a model's table is kept, one class each (as sqlmesh's ``core/model/kind.py``).

A model is a :class:`Table`, rebuilt whole every run (``create or replace table … as <select>``),
unless its ``.yml`` has an ``incremental:`` block (docs/architecture.md, "SQL models"):

- ``{unique_key: <column>}`` — :class:`Append`: a model over one landed table that keeps the
  first delivered copy of each key (the immutable entities). It only ever gains rows, so a run
  appends what the deliveries since its last build add under new keys.
- ``{strategy: delete+insert, unique_key: [...], source: <parent>, changed_keys: <select>}`` —
  :class:`DeleteInsert`: a model whose rows for a key depend only on the ``source`` rows with that
  key (and on other parents read whole). ``changed_keys`` is a ``select`` of the keys whose rows
  may differ from the table as built; it may read the parents, the model's own table,
  ``last_build`` (one row: the ``as_of_end`` and source ``_delivery_seq`` of the previous build)
  and ``<parent>__delta``: the rows an incremental parent changed since this model last read it.
  A run deletes those keys' rows and inserts them again from the model's SQL with ``source``
  narrowed to those keys. Finding those rows is a semi join over the whole model and source
  tables unless the block names where they are (both optional, each read as ``changed_keys``):
  ``source_rows``, a select of source rows holding every row of every changed key once (e.g.
  ``<parent>__delta``'s inserts, when the source only gains keys), and ``old_rows``, a select of
  ``rowid, *`` of the model's rows holding every row of every changed key once; the engine keeps
  the changed keys' rows of each. When the model reads the source only through plain selects of
  its columns (reads.py, ``read_columns``), only those columns are copied.
- ``{strategy: diff, unique_key: [...]}`` — :class:`Diff`: a small model computed whole whose
  changed keys are found by comparing the result with the table as built; only those keys are
  rewritten.

Every incremental build writes ``meta.<model>__delta`` (build_log.py). An incremental kind is
rebuilt whole when a full refresh is asked for, it was never built, its SQL or ``incremental:``
block changed, or its table is missing; each kind's ``update`` may find more reasons.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import duckdb

from pipeline.engine.build_log import CHANGE, DELTA, LAST_BUILD, Build, delta_select
from pipeline.engine.result import BuildMode, BuildResult
from pipeline.engine.rewrite import ModelError, read_parents, with_source
from pipeline.warehouse import rows, run, scalar, table_exists
from pipeline.words import counted

if TYPE_CHECKING:
    from pipeline.engine.discovery import Model

SEQ = "_delivery_seq"  # delivery order of a landed row (pipeline.entities.LINEAGE_COLUMNS)
_ROW_ID = "_engine_row_id"  # a changed row's rowid while its keys are rewritten (rewrite_keys)


@dataclass
class BuildContext:
    """What a build of one model reads: the connection (in the build's transaction), the build
    log's rows of the model and its parents, and this run's ``as_of_end``."""

    con: duckdb.DuckDBPyConnection
    model: Model
    last: Build | None  # the model's previous build
    builds: dict[str, Build]  # the model's and its parents' last builds
    has_seq: bool  # the kind's source table has _delivery_seq
    source_seq: int | None  # its latest _delivery_seq now
    as_of_end: object

    def rebuild(self, reason: str) -> BuildResult:
        """Rebuild the table whole from the model's SQL; it then has no delta."""
        model = self.model
        run(self.con, f"create or replace table {model.qualified_name} as\n{model.sql}")
        run(self.con, f'drop table if exists meta."{model.name}{DELTA}"')
        return BuildResult(BuildMode.FULL_REBUILD, "rebuilt", reason=reason)


class ModelKind(ABC):
    """How a model's table is kept up to date."""

    strategy: ClassVar[str]  # the name in the .yml's incremental: block

    def signature(self) -> str:
        """Text hashed with the SQL (``Model.sql_sha256``): editing it rebuilds the model."""
        return ""

    def check(self, model: Model) -> None:
        """What the model may read under this kind; ModelError naming the file otherwise."""
        return None  # a model rebuilt whole may read any table discovery knows

    def seq_source(self, model: Model) -> str | None:
        """The table whose latest ``_delivery_seq`` each build records, if any."""
        return None

    @abstractmethod
    def build(self, ctx: BuildContext, full_refresh: bool = False) -> BuildResult:
        """Build the model's table (inside the caller's transaction) and say how."""


@dataclass(frozen=True)
class Table(ModelKind):
    """Rebuilt whole every run (a model without an ``incremental:`` block)."""

    strategy: ClassVar[str] = "table"

    def build(self, ctx: BuildContext, full_refresh: bool = False) -> BuildResult:
        """Rebuild the table from the model's SQL."""
        return ctx.rebuild("not incremental")


class IncrementalKind(ModelKind):
    """A kind that brings the table as built up to date when it can (:meth:`update`)."""

    def build(self, ctx: BuildContext, full_refresh: bool = False) -> BuildResult:
        """Update the table, or rebuild it whole when the previous build cannot be updated."""
        last = ctx.last
        if full_refresh:
            return ctx.rebuild("full refresh")
        if last is None:
            return ctx.rebuild("no earlier build")
        if last.sql_sha256 != ctx.model.sql_sha256:
            return ctx.rebuild("its SQL or incremental: block changed")
        if not table_exists(ctx.con, ctx.model.layer, ctx.model.name):
            return ctx.rebuild("its table is missing")
        return self.update(ctx, last)

    @abstractmethod
    def update(self, ctx: BuildContext, last: Build) -> BuildResult:
        """Bring the table built by ``last`` up to date (or rebuild it, saying why)."""


@dataclass(frozen=True)
class Append(IncrementalKind):
    """Keeps the first delivered copy of each key of one landed table; only gains rows."""

    unique_key: str
    strategy: ClassVar[str] = "append"

    def check(self, model: Model) -> None:
        """An append model reads exactly one landed table."""
        if len(model.parents) != 1:
            raise ModelError(
                f"{model.path}: an incremental model reads exactly one landed table, "
                f"not {', '.join(model.parents) or 'none'}"
            )

    def seq_source(self, model: Model) -> str | None:
        """The landed table the model reads."""
        return model.parents[0]

    def update(self, ctx: BuildContext, last: Build) -> BuildResult:
        """Append the new keys of the deliveries after the last build."""
        since = last.source_seq
        if since is None or ctx.source_seq is None or ctx.source_seq < since:
            return ctx.rebuild("nothing was landed then, or the landed table was rebuilt since")
        added = self._append(ctx, int(since))
        mode = BuildMode.INCREMENTAL if added else BuildMode.UNCHANGED
        return BuildResult(mode, f"appended {counted(added, 'row')} (deliveries after #{since})")

    def _append(self, ctx: BuildContext, since: int) -> int:
        """Append the new keys of deliveries after ``since``: their first copy, as a rebuild
        would. The appended rows are also the model's delta (``meta.<model>__delta``)."""
        model, con, key = ctx.model, ctx.con, self.unique_key
        source = model.parents[0]
        new_sql = with_source(
            model.sql, source, f"select * from {source} where {SEQ} > {int(since)}"
        )
        delta = f'meta."{model.name}{DELTA}"'
        # The new deliveries' rows first, on their own: with the model's select inline, DuckDB
        # plans the anti join as a delim join around it; stg_email_events' append at 100k (47,600
        # new events against 6.2M) took 0.80-0.87 s of CPU that way, 0.11 + 0.27-0.31 s so.
        run(con, f"create or replace temp table _appended as {new_sql}")
        # One anti join against the table as built. Finding the built keys first by a semi
        # join (a Bloom-filtered scan) took the statement from 0.25-0.30 to 0.21 s of CPU, but
        # not the model's build: 0.50 s either way on a 100k day (docs/performance.md).
        run(
            con,
            f"create or replace table {delta} as select *, 'insert' as {CHANGE} "
            f"from temp._appended as new_rows where not exists ("
            f"select 1 from {model.qualified_name} as built where built.{key} = new_rows.{key})",
        )
        run(con, "drop table temp._appended")
        run(
            con,
            f"insert into {model.qualified_name} by name select * exclude ({CHANGE}) from {delta}",
        )
        return int(scalar(con, f"select count(*) from {delta}"))


@dataclass(frozen=True)
class DeleteInsert(IncrementalKind):
    """Rewrites the keys ``changed_keys`` names, from the ``source`` rows of those keys."""

    unique_key: tuple[str, ...]
    source: str
    changed_keys: str
    source_rows: str | None = None  # where the changed keys' source rows are, if not a scan
    old_rows: str | None = None  # where the changed keys' rows of the model are (rowid, *)
    strategy: ClassVar[str] = "delete+insert"

    def signature(self) -> str:
        """The whole block: an edited key, source, changed_keys, source_rows or old_rows
        rebuilds the model (a block without the last two hashes as before they existed)."""
        block: list[object] = [self.strategy, self.unique_key, self.source, self.changed_keys]
        if self.source_rows is not None or self.old_rows is not None:
            block += [self.source_rows, self.old_rows]
        return json.dumps(block, sort_keys=True)

    def check(self, model: Model) -> None:
        """``source`` is a parent; ``changed_keys`` reads only what it may."""
        yml = model.path.with_suffix(".yml")
        if self.source not in model.parents:
            raise ModelError(f"{yml}: source {self.source!r} is not a table the model reads")
        allowed = {*model.parents, model.name, LAST_BUILD, *(p + DELTA for p in model.parents)}
        for field, select in self._selects():
            unknown = sorted(set(read_parents(select, yml)) - allowed)
            if unknown:
                raise ModelError(
                    f"{yml}: {field} reads {', '.join(unknown)}; it may read the model's "
                    f"parents, the model itself, {LAST_BUILD} and <parent>{DELTA}"
                )

    def _selects(self) -> list[tuple[str, str]]:
        """The block's selects by field name: changed_keys, and source_rows / old_rows."""
        found = [("changed_keys", self.changed_keys)]
        found += [("source_rows", self.source_rows)] if self.source_rows else []
        return found + ([("old_rows", self.old_rows)] if self.old_rows else [])

    def seq_source(self, model: Model) -> str | None:
        """The parent narrowed to the changed keys."""
        return self.source

    def update(self, ctx: BuildContext, last: Build) -> BuildResult:
        """Rewrite the changed keys, reading the parents' deltas since the last build."""
        con, model = ctx.con, ctx.model
        # The landed source rebuilt (its deliveries numbered again from 1), or last_build cannot
        # say what the previous build saw: rebuild.
        if ctx.has_seq and (
            ctx.source_seq is None or last.source_seq is None or ctx.source_seq < last.source_seq
        ):
            return ctx.rebuild(f"{self.source} was rebuilt since, or nothing was landed then")
        reads = {t for _, select in self._selects() for t in read_parents(select, model.path)}
        if LAST_BUILD in reads and last.as_of_end is None and ctx.as_of_end is not None:
            return ctx.rebuild("the last build did not record its as_of")
        deltas: dict[str, str] = {}
        for table in reads:
            parent = table[: -len(DELTA)]
            if not table.endswith(DELTA) or parent not in model.parents:
                continue
            select = delta_select(ctx.builds.get(parent), last.parent_builds.get(parent), parent)
            if select is None:
                return ctx.rebuild(f"{parent} was rebuilt or built more than once since")
            deltas[parent] = select
        for parent, select in deltas.items():
            run(con, f"create or replace temp view {parent}{DELTA} as {select}")
        run(
            con,
            f"create or replace temp table {LAST_BUILD} as select "
            "cast(? as timestamp) as as_of_end, cast(? as bigint) as source_delivery_seq",
            [last.as_of_end, last.source_seq],
        )

        def new_rows(on: str) -> str:
            # The source's rows of the changed keys first, on their own: inside the model's query
            # DuckDB would join the whole source to the other parents before narrowing it. Only
            # the columns the model reads: on a day at 100k, int_email_recipients' 121,000 rows
            # of int_email_events took 0.37-0.47 s of CPU with all ten, 0.15-0.18 s with five.
            columns = _columns_read(con, model, self.source)
            where = f"({self.source_rows})" if self.source_rows else self.source
            run(
                con,
                f"create or replace temp table _source_rows as "
                f"select {columns} from {where} as t semi join _changed_keys as c on {on}",
            )
            return with_source(model.sql, self.source, "select * from temp._source_rows")

        result = rewrite_keys(ctx, self.unique_key, self.changed_keys, new_rows, self.old_rows)
        run(con, "drop table temp._source_rows")
        run(con, f"drop table temp.{LAST_BUILD}")
        for parent in deltas:
            run(con, f"drop view temp.{parent}{DELTA}")
        return result


@dataclass(frozen=True)
class Diff(IncrementalKind):
    """Computed whole; rewrites the keys whose rows differ from the table as built."""

    unique_key: tuple[str, ...]
    strategy: ClassVar[str] = "diff"

    def signature(self) -> str:
        """The whole block: an edited key rebuilds the model."""
        return json.dumps([self.strategy, self.unique_key, None, None], sort_keys=True)

    def update(self, ctx: BuildContext, last: Build) -> BuildResult:
        """Compute the model whole and rewrite the keys whose rows differ (``except`` both
        ways), so its children learn which keys changed."""
        table = ctx.model.qualified_name
        run(ctx.con, f"create or replace temp table _model_rows as\n{ctx.model.sql}")
        changed = (
            f"(select * from _model_rows except select * from {table}) union all "
            f"(select * from {table} except select * from _model_rows)"
        )
        result = rewrite_keys(
            ctx,
            self.unique_key,
            changed,
            lambda on: f"select t.* from _model_rows as t semi join _changed_keys as c on {on}",
        )
        run(ctx.con, "drop table temp._model_rows")
        return result


def _columns_read(con: duckdb.DuckDBPyConnection, model: Model, source: str) -> str:
    """The select list of ``t`` (the source) holding what ``model`` reads of it: the columns
    of its plain selects of the source (``Model.read_columns``) that the source has (a name
    that is not one is an alias), else ``t.*``."""
    wanted = model.read_columns.get(source)
    if not wanted:
        return "t.*"
    have = [r[0] for r in rows(con, f"describe {source}")]
    kept = [c for c in have if c.lower() in wanted]
    return ", ".join(f't."{c}"' for c in kept) if kept else "t.*"


def rewrite_keys(
    ctx: BuildContext,
    keys: tuple[str, ...],
    changed: str,
    new_rows: Callable[[str], str],
    old_rows: str | None = None,
) -> BuildResult:
    """Rewrite the rows of the keys the select ``changed`` names and record them in
    ``meta.<model>__delta``. ``new_rows(on)`` returns the select of those keys' new rows
    (``on`` joins a table ``t`` to the keys ``c``), preparing what it needs first (the
    caller drops that after).
    ``old_rows``: a select of ``rowid, *`` of the model's rows that holds every row of those
    keys once (else the whole table is searched)."""
    con, model = ctx.con, ctx.model
    table = model.qualified_name
    run(
        con,
        f"create or replace temp table _changed_keys as "
        f"select distinct {', '.join(keys)} from ({changed}) as changed",
    )
    on = " and ".join(f"t.{k} is not distinct from c.{k}" for k in keys)
    delta = f'meta."{model.name}{DELTA}"'
    # The changed keys' rows as built, with their row ids: the delete then finds them by row
    # id instead of matching the keys again (one scan of the table, not two: deleting 47,600
    # keys' rows from the 6.2M e-mail events at 100k, 0.25 -> 0.03 s of CPU). The ids hold:
    # nothing writes to the table in between, inside the build's one transaction.
    # With old_rows, t.rowid is that select's column: the row ids of the model's table.
    # Without, one semi join reading every column. Finding the row ids first (key columns
    # only) and then their rows by row id reads the table twice: DuckDB's row id filter still
    # decompresses every column of the row groups the ids spread over, which is all of them
    # (int_email_recipients on a 1M day, 470,781 keys of 26M rows: 4.1-4.3 s of CPU in two
    # statements, 3.4-3.9 s in one; at 100k the model costs the same either way).
    if old_rows:
        found = f"select t.rowid as {_ROW_ID}, t.* exclude (rowid) from ({old_rows}) as t"
    else:
        found = f"select t.rowid as {_ROW_ID}, t.* from {table} as t"
    found += f" semi join _changed_keys as c on {on}"
    run(con, f"create or replace temp table _old_rows as {found}")
    run(
        con,
        f"create or replace table {delta} as select * exclude ({_ROW_ID}), "
        f"'delete' as {CHANGE} from temp._old_rows",
    )
    run(con, f"create or replace temp table _new_rows as {new_rows(on)}")
    run(con, f"delete from {table} where rowid in (select {_ROW_ID} from temp._old_rows)")
    run(con, f"insert into {table} by name select * from _new_rows")
    run(con, f"insert into {delta} by name select *, 'insert' as {CHANGE} from _new_rows")
    deleted, inserted = rows(
        con,
        f"select count(*) filter ({CHANGE} = 'delete'), count(*) filter ({CHANGE} = 'insert') "
        f"from {delta}",
    )[0]
    n_changed = scalar(con, "select count(*) from _changed_keys")
    for temp in ("_new_rows", "_changed_keys", "_old_rows"):
        run(con, f"drop table if exists temp.{temp}")
    mode = BuildMode.INCREMENTAL if n_changed else BuildMode.UNCHANGED
    return BuildResult(
        mode,
        f"rewrote {counted(n_changed, 'changed key')} ({counted(deleted, 'row')} out, "
        f"{inserted:,} in)",
    )


def _select(text: str) -> str:
    return text.strip().rstrip(";").strip()


INCREMENTAL_KINDS: dict[str, type[IncrementalKind]] = {
    k.strategy: k for k in (Append, DeleteInsert, Diff)
}


def read_kind(yml: Path, block: object) -> IncrementalKind:
    """The kind an ``incremental:`` block of a model's .yml declares; ModelError naming the
    file otherwise."""
    usage = (
        f"{yml}: write 'incremental:' as 'incremental: {{unique_key: <column>}}', or with "
        "'strategy: delete+insert' (unique_key, source, changed_keys) or 'strategy: diff' "
        "(unique_key)"
    )
    if not isinstance(block, dict):
        raise ModelError(usage)
    strategy = str(block.get("strategy", Append.strategy))
    key = block.get("unique_key")
    keys = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, list) else ()
    if strategy not in INCREMENTAL_KINDS or not keys:
        raise ModelError(usage)
    if not all(isinstance(k, str) and k for k in keys):
        raise ModelError(usage)
    if strategy == Append.strategy and len(keys) != 1:
        raise ModelError(f"{yml}: an append model has one unique_key column")
    keys = tuple(k.lower() for k in keys)
    source, changed = block.get("source"), block.get("changed_keys")
    where = {f: block.get(f) for f in ("source_rows", "old_rows")}
    if strategy == DeleteInsert.strategy:
        if not isinstance(source, str) or not isinstance(changed, str) or not changed.strip():
            raise ModelError(usage)
        for field, select in where.items():
            if select is not None and (not isinstance(select, str) or not select.strip()):
                raise ModelError(f"{yml}: {field} is a select, as changed_keys")
        source_rows, old_rows = (_select(s) if isinstance(s, str) else None for s in where.values())
        return DeleteInsert(keys, source.lower(), _select(changed), source_rows, old_rows)
    if source is not None or changed is not None or any(v is not None for v in where.values()):
        raise ModelError(
            f"{yml}: 'source', 'changed_keys', 'source_rows' and 'old_rows' belong to "
            "strategy delete+insert"
        )
    return Append(keys[0]) if strategy == Append.strategy else Diff(keys)
