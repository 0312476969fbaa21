"""Run a suite with Great Expectations' SQL engine inside DuckDB and render its Data Docs page.

Every suite runs on a SQL batch: a staging or mart query (:func:`sql_source`, a temporary view
on a second connection of the warehouse) or a landed file's rows (:func:`landed_source`, a
temporary table on a second connection of the ingest connection's database). GX is imported
on first use only: it takes seconds to import, and the Dagster code location must load
without it. One ephemeral GX context per process holds the suites; each run's result is
rendered to HTML (when wanted) and then dropped from GX's in-memory store, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import functools
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
from pipeline.validation.gx_unique import drop_repeated_keys
from pipeline.validation.html_safe import escape_result
from pipeline.validation.outcome import (
    INDEX_LABELS,
    MAX_EXAMPLES,
    ExpectationOutcome,
    SuiteOutcome,
)
from pipeline.validation.suites import Suite, build_gx_suite, condition_text, expectation_columns
from pipeline.warehouse import run

# Data Docs pages: "failures" (default: only batches with a failed expectation), "all", "off".
DOCS_ENV = "PIPELINE_DATA_DOCS"
DOCS_MODES = ("all", "failures", "off")
MAX_ROWS_LOCATED = 1000  # failures on more rows show example values without their rows


def docs_mode() -> str:
    """``PIPELINE_DATA_DOCS``: which batches get a Data Docs page."""
    from pipeline.config import setting

    return setting(DOCS_ENV)


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
    # Table name -> GX's batch definition of a table asset on it, made on first use and kept:
    # adding or deleting an asset makes GX write its whole project configuration out as YAML
    # (a tenth of a small suite run, profiled), and a batch reads the table's current rows.
    definitions: dict[str, Any] = field(default_factory=dict)

    def batch_definition(self, table: str) -> Any:
        """The whole-table batch definition of ``table`` (made once per table name)."""
        if table not in self.definitions:
            asset = self.datasource.add_table_asset(table, table_name=table)
            self.definitions[table] = asset.add_batch_definition_whole_table("batch")
        return self.definitions[table]


def _open(con) -> SqlSource:
    from pipeline.validation.gx_duckdb import add_duckdb_datasource, gx_connection

    session = _session()
    gx_con = gx_connection(con)
    datasource = add_duckdb_datasource(session.context, gx_con, f"duckdb_{next(session.names)}")
    return SqlSource(gx_con, datasource)


def _close(source: SqlSource) -> None:
    _session().context.data_sources.delete(source.datasource.name)
    source.con.close()


@contextmanager
def sql_source(con) -> Iterator[SqlSource]:
    """A GX SQL data source validating inside ``con``'s database, removed on exit: one per check
    step (``stages.validate_assets``), not one per asset."""
    source = _open(con)
    try:
        yield source
    finally:
        _close(source)


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


def run_suite_sql(
    source: SqlSource,
    suite: Suite,
    sql: str,
    rows: int,
    *,
    target: str,
    batch: str,
    run_id: str,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
    materialize: bool = False,
) -> SuiteOutcome:
    """Validate the ``rows`` rows of query ``sql`` against ``suite`` inside DuckDB, with GX's
    SQL engine; renders a Data Docs page under ``docs_dir``.

    The batch is a temporary view of ``sql``, or with ``materialize`` a temporary table of its
    rows: GX sends every metric as a query of its own, and a view runs ``sql`` again for each.
    """
    started = time.perf_counter()
    # Not a query asset: GX would run a query asset whole to read its columns. One name per
    # kind, so GX's asset on it is made once per data source (SqlSource.batch_definition).
    kind = "table" if materialize else "view"
    name = f"gx_batch_{kind}"
    run(source.con, f"create or replace temp {kind} {identifier(name)} as {sql}")
    try:
        return run_suite_table(
            source, suite, name, rows, target=target, batch=batch, run_id=run_id,
            parameters=parameters, docs_dir=docs_dir, started=started,
        )  # fmt: skip
    finally:
        run(source.con, f"drop {kind} if exists {identifier(name)}")


def run_suite_with_counts(
    source: SqlSource, suite: Suite, sql: str, by: str, **fields: Any
) -> tuple[SuiteOutcome, dict[str, dict[str, int]]]:
    """:func:`run_suite_sql` on the rows of ``sql`` (run once into a temporary table), with
    their counts per value of column ``by``: ``{value: {"rows": n, column: non-null n, …}}``."""
    started = time.perf_counter()
    name = "gx_batch_counted"
    run(source.con, f"create or replace temp table {identifier(name)} as {sql}")
    try:
        columns = [c for c in source.con.sql(f"select * from {identifier(name)} limit 0").columns]
        counted = ", ".join(f"count({identifier(c)})" for c in columns if c != by)
        found = source.con.sql(
            f"select {identifier(by)}, count(*), {counted} from {identifier(name)} group by all"
        ).fetchall()
        others = [c for c in columns if c != by]
        counts = {
            row[0]: {"rows": row[1], **dict(zip(others, row[2:], strict=True))} for row in found
        }
        total = sum(c["rows"] for c in counts.values())
        outcome = run_suite_table(source, suite, name, total, started=started, **fields)
        return outcome, counts
    finally:
        run(source.con, f"drop table if exists {identifier(name)}")


def run_suite_table(
    source: SqlSource,
    suite: Suite,
    table: str,
    rows: int,
    *,
    target: str,
    batch: str,
    run_id: str,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
    started: float | None = None,
) -> SuiteOutcome:
    """Validate table or view ``table`` of ``source`` (``rows`` rows) against ``suite``."""
    started = time.perf_counter() if started is None else started
    try:
        columns = source.con.sql(f"select * from {identifier(table)} limit 0").columns
        index = [c for c in suite.index_columns if c in columns]
        gx_batch = source.batch_definition(table).get_batch()
        return validate_batch(
            gx_batch, suite, index, rows, target=target, batch=batch, run_id=run_id,
            parameters=parameters, docs_dir=docs_dir, started=started,
            result_format="BASIC",  # 100k check steps' suites, CPU: 7.7-7.9 s -> 7.1-7.2 s
        )  # fmt: skip
    finally:
        drop_repeated_keys(source.con)  # the uniqueness metric's tables (gx_unique)


def validate_batch(
    gx_batch,
    suite: Suite,
    index: list[str],
    rows: int,
    *,
    target: str,
    batch: str,
    run_id: str,
    parameters: dict[str, Any] | None,
    docs_dir: Path | None,
    started: float,
    result_format: str = "SUMMARY",
) -> SuiteOutcome:
    """Validate a GX batch (of any execution engine: DuckDB here, Spark in
    pipeline/validation/spark.py) against ``suite``: the outcome record, with unexpected
    examples by ``index`` and a Data Docs page when ``PIPELINE_DATA_DOCS`` asks for one.

    ``result_format`` is GX's level for the first pass: ``BASIC`` has every count and example
    value the outcome reads; ``SUMMARY`` adds two metrics per map expectation (an index list and
    an index query) that only the second pass, with index columns, fills.
    """
    session = _session()
    outcome, result = _run(session, gx_batch, suite, index, parameters, result_format)
    outcome.target, outcome.run_id, outcome.rows, outcome.batch = target, run_id, rows, batch
    if docs_dir is not None and _wants_page(outcome):
        outcome.docs_path = _render(session, docs_dir, suite, result, gx_batch.id, run_id)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _run(session, gx_batch, suite, index, parameters, result_format="SUMMARY"):
    """Validate ``gx_batch``; the outcome (its run fields still blank) and GX's result.

    ``Batch.validate`` rather than a validation definition: a definition's run also stores its
    definition and its result in GX's stores (a sixth of three mart checks' time, profiled); the
    result is stored only when a Data Docs page is rendered from it.
    """
    result = gx_batch.validate(
        session.suite(suite),
        expectation_parameters=parameters or {},
        result_format={"result_format": result_format, "partial_unexpected_count": MAX_EXAMPLES},
    )
    outcomes = [_outcome(r, []) for r in result.results]
    if index:
        _add_row_examples(session, gx_batch, suite, index, parameters or {}, outcomes)
    outcome = SuiteOutcome(
        suite=suite.name,
        stage=suite.stage,
        asset=suite.asset,
        target="",
        run_id="",
        rows=0,
        batch="",
        seconds=0.0,
        expectations=outcomes,
    )
    return outcome, result


def _wants_page(outcome: SuiteOutcome) -> bool:
    """Whether ``PIPELINE_DATA_DOCS`` asks for this batch's page."""
    mode = docs_mode()
    return mode == "all" or (mode == "failures" and outcome.status != "passed")


