"""The run settings the oracle needs, and the date windows every mart shares."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class OracleSettings:
    """as_of, churn window and SLA of one run (spec/metrics.md, Conventions)."""

    as_of: dt.date
    churn_days: int = 90
    sla_hours: float = 24.0
    # PIPELINE_BRAND_HANDLES as written: ``platform:handle`` entries, comma-separated
    brand_handles: str = ""

    @property
    def as_of_end(self) -> dt.datetime:
        """Exclusive end of as_of: anything at or after it has not happened yet."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    @property
    def as_of_month(self) -> dt.date:
        """First day of the as_of month."""
        return self.as_of.replace(day=1)

    def days_back(self, days: int) -> dt.date:
        """as_of - days: the exclusive start of a "(as_of - days, as_of]" window on UTC dates."""
        return self.as_of - dt.timedelta(days=days)
