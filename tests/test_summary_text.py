"""The run summary: the serving file first, then the other outputs, and what each figure means."""

import datetime as dt

from pipeline.cli.summary import print_summary
from pipeline.config import Settings
from pipeline.warehouse import open_warehouse, run


def test_summary_puts_serving_first_and_explains_the_figures(tmp_path, capsys):
    s = Settings.resolve(data_dir=str(tmp_path), as_of="2026-10-31")
    (s.serving_dir / "parquet").mkdir(parents=True)
    (s.serving_dir / "marts.duckdb").write_bytes(b"")  # only its existence is shown
    with open_warehouse(s.warehouse_path) as con:
        run(
            con,
            "create table marts.retention_monthly as select * from (values "
            "(date '2026-09-01', true, 20, 18, 0.9), (date '2026-10-01', true, 6, 5, 5 / 6)) "
            "t(month, is_complete, customers_start, customers_end, retention_rate)",
        )
        run(
            con,
            "create table marts.loyalty_summary as "
            "select 8 as customers, 3 / 8 as repeat_rate, 4 / 7 as ror",
        )
    print_summary(s, "no-run")
    out = capsys.readouterr().out
    assert (
        out.index("serving/marts.duckdb")
        < out.index("serving/parquet")
        < out.index("warehouse.duckdb")
    )
    # The latest complete month is October: 5 of its 6 starting customers stayed (5/6 = 83.3 %).
    assert "October 2026: 5 active customers at the month's end" in out
    assert "retention 83.3% = of the 6 customers active when October 2026 began" in out
    assert "repeat rate 37.5% = share of them with 2 or more" in out  # 3 / 8
    assert "return on relationship 57.1% = of the customers helped" in out  # 4 / 7
    assert f"as of {dt.date(2026, 10, 31)}" in out


def test_a_removed_models_table_is_not_listed_as_a_published_mart(tmp_path, capsys):
    # A mart removed from sql/marts/ leaves its table in the warehouse; serving no longer
    # publishes it (mart_names), so the summary's "published" list must not count it.
    s = Settings.resolve(data_dir=str(tmp_path), as_of="2026-10-31")
    with open_warehouse(s.warehouse_path) as con:
        run(con, "create table marts.email_monthly as select 1 as campaigns")
        run(con, "create table marts.orders_status_monthly as select 1 as orders")
    print_summary(s, "no-run")
    out = capsys.readouterr().out
    assert "marts (1; published to the serving file above" in out
    assert "  email_monthly          1 row" in out.splitlines()
    assert "orders_status_monthly" not in out
