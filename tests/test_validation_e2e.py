"""End to end: the full Dagster job twice; a corrupted export blocks everything downstream of it.

Run 1 lands one small canonical export per entity: every suite passes and serving/marts.duckdb
is published. Run 2 adds an orders export holding an order dated 2099: the landed suite refuses
the file, the blocking check fails with ERROR, nothing downstream of raw_orders materialises
and the serving file stays byte-for-byte the one of run 1 (BI keeps the last good marts).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import dagster as dg
import pytest

from pipeline.config import Settings
from pipeline.definitions import build_definitions
from pipeline.entities import ENTITIES
from pipeline.validation.log import read_log

EXPORTS = {
    "contacts": "contact_id,email,first_name,last_name,phone,created_at,country,language,"
    "acquisition_source,birth_date,twitter_handle,facebook_handle,instagram_handle,"
    "linkedin_handle,updated_at\n"
    "c1,a@x.com,Ann,Bell,,2023-01-01,RO,ro,referral,,ann,,,,\n"
    "c2,b@x.com,Bob,Cole,,2023-02-01,DE,de,organic,,,,,,\n",
    "orders": "order_id,contact_id,email,ordered_at,status,currency,gross_amount,"
    "discount_amount,refund_amount,updated_at\n"
    "o1,c1,,2024-01-10 10:00,completed,EUR,10,,,\n"
    "o2,c2,,2024-03-05 10:00,completed,EUR,20,,,\n"
    "o3,,a@x.com,2024-06-01 10:00,completed,EUR,15,,,\n",
    "tickets": "ticket_id,contact_id,email,created_at,channel,category,status,"
    "first_response_at,solved_at,agent_replies,reopens,updated_at\n"
    "t1,c1,,2024-02-01 09:00,email,question,solved,2024-02-01 10:00,2024-02-02 09:00,1,0,\n",
    "surveys": "response_id,contact_id,email,responded_at,survey_type,score,comment,ticket_id\n"
    "r1,c1,,2024-02-02 09:00,nps,9,great,\n"
    "r2,,b@x.com,2024-03-03 09:00,csat,4,,\n",
    "email_events": "event_id,email,campaign_id,campaign_name,event_type,occurred_at,url\n"
    "e1,a@x.com,k1,Spring,sent,2024-02-01 08:00,\n"
    "e2,a@x.com,k1,Spring,open,2024-02-01 09:00,\n",
    "social_mentions": "mention_id,platform,author_handle,author_name,text,language,posted_at,"
    "sentiment,brand_replied_at,url\n"
    "m1,twitter,@ann,Ann,love it,en,2024-02-05 08:00,positive,,\n",
}
CORRUPT_ORDERS = (
    EXPORTS["orders"].splitlines()[0] + "\no4,c1,,2099-01-01 10:00,completed,EUR,5,,,\n"
)


def materialized(result) -> set[str]:
    return {
        e.asset_key.to_user_string()
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pipeline_run(data_dir, monkeypatch):
    """Run the full job once under a given run id, as the ingest assets are wired."""
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "failures")
    settings = Settings.resolve()
    job = build_definitions().resolve_implicit_global_asset_job_def()
    instance = dg.DagsterInstance.ephemeral()

    def run(run_id: str):
        return job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)

    return settings, run


def write_export(settings: Settings, entity: str, name: str, text: str) -> None:
    path = settings.landing_dir / ENTITIES[entity].landing_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_a_corrupted_export_blocks_downstream_and_keeps_the_last_good_serving_file(pipeline_run):
    settings, run = pipeline_run
    for entity, text in EXPORTS.items():
        write_export(settings, entity, f"{entity}_1.csv", text)

    good = run("00000000-0000-0000-0000-000000000001")
    evaluations = good.get_asset_check_evaluations()
    # A suite check per raw table, staging table, int_customers and mart (10 SQL, 2 prediction
    # marts), besides the freshness checks (assets/freshness.py); all met on clean data.
    assert sum(e.check_name.endswith("_expectations") for e in evaluations) == 6 + 6 + 1 + 10 + 2
    assert [(e.asset_key.to_user_string(), e.check_name) for e in evaluations if not e.passed] == []
    # ... each evaluated in the step that builds its asset: ingest, each SQL layer, the
    # prediction marts' step (the marts' freshness checks with them).
    steps = {
        e.step_key
        for e in good.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.step_key
    }
    assert steps == {"raw_ingest", "sql_staging", "sql_intermediate", "sql_marts", "predictions"}
    assert good.success
    serving = settings.serving_dir / "marts.duckdb"
    published = sha256(serving)

    # Nothing new: no model is rebuilt and no table's content hash changed, so no suite runs
    # (the run log holds no outcome) and every check passes, naming the run that validated it.
    same_id = "00000000-0000-0000-0000-000000000003"
    same = run(same_id)
    assert same.success
    assert read_log(settings.data_dir, same_id) == []
    suite_checks = [
        e
        for e in same.get_asset_check_evaluations()
        if e.check_name.endswith("_expectations") and e.check_name != "landed_expectations"
    ]
    assert len(suite_checks) == 6 + 1 + 10 + 2 and all(e.passed for e in suite_checks)
    assert {e.metadata["unchanged_since_run"].value for e in suite_checks} == {good.run_id}
    # Said in words, not as an empty table (its header only) in the check's metadata.
    assert {e.metadata["expectations"].value for e in suite_checks} == {
        "no expectation ran in this step (see summary)"
    }

    write_export(settings, "orders", "orders_2.csv", CORRUPT_ORDERS)
    bad = run("00000000-0000-0000-0000-000000000002")
    assert not bad.success
    (landed,) = [
        e for e in bad.get_asset_check_evaluations() if e.asset_key.to_user_string() == "raw_orders"
    ]
    assert (landed.check_name, landed.passed, landed.severity) == (
        "landed_expectations",
        False,
        dg.AssetCheckSeverity.ERROR,
    )
    assert "crm/orders/orders_2.csv" in landed.description
    assert "expect_column_values_to_be_between on ordered_at" in landed.description
    assert "2099-01-01 10:00:00 (row 2)" in landed.description
    assert Path(landed.metadata["data_docs"].path).is_file()
    # The step's error, which the run's page shows first, names the check and then what it
    # found (file, row, reason), not only the check as Dagster's own error does.
    (failure,) = bad.get_step_failure_events()
    assert failure.step_key == "raw_ingest"
    assert failure.step_failure_data.user_failure_data.description.splitlines() == [
        "1 blocking check failed: landed_expectations on raw_orders; what depends on them "
        "is not built",
        f"- landed_expectations on raw_orders: {landed.description}",
    ]

    done = materialized(bad)
    # Ingestion itself ran (it refused the file), and so did the other raw tables.
    assert {"raw_orders", "raw_contacts", "raw_tickets"} <= done
    # Nothing downstream of raw_orders (its failed landed check fails the ingest step, once
    # every raw table has landed), and no new serving file.
    assert not {d for d in done if not d.startswith("raw_") and d != "pipeline_settings"}
    assert sha256(serving) == published
