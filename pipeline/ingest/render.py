"""The inverse of a mapping: canonical rows written in a vendor's export format.

Used by the sample generator (``pipeline.sample_data.vendor``) so that the vendor mappings are
exercised end to end, and by tests that check a mapping reads back what it wrote. A mapping
renders only what it can carry: :func:`carries` says which rows those are.
"""

from __future__ import annotations

import polars as pl

from pipeline.entities import ENTITIES
from pipeline.ingest.mappings import Mapping
from pipeline.ingest.parse import states_offset


class NotRenderable(ValueError):
    """A mapping that cannot write a value (a pattern, a template, an unmapped enum value)."""


def _inverse_values(mapping: Mapping, col: str, values: list[str]) -> dict[str, str]:
    """Canonical value → the vendor value that reads back as it (first key in the file)."""
    table = mapping.values.get(col, {})
    forward = {k.strip().lower(): v for k, v in table.items() if k != "*"}
    inverse: dict[str, str] = {}
    for value in values:
        key = next((k for k, v in table.items() if k != "*" and v == value), None)
        if key is None:
            reads_as = forward.get(value.lower(), table.get("*", value))
            if reads_as != value:
                raise NotRenderable(
                    f"{mapping.name}: no vendor value of {col} reads back as {value!r}"
                )
            key = value
        inverse[value] = key
    return inverse


def _timestamp_text(col: pl.Expr, fmt: str, timezone: str) -> pl.Expr:
    """UTC naive timestamps as text in a mapping's stated format."""
    if fmt == "epoch_s":
        return col.dt.epoch("s").cast(pl.String)
    if fmt == "epoch_ms":
        return col.dt.epoch("ms").cast(pl.String)
    if fmt == "iso":
        return col.dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
    if states_offset(fmt):
        return col.dt.replace_time_zone("UTC").dt.to_string(fmt)
    local = col.dt.replace_time_zone("UTC").dt.convert_time_zone(timezone)
    return local.dt.to_string(fmt)


def carries(frame: pl.DataFrame, mapping: Mapping) -> pl.Series:
    """Per row: whether every value it holds has a place in the vendor format."""
    entity = ENTITIES[mapping.entity]
    placed = set(mapping.columns) | set(mapping.minutes_after)
    if mapping.aggregate:
        placed.add("gross_amount")
    checks = [pl.lit(True)]
    for col in entity.columns:
        if col in mapping.constants:
            checks.append(pl.col(col).is_null() | (pl.col(col) == mapping.constants[col]))
        elif col not in placed:
            checks.append(pl.col(col).is_null())
    for kind, table in mapping.scores.items():
        # a score the vendor's scale has no answer for (HubSpot's CSAT has no 2 or 4)
        answers = [int(v) for v in table.values()]
        checks.append((pl.col("survey_type") != kind) | pl.col("score").is_in(answers))
    return frame.select(pl.all_horizontal(checks).alias("carried")).to_series()


def render(frame: pl.DataFrame, mapping: Mapping) -> pl.DataFrame:
    """Canonical typed rows → the vendor's columns, all text, empty where there is no value.

    Line-item exports get one line per order (quantity 1 at the order's gross amount).
    Raises :class:`NotRenderable` for what the mapping cannot write.
    """
    if mapping.patterns or mapping.templates:
        raise NotRenderable(f"{mapping.name}: patterns and templates cannot be inverted")
    entity = ENTITIES[mapping.entity]
    tz = mapping.timezone or "UTC"
    out: dict[str, pl.Expr] = {}
    for col, typ in entity.columns.items():
        if col not in mapping.columns:
            continue
        value = pl.col(col)
        if typ == "timestamp":
            text = _timestamp_text(value, mapping.timestamp_format_of(col), tz)
        elif typ == "date":
            text = value.dt.to_string(mapping.date_format)
        elif typ.startswith("decimal"):
            text = value.cast(pl.String)
            if mapping.decimal == ",":
                text = text.str.replace(".", ",", literal=True)
        else:
            text = value.cast(pl.String)
        if col in mapping.values:
            present = frame[col].drop_nulls().unique().cast(pl.String).to_list()
            inverse = _inverse_values(mapping, col, present)
            text = text.replace_strict(inverse, default=None)
        if col == "score" and mapping.scores:
            for kind, table in mapping.scores.items():
                answer_of: dict[str, str] = {}  # contract score -> the first vendor answer
                for answer, score in table.items():
                    answer_of.setdefault(score, answer)
                answer = value.cast(pl.String).replace_strict(answer_of, default=None)
                text = pl.when(pl.col("survey_type") == kind).then(answer).otherwise(text)
        out.setdefault(mapping.columns[col][0], text)
    for col, (base, minutes_col) in mapping.minutes_after.items():
        minutes = (pl.col(col) - pl.col(base)).dt.total_milliseconds() / 60_000
        out[minutes_col] = minutes.cast(pl.String)
    if mapping.aggregate:
        out[mapping.aggregate.quantity] = pl.lit("1")
        out[mapping.aggregate.unit_price] = pl.col("gross_amount").cast(pl.String)
    for name in mapping.signature:
        out.setdefault(name, pl.lit(None, dtype=pl.String))
    return frame.select(**out).fill_null("")
