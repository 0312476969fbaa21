"""retention_monthly, cohort_retention, loyalty_customers and loyalty_summary."""

from __future__ import annotations

import datetime as dt

import polars as pl

from .common import month_grid, month_of, ntile, ratio, within_days
from .identity import Identity, qualifying
from .settings import OracleSettings

RFM_GRID = {
    5: ["New Customers", "Potential Loyalists", "Loyal", "Champions", "Champions"],
    4: ["Promising", "Potential Loyalists", "Loyal", "Champions", "Champions"],
    3: ["Potential Loyalists", "Potential Loyalists", "Loyal", "Loyal", "Loyal"],
    2: ["Hibernating", "Hibernating", "At Risk", "At Risk", "At Risk"],
    1: ["Lost", "Lost", "At Risk", "Can't Lose Them", "Can't Lose Them"],
}


def purchases(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Qualifying purchases on or before as_of: natural_key, ordered_at, day, net_amount."""
    return qualifying(identity.orders, settings).select(
        "natural_key",
        "order_id",
        "ordered_at",
        pl.col("ordered_at").dt.date().alias("day"),
        "net_amount",
    )


def active_on(days: pl.Expr, day: pl.Expr, churn_days: int) -> pl.Expr:
    """Some purchase day in (day - churn_days, day]: the customer is active on ``day``."""
    return ((days > day - pl.duration(days=churn_days)) & (days <= day)).any()


def retention_monthly(buys: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """S, N, retained, reactivated, E, churned and the rates per month."""
    months = month_grid(first_month(buys["day"]), settings).with_columns(
        (pl.col("month") - pl.duration(days=1)).alias("day_before"),
        pl.min_horizontal(pl.col("month").dt.month_end(), pl.lit(settings.as_of)).alias("last"),
    )
    first = buys.group_by("natural_key").agg(month_of("ordered_at").min().alias("first_month"))
    per = (
        buys.join(months, how="cross")
        .group_by("month", "natural_key")
        .agg(
            active_on(pl.col("day"), pl.col("day_before").first(), settings.churn_days).alias(
                "in_s"
            ),
            active_on(pl.col("day"), pl.col("last").first(), settings.churn_days).alias("at_end"),
        )
        .join(first, on="natural_key")
        .with_columns((pl.col("first_month") == pl.col("month")).alias("is_new"))
    )
    counts = per.group_by("month").agg(
        pl.col("in_s").sum().alias("customers_start"),
        pl.col("is_new").sum().alias("new_customers"),
        (pl.col("in_s") & pl.col("at_end")).sum().alias("retained_customers"),
        (~pl.col("in_s") & ~pl.col("is_new") & pl.col("at_end"))
        .sum()
        .alias("reactivated_customers"),
    )
    return (
        months.select("month", "is_complete")
        .join(counts, on="month", how="left")
        .with_columns(
            pl.col(
                "customers_start", "new_customers", "retained_customers", "reactivated_customers"
            )
            .fill_null(0)
            .cast(pl.Int64)
        )
        .with_columns(
            (
                pl.col("retained_customers")
                + pl.col("new_customers")
                + pl.col("reactivated_customers")
            ).alias("customers_end"),
            (pl.col("customers_start") - pl.col("retained_customers")).alias("churned_customers"),
        )
        .with_columns(
            ratio("retained_customers", "customers_start").alias("retention_rate"),
            ratio("churned_customers", "customers_start").alias("churn_rate"),
            ratio(pl.col("customers_end") - pl.col("new_customers"), "customers_start").alias(
                "crr_textbook"
            ),
        )
    )


def cohort_retention(buys: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Cohort size and customers buying again k months after their first purchase month."""
    bought = buys.select("natural_key", month_of("ordered_at").alias("month")).unique()
    cohort = bought.group_by("natural_key").agg(pl.col("month").min().alias("cohort_month"))
    sizes = cohort.group_by("cohort_month").agg(pl.len().cast(pl.Int64).alias("cohort_size"))
    end = settings.as_of_month
    grid = sizes.with_columns(
        pl.int_ranges(
            0,
            (end.year - pl.col("cohort_month").dt.year()) * 12
            + end.month
            - pl.col("cohort_month").dt.month()
            + 1,
        ).alias("months_since_first")
    ).explode("months_since_first")
    k = (
        (pl.col("month").dt.year() - pl.col("cohort_month").dt.year()) * 12
        + pl.col("month").dt.month()
        - pl.col("cohort_month").dt.month()
    )
    retained = (
        bought.join(cohort, on="natural_key")
        .group_by("cohort_month", k.alias("months_since_first"))
        .agg(pl.len().cast(pl.Int64).alias("retained_customers"))
    )
    return (
        grid.with_columns(pl.col("months_since_first").cast(pl.Int64))
        .join(
            retained.with_columns(pl.col("months_since_first").cast(pl.Int64)),
            on=["cohort_month", "months_since_first"],
            how="left",
        )
        .with_columns(pl.col("retained_customers").fill_null(0))
        .with_columns(ratio("retained_customers", "cohort_size").alias("retention_rate"))
        .select(
            "cohort_month",
            "months_since_first",
            "cohort_size",
            "retained_customers",
            "retention_rate",
        )
    )


def with_ntile(df: pl.DataFrame, name: str, by: list[str], descending: list[bool]) -> pl.DataFrame:
    """Add ``ntile(5) over (order by <by>)`` as column ``name``."""
    return (
        df.sort(by, descending=descending)
        .with_columns(ntile(5, pl.int_range(pl.len()), pl.len()).alias(name))
        .sort("customer_id")
    )


def rfm_segment() -> pl.Expr:
    """The RFM grid of metrics.md, looked up by (r_score, f_score)."""
    expr = pl.lit(None, pl.String)
    for r, row in RFM_GRID.items():
        for f, segment in enumerate(row, start=1):
            expr = (
                pl.when((pl.col("r_score") == r) & (pl.col("f_score") == f))
                .then(pl.lit(segment))
                .otherwise(expr)
            )
    return expr


def helped_keys(identity: Identity, settings: OracleSettings) -> pl.DataFrame:
    """Customers with a ticket created in (as_of - 365 days, as_of]."""
    return (
        identity.tickets.filter(
            pl.col("natural_key").is_not_null(), within_days("created_at", 365, settings)
        )
        .select("natural_key")
        .unique()
    )


def loyalty_customers(
    buys: pl.DataFrame, identity: Identity, settings: OracleSettings
) -> pl.DataFrame:
    """One row per customer with a qualifying purchase: RFM, tier, referral, help, activity."""
    as_of = settings.as_of
    helped = helped_keys(identity, settings).with_columns(pl.lit(True).alias("helped_12m"))
    per = (
        buys.group_by("natural_key")
        .agg(
            pl.col("ordered_at").min().alias("first_purchase_at"),
            pl.col("ordered_at").max().alias("last_purchase_at"),
            pl.len().cast(pl.Int64).alias("purchases"),
            pl.col("net_amount").sum().alias("revenue"),
        )
        .join(identity.customers, on="natural_key", how="left")
        .join(helped, on="natural_key", how="left")
        .with_columns(
            (pl.col("revenue").cast(pl.Float64) / pl.col("purchases")).alias("avg_order_value"),
            (pl.lit(as_of) - pl.col("last_purchase_at").dt.date())
            .dt.total_days()
            .cast(pl.Int64)
            .alias("recency_days"),
            (pl.lit(as_of) - pl.col("first_purchase_at").dt.date())
            .dt.total_days()
            .cast(pl.Int64)
            .alias("tenure_days"),
            (pl.col("acquisition_source") == "referral").fill_null(False).alias("is_referred"),
            pl.col("helped_12m").fill_null(False),
        )
        .with_columns(
            (pl.col("recency_days") < settings.churn_days).alias("is_active"),
            pl.when(pl.col("purchases") >= 5)
            .then(pl.lit("loyal"))
            .when(pl.col("purchases") >= 2)
            .then(pl.lit("repeat"))
            .otherwise(pl.lit("new"))
            .alias("loyalty_tier"),
        )
    )
    per = with_ntile(per, "r_score", ["recency_days", "customer_id"], [True, False])
    per = with_ntile(per, "f_score", ["purchases", "customer_id"], [False, False])
    per = with_ntile(per, "m_score", ["revenue", "customer_id"], [False, False])
    return per.with_columns(rfm_segment().alias("rfm_segment")).select(
        "customer_id",
        "email_sha256",
        "first_purchase_at",
        "last_purchase_at",
        "purchases",
        "revenue",
        "avg_order_value",
        "recency_days",
        "tenure_days",
        "r_score",
        "f_score",
        "m_score",
        "rfm_segment",
        "loyalty_tier",
        "is_referred",
        "helped_12m",
        "is_active",
        "natural_key",
    )


def loyalty_summary(
    loyal: pl.DataFrame, identity: Identity, settings: OracleSettings
) -> pl.DataFrame:
    """The one-row summary for as_of."""
    helped = helped_keys(identity, settings).join(
        identity.customers.select("natural_key", "acquisition_source"), on="natural_key"
    )
    helped = helped.join(loyal.select("natural_key", "purchases"), on="natural_key", how="left")
    helped_n = helped.height
    ror_n = helped.filter(
        (pl.col("purchases").fill_null(0) >= 2)
        | (pl.col("acquisition_source") == "referral").fill_null(False)
    ).height
    customers = loyal.height
    repeat = loyal.filter(pl.col("purchases") >= 2).height
    loyal_n = loyal.filter(pl.col("purchases") >= 5).height

    def share(num: int, den: int) -> float | None:
        return num / den if den else None

    return pl.DataFrame(
        {
            "as_of": [settings.as_of],
            "customers": [customers],
            "repeat_customers": [repeat],
            "repeat_rate": [share(repeat, customers)],
            "loyal_customers": [loyal_n],
            "loyal_share": [share(loyal_n, customers)],
            "active_customers": [loyal.filter(pl.col("is_active")).height],
            "helped_customers_12m": [helped_n],
            "ror": [share(ror_n, helped_n)],
        },
        schema={
            "as_of": pl.Date,
            "customers": pl.Int64,
            "repeat_customers": pl.Int64,
            "repeat_rate": pl.Float64,
            "loyal_customers": pl.Int64,
            "loyal_share": pl.Float64,
            "active_customers": pl.Int64,
            "helped_customers_12m": pl.Int64,
            "ror": pl.Float64,
        },
    )


def first_month(*columns: pl.Series) -> dt.date | None:
    """The earliest month over several date series (None when all are empty)."""
    found = [s.min() for s in columns if s.len() and s.min() is not None]
    return min(found).replace(day=1) if found else None
