"""The dbt-style model engine: every ``sql/<layer>/<name>.sql`` is one ``select`` and one table.

Parents are read from the table names in the SQL with sqlglot, so the dependency graph needs no
``ref()`` and each model runs unchanged in the DuckDB CLI (after ``set search_path``). Problems
(a cycle, an unknown table, a file that is not one ``select``) fail at load time naming the file.

A model is rebuilt whole (``create or replace table``) unless its ``.yml`` has an
``incremental:`` block (docs/architecture.md, "Incremental models"):

- ``{unique_key: <column>}`` (strategy ``append``): a model over one landed table that keeps the
  first delivered copy of each key (the immutable entities). It only ever gains rows, so a run
  appends what the deliveries since its last build add under new keys.
- ``{strategy: delete+insert, unique_key: [...], source: <parent>, changed_keys: <select>}``: a
  model whose rows for a key depend only on the ``source`` rows with that key (and on other
  parents read whole). ``changed_keys`` is a ``select`` of the keys whose rows may differ from
  the table as built; it may read the parents, the model's own table, ``last_build`` (one row:
  the ``as_of_end`` of the previous build) and ``<parent>__delta``: the rows an incremental
  parent changed since this model last read it. A run deletes those keys' rows and inserts them
  again from the model's SQL with ``source`` narrowed to those keys.
- ``{strategy: diff, unique_key: [...]}``: a small model computed whole whose changed keys are
  found by comparing the result with the table as built; only those keys are rewritten.

Every incremental build writes ``meta.<model>__delta``: the rows it deleted (``_change =
'delete'``) and inserted (``'insert'``), which its children read as ``<model>__delta``. A model
is rebuilt whole when its SQL or ``incremental:`` block changed, its table is missing, the
landed table was rebuilt, or a parent it reads a delta of was rebuilt or built more than once
since (``meta.model_builds`` counts builds); a rebuilt model writes no delta, so its children
rebuild too.
"""

from __future__ import annotations

import graphlib
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp

from pipeline.catalog import PYTHON_TABLES
from pipeline.warehouse import add_missing_columns, frame, rows, run, scalar, table_exists

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "intermediate", "marts")
SEQ = "_delivery_seq"  # delivery order of a landed row (pipeline.entities.LINEAGE_COLUMNS)
# Added after the first release (BUILDS_DDL creates them; older warehouses get them added).
BUILDS_COLUMNS = {
    "build_id": "bigint",  # how many times the model was built
    "as_of_end": "timestamp",  # meta.pipeline_settings.as_of_end at the build
    "has_delta": "boolean",  # the build wrote meta.<model>__delta
    "parent_builds": "varchar",  # JSON: build_id of each built parent when it was read
    "rebuilt_build_id": "bigint",  # the build_id of the last whole rebuild
}
BUILDS_DDL = f"""
create table if not exists meta.model_builds (
    model varchar primary key,
    sql_sha256 varchar not null,
    source_delivery_seq bigint,
    built_at timestamp not null,
    {", ".join(f"{c} {t}" for c, t in BUILDS_COLUMNS.items())}
)"""
STRATEGIES = ("append", "delete+insert", "diff")
LAST_BUILD = "last_build"
DELTA = "__delta"
CHANGE = "_change"


class ModelError(ValueError):
    """A model file the engine cannot use; the message names the file and the reason."""


@dataclass(frozen=True)
class Incremental:
    """How a model is kept up to date instead of rebuilt whole (see the module docstring)."""

    strategy: str
    unique_key: tuple[str, ...]
    source: str | None = None  # delete+insert: the parent narrowed to the changed keys
    changed_keys: str | None = None  # delete+insert: a select of the keys to rewrite


