"""The code location loads, and every SQL model is an asset with the parents its SQL names."""

import dagster as dg

from pipeline.definitions import build_definitions
from pipeline.engine import discover_models


def test_definitions_load_with_every_model_and_its_parents():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for model in discover_models():
        assert model.name in keys
        node = graph.get(dg.AssetKey(model.name))
        parents = {k.to_user_string() for k in node.parent_keys}
        # every parent the SQL names is an edge, except meta tables no asset produces; a table
        # written by another asset is an edge to it (meta.brand_handles: pipeline_settings)
        producers = {"brand_handles": "pipeline_settings"}
        expected = {
            producers.get(p, p)
            for p in model.parents
            if p not in ("ingest_ledger", "quarantine_rows")
        }
        assert parents == expected, model.name
        assert node.group_name == model.layer
    assert {"pipeline_settings", "raw_orders", "serving_marts"} <= keys


def test_serving_depends_on_every_mart():
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    marts = {m.name for m in discover_models() if m.layer == "marts"}
    serving_parents = {
        k.to_user_string() for k in graph.get(dg.AssetKey("serving_marts")).parent_keys
    }
    # Which marts there are is tests/test_marts_docs.py's (the spec's list), not counted here.
    assert marts <= serving_parents, f"not served: {sorted(marts - serving_parents)}"
    # the two Python-built prediction marts are served too
    assert {"customer_predictions", "prediction_model"} <= serving_parents
