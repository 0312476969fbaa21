"""A publication after a small change rewrites only the marts whose rows changed.

The serving step starts from a copy of the serving file in place when it is the publication
its last record describes; the result must be what a publication of every mart gives.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
from test_serving import MARTS, write_marts

from assets.serving import SERVING_FILE, build_serving_asset, publish
from pipeline.config import PipelineConfig
from pipeline.warehouse import Warehouse, open_warehouse, rows, run


def publish_step(data_dir: Path) -> dict:
    """Run the serving step (real Dagster) and return its materialisation's metadata."""
    config = PipelineConfig(data_dir=str(data_dir))
    result = dg.materialize(
        [build_serving_asset(MARTS)],
        resources={"config": config, "warehouse": Warehouse(config=config)},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("serving_marts")
    return {k: v.value for k, v in mat.metadata.items()}


def five_customers(data_dir: Path) -> None:
    """loyalty_customers gets customers 0..4 (purchases 1..5); retention_monthly is untouched."""
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        run(
            con,
            "create or replace table marts.loyalty_customers as select "
            "printf('%016x', range) as customer_id, sha256('c' || range || '@example.com') "
            "as email_sha256, cast(range + 1 as bigint) as purchases from range(5)",
        )


def serving_content(path: Path) -> dict[str, object]:
    """Every table of a serving file: its columns with types and comments, its rows in order,
    its table comment; the publication table without the columns a publication sets anew."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        out: dict[str, object] = {}
        for (table,) in rows(con, "select table_name from duckdb_tables() order by 1"):
            out[f"{table}:columns"] = rows(
                con,
                "select column_name, data_type, comment from duckdb_columns() "
                "where table_name = ? order by column_index",
                [table],
            )
            out[f"{table}:comment"] = rows(
                con, "select comment from duckdb_tables() where table_name = ?", [table]
            )
            keep = (
                "mart, row_count, description, as_of, settings" if table == "publication" else "*"
            )
            out[table] = rows(con, f"select {keep} from {table}")
        return out
    finally:
        con.close()


def parquet_content(folder: Path) -> dict[str, object]:
    """Every Parquet file's schema, rows and metadata, but for what names the publication."""
    out: dict[str, object] = {}
    for path in sorted(folder.glob("*.parquet")):
        table = pq.read_table(path)
        if path.stem == "publication":  # its rows name the publication: set anew each time
            table = table.drop_columns(["publication_id", "published_at"])
        meta = {
            k: v
            for k, v in (table.schema.metadata or {}).items()
            if k not in (b"publication_id", b"published_at", b"ARROW:schema")
        }
        out[path.name] = (str(table.schema.remove_metadata()), table.to_pylist(), meta)
    return out


def test_unchanged_mart_is_kept_and_changed_one_replaced(data_dir: Path) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
    first = publish_step(data_dir)
    assert first["marts_kept"] == []  # nothing published before: every mart is written
    five_customers(data_dir)
    second = publish_step(data_dir)
    # Only loyalty_customers changed (3 -> 5 rows); retention_monthly is copied.
    assert second["marts_kept"] == ["retention_monthly"]
    assert second["marts"] == {"loyalty_customers": 5, "retention_monthly": 2}
    serving = data_dir / "serving"
    con = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        # Purchases are range + 1 for range 0..4: 1+2+3+4+5 = 15 (the new rows, not 1+2+3).
        assert rows(con, "select count(*), sum(purchases) from loyalty_customers") == [(5, 15)]
        # write_marts' two literal months, customers_end 10 and 3 (customers=3 then).
        assert rows(con, "select customers_end from retention_monthly order by month") == [
            (10,),
            (3,),
        ]
        ids = rows(con, "select distinct publication_id from publication")
    finally:
        con.close()
    # One publication: the file, every row of its publication table and every Parquet file.
    assert ids == [(second["publication_id"],)]
    for path in (serving / "parquet").glob("*.parquet"):
        meta = pq.read_metadata(path).metadata
        assert meta[b"publication_id"].decode() == second["publication_id"], path.name
    # The same content as a publication of every mart from the same warehouse.
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        publish(con, data_dir / "whole", MARTS)
    assert serving_content(serving / SERVING_FILE) == serving_content(
        data_dir / "whole" / SERVING_FILE
    )
    assert parquet_content(serving / "parquet") == parquet_content(data_dir / "whole" / "parquet")


def test_a_serving_file_not_from_the_recorded_publication_is_not_copied(data_dir: Path) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
    publish_step(data_dir)
    # Someone publishes by hand (another publication id than the step recorded) ...
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        publish(con, data_dir / "serving", MARTS)
    five_customers(data_dir)
    # ... so the step trusts nothing in place and writes every mart.
    assert publish_step(data_dir)["marts_kept"] == []


def test_a_new_row_with_an_email_is_still_refused(data_dir: Path) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
    first = publish_step(data_dir)
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        # One new row among the published ones: only it is scanned, and it holds an address.
        run(
            con,
            "insert into marts.loyalty_customers values "
            "('ann@example.com', sha256('ann@example.com'), 1)",
        )
    config = PipelineConfig(data_dir=str(data_dir))
    result = dg.materialize(
        [build_serving_asset(MARTS)],
        resources={"config": config, "warehouse": Warehouse(config=config)},
        raise_on_error=False,
    )
    assert not result.success
    (failure,) = result.get_step_failure_events()
    message = failure.step_failure_data.error.cause.message  # the step's own error
    assert "mart 'loyalty_customers' column 'customer_id' holds 1 e-mail" in message
    # Nothing published changed: the file still holds the first publication.
    con = duckdb.connect(str(data_dir / "serving" / SERVING_FILE), read_only=True)
    try:
        ids = rows(con, "select distinct publication_id from publication")
        assert rows(con, "select count(*) from loyalty_customers") == [(3,)]
    finally:
        con.close()
    assert ids == [(first["publication_id"],)]


def test_a_damaged_serving_file_is_not_copied(data_dir: Path) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
    publish_step(data_dir)
    # The file in place is no DuckDB file any more (a torn copy, a disk error) ...
    (data_dir / "serving" / SERVING_FILE).write_bytes(b"not a database")
    five_customers(data_dir)
    # ... so the step writes every mart into a new file instead of failing.
    meta = publish_step(data_dir)
    assert meta["marts_kept"] == []
    assert meta["marts"] == {"loyalty_customers": 5, "retention_monthly": 2}
