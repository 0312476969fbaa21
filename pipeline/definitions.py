"""The one ``Definitions`` object of the code location, assembled from small modules."""

import importlib

import dagster as dg

from assets.models import build_model_assets
from assets.serving import build_serving_asset, mart_names
from assets.settings import pipeline_settings
from pipeline.config import PipelineConfig
from pipeline.warehouse import Warehouse


def _parts(module: str, attr: str) -> list:
    """``module.attr`` as a list; empty while that part of the product is not installed."""
    try:
        return list(getattr(importlib.import_module(module), attr))
    except ModuleNotFoundError as err:
        if err.name and module.startswith(err.name):
            return []
        raise


def build_definitions() -> dg.Definitions:
    """Assemble assets, checks, sensors, schedules and resources."""
    # Configured at launch, and shared by key: the warehouse resource resolves its "config" to the
    # top-level resource, so an as_of set in the launchpad reaches every asset (not only charts).
    config = PipelineConfig.configure_at_launch()
    assets = [
        pipeline_settings,
        *_parts("assets.ingest", "INGEST_ASSETS"),
        *_parts("assets.sentiment", "SENTIMENT_ASSETS"),
        *build_model_assets(),
        *_parts("assets.predictions", "PREDICTION_ASSETS"),
        build_serving_asset(mart_names()),
        *_parts("assets.charts", "CHART_ASSETS"),
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=[
            *_parts("assets.checks", "ASSET_CHECKS"),
            *_parts("assets.freshness", "FRESHNESS_CHECKS"),
        ],
        sensors=[
            *_parts("pipeline.automation.sensors", "SENSORS"),
            *_parts("pipeline.automation.notify_sensors", "NOTIFY_SENSORS"),
        ],
        schedules=_parts("pipeline.automation.schedules", "SCHEDULES"),
        jobs=_parts("pipeline.automation.schedules", "JOBS"),
        resources={"config": config, "warehouse": Warehouse(config=config)},
        # "Materialize" in the UI runs its steps in the run's process, like the refresh job: a
        # process per step only adds start-up time (every writer waits for the one "warehouse"
        # pool slot anyway, which also holds in-process).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
