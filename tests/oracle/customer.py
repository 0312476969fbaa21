"""channel_retention and customer_360: per-customer engagement over the last 90 / 365 days."""

from __future__ import annotations

import polars as pl

from .common import ratio, within_days
from .identity import Identity
from .satisfaction import email_events, mentions, signals, surveys, tickets
from .settings import OracleSettings

CHANNEL_DAYS = 365
RECENT_DAYS = 90


def _keys(df: pl.DataFrame, name: str) -> pl.DataFrame:
    """Distinct non-null natural keys of ``df``, flagged ``name``."""
    return (
        df.filter(pl.col("natural_key").is_not_null())
        .select("natural_key")
        .unique()
        .with_columns(pl.lit(True).alias(name))
    )


def channels(identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Channels each customer engaged on in (as_of - 365 days, as_of]: natural_key, count."""
    year = CHANNEL_DAYS
    ev = email_events(identity, settings)
    parts = [
        _keys(
            ev.filter(
                pl.col("event_type").is_in(["open", "click"]),
                within_days("occurred_at", year, settings),
            ),
            "email",
        ),
        _keys(
            mentions(identity, sentiment, settings).filter(
                within_days("posted_at", year, settings)
            ),
            "social",
        ),
        _keys(
            tickets(identity, settings).filter(within_days("created_at", year, settings)),
            "support",
        ),
        _keys(
            surveys(identity, settings).filter(within_days("responded_at", year, settings)),
            "survey",
        ),
    ]
    out = identity.customers.select("natural_key")
    for part in parts:
        out = out.join(part, on="natural_key", how="left")
    flags = ["email", "social", "support", "survey"]
    return out.select(
        "natural_key",
        pl.sum_horizontal([pl.col(f).fill_null(False).cast(pl.Int32) for f in flags])
        .cast(pl.Int32)
        .alias("channels_engaged"),
    )


def channel_retention(loyal: pl.DataFrame, chans: pl.DataFrame) -> pl.DataFrame:
    """Buying customers and their activity by number of channels engaged (always 5 rows)."""
    counts = (
        loyal.join(chans, on="natural_key", how="left")
        .group_by("channels_engaged")
        .agg(
            pl.len().cast(pl.Int64).alias("customers"),
            pl.col("is_active").sum().cast(pl.Int64).alias("active_customers"),
        )
    )
    return (
        pl.DataFrame({"channels_engaged": pl.Series([0, 1, 2, 3, 4], dtype=pl.Int32)})
        .join(counts, on="channels_engaged", how="left")
        .with_columns(pl.col("customers", "active_customers").fill_null(0))
        .with_columns(ratio("active_customers", "customers").alias("active_rate"))
    )


def _latest_score(s: pl.DataFrame, survey_type: str, name: str) -> pl.DataFrame:
    """The score of each customer's latest response of a type.

    Ties on responded_at: docs/open-rules.md R4 (highest response_id).
    """
    return (
        s.filter(pl.col("survey_type") == survey_type, pl.col("natural_key").is_not_null())
        .sort("natural_key", "responded_at", "response_id")
        .group_by("natural_key", maintain_order=True)
        .last()
        .select("natural_key", pl.col("score").alias(name))
    )


def email_90d(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Per customer: campaigns delivered, opened, clicked in the last 90 days; open rate.

    Delivered as in email_monthly: a delivered event, or for a campaign with no delivered event
    at all, a sent event and no bounce. A delivered event needs no sent event of the same
    recipient here: docs/open-rules.md R6.
    """
    events = email_events(identity, settings)
    typ = pl.col("event_type")
    delivers = events.group_by("campaign_id").agg(
        (typ == "delivered").any().alias("_campaign_delivers")
    )
    recent = within_days("occurred_at", RECENT_DAYS, settings)
    per = (
        events.filter(pl.col("natural_key").is_not_null())
        .group_by("natural_key", "campaign_id")
        .agg(
            (recent & (typ == "delivered")).any().alias("_delivered_recent"),
            (recent & (typ == "sent")).any().alias("_sent_recent"),
            (recent & (typ == "open")).any().alias("_open_recent"),
            (recent & (typ == "click")).any().alias("_click_recent"),
            (typ == "open").any().alias("_opened"),
            (typ == "bounce").any().alias("_bounced"),
        )
        .join(delivers, on="campaign_id")
        .with_columns(
            pl.when(pl.col("_campaign_delivers"))
            .then(pl.col("_delivered_recent"))
            .otherwise(pl.col("_sent_recent") & ~pl.col("_bounced"))
            .alias("_delivered_90d")
        )
    )
    return per.group_by("natural_key").agg(
        pl.col("_delivered_90d").sum().cast(pl.Int64).alias("emails_delivered_90d"),
        pl.col("_open_recent").sum().cast(pl.Int64).alias("opens_90d"),
        pl.col("_click_recent").sum().cast(pl.Int64).alias("clicks_90d"),
        ratio(
            (pl.col("_delivered_90d") & pl.col("_opened")).sum(), pl.col("_delivered_90d").sum()
        ).alias("open_rate_90d"),
    )


def customer_360(
    identity: Identity,
    loyal: pl.DataFrame,
    chans: pl.DataFrame,
    sentiment: pl.DataFrame,
    settings: OracleSettings,
) -> pl.DataFrame:
    """One row per customer with every per-customer figure of metrics.md."""
    year = CHANNEL_DAYS
    t = tickets(identity, settings)
    s = surveys(identity, settings)
    m = mentions(identity, sentiment, settings)
    tickets_12m = (
        t.filter(pl.col("natural_key").is_not_null(), within_days("created_at", year, settings))
        .group_by("natural_key")
        .agg(pl.len().cast(pl.Int64).alias("tickets_12m"))
    )
    ces_12m = (
        s.filter(
            pl.col("natural_key").is_not_null(),
            pl.col("survey_type") == "ces",
            within_days("responded_at", year, settings),
        )
        .group_by("natural_key")
        .agg(pl.col("score").cast(pl.Float64).mean().alias("avg_ces_12m"))
    )
    unsubscribed = _keys(
        email_events(identity, settings).filter(pl.col("event_type") == "unsubscribe"),
        "is_unsubscribed",
    )
    mentions_12m = (
        m.filter(pl.col("natural_key").is_not_null(), within_days("posted_at", year, settings))
        .group_by("natural_key")
        .agg(
            pl.len().cast(pl.Int64).alias("mentions_12m"),
            (pl.col("sentiment") == "negative").sum().cast(pl.Int64).alias("negative_mentions_12m"),
        )
    )
    dissatisfied = _keys(
        signals(identity, sentiment, settings).filter(within_days("at", RECENT_DAYS, settings)),
        "dissatisfied_90d",
    )
    ticket_90d = _keys(t.filter(within_days("created_at", RECENT_DAYS, settings)), "_ticket_90d")

    out = identity.customers.join(
        loyal.drop("customer_id", "email_sha256"), on="natural_key", how="left"
    )
    for part in [
        tickets_12m,
        _latest_score(s, "nps", "last_nps"),
        _latest_score(s, "csat", "last_csat"),
        ces_12m,
        email_90d(identity, settings),
        unsubscribed,
        mentions_12m,
        chans,
        dissatisfied,
        ticket_90d,
    ]:
        out = out.join(part, on="natural_key", how="left")
    zero = [
        "purchases",
        "tickets_12m",
        "emails_delivered_90d",
        "opens_90d",
        "clicks_90d",
        "mentions_12m",
        "negative_mentions_12m",
    ]
    out = out.with_columns(
        pl.col(zero).fill_null(0),
        pl.col("revenue").fill_null(0),
        pl.col("is_active", "is_unsubscribed", "dissatisfied_90d", "_ticket_90d").fill_null(False),
        pl.col("channels_engaged").fill_null(0).alias("channels_engaged_12m"),
    )
    return out.select(
        "customer_id",
        "email_sha256",
        "country",
        "language",
        "acquisition_source",
        "created_at",
        "first_purchase_at",
        "last_purchase_at",
        "purchases",
        "revenue",
        "loyalty_tier",
        "rfm_segment",
        "r_score",
        "f_score",
        "m_score",
        "is_active",
        ((pl.col("purchases") >= 1) & ~pl.col("is_active")).alias("is_churned"),
        pl.col("recency_days").alias("days_since_last_purchase"),
        "tickets_12m",
        "last_nps",
        "last_csat",
        "avg_ces_12m",
        "emails_delivered_90d",
        "opens_90d",
        "clicks_90d",
        "open_rate_90d",
        "is_unsubscribed",
        "mentions_12m",
        "negative_mentions_12m",
        "channels_engaged_12m",
        "dissatisfied_90d",
        (pl.col("dissatisfied_90d") & ~pl.col("_ticket_90d")).alias("silent_dissatisfied_90d"),
    )
