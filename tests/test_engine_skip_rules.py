"""Direct, fast tests of ``pipeline/engine/skip.py`` at its edges: which evidence a fingerprint
holds for each kind of table, when two fingerprints prove the same rows, when a build is skipped
and what its record keeps. A wrong answer here leaves a model as it was while its inputs
changed (stale figures), so every branch is tried both ways. Expected values are worked out by
hand in comments; a content hash cannot be, so only its row count (before the ``:``) and whether
it changes are asserted.

These run first in ``make mutate``'s engine/skip target (in-memory DuckDB, a few seconds)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pytest

from pipeline.engine import BuildMode, discover_models, skip
from pipeline.engine.build_log import BuildLog
from pipeline.warehouse import prepare, rows, run

BIG = skip.HASH_ROWS  # 2,000,000 (docs/validation.md): at most this many rows are hashed
COLS = ["a INTEGER"]


def _set_build(con: duckdb.DuckDBPyConnection, model: str, build_id: int) -> None:
    """Write ``model``'s engine build number into a real ``meta.model_builds``."""
    BuildLog(con)
    run(
        con,
        "insert or replace into meta.model_builds (model, sql_sha256, built_at, build_id) "
        "values (?, 's', now(), ?)",
        [model, build_id],
    )


def _rows_hashed(print_: dict[str, object]) -> str | None:
    """The row count a fingerprint's content hash was taken over (None: not hashed)."""
    content = print_.get("content")
    return None if content is None else str(content).split(":")[0]


def test_each_kind_of_table_gets_its_own_evidence():
    with duckdb.connect() as con:
        for schema in ("raw", "staging"):
            run(con, f"create schema {schema}")
        assert skip.fingerprint(con, "main", "nope") == {"missing": True}
        # A landed table: two rows, latest delivery 3.
        run(con, "create table raw.t (a int, _delivery_seq bigint)")
        run(con, "insert into raw.t values (1, 1), (2, 3)")
        assert skip.fingerprint(con, "raw", "t") == {
            "columns": ["a INTEGER", "_delivery_seq BIGINT"],
            "appended": "2:3",
        }
        # Without _delivery_seq, or outside raw (schemas before and after 'raw' in the
        # alphabet): nothing says it is only appended to, so its rows are hashed (2 rows).
        run(con, "create table raw.u (a int)")
        run(con, "insert into raw.u values (1), (2)")
        for schema, table in (("raw", "u"), ("main", "t"), ("staging", "t")):
            if table == "t" and schema != "raw":
                run(con, f"create table {schema}.t as select * from raw.t")
            found = skip.fingerprint(con, schema, table)
            assert set(found) == {"columns", "content"}, (schema, table)
            assert _rows_hashed(found) == "2", (schema, table)


def test_an_engine_built_table_uses_the_hash_recorded_right_after_that_build():
    with duckdb.connect() as con:
        run(con, "create table main.m as select * from (values (1), (2)) v(a)")
        _set_build(con, "m", 3)
        value = skip.record(con, "m", "v", {}, ("main", "m"), 2)
        assert value["inputs"] == {} and value["build"] == 3 and _rows_hashed(value) == "2"
        # A row added by hand, no build: the fingerprint keeps build 3's recorded hash (of 2
        # rows) rather than hashing the 3 rows now.
        run(con, "insert into main.m values (3)")
        assert skip.fingerprint(con, "main", "m") == {
            "columns": COLS,
            "build": 3,
            "content": value["content"],
        }
        # Built since (4) or the log went back (2) without a record of that build: the record
        # is of another build, so the rows are hashed now (3 rows).
        for build_id in (4, 2):
            _set_build(con, "m", build_id)
            found = skip.fingerprint(con, "main", "m")
            assert (found["build"], _rows_hashed(found)) == (build_id, "3")
        # Never recorded: hashed now.
        run(con, "create table main.n as select 1 as a")
        _set_build(con, "n", 1)
        assert _rows_hashed(skip.fingerprint(con, "main", "n")) == "1"
        # Recorded at this very build with no hash (too big when built): the build number only.
        _set_build(con, "m", 5)
        assert "content" not in skip.record(con, "m", "v", {}, ("main", "m"), BIG + 1)
        assert skip.fingerprint(con, "main", "m") == {"columns": COLS, "build": 5}


