"""Direct, fast tests of ``pipeline/engine/build_log.py`` at its edges: which build numbers tell a
parent's delta, every field a build log row gives back, when a table counts as rebuilt whole,
and what one more build records. Each expected value is worked out by hand in a comment.

These run first in ``make mutate``'s engine/build_log target (an in-memory DuckDB, a second)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

import duckdb
import pytest

from pipeline.engine.build_log import CHANGE, Build, BuildLog, ParentDelta, delta_select
from pipeline.warehouse import rows, run


def _build(build_id: int, has_delta: bool, rebuilt: int | None = 1) -> Build:
    return Build("sha", None, build_id, None, has_delta, {}, rebuilt)


def _row(con: duckdb.DuckDBPyConnection, model: str) -> tuple:
    """The stored row of ``model`` as written, without built_at (the clock)."""
    return rows(
        con,
        "select sql_sha256, source_delivery_seq, build_id, as_of_end, has_delta, parent_builds, "
        "rebuilt_build_id from meta.model_builds where model = ?",
        [model],
    )[0]


def test_a_delta_is_told_only_for_the_build_right_after_the_one_read():
    with duckdb.connect() as con:
        run(con, "create table p (k int)")
        run(con, "insert into p values (1), (2)")
        run(con, "create schema meta")
        run(con, f'create table meta."p__delta" (k int, {CHANGE} varchar)')
        run(con, "insert into meta.\"p__delta\" values (7, 'insert'), (8, 'delete')")
        # Never built, or never read by this reader: nothing can be told.
        assert delta_select(None, 1, "p") is None
        assert delta_select(_build(3, True), None, "p") is None
        # Read at build 3 and still at build 3: no rows changed, with the parent's columns and
        # _change (p has k; two rows in p, none of them in the empty delta).
        same = delta_select(_build(3, True), 3, "p")
        assert rows(con, f"select * from ({same}) as d") == []
        assert [r[0] for r in rows(con, f"describe ({same})")] == ["k", CHANGE]
        # Read at build 2, now at build 3 which wrote a delta: that delta, both rows.
        after = delta_select(_build(3, True), 2, "p")
        assert rows(con, f"select k, {CHANGE} from ({after}) as d order by k") == [
            (7, "insert"),
            (8, "delete"),
        ]
        # Only the inserted row (7) is a row to read again.
        inserted = ParentDelta("p", after).inserted()
        assert rows(con, f"select k from ({inserted}) as d") == [(7,)]
        # Build 3 wrote no delta; build 3 is two builds after 1; build 3 is before 4 (the log
        # of the parent went back): none can be told.
        assert delta_select(_build(3, False), 2, "p") is None
        assert delta_select(_build(3, True), 1, "p") is None
        assert delta_select(_build(3, True), 4, "p") is None


def test_builds_gives_back_every_field_and_reads_nulls_as_the_first_release():
    with duckdb.connect() as con:
        log = BuildLog(con)
        assert log.builds([]) == {}
        run(
            con,
            "insert into meta.model_builds values ('m', 'sha-m', 41, timestamp '2026-11-01 09:00', "
            "6, timestamp '2026-11-01', true, '{\"a\": 2, \"b\": 5}', 4), "
            "('old', 'sha-old', null, timestamp '2026-01-01', null, null, null, null, null)",
        )
        found = log.builds(["m", "old", "never"])
        # Every column of the 'm' row in the Build's order; 'never' has no row.
        assert found == {
            "m": Build("sha-m", 41, 6, dt.datetime(2026, 11, 1), True, {"a": 2, "b": 5}, 4),
            # A row of the first release: built once, no delta, no parents, rebuild not known.
            "old": Build("sha-old", None, 1, None, False, {}, None),
        }
        assert (log.build_id("m"), log.build_id("old"), log.build_id("never")) == (6, 1, None)


def test_each_write_counts_one_build_and_keeps_the_last_whole_rebuild():
    with duckdb.connect() as con:
        log = BuildLog(con)
        end = dt.datetime(2026, 11, 1)
        # A first build, even one that wrote a delta, is a whole build: build 1, rebuilt at 1.
        log.write("first", "v", 3, None, end, True, {})
        assert _row(con, "first") == ("v", 3, 1, end, True, "{}", 1)
        # The model 'm' reads z_parent (build 1) and a_parent (build 3), given in that order.
        parents = {"z_parent": _build(1, False), "a_parent": _build(3, False)}
        log.write("m", "v", 10, None, None, False, parents)
        # Its parents' builds without itself, written in name order whatever order they were
        # read in, so the same builds read always give the same text.
        assert _row(con, "m") == ("v", 10, 1, None, False, '{"a_parent": 3, "z_parent": 1}', 1)
        # Build 2 wrote a delta: only added to, so the last whole rebuild stays 1.
        last = log.builds(["m"])["m"]
        log.write("m", "v", 11, last, end, True, {"m": last, **parents})
        assert _row(con, "m")[2:] == (2, end, True, '{"a_parent": 3, "z_parent": 1}', 1)
        # Build 3 wrote none: rebuilt whole, at 3.
        last = log.builds(["m"])["m"]
        log.write("m", "v", 12, last, end, False, {"m": last})
        assert _row(con, "m")[2:] == (3, end, False, "{}", 3)


def test_a_python_step_records_its_builds_and_reads_its_parents_deltas():
    with duckdb.connect() as con:
        log = BuildLog(con)
        # Two parents, named before and after the reader 'm_reader'; z_parent built twice.
        log.write("a_parent", "sa", None, None, None, False, {})
        log.write("z_parent", "sz", None, None, None, False, {})
        log.write("z_parent", "sz", None, log.builds(["z_parent"])["z_parent"], None, True, {})
        log.record("m_reader", "b", ["z_parent", "a_parent"])
        # Build 1 of the reader, at code 'b'; no delta; rebuilt whole at 1; parents' builds.
        assert _row(con, "m_reader") == (
            "b",
            None,
            1,
            None,
            False,
            '{"a_parent": 1, "z_parent": 2}',
            1,
        )
        log.record("m_reader", "b", ["z_parent", "a_parent"])
        # Build 2 reads the same parents and its own row: itself is not a parent of itself.
        found = log.builds(["m_reader"])["m_reader"]
        assert (found.build_id, found.has_delta, found.rebuilt_build_id) == (2, False, 2)
        assert found.parent_builds == {"a_parent": 1, "z_parent": 2}
        # At code 'b', a_parent not built since: an empty delta. At code 'a' or 'c' (before
        # and after 'b'): another version of the reader, its table must be rebuilt.
        assert log.parent_delta("m_reader", "b", "a_parent") is not None
        assert log.parent_delta("m_reader", "a", "a_parent") is None
        assert log.parent_delta("m_reader", "c", "a_parent") is None
        # A stored text, read back the same.
        assert json.loads(_row(con, "m_reader")[5]) == {"a_parent": 1, "z_parent": 2}


def test_build_and_parent_delta_are_frozen():
    # Both are shared between the engine's kinds and the Python steps: nobody may change one.
    with pytest.raises(dataclasses.FrozenInstanceError):
        _build(1, False).build_id = 2  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        ParentDelta("p", "select 1").parent = "q"  # type: ignore[misc]


def test_the_runs_as_of_end_is_read_once_per_log():
    """A layer step shares one log across its models (skip.Fingerprints.log): the run's
    as_of_end is read from meta.pipeline_settings once; a new log reads it again."""
    with duckdb.connect() as con:
        # No settings table yet: None.
        assert BuildLog(con).as_of_end() is None
        run(con, "create table meta.pipeline_settings (as_of_end timestamp)")
        run(con, "insert into meta.pipeline_settings values ('2026-11-01'), ('2026-11-02')")
        log = BuildLog(con)
        # The later of the two rows: 2026-11-02 00:00.
        assert log.as_of_end() == dt.datetime(2026, 11, 2)
        run(con, "update meta.pipeline_settings set as_of_end = '2026-12-01'")
        assert log.as_of_end() == dt.datetime(2026, 11, 2)  # the step's value
        assert BuildLog(con).as_of_end() == dt.datetime(2026, 12, 1)
