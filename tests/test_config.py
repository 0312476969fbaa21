"""Settings come from arguments, then PIPELINE_* variables, then defaults; bad values refused."""

import datetime as dt

import pytest

from pipeline.config import ConfigError, Settings


def utc_today() -> dt.date:
    """Today's date in UTC, read before and after the settings: a run of the suite may span
    midnight, so the date the settings took is one of the two, each the right one then."""
    return dt.datetime.now(dt.UTC).date()


def test_defaults(monkeypatch, tmp_path):
    for var in ("PIPELINE_AS_OF", "PIPELINE_TIMEZONE", "PIPELINE_CHURN_DAYS", "PIPELINE_SLA_HOURS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    before = utc_today()
    s = Settings.resolve()
    assert (s.churn_days, s.sla_hours, s.timezone) == (90, 24.0, "UTC")
    assert s.as_of in {before, utc_today()}  # today's date when resolved, midnight or not
    assert s.warehouse_path == tmp_path / "warehouse.duckdb"


def test_environment_and_as_of_end(monkeypatch):
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-02-29")
    monkeypatch.setenv("PIPELINE_CHURN_DAYS", "120")
    s = Settings.resolve()
    assert s.churn_days == 120
    assert s.as_of_end == dt.datetime(2024, 3, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"churn_days": 30}, "at least 31 days"),
        ({"churn_days": "abc"}, "not a whole number"),
        ({"as_of": "31/12/2024"}, "YYYY-MM-DD"),
        ({"timezone": "Mars/Olympus"}, "IANA time zone"),
        ({"sla_hours": "0"}, "must be positive"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ConfigError, match=message):
        Settings.resolve(**kwargs)


def test_churn_days_of_31_is_the_shortest_accepted():
    # metrics.md: churn_days "at least 31": 31 itself is a valid window, 30 is refused (above).
    assert Settings.resolve(as_of="2024-06-30", churn_days=31).churn_days == 31


def test_a_demo_data_dir_builds_the_demos_date_unless_told_otherwise(monkeypatch, tmp_path):
    from pipeline.config import DEMO_AS_OF_FILE

    monkeypatch.delenv("PIPELINE_AS_OF", raising=False)
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    before = utc_today()
    today = Settings.resolve()
    assert today.as_of in {before, utc_today()} and today.as_of_source == "today"
    assert "today (UTC); set PIPELINE_AS_OF or --as-of" in today.describe_as_of()
    (tmp_path / DEMO_AS_OF_FILE).write_text("2026-10-31\n")
    demo = Settings.resolve()
    assert (demo.as_of, demo.as_of_source) == (dt.date(2026, 10, 31), "demo")
    assert "as_of 2026-10-31 (the demo's date, from" in demo.describe_as_of()
    monkeypatch.setenv("PIPELINE_AS_OF", "2026-06-30")
    assert Settings.resolve().as_of == dt.date(2026, 6, 30)  # the environment wins
    assert Settings.resolve(as_of="2026-01-31").as_of_source == "given"  # the launchpad wins