def test_the_output_hash_is_recorded_up_to_hash_rows_and_only_with_a_count():
    with duckdb.connect() as con:
        run(con, "create table main.m as select 1 as a")
        # No engine log at all: no build number.
        assert skip.record(con, "m", "v", {}) == {"inputs": {}, "build": None}
        # A log without a row for m: still none; with one: its number.
        _set_build(con, "other", 8)
        assert skip.record(con, "m", "v", {})["build"] is None
        _set_build(con, "m", 2)
        assert skip.record(con, "m", "v", {})["build"] == 2
        # The count given decides, at the edge: 2,000,000 rows hashed, 2,000,001 not, no count
        # (size unknown) not, and no output table nothing to hash.
        assert _rows_hashed(skip.record(con, "m", "v", {}, ("main", "m"), BIG)) == "1"
        assert "content" not in skip.record(con, "m", "v", {}, ("main", "m"), BIG + 1)
        assert "content" not in skip.record(con, "m", "v", {}, ("main", "m"), None)
        assert "content" not in skip.record(con, "m", "v", {}, None, 1)
        # The record as stored, keys in name order: the same record always reads the same.
        skip.record(con, "m", "v", {"main.t": {"appended": "1:1"}}, None, None)
        assert rows(con, "select version, inputs from meta.build_inputs where target = 'm'") == [
            ("v", '{"build": 2, "inputs": {"main.t": {"appended": "1:1"}}}')
        ]


def test_a_table_built_in_python_is_hashed_when_read_up_to_hash_rows():
    with duckdb.connect() as con:
        # Exactly 2,000,000 rows (range 0..1,999,999), built once, never recorded: hashed.
        run(con, f"create table main.big as select range::int as a from range({BIG})")
        _set_build(con, "big", 1)
        assert _rows_hashed(skip.fingerprint(con, "main", "big")) == "2000000"
        # One more row: too big to hash, the build number only.
        run(con, "insert into main.big values (-1)")
        assert skip.fingerprint(con, "main", "big") == {"columns": COLS, "build": 1}


def test_same_rows_needs_the_same_columns_and_one_agreeing_kind_of_evidence():
    one, other = ["a INTEGER"], ["b INTEGER"]
    assert skip.same_rows({"columns": one, "build": 2}, {"columns": one, "build": 2})
    # Other columns (either way round in the alphabet), even at the same build: changed.
    assert not skip.same_rows({"columns": one, "build": 2}, {"columns": other, "build": 2})
    assert not skip.same_rows({"columns": other, "build": 2}, {"columns": one, "build": 2})
    # Another build number, earlier or later, and no other evidence: changed.
    assert not skip.same_rows({"columns": one, "build": 1}, {"columns": one, "build": 2})
    assert not skip.same_rows({"columns": one, "build": 2}, {"columns": one, "build": 1})
    # Rebuilt (another build number) into the same content: the same rows.
    assert skip.same_rows(
        {"columns": one, "build": 1, "content": "2:9"},
        {"columns": one, "build": 2, "content": "2:9"},
    )
    # Evidence of different kinds proves nothing.
    assert not skip.same_rows({"columns": one, "build": 1}, {"columns": one, "content": "2:9"})
    assert not skip.same_rows({"columns": one, "appended": "2:1"}, {"columns": one, "build": 1})
    # A table missing then and there now, or the reverse: changed.
    assert not skip.same_rows({"missing": True}, {"columns": one, "build": 1})
    assert not skip.same_rows({"columns": one, "build": 1}, {"missing": True})


