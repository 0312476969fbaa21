"""Run a suite with Great Expectations' SQL engine inside DuckDB and render its Data Docs page.

A suite runs on a SQL batch: a staging or mart query (:func:`sql_source`, a temporary view or
table on a second connection of the warehouse) or a landed file's rows (:func:`landed_source`,
a view or temporary table on a second connection of the ingest connection's database). GX is
imported on first use only (it takes seconds; the Dagster code location loads without it). One
ephemeral GX context per process holds the suites; a result is stored only while its page is
rendered, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import functools
import html
import itertools
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pipeline.sqltext import identifier
from pipeline.validation.gx_duckdb import drop_repeated_keys
from pipeline.validation.outcome import (
    INDEX_LABELS,
    MAX_EXAMPLES,
    ExpectationOutcome,
    SuiteOutcome,
)
from pipeline.validation.suites import Suite, build_gx_suite, condition_text, expectation_columns
from pipeline.warehouse import run

MAX_ROWS_LOCATED = 1000  # failures on more rows show example values without their rows


def docs_mode() -> str:
    """``PIPELINE_DATA_DOCS``: which batches get a Data Docs page (failures, all, off)."""
    from pipeline.config import setting

    return setting("PIPELINE_DATA_DOCS")


class _Session:
    """The process's ephemeral GX context and the suites added to it so far."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.suites: dict[str, tuple[str, Any]] = {}  # suite name -> (digest, GX suite)
        self.sites: dict[Path, str] = {}
        self.names = itertools.count()

    def suite(self, suite: Suite):
        """The GX suite of ``suite``, (re)built when the file changed."""
        cached = self.suites.get(suite.name)
        if cached and cached[0] == suite.digest:
            return cached[1]
        if cached:
            self.context.suites.delete(suite.name)
        built = self.context.suites.add(build_gx_suite(suite))
        self.suites[suite.name] = (suite.digest, built)
        return built

    def site(self, docs_dir: Path) -> str:
        """Name of the filesystem Data Docs site rooted at ``docs_dir``."""
        docs_dir = docs_dir.resolve()
        if docs_dir not in self.sites:
            name = f"site_{len(self.sites)}"
            self.context.add_data_docs_site(
                name,
                {
                    "class_name": "SiteBuilder",
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir),
                    },
                    # GX's index lists only this process's results and deletes the rest of the
                    # site's pages; pipeline.validation.docs writes the index instead.
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                },
            )
            self.sites[docs_dir] = name
        return self.sites[docs_dir]


@functools.cache
def _session() -> _Session:
    return _Session()


@dataclass
class SqlSource:
    """A GX SQL data source on GX's own connection to a DuckDB database (see ``gx_duckdb``)."""

    con: Any  # duckdb.DuckDBPyConnection: GX's connection, where the batches are
    datasource: Any
    # Table name -> batch definition, made once: adding or deleting an asset makes GX write its
    # whole configuration out as YAML (a tenth of a small suite run); a batch reads current rows.
    definitions: dict[str, Any] = field(default_factory=dict)

    def batch_definition(self, table: str) -> Any:
        """The whole-table batch definition of ``table`` (made once per table name)."""
        if table not in self.definitions:
            asset = self.datasource.add_table_asset(table, table_name=table)
            self.definitions[table] = asset.add_batch_definition_whole_table("batch")
        return self.definitions[table]


@contextmanager
def sql_source(con) -> Iterator[SqlSource]:
    """A GX SQL data source validating inside ``con``'s database, removed on exit: one per check
    step (``stages.validate_assets``), not one per asset."""
    from pipeline.validation.gx_duckdb import add_duckdb_datasource, gx_connection

    session = _session()
    gx_con = gx_connection(con)
    source = SqlSource(
        gx_con, add_duckdb_datasource(session.context, gx_con, f"duckdb_{next(session.names)}")
    )
    try:
        yield source
    finally:
        session.context.data_sources.delete(source.datasource.name)
        gx_con.close()


