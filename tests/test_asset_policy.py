"""Every asset's owner, code version and warehouse table, read back from the Definitions."""

import hashlib
from pathlib import Path

import dagster as dg

from assets.models import build_model_assets
from pipeline.definitions import build_definitions

REPO_ROOT = Path(__file__).resolve().parent.parent


def test_assets_carry_owner_code_version_and_table_name():
    graph = build_definitions().resolve_asset_graph()

    def node(key: str):
        return graph.get(dg.AssetKey(key))

    # retention_monthly is rebuilt whole (no incremental: block), so its code version is the
    # sha256 of its SQL file as the engine reads it: stripped, without a trailing semicolon.
    sql = (REPO_ROOT / "sql/marts/retention_monthly.sql").read_text(encoding="utf-8")
    expected = hashlib.sha256(sql.strip().rstrip(";").strip().encode()).hexdigest()
    assert node("retention_monthly").code_version == expected
    # The table each asset writes, schema.table as in docs/architecture.md.
    tables = {
        "retention_monthly": "marts.retention_monthly",
        "stg_orders": "staging.stg_orders",
        "int_customers": "intermediate.int_customers",
        "raw_orders": "raw.raw_orders",
        "pipeline_settings": "meta.pipeline_settings",
        "int_mention_sentiment": "intermediate.int_mention_sentiment",
        "customer_predictions": "marts.customer_predictions",
    }
    for key, table in tables.items():
        assert node(key).metadata["dagster/table_name"] == table, key
    for key in graph.get_all_asset_keys():
        assert graph.get(key).owners == ["team:retention-analytics"], key


def test_an_edited_model_changes_only_its_own_code_version(tmp_path):
    # Two models; editing one's SQL changes its code version (the sha256 of the new text) only.
    def versions(sql_dir):
        specs = [s for a in build_model_assets(sql_dir) for s in a.specs]
        return {s.key.to_user_string(): s.code_version for s in specs}

    (tmp_path / "staging").mkdir()
    (tmp_path / "marts").mkdir()
    (tmp_path / "staging/stg_n.sql").write_text("select 1 as n from raw_orders limit 0")
    (tmp_path / "marts/m_n.sql").write_text("select n from stg_n")
    before = versions(tmp_path)
    (tmp_path / "marts/m_n.sql").write_text("select n + 1 as n from stg_n")
    after = versions(tmp_path)
    assert before["stg_n"] == after["stg_n"]
    assert before["m_n"] != after["m_n"]
    assert after["m_n"] == hashlib.sha256(b"select n + 1 as n from stg_n").hexdigest()