def test_a_build_is_skipped_only_with_the_same_code_build_and_inputs():
    with duckdb.connect() as con:
        run(con, "create table main.t as select 1 as a")
        run(con, "create table main.u as select 2 as a")
        run(con, "create table main.m as select 1 as a")
        # Never recorded: built.
        seen = skip.inputs(con, [("main", "t")])
        assert skip.why_unchanged(con, "m", "b", seen, [("main", "m")]) is None
        skip.record(con, "m", "b", seen)
        assert skip.why_unchanged(con, "m", "b", seen, [("main", "m")]) == (
            "same code, inputs unchanged since its last build (main.t)"
        )
        # Code 'a' or 'c' (before and after 'b'): built.
        for version in ("a", "c"):
            assert skip.why_unchanged(con, "m", version, seen, [("main", "m")]) is None
        # An input added, or one taken away: built.
        both = skip.inputs(con, [("main", "t"), ("main", "u")])
        assert skip.why_unchanged(con, "m", "b", both, [("main", "m")]) is None
        skip.record(con, "m", "b", both)
        assert skip.why_unchanged(con, "m", "b", seen, [("main", "m")]) is None
        # An input that changed: built.
        run(con, "insert into main.u values (3)")
        assert (
            skip.why_unchanged(con, "m", "b", skip.inputs(con, [("main", "t"), ("main", "u")]), [])
            is None
        )
        # No inputs at all (a step reading nothing): said so.
        skip.record(con, "n", "b", {})
        assert skip.why_unchanged(con, "n", "b", {}, []) == (
            "same code, inputs unchanged since its last build (none)"
        )
        # Recorded at engine build 7; the log now says 3 (rebuilt elsewhere, log restarted).
        _set_build(con, "m", 7)
        skip.record(con, "m", "b", seen)
        assert skip.why_unchanged(con, "m", "b", seen, [("main", "m")]) is not None
        _set_build(con, "m", 3)
        assert skip.why_unchanged(con, "m", "b", seen, [("main", "m")]) is None


def test_fingerprints_read_again_only_what_a_build_changed():
    with duckdb.connect() as con:
        run(con, "create table main.t as select 1 as a")
        # Noted before anything was read: nothing cached to update.
        fresh = skip.Fingerprints(con)
        fresh.built("main", "t", "v", {"inputs": {}, "build": None})
        found = fresh.of("main", "t")
        assert (found["columns"], _rows_hashed(found)) == (COLS, "1")  # one row, hashed
        _set_build(con, "t", 1)
        prints = skip.Fingerprints(con)
        assert prints.of("main", "t")["build"] == 1 and prints.recorded("t") is None
        # t rebuilt with a second column, build 2, recorded: the same object now sees it all.
        run(con, "create or replace table main.t as select 1 as a, 2 as b")
        _set_build(con, "t", 2)
        value = skip.record(con, "t", "v2", {}, ("main", "t"), 1)
        prints.built("main", "t", "v2", value)
        assert prints.columns("main", "t") == ["a INTEGER", "b INTEGER"]
        assert prints.build("t") == 2 and prints.recorded("t") == ("v2", value)
        assert prints.of("main", "t") == {
            "columns": ["a INTEGER", "b INTEGER"],
            "build": 2,
            "content": value["content"],
        }
        # A build with no engine number (built in Python) leaves the cached numbers alone.
        prints.built("main", "t", "v3", {"inputs": {}, "build": None})
        assert prints.build("t") == 2


def test_skipped_builds_are_listed_per_run_in_order():
    with duckdb.connect() as con:
        assert skip.skipped_in(con, "r1") == []  # no table yet
        skip.note_skipped(con, "r1", "b_model", "why b")
        skip.note_skipped(con, "r1", "a_model", "why a")
        skip.note_skipped(con, None, "c_model", "why c")  # a run without an id
        assert skip.skipped_in(con, "r1") == [
            skip.Skipped("b_model", "why b"),
            skip.Skipped("a_model", "why a"),
        ]
        assert skip.skipped_in(con, "") == [skip.Skipped("c_model", "why c")]
        with pytest.raises(dataclasses.FrozenInstanceError):
            skip.Skipped("t", "r").reason = "other"  # type: ignore[misc]


