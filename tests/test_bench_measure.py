"""bench/measure.py ``read_run``: a step that builds assets and then checks them is split in two."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from helpers import bench_module


def test_a_building_step_s_checks_count_as_validation(tmp_path: Path) -> None:
    measure = bench_module("measure")

    @dg.multi_asset(
        name="sql_layer",
        specs=[dg.AssetSpec("a"), dg.AssetSpec("b")],
        check_specs=[dg.AssetCheckSpec("suite", asset="a")],
    )
    def build():
        yield dg.MaterializeResult(asset_key="a")
        yield dg.MaterializeResult(asset_key="b")
        yield dg.AssetCheckResult(asset_key="a", check_name="suite", passed=True)

    (tmp_path / "dagster.yaml").write_text("")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert dg.materialize([build], instance=instance).success
    timing = measure.read_run(tmp_path)
    (built, checks) = timing.steps
    assert (built.step, built.stage) == ("sql_layer", "sql")
    assert (checks.step, checks.stage) == ("sql_layer (checks)", "validation")
    # The split is the last materialisation (b's) before the check result: the two parts
    # cover the step exactly, one after the other.
    assert built.end == checks.start == timing.materializations[-1][2]
    assert built.start < built.end <= checks.end
