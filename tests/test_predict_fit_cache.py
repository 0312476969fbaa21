"""The holdout fit kept between runs (pipeline/predict/fit_cache.py): the same calibration
counts give the stored fit back without fitting again, other counts are fitted afresh, and the
stored fit is exactly the fitted one."""

from __future__ import annotations

import duckdb
import polars as pl

from pipeline.predict.fit_cache import TABLE, cached_bg_nbd
from pipeline.predict.model import fit_bg_nbd
from pipeline.warehouse import run, scalar


def _summary(customers: int) -> pl.DataFrame:
    """``customers`` made-up customers: frequency 0…5, recency a week per repeat (+ 0–2), age
    52 weeks; 5 of every 6 are repeat customers, enough to fit (20 needed)."""
    return pl.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(customers)],
            "frequency": [i % 6 for i in range(customers)],
            "recency_weeks": [
                float((i % 6) * 7 + i % 3) if i % 6 else 0.0 for i in range(customers)
            ],
            "age_weeks": [52.0] * customers,
        }
    )


def test_the_same_counts_give_the_stored_fit_and_others_are_fitted() -> None:
    with duckdb.connect() as con:
        fit = cached_bg_nbd(con)
        first, status = fit(_summary(60))
        fresh, fresh_status = fit_bg_nbd(_summary(60))
        # The stored fit is the fit afresh, bit for bit (the triples are summed in sorted order).
        assert first is not None and first == fresh and status == fresh_status
        assert first.customers == 60
        assert scalar(con, f"select count(*) from {TABLE}") == 1
        # The same counts again (rows in another order): the stored fit, bit for bit.
        assert fit(_summary(60).reverse())[0] == first
        # Prove the second call reads the store: change what is stored, and get that back.
        run(con, f"update {TABLE} set fit = replace(fit, '\"customers\": ', '\"customers\": 1')")
        again, _ = fit(_summary(60))
        assert again is not None and first is not None
        assert again.customers == int(f"1{first.customers}")
        assert again.params == first.params
        # One customer more: other counts, fitted afresh; still one entry kept.
        other, _ = fit(_summary(61))
        assert other is not None and other.customers == 61 and other.params != first.params
        assert scalar(con, f"select count(*) from {TABLE}") == 1


def test_the_fit_does_not_depend_on_the_order_of_the_customers() -> None:
    # Eight fits of the same 60 customers, half of them in reverse order: one result. Before the
    # triples were sorted, polars' group order changed the optimiser's sums and the same counts
    # came out "fitted" in one call and "did not converge" in the next.
    fits = {repr(fit_bg_nbd(_summary(60).reverse() if i % 2 else _summary(60))) for i in range(8)}
    assert len(fits) == 1


def test_too_few_repeat_customers_is_stored_with_its_reason() -> None:
    with duckdb.connect() as con:
        fitted, status = cached_bg_nbd(con)(_summary(6))  # 5 repeat customers
        assert fitted is None
        assert status == "too few repeat customers to fit: 5 with frequency >= 1, 20 needed"
        assert cached_bg_nbd(con)(_summary(6)) == (None, status)