def test_the_skip_tables_are_made_once_per_connection(tmp_path: Path, monkeypatch):
    """A step records every model on one connection: the schema and the two skip tables are
    created by its first record only. A re-opened connection makes them again (``if not
    exists``: no error), and a step's catalogue read notices that they were dropped."""
    sent: list[str] = []
    real_run = skip.run

    def counted(con: duckdb.DuckDBPyConnection, sql: str, params: object = None) -> None:
        sent.append(sql.split()[0])  # the statement's first word, then the real statement
        real_run(con, sql, params)  # type: ignore[arg-type]

    monkeypatch.setattr(skip, "run", counted)
    path = tmp_path / "w.duckdb"
    with duckdb.connect(str(path)) as con:
        skip.record(con, "m", "v", {})
        skip.note_skipped(con, "r1", "m", "same")
        skip.record(con, "n", "v", {})
        # create schema + two create tables, once; then one insert per call (three).
        assert sent == ["create"] * 3 + ["insert"] * 3
    sent.clear()
    with duckdb.connect(str(path)) as con:  # the same file re-opened: a new connection
        skip.note_skipped(con, "r2", "n", "same")
        assert sent == ["create"] * 3 + ["insert"]
        assert skip.skipped_in(con, "r2") == [skip.Skipped("n", "same")]
        # The meta schema dropped on this very connection: the next step's catalogue read
        # (a new Fingerprints) finds the tables gone, and the next record makes them again.
        run(con, "drop schema meta cascade")
        assert skip.Fingerprints(con).columns("meta", "build_inputs") is None
        sent.clear()
        skip.record(con, "m", "v2", {})
        assert sent == ["create"] * 3 + ["insert"]
        assert rows(con, "select target, version from meta.build_inputs") == [("m", "v2")]


def test_a_step_after_the_meta_schema_was_dropped_makes_its_tables_again(tmp_path: Path):
    sql = tmp_path / "sql"
    (sql / "staging").mkdir(parents=True)
    (sql / "staging" / "stg_c.sql").write_text("select id from raw_contacts")
    models = discover_models(sql)
    layers = {m.name: m.layer for m in models}
    with duckdb.connect() as con:
        prepare(con)
        run(con, "create table raw.raw_contacts (id int, _delivery_seq bigint)")
        run(con, "insert into raw.raw_contacts values (1, 1), (2, 1)")
        assert skip.build_model(con, models[0], layers, "r1", skip.Fingerprints(con)).build_id == 1
        run(con, "drop schema meta cascade")  # the build log and both skip tables with it
        prepare(con)  # the search path names meta: set again, as a re-opened warehouse does
        # The next step on the same connection: no record, no build log, so built again as
        # build 1 (2 rows), recorded; the step after skips it.
        again = skip.build_model(con, models[0], layers, "r2", skip.Fingerprints(con))
        assert (again.mode is BuildMode.SKIPPED, again.build_id, again.rows) == (False, 1, 2)
        third = skip.build_model(con, models[0], layers, "r3", skip.Fingerprints(con))
        assert third.mode is BuildMode.SKIPPED
        assert skip.skipped_in(con, "r3") == [skip.Skipped("stg_c", third.description)]


def test_code_version_follows_code_files_their_names_and_settings(tmp_path: Path):
    code = tmp_path / "code"
    (code / "sub").mkdir(parents=True)
    (code / "sub" / "a.py").write_text("x = 1\n")
    (code / "b.yml").write_text("k: 1\n")
    (code / "notes.txt").write_text("n\n")
    single = tmp_path / "one.py"
    single.write_text("y = 1\n")
    start = skip.code_version([code, single], 90)
    assert skip.code_version([single, code], 90) == start  # the order given does not matter
    (code / "notes.txt").write_text("changed\n")  # neither .py nor .yml: not code
    assert skip.code_version([code, single], 90) == start
    assert skip.code_version([code, single], 91) != start  # a setting
    (code / "sub" / "a.py").write_text("x = 2\n")  # a .py in a subfolder
    after_py = skip.code_version([code, single], 90)
    assert after_py != start
    (code / "b.yml").write_text("k: 2\n")
    after_yml = skip.code_version([code, single], 90)
    assert after_yml != after_py
    single.write_text("y = 2\n")  # a file given by itself
    after_file = skip.code_version([code, single], 90)
    assert after_file != after_yml
    (code / "b.yml").rename(code / "c.yml")  # the same bytes under another name
    assert skip.code_version([code, single], 90) != after_file


