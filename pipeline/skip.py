"""Skip the builds a run cannot change: a table whose code and inputs are as they were at its
last build is left as it is.

Every build records, in ``meta.build_inputs``, the version of its code and a fingerprint of
each table it read. Before the next build the inputs are fingerprinted again; when the code and
every fingerprint are the same, the build would compute the same rows from the same rows, so it
is skipped and the reason is said (the step's log and metadata, and the run summary). A
delivery of 100 orders then rebuilds what orders reach and nothing else: not the social or
e-mail models, not a mart whose inputs the orders did not change.

A fingerprint is (docs/performance.md, "Fixed cost of a run"):

- for a table the SQL engine builds (``meta.model_builds``): its build number; a table rebuilt
  since is also compared by content when it is small enough to hash (``HASH_ROWS``), so that a
  rebuild that produced the same rows (``int_customers`` after orders of known customers) does
  not force its readers to rebuild;
- for a landed raw table: its row count and latest ``_delivery_seq`` (raw tables are only
  appended to, each row with a larger sequence number than every row before it);
- anything else (``meta.pipeline_settings``): its columns and a hash of its rows.

Nothing is skipped that was never recorded: the first run after this module existed, a new
table, or a changed column list rebuilds as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb

from pipeline.catalog import PYTHON_TABLES
from pipeline.sql_engine import Model, materialize
from pipeline.sqltext import identifier
from pipeline.warehouse import rows, run, scalar, table_exists

TABLE = "meta.build_inputs"
HASH_ROWS = 2_000_000  # above this a rebuilt table counts as changed (hashing would cost more)
_SEQ = "_delivery_seq"
SKIPPED_TABLE = "meta.skipped_builds"
_DDL = (
    f"create table if not exists {TABLE} (target varchar primary key, version varchar, "
    "inputs varchar, recorded_at timestamp)"
)
_SKIPPED_DDL = (
    f"create table if not exists {SKIPPED_TABLE} (run_id varchar, target varchar, "
    "reason varchar, skipped_at timestamp)"
)


@dataclass(frozen=True)
class Skipped:
    """A build left out of a run, and why (for the log, the metadata and the summary)."""

    target: str
    reason: str


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    return [
        f"{name} {kind}"
        for name, kind in rows(
            con,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        )
    ]


def _build_number(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    if not table_exists(con, "meta", "model_builds"):
        return None
    found = scalar(con, "select build_id from meta.model_builds where model = ?", [table])
    return None if found is None else int(found)


def content_hash(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Row count and an order-independent sum of row hashes of ``schema.table``."""
    source = f"{identifier(schema)}.{identifier(table)}"
    # hash() of the row alias hashes every column; a sum (not xor) keeps duplicate rows apart.
    count, total = rows(con, f"select count(*), sum(hash(t)::hugeint) from {source} t")[0]
    return f"{count}:{total}"


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, object]:
    """What identifies the current rows of ``schema.table`` (see the module docstring)."""
    if not table_exists(con, schema, table):
        return {"missing": True}
    columns = _columns(con, schema, table)
    found: dict[str, object] = {"columns": columns}
    build = _build_number(con, table)
    if build is not None:
        found["build"] = build
        count = int(scalar(con, f"select count(*) from {identifier(schema)}.{identifier(table)}"))
        if count <= HASH_ROWS:
            found["content"] = content_hash(con, schema, table)
    elif schema == "raw" and any(c.startswith(f"{_SEQ} ") for c in columns):
        count, seq = rows(con, f"select count(*), max({_SEQ}) from raw.{identifier(table)}")[0]
        found["appended"] = f"{count}:{seq}"
    else:
        found["content"] = content_hash(con, schema, table)
    return found


def same_rows(before: dict[str, object], now: dict[str, object]) -> bool:
    """Whether two fingerprints of one table prove its rows are the same."""
    if before.get("missing") or now.get("missing") or before.get("columns") != now.get("columns"):
        return False
    for key in ("build", "appended", "content"):
        # One kind of evidence that both have and that agrees is enough; the build number is
        # tried first because it is exact and free.
        if key in before and key in now and before[key] == now[key]:
            return True
    return False


