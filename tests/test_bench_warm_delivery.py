"""bench/warm_delivery.py ``_events``: a run's stored events by kind, and when its steps ended,
read back from the run's own SQLite shard of a real Dagster instance."""

import time
from pathlib import Path

import dagster as dg
from helpers import bench_module


def test_a_runs_events_are_counted_by_kind_with_its_steps_ends(tmp_path: Path) -> None:
    warm = bench_module("warm_delivery")

    @dg.asset
    def first(context: dg.AssetExecutionContext) -> None:
        context.log.info("one log line")

    @dg.asset(deps=[first])
    def second() -> None:
        return None

    (tmp_path / "dagster.yaml").write_text("")
    since = time.time()
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert dg.materialize([first, second], instance=instance).success
    counts, marks = warm._events(tmp_path, since - 1)
    # Two steps, each started, materialised its asset and succeeded; the one log line is the
    # only event without a Dagster type.
    assert counts["STEP_START"] == 2 and counts["STEP_SUCCESS"] == 2
    assert counts["ASSET_MATERIALIZATION"] == 2 and counts["log"] == 1
    assert set(marks) == {"start", "first", "second", "end"}
    assert marks["start"] <= marks["first"] <= marks["second"] <= marks["end"]
