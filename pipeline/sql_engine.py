"""The dbt-style model engine: every ``sql/<layer>/<name>.sql`` is one ``select`` and one table.

Parents are read from the table names in the SQL with sqlglot, so the dependency graph needs no
``ref()`` and each model runs unchanged in the DuckDB CLI (after ``set search_path``). Problems
(a cycle, an unknown table, a file that is not one ``select``) fail at load time naming the file.
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import sqlglot
import yaml
from sqlglot import exp

from pipeline.catalog import PYTHON_TABLES
from pipeline.warehouse import frame, run, scalar

SQL_DIR = Path(__file__).resolve().parent.parent / "sql"
LAYERS = ("staging", "intermediate", "marts")


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

    @property
    def qualified_name(self) -> str:
        return f"{self.layer}.{self.name}"


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


def _read_descriptions(path: Path) -> tuple[str, dict[str, str]]:
    yml = path.with_suffix(".yml")
    if not yml.exists():
        return "", {}
    try:
        doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ModelError(f"{yml}: not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{yml}: expected 'description:' and 'columns:' keys")
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise ModelError(f"{yml}: 'columns' must map each column name to a one-line description")
    return str(doc.get("description") or "").strip(), {
        str(k): str(v).strip() for k, v in columns.items()
    }


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
            description, columns = _read_descriptions(path)
            models[name] = Model(
                name=name,
                layer=layer,
                path=path,
                sql=sql,
                parents=read_parents(sql, path),
                description=description,
                columns=columns,
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
    """(Re)build one model's table in one transaction and return its row count."""
    run(con, f"create schema if not exists {model.layer}")
    run(con, "begin transaction")
    try:
        run(con, f"create or replace table {model.qualified_name} as\n{model.sql}")
        count = scalar(con, f"select count(*) from {model.qualified_name}")
        run(con, "commit")
    except Exception as err:
        run(con, "rollback")
        raise ModelError(f"{model.path}: {err}") from err
    return int(count)


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
