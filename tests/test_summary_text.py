"""The run summary: what happened to each file of the run, the serving file first, then the other
outputs, and what each figure means."""

import datetime as dt

import dagster as dg
from ingest_support import drop, make_settings

from assets.ingest import INGEST_ASSETS
from pipeline.cli.run import files_needing_attention
from pipeline.cli.summary import print_summary, run_reports
from pipeline.config import PipelineConfig, Settings
from pipeline.warehouse import Warehouse, open_warehouse, run, scalar


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
    assert "marts (2; published to the serving file above;" in out
    # A run stopped before serving (published=False): the same figures, not called published.
    print_summary(s, "no-run", published=False)
    out = capsys.readouterr().out
    assert "published to the serving file" not in out
    assert "marts (2) as this run left them in " in out
    assert "this run published nothing (BI tools still see the last" in out
    assert "headline figures, as of 2026-10-31, from the warehouse's marts, unpublished" in out
    assert "retention 83.3% = of the 6 customers active when October 2026 began" in out


ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\no1,c1,,2024-01-01,pending,EUR,5,,,\no2,c1,,2024-01-02,pending,EUR,6,,,\n"
)


def test_the_same_bytes_under_several_paths_in_one_run_are_each_said_as_they_went(data_dir, capsys):
    s = make_settings(data_dir)
    # One export of orders dropped into the contacts folder too, and copied once more; a broken
    # file delivered twice under two names.
    drop(s, "contacts", "o.csv", ORDERS)
    drop(s, "orders", "o.csv", ORDERS)
    drop(s, "orders", "p.csv", ORDERS)
    drop(s, "orders", "x.csv", "nonsense\n1\n")
    drop(s, "orders", "y.csv", "nonsense\n1\n")
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    instance = dg.DagsterInstance.ephemeral()

    def ingest() -> tuple[str, list]:
        result = dg.materialize(
            INGEST_ASSETS,
            selection=["raw_contacts", "raw_orders"],
            resources={"warehouse": warehouse},
            instance=instance,
        )
        return result.run_id, run_reports(instance, result.run_id)

    run_id, reports = ingest()
    capsys.readouterr()
    print_summary(s, run_id, reports)
    files = capsys.readouterr().out.split("files read in this run:\n")[1].split("\n\n")[0]
    moved = s.quarantine_dir / "crm"
    contacts_refusal = (
        "unknown header: no mapping for contacts matches it; the closest is "
        "'canonical_contacts', which lacks 'created_at'. Header: order_id, contact_id, email, "
        "ordered_at, status, currency, gross_amount, discount_amount, refund_amount, "
        "updated_at. Rename the columns, or add a mapping (see docs/vendors.md); it is a header "
        "of orders ('canonical_orders'): deliver the file into crm/orders/"
    )
    orders_refusal = (
        "unknown header: no mapping for orders matches it; the closest is 'canonical_orders', "
        "which lacks 'order_id', 'ordered_at', 'status', 'gross_amount'. Header: nonsense. "
        "Rename the columns, or add a mapping (see docs/vendors.md)"
    )
    # The ledger, one row per hash, kept only o.csv's landing and y.csv's refusal, and said
    # "retry of …, refused earlier" of both: nothing was retried, all happened in this run.
    assert files.splitlines() == [
        f"  crm/contacts/o.csv: REFUSED — {contacts_refusal} (moved to {moved}/contacts/)",
        "  crm/orders/o.csv: 2 rows read, 2 landed, 0 quarantined",
        "  crm/orders/p.csv: skipped — same bytes as crm/orders/o.csv (landed)",
        f"  crm/orders/x.csv: REFUSED — {orders_refusal} (moved to {moved}/orders/)",
        f"  crm/orders/y.csv: REFUSED — {orders_refusal} (moved to {moved}/orders/)",
        # What to do with them, once under the list (each line says only why and where).
        "  the refused files: fix or re-export them and put them in landing/ again, where a "
        "corrected file is a new delivery; python -m pipeline quarantine lists them with the "
        "reasons",
    ]
    # Three refused files, not the one the ledger keeps of them: the run's exit status is 3.
    assert files_needing_attention(s, run_id, reports) == 3
    # The next run meets o.csv and p.csv again, delivered before: nothing to say of them.
    run_id, reports = ingest()
    assert reports == []
    print_summary(s, run_id, reports)
    assert "files read in this run" not in capsys.readouterr().out


def test_a_copy_of_a_delivery_landed_in_an_earlier_run_is_said_once_with_its_day(data_dir, capsys):
    # The same export saved again under another name a run later: nothing of it lands, and the
    # summary said nothing of it either (only the asset log counted "1 file skipped").
    s = make_settings(data_dir)
    drop(s, "orders", "o.csv", ORDERS)
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    instance = dg.DagsterInstance.ephemeral()

    def summary() -> list[str]:
        result = dg.materialize(
            INGEST_ASSETS,
            selection=["raw_orders"],
            resources={"warehouse": warehouse},
            instance=instance,
        )
        capsys.readouterr()
        print_summary(s, result.run_id, run_reports(instance, result.run_id))
        out = capsys.readouterr().out
        if "files read in this run:\n" not in out:
            return []
        return out.split("files read in this run:\n")[1].split("\n\n")[0].splitlines()

    assert summary() == ["  crm/orders/o.csv: 2 rows read, 2 landed, 0 quarantined"]
    # The day the ledger recorded o.csv's landing: its bytes landed then, not in this run.
    with open_warehouse(s.warehouse_path) as con:
        day = scalar(con, "select landed_at::date from meta.ingest_ledger")
    drop(s, "orders", "o (1).csv", ORDERS)
    assert summary() == [
        f"  crm/orders/o (1).csv: skipped — same bytes as crm/orders/o.csv, landed on {day}"
    ]
    # Said once: the next run meets both files again, delivered before, and says nothing.
    assert summary() == []
    with open_warehouse(s.warehouse_path) as con:
        assert scalar(con, "select count(*) from raw.raw_orders") == 2


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