class ConnectionSwitch:
    """The landed data source's DuckDB connection: a stand-in forwarding to the connection of
    the delivery being validated (``target``), which changes with every delivery."""

    target: Any = None

    def close(self) -> None:
        """Nothing: each target is closed by whoever set it (SQLAlchemy closes at exit)."""

    def __getattr__(self, name: str) -> Any:
        if self.target is None:
            raise RuntimeError("the landed data source is used outside a delivery's validation")
        return getattr(self.target, name)


LANDED_CONNECTION = ConnectionSwitch()


@functools.cache
def landed_source() -> SqlSource:
    """The process's GX SQL data source for landed files, made once (adding a data source and
    its table assets per delivery would make GX write its configuration out each time).

    Its connection is :data:`LANDED_CONNECTION`: for each delivery the validator points it at
    a new connection of the ingest connection's own database (``landed.delivery_connection``),
    where the file's rows already are, and closes that connection after the suite. GX tests
    the data source's connection as it adds it: the first call needs a target set.
    """
    from pipeline.validation.gx_duckdb import add_duckdb_datasource

    datasource = add_duckdb_datasource(_session().context, LANDED_CONNECTION, "landed")
    return SqlSource(LANDED_CONNECTION, datasource)


@contextmanager
def _relation(source: SqlSource, kind: str, name: str, sql: str) -> Iterator[str]:
    """``sql`` as temporary ``kind`` (view or table) ``name`` of GX's connection, then dropped.

    Not a query asset: GX would run a query asset whole to read its columns. One name per use,
    so GX's asset on it is made once per data source (:meth:`SqlSource.batch_definition`).
    """
    run(source.con, f"create or replace temp {kind} {identifier(name)} as {sql}")
    try:
        yield name
    finally:
        run(source.con, f"drop {kind} if exists {identifier(name)}")


def run_suite_sql(
    source: SqlSource, suite: Suite, sql: str, rows: int, *, materialize: bool = False, **fields
) -> SuiteOutcome:
    """Validate the ``rows`` rows of query ``sql`` against ``suite`` inside DuckDB (``fields``:
    :func:`validate_batch`'s). The batch is a temporary view, or with ``materialize`` a table:
    GX sends every metric as a query of its own, and a view runs ``sql`` again for each."""
    started = time.perf_counter()
    kind = "table" if materialize else "view"
    with _relation(source, kind, f"gx_batch_{kind}", sql) as name:
        return run_suite_table(source, suite, name, rows, started=started, **fields)


def run_suite_with_counts(
    source: SqlSource, suite: Suite, sql: str, by: str, **fields: Any
) -> tuple[SuiteOutcome, dict[str, dict[str, int]]]:
    """:func:`run_suite_sql` on the rows of ``sql`` (run once into a temporary table), with
    their counts per value of column ``by``: ``{value: {"rows": n, column: non-null n, …}}``."""
    started = time.perf_counter()
    with _relation(source, "table", "gx_batch_counted", sql) as name:
        others = [c for c in source.con.sql(f"select * from {name} limit 0").columns if c != by]
        counted = ", ".join(f"count({identifier(c)})" for c in others)
        found = source.con.sql(
            f"select {identifier(by)}, count(*), {counted} from {name} group by all"
        )
        counts = {
            row[0]: {"rows": row[1], **dict(zip(others, row[2:], strict=True))}
            for row in found.fetchall()
        }
        total = sum(c["rows"] for c in counts.values())
        return run_suite_table(source, suite, name, total, started=started, **fields), counts


def run_suite_table(
    source: SqlSource, suite: Suite, table: str, rows: int, *, started: float, **fields: Any
) -> SuiteOutcome:
    """Validate table or view ``table`` of ``source`` (``rows`` rows) against ``suite``."""
    try:
        columns = source.con.sql(f"select * from {identifier(table)} limit 0").columns
        return validate_batch(
            source.batch_definition(table).get_batch(),
            suite,
            [c for c in suite.index_columns if c in columns],
            rows,
            started=started,
            result_format="BASIC",  # 100k check steps' suites, CPU: 7.7-7.9 s -> 7.1-7.2 s
            **fields,
        )
    finally:
        drop_repeated_keys(source.con)  # the uniqueness metric's tables (gx_duckdb)


