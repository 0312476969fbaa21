"""The models' public shape: spec columns, descriptions, generated docs, portability."""

from __future__ import annotations

import pytest
import sqlglot
from marts_fixtures import build_all, new_warehouse, records, write_settings
from sqlglot.errors import ErrorLevel

from pipeline.cli.docs import DOC_PATH, render_metrics_doc
from pipeline.engine import SQL_DIR, discover_models

# The columns of spec/metrics.md, in its order: the marts' public interface.
SPEC_COLUMNS = {
    "retention_monthly": "month is_complete customers_start new_customers retained_customers "
    "reactivated_customers customers_end churned_customers retention_rate churn_rate crr_textbook",
    "cohort_retention": "cohort_month months_since_first cohort_size retained_customers "
    "retention_rate",
    "loyalty_customers": "customer_id email_sha256 first_purchase_at last_purchase_at purchases "
    "revenue avg_order_value recency_days tenure_days r_score f_score m_score rfm_segment "
    "loyalty_tier is_referred helped_12m is_active",
    "loyalty_summary": "as_of customers repeat_customers repeat_rate loyal_customers loyal_share "
    "active_customers helped_customers_12m ror",
    "satisfaction_monthly": "month is_complete nps_responses promoters passives detractors nps "
    "csat_responses csat ces_responses ces tickets_created tickets_solved "
    "median_first_response_hours p90_first_response_hours sla_met_rate median_resolution_hours "
    "fcr_rate complaints dissatisfied_customers silent_dissatisfied_customers silent_share",
    "social_monthly": "month platform is_complete mentions positive neutral negative net_sentiment "
    "linked_mentions replied response_rate median_response_minutes sentiment_delivered "
    "sentiment_scored sentiment_unscored sentiment_unrecognised",
    "social_language_monthly": "month platform language is_complete mentions language_delivered "
    "language_detected sentiment_delivered sentiment_scored sentiment_unscored "
    "sentiment_unrecognised unscored_share "
    "positive neutral negative",
    "email_monthly": "month campaign_id campaign_name sent delivered bounced unique_opens "
    "unique_clicks unsubscribes spam_complaints open_rate click_rate unsubscribe_rate",
    "channel_retention": "channels_engaged customers active_customers active_rate",
    "customer_360": "customer_id email_sha256 country language acquisition_source created_at "
    "first_purchase_at last_purchase_at purchases revenue loyalty_tier rfm_segment r_score "
    "f_score m_score is_active is_churned days_since_last_purchase tickets_12m last_nps "
    "last_csat avg_ces_12m emails_delivered_90d opens_90d clicks_90d open_rate_90d "
    "is_unsubscribed mentions_12m negative_mentions_12m channels_engaged_12m dissatisfied_90d "
    "silent_dissatisfied_90d",
}


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    """Every model built on empty inputs."""
    con = new_warehouse(tmp_path_factory.mktemp("empty"))
    write_settings(con, "2024-06-30")
    counts = build_all(con)
    yield con, counts
    con.close()


def test_marts_are_exactly_the_spec(empty_warehouse):
    con, _ = empty_warehouse
    marts = {m.name: m for m in discover_models(SQL_DIR) if m.layer == "marts"}
    assert set(marts) == set(SPEC_COLUMNS), (
        f"sql/marts/ has {sorted(set(marts) - set(SPEC_COLUMNS))} beyond spec/metrics.md and "
        f"lacks {sorted(set(SPEC_COLUMNS) - set(marts))}: the marts are the spec's public "
        "interface; a new mart goes into the spec first, then into SPEC_COLUMNS here"
    )
    for name, spec in SPEC_COLUMNS.items():
        built = con.sql(f"select * from marts.{name} limit 0").columns
        assert built == spec.split(), name
        assert list(marts[name].columns) == spec.split(), f"{name}.yml"


def test_every_model_describes_every_column(empty_warehouse):
    con, _ = empty_warehouse
    for model in discover_models(SQL_DIR):
        assert model.description, f"{model.path}: no description in its .yml"
        built = con.sql(f"select * from {model.qualified_name} limit 0").columns
        assert list(model.columns) == built, f"{model.path.with_suffix('.yml')}"
        assert all(model.columns.values()), f"{model.path}: empty column description"


def test_no_personal_data_in_marts(empty_warehouse):
    con, _ = empty_warehouse
    for name in SPEC_COLUMNS:
        columns = set(con.sql(f"select * from marts.{name} limit 0").columns)
        assert not columns & {"email", "first_name", "last_name", "phone", "birth_date"}, name


def test_empty_inputs_give_the_fixed_rows(empty_warehouse):
    con, counts = empty_warehouse
    # with no data only the one-row summary and the five channel rows exist
    assert {k: v for k, v in counts.items() if v and not k.startswith("int_")} == {
        "loyalty_summary": 1,
        "channel_retention": 5,
    }
    (summary,) = records(con, "select * from loyalty_summary")
    cols = ("customers", "repeat_rate", "ror")
    assert {c: summary[c] for c in cols} == {"customers": 0, "repeat_rate": None, "ror": None}


def test_committed_metrics_doc_matches_the_yml():
    assert DOC_PATH.read_text(encoding="utf-8") == render_metrics_doc(SQL_DIR), (
        "docs/metrics.md is stale: run `python -m pipeline docs`"
    )


def test_models_transpile_to_spark():
    # Portability: every model parses as DuckDB SQL and sqlglot writes it for Spark without
    # meeting a construct Spark lacks (it raises UnsupportedError then).
    for model in discover_models(SQL_DIR):
        (spark,) = sqlglot.transpile(
            model.sql,
            read="duckdb",
            write="spark",
            unsupported_level=ErrorLevel.RAISE,
            comments=False,
        )
        assert spark.lower().startswith(("select", "with")), model.path
