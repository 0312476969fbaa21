"""Run a suite with Great Expectations' SQL engine inside DuckDB and render its Data Docs page.

GX is imported on first use (it takes seconds). One ephemeral GX context per process holds the
suites; a result is stored only while its page is rendered, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from pipeline.validation.batches import ROWS
from pipeline.validation.outcome import (
    MAX_EXAMPLES,
    SuiteOutcome,
    escape_values,
    expectation_outcome,
)
from pipeline.validation.suites import Suite, build_gx_suite
from pipeline.warehouse import run, scalar

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
        self.sites: dict[Path, str] = {}  # Data Docs root -> GX site name
        self.names = itertools.count()
        self.sql = SqlSource()  # the SQL data source, made on first use

    def suite(self, suite: Suite):
        """The GX suite of ``suite``, (re)built when the file changed."""
        cached = self.suites.get(suite.name)
        if cached is None or cached[0] != suite.digest:
            cached = (suite.digest, self.context.suites.add_or_update(build_gx_suite(suite)))
            self.suites[suite.name] = cached
        return cached[1]


_session = functools.cache(_Session)  # the process's one session, made on first use


@dataclass
class SqlSource:
    """The process's GX SQL data source on DuckDB (``gx_duckdb``) and its batch definitions,
    made once: adding or deleting a data source, an asset or a batch definition makes GX write
    its whole configuration out as YAML (about 27 ms of CPU a check step, one-off)."""

    datasource: Any = None
    con: Any = None  # duckdb.DuckDBPyConnection: the open block's, where the batches are
    definitions: dict[str, Any] = field(default_factory=dict)

    def batch_definition(self, table: str) -> Any:
        """The whole-table batch definition of ``table`` (which must exist the first time: GX
        reads from it once when the asset is added)."""
        if table not in self.definitions:
            asset = self.datasource.add_table_asset(table, table_name=table)
            self.definitions[table] = asset.add_batch_definition_whole_table("batch")
        return self.definitions[table]


@contextmanager
def sql_source(con) -> Iterator[SqlSource]:
    """The process's GX SQL data source, for the block on a new connection of ``con``'s
    database, closed on exit (dropping its temporary tables): one block per check step
    (``stages.validate_assets``) and per landed GX run (``landed``); one at a time."""
    from pipeline.validation.gx_duckdb import add_duckdb_datasource, gx_connection

    session = _session()
    source = session.sql
    if source.con is not None:
        raise RuntimeError("runner.sql_source: a block is open already")
    source.con = gx_connection(con)
    try:
        if source.datasource is None:
            source.datasource = add_duckdb_datasource(session.context, lambda: source.con, "duckdb")
        yield source
    finally:
        source.con.close()
        source.con = None


def run_suite_sql(
    source: SqlSource,
    suite: Suite,
    sql: str,
    rows: int | None,
    *,
    materialize: bool = False,
    **fields,
) -> SuiteOutcome:
    """Validate the ``rows`` rows (None: counted) of query ``sql`` against ``suite`` inside
    DuckDB (``fields``: :func:`validate_batch`'s), as a temporary view, or with ``materialize``
    a table (GX sends each metric as a query of its own: a view runs ``sql`` again for each).
    Not a query asset: GX would run it whole to read its columns."""
    started = time.perf_counter()
    kind = "table" if materialize else "view"
    name = f"gx_batch_{kind}"  # one name per kind: GX's asset on it is made once per source
    run(source.con, f"create or replace temp {kind} {name} as {sql}")
    try:
        columns = source.con.sql(f"select * from {name} limit 0").columns
        rows = rows if rows is not None else int(scalar(source.con, f"select count(*) from {name}"))
        index = [c for c in suite.index_columns if c in columns]
        batch = source.batch_definition(name).get_batch()
        # BASIC: 100k check steps' suites, CPU 7.7-7.9 s -> 7.1-7.2 s
        return validate_batch(
            batch, suite, index, rows, started=started, result_format="BASIC", **fields
        )
    finally:
        run(source.con, f"drop {kind} if exists {name}")


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
    """Validate a GX batch (of any engine: DuckDB here, Spark in pipeline.spark.checks) against
    ``suite``: the outcome, with unexpected examples by ``index`` and a Data Docs page if wanted.
    ``Batch.validate``: a validation definition would store itself and its result (a sixth of
    three mart checks' time). No examples in this pass: GX's example query scans the whole batch
    even when nothing is unexpected; :func:`_add_examples` asks for failed expectations' only."""
    session = _session()
    parameters = parameters or {}
    result = gx_batch.validate(
        session.suite(suite),
        expectation_parameters=parameters,
        result_format={"result_format": result_format, "partial_unexpected_count": 0},
    )
    outcomes = {r.expectation_config.id: expectation_outcome(r, []) for r in result.results}
    _add_examples(session, gx_batch, suite, index, parameters, outcomes, result)
    outcome = SuiteOutcome(
        suite=suite.name, stage=suite.stage, asset=suite.asset, target=target, run_id=run_id,
        rows=rows, batch=batch.replace(ROWS, str(rows)), seconds=0.0,
        expectations=list(outcomes.values()),
    )  # fmt: skip
    paged = {"all", "failures"} if outcome.status != "passed" else {"all"}
    if docs_dir is not None and docs_mode() in paged:
        outcome.docs_path = _render(session, docs_dir, suite, result, gx_batch.id, run_id)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _add_examples(session, gx_batch, suite, index, parameters, outcomes, result) -> None:
    """Re-run the failed expectations asking GX for a few unexpected values, with their rows
    (``index``) when they failed on at most :data:`MAX_ROWS_LOCATED` rows (GX then lists *every*
    unexpected row). The new results replace the first pass's in ``result``, for the page."""
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
            outcomes[r.expectation_config.id].examples = expectation_outcome(r, names).examples
            again[r.expectation_config.id] = r
    if again:
        result.results = [again.get(r.expectation_config.id, r) for r in result.results]


def _render(session: _Session, docs_dir: Path, suite: Suite, result, batch_id: str, run_id: str):
    """Render ``result``'s Data Docs page under ``docs_dir``; returns the page's path."""
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    docs_dir = docs_dir.resolve()  # one filesystem site per root; its index is docs.py's
    if docs_dir not in session.sites:
        session.sites[docs_dir] = f"site_{len(session.sites)}"
        backend = {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs_dir)}
        store = {"class_name": "SiteBuilder", "store_backend": backend}
        session.context.add_data_docs_site(session.sites[docs_dir], store)
    site = session.sites[docs_dir]
    gx_run = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
    result.meta["run_id"] = gx_run
    result.meta["validation_time"] = gx_run.run_time
    key = ValidationResultIdentifier(ExpectationSuiteIdentifier(suite.name), gx_run, batch_id)
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
    if not url:
        return None
    page = unquote(urlparse(url).path)
    # Owner-only, as the quarantine CSV files: the page lists unexpected values as delivered.
    os.chmod(page, 0o600)
    return page
