"""The raw tables as the oracle reads them from the landing folder itself.

Canonical CSV deliveries are parsed here with the standard library (``csv``, ``datetime``,
``Decimal``), from the rules of ``spec/contracts.md`` ("Parsing rules", "Identity"), so that the
pipeline's parsing, decimals and time zones are inside the comparison. A delivery in a vendor's
format is outside this reader: its rows are taken from the pipeline's raw table (the vendor
tests check those mappings by hand).

- Deliveries of an entity are taken in path order (they land together in one run); the same
  bytes delivered again change nothing.
- An empty field is NULL. Timestamps are ISO 8601 with ``Z`` or an offset, or naive in the
  configured time zone; all are stored as naive UTC. Amounts keep their four decimals.
- A row's number is its spreadsheet row: the header is row 1.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl

from pipeline.entities import ENTITIES, Entity

POLARS_TYPES: dict[str, pl.DataType] = {
    "text": pl.String(),
    "timestamp": pl.Datetime("us"),
    "decimal(18,4)": pl.Decimal(18, 4),
    "integer": pl.Int32(),
    "date": pl.Date(),
}
LINEAGE = {"_source_file": pl.String(), "_row_number": pl.Int64(), "_delivery_seq": pl.Int64()}


def _timestamp(text: str, zone: ZoneInfo) -> dt.datetime:
    """An ISO 8601 timestamp as naive UTC; a naive one is read in ``zone``, and a date alone
    is that day at 00:00 UTC (a day, not the instant of its midnight in ``zone``)."""
    value = dt.datetime.fromisoformat(text)
    if len(text.strip()) == len("YYYY-MM-DD"):
        return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _value(text: str, kind: str, zone: ZoneInfo) -> object:
    if text == "":
        return None
    if kind == "timestamp":
        return _timestamp(text, zone)
    if kind.startswith("decimal"):
        return Decimal(text).quantize(Decimal("0.0001"))
    if kind == "integer":
        return int(text)
    if kind == "date":
        return dt.date.fromisoformat(text)
    return text


def _canonical_rows(entity: Entity, text: str, zone: ZoneInfo) -> list[dict] | None:
    """The rows of a canonical CSV delivery, typed; None when the header is not canonical."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    if not header or set(header) - set(entity.columns):
        return None
    rows = []
    for number, record in enumerate(reader, start=2):
        values = dict(zip(header, record, strict=True))
        rows.append(
            {c: _value(values.get(c, ""), kind, zone) for c, kind in entity.columns.items()}
            | {"_row_number": number}
        )
    return rows


def _deliveries(folder: Path) -> list[Path]:
    """The delivery files of a landing folder in path order (hidden files left out)."""
    if not folder.is_dir():
        return []
    files = [
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    return sorted(files, key=lambda p: p.relative_to(folder).as_posix())


def read_landing(
    landing: Path, pipeline_raw: dict[str, pl.DataFrame], timezone: str = "UTC"
) -> tuple[dict[str, pl.DataFrame], dict[str, list[str]]]:
    """Every entity's delivered rows read from ``landing``, typed as the raw tables.

    Returns the tables (canonical columns plus ``_source_file``, ``_row_number`` and
    ``_delivery_seq``) and, per entity, the files taken from ``pipeline_raw`` (vendor formats).
    """
    zone = ZoneInfo(timezone)
    tables: dict[str, pl.DataFrame] = {}
    borrowed: dict[str, list[str]] = {}
    for name, entity in ENTITIES.items():
        schema = {c: POLARS_TYPES[t] for c, t in entity.columns.items()} | LINEAGE
        parts: list[pl.DataFrame] = []
        seen: set[str] = set()
        borrowed[name] = []
        for seq, path in enumerate(_deliveries(landing / entity.landing_path), start=1):
            data = path.read_bytes()
            digest = hashlib.sha256(data).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            source = path.relative_to(landing).as_posix()
            rows = _canonical_rows(entity, data.decode("utf-8-sig"), zone)
            if rows is None:
                borrowed[name].append(source)
                frame = pipeline_raw[name].filter(pl.col("_source_file") == source)
                frame = frame.select([*entity.columns, "_row_number"])
            else:
                columns = {c: schema[c] for c in entity.columns} | {"_row_number": pl.Int64()}
                frame = pl.DataFrame(rows, schema=columns)
            parts.append(
                frame.with_columns(
                    pl.lit(source).alias("_source_file"),
                    pl.lit(seq, pl.Int64).alias("_delivery_seq"),
                ).cast(schema)
            )
        tables[name] = (
            pl.concat(parts, how="vertical") if parts else pl.DataFrame(schema=schema)
        ).select(list(schema))
    return tables, borrowed
