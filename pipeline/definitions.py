"""The one ``Definitions`` object of the code location, assembled from small modules.

One policy applies to every asset here (as dagster-open-platform does): its owner, and for an
asset that is a warehouse table, ``dagster/table_name``. The SQL models carry their own code
version (the hash of their SQL, assets/models.py).
"""

import dagster as dg

from assets.charts import CHART_ASSETS
from assets.checks import STEP_CHECKS
from assets.ingest import build_ingest_asset
from assets.models import build_model_assets
from assets.predictions import build_predictions_asset
from assets.sentiment import SENTIMENT_ASSETS
from assets.serving import build_serving_asset
from assets.settings import pipeline_settings
from pipeline.automation.notify_sensors import NOTIFY_SENSORS
from pipeline.automation.schedules import JOBS, build_schedules
from pipeline.automation.sensors import build_sensors
from pipeline.config import PipelineConfig
from pipeline.engine import PYTHON_TABLES, mart_names
from pipeline.warehouse import Warehouse

OWNER = "team:retention-analytics"  # the team that answers for every asset of this location

# The warehouse table each Python-built asset writes (the SQL models set theirs in their spec).
_TABLES = {
    producer: f"{schema}.{table}"
    for table, (schema, producer) in PYTHON_TABLES.items()
    if producer == table
}


def _policy(spec: dg.AssetSpec) -> dg.AssetSpec:
    """Every asset's owner; the table name of a Python-built warehouse table."""
    table = _TABLES.get(spec.key.to_user_string())
    spec = spec.replace_attributes(owners=[OWNER])
    return spec.merge_attributes(metadata={"dagster/table_name": table}) if table else spec


def build_definitions() -> dg.Definitions:
    """Assemble assets, checks, sensors, schedules and resources."""
    # Configured at launch, and shared by key: the warehouse resource resolves its "config" to the
    # top-level resource, so an as_of set in the launchpad reaches every asset (not only charts).
    config = PipelineConfig.configure_at_launch()
    # Every check is evaluated in the step that builds its asset (assets/checks.py).
    assets = [
        pipeline_settings,
        build_ingest_asset(STEP_CHECKS["landed"]),
        *SENTIMENT_ASSETS,
        *build_model_assets(checks=STEP_CHECKS),
        build_predictions_asset(STEP_CHECKS["predictions"]),
        build_serving_asset(mart_names()),
        *CHART_ASSETS,
    ]
    return dg.Definitions(
        assets=dg.map_asset_specs(_policy, assets),
        # Built here, not at import: they read their interval and cron from the environment.
        sensors=[*build_sensors(), *NOTIFY_SENSORS],
        schedules=build_schedules(),
        jobs=JOBS,
        resources={"config": config, "warehouse": Warehouse(config=config)},
        # "Materialize" in the UI runs its steps in the run's process, like the refresh job: a
        # process per step only adds start-up time (every writer waits for the one "warehouse"
        # pool slot anyway, which also holds in-process).
        executor=dg.in_process_executor,
    )


defs = build_definitions()
