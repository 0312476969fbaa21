"""Skip the builds a run cannot change: a table whose code and inputs are as they were at its
last build is left as it is.

Every build records, in ``meta.build_inputs``, the version of its code and a fingerprint of
each table it read. Before the next build the inputs are fingerprinted again; when the code and
every fingerprint are the same, the build would compute the same rows from the same rows, so it
is skipped and the reason is said (the step's log and metadata, and the run summary). A
delivery of 100 orders then rebuilds what orders reach and nothing else: not the social or
e-mail models, not a mart whose inputs the orders did not change.

A fingerprint is (docs/architecture.md, "Builds a run cannot change are skipped"):

- for a table the SQL engine builds (``meta.model_builds``): its build number, and the hash of
  its rows taken once right after that build when it has at most ``HASH_ROWS`` rows, so that a
  rebuild that produced the same rows (``int_customers`` after orders of known customers) does
  not force its readers to rebuild (a table built in Python is hashed when read);
- for a landed raw table: its row count and latest ``_delivery_seq`` (raw tables are only
  appended to, each row with a larger sequence number than every row before it);
- anything else (``meta.pipeline_settings``): its columns and a hash of its rows;
- and, for one reader, when it reads a parent only through row-wise selects (``select
  <columns> from parent where <filter>``, ``pipeline/engine/reads.py``) and the parent has at
  most ``HASH_ROWS`` rows: a hash of each select's result (``reads``). A parent rebuilt with
  other rows then leaves the reader as it was when what it reads is the same: ``int_surveys``
  after a delivery of orders, which rewrites only the order links of ``int_record_links``.

Nothing is skipped that was never recorded: the first run after this module existed, a new
table, or a changed column list rebuilds as before.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipeline.engine import PYTHON_TABLES, BuildMode, BuildResult, Model, build
from pipeline.engine.build_log import BuildLog
from pipeline.engine.reads import reads_of
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


def _catalogue(
    con: duckdb.DuckDBPyConnection, table: tuple[str, str] | None = None
) -> dict[str, list[str]]:
    """``name TYPE`` of each column, keyed ``schema.table``: of every table, or of ``table``."""
    where = "where table_schema = ? and table_name = ? " if table else ""
    found: dict[str, list[str]] = {}
    for s, t, c, k in rows(
        con,
        "select table_schema, table_name, column_name, data_type from information_schema.columns "
        f"{where}order by table_schema, table_name, ordinal_position",
        list(table) if table else None,
    ):
        found.setdefault(f"{s}.{t}", []).append(f"{c} {k}")
    return found


def _columns_of(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> list[str]:
    """``name TYPE`` of each column of ``schema.table``, as :func:`_catalogue` gives them, from
    the bound query itself: no scan of the catalogue (0.3 ms against 2.6 ms a table at 100k).
    DuckDB names a type the same way in both (tested on every table of the warehouse)."""
    relation = con.sql(f"select * from {identifier(schema)}.{identifier(table)} limit 0")
    return [f"{c} {t}" for c, t in zip(relation.columns, relation.types, strict=True)]


def _build_number(con: duckdb.DuckDBPyConnection, table: str) -> int | None:
    if not table_exists(con, "meta", "model_builds"):
        return None
    found = rows(con, "select build_id from meta.model_builds where model = ?", [table])
    return int(found[0][0]) if found and found[0][0] is not None else None


class Fingerprints:
    """Fingerprints of tables on one connection, with the catalogue, the engine's build numbers
    and the recorded output hashes each read in one query and kept for the step; a build
    updates what it changed (:meth:`built`, :meth:`rerecorded`)."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self._columns: dict[str, list[str]] | None = None
        self._builds: dict[str, int] | None = None
        self._records: dict[str, tuple[str, dict[str, object]]] | None = None
        self._done: dict[str, dict[str, object]] = {}
        self._log: BuildLog | None = None

    def log(self) -> BuildLog:
        """The build log on this connection, made (and brought to its columns) once."""
        if self._log is None:
            self._log = BuildLog(self.con)
        return self._log

    def built(self, schema: str, table: str, version: str, value: dict[str, object]) -> None:
        """Take note that ``schema.table`` was just built and recorded (``value``, as
        :func:`record` wrote it): only what that changed is read again."""
        name = f"{schema}.{table}"
        self._done.pop(name, None)
        if self._columns is not None:
            self._columns[name] = _columns_of(self.con, schema, table)
        if self._builds is not None and isinstance(value.get("build"), int):
            self._builds[table] = int(value["build"])  # type: ignore[arg-type]
        self.rerecorded(table, version, value)

    def rerecorded(self, target: str, version: str, value: dict[str, object]) -> None:
        """Take note that ``target``'s record was rewritten (``value``) without a build."""
        if self._records is not None:
            self._records[target] = (version, value)

    def columns(self, schema: str, table: str) -> list[str] | None:
        """``name TYPE`` of each column of ``schema.table``; None if there is no such table."""
        if self._columns is None:
            self._columns = _catalogue(self.con)
            if not all(name in self._columns for name in (TABLE, SKIPPED_TABLE)):
                _MADE.discard(self.con)  # dropped since this connection made them: again
        return self._columns.get(f"{schema}.{table}")

    def build(self, table: str) -> int | None:
        """The SQL engine's build number of ``table`` (``meta.model_builds``), if it has one."""
        if self._builds is None:
            self._builds = {}
            if self.columns("meta", "model_builds") is not None:
                found = rows(self.con, "select model, build_id from meta.model_builds")
                self._builds = {m: int(b) for m, b in found if b is not None}
        return self._builds.get(table)

    def recorded(self, target: str) -> tuple[str, dict[str, object]] | None:
        """The code version and record (inputs, build number, content hash) of ``target``'s
        last recorded build, if any."""
        if self._records is None:
            self._records = {}
            if self.columns("meta", "build_inputs") is not None:
                for t, version, value in rows(
                    self.con, f"select target, version, inputs from {TABLE}"
                ):
                    self._records[t] = (version, json.loads(value))
        return self._records.get(target)

    def output(self, target: str) -> tuple[int | None, str | None]:
        """The build number and content hash recorded for ``target`` right after its build."""
        found = self.recorded(target)
        return (found[1].get("build"), found[1].get("content")) if found else (None, None)

    def of(self, schema: str, table: str) -> dict[str, object]:
        """What identifies the current rows of ``schema.table`` (see the module docstring)."""
        name = f"{schema}.{table}"
        if name not in self._done:
            self._done[name] = self._fingerprint(schema, table)
        return self._done[name]

    def _fingerprint(self, schema: str, table: str) -> dict[str, object]:
        columns = self.columns(schema, table)
        if columns is None:
            return {"missing": True}
        found: dict[str, object] = {"columns": columns}
        build = self.build(table)
        if build is not None:
            found["build"] = build
            # The content hash taken right after that very build, if it was small enough.
            recorded_build, content = self.output(table)
            if content is not None and recorded_build == build:
                found["content"] = content
            elif recorded_build != build:
                # Built in Python (int_mention_sentiment records a build whenever
                # stg_social_mentions was built, new mentions or not): hashed here, if small
                # enough.
                source = f"{identifier(schema)}.{identifier(table)}"
                if int(rows(self.con, f"select count(*) from {source}")[0][0]) <= HASH_ROWS:
                    found["content"] = content_hash(self.con, schema, table)
        elif schema == "raw" and any(c.startswith(f"{_SEQ} ") for c in columns):
            count, seq = rows(
                self.con, f"select count(*), max({_SEQ}) from raw.{identifier(table)}"
            )[0]
            found["appended"] = f"{count}:{seq}"
        else:
            found["content"] = content_hash(self.con, schema, table)
        return found


