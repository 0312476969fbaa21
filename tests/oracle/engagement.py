"""social_monthly and email_monthly, and the per-recipient campaign facts customer_360 uses."""

from __future__ import annotations

import polars as pl

from .common import month_of, ratio
from .identity import Identity
from .satisfaction import delivered_sentiment, email_events, mentions, unrecognised_sentiment
from .settings import OracleSettings

FLAGS = {
    "delivered": "delivered",
    "bounce": "bounced",
    "open": "opened",
    "click": "clicked",
    "unsubscribe": "unsubscribed",
    "spam_complaint": "complained",
}


def social_monthly(
    identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings
) -> pl.DataFrame:
    """Mentions, sentiment, linking and brand replies per (month, platform)."""
    delivered = identity.social_mentions.select(
        "mention_id",
        delivered_sentiment().alias("_delivered"),
        unrecognised_sentiment().alias("_unrecognised"),
    )
    m = mentions(identity, sentiment, settings).join(delivered, on="mention_id", how="left")
    m = m.with_columns(
        month_of("posted_at").alias("month"),
        ((pl.col("brand_replied_at") - pl.col("posted_at")).dt.total_microseconds() / 60e6).alias(
            "_minutes"
        ),
    )
    replied = pl.col("brand_replied_at").is_not_null()
    return (
        m.group_by("month", "platform")
        .agg(
            pl.len().cast(pl.Int64).alias("mentions"),
            (pl.col("sentiment") == "positive").sum().cast(pl.Int64).alias("positive"),
            (pl.col("sentiment") == "neutral").sum().cast(pl.Int64).alias("neutral"),
            (pl.col("sentiment") == "negative").sum().cast(pl.Int64).alias("negative"),
            pl.col("natural_key").is_not_null().sum().cast(pl.Int64).alias("linked_mentions"),
            replied.sum().cast(pl.Int64).alias("replied"),
            pl.col("_minutes").filter(replied).median().alias("median_response_minutes"),
            # Delivered = the raw sentiment was given; scored = final sentiment without one.
            pl.col("_delivered").is_not_null().sum().cast(pl.Int64).alias("sentiment_delivered"),
            (pl.col("_delivered").is_null() & pl.col("sentiment").is_not_null())
            .sum()
            .cast(pl.Int64)
            .alias("sentiment_scored"),
            pl.col("sentiment").is_null().sum().cast(pl.Int64).alias("sentiment_unscored"),
            pl.col("_unrecognised").sum().cast(pl.Int64).alias("sentiment_unrecognised"),
        )
        .with_columns(
            (pl.col("month").dt.month_end() <= settings.as_of).alias("is_complete"),
            ratio(pl.col("positive") - pl.col("negative"), "mentions").alias("net_sentiment"),
            ratio("replied", "mentions").alias("response_rate"),
        )
        .select(
            "month",
            "platform",
            "is_complete",
            "mentions",
            "positive",
            "neutral",
            "negative",
            "net_sentiment",
            "linked_mentions",
            "replied",
            "response_rate",
            "median_response_minutes",
            "sentiment_delivered",
            "sentiment_scored",
            "sentiment_unscored",
            "sentiment_unrecognised",
        )
    )


def social_language_monthly(
    identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings
) -> pl.DataFrame:
    """Mentions per (month, platform, language): how the language and the sentiment were known.

    The language is the delivered one (primary subtag, lower case), else the sentiment table's
    detected one, else 'unknown'; delivered sentiment is the raw column, unscored = no final
    sentiment, scored = the rest."""
    delivered = identity.social_mentions.select(
        "mention_id",
        delivered_sentiment().alias("_delivered"),
        unrecognised_sentiment().alias("_unrecognised"),
        pl.col("language")
        .str.strip_chars()
        .str.to_lowercase()
        .str.split("-")
        .list.first()
        .str.split("_")
        .list.first()
        .alias("_lang_delivered"),
    ).with_columns(
        pl.when(pl.col("_lang_delivered") == "")
        .then(None)
        .otherwise("_lang_delivered")
        .alias("_lang_delivered")
    )
    detected = sentiment.select("mention_id", pl.col("language").alias("_lang_table"))
    m = (
        mentions(identity, sentiment, settings)
        .join(delivered, on="mention_id", how="left")
        .join(detected, on="mention_id", how="left")
        .with_columns(
            month_of("posted_at").alias("month"),
            pl.coalesce("_lang_delivered", "_lang_table", pl.lit("unknown")).alias("language"),
        )
    )
    count = lambda cond: cond.sum().cast(pl.Int64)  # noqa: E731
    return (
        m.group_by("month", "platform", "language")
        .agg(
            pl.len().cast(pl.Int64).alias("mentions"),
            count(pl.col("_lang_delivered").is_not_null()).alias("language_delivered"),
            count(pl.col("_lang_delivered").is_null() & pl.col("_lang_table").is_not_null()).alias(
                "language_detected"
            ),
            count(pl.col("_delivered").is_not_null()).alias("sentiment_delivered"),
            count(pl.col("_delivered").is_null() & pl.col("sentiment").is_not_null()).alias(
                "sentiment_scored"
            ),
            count(pl.col("sentiment").is_null()).alias("sentiment_unscored"),
            count(pl.col("_unrecognised")).alias("sentiment_unrecognised"),
            count(pl.col("sentiment") == "positive").alias("positive"),
            count(pl.col("sentiment") == "neutral").alias("neutral"),
            count(pl.col("sentiment") == "negative").alias("negative"),
        )
        .with_columns(
            (pl.col("month").dt.month_end() <= settings.as_of).alias("is_complete"),
            ratio("sentiment_unscored", "mentions").alias("unscored_share"),
        )
        .select(
            "month",
            "platform",
            "language",
            "is_complete",
            "mentions",
            "language_delivered",
            "language_detected",
            "sentiment_delivered",
            "sentiment_scored",
            "sentiment_unscored",
            "sentiment_unrecognised",
            "unscored_share",
            "positive",
            "neutral",
            "negative",
        )
    )