@dataclass(frozen=True)
class Model:
    """One SQL model: its table, layer (= schema), SQL text, parents and descriptions."""

    name: str
    layer: str
    path: Path
    sql: str
    parents: tuple[str, ...]
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    incremental: Incremental | None = None

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def unique_key(self) -> str | None:
        """The key of an ``append`` model (first copy per key), else None."""
        inc = self.incremental
        return inc.unique_key[0] if inc and inc.strategy == "append" else None

    @property
    def sql_sha256(self) -> str:
        text = self.sql
        inc = self.incremental
        if inc and inc.strategy != "append":  # an edited incremental: block rebuilds the model
            text += "\n" + json.dumps(
                [inc.strategy, inc.unique_key, inc.source, inc.changed_keys], sort_keys=True
            )
        return hashlib.sha256(text.encode()).hexdigest()


def read_parents(sql: str, path: Path) -> tuple[str, ...]:
    """Table names a single ``select`` reads, CTE names excluded; raises ModelError otherwise."""
    try:
        statements = [s for s in sqlglot.parse(sql, read="duckdb") if s is not None]
    except sqlglot.errors.ParseError as err:
        raise ModelError(f"{path}: not valid SQL: {err}") from None
    if len(statements) != 1:
        raise ModelError(
            f"{path}: a model must be exactly one select, found {len(statements)} statements"
        )
    (statement,) = statements
    if not isinstance(statement, exp.Query):
        kind = statement.key.upper()
        raise ModelError(f"{path}: a model must be one select, not a {kind} statement")
    cte_names = {cte.alias_or_name.lower() for cte in statement.find_all(exp.CTE)}
    parents: set[str] = set()
    for table in statement.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue  # a table function such as range(...) or unnest(...)
        name = table.name.lower()
        if name and name not in cte_names:
            parents.add(name)
    return tuple(sorted(parents))


def _read_incremental(yml: Path, block: object) -> Incremental:
    """The ``incremental:`` block of a model's .yml; ModelError naming the file otherwise."""
    usage = (
        f"{yml}: write 'incremental:' as 'incremental: {{unique_key: <column>}}', or with "
        "'strategy: delete+insert' (unique_key, source, changed_keys) or 'strategy: diff' "
        "(unique_key)"
    )
    if not isinstance(block, dict):
        raise ModelError(usage)
    strategy = block.get("strategy", "append")
    key = block.get("unique_key")
    keys = (key,) if isinstance(key, str) else tuple(key) if isinstance(key, list) else ()
    if strategy not in STRATEGIES or not keys or not all(isinstance(k, str) and k for k in keys):
        raise ModelError(usage)
    if strategy == "append" and len(keys) != 1:
        raise ModelError(f"{yml}: an append model has one unique_key column")
    source, changed = block.get("source"), block.get("changed_keys")
    if strategy == "delete+insert":
        if not isinstance(source, str) or not isinstance(changed, str) or not changed.strip():
            raise ModelError(usage)
        changed = changed.strip().rstrip(";").strip()
    elif source is not None or changed is not None:
        raise ModelError(f"{yml}: 'source' and 'changed_keys' belong to strategy delete+insert")
    return Incremental(
        strategy=strategy,
        unique_key=tuple(k.lower() for k in keys),
        source=source.lower() if isinstance(source, str) else None,
        changed_keys=changed if strategy == "delete+insert" else None,
    )


def _read_yml(path: Path) -> tuple[str, dict[str, str], Incremental | None]:
    """A model's description, column descriptions and ``incremental:`` block from its .yml."""
    yml = path.with_suffix(".yml")
    if not yml.exists():
        return "", {}, None
    try:
        doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ModelError(f"{yml}: not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{yml}: expected 'description:' and 'columns:' keys")
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise ModelError(f"{yml}: 'columns' must map each column name to a one-line description")
    incremental = doc.get("incremental")
    return (
        str(doc.get("description") or "").strip(),
        {str(k): str(v).strip() for k, v in columns.items()},
        None if incremental is None else _read_incremental(yml, incremental),
    )