def validate_batch(
    gx_batch,
    suite: Suite,
    index: list[str],
    rows: int,
    *,
    target: str,
    batch: str,
    run_id: str,
    started: float,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
    result_format: str = "SUMMARY",
) -> SuiteOutcome:
    """Validate a GX batch (of any engine: DuckDB here, Spark in spark.py) against ``suite``:
    the outcome, with unexpected examples by ``index`` and a Data Docs page if wanted.

    ``Batch.validate``, not a validation definition, which would store its definition and result
    (a sixth of three mart checks' time). ``BASIC`` has every count the outcome reads; its
    examples come from :func:`_add_examples`, for failed expectations only.
    """
    session = _session()
    parameters = parameters or {}
    # No examples in the first pass (LIMIT 0): GX's example query per map expectation scans the
    # whole batch when nothing is unexpected (the e-mail regex on 6.2M staging rows: a second
    # scan as long as the count's).
    result = gx_batch.validate(
        session.suite(suite),
        expectation_parameters=parameters,
        result_format={"result_format": result_format, "partial_unexpected_count": 0},
    )
    outcomes = {r.expectation_config.id: _outcome(r, []) for r in result.results}
    _add_examples(session, gx_batch, suite, index, parameters, outcomes, result)
    outcome = SuiteOutcome(
        suite=suite.name, stage=suite.stage, asset=suite.asset, target=target, run_id=run_id,
        rows=rows, batch=batch, seconds=0.0, expectations=list(outcomes.values()),
    )  # fmt: skip
    mode = docs_mode()
    if docs_dir is not None and (
        mode == "all" or (mode == "failures" and outcome.status != "passed")
    ):
        outcome.docs_path = _render(session, docs_dir, suite, result, gx_batch.id, run_id)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _add_examples(
    session: _Session,
    gx_batch,
    suite: Suite,
    index: list[str],
    parameters: dict[str, Any],
    outcomes: dict[str, ExpectationOutcome],
    result,
) -> None:
    """Re-run the failed expectations asking GX for examples of their unexpected values, and
    where their rows are (``index``) when they failed on at most :data:`MAX_ROWS_LOCATED` rows:
    GX lists *every* unexpected row when asked for index columns (seconds per 100,000 rows).
    The new results replace the first pass's in ``result``, so a Data Docs page shows them;
    they are matched by the expectation's id in the context's suite.
    """
    failed = {
        e.id: e.configuration
        for e in session.suite(suite).expectations
        if not outcomes[e.id].success and (outcomes[e.id].unexpected_count or 0) > 0
    }
    located = [i for i in failed if index and outcomes[i].unexpected_count <= MAX_ROWS_LOCATED]
    again = {}
    for ids, names in ((located, index), ([i for i in failed if i not in located], [])):
        if not ids:
            continue
        found = gx_batch.validate(
            session.gx.ExpectationSuite(
                name=f"{suite.name}__examples", expectations=[failed[i] for i in ids]
            ),
            result_format={
                "result_format": "SUMMARY" if names else "BASIC",
                "partial_unexpected_count": MAX_EXAMPLES,
                **({"unexpected_index_column_names": names} if names else {}),
            },
            expectation_parameters=parameters,
        )
        for r in found.results:
            outcomes[r.expectation_config.id].examples = _outcome(r, names).examples
            again[r.expectation_config.id] = r
    if again:
        result.results = [again.get(r.expectation_config.id, r) for r in result.results]


