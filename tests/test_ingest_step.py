"""``raw_ingest``: the six raw tables in one Dagster step; one entity's failure spares the rest."""

from __future__ import annotations

import dagster as dg
from ingest_support import drop, make_settings

from assets.ingest import INGEST_ASSETS
from pipeline.config import PipelineConfig
from pipeline.definitions import build_definitions
from pipeline.progress import event_line
from pipeline.warehouse import Warehouse, open_warehouse, run, scalar

ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\no1,c1,,2024-01-01,pending,EUR,5,,,\n"
)
CONTACTS = (
    "contact_id,email,first_name,last_name,phone,created_at,country,language,acquisition_source,"
    "birth_date,twitter_handle,facebook_handle,instagram_handle,linkedin_handle,updated_at\n"
    "c1,a@example.com,Ann,B,,2024-01-01,DE,de,web,,,,,,\n"
)


def test_an_entity_that_fails_does_not_stop_the_others_and_fails_the_step(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    drop(s, "contacts", "a.csv", CONTACTS)
    # raw.raw_contacts with a column of its own: landing the contacts fails, as any error would.
    with open_warehouse(s.warehouse_path) as con:
        run(con, "create table raw.raw_contacts (x integer)")
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    result = dg.materialize(
        INGEST_ASSETS,
        selection=["raw_contacts", "raw_orders"],
        resources={"warehouse": warehouse},
        raise_on_error=False,
    )
    assert not result.success
    landed = {m.asset_key.to_user_string() for m in result.get_asset_materialization_events()}
    assert landed == {"raw_orders"}  # orders come after contacts and still land
    (failure,) = result.get_step_failure_events()
    assert "ingest failed for raw_contacts" in failure.step_failure_data.error.message
    with open_warehouse(s.warehouse_path) as con:
        assert scalar(con, "select count(*) from raw.raw_orders") == 1  # the one order of a.csv


def test_files_landed_before_are_counted_in_one_log_line(data_dir):
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    warehouse = Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of="2024-12-31"))
    instance = dg.DagsterInstance.ephemeral()

    def messages() -> list[str]:
        result = dg.materialize(
            INGEST_ASSETS,
            selection=["raw_orders"],
            resources={"warehouse": warehouse},
            instance=instance,
        )
        assert result.success
        return [e.user_message for e in instance.all_logs(result.run_id) if e.dagster_event is None]

    first = messages()
    assert (
        "crm/orders/a.csv: landed via canonical_orders: 1 row read, 1 landed, 0 quarantined"
        in first
    )
    drop(s, "orders", "b.csv", ORDERS.replace("o1,", "o2,"))
    second = messages()  # a.csv again, skipped; b.csv new
    assert (
        "raw_orders: 1 file skipped, landed before (same bytes): see the asset's files metadata"
        in second
    )
    again = messages()  # the same two files: each skipped, one line for both
    assert (
        "raw_orders: 2 files skipped, landed before (same bytes): see the asset's files metadata"
        in again
    )
    assert not [m for m in again if "same bytes as crm/orders" in m]


def test_each_entitys_landed_line_names_its_raw_table(data_dir, monkeypatch):
    # The landed checks' lines of the run log all come from the raw_ingest step: each says
    # whose files it counts (it was "1 file, 1 row landed", twice, for orders and contacts).
    s = make_settings(data_dir)
    drop(s, "orders", "a.csv", ORDERS)
    drop(s, "contacts", "a.csv", CONTACTS)
    drop(s, "contacts", "empty.csv", "")
    drop(s, "contacts", "header_only.csv", "contact_id,created_at\n")
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    # The definitions' job: the landed checks are wired to the raw tables there.
    job = build_definitions().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        asset_selection=[dg.AssetKey("raw_contacts"), dg.AssetKey("raw_orders")],
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    lines = sorted(
        line
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and (line := event_line(e))
    )
    assert lines == [
        # Two refused: the first with its reason, the other named (it read "2 refused …"
        # followed by one file only).
        "raw_contacts: 3 files, 1 row landed; 2 refused on reading: crm/contacts/empty.csv: "
        "the file is empty (0 bytes: a download or an export that failed?); also "
        "crm/contacts/header_only.csv (their reasons: the files list)",
        "raw_orders: 1 file, 1 row landed",
    ]
