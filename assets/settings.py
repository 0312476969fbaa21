"""The ``pipeline_settings`` asset: this run's as_of, churn window and SLA as a one-row table,
and the brand's own handles (``PIPELINE_BRAND_HANDLES``) as ``meta.brand_handles``.

SQL models read their parameters from these tables rather than from templating, so every model
is plain SQL that runs unchanged in the DuckDB CLI against the warehouse.
"""

import dagster as dg

from pipeline.email_hash import hash_key, hmac_pads
from pipeline.engine.settings_table import RunSettings, write_settings_table
from pipeline.warehouse import Warehouse


@dg.asset(
    group_name="raw",
    kinds={"duckdb"},
    pool="warehouse",
    description=(
        "This run's parameters (as_of, churn_days, sla_hours, time zone) for the models, and "
        "the brand's own handles (meta.brand_handles: their posts are no mentions)."
    ),
)
def pipeline_settings(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Write the resolved settings as ``meta.pipeline_settings``, the brand's handles as
    ``meta.brand_handles``."""
    s = warehouse.settings()
    # PIPELINE_EMAIL_HASH_KEY (pipeline/email_hash.py): the HMAC pads, NULL for plain SHA-256.
    key = hash_key()
    inner, outer = hmac_pads(key)
    # PIPELINE_BRAND_HANDLES, or the run's own (docs/open-rules.md R15): (platform, normalised
    # handle) pairs.
    brand = s.brand_handles
    with warehouse.connect() as con:
        row = RunSettings(s.as_of, s.churn_days, s.sla_hours, s.timezone, inner, outer, brand)
        write_settings_table(con, row)
    handles = ", ".join(f"{platform}:{handle}" for platform, handle in brand) or "none"
    context.log.info(
        f"as_of={s.as_of} churn_days={s.churn_days} sla_hours={s.sla_hours} tz={s.timezone} "
        f"brand_handles={handles}"
    )
    return dg.MaterializeResult(
        metadata={
            "as_of": str(s.as_of),
            "churn_days": s.churn_days,
            "sla_hours": s.sla_hours,
            "timezone": s.timezone,
            "data_dir": str(s.data_dir),
            "email_sha256": "plain SHA-256" if key is None else "HMAC-SHA256 (keyed)",
            "brand_handles": handles,
        }
    )
