"""The prediction's own setting: the monthly discount rate of the CLV."""

from __future__ import annotations

import os

DISCOUNT_ENV = "PIPELINE_CLV_MONTHLY_DISCOUNT"
DEFAULT_DISCOUNT = 0.01


def monthly_discount(value: str | float | None = None) -> float:
    """``PIPELINE_CLV_MONTHLY_DISCOUNT`` (default 0.01): the rate d of predicted_clv_365d.

    Read when the asset runs (not at import). Raises ValueError naming the variable when the
    value is not a number in [0, 1).
    """
    raw = value if value not in (None, "") else os.environ.get(DISCOUNT_ENV, "").strip()
    if raw in (None, ""):
        return DEFAULT_DISCOUNT
    try:
        rate = float(raw)
    except ValueError:
        raise ValueError(f"{DISCOUNT_ENV}={raw!r} is not a number (e.g. 0.01 for 1 %)") from None
    if not 0 <= rate < 1:
        raise ValueError(f"{DISCOUNT_ENV}={rate} must be in [0, 1) (a monthly rate, 0.01 = 1 %)")
    return rate