def inputs(
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[tuple[str, str]],
    cache: dict[str, dict[str, object]] | None = None,
) -> dict[str, dict[str, object]]:
    """Fingerprints of the ``(schema, table)`` pairs a build reads, keyed ``schema.table``;
    ``cache`` keeps them across the builds of one step (several models read one table)."""
    cache = {} if cache is None else cache
    for s, t in tables:
        if f"{s}.{t}" not in cache:
            cache[f"{s}.{t}"] = fingerprint(con, s, t)
    return {f"{s}.{t}": cache[f"{s}.{t}"] for s, t in tables}


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    run(con, "create schema if not exists meta")
    run(con, _DDL)
    run(con, _SKIPPED_DDL)


def why_unchanged(
    con: duckdb.DuckDBPyConnection,
    target: str,
    version: str,
    now: dict[str, dict[str, object]],
    outputs: Iterable[tuple[str, str]],
) -> str | None:
    """The reason the build of ``target`` can be skipped, or None if it must run.

    ``now`` are its inputs' fingerprints (:func:`inputs`), ``outputs`` the tables it writes
    (all must exist). A target built since its record by anything that does not record (a
    test's ``build_models``, the Spark engine) has another build number and is not skipped.
    """
    _prepare(con)
    if not all(table_exists(con, s, t) for s, t in outputs):
        return None
    found = rows(con, f"select version, inputs from {TABLE} where target = ?", [target])
    if not found or found[0][0] != version:
        return None
    recorded = json.loads(found[0][1])
    before = recorded.get("inputs", {})
    if recorded.get("build") != _build_number(con, target) or set(before) != set(now):
        return None
    if not all(same_rows(before[name], now[name]) for name in now):
        return None
    names = ", ".join(sorted(now)) or "none"
    return f"same code, inputs unchanged since its last build ({names})"


def record(
    con: duckdb.DuckDBPyConnection, target: str, version: str, seen: dict[str, dict[str, object]]
) -> None:
    """Remember that ``target`` was just built by ``version`` from inputs fingerprinted ``seen``
    (taken before the build), with its build number now."""
    _prepare(con)
    value = {"inputs": seen, "build": _build_number(con, target)}
    run(
        con,
        f"insert or replace into {TABLE} values (?, ?, ?, current_timestamp)",
        [target, version, json.dumps(value, sort_keys=True)],
    )


def forget(con: duckdb.DuckDBPyConnection, target: str) -> None:
    """Drop ``target``'s record: its next build runs whatever its inputs."""
    _prepare(con)
    run(con, f"delete from {TABLE} where target = ?", [target])


def note_skipped(
    con: duckdb.DuckDBPyConnection, run_id: str | None, target: str, reason: str
) -> None:
    """Remember that run ``run_id`` skipped ``target`` and why (the run summary lists them)."""
    _prepare(con)
    run(
        con,
        f"insert into {SKIPPED_TABLE} values (?, ?, ?, current_timestamp)",
        [run_id or "", target, reason],
    )


def skipped_in(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Skipped]:
    """The builds run ``run_id`` skipped, in the order it skipped them."""
    if not table_exists(con, "meta", "skipped_builds"):
        return []
    found = rows(
        con,
        f"select target, reason from {SKIPPED_TABLE} where run_id = ? order by skipped_at, rowid",
        [run_id],
    )
    return [Skipped(t, r) for t, r in found]


def build_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    layers: dict[str, str],
    run_id: str | None = None,
    cache: dict[str, dict[str, object]] | None = None,
) -> tuple[int | None, str]:
    """Build ``model`` (``pipeline.sql_engine.materialize``) unless its code and inputs are as
    at its last build; returns its row count and how it was built, or (None, the reason) when
    skipped. ``layers`` maps every model's name to its schema; ``cache`` as in :func:`inputs`."""
    tables = [(layers.get(p) or PYTHON_TABLES[p][0], p) for p in model.parents]
    cache = {} if cache is None else cache
    seen = inputs(con, tables, cache)
    why = why_unchanged(con, model.name, model.sql_sha256, seen, [(model.layer, model.name)])
    if why:
        note_skipped(con, run_id, model.name, why)
        return None, why
    count, how = materialize(con, model)
    cache.pop(model.qualified_name, None)  # rebuilt: its readers fingerprint it afresh
    record(con, model.name, model.sql_sha256, seen)
    return count, how
