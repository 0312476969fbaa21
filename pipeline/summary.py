"""The short summary the CLI prints after a run: files landed, marts and headline figures."""

from __future__ import annotations

from pipeline.config import Settings
from pipeline.warehouse import open_warehouse, rows, table_exists


def print_summary(settings: Settings, run_id: str) -> None:
    """Print per-file ingest results of ``run_id``, mart row counts and a few headline figures.

    Opens the warehouse read-write: the run just finished in this process, which is the writer.
    """
    if not settings.warehouse_path.exists():
        return
    with open_warehouse(settings.warehouse_path) as con:
        if table_exists(con, "meta", "ingest_ledger"):
            files = rows(
                con,
                "select source_file, status, rows_read, rows_landed, rows_quarantined, reason, "
                "encoding, encoding_decided from meta.ingest_ledger "
                "where run_id = ? order by delivery_seq",
                [run_id],
            )
            if files:
                print("\nfiles landed in this run:")
                for name, status, read, landed, quarantined, reason, enc, how in files:
                    text = f" [text {enc}, {how}]" if enc else ""
                    if status == "refused":
                        print(f"  {name}: REFUSED — {reason}{text}")
                    else:
                        print(
                            f"  {name}: {read:,} read, {landed:,} landed, "
                            f"{quarantined:,} quarantined{text}"
                        )
        marts = rows(
            con,
            "select table_name, estimated_size from duckdb_tables() "
            "where schema_name = 'marts' order by table_name",
        )
        if marts:
            print(f"\nmarts in {settings.warehouse_path}:")
            for name, size in marts:
                print(f"  {name:<22} {size:>10,} rows")
        serving = settings.serving_dir / "marts.duckdb"
        if serving.exists():
            print(f"\nserving file for BI tools: {serving}")
        if table_exists(con, "marts", "retention_monthly"):
            latest = rows(
                con,
                "select month, customers_end, retention_rate from marts.retention_monthly "
                "where is_complete order by month desc limit 1",
            )
            for month, customers, rate in latest:
                pct = "n/a" if rate is None else f"{rate:.1%}"
                print(f"\n{month:%B %Y}: {customers:,} active customers, retention {pct}")
        if table_exists(con, "marts", "loyalty_summary"):
            for customers, repeat_rate, ror in rows(
                con, "select customers, repeat_rate, ror from marts.loyalty_summary"
            ):
                rr = "n/a" if repeat_rate is None else f"{repeat_rate:.1%}"
                ro = "n/a" if ror is None else f"{ror:.1%}"
                print(
                    f"{customers:,} buying customers, repeat rate {rr}, return on relationship {ro}"
                )
