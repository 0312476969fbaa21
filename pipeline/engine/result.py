"""What one build of a model did: its mode, a line for the log, the rows, and why it rebuilt."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class BuildMode(Enum):
    """How a build left the model's table."""

    FULL_REBUILD = "full rebuild"  # create or replace table from the whole SQL; no delta
    INCREMENTAL = "incremental"  # rows appended or rewritten; the delta holds them
    UNCHANGED = "unchanged"  # an incremental build that found nothing to change (empty delta)
    SKIPPED = "skipped"  # not run: code and inputs as at its last build (pipeline/engine/skip.py)


@dataclass(frozen=True)
class BuildResult:
    """One model's build: ``description`` is the line the log and the asset's ``build``
    metadata show (``rebuilt``, ``appended 482,011 rows (deliveries after #200)``, …)."""

    mode: BuildMode
    description: str
    rows: int = 0  # the table's row count after the build
    reason: str = ""  # why a full rebuild (not incremental, full refresh, SQL changed, …)
    build_id: int | None = None  # the build number it recorded in meta.model_builds

    @property
    def wrote_delta(self) -> bool:
        """Whether the build wrote ``meta.<model>__delta`` (every build but a full rebuild)."""
        return self.mode in (BuildMode.INCREMENTAL, BuildMode.UNCHANGED)
