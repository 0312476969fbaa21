"""Tables a removed model left in the engine's schemas: found, named with the statement that
drops them, never dropped.

Removing a model deletes its files (docs/architecture.md, "Removing a model"); its table stays
in ``staging``, ``intermediate`` or ``marts``. The pipeline does not drop it: a table no model
names may hold the only copy of rows someone still wants (a model removed by mistake, a table
made by hand), and dropping is the operator's call. It says so instead, once a run (the
first step of the run that builds models or publishes them: ``left_tables_once``) and in
``python -m pipeline docs``, naming each table, whether anything still reads it, and the
statement that drops it.

It also forgets what the engine and the checks recorded of a removed model (its skip record,
its checks' watermarks and last pass; its build counter is kept but marked, so that build
numbers never repeat): nothing keeps the left table as built any longer, so a model put back
is rebuilt whole and checked in full instead of trusting a table it no longer owned.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import duckdb

from pipeline.engine.build_log import DELTA
from pipeline.engine.catalog import PYTHON_READERS, PYTHON_TABLES
from pipeline.engine.discovery import LAYERS
from pipeline.engine.skip import TABLE as BUILD_INPUTS
from pipeline.sqltext import identifier
from pipeline.warehouse import rows, run, table_exists
from pipeline.words import agreeing, counted

# A removed model's row in meta.model_builds gets this for its SQL's hash: the model, put back,
# has "its SQL changed" and is rebuilt whole, while its build counter goes on from where it was
# (a counter started again at 1 could equal the build number a reader recorded long ago).
REMOVED = "removed"

# The runs that said their left tables: the first model-building or publishing step of a run
# says them, the others of that run find the run here and say nothing (one warning a run, not
# one a layer step, whatever the run selected and wherever a blocking check stopped it). Rows
# older than a week go: a run's steps end within hours, and two runs may interleave their steps.
SAID = "meta.left_tables_said"
SAID_DDL = f"create table if not exists {SAID} (run_id varchar primary key, said_at timestamptz)"


@dataclass(frozen=True)
class LeftTable:
    """A table in an engine schema that no model names, and what still reads it by name."""

    schema: str
    name: str
    has_delta: bool  # its meta.<name>__delta is left too
    read_by: tuple[str, ...] = ()  # Python steps and suites that name it

    def drop_statements(self) -> list[str]:
        """The statements that drop the table (and its delta), as an operator types them."""
        found = [f"drop table {self.schema}.{_name(self.name)};"]
        return found + ([f"drop table meta.{_name(self.name + DELTA)};"] if self.has_delta else [])

    def describe(self) -> str:
        """What leaving it means: not served (a mart), or who reads its stale rows."""
        parts = ["not published to serving"] if self.schema == "marts" else []
        if self.read_by:
            parts.append(
                f"still read by {', '.join(self.read_by)}, which "
                f"{agreeing(len(self.read_by), 'reads', 'read')} its stale rows until it is "
                "dropped (then remove or change "
                f"{agreeing(len(self.read_by), 'that reader', 'those readers')} too)"
            )
        elif self.schema != "marts":
            parts.append("nothing reads it")
        return "; ".join(parts)


def _name(name: str) -> str:
    """A table name as typed: plain when it is a plain word, else quoted."""
    return name if re.fullmatch(r"[a-z_][a-z0-9_]*", name) else identifier(name)


# Who else reads tables by name, by table ("the suite staging_customer_links"): asked only
# when a table is left. The validation layer's suite_readers, handed in by the caller: the
# engine sits below validation and reads no suite itself (docs/architecture.md, "Layers").
Readers = Callable[[], Mapping[str, Sequence[str]]]


def left_tables(
    con: duckdb.DuckDBPyConnection, models: Iterable[str], readers: Readers | None = None
) -> list[LeftTable]:
    """The tables of the engine's schemas (the model layers) that neither a model of ``models``
    (their names) nor a Python step names, in schema and name order, each with the Python steps
    and the ``readers`` (called only when a table is left; None: none) that still read it."""
    known = set(models) | {t for t, (schema, _) in PYTHON_TABLES.items() if schema in LAYERS}
    found = rows(
        con,
        "select schema_name, table_name from duckdb_tables() "
        "where database_name = current_database() and list_contains(?, schema_name) "
        "order by list_position(?, schema_name), table_name",
        [list(LAYERS), list(LAYERS)],
    )
    deltas = {
        t
        for (t,) in rows(
            con,
            "select table_name from duckdb_tables() "
            "where database_name = current_database() and schema_name = 'meta'",
        )
    }
    found = [(schema, name) for schema, name in found if name not in known]
    if not found:
        return []
    by_suites = readers() if readers is not None else {}
    return [
        LeftTable(
            schema,
            name,
            name + DELTA in deltas,
            tuple([*PYTHON_READERS.get(name, ()), *by_suites.get(name, [])]),
        )
        for schema, name in found
    ]


def left_tables_text(found: list[LeftTable]) -> list[str]:
    """Lines saying each left table, what leaving it means and how to drop it (none: [])."""
    if not found:
        return []
    n = len(found)
    lines = [
        f"{counted(n, 'table')} in the warehouse that no model "
        f"{agreeing(n, 'names', 'name')} ({agreeing(n, 'its model was', 'their models were')} "
        f"removed from sql/; nothing builds, checks or drops {agreeing(n, 'it', 'them')}): "
        'drop each by hand while no run is writing (docs/architecture.md, "Removing a model"):'
    ]
    for table in found:
        lines.append(f"  {table.schema}.{table.name}: {table.describe()}")
        lines += [f"    {statement}" for statement in table.drop_statements()]
    return lines


def said_once(con: duckdb.DuckDBPyConnection, run_id: str) -> bool:
    """True the first time run ``run_id`` asks, False after: that run has said its left
    tables (recorded in ``meta.left_tables_said``)."""
    run(con, SAID_DDL)
    run(con, f"delete from {SAID} where said_at < now() - interval 7 days")
    return bool(
        rows(con, f"insert or ignore into {SAID} values (?, now()) returning run_id", [run_id])
    )


def left_tables_once(
    con: duckdb.DuckDBPyConnection,
    models: Iterable[str],
    run_id: str,
    readers: Readers | None = None,
) -> list[LeftTable]:
    """The tables no model of ``models`` names (``left_tables``) the first time run ``run_id``
    asks, to be said; [] when none is left or the run said them already (an earlier step)."""
    found = left_tables(con, models, readers)
    return found if found and said_once(con, run_id) else []


def forget_removed(con: duckdb.DuckDBPyConnection, models: Iterable[str]) -> list[str]:
    """Forget the records of the tables the engine built that no model of ``models`` names
    any longer (left in the warehouse or dropped by hand): their skip records and their checks'
    watermarks and passes go, their build log rows are marked ``REMOVED``. Returns their
    names; a name already forgotten is not counted again."""
    if not table_exists(con, "meta", "model_builds"):
        return []
    known = set(models) | set(PYTHON_TABLES)
    removed = [
        m
        for (m,) in rows(
            con,
            "select model from meta.model_builds where sql_sha256 <> ? order by model",
            [REMOVED],
        )
        if m not in known
    ]
    if not removed:
        return []
    # One transaction: a build log marked without its skip record gone would let the model,
    # put back, be skipped against a record of a table it no longer owned.
    run(con, "begin transaction")
    try:
        if table_exists(con, "meta", "build_inputs"):
            run(con, f"delete from {BUILD_INPUTS} where list_contains(?, target)", [removed])
        for state in ("validation_watermarks", "validation_passes"):
            if table_exists(con, "meta", state):
                run(con, f"delete from meta.{state} where list_contains(?, check_asset)", [removed])
        run(
            con,
            "update meta.model_builds set sql_sha256 = ? where list_contains(?, model)",
            [REMOVED, removed],
        )
        run(con, "commit")
    except BaseException:
        run(con, "rollback")
        raise
    return removed
