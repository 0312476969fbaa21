"""The ``int_mention_sentiment`` asset: language and sentiment of every mention, delivered or
detected and scored by a measured scorer of the mention's language. The brand's own posts
(``meta.brand_handles``, written by ``pipeline_settings``) are no mentions and are not scored.

The scoring itself lives in ``pipeline.sentiment.scoring``; this module only wires it into Dagster.
"""

import dagster as dg

from pipeline.sentiment.scoring import (
    NEGATIVE_THRESHOLD,
    POSITIVE_THRESHOLD,
    build_mention_sentiment,
    scorers_dir,
)
from pipeline.warehouse import Warehouse


@dg.asset(
    name="int_mention_sentiment",
    group_name="intermediate",
    kinds={"polars", "duckdb"},
    # pipeline_settings writes meta.brand_handles: the brand's own posts are not scored.
    deps=[dg.AssetKey("stg_social_mentions"), dg.AssetKey("pipeline_settings")],
    pool="warehouse",
    description=(
        "Final language and sentiment of every social mention: as delivered, else detected "
        "(py3langid) and scored by its language's measured scorer (VADER for English), else "
        "unscored (NULL, never guessed). The brand's own posts (PIPELINE_BRAND_HANDLES) are "
        "no mentions and are not scored."
    ),
    metadata={
        "dagster/column_schema": dg.TableSchema(
            columns=[
                dg.TableColumn("mention_id", "text", description="the mention's key"),
                dg.TableColumn(
                    "sentiment",
                    "text",
                    description="positive | neutral | negative; NULL when unscored",
                ),
                dg.TableColumn(
                    "sentiment_source",
                    "text",
                    description=(
                        "delivered | scored (by the scorer of its language) | unscored "
                        "(no measured scorer for its language, unknown language, a delivered "
                        "language its text contradicts, no text)"
                    ),
                ),
                dg.TableColumn(
                    "compound",
                    "double",
                    description="compound score in [-1, 1] of a scored mention, else NULL",
                ),
                dg.TableColumn(
                    "language",
                    "text",
                    description="ISO 639-1 code, delivered or detected; NULL when unknown",
                ),
                dg.TableColumn(
                    "language_source", "text", description="delivered | detected | unknown"
                ),
                dg.TableColumn(
                    "scorer", "text", description="the scorer of a scored mention (vader, ...)"
                ),
            ]
        ),
    },
)
def int_mention_sentiment(
    context: dg.AssetExecutionContext, warehouse: Warehouse
) -> dg.MaterializeResult:
    """Score the mentions that came without a sentiment and write the table."""
    with warehouse.connect() as con:
        folder = scorers_dir(warehouse.settings().data_dir)
        counts = build_mention_sentiment(con, folder, log=context.log.warning)
    how = "rebuilt, all" if counts["rebuilt"] else "new or changed only"
    context.log.info(
        f"mentions: {counts['delivered']} delivered, {counts['scored']} scored, "
        f"{counts['unscored']} unscored; looked at {counts['new']:,} ({how})"
    )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": counts["rows"],
            "delivered": counts["delivered"],
            "scored": counts["scored"],
            "unscored": counts["unscored"],
            "looked_at": counts["new"],
            "rebuilt": bool(counts["rebuilt"]),
            "scorers": str(counts["scorers"]),
            "thresholds": f"positive >= {POSITIVE_THRESHOLD}, negative <= {NEGATIVE_THRESHOLD}",
        }
    )


SENTIMENT_ASSETS = [int_mention_sentiment]
