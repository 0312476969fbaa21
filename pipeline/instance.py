"""The Dagster instance home the CLI and ``make ui`` share, so CLI runs show in the UI."""

from __future__ import annotations

from pathlib import Path

# One writer: every asset that writes the warehouse is in the pool "warehouse", limited to 1.
DAGSTER_YAML = """\
# Written by the pipeline; safe to edit.
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def ensure_dagster_home(data_dir: Path) -> Path:
    """Create ``<data_dir>/dagster_home`` with its dagster.yaml if missing; return it."""
    home = Path(data_dir).resolve() / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML, encoding="utf-8")
    return home