def _add_row_examples(
    session: _Session,
    gx_batch,
    suite: Suite,
    index: list[str],
    parameters: dict[str, Any],
    outcomes: list[ExpectationOutcome],
) -> None:
    """Re-run the failed expectations asking GX where the unexpected rows are.

    GX lists *every* unexpected row when asked for index columns (seconds per 100,000 rows),
    so the first pass does without, and only expectations failing on at most
    :data:`MAX_ROWS_LOCATED` rows are asked again, their examples then naming their rows.
    """
    wanted = {
        _key(o.expectation, o.columns, o.condition, o.severity, o.expected)
        for o in outcomes
        if not o.success and o.unexpected_count and o.unexpected_count <= MAX_ROWS_LOCATED
    }
    expectations = [
        e
        for e in suite.expectations
        if _key(
            e["type"],
            _columns(e.get("kwargs") or {}),
            _doc_condition(e),
            e["severity"],
            _expected(e.get("kwargs") or {}),
        )
        in wanted
    ]
    if not expectations:
        return
    located = session.gx.ExpectationSuite(name=f"{suite.name}__rows", expectations=expectations)
    result = gx_batch.validate(
        located,
        result_format={
            "result_format": "SUMMARY",
            "partial_unexpected_count": MAX_EXAMPLES,
            "unexpected_index_column_names": index,
        },
        expectation_parameters=parameters,
    )
    examples = {}
    for r in result.results:
        found = _outcome(r, index)
        key = _key(
            found.expectation, found.columns, found.condition, found.severity, found.expected
        )
        examples[key] = found.examples
    for o in outcomes:
        key = _key(o.expectation, o.columns, o.condition, o.severity, o.expected)
        o.examples = examples.get(key, o.examples)


def _key(
    expectation: str, columns: str, condition: str | None, severity: str, expected: str | None
) -> tuple:
    # Expectations of one type on one column are told apart by severity (dates: a critical
    # misread bound and an after-as_of warning) and, for regexes, by the pattern (the
    # personal-data suite reads a column for e-mails and for phone numbers). Other bounds may be
    # parameters, resolved only in the result.
    regex = expected if expected and expected.startswith("regex ") else None
    return (expectation, columns, condition, severity, regex)


def _doc_condition(expectation: dict[str, Any]) -> str | None:
    return condition_text((expectation.get("kwargs") or {}).get("row_condition"))


def _columns(kwargs: dict[str, Any]) -> str:
    """The column(s) an expectation reads, as messages name them."""
    return ", ".join(expectation_columns(kwargs))


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
    store = session.context.validation_results_store
    store.set(key, escape_result(result))
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
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception"):
        return str(info.get("exception_message") or "unknown error")
    for value in info.values():
        if isinstance(value, dict) and value.get("raised_exception"):
            return str(value.get("exception_message") or "unknown error")
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
        severity=config.severity.value
        if hasattr(config.severity, "value")
        else str(config.severity),
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
