"""The reader revision (pipeline/ingest/revision.py): recorded with each delivery, NULL for the
deliveries of a warehouse an older release built, and said once a run when older than this
release's: in the command line's summary, and as a warning of ``raw_ingest`` in a run of the UI.
"""

from __future__ import annotations

import logging

import dagster as dg
import duckdb
from ingest_support import drop, make_settings

from assets.ingest import INGEST_ASSETS
from pipeline.cli.summary import print_summary
from pipeline.config import SENT_INLINE_TAG, PipelineConfig
from pipeline.ingest.ledger import ensure_ledger
from pipeline.ingest.revision import READER_HISTORY, READER_REVISION, older_readings
from pipeline.warehouse import Warehouse, open_warehouse, rows, run

ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\no1,c1,,2024-01-01,pending,EUR,5,,,\n"
)
# meta.ingest_ledger as the first releases made it (before `encoding` and `reader_revision`).
OLD_LEDGER = """
create table meta.ingest_ledger (
    file_sha256 text primary key, source_file text, entity text, mapping text, status text,
    reason text, rows_read bigint, rows_landed bigint, rows_quarantined bigint,
    delivery_seq bigint, run_id text, landed_at timestamp
)
"""


def old_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """An older release's ledger: two deliveries landed, one refused, no revision column."""
    run(con, "create schema if not exists meta")
    run(con, OLD_LEDGER)
    run(
        con,
        "insert into meta.ingest_ledger values "
        "('a', 'crm/orders/a.csv', 'orders', 'canonical_orders', 'landed', null, 1, 1, 0, 1, "
        "'r1', '2026-12-07 05:00:00'), "
        "('b', 'crm/orders/b.csv', 'orders', 'canonical_orders', 'landed', null, 2, 2, 0, 2, "
        "'r1', '2026-12-07 05:00:00'), "
        "('c', 'crm/orders/c.csv', 'orders', null, 'refused', 'unknown header', 0, 0, 0, 3, "
        "'r1', '2026-12-07 05:00:00')",
    )


def test_the_history_is_numbered_from_1_and_this_release_reads_as_its_last():
    assert READER_REVISION == 3
    assert list(READER_HISTORY) == [1, 2, 3]
    # The changes an upgrade from e0f9a76 was measured to keep (docs/operations.md): named.
    assert "HubSpot CSAT" in READER_HISTORY[2] and "Received Email" in READER_HISTORY[2]
    assert "R14" in READER_HISTORY[3] and "zero-width space" in READER_HISTORY[3]


def test_a_landed_delivery_records_this_releases_revision(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    drop(s, "orders", "empty.csv", "")  # refused: recorded with the revision that refused it
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS, selection=["raw_orders"], resources={"warehouse": warehouse}
    )
    assert result.success
    with open_warehouse(s.warehouse_path) as con:
        ledger = rows(
            con, "select source_file, status, reader_revision from meta.ingest_ledger order by 1"
        )
        assert ledger == [
            ("crm/orders/a.csv", "landed", READER_REVISION),
            ("crm/orders/empty.csv", "refused", READER_REVISION),
        ]
        assert older_readings(con) == {}


def test_an_older_ledger_gets_the_column_with_nulls_on_open(data_dir):
    s = make_settings(data_dir)
    with open_warehouse(s.warehouse_path) as con:
        old_warehouse(con)
        # Before an ingestion step opened it (a run stopped before): read as unrecorded too.
        assert older_readings(con) == {None: 2}
        ensure_ledger(con)
        assert rows(
            con, "select file_sha256, reader_revision from meta.ingest_ledger order by 1"
        ) == [("a", None), ("b", None), ("c", None)]
        run(con, "update meta.ingest_ledger set reader_revision = 2 where file_sha256 = 'b'")
        # The refused delivery is no reading kept: it is tried again by every run.
        assert older_readings(con) == {None: 1, 2: 1}
        run(con, "update meta.ingest_ledger set reader_revision = 3")
        assert older_readings(con) == {}


def test_the_summary_says_older_readings_once_and_nothing_when_there_are_none(data_dir, capsys):
    s = make_settings(data_dir)
    with open_warehouse(s.warehouse_path) as con:
        old_warehouse(con)
        ensure_ledger(con)
        run(con, "update meta.ingest_ledger set reader_revision = 2 where file_sha256 = 'b'")
    print_summary(s, "no-run")
    out = capsys.readouterr().out.splitlines()
    start = out.index(
        "2 landed deliveries were read by an older reader than this release's (reader "
        "revision 3): 1 before reader revisions were recorded (db00065 and later read as "
        "revision 3; e0f9a76, e79f037 and older as none of the revisions below); 1 by revision "
        "2. Their rows keep that reading, and so do the marts built from them. What reads "
        "differently since:"
    )
    # Every revision since the oldest reading (unrecorded: all of them), then the command.
    assert out[start + 1 : start + 5] == [
        f"  revision 1: {READER_HISTORY[1]}",
        f"  revision 2: {READER_HISTORY[2]}",
        f"  revision 3: {READER_HISTORY[3]}",
        "  to read every delivery in landing/ again (the warehouse is kept aside and "
        f"compared): python -m pipeline reland --data-dir {data_dir} "
        '(docs/operations.md, "Upgrading")',
    ]
    assert sum("older reader" in line for line in out) == 1
    with open_warehouse(s.warehouse_path) as con:
        run(con, "update meta.ingest_ledger set reader_revision = 2 where file_sha256 = 'a'")
    print_summary(s, "no-run")
    out = capsys.readouterr().out.splitlines()
    # Both by revision 2: only revision 3 reads differently since.
    start = out.index(
        "2 landed deliveries were read by an older reader than this release's (reader "
        "revision 3): 2 by revision 2. Their rows keep that reading, and so do the marts built "
        "from them. What reads differently since:"
    )
    assert out[start + 1] == f"  revision 3: {READER_HISTORY[3]}"
    assert out[start + 2].startswith("  to read every delivery in landing/ again")
    with open_warehouse(s.warehouse_path) as con:
        run(con, "update meta.ingest_ledger set reader_revision = 3")
    print_summary(s, "no-run")
    assert "older reader" not in capsys.readouterr().out


def test_a_run_of_the_ui_says_it_as_the_ingest_steps_warning_and_a_cli_run_leaves_it_to_its_summary(
    data_dir,
):
    s = make_settings(data_dir)
    with open_warehouse(s.warehouse_path) as con:
        old_warehouse(con)
    drop(s, "orders", "d.csv", ORDERS)
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    instance = dg.DagsterInstance.ephemeral()

    def warnings(tags: dict[str, str]) -> list[str]:
        result = dg.materialize(
            INGEST_ASSETS,
            selection=["raw_orders"],
            resources={"warehouse": warehouse},
            instance=instance,
            tags=tags,
        )
        assert result.success
        return [
            e.user_message
            for e in instance.all_logs(result.run_id)
            if e.dagster_event is None and e.level == logging.WARNING
        ]

    (said,) = warnings({})  # a run of the UI, the sensor or the schedule
    lines = said.splitlines()
    assert lines[0].startswith(
        "2 landed deliveries were read by an older reader than this release's (reader "
        "revision 3): 2 before reader revisions were recorded"
    )
    assert lines[-1].endswith(
        f'python -m pipeline reland --data-dir {data_dir} (docs/operations.md, "Upgrading")'
    )
    assert warnings({SENT_INLINE_TAG: "cli"}) == []  # said by the command line's summary
    with open_warehouse(s.warehouse_path) as con:
        run(con, "update meta.ingest_ledger set reader_revision = 3")
    assert warnings({}) == []