def recipients(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """One row per (campaign, recipient) that was sent: first sent time and event flags.

    ``is_delivered`` follows email_monthly: a delivered event, or, for a campaign without any
    delivered event, sent and not bounced.
    """
    ev = email_events(identity, settings)
    campaign_delivers = ev.group_by("campaign_id").agg(
        (pl.col("event_type") == "delivered").any().alias("_campaign_delivers")
    )
    per = ev.group_by("campaign_id", "email_norm").agg(
        pl.col("natural_key").first(),
        pl.col("occurred_at").filter(pl.col("event_type") == "sent").min().alias("first_sent_at"),
        *[(pl.col("event_type") == t).any().alias(f"is_{f}") for t, f in FLAGS.items()],
    )
    return (
        per.filter(pl.col("first_sent_at").is_not_null())
        .join(campaign_delivers, on="campaign_id")
        .with_columns(
            pl.when(pl.col("_campaign_delivers"))
            .then(pl.col("is_delivered"))
            .otherwise(~pl.col("is_bounced"))
            .alias("is_delivered")
        )
    )


def campaign_names(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """The most frequent non-empty name of each campaign.

    Ties: docs/open-rules.md R5 (alphabetically first).
    """
    ev = email_events(identity, settings).filter(
        pl.col("campaign_name").is_not_null() & (pl.col("campaign_name").str.strip_chars() != "")
    )
    return (
        ev.group_by("campaign_id", "campaign_name")
        .agg(pl.len().alias("_n"))
        .sort(["campaign_id", "_n", "campaign_name"], descending=[False, True, False])
        .group_by("campaign_id", maintain_order=True)
        .first()
        .select("campaign_id", "campaign_name")
    )


def email_monthly(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Distinct recipients per event, in the month of each recipient's first send."""
    rec = recipients(identity, settings).with_columns(month_of("first_sent_at").alias("month"))
    out = rec.group_by("month", "campaign_id").agg(
        pl.len().cast(pl.Int64).alias("sent"),
        pl.col("is_delivered").sum().cast(pl.Int64).alias("delivered"),
        pl.col("is_bounced").sum().cast(pl.Int64).alias("bounced"),
        pl.col("is_opened").sum().cast(pl.Int64).alias("unique_opens"),
        pl.col("is_clicked").sum().cast(pl.Int64).alias("unique_clicks"),
        pl.col("is_unsubscribed").sum().cast(pl.Int64).alias("unsubscribes"),
        pl.col("is_complained").sum().cast(pl.Int64).alias("spam_complaints"),
    )
    return (
        out.join(campaign_names(identity, settings), on="campaign_id", how="left")
        # Each count of its own event over delivered, so above 1 can happen: docs/open-rules.md R8.
        .with_columns(
            ratio("unique_opens", "delivered").alias("open_rate"),
            ratio("unique_clicks", "delivered").alias("click_rate"),
            ratio("unsubscribes", "delivered").alias("unsubscribe_rate"),
        )
        .select(
            "month",
            "campaign_id",
            "campaign_name",
            "sent",
            "delivered",
            "bounced",
            "unique_opens",
            "unique_clicks",
            "unsubscribes",
            "spam_complaints",
            "open_rate",
            "click_rate",
            "unsubscribe_rate",
        )
    )
