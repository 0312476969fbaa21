"""satisfaction_monthly, and the dissatisfaction signals customer_360 also uses."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .common import happened, hours_between, month_grid, month_of, ratio
from .identity import Identity
from .loyalty import first_month
from .settings import OracleSettings

SOLVED = ("solved", "closed")


def tickets(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Tickets created by as_of, with replies and solutions after as_of blanked out."""
    return identity.tickets.filter(happened("created_at", settings)).with_columns(
        pl.when(happened("first_response_at", settings))
        .then(pl.col("first_response_at"))
        .otherwise(None)
        .alias("first_response_at"),
        (
            pl.col("status").is_in(SOLVED)
            & (pl.col("solved_at").is_null() | (pl.col("solved_at") < settings.as_of_end))
        ).alias("is_solved"),
    )


def surveys(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Survey responses on or before as_of."""
    return identity.surveys.filter(happened("responded_at", settings))


SENTIMENTS = ("positive", "neutral", "negative")


def delivered_sentiment() -> pl.Expr:
    """The raw sentiment when it is one of the three (any case); another label is none
    (docs/open-rules.md R11)."""
    label = pl.col("sentiment").str.strip_chars().str.to_lowercase()
    return pl.when(label.is_in(SENTIMENTS)).then(label)


def unrecognised_sentiment() -> pl.Expr:
    """Whether the raw sentiment is a label other than the three ('Mixed')."""
    return pl.col("sentiment").is_not_null() & delivered_sentiment().is_null()


def mentions(identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Mentions posted by as_of with their sentiment (delivered, else the scored table)."""
    scored = sentiment.select("mention_id", pl.col("sentiment").alias("_scored"))
    return (
        identity.social_mentions.filter(happened("posted_at", settings))
        .join(scored, on="mention_id", how="left")
        .with_columns(
            pl.coalesce(delivered_sentiment(), "_scored").alias("sentiment"),
            pl.when(happened("brand_replied_at", settings))
            .then(pl.col("brand_replied_at"))
            .otherwise(None)
            .alias("brand_replied_at"),
        )
        .drop("_scored")
    )


def email_events(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """E-mail events on or before as_of."""
    return identity.email_events.filter(happened("occurred_at", settings))


def signals(identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Every dissatisfaction signal: natural_key (NULL when it belongs to no customer), at.

    Signals of no customer count in no customer, but they still open the month range of
    satisfaction_monthly (docs/open-rules.md R7).
    """
    s = surveys(identity, settings)
    low = (
        ((pl.col("survey_type") == "nps") & (pl.col("score") <= 6))
        | ((pl.col("survey_type") == "csat") & (pl.col("score") <= 2))
        | ((pl.col("survey_type") == "ces") & (pl.col("score") <= 3))
    )
    parts = [
        s.filter(low).select("natural_key", pl.col("responded_at").alias("at")),
        mentions(identity, sentiment, settings)
        .filter(pl.col("sentiment") == "negative")
        .select("natural_key", pl.col("posted_at").alias("at")),
        email_events(identity, settings)
        .filter(pl.col("event_type") == "spam_complaint")
        .select("natural_key", pl.col("occurred_at").alias("at")),
    ]
    return pl.concat(parts)


def satisfaction_monthly(
    identity: Identity, sentiment: pl.DataFrame, settings: OracleSettings
) -> pl.DataFrame:
    """Survey scores, ticket service levels and silent dissatisfaction per month."""
    t = tickets(identity, settings).with_columns(month_of("created_at").alias("month"))
    s = surveys(identity, settings).with_columns(month_of("responded_at").alias("month"))
    sig = signals(identity, sentiment, settings).with_columns(month_of("at").alias("month"))
    months = month_grid(first_month(t["month"], s["month"], sig["month"]), settings)

    score = pl.col("score")
    nps = s.filter(pl.col("survey_type") == "nps")
    csat = s.filter(pl.col("survey_type") == "csat")
    ces = s.filter(pl.col("survey_type") == "ces")
    survey_stats = [
        nps.group_by("month").agg(
            pl.len().alias("nps_responses"),
            (score >= 9).sum().alias("promoters"),
            score.is_between(7, 8).sum().alias("passives"),
            (score <= 6).sum().alias("detractors"),
        ),
        csat.group_by("month").agg(
            pl.len().alias("csat_responses"), (score >= 4).sum().alias("_csat_good")
        ),
        ces.group_by("month").agg(
            pl.len().alias("ces_responses"), score.cast(pl.Float64).mean().alias("ces")
        ),
    ]

    # Differences as delivered, negative ones too: docs/open-rules.md R9.
    answer_h = hours_between("created_at", "first_response_at")
    solved = pl.col("is_solved")
    answered = pl.col("first_response_at").is_not_null()
    sla_cut = settings.as_of_end - dt.timedelta(hours=settings.sla_hours)
    eligible = answered | (pl.col("created_at") <= sla_cut)
    met = answered & (answer_h <= settings.sla_hours)
    ticket_stats = t.group_by("month").agg(
        pl.len().alias("tickets_created"),
        solved.sum().alias("tickets_solved"),
        answer_h.filter(answered).median().alias("median_first_response_hours"),
        answer_h.filter(answered)
        .quantile(0.9, interpolation="linear")
        .alias("p90_first_response_hours"),
        eligible.sum().alias("_sla_eligible"),
        (eligible & met).sum().alias("_sla_met"),
        hours_between("created_at", "solved_at")
        .filter(solved & pl.col("solved_at").is_not_null())
        .median()
        .alias("median_resolution_hours"),
        # an empty agent_replies is not 1 (docs/open-rules.md R10); empty reopens are 0
        (solved & (pl.col("agent_replies") == 1) & (pl.col("reopens").fill_null(0) == 0))
        .fill_null(False)
        .sum()
        .alias("_fcr"),
        (pl.col("category") == "complaint").fill_null(False).sum().alias("complaints"),
    )

    ticket_keys = t.filter(pl.col("natural_key").is_not_null()).select(
        "month", "natural_key", pl.lit(True).alias("_ticket")
    )
    dissatisfied = (
        sig.filter(pl.col("natural_key").is_not_null())
        .select("month", "natural_key")
        .unique()
        .join(ticket_keys.unique(), on=["month", "natural_key"], how="left")
        .group_by("month")
        .agg(
            pl.len().alias("dissatisfied_customers"),
            pl.col("_ticket").is_null().sum().alias("silent_dissatisfied_customers"),
        )
    )

    out = months
    for part in [*survey_stats, ticket_stats, dissatisfied]:
        out = out.join(part, on="month", how="left")
    counts = [
        "nps_responses",
        "promoters",
        "passives",
        "detractors",
        "csat_responses",
        "ces_responses",
        "tickets_created",
        "tickets_solved",
        "complaints",
        "dissatisfied_customers",
        "silent_dissatisfied_customers",
    ]
    out = out.with_columns(
        pl.col(counts).fill_null(0).cast(pl.Int64),
        pl.col("_csat_good", "_sla_eligible", "_sla_met", "_fcr").fill_null(0),
    )
    return out.select(
        "month",
        "is_complete",
        "nps_responses",
        "promoters",
        "passives",
        "detractors",
        ratio(100 * (pl.col("promoters") - pl.col("detractors")), "nps_responses").alias("nps"),
        "csat_responses",
        ratio("_csat_good", "csat_responses").alias("csat"),
        "ces_responses",
        "ces",
        "tickets_created",
        "tickets_solved",
        "median_first_response_hours",
        "p90_first_response_hours",
        ratio("_sla_met", "_sla_eligible").alias("sla_met_rate"),
        "median_resolution_hours",
        ratio("_fcr", "tickets_solved").alias("fcr_rate"),
        "complaints",
        "dissatisfied_customers",
        "silent_dissatisfied_customers",
        ratio("silent_dissatisfied_customers", "dissatisfied_customers").alias("silent_share"),
    )
