"""Run a suite on a frame with Great Expectations (pandas engine) and render its Data Docs page.

GX is imported on first use only: it takes seconds to import, and the Dagster code location
must load without it. One ephemeral GX context per process holds the suites; each run's result
is rendered to HTML and then dropped from GX's in-memory store, so memory stays flat.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlparse

import polars as pl

from pipeline.validation.outcome import INDEX_LABELS, MAX_EXAMPLES, ExpectationOutcome, SuiteOutcome
from pipeline.validation.suites import Suite, build_gx_suite, condition_text

if TYPE_CHECKING:
    import pandas as pd

# Data Docs pages: "all" (default), "failures" (only batches with a failed expectation), "off".
DOCS_ENV = "PIPELINE_DATA_DOCS"
DOCS_MODES = ("all", "failures", "off")


def to_pandas(frame: pl.DataFrame) -> pd.DataFrame:
    """A polars frame as the pandas frame GX checks: types stable whatever the nulls.

    Text becomes ``object`` (so type checks look at each value), integers nullable ``Int64``,
    decimals ``float64``, dates and timestamps ``datetime64[us]``.
    """
    casts = {}
    for name, dtype in frame.schema.items():
        if dtype.is_decimal():
            casts[name] = pl.Float64
        elif dtype == pl.Date or isinstance(dtype, pl.Datetime):
            casts[name] = pl.Datetime("us")
    df = frame.with_columns(pl.col(n).cast(t) for n, t in casts.items()).to_pandas()
    for name, dtype in frame.schema.items():
        if dtype.is_integer():
            df[name] = df[name].astype("Int64")
        elif dtype == pl.String or dtype == pl.Null:
            df[name] = df[name].astype(object).where(df[name].notna(), None)
    return df


def docs_mode() -> str:
    """``PIPELINE_DATA_DOCS``: which batches get a Data Docs page."""
    mode = os.environ.get(DOCS_ENV, "all").strip().lower() or "all"
    if mode not in DOCS_MODES:
        raise ValueError(f"{DOCS_ENV}={mode!r} must be one of {', '.join(DOCS_MODES)}")
    return mode


class _Session:
    """The process's ephemeral GX context, its pandas data source and the suites added so far."""

    def __init__(self) -> None:
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.context.variables.progress_bars = ProgressBarsConfig(globally=False)
        self.datasource = self.context.data_sources.add_pandas("pipeline")
        self.definitions: dict[str, tuple[str, Any]] = {}  # suite name -> (digest, definition)
        self.sites: dict[Path, str] = {}

    def definition(self, suite: Suite):
        """The GX validation definition of ``suite``, (re)built when the file changed."""
        cached = self.definitions.get(suite.name)
        if cached and cached[0] == suite.digest:
            return cached[1]
        if cached:
            self.context.validation_definitions.delete(suite.name)
            self.context.suites.delete(suite.name)
            self.datasource.delete_asset(suite.name)
        gx_suite = self.context.suites.add(build_gx_suite(suite))
        batch = self.datasource.add_dataframe_asset(
            suite.name
        ).add_batch_definition_whole_dataframe("batch")
        definition = self.context.validation_definitions.add(
            self.gx.ValidationDefinition(name=suite.name, data=batch, suite=gx_suite)
        )
        self.definitions[suite.name] = (suite.digest, definition)
        return definition

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


def run_suite(
    suite: Suite,
    frame: pl.DataFrame,
    *,
    target: str,
    batch: str,
    run_id: str,
    parameters: dict[str, Any] | None = None,
    docs_dir: Path | None = None,
) -> SuiteOutcome:
    """Validate ``frame`` against ``suite``; renders a Data Docs page under ``docs_dir``."""
    started = time.perf_counter()  # before the import: GX's import is part of what we cost
    session = _session()
    from great_expectations.core.run_identifier import RunIdentifier

    definition = session.definition(suite)
    df = to_pandas(frame)
    index = [c for c in suite.index_columns if c in df.columns]
    result_format: dict[str, Any] = {
        "result_format": "SUMMARY",
        "partial_unexpected_count": MAX_EXAMPLES,
    }
    if index:
        result_format["unexpected_index_column_names"] = index
    gx_run = RunIdentifier(run_name=run_id, run_time=dt.datetime.now(dt.UTC))
    result = definition.run(
        batch_parameters={"dataframe": df},
        expectation_parameters=parameters or {},
        result_format=result_format,
        run_id=gx_run,
    )
    outcomes = [_outcome(r, index) for r in result.results]
    outcome = SuiteOutcome(
        suite=suite.name,
        stage=suite.stage,
        asset=suite.asset,
        target=target,
        run_id=run_id,
        rows=len(df),
        batch=batch,
        seconds=0.0,
        expectations=outcomes,
    )
    store = session.context.validation_results_store
    keys = [
        k
        for k in store.list_keys()
        if k.run_id == gx_run and k.expectation_suite_identifier.name == suite.name
    ]
    mode = docs_mode()
    if (
        docs_dir is not None
        and keys
        and (mode == "all" or mode == "failures" and outcome.status != "passed")
    ):
        outcome.docs_path = _render(session, docs_dir, keys[0])
    for key in keys:
        store.remove_key(key)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome


def _render(session: _Session, docs_dir: Path, key) -> str | None:
    site = session.site(docs_dir)
    session.context.build_data_docs(
        site_names=[site], resource_identifiers=[key], build_index=False
    )
    urls = session.context.get_docs_sites_urls(resource_identifier=key, site_name=site)
    url = urls[0].get("site_url") if urls else None
    return unquote(urlparse(url).path) if url else None


def _text(value: Any) -> str:
    import pandas as pd

    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if value is None or value is pd.NaT or value is pd.NA:
        return "null"
    if isinstance(value, dict):
        return "(" + ", ".join(f"{k}={_text(v)}" for k, v in value.items()) + ")"
    if isinstance(value, list | tuple):
        return "(" + ", ".join(_text(v) for v in value) + ")"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
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
    if low is not None and high is not None:
        return f"[{_text(low)} … {_text(high)}]"
    if low is not None:
        return f">= {_text(low)}"
    if high is not None:
        return f"<= {_text(high)}"
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
    columns = [kwargs[k] for k in ("column", "column_A", "column_B") if kwargs.get(k)]
    columns += list(kwargs.get("column_list") or [])
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
    )
