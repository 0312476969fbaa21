"""Quarantined rows where people look: grouped reasons, the CSV beside them, the listing."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
from ingest_support import FIXTURES, drop, land, make_settings

from assets.ingest import INGEST_ASSETS
from pipeline.__main__ import main
from pipeline.cli.quarantine_report import WarehouseBusy, list_quarantine
from pipeline.config import PipelineConfig
from pipeline.ingest.quarantine_report import reason_groups, summary_lines, write_rows_csv
from pipeline.ingest.report import counts_text
from pipeline.warehouse import Warehouse, open_warehouse, rows
from pipeline.words import counted

ORDERS_HEADER = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,"
    "discount_amount,refund_amount,updated_at\n"
)
# Five orders: o1 good; o2 and o3 with unreadable amounts; o4 with an unknown status; o5 good.
ORDERS = ORDERS_HEADER + (
    "o1,c1,,2024-01-01,completed,EUR,5,,,\n"
    "o2,c2,,2024-01-02,completed,EUR,five,,,\n"
    "o3,c3,,2024-01-03,completed,EUR,ten,,,\n"
    "o4,c4,,2024-01-04,shipped,EUR,7,,,\n"
    "o5,c5,,2024-01-05,pending,EUR,9,,,\n"
)
# How parse.py words an unreadable amount.
NUMBER = "as a number with '.' as decimal separator"


def test_counts_of_a_line_item_export_say_lines_became_orders() -> None:
    # The example: 84 lines, no bad ones, 41 orders.
    assert counts_text(84, 41, 0, combined=True) == (
        "84 lines read, combined into 41 orders, 41 landed"
    )
    assert counts_text(5, 1, 4, combined=False) == "5 rows read, 1 landed, 4 quarantined"


def test_one_of_a_thing_is_said_in_the_singular() -> None:
    assert counts_text(1, 1, 0, combined=False) == "1 row read, 1 landed, 0 quarantined"
    assert counts_text(1, 1, 0, combined=True) == "1 line read, combined into 1 order, 1 landed"
    assert counts_text(2, 1, 1, combined=True) == (
        "2 lines read, 1 quarantined, the other 1 combined into 1 order, 1 landed"
    )
    assert counts_text(1_250, 0, 1_250, combined=False) == (
        "1,250 rows read, 0 landed, 1,250 quarantined"
    )
    assert [counted(n, "row") for n in (0, 1, 2, 1_000)] == [
        "0 rows",
        "1 row",
        "2 rows",
        "1,000 rows",
    ]
    assert counted(1, "changed key") == "1 changed key"
    assert counted(3, "delivery", "deliveries") == "3 deliveries"


def test_shopify_lines_reasons_and_csv(data_dir: Path) -> None:
    s = make_settings(data_dir)
    drop(s, "orders", "shopify.csv", (FIXTURES / "shopify_orders.csv").read_bytes())
    (report,) = land(s, "orders")
    # The fixture: 6 lines; #1004's two lines (rows 6 and 7) are quarantined; the other 4
    # lines are orders #1001 (2 lines), #1002 and #1003.
    assert report.combined
    assert report.summary() == (
        "crm/orders/shopify.csv: landed via shopify_orders: 6 lines read, 2 quarantined, "
        "the other 4 combined into 3 orders, 3 landed"
    )
    with open_warehouse(s.warehouse_path) as con:
        groups = reason_groups(con)
        sha = rows(con, "select file_sha256 from meta.ingest_ledger")[0][0]
        path = write_rows_csv(con, s, sha, "crm/orders/shopify.csv")
    assert [(g.rule, g.count, g.examples) for g in groups] == [
        (
            "'Lineitem quantity': cannot read '…' as a number",
            1,
            [(7, "'Lineitem quantity': cannot read 'two' as a number")],
        ),
        (
            "another line of order '…' was quarantined",
            1,
            [(6, "another line of order '#1004' was quarantined")],
        ),
    ]
    assert path == s.quarantine_dir / "crm" / "orders" / "shopify.csv.rows.csv"
    assert path.stat().st_mode & 0o777 == 0o600  # personal data: the owner only
    with path.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.DictReader(fh))
    assert [(r["file"], r["line"], r["Name"], r["Lineitem quantity"]) for r in got] == [
        ("crm/orders/shopify.csv", "6", "#1004", "1"),
        ("crm/orders/shopify.csv", "7", "#1004", "two"),
    ]
    assert got[1]["reason"] == "'Lineitem quantity': cannot read 'two' as a number"


def test_ingest_asset_writes_csv_and_reasons_and_summary(data_dir: Path, capsys) -> None:
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS, selection=["raw_orders"], resources={"warehouse": warehouse}
    )
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    meta = mat.materialization.metadata
    # o2 and o3 share one rule (lines 3, 4), o4 another (line 5): larger group first.
    assert (
        f"quarantined: 2 × gross_amount: cannot read '…' {NUMBER} (lines 3, 4); "
        "1 × status '…' is not one of completed, pending, cancelled, refunded (line 5)"
    ) in meta["files"].value
    csv_path = s.quarantine_dir / "crm" / "orders" / "a.csv.rows.csv"
    assert str(csv_path) in meta["quarantined_rows_csv"].value
    lines = csv_path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "file,line,reason," + ORDERS_HEADER.strip()
    assert lines[1] == (
        "crm/orders/a.csv,3,gross_amount: cannot read 'five' as a number with '.' as decimal "
        "separator,"
        "o2,c2,,2024-01-02,completed,EUR,five,,,"
    )
    with open_warehouse(s.warehouse_path) as con:
        text = summary_lines(con, s, result.run_id)
    assert text == [
        "  crm/orders/a.csv: 5 rows read, 2 landed, 3 quarantined",
        f"    2 × gross_amount: cannot read '…' {NUMBER} (lines 3, 4), "
        "e.g. gross_amount: cannot read 'five' as a number with '.' as decimal separator",
        "    1 × status '…' is not one of completed, pending, cancelled, refunded (line 5), "
        "e.g. status 'shipped' is not one of completed, pending, cancelled, refunded",
        f"    rows in {csv_path}",
    ]

    # The command: filtered by reason, then every row of one file.
    assert main(["quarantine", "--reason", "status"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "crm/orders/a.csv (orders):",
        "  1 × status '…' is not one of completed, pending, cancelled, refunded (line 5), "
        "e.g. status 'shipped' is not one of completed, pending, cancelled, refunded",
        f"1 quarantined row; every row and its values: {s.quarantine_dir}/",
    ]
    assert main(["quarantine", "--file", "A.CSV", "--rows"]) == 0
    assert capsys.readouterr().out.splitlines()[1:] == [
        f"crm/orders/a.csv\t3\tgross_amount: cannot read 'five' {NUMBER}",
        f"crm/orders/a.csv\t4\tgross_amount: cannot read 'ten' {NUMBER}",
        "crm/orders/a.csv\t5\tstatus 'shipped' is not one of completed, pending, cancelled, "
        "refunded",
    ]
    assert main(["quarantine", "--entity", "contacts"]) == 0
    assert capsys.readouterr().out.strip() == "no quarantined rows match"


def test_refused_files_are_listed_with_their_reasons(data_dir: Path, capsys) -> None:
    # A run that refused two files and quarantined no row: the listing said only "no
    # quarantined rows match" while quarantine/ held both files.
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,completed,EUR,5,,,\n")
    drop(s, "orders", "empty.csv", "")
    drop(s, "tickets", "header_only.csv", "ticket_id,created_at\n")
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS, selection=["raw_orders", "raw_tickets"], resources={"warehouse": warehouse}
    )
    assert result.success
    capsys.readouterr()
    assert main(["quarantine"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "no quarantined rows",
        f"2 refused files in {s.quarantine_dir}/, each with its reason in <name>.reason.txt "
        "(fix or re-export them and put them in landing/ again, where a corrected file is a "
        "new delivery):",
        "  crm/orders/empty.csv: the file is empty (0 bytes: a download or an export that failed?)",
        "  crm/tickets/header_only.csv: the file has a header but no rows",
    ]
    # The filters apply to them as to the rows: by entity, file and reason.
    assert main(["quarantine", "--entity", "tickets"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "no quarantined rows match"
    assert out[2:] == ["  crm/tickets/header_only.csv: the file has a header but no rows"]
    assert main(["quarantine", "--reason", "0 BYTES"]) == 0
    assert capsys.readouterr().out.splitlines()[2:] == [
        "  crm/orders/empty.csv: the file is empty (0 bytes: a download or an export that failed?)"
    ]
    # A refused file taken out of quarantine/ (fixed and delivered again) is no longer listed.
    (s.quarantine_dir / "crm" / "orders" / "empty.csv").unlink()
    assert main(["quarantine", "--file", "empty"]) == 0
    assert capsys.readouterr().out.splitlines() == ["no quarantined rows match"]


def test_listing_while_a_run_holds_the_lock_says_so(data_dir: Path) -> None:
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    land(s, "orders")
    # Another process opens the warehouse read-write, as a running pipeline does, and waits.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; con = duckdb.connect(sys.argv[1]); print('ready', flush=True); "
            "sys.stdin.readline()",
            str(s.warehouse_path),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseBusy, match="locked by a pipeline run"):
            list_quarantine(s)
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait()


def test_listing_another_data_dir_with_data_dir_option(
    data_dir: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch, capsys
) -> None:
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    land(s, "orders")
    # The environment names another folder; --data-dir wins, as for run, watch, demo and ui.
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path_factory.mktemp("elsewhere")))
    assert main(["quarantine", "--data-dir", str(data_dir), "--entity", "orders"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "crm/orders/a.csv (orders):"
    assert out[-1] == f"3 quarantined rows; every row and its values: {s.quarantine_dir}/"


def test_the_rows_csv_opens_in_excel_with_its_letters(data_dir: Path) -> None:
    """The quarantined rows' CSV is for a spreadsheet: Excel reads a CSV without a byte-order
    mark in the computer's ANSI code page, so the Romanian, Greek and Russian values of a row
    showed as `È˜tefan`, `Î•Î»Î­Î½Î·`. Written UTF-8 with the mark, every reader (Excel, this
    pipeline, polars, Python's utf-8-sig) has the values exactly; the header starts at `file`."""
    s = make_settings(data_dir)
    drop(
        s,
        "surveys",
        "s.csv",
        "response_id,contact_id,responded_at,survey_type,score,comment\n"
        "r1,c1,2024-03-01 10:00:00,nps,11,Ștefan: Δεν ήρθε ποτέ; Иван\n",
    )
    (report,) = land(s, "surveys")
    assert report.rows_quarantined == 1
    with open_warehouse(s.warehouse_path) as con:
        sha = rows(con, "select file_sha256 from meta.ingest_ledger")[0][0]
        path = write_rows_csv(con, s, sha, "crm/surveys/s.csv")
    assert path is not None and path.read_bytes().startswith(b"\xef\xbb\xbffile,line,reason,")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        (row,) = csv.DictReader(fh)
    assert (row["line"], row["comment"]) == ("2", "Ștefan: Δεν ήρθε ποτέ; Иван")


def test_a_backlog_summary_counts_the_files_that_landed_whole_after_the_first_20(
    data_dir: Path,
) -> None:
    # 60 one-order files and one with a bad row, dropped at once: the 20 first files that
    # landed whole are listed, the quarantined one with its reason wherever it comes, the
    # other 40 counted in one line (before: 61 lines, 2,000 for a holiday's backlog).
    s = make_settings(data_dir)
    for i in range(60):
        drop(
            s, "orders", f"f{i:02d}.csv", ORDERS_HEADER + f"o{i},c1,,2024-01-01,pending,EUR,5,,,\n"
        )
    drop(s, "orders", "f30b.csv", ORDERS_HEADER + "o99,c1,,2024-01-01,shipped,EUR,5,,,\n")
    reports = land(s, "orders")
    assert len(reports) == 61
    with open_warehouse(s.warehouse_path) as con:
        text = summary_lines(con, s, "test")
    assert text[:20] == [
        f"  crm/orders/f{i:02d}.csv: 1 row read, 1 landed, 0 quarantined" for i in range(20)
    ]
    assert text[20:] == [
        "  crm/orders/f30b.csv: 1 row read, 0 landed, 1 quarantined",
        "    1 × status '…' is not one of completed, pending, cancelled, refunded (line 2), "
        "e.g. status 'shipped' is not one of completed, pending, cancelled, refunded",
        f"    rows in {s.quarantine_dir / 'crm' / 'orders' / 'f30b.csv.rows.csv'}",
        "  … and 40 more files landed whole (40 rows; the ingest ledger, meta.ingest_ledger, "
        "lists each)",
    ]


def test_a_summary_counts_the_copies_skipped_after_the_first_20(data_dir: Path) -> None:
    # One export under 31 names: it lands once, 20 copies are listed with the file they
    # repeat, the other 10 counted (before: 31 lines).
    s = make_settings(data_dir)
    for i in range(31):
        drop(s, "orders", f"c{i:02d}.csv", ORDERS_HEADER + "o1,c1,,2024-01-01,pending,EUR,5,,,\n")
    reports = land(s, "orders")
    with open_warehouse(s.warehouse_path) as con:
        text = summary_lines(con, s, "test", reports=reports)
    assert text[0] == "  crm/orders/c00.csv: 1 row read, 1 landed, 0 quarantined"
    assert text[1:21] == [
        f"  crm/orders/c{i:02d}.csv: skipped — same bytes as crm/orders/c00.csv (landed)"
        for i in range(1, 21)
    ]
    assert text[21:] == [
        "  … and 10 more files skipped: the same bytes as a file landed or listed above"
    ]