def content_hash(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> str:
    """Row count and an order-independent sum of row hashes of ``schema.table``."""
    source = f"{identifier(schema)}.{identifier(table)}"
    # hash() of the row alias hashes every column; a sum (not xor) keeps duplicate rows apart.
    count, total = rows(con, f"select count(*), sum(hash(t)::hugeint) from {source} t")[0]
    return f"{count}:{total}"


def fingerprint(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> dict[str, object]:
    """What identifies the current rows of ``schema.table`` (see the module docstring)."""
    return Fingerprints(con).of(schema, table)


def same_rows(before: dict[str, object], now: dict[str, object]) -> bool:
    """Whether two fingerprints of one table prove its rows are the same."""
    if before.get("missing") or now.get("missing") or before.get("columns") != now.get("columns"):
        return False
    for key in ("build", "appended", "content", "reads"):
        # One kind of evidence that both have and that agrees is enough; the build number is
        # tried first because it is exact and free. "reads" is what one reader reads of the
        # table (with_reads): equal, that reader sees the same rows.
        if key in before and key in now and before[key] == now[key]:
            return True
    return False


def inputs(
    con: duckdb.DuckDBPyConnection,
    tables: Iterable[tuple[str, str]],
    prints: Fingerprints | None = None,
) -> dict[str, dict[str, object]]:
    """Fingerprints of the ``(schema, table)`` pairs a build reads, keyed ``schema.table``;
    ``prints`` keeps what it read across the builds of one step."""
    prints = prints or Fingerprints(con)
    return {f"{s}.{t}": prints.of(s, t) for s, t in tables}


def select_hash(con: duckdb.DuckDBPyConnection, select: str) -> str:
    """Row count and an order-independent sum of row hashes of a select's result."""
    count, total = rows(con, f"select count(*), sum(hash(t)::hugeint) from ({select}) t")[0]
    return f"{count}:{total}"


def with_reads(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    seen: dict[str, dict[str, object]],
    prints: Fingerprints,
) -> dict[str, dict[str, object]]:
    """``seen`` (the fingerprints of ``model``'s inputs) with, for each parent the model reads
    only through row-wise selects (``pipeline/engine/reads.py``), the hash of those selects'
    results under ``reads``. Taken from the model's record when the parent provably has the
    same rows as then (the same selects give the same rows: no query); hashed otherwise, up to
    ``HASH_ROWS`` rows of the parent. A landed raw table is left out: its readers re-rank its
    versions, and it only grows."""
    found = prints.recorded(model.name)
    recorded = found[1].get("inputs", {}) if found and found[0] == model.sql_sha256 else {}
    out: dict[str, dict[str, object]] = {}
    for name, now in seen.items():
        out[name] = now
        schema, table = name.split(".", 1)
        columns = prints.columns(schema, table)
        if columns is None or "appended" in now or table not in model.reads:
            continue
        selects = reads_of(model.reads[table], (c.split(" ", 1)[0] for c in columns))
        if not selects:
            continue
        key = hashlib.sha256("\n".join(selects).encode()).hexdigest()[:16]
        before = recorded.get(name)
        kept = before.get("reads") if isinstance(before, dict) else None
        if isinstance(kept, dict) and kept.get("sql") == key:
            evidence = {k: v for k, v in before.items() if k != "reads"}
            if same_rows(evidence, now):
                out[name] = {**now, "reads": kept}
                continue
        source = f"{identifier(schema)}.{identifier(table)}"
        if int(rows(con, f"select count(*) from {source}")[0][0]) > HASH_ROWS:
            continue
        out[name] = {**now, "reads": {"sql": key, "rows": [select_hash(con, s) for s in selects]}}
    return out


# The connections that made the skip tables. Each ``create … if not exists`` is a statement
# and a commit, and a step builds all its models on the connection it opened: made once per
# connection, not once per record. Weak, so a closed connection is forgotten and a new or
# re-opened one makes them again; a step's catalogue read (Fingerprints.columns) forgets a
# connection whose tables are gone (a test that dropped the meta schema).
_MADE: weakref.WeakSet[duckdb.DuckDBPyConnection] = weakref.WeakSet()


def _prepare(con: duckdb.DuckDBPyConnection) -> None:
    """Create the skip tables unless this connection already did. Called outside a
    transaction: a rolled-back creation would leave the connection noted with no tables."""
    if con in _MADE:
        return
    run(con, "create schema if not exists meta")
    run(con, _DDL)
    run(con, _SKIPPED_DDL)
    _MADE.add(con)


def why_unchanged(
    con: duckdb.DuckDBPyConnection,
    target: str,
    version: str,
    now: dict[str, dict[str, object]],
    outputs: Iterable[tuple[str, str]],
    prints: Fingerprints | None = None,
) -> str | None:
    """The reason the build of ``target`` can be skipped, or None if it must run.

    ``now`` are its inputs' fingerprints (:func:`inputs`), ``outputs`` the tables it writes
    (all must exist). A target built since its record by anything that does not record (a
    test's ``build_models``, the Spark engine) has another build number and is not skipped.
    """
    prints = prints or Fingerprints(con)
    if not all(prints.columns(s, t) is not None for s, t in outputs):
        return None
    found = prints.recorded(target)
    if found is None or found[0] != version:
        return None
    before = found[1].get("inputs", {})
    if found[1].get("build") != prints.build(target) or set(before) != set(now):
        return None
    if not all(same_rows(before[name], now[name]) for name in now):
        return None
    names = ", ".join(sorted(now)) or "none"
    return f"same code, inputs unchanged since its last build ({names})"


def record(
    con: duckdb.DuckDBPyConnection,
    target: str,
    version: str,
    seen: dict[str, dict[str, object]],
    output: tuple[str, str] | None = None,
    count: int | None = None,
    build_id: int | None = None,
) -> dict[str, object]:
    """Remember that ``target`` was just built by ``version`` from inputs fingerprinted ``seen``
    (taken before the build), with its build number now and, for an ``output`` table of at most
    ``HASH_ROWS`` rows (``count``), the hash of its content: its readers compare that when it is
    rebuilt, instead of hashing it themselves. ``build_id``: the build number the engine just
    wrote (:attr:`BuildResult.build_id`), else it is read from ``meta.model_builds``.
    Returns what it recorded."""
    _prepare(con)
    build = build_id if build_id is not None else _build_number(con, target)
    value: dict[str, object] = {"inputs": seen, "build": build}
    if output is not None and count is not None and count <= HASH_ROWS:
        value["content"] = content_hash(con, *output)
    run(
        con,
        f"insert or replace into {TABLE} values (?, ?, ?, current_timestamp)",
        [target, version, json.dumps(value, sort_keys=True)],
    )
    return value


def note_skipped(
    con: duckdb.DuckDBPyConnection,
    run_id: str | None,
    target: str,
    reason: str,
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
    prints: Fingerprints | None = None,
) -> BuildResult:
    """Build ``model`` (:func:`pipeline.engine.build`) unless its code and inputs are as at its
    last build; then the result's mode is ``SKIPPED``, its description the reason. ``layers``
    maps every model's name to its schema; ``prints`` as in :func:`inputs`."""
    tables = [(layers.get(p) or PYTHON_TABLES[p][0], p) for p in model.parents]
    prints = prints or Fingerprints(con)
    seen = with_reads(con, model, inputs(con, tables, prints), prints)
    why = why_unchanged(
        con, model.name, model.sql_sha256, seen, [(model.layer, model.name)], prints
    )
    _prepare(con)  # here, not first inside the build's transaction (see _prepare)
    if why:
        note_skipped(con, run_id, model.name, why)
        _refresh_inputs(con, model.name, seen, prints)
        count = scalar(con, f"select count(*) from {model.qualified_name}")
        return BuildResult(BuildMode.SKIPPED, why, rows=int(count))
    output = (model.layer, model.name)
    value: dict[str, object] = {}

    def _record(result: BuildResult) -> None:
        # Inside the build's transaction: the record is committed with the build it describes.
        value.update(
            record(con, model.name, model.sql_sha256, seen, output, result.rows, result.build_id)
        )

    result = build(con, model, log=prints.log(), then=_record)
    prints.built(model.layer, model.name, model.sql_sha256, value)
    return result


def _refresh_inputs(
    con: duckdb.DuckDBPyConnection,
    target: str,
    seen: dict[str, dict[str, object]],
    prints: Fingerprints,
) -> None:
    """After a skip, keep ``seen`` as the record's inputs when it says more than the record:
    the inputs are provably those of the last build, so their newer evidence (the hashes of
    what the model reads, a parent's later build number) describes the same rows, and the
    next run can compare against it (a record written before ``reads`` existed gets them)."""
    found = prints.recorded(target)
    if found is None or found[1].get("inputs") == seen:
        return
    version, value = found[0], {**found[1], "inputs": seen}
    run(
        con,
        f"update {TABLE} set inputs = ? where target = ?",
        [json.dumps(value, sort_keys=True), target],
    )
    prints.rerecorded(target, version, value)


def code_version(paths: Iterable[Path], *settings: object) -> str:
    """A version of Python-built tables: a hash of the code files (a folder: its ``.py`` and
    ``.yml`` files) and the settings that shape the rows."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        files = sorted([*path.rglob("*.py"), *path.rglob("*.yml")]) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    digest.update(repr(settings).encode())
    return digest.hexdigest()
