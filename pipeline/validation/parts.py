"""Validate a large batch in parts, so that memory follows the part, not the delivery.

GX validates a pandas frame in memory, several copies of it at once: millions of e-mail events
in one batch cost gigabytes. A batch larger than :func:`part_rows` is split by a hash of its key
column into parts of about that size, each part validated on its own, and the outcomes merged.

That is exact for what the suites use:

- row-wise expectations (not null, in set, between, regex, type, column pairs): a row fails or
  passes on its own, so the batch's unexpected count is the sum of the parts';
- uniqueness of the key (alone or with other columns): every row of one key falls in one part;
- ``expect_column_unique_value_count_to_be_between``: run once, on the distinct values of its
  column (the distinct values have the same count as the whole column).

A column-value expectation with ``mostly`` (``MOSTLY_SUMMED``) is exact too: the parts'
unexpected and null counts are summed and the share of passing non-null values compared with
``mostly`` once, for the batch.

A suite with any other expectation (a row count, uniqueness of a non-key column) is validated
whole, as before: correct first, bounded where that is exact.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import duckdb
import polars as pl

from pipeline.sqltext import identifier
from pipeline.validation.outcome import MAX_EXAMPLES, ExpectationOutcome, SuiteOutcome
from pipeline.validation.suites import Suite, expectation_columns
from pipeline.warehouse import frame, rows, run, scalar

PART_ROWS_ENV = "PIPELINE_VALIDATION_PART_ROWS"
DEFAULT_PART_ROWS = 200_000
# Above this many parts a batch kept in DuckDB is sorted by its key hash first. Timed once, by
# hand: 6.4M e-mail events (32 parts) in memory, 3.9 s of filtered scans against 4.3 s sorted;
# 20M rows spilling under a 1 GB limit (100 parts), 170 s against 23 s.
SORT_ABOVE_PARTS = 40

ROW_WISE = frozenset(
    {
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_null",
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
        "expect_column_values_to_be_in_type_list",
        "expect_column_values_to_be_of_type",
        "expect_column_pair_values_to_be_equal",
        "expect_column_pair_values_a_to_be_greater_than_b",
        # Every part carries every column of the batch.
        "expect_table_columns_to_match_set",
    }
)
# Row-wise expectations whose ``mostly`` share is of non-null values (GX reports missing_count):
# summed over the parts exactly. With ``mostly``, any other expectation is validated whole.
MOSTLY_SUMMED = frozenset(
    {
        "expect_column_values_to_be_in_set",
        "expect_column_values_to_not_be_in_set",
        "expect_column_values_to_be_between",
        "expect_column_values_to_match_regex",
        "expect_column_values_to_not_match_regex",
    }
)
KEY_LOCAL = frozenset({"expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique"})
ON_DISTINCT = frozenset({"expect_column_unique_value_count_to_be_between"})

Runner = Callable[..., SuiteOutcome]


class SqlRows:
    """A batch kept in DuckDB (a temporary table) and fetched one part at a time.

    A first build's new rows are the whole table: pulling them into one frame would cost what
    validating in parts saves. Each row's key hash is stored once (``_hash``) and a part is a
    range of hashes, so fetching it compares an integer column instead of hashing the keys
    again. Filtering the whole table for every part costs parts × rows, and once the table
    spills out of DuckDB's memory every part reads it all from disk again (8 s a part for 63M
    e-mail events). So a batch of more than :data:`SORT_ABOVE_PARTS` parts is stored ordered by
    its hash, and a part's range then reads only its own row groups. ``close()`` drops the
    temporary table.
    """

    def __init__(
        self, con: duckdb.DuckDBPyConnection, sql: str, name: str, key: str | None = None
    ) -> None:
        self.con = con
        self.table = "_batch_" + "".join(c if c.isalnum() else "_" for c in name)
        self.key = key
        hashed = f"select *, hash({identifier(key)}) as _hash from ({sql})" if key else sql
        run(con, f"create or replace temp table {self.table} as {hashed}")
        self.height = int(scalar(con, f"select count(*) from {self.table}"))
        self.columns = [r[0] for r in rows(con, f"describe {self.table}") if r[0] != "_hash"]
        self.sorted = bool(key) and self.height > SORT_ABOVE_PARTS * part_rows()
        if self.sorted:
            unsorted = f"{self.table}_unsorted"
            run(con, f"drop table if exists {unsorted}")
            run(con, f"alter table {self.table} rename to {unsorted}")
            run(con, f"create temp table {self.table} as from {unsorted} order by _hash")
            run(con, f"drop table {unsorted}")

    def _select(self, where: str = "") -> str:
        star = "* exclude (_hash)" if self.key else "*"
        return f"select {star} from {self.table} {where}"

    def collect(self) -> pl.DataFrame:
        return frame(self.con, self._select())

    def part(self, key: str, i: int, n: int) -> pl.DataFrame:
        """Part ``i`` of ``n``: the rows whose key hash is in the ``i``-th of ``n`` equal ranges."""
        if key != self.key:
            raise ValueError(f"{self.table} was hashed by {self.key!r}, not {key!r}")
        low, high = hash_range(i, n)
        upper = f" and _hash < {high}::ubigint" if high is not None else ""
        return frame(self.con, self._select(f"where _hash >= {low}::ubigint{upper}"))

    def distinct(self, columns: list[str]) -> pl.DataFrame:
        names = ", ".join(identifier(c) for c in columns)
        return frame(self.con, f"select distinct {names} from {self.table}")

    def close(self) -> None:
        run(self.con, f"drop table if exists {self.table}")


def hash_range(i: int, n: int) -> tuple[int, int | None]:
    """Bounds of the ``i``-th of ``n`` equal ranges of DuckDB's 64-bit ``hash()`` (None: none)."""
    if not 0 <= i < n:
        raise ValueError(f"part {i} of {n} does not exist")
    return i * 2**64 // n, (i + 1) * 2**64 // n if i < n - 1 else None


