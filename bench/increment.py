"""One more day of deliveries for the incremental benchmark, written next to the full build's.

For each entity, a deterministic share of the rows of the generator's main files (one version
per key) is copied into ``<prefix>_increment_<YYYYMMDD>.csv`` in the same landing folder:

- new records (``0.8 × fraction`` of the rows): a new key (``<key>-D<YYYYMMDD>``), every
  timestamp moved by the same amount so the record starts at a random second of ``day``; the
  person stays the same (orders, tickets, surveys and e-mail events of existing customers). New
  contacts get a new e-mail address and no social handles, so they are new customers.
- updated versions (``0.2 × fraction``, mutable entities only): the same key with a later
  ``updated_at`` on ``day`` — orders refunded, tickets closed, contacts with a new phone.

Files sort after the full build's (``_increment_`` > ``_delta_`` > ``_0001``), so both the
pipeline and the yardstick see them as the latest delivery.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
from yardstick import typed_column

from pipeline.entities import ENTITIES, Entity
from pipeline.sample_data.generate import FILE_PREFIX
from pipeline.sqltext import sql_path
from pipeline.warehouse import run, scalar

# The timestamp a record "starts" at; the others move with it.
PRIMARY = {
    "contacts": "created_at",
    "orders": "ordered_at",
    "tickets": "created_at",
    "surveys": "responded_at",
    "email_events": "occurred_at",
    "social_mentions": "posted_at",
}
NEW_SHARE, UPDATE_SHARE = 0.8, 0.2
BUCKETS = 1_000_000


def _picked(key: str, salt: str, share: float) -> str:
    return f"hash({key} || '{salt}') % {BUCKETS} < {int(round(share * BUCKETS))}"


def _text(entity: Entity, col: str, expr: str) -> str:
    typ = entity.columns[col]
    if typ == "timestamp":
        return f"strftime({expr}, '%Y-%m-%dT%H:%M:%SZ')"
    if typ == "date":
        return f"strftime({expr}, '%Y-%m-%d')"
    if typ.startswith("decimal"):
        return f"cast(cast({expr} as decimal(18, 2)) as varchar)"
    return f"cast({expr} as varchar)"


def _new_records(entity: Entity, tag: str, day_start: str) -> dict[str, str]:
    """Column → expression of a new record made from an existing one."""
    primary = PRIMARY[entity.name]
    # A random second of the day, fixed by the key, so the same input gives the same file.
    start = f"(timestamp '{day_start}' + to_seconds(hash({entity.key}) % 86400))"
    end = f"timestamp '{day_start}' + interval 1 day - interval 1 second"
    exprs = {c: c for c in entity.columns}
    for col in entity.timestamp_columns:
        # Exported at the day's end: nothing in it can have happened later (a reply, an update).
        exprs[col] = f"least({col} + ({start} - {primary}), {end})"
    exprs[entity.key] = f"{entity.key} || '-D{tag}'"
    if entity.name == "contacts":
        exprs["email"] = f"'d{tag}.' || email"
        for handle in ("twitter_handle", "facebook_handle", "instagram_handle", "linkedin_handle"):
            exprs[handle] = "null"
    return exprs


def _updated_versions(entity: Entity, day_start: str) -> dict[str, str] | None:
    """Column → expression of a newer version of an existing record; None if immutable."""
    if not entity.mutable:
        return None
    later = (
        f"greatest(coalesce(updated_at, timestamp '{day_start}') + interval 1 second, "
        f"timestamp '{day_start}' + to_seconds(hash({entity.key}) % 86400))"
    )
    exprs = {c: c for c in entity.columns}
    exprs["updated_at"] = later
    if entity.name == "orders":
        exprs["status"] = "'refunded'"
        exprs["refund_amount"] = "gross_amount - coalesce(discount_amount, 0)"
    elif entity.name == "tickets":
        exprs["status"] = "'closed'"
        exprs["solved_at"] = f"coalesce(solved_at, {later})"
        exprs["first_response_at"] = f"coalesce(first_response_at, {later})"
    elif entity.name == "contacts":
        exprs["phone"] = "'+44 7700 ' || lpad(cast(hash(contact_id) % 1000000 as varchar), 6, '0')"
    return exprs


def increment_sql(entity: Entity, files: list[Path], day: dt.date, fraction: float) -> str:
    """A ``select`` (text columns, canonical order) of one day's deliveries of ``entity``."""
    tag = day.strftime("%Y%m%d")
    day_start = f"{day:%Y-%m-%d} 00:00:00"
    paths = ", ".join(sql_path(p) for p in files)
    typed = ", ".join(f"{typed_column(entity, c)} as {c}" for c in entity.columns)
    source = f"(select {typed} from read_csv([{paths}], all_varchar = true, header = true))"
    parts = []
    new = _new_records(entity, tag, day_start)
    parts.append(
        f"select {', '.join(f'{e} as {c}' for c, e in new.items())} from {source} "
        f"where {_picked(entity.key, 'new' + tag, fraction * NEW_SHARE)}"
    )
    updated = _updated_versions(entity, day_start)
    if updated:
        parts.append(
            f"select {', '.join(f'{e} as {c}' for c, e in updated.items())} from {source} "
            f"where {_picked(entity.key, 'upd' + tag, fraction * UPDATE_SHARE)}"
        )
    body = " union all ".join(f"({p})" for p in parts)
    out = ", ".join(f"{_text(entity, c, c)} as {c}" for c in entity.columns)
    return f"select {out} from ({body}) order by {PRIMARY[entity.name]}, {entity.key}"


def write_increment(landing: Path, day: dt.date, fraction: float = 0.01) -> dict[str, int]:
    """Write one day of new and updated records (``fraction`` of each entity's rows) into
    ``landing``; returns rows written per entity."""
    written = {}
    with duckdb.connect() as con:
        run(con, "set TimeZone = 'UTC'")
        for name, entity in ENTITIES.items():
            folder = landing / entity.landing_path
            prefix = FILE_PREFIX[name]
            files = sorted(folder.glob(f"{prefix}_[0-9][0-9][0-9][0-9].csv"))
            if not files:
                written[name] = 0
                continue
            target = folder / f"{prefix}_increment_{day:%Y%m%d}.csv"
            select = increment_sql(entity, files, day, fraction)
            tmp = target.with_name("." + target.name)  # hidden until complete
            run(con, f"copy ({select}) to {sql_path(tmp)} (header, delimiter ',')")
            written[name] = int(scalar(con, f"select count(*) from read_csv({sql_path(tmp)})"))
            tmp.rename(target)
    return written