def escape_values(value: Any) -> Any:
    """``value`` with every string in it (in dicts, lists, tuples, keys too) HTML-escaped."""
    if isinstance(value, str):
        return html.escape(value, quote=True)
    if isinstance(value, dict):
        return {escape_values(k): escape_values(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(escape_values(v) for v in value)
    return value


def _render(session: _Session, docs_dir: Path, suite: Suite, result, batch_id: str, run_id: str):
    """Render ``result``'s Data Docs page under ``docs_dir``; returns the page's path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    site = session.site(docs_dir)
    gx_run = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
    result.meta["run_id"] = gx_run
    result.meta["validation_time"] = gx_run.run_time
    key = ValidationResultIdentifier(
        expectation_suite_identifier=ExpectationSuiteIdentifier(name=suite.name),
        run_id=gx_run,
        batch_identifier=batch_id,
    )
    # GX writes result values (unexpected examples, observed values, error messages) into the
    # page unescaped: a delivered campaign name '<img src=x onerror=…>' would run as script in
    # the reader's browser. The result is only used for this page, so escape it first.
    for r in result.results:
        r.result = escape_values(dict(r.result or {}))
        r.exception_info = escape_values(r.exception_info)
    store = session.context.validation_results_store
    store.set(key, result)
    try:
        session.context.build_data_docs(
            site_names=[site], resource_identifiers=[key], build_index=False
        )
        urls = session.context.get_docs_sites_urls(resource_identifier=key, site_name=site)
    finally:
        store.remove_key(key)
    url = urls[0].get("site_url") if urls else None
    return unquote(urlparse(url).path) if url else None


def _text(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, Decimal):  # DECIMAL(18,4) comes back as Decimal('10.5000'): "10.5"
        return format(value.normalize(), "f")
    return str(value)


def _examples(result: dict[str, Any], columns: list[str], index: list[str]) -> list[str]:
    """A few unexpected values, each with its index columns (row number, month, …)."""
    indexed = result.get("partial_unexpected_index_list") or []
    if indexed and isinstance(indexed[0], dict):
        out = []
        for item in indexed[:MAX_EXAMPLES]:
            shown = [c for c in columns if c in item]
            value = _text(item[shown[0]]) if len(shown) == 1 else _text({c: item[c] for c in shown})
            where = ", ".join(
                f"{INDEX_LABELS.get(c, c)} {_text(item[c])}"
                for c in index
                if c in item and c not in shown
            )
            out.append(f"{value} ({where})" if where else value)
        return out
    return [_text(v) for v in (result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]]


def _error(info: Any) -> str | None:
    """The exception message of a result's ``exception_info`` (flat or per metric)."""
    for found in (info, *info.values()) if isinstance(info, dict) else ():
        if isinstance(found, dict) and found.get("raised_exception"):
            return str(found.get("exception_message") or "unknown error")
    return None


def _expected(kwargs: dict[str, Any]) -> str | None:
    """The bound an expectation sets, in words: ``[0 … 10]``, ``in {a, b}``, ``≤ 1``."""
    low, high = kwargs.get("min_value"), kwargs.get("max_value")
    strict_low, strict_high = bool(kwargs.get("strict_min")), bool(kwargs.get("strict_max"))
    if low is not None and high is not None:
        return (
            f"{'(' if strict_low else '['}{_text(low)} … {_text(high)}{')' if strict_high else ']'}"
        )
    if low is not None:
        return f"{'>' if strict_low else '>='} {_text(low)}"
    if high is not None:
        return f"{'<' if strict_high else '<='} {_text(high)}"
    for key, word in (("value_set", "in"), ("type_list", "of type")):
        if kwargs.get(key) is not None:
            values = sorted(_text(v) for v in kwargs[key])
            return f"{word} {{{', '.join(values)}}}"
    if kwargs.get("regex"):
        return f"regex {kwargs['regex']}"
    return None


def _outcome(result, index: list[str]) -> ExpectationOutcome:
    config = result.expectation_config
    kwargs = config.kwargs
    columns = expectation_columns(kwargs)
    condition = kwargs.get("row_condition")
    if condition is not None and not isinstance(condition, dict | str):
        condition = condition.dict() if hasattr(condition, "dict") else str(condition)
    res = dict(result.result or {})
    unexpected = res.get("unexpected_count")
    total = res.get("element_count")
    if "observed_value" in res:
        observed = f"observed {_text(res['observed_value'])}"
    elif unexpected is not None:
        observed = f"{unexpected} of {total} rows unexpected"
    else:
        observed = ""
    return ExpectationOutcome(
        expectation=config.type,
        columns=", ".join(columns),
        expected=_expected(kwargs),
        severity=config.severity.value,
        success=bool(result.success),
        observed=observed,
        condition=condition_text(condition),
        unexpected_count=unexpected,
        element_count=total,
        examples=_examples(res, columns, index) if not result.success else [],
        error=_error(result.exception_info),
        mostly=kwargs.get("mostly"),
        missing_count=res.get("missing_count"),
        advice=(config.meta or {}).get("on_failure"),
    )