def _check_incremental(model: Model) -> None:
    """What an incremental model may read; ModelError naming the file otherwise."""
    inc = model.incremental
    if inc is None:
        return
    if inc.strategy == "append" and len(model.parents) != 1:
        raise ModelError(
            f"{model.path}: an incremental model reads exactly one landed table, "
            f"not {', '.join(model.parents) or 'none'}"
        )
    if inc.strategy != "delete+insert":
        return
    yml = model.path.with_suffix(".yml")
    if inc.source not in model.parents:
        raise ModelError(f"{yml}: source {inc.source!r} is not a table the model reads")
    allowed = {*model.parents, model.name, LAST_BUILD, *(p + DELTA for p in model.parents)}
    unknown = sorted(set(read_parents(inc.changed_keys or "", yml)) - allowed)
    if unknown:
        raise ModelError(
            f"{yml}: changed_keys reads {', '.join(unknown)}; it may read the model's parents, "
            f"the model itself, {LAST_BUILD} and <parent>{DELTA}"
        )


def discover_models(
    sql_dir: Path = SQL_DIR, known_tables: Iterable[str] | None = None
) -> list[Model]:
    """All models under ``sql_dir`` in dependency order; raises ModelError on any problem."""
    known = set(PYTHON_TABLES if known_tables is None else known_tables)
    models: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            name = path.stem.lower()
            if name in models or name in known:
                raise ModelError(f"{path}: table name {name!r} is already used by another model")
            sql = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
            description, columns, incremental = _read_yml(path)
            model = Model(
                name=name,
                layer=layer,
                path=path,
                sql=sql,
                parents=read_parents(sql, path),
                description=description,
                columns=columns,
                incremental=incremental,
            )
            _check_incremental(model)
            models[name] = model
    stray = [p for p in sql_dir.rglob("*.sql") if p.parent.name not in LAYERS]
    if stray:
        raise ModelError(f"{stray[0]}: models live in sql/{{{','.join(LAYERS)}}}/")
    for model in models.values():
        for parent in model.parents:
            if parent not in models and parent not in known:
                raise ModelError(
                    f"{model.path}: reads unknown table {parent!r} "
                    "(not a model in sql/ nor a landed or Python-built table)"
                )
    sorter = graphlib.TopologicalSorter(
        {m.name: [p for p in m.parents if p in models] for m in models.values()}
    )
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as err:
        cycle = " -> ".join(err.args[1])
        first = models[err.args[1][0]].path
        raise ModelError(f"{first}: dependency cycle {cycle}") from None
    return [models[name] for name in order]


