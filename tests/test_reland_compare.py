"""What ``reland`` says of two warehouses (pipeline/cli/reland.py ``comparison``), on two small
DuckDB files made by hand: each way a delivery is not landed again, and each way a mart differs.
The whole command on real runs: tests/test_reland.py."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipeline.cli.reland import comparison

LEDGER = (
    "create table meta.ingest_ledger (file_sha256 text, source_file text, entity text, "
    "status text, reason text, rows_read bigint, rows_landed bigint, rows_quarantined bigint)"
)


def warehouse(path: Path, ledger: list[tuple], marts: dict[str, str]) -> Path:
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema meta")
        con.execute("create schema marts")
        con.execute(LEDGER)
        con.executemany("insert into meta.ingest_ledger values (?, ?, ?, ?, ?, ?, ?, ?)", ledger)
        for name, select in marts.items():
            con.execute(f"create table marts.{name} as {select}")
    finally:
        con.close()
    return path


def test_each_delivery_not_landed_again_and_each_mart_difference_is_said(tmp_path: Path) -> None:
    landing = tmp_path / "landing" / "crm" / "orders"
    landing.mkdir(parents=True)
    for name in ("a.csv", "b.csv", "d.csv"):  # c.csv was removed; b.csv replaced in place
        (landing / name).write_text("order_id\n")
    old = warehouse(
        tmp_path / "old.duckdb",
        [
            ("a", "crm/orders/a.csv", "orders", "landed", None, 3, 3, 0),
            ("b", "crm/orders/b.csv", "orders", "landed", None, 2, 2, 0),
            ("c", "crm/orders/c.csv", "orders", "landed", None, 1, 1, 0),
            ("d", "crm/orders/d.csv", "orders", "landed", None, 4, 4, 0),
            ("e", "crm/orders/e.csv", "orders", "refused", "empty", 0, 0, 0),
        ],
        {
            # Rows 1, 1, 2 against 1, 2, 3: one 1 and the 3 are each in one side only.
            "retention_monthly": "select * from (values (1), (1), (2)) t(n)",
            "email_monthly": "select 1 as n",
            "customer_360": "select 'x' as id, 1 as n",
            "prediction_model": "select 'r' as parameter, timestamp '2026-12-01' as fitted_at",
        },
    )
    new = warehouse(
        tmp_path / "new.duckdb",
        [
            ("a", "crm/orders/a.csv", "orders", "landed", None, 3, 2, 1),
            ("b2", "crm/orders/b.csv", "orders", "landed", None, 5, 5, 0),
            ("d", "crm/orders/d.csv", "orders", "refused", "unknown header 'x'", 0, 0, 0),
        ],
        {
            "retention_monthly": "select * from (values (1), (2), (3)) t(n)",
            "social_monthly": "select 1 as n",
            "customer_360": "select 'x' as id, 1 as n, 7 as tier",
            "prediction_model": "select 'r' as parameter, timestamp '2026-12-08' as fitted_at",
        },
    )
    assert comparison(old, new, tmp_path / "landing") == [
        "compared with the old warehouse (old.duckdb):",
        "  deliveries landed: 4 before, 2 now; rows read 10 / 8, landed 10 / 7, quarantined 0 / 1",
        "  not read again: 3 deliveries the old warehouse landed are not landed in the new one "
        "(their rows are in the old file only, which is kept):",
        "    crm/orders/b.csv (orders, 2 rows landed): its file in landing/ holds other bytes "
        "now (replaced by a later export)",
        "    crm/orders/c.csv (orders, 1 row landed): no longer in landing/",
        "    crm/orders/d.csv (orders, 4 rows landed): read again and refused by this release: "
        "unknown header 'x'",
        "  published marts (4 of 5 differ; rows in one warehouse and not the other, by except "
        "all):",
        "    customer_360      differs: new columns tier; the same rows in the others (1 row "
        "before, 1 now)",
        "    email_monthly     only in the old warehouse (1 row)",
        "    prediction_model  equal (1 row before, 1 now)",
        "    retention_monthly differs: 1 of the old rows not in the new, 1 of the new not in "
        "the old (3 rows before, 3 now)",
        "    social_monthly    only in the new warehouse (1 row)",
    ]
    # Both files read only: the old one is as it was.
    con = duckdb.connect(str(old), read_only=True)
    assert con.execute("select count(*) from meta.ingest_ledger").fetchall() == [(5,)]
    con.close()
