"""How long the BG/NBD and Gamma-Gamma fits take at scale: ``python bench/predict_fit.py``.

Simulates N customers from known BG/NBD parameters (the CDNOW estimates) with first purchases
spread over a year, one purchase a day at most, as purchase days; then times the pipeline's own
``pipeline.predict.model.predict`` (summary, aggregation to triples, both fits, every customer's
predictions) and prints the seconds, the distinct triples and the recovered parameters.
A script with a report, not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import polars as pl

from pipeline.predict.model import predict

TRUE = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
AS_OF = dt.date(2025, 12, 31)


def simulate(customers: int, seed: int = 7) -> pl.DataFrame:
    """Purchase days (customer_id, day, amount) of ``customers`` simulated BG/NBD buyers."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(TRUE["r"], 1 / TRUE["alpha"], customers) / 7  # per day
    drop = rng.beta(TRUE["a"], TRUE["b"], customers)
    age = rng.integers(0, 365, customers)  # days from first purchase to as_of
    ids, offsets = [np.arange(customers)], [np.zeros(customers, dtype=np.int64)]
    alive = np.ones(customers, dtype=bool)
    clock = np.zeros(customers)
    while alive.any():
        clock = clock + rng.exponential(1.0, customers) / np.maximum(rate, 1e-12)
        alive &= clock <= age
        ids.append(np.flatnonzero(alive))
        offsets.append(np.floor(clock[alive]).astype(np.int64))
        alive &= rng.random(customers) >= drop  # after each purchase: drop out with p
    customer = np.concatenate(ids)
    offset = np.concatenate(offsets)
    first = np.datetime64(AS_OF) - age[customer].astype("timedelta64[D]")
    nu = rng.gamma(3.74, 1 / 15.44, customers)  # each customer's spend rate
    spend = rng.gamma(6.25, 1 / nu[customer])  # one value per purchase
    return (
        pl.DataFrame(
            {
                "customer_id": customer.astype(str),
                "day": first + offset.astype("timedelta64[D]"),
                "amount": spend,
            }
        )
        .group_by("customer_id", "day")
        .agg(pl.col("amount").sum())
    )


def main() -> None:
    """Simulate, fit, print the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--customers", type=int, default=1_000_000)
    args = parser.parse_args()
    started = time.perf_counter()
    days = simulate(args.customers)
    simulated = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    result = predict(days, AS_OF, 0.01, dt.datetime.now(dt.UTC).replace(tzinfo=None))
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    triples = (
        days.group_by("customer_id")
        .agg(x=pl.len() - 1, first=pl.col("day").min(), last=pl.col("day").max())
        .select(pl.struct("x", "first", "last").n_unique())
        .item()
    )
    print(
        f"customers {args.customers:,}; purchase days {days.height:,} "
        f"(simulated in {simulated:.1f}s)"
    )
    print(f"distinct (frequency, recency, age) triples: {triples:,}")
    # CPU seconds too: on a shared machine the wall clock measures the neighbours as well.
    print(
        f"predict (summary + both fits + every customer's predictions): {seconds:.2f}s wall, "
        f"{cpu:.2f}s CPU"
    )
    print(
        f"BG/NBD {result.bg_status}: "
        + ", ".join(f"{k} {v:.3f}" for k, v in result.bg_nbd.params.items())
    )
    print("  true: " + ", ".join(f"{k} {v:.3f}" for k, v in TRUE.items()))
    print(
        f"Gamma-Gamma {result.gg_status}: "
        + ", ".join(f"{k} {v:.3f}" for k, v in result.gamma_gamma.params.items())
    )


if __name__ == "__main__":
    main()