def materialize_model(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    """Build one model's table in one transaction and return its row count."""
    return materialize(con, model)[0]


@dataclass(frozen=True)
class _Build:
    """A model's row in ``meta.model_builds``."""

    sql_sha256: str
    source_seq: int | None
    build_id: int
    as_of_end: object
    has_delta: bool
    parent_builds: dict[str, int]
    rebuilt_build_id: int | None  # None: not known (built before it was recorded)


def _builds(con: duckdb.DuckDBPyConnection, names: Iterable[str]) -> dict[str, _Build]:
    """The last build of each named model that has one."""
    names = list(names)
    if not names:
        return {}
    found = rows(
        con,
        "select model, sql_sha256, source_delivery_seq, coalesce(build_id, 1), as_of_end, "
        "coalesce(has_delta, false), coalesce(parent_builds, '{}'), rebuilt_build_id "
        "from meta.model_builds "
        "where model in (select unnest(?))",
        [names],
    )
    return {
        r[0]: _Build(r[1], r[2], int(r[3]), r[4], bool(r[5]), json.loads(r[6]), r[7]) for r in found
    }


def _prepare_builds_table(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "create schema if not exists meta")
    run(con, BUILDS_DDL)
    add_missing_columns(con, "meta", "model_builds", BUILDS_COLUMNS)


def _write_build(
    con: duckdb.DuckDBPyConnection,
    name: str,
    version: str,
    source_seq: int | None,
    last: _Build | None,
    as_of_end: object,
    has_delta: bool,
    builds: dict[str, _Build],
) -> None:
    parent_builds = {p: b.build_id for p, b in builds.items() if p != name}
    build_id = (last.build_id if last else 0) + 1
    rebuilt = last.rebuilt_build_id if has_delta and last else build_id
    run(
        con,
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


def materialize(
    con: duckdb.DuckDBPyConnection, model: Model, full_refresh: bool = False
) -> tuple[int, str]:
    """Build one model (incrementally, where its ``incremental:`` block allows) in one
    transaction.

    Returns the table's row count and how it was built, for the log.
    """
    run(con, f"create schema if not exists {model.layer}")
    _prepare_builds_table(con)
    run(con, "begin transaction")
    try:
        builds = _builds(con, [model.name, *model.parents])
        last = builds.get(model.name)
        as_of_end = (
            scalar(con, "select max(as_of_end) from meta.pipeline_settings")
            if table_exists(con, "meta", "pipeline_settings")
            else None
        )
        has_seq, source_seq = _source_seq(con, model)
        how = None
        if (
            model.incremental
            and not full_refresh
            and last is not None
            and last.sql_sha256 == model.sql_sha256
            and table_exists(con, model.layer, model.name)
        ):
            how = _update(con, model, last, builds, has_seq, source_seq, as_of_end)
        if how is None:
            run(con, f"create or replace table {model.qualified_name} as\n{model.sql}")
            run(con, f'drop table if exists meta."{model.name}{DELTA}"')
        count = scalar(con, f"select count(*) from {model.qualified_name}")
        _write_build(
            con, model.name, model.sql_sha256, source_seq, last, as_of_end, how is not None, builds
        )
        run(con, "commit")
    except Exception as err:
        run(con, "rollback")
        raise ModelError(f"{model.path}: {err}") from err
    return int(count), how or "rebuilt"


def _source_seq(con: duckdb.DuckDBPyConnection, model: Model) -> tuple[bool, int | None]:
    """Whether the model's incremental source has ``_delivery_seq``, and its latest value."""
    inc = model.incremental
    source = (model.parents[0] if inc.strategy == "append" else inc.source) if inc else None
    if not source or not _has_column(con, source, SEQ):
        return False, None
    return True, scalar(con, f"select max({SEQ}) from {source}")


def _update(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    last: _Build,
    builds: dict[str, _Build],
    has_seq: bool,
    source_seq: int | None,
    as_of_end: object,
) -> str | None:
    """Bring an incremental model's table up to date and say how; None when it must be
    rebuilt instead (it then writes no delta)."""
    inc = model.incremental
    if inc.strategy == "append":
        since = last.source_seq
        if since is None or source_seq is None or source_seq < since:
            return None  # nothing was landed then, or the landed table was rebuilt since
        added = _append(con, model, int(since))
        return f"appended {added:,} rows (deliveries after #{since})"
    if inc.strategy == "diff":
        run(con, f"create or replace temp table _model_rows as\n{model.sql}")
        how = _replace_changed(con, model, _DIFF_KEYS)
        run(con, "drop table temp._model_rows")
        return how
    # delete+insert: rebuild when the landed source was rebuilt (its deliveries numbered again
    # from 1) or last_build cannot say what the previous build saw.
    if has_seq and (source_seq is None or last.source_seq is None or source_seq < last.source_seq):
        return None
    reads_last = LAST_BUILD in read_parents(inc.changed_keys or "", model.path)
    if reads_last and last.as_of_end is None and as_of_end is not None:
        return None
    views = _delta_views(con, model, last, builds)
    if views is None:
        return None
    run(
        con,
        f"create or replace temp table {LAST_BUILD} as select "
        "cast(? as timestamp) as as_of_end, cast(? as bigint) as source_delivery_seq",
        [last.as_of_end, last.source_seq],
    )
    how = _replace_changed(con, model, inc.changed_keys or "")
    run(con, f"drop table temp.{LAST_BUILD}")
    for view in views:
        run(con, f"drop view temp.{view}")
    return how


def _has_column(con: duckdb.DuckDBPyConnection, table: str, column: str) -> bool:
    found = scalar(
        con,
        "select count(*) from information_schema.columns where table_name = ? and column_name = ?",
        [table, column],
    )
    return bool(found)


def _delta_views(
    con: duckdb.DuckDBPyConnection, model: Model, last: _Build, builds: dict[str, _Build]
) -> list[str] | None:
    """Temp views ``<parent>__delta`` of what each parent that ``changed_keys`` reads a delta of
    changed since this model's last build; None when one cannot say (then: rebuild)."""
    inc = model.incremental
    wanted = [
        t[: -len(DELTA)]
        for t in read_parents(inc.changed_keys or "", model.path)
        if t.endswith(DELTA) and t[: -len(DELTA)] in model.parents
    ]
    views = []
    for parent in wanted:
        body = _delta_sql(builds.get(parent), last.parent_builds.get(parent), parent)
        if body is None:
            for view in views:
                run(con, f"drop view temp.{view}")
            return None
        run(con, f"create or replace temp view {parent}{DELTA} as {body}")
        views.append(parent + DELTA)
    return views


def _delta_sql(build: _Build | None, seen: int | None, parent: str) -> str | None:
    """A select of the rows ``parent`` changed after its build number ``seen``; None when that
    cannot be told (never read, built more than once since, or rebuilt whole)."""
    if build is None or seen is None:
        return None
    if build.build_id == seen:  # not built since: nothing changed
        return f"select *, cast(null as varchar) as {CHANGE} from {parent} limit 0"
    if build.build_id == seen + 1 and build.has_delta:
        return f'select * from meta."{parent}{DELTA}"'
    return None


def parent_delta(
    con: duckdb.DuckDBPyConnection, reader: str, version: str, parent: str
) -> str | None:
    """For a table built in Python: a select of what ``parent`` changed since ``reader`` was last
    recorded (``record_build``) at this ``version`` of its code; None means rebuild it whole."""
    _prepare_builds_table(con)
    builds = _builds(con, [reader, parent])
    last = builds.get(reader)
    if last is None or last.sql_sha256 != version:
        return None
    return _delta_sql(builds.get(parent), last.parent_builds.get(parent), parent)


def build_id(con: duckdb.DuckDBPyConnection, name: str) -> int | None:
    """How many times the model ``name`` was built (None: no record)."""
    _prepare_builds_table(con)
    build = _builds(con, [name]).get(name)
    return build.build_id if build else None


def not_rebuilt_since(con: duckdb.DuckDBPyConnection, name: str, since_build: int) -> bool:
    """Whether the model ``name`` was only added to (never rebuilt whole) after build
    ``since_build``, so its rows of then are still as they were."""
    _prepare_builds_table(con)
    build = _builds(con, [name]).get(name)
    return bool(
        build and build.rebuilt_build_id is not None and build.rebuilt_build_id <= since_build
    )


def record_build(
    con: duckdb.DuckDBPyConnection, name: str, version: str, parents: Iterable[str]
) -> None:
    """Record a build of the Python-built table ``name`` (code ``version``) and the builds of the
    ``parents`` it read, as ``materialize`` does for a model; it writes no delta."""
    _prepare_builds_table(con)
    builds = _builds(con, [name, *parents])
    last = builds.get(name)
    _write_build(con, name, version, None, last, None, False, builds)


_DIFF_KEYS = "diff"  # _replace_changed: the keys are found by comparing _model_rows with the table


def _replace_changed(con: duckdb.DuckDBPyConnection, model: Model, changed_keys: str) -> str:
    """Rewrite the rows of the changed keys and record them in ``meta.<model>__delta``.

    ``changed_keys`` is a select of keys, or ``_DIFF_KEYS`` when ``temp._model_rows`` holds the
    model's whole new result to compare with the table.
    """
    inc = model.incremental
    keys = ", ".join(inc.unique_key)
    table = model.qualified_name
    if changed_keys == _DIFF_KEYS:
        changed_keys = (
            f"(select * from _model_rows except select * from {table}) union all "
            f"(select * from {table} except select * from _model_rows)"
        )
    run(
        con,
        f"create or replace temp table _changed_keys as "
        f"select distinct {keys} from ({changed_keys}) as changed",
    )
    on = " and ".join(f"t.{k} is not distinct from c.{k}" for k in inc.unique_key)
    delta = f'meta."{model.name}{DELTA}"'
    run(
        con,
        f"create or replace table {delta} as select t.*, 'delete' as {CHANGE} "
        f"from {table} as t semi join _changed_keys as c on {on}",
    )
    if inc.strategy == "diff":
        new_rows = "select t.* from _model_rows as t semi join _changed_keys as c on " + on
    else:
        # The source's rows of the changed keys first, on their own: inside the model's query
        # DuckDB would join the whole source to the other parents before narrowing it.
        source = inc.source or ""
        run(
            con,
            f"create or replace temp table _source_rows as "
            f"select t.* from {source} as t semi join _changed_keys as c on {on}",
        )
        new_rows = _with_source(model, source, "select * from temp._source_rows")
    run(con, f"create or replace temp table _new_rows as {new_rows}")
    run(con, f"delete from {table} as t using _changed_keys as c where {on}")
    run(con, f"insert into {table} by name select * from _new_rows")
    run(con, f"insert into {delta} by name select *, 'insert' as {CHANGE} from _new_rows")
    deleted, inserted = rows(
        con,
        f"select count(*) filter ({CHANGE} = 'delete'), count(*) filter ({CHANGE} = 'insert') "
        f"from {delta}",
    )[0]
    changed = scalar(con, "select count(*) from _changed_keys")
    for temp in ("_new_rows", "_source_rows", "_changed_keys"):
        run(con, f"drop table if exists temp.{temp}")
    return f"rewrote {changed:,} changed keys ({deleted:,} rows out, {inserted:,} in)"


def _with_source(model: Model, source: str, select: str) -> str:
    """The model's SQL with every read of the table ``source`` replaced by ``(select)``."""
    tree = sqlglot.parse_one(model.sql, read="duckdb")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.name.lower() == source and source not in cte_names:
            alias = table.alias or source
            table.replace(sqlglot.parse_one(f"({select}) as {alias}", read="duckdb"))
    return tree.sql(dialect="duckdb")


def _append(con: duckdb.DuckDBPyConnection, model: Model, since: int) -> int:
    """Append the new keys of deliveries after ``since``: their first copy, as a rebuild would.

    The appended rows are also the model's delta (``meta.<model>__delta``).
    """
    source = model.parents[0]
    new_sql = _with_source(model, source, f"select * from {source} where {SEQ} > {int(since)}")
    key = model.unique_key
    delta = f'meta."{model.name}{DELTA}"'
    run(
        con,
        f"create or replace table {delta} as select *, 'insert' as {CHANGE} "
        f"from ({new_sql}) as new_rows where not exists ("
        f"select 1 from {model.qualified_name} as built where built.{key} = new_rows.{key})",
    )
    run(con, f"insert into {model.qualified_name} by name select * exclude ({CHANGE}) from {delta}")
    return int(scalar(con, f"select count(*) from {delta}"))


def build_models(
    con: duckdb.DuckDBPyConnection, sql_dir: Path = SQL_DIR, only: set[str] | None = None
) -> dict[str, int]:
    """Build every model (or those in ``only``) in dependency order; returns row counts."""
    counts: dict[str, int] = {}
    for model in discover_models(sql_dir):
        if only is None or model.name in only:
            counts[model.name] = materialize_model(con, model)
    return counts


def preview_markdown(con: duckdb.DuckDBPyConnection, table: str, limit: int = 10) -> str:
    """The first rows of a table as a markdown table, for asset metadata."""
    df = frame(con, f"select * from {table} limit {int(limit)}")
    header = "| " + " | ".join(df.columns) + " |"
    rule = "|" + "---|" * len(df.columns)
    body = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in df.rows()]
    return "\n".join([header, rule, *body])
