"""One landed suite run for a group of small deliveries of an entity, shared out per file.

GX's own Python costs about 0.1 s per suite run, most of a small delivery's validation. The
ingestion core (``pipeline.ingest.core._Group``) hands consecutive small deliveries to the
validator's ``group``; their good rows, each with its file in :data:`SOURCE`, are validated in
one run. Only an outright pass is shared: every expectation met with no row unexpected, which
each file's own run would then pass too (a value expected in the union is expected in its
file; a key unique in the union is unique in its file; at most one currency in the union is at
most one in each file). Each file's outcome then carries its own counts, worked out here with
one ``GROUP BY`` over the batch. Anything else, a warning included, makes the core validate
each file on its own, so refusal reasons, examples with row numbers and warnings are exactly
those of a file's own run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import duckdb

from pipeline.sqltext import identifier, literal
from pipeline.validation.outcome import ExpectationOutcome, SuiteOutcome
from pipeline.validation.suites import (
    Suite,
    condition_columns,
    condition_text,
    expectation_columns,
)
from pipeline.warehouse import rows

SOURCE = "_source_file"  # the delivery a row of a group's batch comes from
# Expectations without unexpected rows that a pass on the union still proves for each file:
# a maximum count of distinct values (a file's values are some of the union's).
BOUNDED_ABOVE = ("expect_column_unique_value_count_to_be_between",)
# Uniqueness holds within a delivery, not across deliveries (a key re-sent later is a new
# version): in a group's batch, each such expectation's first column is told apart by file.
UNIQUENESS = ("expect_column_values_to_be_unique", "expect_compound_columns_to_be_unique")
# What else may read a column told apart by file: its nulls stay nulls.
NULLS_ONLY = ("expect_column_values_to_not_be_null",)
OPERATORS = {"==": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def keyed_by_file(suite: Suite, types: dict[str, str]) -> list[str] | None:
    """The columns a group's batch prefixes with its file's number (``3:`` + value), so that
    ``suite``'s uniqueness expectations hold across the group exactly when they hold in each
    file; None when that would change another expectation's result (a column that is not
    text, or is read by more than a null check), and the group cannot be validated at once.
    """
    keyed = []
    for exp in suite.expectations:
        columns = expectation_columns(exp.get("kwargs") or {})
        if exp.get("type") in UNIQUENESS and columns:
            keyed.append(columns[0])
    for exp in suite.expectations:
        kwargs = exp.get("kwargs") or {}
        read = set(expectation_columns(kwargs)) | condition_columns(kwargs.get("row_condition"))
        if exp.get("type") not in (*UNIQUENESS, *NULLS_ONLY) and read & set(keyed):
            return None
    if any(types.get(c) != "text" for c in keyed):
        return None
    return sorted(set(keyed))


def group_select(sql: str, number: int, source: str, keyed: list[str]) -> str:
    """A delivery's rows (``sql``) in its group's batch: with its file in :data:`SOURCE` and the
    ``keyed`` columns prefixed with its ``number`` (:func:`keyed_by_file`; a null stays null)."""
    replace = ", ".join(f"'{number}:' || {identifier(c)} as {identifier(c)}" for c in keyed)
    star = f"* replace ({replace})" if keyed else "*"
    return f"select {star}, {literal(source)} as {SOURCE} from ({sql})"


def condition_sql(condition: Any) -> str:
    """A GX row condition (comparison, nullity, and/or; ``suites.condition_text``) as SQL, or
    ``true`` for none; raises :class:`ValueError` for one it does not know."""
    if condition is None:
        return "true"
    if not isinstance(condition, dict):
        raise ValueError(f"row condition {condition!r} has no SQL form here")
    kind = condition.get("type")
    if kind in ("and", "or"):
        parts = [condition_sql(c) for c in condition.get("conditions") or []]
        return "(" + f" {kind} ".join(parts or ["true"]) + ")"
    name = (condition.get("column") or {}).get("name")
    if not isinstance(name, str):
        raise ValueError(f"row condition {condition!r} names no column")
    if kind == "nullity":
        return f"({identifier(name)} is {'' if condition.get('is_null') else 'not '}null)"
    if kind == "comparison" and condition.get("operator") in OPERATORS:
        op = OPERATORS[condition["operator"]]
        value = condition.get("parameter")
        number = isinstance(value, int | float) and not isinstance(value, bool)
        return f"({identifier(name)} {op} {str(value) if number else literal(value)})"
    raise ValueError(f"row condition {condition!r} has no SQL form here")


def _measures(suite: Suite) -> dict[tuple[str, str | None], dict[str, str]]:
    """Per (columns, condition text) of ``suite``'s expectations, the SQL aggregates of a file's
    own counts: the rows it judges, those missing every column, the distinct values."""
    found: dict[tuple[str, str | None], dict[str, str]] = {}
    for exp in suite.expectations:
        kwargs = exp.get("kwargs") or {}
        columns = expectation_columns(kwargs)
        condition = kwargs.get("row_condition")
        where = condition_sql(condition)
        missing = " and ".join(f"{identifier(c)} is null" for c in columns) or "false"
        measure = {
            "rows": f"count(*) filter (where {where})",
            "missing": f"count(*) filter (where {where} and {missing})",
        }
        if len(columns) == 1:
            measure["distinct"] = f"count(distinct {identifier(columns[0])}) filter (where {where})"
        found[(", ".join(columns), condition_text(condition))] = measure
    return found


def passed_outright(outcome: SuiteOutcome) -> bool:
    """Whether every expectation passed with no row unexpected (see the module's doc), or
    judged no row at all (its row condition held for none: GX then reports no counts)."""
    return outcome.status == "passed" and all(
        e.error is None
        and (
            e.unexpected_count == 0
            or (e.unexpected_count is None and e.expectation in BOUNDED_ABOVE)
            or _judged_none(e)
        )
        for e in outcome.expectations
    )


def _judged_none(e: ExpectationOutcome) -> bool:
    """A map expectation's result when no row met its condition: GX reports no counts."""
    return e.unexpected_count is None and not e.element_count and not e.observed


def file_counts(
    con: duckdb.DuckDBPyConnection, suite: Suite, batch: str
) -> dict[str, dict[tuple[str, str | None], dict[str, int]]]:
    """Each file's counts in the group's ``batch``: ``{file: {(columns, condition): {rows,
    missing, distinct}}}`` (:func:`_measures`), plus ``{file: {("", None): {"rows": n}}}``."""
    measures = _measures(suite)
    keys = list(measures)
    select = ["count(*)"] + [sql for k in keys for sql in measures[k].values()]
    found = rows(
        con,
        f"select {identifier(SOURCE)}, {', '.join(select)} from {identifier(batch)} group by 1",
    )
    counts = {}
    for source, total, *values in found:
        each: dict[tuple[str, str | None], dict[str, int]] = {("", None): {"rows": total}}
        it = iter(values)
        for k in keys:
            each[k] = {name: next(it) for name in measures[k]}
        counts[source] = each
    return counts


def share(
    outcome: SuiteOutcome,
    counts: dict[tuple[str, str | None], dict[str, int]],
    *,
    target: str,
    batch: str,
    files: int,
) -> SuiteOutcome:
    """File ``target``'s outcome from its group's passing ``outcome``: its rows, and each
    expectation's element, missing and observed counts on them (none unexpected)."""
    expectations = [_share(e, counts) for e in outcome.expectations]
    return dataclasses.replace(
        outcome,
        target=target,
        rows=counts[("", None)]["rows"],
        batch=f"{batch}; validated in one run of {files} deliveries",
        seconds=round(outcome.seconds / files, 3),
        expectations=expectations,
    )


def _share(e: ExpectationOutcome, counts: dict[tuple[str, str | None], dict[str, int]]):
    own = counts[(e.columns, e.condition)]
    if e.expectation in BOUNDED_ABOVE:  # GX's observed value is the distinct count
        return dataclasses.replace(e, observed=f"observed {own['distinct']}")
    n = own["rows"]
    if n == 0:  # its condition held for none of the file's rows: GX reports no counts
        return dataclasses.replace(
            e, element_count=0, unexpected_count=None, missing_count=None, observed=""
        )
    return dataclasses.replace(
        e,
        element_count=n,
        missing_count=None if e.missing_count is None else own["missing"],
        observed=f"0 of {n} rows unexpected",
    )