def _whole(rows_: pl.DataFrame | SqlRows) -> pl.DataFrame:
    return rows_ if isinstance(rows_, pl.DataFrame) else rows_.collect()


def _part(rows_: pl.DataFrame | SqlRows, key: str, i: int, n: int) -> pl.DataFrame:
    if isinstance(rows_, pl.DataFrame):
        return rows_.filter(pl.col(key).hash(seed=0) % n == i)
    return rows_.part(key, i, n)


def _distinct(rows_: pl.DataFrame | SqlRows, columns: list[str]) -> pl.DataFrame:
    if isinstance(rows_, pl.DataFrame):
        return rows_.select(columns).unique()
    return rows_.distinct(columns)


def part_rows() -> int:
    """``PIPELINE_VALIDATION_PART_ROWS``: the most rows GX validates at once (default 200,000)."""
    from pipeline.config import setting

    return setting(PART_ROWS_ENV)


def _columns(expectation: dict[str, Any]) -> list[str]:
    return expectation_columns(expectation.get("kwargs") or {})


def _placement(expectation: dict[str, Any], key: str) -> str | None:
    """``part``, ``distinct`` or None (the expectation needs the whole batch)."""
    kwargs = expectation.get("kwargs") or {}
    kind = expectation["type"]
    if kwargs.get("mostly") is not None:
        return "part" if kind in MOSTLY_SUMMED else None
    if kind in ROW_WISE:
        return "part"
    if kind in KEY_LOCAL and key in _columns(expectation):
        return "part"
    if kind in ON_DISTINCT and not kwargs.get("row_condition"):
        return "distinct"
    return None


def _subsuite(suite: Suite, suffix: str, expectations: list[dict[str, Any]]) -> Suite:
    document = {**suite.document, "name": f"{suite.name}{suffix}", "expectations": expectations}
    return dataclasses.replace(suite, name=document["name"], document=document)


