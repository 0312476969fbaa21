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


def test_a_steps_seconds_run_from_its_start_to_its_success_or_failure() -> None:
    warm = bench_module("warm_delivery")
    marks = [
        ("STEP_START", "a", 1.0, 10.0),
        ("STEP_SUCCESS", "a", 1.75, 10.5),
        ("STEP_START", "b", 1.8, 10.6),
        ("STEP_FAILURE", "b", 2.0, 11.6),
        ("STEP_START", "c", 2.1, 11.7),  # not ended: left out
    ]
    assert warm.step_seconds(marks) == {"a": [0.75, 0.5], "b": [0.2, 1.0]}


def test_the_step_clock_sees_every_event_of_a_run_and_its_steps(
    tmp_path: Path, monkeypatch
) -> None:
    import gc

    import assets.ingest
    import assets.models
    import assets.predictions

    warm = bench_module("warm_delivery")
    # What install() wraps, put back after the test.
    monkeypatch.setattr(dg.DagsterInstance, "handle_new_event", dg.DagsterInstance.handle_new_event)
    for module in (assets.ingest, assets.models, assets.predictions):
        monkeypatch.setattr(module, "evaluate_checks", module.evaluate_checks)
    clock = warm.StepClock()
    clock.install()
    try:

        @dg.asset
        def first() -> None:
            return None

        @dg.asset(deps=[first])
        def second() -> None:
            return None

        (tmp_path / "dagster.yaml").write_text("")
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            clock.clear()
            result = dg.materialize([first, second], instance=instance)
            stored = len(instance.all_logs(result.run_id))
    finally:
        gc.callbacks.remove(clock._gc)
    assert result.success
    assert clock.events == stored  # every event the run stored went through the wrapper
    report = clock.report(cpu=100.0)
    assert set(report["steps_cpu_wall"]) == {"first", "second"}
    assert report["checks_cpu"] == {}  # no step of the pipeline's ran
    assert report["outside_steps_cpu"] == round(
        100.0 - sum(c for c, _ in report["steps_cpu_wall"].values()), 3
    )
