"""The one ``Definitions`` object of the code location, assembled from small modules."""

from __future__ import annotations

import dagster as dg

from assets.models import build_model_assets
from assets.serving import build_serving_asset, mart_names
from assets.settings import pipeline_settings
from pipeline.config import PipelineConfig
from pipeline.warehouse import Warehouse


def _optional(module: str, attr: str) -> list:
    # Parts built by separate modules; while one is absent the rest of the graph still loads.
    import importlib

    try:
        return list(getattr(importlib.import_module(module), attr))
    except ModuleNotFoundError:
        return []


def build_definitions() -> dg.Definitions:
    """Assemble assets, checks, sensors, schedules and resources."""
    config = PipelineConfig()
    assets = [
        pipeline_settings,
        *_optional("assets.ingest", "INGEST_ASSETS"),
        *_optional("assets.sentiment", "SENTIMENT_ASSETS"),
        *build_model_assets(),
        build_serving_asset(mart_names()),
    ]
    return dg.Definitions(
        assets=assets,
        resources={"config": config, "warehouse": Warehouse(config=config)},
    )


defs = build_definitions()
