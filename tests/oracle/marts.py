"""Entry point: raw tables + settings + the sentiment table -> the ten marts."""

from __future__ import annotations

import polars as pl

from .customer import channel_retention, channels, customer_360
from .engagement import email_monthly, social_language_monthly, social_monthly
from .identity import resolve_identity
from .loyalty import cohort_retention, loyalty_customers, loyalty_summary, purchases
from .loyalty import retention_monthly as _retention_monthly
from .satisfaction import satisfaction_monthly
from .settings import OracleSettings
from .versions import resolve_raw

# The key columns each mart is compared on (one row per key).
MART_KEYS: dict[str, list[str]] = {
    "retention_monthly": ["month"],
    "cohort_retention": ["cohort_month", "months_since_first"],
    "loyalty_customers": ["customer_id"],
    "loyalty_summary": ["as_of"],
    "satisfaction_monthly": ["month"],
    "social_monthly": ["month", "platform"],
    "social_language_monthly": ["month", "platform", "language"],
    "email_monthly": ["month", "campaign_id"],
    "channel_retention": ["channels_engaged"],
    "customer_360": ["customer_id"],
}


def compute_marts(
    raw: dict[str, pl.DataFrame], sentiment: pl.DataFrame, settings: OracleSettings
) -> dict[str, pl.DataFrame]:
    """Every mart of metrics.md from the raw tables (keys: entity names as in ENTITIES)."""
    identity = resolve_identity(resolve_raw(raw), settings)
    buys = purchases(identity, settings)
    loyal = loyalty_customers(buys, identity, settings)
    chans = channels(identity, sentiment, settings)
    return {
        "retention_monthly": _retention_monthly(buys, settings),
        "cohort_retention": cohort_retention(buys, settings),
        "loyalty_customers": loyal.drop("natural_key"),
        "loyalty_summary": loyalty_summary(loyal, identity, settings),
        "satisfaction_monthly": satisfaction_monthly(identity, sentiment, settings),
        "social_monthly": social_monthly(identity, sentiment, settings),
        "social_language_monthly": social_language_monthly(identity, sentiment, settings),
        "email_monthly": email_monthly(identity, settings),
        "channel_retention": channel_retention(loyal, chans),
        "customer_360": customer_360(identity, loyal, chans, sentiment, settings),
    }
