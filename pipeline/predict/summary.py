"""From purchase days to the per-customer inputs of the models (frequency, recency, age, spend).

A purchase is counted by its day: the models' unit is a purchase *day* (UTC date), as in the
papers' CDNOW data, so two orders on one day are one purchase worth their summed net amount.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

WEEK_DAYS = 7.0


def customer_summary(days: pl.DataFrame, calibration_end: dt.date) -> pl.DataFrame:
    """One row per customer with a purchase day on or before ``calibration_end``.

    ``days`` has customer_id, day (date) and amount (the day's net amount), one row per
    customer and day. Returns customer_id, frequency (purchase days after the first),
    recency_weeks, age_weeks and monetary (mean amount of the repeat days, NULL without any).
    """
    first = pl.col("day").min()
    # The repeat days' amounts summed in day order: a plain sum() adds a customer's days in
    # the order polars' threads meet them, which varies from run to run, and the Gamma-Gamma
    # fit turns the last bits of m_x into p, q, γ differing in the 7th digit (a mart built
    # day by day then differed from one rebuilt from the same files). Sorted first, the group
    # is summed whole, in one order: the same bits every run (tests/test_predict_formulas.py).
    repeat_amount = pl.col("amount").sort_by("day").slice(1).sum()
    return (
        days.lazy()
        .filter(pl.col("day") <= calibration_end)
        .group_by("customer_id")
        .agg(
            frequency=(pl.len() - 1).cast(pl.Int64),
            recency_weeks=(pl.col("day").max() - first).dt.total_days() / WEEK_DAYS,
            age_weeks=(pl.lit(calibration_end) - first).dt.total_days() / WEEK_DAYS,
            repeat_amount=repeat_amount,
        )
        .with_columns(
            monetary=pl.when(pl.col("frequency") > 0).then(
                pl.col("repeat_amount") / pl.col("frequency")
            )
        )
        .drop("repeat_amount")
        .sort("customer_id")
        .collect()
    )


def triples(summary: pl.DataFrame) -> pl.DataFrame:
    """Distinct (frequency, recency_weeks, age_weeks) with the customers sharing each, sorted.

    Sorted because the fit sums the log-likelihood over these rows: in polars' group order
    (which varies from call to call) the same counts converged in one run and ran a parameter
    to the edge of its range in the next.
    """
    keys = ("frequency", "recency_weeks", "age_weeks")
    return summary.group_by(*keys).agg(customers=pl.len()).sort(*keys)


def purchases_between(days: pl.DataFrame, start: dt.date, end: dt.date) -> pl.DataFrame:
    """Purchase days per customer in (start, end]: customer_id, purchases."""
    return (
        days.lazy()
        .filter((pl.col("day") > start) & (pl.col("day") <= end))
        .group_by("customer_id")
        .agg(purchases=pl.len().cast(pl.Int64))
        .collect()
    )