def validate_in_parts(
    run_suite: Runner,
    suite: Suite,
    batch_rows: pl.DataFrame | SqlRows,
    key: str | None,
    **kwargs: Any,
) -> SuiteOutcome:
    """``run_suite(suite, frame, **kwargs)``, in parts split by ``key`` when the batch is large.

    ``run_suite`` is :func:`pipeline.validation.runner.run_suite`. The merged outcome carries
    every expectation of the suite once, under the suite's own name.
    """
    limit = part_rows()
    placements = [_placement(e, key) if key else None for e in suite.expectations]
    splittable = key is not None and key in batch_rows.columns and None not in placements
    if batch_rows.height <= limit or not splittable:
        return run_suite(suite, _whole(batch_rows), **kwargs)
    n_parts = -(-batch_rows.height // limit)
    per_part = [e for e, p in zip(suite.expectations, placements, strict=True) if p == "part"]
    on_distinct = [e for e, p in zip(suite.expectations, placements, strict=True) if p != "part"]
    part_suite = _subsuite(suite, "__parts", per_part)
    batch = kwargs.pop("batch")
    docs_dir = kwargs.pop("docs_dir", None)
    outcomes: list[SuiteOutcome] = []
    for i in range(n_parts):
        part = _part(batch_rows, key, i, n_parts)
        label = f"{batch} (part {i + 1} of {n_parts})"
        # One Data Docs page per batch: the first part's, or that of a part that failed.
        first_docs = docs_dir if i == 0 else None
        outcome = run_suite(part_suite, part, batch=label, docs_dir=first_docs, **kwargs)
        if outcome.status != "passed" and i > 0 and docs_dir is not None:
            outcome = run_suite(part_suite, part, batch=label, docs_dir=docs_dir, **kwargs)
        outcomes.append(outcome)
        del part
    extra: SuiteOutcome | None = None
    if on_distinct:
        columns = sorted({c for e in on_distinct for c in _columns(e)})
        extra = run_suite(
            _subsuite(suite, "__distinct", on_distinct),
            _distinct(batch_rows, columns),
            batch=f"{batch}: distinct values of {', '.join(columns)}",
            docs_dir=None,
            **kwargs,
        )
    return merge(suite, batch, outcomes, extra)


def merge(
    suite: Suite, batch: str, parts: list[SuiteOutcome], extra: SuiteOutcome | None
) -> SuiteOutcome:
    """One outcome from the parts' outcomes, then the distinct-values run's."""
    by_part = zip(*(p.expectations for p in parts), strict=True)
    expectations = [_merge_expectation(list(group)) for group in by_part]
    expectations += extra.expectations if extra else []
    failing = [p for p in parts if p.status != "passed" and p.docs_path]
    pages = failing or [p for p in parts if p.docs_path]
    return SuiteOutcome(
        suite=suite.name,
        stage=suite.stage,
        asset=suite.asset,
        target=parts[0].target,
        run_id=parts[0].run_id,
        rows=sum(p.rows for p in parts),
        batch=f"{batch}, validated in {len(parts)} parts",
        seconds=round(sum(p.seconds for p in parts) + (extra.seconds if extra else 0.0), 3),
        expectations=expectations,
        docs_path=pages[0].docs_path if pages else None,
    )


def _merge_expectation(group: list[ExpectationOutcome]) -> ExpectationOutcome:
    """The whole batch's result of one expectation from its result on each part."""
    first = group[0]
    failed = [e for e in group if not e.success]
    counted = all(e.unexpected_count is not None for e in group)
    unexpected = sum(e.unexpected_count or 0 for e in group) if counted else None
    total = sum(e.element_count or 0 for e in group) if counted else None
    missing = None
    if counted and all(e.missing_count is not None for e in group):
        missing = sum(e.missing_count or 0 for e in group)
    success = not failed
    if first.mostly is not None and missing is not None and not any(e.error for e in group):
        # The batch's share of passing non-null values, as GX computes it on a whole batch.
        judged = (total or 0) - missing
        success = judged == 0 or (judged - (unexpected or 0)) / judged >= first.mostly
    if counted:
        observed = f"{unexpected} of {total} rows unexpected"
    else:
        observed = (failed or group)[0].observed
    examples = [x for e in failed for x in e.examples][:MAX_EXAMPLES] if not success else []
    errors = [e.error for e in group if e.error]
    return dataclasses.replace(
        first,
        success=success,
        missing_count=missing,
        observed=observed,
        unexpected_count=unexpected,
        element_count=total,
        examples=examples,
        error=errors[0] if errors else None,
    )