def test_build_model_skips_what_its_inputs_did_not_change(tmp_path: Path):
    sql = tmp_path / "sql"
    (sql / "staging").mkdir(parents=True)
    (sql / "marts").mkdir()
    (sql / "staging" / "stg_c.sql").write_text("select id, _delivery_seq from raw_contacts")
    (sql / "marts" / "c_count.sql").write_text("select count(*) as n from stg_c")
    models = discover_models(sql)
    layers = {m.name: m.layer for m in models}
    with duckdb.connect() as con:
        prepare(con)
        run(con, "create table raw.raw_contacts (id int, _delivery_seq bigint)")
        run(con, "insert into raw.raw_contacts values (1, 1), (2, 1)")

        def build_all(run_id: str) -> list[tuple[BuildMode, int]]:
            prints = skip.Fingerprints(con)
            done = [skip.build_model(con, m, layers, run_id, prints) for m in models]
            return [(r.mode, r.rows) for r in done]

        built = build_all("r1")
        assert all(mode is not BuildMode.SKIPPED for mode, _ in built)
        # Nothing new: both skipped, their row counts as they are (2 contacts; one count row).
        assert build_all("r2") == [(BuildMode.SKIPPED, 2), (BuildMode.SKIPPED, 1)]
        assert [s.target for s in skip.skipped_in(con, "r2")] == ["stg_c", "c_count"]
        # A delivery of one contact: both built again, c_count counts 3.
        run(con, "insert into raw.raw_contacts values (3, 2)")
        again = build_all("r3")
        assert [mode is BuildMode.SKIPPED for mode, _ in again] == [False, False]
        assert again[1][1] == 1 and skip.skipped_in(con, "r3") == []
        # Called alone (no Fingerprints shared by a step): the same answers.
        assert skip.build_model(con, models[0], layers, "r4").mode is BuildMode.SKIPPED
        run(con, "insert into raw.raw_contacts values (4, 3)")
        assert skip.build_model(con, models[0], layers, "r5").rows == 4
        assert con.sql("select n from marts.c_count").fetchall() == [(3,)]


def test_a_build_and_its_skip_record_commit_together(tmp_path: Path):
    """build_model writes the skip record inside the build's transaction (one commit per
    model): a record that fails takes the build with it, so a table never stands built
    without the record the next run compares against."""
    sql = tmp_path / "sql"
    (sql / "staging").mkdir(parents=True)
    (sql / "staging" / "stg_c.sql").write_text("select id from raw_contacts")
    models = discover_models(sql)
    layers = {m.name: m.layer for m in models}
    with duckdb.connect() as con:
        prepare(con)
        run(con, "create table raw.raw_contacts (id int, _delivery_seq bigint)")
        run(con, "insert into raw.raw_contacts values (1, 1), (2, 1)")
        prints = skip.Fingerprints(con)
        first = skip.build_model(con, models[0], layers, "r1", prints)
        # Build number 1, recorded with the hash of its 2 rows ("2:…").
        assert first.build_id == 1
        found = prints.recorded("stg_c")
        assert found is not None and found[1]["build"] == 1
        assert str(found[1]["content"]).startswith("2:")
        # One more contact; the record's insert then fails (its table made unwritable by a
        # check no JSON satisfies): the rebuild is rolled back with it.
        run(con, "insert into raw.raw_contacts values (3, 2)")
        run(con, "drop table meta.build_inputs")
        run(
            con,
            "create table meta.build_inputs (target varchar primary key, version varchar, "
            "inputs varchar check (inputs is null), recorded_at timestamp)",
        )
        with pytest.raises(Exception, match="stg_c"):
            skip.build_model(con, models[0], layers, "r2", skip.Fingerprints(con))
        # The table and the build log are as after build 1: 2 rows, build number 1.
        assert rows(con, "select count(*) from staging.stg_c") == [(2,)]
        assert rows(con, "select build_id from meta.model_builds where model = 'stg_c'") == [(1,)]
