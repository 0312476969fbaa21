"""Run configuration: the data directory, as_of, time zone, churn window and SLA.

Every value comes from a Dagster resource field when one is set, else from the environment
(``PIPELINE_*``), else from the default in ``spec/metrics.md``. Nothing is read at import time:
``Settings.resolve`` runs when an asset asks for it.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dagster as dg

MIN_CHURN_DAYS = 31


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    """Resolved, validated configuration of one run."""

    data_dir: Path
    as_of: dt.date
    timezone: str
    churn_days: int
    sla_hours: float

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.data_dir / "serving"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def docs_dir(self) -> Path:
        return self.data_dir / "docs"

    @property
    def as_of_end(self) -> dt.datetime:
        """Exclusive end of ``as_of`` in UTC (naive): anything at or after it has not happened."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    @classmethod
    def resolve(
        cls,
        data_dir: str | None = None,
        as_of: str | None = None,
        timezone: str | None = None,
        churn_days: int | str | None = None,
        sla_hours: float | str | None = None,
    ) -> Settings:
        """Resolve each value from the argument, else ``PIPELINE_*``, else its default."""
        env = os.environ
        data_dir = data_dir or env.get("PIPELINE_DATA_DIR") or "./data"
        as_of_text = as_of or env.get("PIPELINE_AS_OF") or ""
        tz = timezone or env.get("PIPELINE_TIMEZONE") or "UTC"
        churn = churn_days if churn_days not in (None, "") else env.get("PIPELINE_CHURN_DAYS", "90")
        sla = sla_hours if sla_hours not in (None, "") else env.get("PIPELINE_SLA_HOURS", "24")

        if as_of_text:
            try:
                as_of_date = dt.date.fromisoformat(as_of_text)
            except ValueError:
                raise ConfigError(
                    f"PIPELINE_AS_OF={as_of_text!r} is not a date; write it as YYYY-MM-DD"
                ) from None
        else:
            as_of_date = dt.datetime.now(dt.UTC).date()
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"PIPELINE_TIMEZONE={tz!r} is not an IANA time zone (e.g. Europe/Bucharest)"
            ) from None
        try:
            churn_int = int(churn)
        except ValueError:
            raise ConfigError(f"PIPELINE_CHURN_DAYS={churn!r} is not a whole number") from None
        if churn_int < MIN_CHURN_DAYS:
            raise ConfigError(
                f"PIPELINE_CHURN_DAYS={churn_int} is too short: the churn window must be at least "
                f"{MIN_CHURN_DAYS} days so that a monthly buyer is never counted as churned"
            )
        try:
            sla_float = float(sla)
        except ValueError:
            raise ConfigError(f"PIPELINE_SLA_HOURS={sla!r} is not a number") from None
        if sla_float <= 0:
            raise ConfigError(f"PIPELINE_SLA_HOURS={sla_float} must be positive")
        return cls(
            data_dir=Path(data_dir).expanduser().resolve(),
            as_of=as_of_date,
            timezone=tz,
            churn_days=churn_int,
            sla_hours=sla_float,
        )


class PipelineConfig(dg.ConfigurableResource):
    """Where the data lives and what the marts describe; empty fields fall back to PIPELINE_*."""

    data_dir: str | None = None
    as_of: str | None = None
    timezone: str | None = None
    churn_days: int | None = None
    sla_hours: float | None = None

    def settings(self) -> Settings:
        """The resolved settings of this run."""
        return Settings.resolve(
            data_dir=self.data_dir,
            as_of=self.as_of,
            timezone=self.timezone,
            churn_days=self.churn_days,
            sla_hours=self.sla_hours,
        )
