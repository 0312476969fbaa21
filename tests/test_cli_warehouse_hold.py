"""The warehouse held open for a whole command-line run: one DuckDB instance for every step."""

from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.cli.warehouse_hold import other_runs_active
from pipeline.warehouse import open_warehouse, run, scalar


def test_steps_share_the_held_instance_and_it_is_closed_after(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with open_warehouse(path):  # as pipeline/cli/run.py holds it for the run
        # Two "steps", each opening and closing the warehouse as Warehouse.connect does.
        with open_warehouse(path) as con:
            run(con, "create table meta.t as select range as n from range(3)")
        with open_warehouse(path) as con:
            assert scalar(con, "select sum(n) from meta.t") == 3  # 0 + 1 + 2
        # The instance is still open in this process: DuckDB refuses another configuration
        # of the same file, which is how we know the steps did not each load it again.
        with pytest.raises(duckdb.ConnectionException, match="different configuration"):
            duckdb.connect(str(path), read_only=True)
    # Released: a read-only client (another configuration) opens it and sees the rows.
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql("select count(*) from meta.t").fetchall() == [(3,)]


def test_a_run_in_progress_is_seen_and_a_finished_one_is_not() -> None:
    from dagster._core.test_utils import create_run_for_test

    instance = dg.DagsterInstance.ephemeral()
    assert not other_runs_active(instance)  # no runs at all
    create_run_for_test(instance, status=dg.DagsterRunStatus.SUCCESS)
    assert not other_runs_active(instance)  # finished: it holds nothing
    create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED)
    assert other_runs_active(instance)  # a run from the UI that is running now
