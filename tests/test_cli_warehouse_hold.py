"""``warehouse_held_open``: one DuckDB instance of the warehouse for a whole command-line run."""

from pathlib import Path

import duckdb
import pytest

from pipeline.cli.warehouse_hold import warehouse_held_open
from pipeline.warehouse import open_warehouse, run, scalar


def test_steps_share_the_held_instance_and_it_is_closed_after(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    with warehouse_held_open(path):
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
