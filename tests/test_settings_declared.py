"""Every PIPELINE_* setting is declared once (pipeline/config.py), checked at start, and the same
in the command line's help and docs/operations.md."""

import re

import pytest
from helpers import REPO_ROOT

from pipeline.config import (
    SETTINGS,
    ConfigError,
    check_environment,
    settings_epilog,
    settings_table_rows,
)

NAME = re.compile(r"\bPIPELINE_[A-Z_]+[A-Z]\b")


def test_every_setting_the_code_reads_is_declared():
    # Any PIPELINE_* name in the code (an environment read, a constant) must be in SETTINGS.
    declared = {s.name for s in SETTINGS}
    used: set[str] = set()
    for folder in ("pipeline", "assets"):
        for path in (REPO_ROOT / folder).rglob("*.py"):
            used |= set(NAME.findall(path.read_text(encoding="utf-8")))
    assert used - declared == set()


def test_operations_doc_lists_exactly_the_declared_settings():
    text = (REPO_ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    documented = [line for line in text.splitlines() if line.startswith("| `PIPELINE_")]
    assert documented == settings_table_rows()


def test_help_epilog_names_every_setting_with_its_default():
    epilog = settings_epilog()
    for s in SETTINGS:
        assert s.name in epilog
    assert "PIPELINE_MAX_SHRINK (default: 0.25)" in epilog


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("PIPELINE_TIMEZONE", "Mars/Olympus", "PIPELINE_TIMEZONE='Mars/Olympus' is not an IANA"),
        ("PIPELINE_NIGHTLY_CRON", "at two", "PIPELINE_NIGHTLY_CRON='at two' is not a cron"),
        ("PIPELINE_MAX_SHRINK", "1.5", "PIPELINE_MAX_SHRINK=1.5 must be between 0 and 1"),
        ("PIPELINE_MAX_SHRINK", "a lot", "PIPELINE_MAX_SHRINK='a lot' is not a number"),
        ("PIPELINE_FRESHNESS_DAYS", "0", "PIPELINE_FRESHNESS_DAYS=0 must be at least 1"),
        ("PIPELINE_DATA_DOCS", "some", "PIPELINE_DATA_DOCS='some' must be one of all, failures"),
        ("PIPELINE_SETTLE_SECONDS", "-1", "PIPELINE_SETTLE_SECONDS=-1.0 must be at least 0"),
        ("PIPELINE_SENSOR_INTERVAL_SECONDS", "0.5", "is not a whole number"),
        ("PIPELINE_DUCKDB_MEMORY_LIMIT", "lots", "is not a memory size"),
        ("PIPELINE_AS_OF", "31/10/2026", "YYYY-MM-DD"),
        ("PIPELINE_CHURN_DAYS", "14", "PIPELINE_CHURN_DAYS=14 is too short"),
        ("PIPELINE_SLA_HOURS", "0", "PIPELINE_SLA_HOURS=0.0 must be positive"),
        (
            "PIPELINE_BRAND_HANDLES",
            "twitter:@acme, twiter:acme_help",
            "PIPELINE_BRAND_HANDLES: 'twiter:acme_help': 'twiter' is not a platform of the "
            "mentions (one of twitter, facebook, instagram, linkedin, blog, other); did you mean "
            "twitter?",
        ),
        ("PIPELINE_BRAND_HANDLES", "X:@acme", "blog, other); did you mean twitter?"),
        (
            "PIPELINE_BRAND_HANDLES",
            "@acme",
            "PIPELINE_BRAND_HANDLES: '@acme' names no platform; write each handle as "
            "platform:handle (e.g. twitter:@acme, instagram:acme.shop)",
        ),
        ("PIPELINE_BRAND_HANDLES", "twitter:@", "'twitter:@' names no handle after the platform"),
        (
            "PIPELINE_BRAND_HANDLES",
            "instagram:https://www.facebook.com/acme",
            "'instagram:https://www.facebook.com/acme' is a link, but not to a profile on "
            "instagram",
        ),
    ],
)
def test_each_bad_value_is_refused_at_start(data_dir, monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match=re.escape(message)) as caught:
        check_environment()
    assert "\n" not in str(caught.value)  # one line


def test_good_values_pass_and_a_file_as_data_dir_is_refused(data_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("PIPELINE_NIGHTLY_CRON", "30 5 * * 1-5")
    monkeypatch.setenv("PIPELINE_TIMEZONE", "Europe/Bucharest")
    check_environment()
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(blocker / "data"))
    with pytest.raises(ConfigError, match="is not writable"):
        check_environment()
