"""The dbt-style model engine: every ``sql/<layer>/<name>.sql`` is one ``select`` and one table.

Parents are read from the table names in the SQL with sqlglot, so the dependency graph needs no
``ref()`` and each model runs unchanged in the DuckDB CLI (after ``set search_path``). Problems
(a cycle, an unknown table, a file that is not one ``select``) fail at load time naming the file.

A model is rebuilt whole (``create or replace table``) unless its ``.yml`` says
``incremental: {unique_key: <column>}``: a model over one landed table that keeps the first
delivered copy of each key (the immutable entities). Such a table only ever gains rows, so a run
appends what the deliveries since its last build add under new keys, and rebuilds whole only when
its SQL changed, the table is missing, or the landed table was rebuilt (``meta.model_builds``).
"""

from __future__ import annotations

import graphlib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp

from pipeline.catalog import PYTHON_TABLES
from pipeline.warehouse import frame, rows, run, scalar, table_exists

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "intermediate", "marts")
SEQ = "_delivery_seq"  # delivery order of a landed row (pipeline.entities.LINEAGE_COLUMNS)
BUILDS_DDL = """
create table if not exists meta.model_builds (
    model varchar primary key,
    sql_sha256 varchar not null,
    source_delivery_seq bigint,
    built_at timestamp not null
)"""


class ModelError(ValueError):
    """A model file the engine cannot use; the message names the file and the reason."""


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
    unique_key: str | None = None  # set for an incremental model (first copy per key)

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def sql_sha256(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


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


def _read_yml(path: Path) -> tuple[str, dict[str, str], str | None]:
    """A model's description, column descriptions and incremental unique key from its .yml."""
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
    key = None
    if incremental is not None:
        key = incremental.get("unique_key") if isinstance(incremental, dict) else None
        if not isinstance(key, str) or not key:
            raise ModelError(
                f"{yml}: write 'incremental:' as 'incremental: {{unique_key: <column>}}'"
            )
    return (
        str(doc.get("description") or "").strip(),
        {str(k): str(v).strip() for k, v in columns.items()},
        key,
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
            description, columns, unique_key = _read_yml(path)
            parents = read_parents(sql, path)
            if unique_key and len(parents) != 1:
                raise ModelError(
                    f"{path}: an incremental model reads exactly one landed table, "
                    f"not {', '.join(parents) or 'none'}"
                )
            models[name] = Model(
                name=name,
                layer=layer,
                path=path,
                sql=sql,
                parents=parents,
                description=description,
                columns=columns,
                unique_key=unique_key,
            )
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


def materialize(
    con: duckdb.DuckDBPyConnection, model: Model, full_refresh: bool = False
) -> tuple[int, str]:
    """Build one model (appending, for an incremental one that allows it) in one transaction.

    Returns the table's row count and how it was built, for the log.
    """
    run(con, f"create schema if not exists {model.layer}")
    run(con, "create schema if not exists meta")
    run(con, BUILDS_DDL)
    run(con, "begin transaction")
    try:
        source_seq = None
        how = "rebuilt"
        if model.unique_key:
            source_seq = scalar(con, f"select max({SEQ}) from {model.parents[0]}")
            since = None if full_refresh else _append_point(con, model, source_seq)
            if since is not None:
                added = _append(con, model, since)
                how = f"appended {added:,} rows (deliveries after #{since})"
        if how == "rebuilt":
            run(con, f"create or replace table {model.qualified_name} as\n{model.sql}")
        count = scalar(con, f"select count(*) from {model.qualified_name}")
        run(
            con,
            "insert or replace into meta.model_builds values (?, ?, ?, current_timestamp)",
            [model.name, model.sql_sha256, source_seq],
        )
        run(con, "commit")
    except Exception as err:
        run(con, "rollback")
        raise ModelError(f"{model.path}: {err}") from err
    return int(count), how


def _append_point(con: duckdb.DuckDBPyConnection, model: Model, source_seq: int | None):
    """The delivery after which an incremental model may append, or None to rebuild it."""
    exists = table_exists(con, model.layer, model.name)
    found = rows(
        con,
        "select sql_sha256, source_delivery_seq from meta.model_builds where model = ?",
        [model.name],
    )
    if not exists or not found or found[0][0] != model.sql_sha256:
        return None
    since = found[0][1]
    if since is None or source_seq is None or source_seq < since:
        return None  # nothing was landed then, or the landed table was rebuilt since
    return int(since)


def _append(con: duckdb.DuckDBPyConnection, model: Model, since: int) -> int:
    """Append the new keys of deliveries after ``since``: their first copy, as a rebuild would."""
    source = model.parents[0]
    tree = sqlglot.parse_one(model.sql, read="duckdb")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in list(tree.find_all(exp.Table)):
        if table.name.lower() == source and source not in cte_names:
            alias = table.alias or source
            table.replace(
                sqlglot.parse_one(
                    f"(select * from {source} where {SEQ} > {int(since)}) as {alias}",
                    read="duckdb",
                )
            )
    key = model.unique_key
    # An insert's result is the number of rows it inserted.
    return int(
        scalar(
            con,
            f"insert into {model.qualified_name} by name "
            f"select * from ({tree.sql(dialect='duckdb')}) as new_rows where not exists ("
            f"select 1 from {model.qualified_name} as built where built.{key} = new_rows.{key})",
        )
    )


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
