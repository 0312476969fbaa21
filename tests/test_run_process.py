"""Launched runs get the start-up heap frozen and Dagster's SQLite commits without an fsync.

A real run (``dg.materialize``) on a real on-disk Dagster instance, with the real ``Warehouse``
resource: inside the step, the garbage collector's permanent generation holds the start-up heap
and a SQLite file under the instance's home opened through SQLAlchemy has ``synchronous`` 1
(NORMAL in SQLite's numbering: OFF 0, NORMAL 1, FULL 2; FULL is its default). A run tagged as
``python -m pipeline run``'s is left alone (that command enters both around the whole run).
"""

import gc
from pathlib import Path

import dagster as dg
from sqlalchemy import create_engine, text

from pipeline.config import SENT_INLINE_TAG, PipelineConfig
from pipeline.warehouse import Warehouse


def _run(tmp_path: Path, tags: dict[str, str]) -> dict[str, int]:
    """Run one asset that uses the warehouse resource; what it saw inside its step."""
    seen: dict[str, int] = {}

    @dg.asset
    def probe(context: dg.AssetExecutionContext, warehouse: Warehouse) -> None:
        seen["frozen"] = gc.get_freeze_count()
        home = Path(context.instance.root_directory)
        engine = create_engine(f"sqlite:///{home / 'probe.db'}")
        with engine.connect() as conn:
            seen["synchronous"] = conn.execute(text("pragma synchronous")).scalar_one()
        engine.dispose()

    config = PipelineConfig(data_dir=str(tmp_path / "data"), as_of="2024-12-31")
    (tmp_path / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "home")) as instance:
        result = dg.materialize(
            [probe],
            instance=instance,
            resources={"config": config, "warehouse": Warehouse(config=config)},
            tags=tags,
        )
    assert result.success
    seen["frozen_after"] = gc.get_freeze_count()
    return seen


def test_launched_run_freezes_heap_and_commits_without_fsync(tmp_path: Path) -> None:
    seen = _run(tmp_path, {"trigger": "ui"})
    assert seen["frozen"] > 0  # the modules and definitions loaded before the run
    assert seen["synchronous"] == 1  # NORMAL
    assert seen["frozen_after"] == 0  # unfrozen at the resource's teardown


def test_command_line_run_is_left_to_the_command(tmp_path: Path) -> None:
    seen = _run(tmp_path, {SENT_INLINE_TAG: "cli"})
    assert seen["frozen"] == 0
    assert seen["synchronous"] == 2  # FULL, SQLite's default
