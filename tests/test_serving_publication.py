"""Publishing for BI tools: an all-or-nothing Parquet set, locks reported, safe text, docs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.parquet as pq
import pytest
from marts_fixtures import write_settings
from test_serving import MARTS, run_in_duckdb1, write_marts
from test_serving import duckdb1_python as duckdb1_python  # the fixture, shared

from assets.charts import retention_charts
from assets.publication import ServingTypeError
from assets.serving import SERVING_FILE, build_serving_asset, lock_holder, publish
from pipeline.config import PipelineConfig
from pipeline.warehouse import Warehouse, open_warehouse, rows, run, scalar

REPO_ROOT = Path(__file__).resolve().parent.parent


def visible_set(serving: Path) -> dict[str, tuple[str, int]]:
    """What a reader opening ``serving/parquet/<mart>.parquet`` by path sees: per file, the
    publication id in its metadata and its row count."""
    seen = {}
    for path in sorted((serving / "parquet").glob("*.parquet")):
        meta = pq.read_metadata(path)
        seen[path.stem] = (meta.metadata[b"publication_id"].decode(), meta.num_rows)
    return seen


# A child process that publishes step by step and kills itself (SIGKILL, no cleanup) after the
# step named in argv[3]: what a kill -9 or a power cut at that point leaves behind.
CRASH_SCRIPT = """
import os, signal, sys
from pathlib import Path
from assets.serving import (
    promote_version, stage_publication, swap_parquet_link, swap_serving_file,
)
from pipeline.warehouse import open_warehouse, run

warehouse, serving, stop = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
def crash_after(step):
    if step == stop:
        os.kill(os.getpid(), signal.SIGKILL)
with open_warehouse(warehouse) as con:
    staged = stage_publication(con, serving, ["loyalty_customers", "retention_monthly"])
crash_after("stage")
version = promote_version(staged)
crash_after("promote")
swap_parquet_link(serving, version)
crash_after("link")
swap_serving_file(staged)
crash_after("file")
"""


# Before the link swap (staged and promoted, not visible) and right after it (serving file not
# yet replaced). A kill after "stage" or "file" is covered by these two: same visible set.
@pytest.mark.parametrize("stop", ["promote", "link"])
def test_a_crash_at_any_step_leaves_the_parquet_set_entirely_old_or_new(
    tmp_path: Path, stop: str
) -> None:
    serving, warehouse = tmp_path / "serving", tmp_path / "warehouse.duckdb"
    with open_warehouse(warehouse) as con:
        write_marts(con, customers=3)
        publish(con, serving, MARTS)
        write_marts(con, customers=5)
    old = visible_set(serving)
    (old_id,) = {pid for pid, _ in old.values()}
    # 3 customers: loyalty_customers 3 rows; retention_monthly always 2; publication 1 per mart.
    assert {m: n for m, (_, n) in old.items()} == {
        "loyalty_customers": 3,
        "publication": 2,
        "retention_monthly": 2,
    }
    child = subprocess.run(
        [sys.executable, "-c", CRASH_SCRIPT, str(warehouse), str(serving), stop],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr
    seen = visible_set(serving)
    ids = {pid for pid, _ in seen.values()}
    assert len(ids) == 1, f"a mix of publications is visible: {seen}"
    counts = {m: n for m, (_, n) in seen.items()}
    if stop in ("stage", "promote"):
        assert seen == old
    else:  # the link was swapped: the whole new set (5 customers)
        assert ids != {old_id}
        assert counts["loyalty_customers"] == 5 and counts["retention_monthly"] == 2
    # The next publish cleans up what the killed one left: staging folder, orphan serving file.
    with open_warehouse(warehouse) as con:
        publish(con, serving, MARTS)
    leftovers = sorted(p.name for p in serving.iterdir() if p.name.startswith("."))
    assert leftovers == []
    # Current and previous version only.
    assert len(list((serving / "parquet_versions").iterdir())) <= 2


def test_old_versions_are_removed_and_a_legacy_parquet_folder_is_replaced(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    legacy = serving / "parquet"
    legacy.mkdir(parents=True)
    (legacy / "loyalty_customers.parquet").write_bytes(b"old release")
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=2)
        for _ in range(3):
            publish(con, serving, MARTS)
    link = serving / "parquet"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))  # relative: rsync-able
    versions = sorted(p.name for p in (serving / "parquet_versions").iterdir())
    # Three publications: the current one and the one before it stay; the legacy folder (kept
    # as "previous" by the first) and the first publication are gone.
    assert len(versions) == 2 and not any(v.startswith("legacy") for v in versions)
    assert link.resolve().name == versions[-1]


HOLD_SCRIPT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])  # read-write, as a careless BI client does
print("holding", flush=True)
sys.stdin.read()
"""


def hold_read_write(path: Path) -> subprocess.Popen:
    """A second process that holds ``path`` open read-write until its stdin closes."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_SCRIPT, str(path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    return holder


def test_a_bi_client_holding_the_file_read_write_does_not_fail_a_published_run(
    data_dir: Path,
) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=4)
        run(
            con,
            "create or replace table marts.cohort_retention as select * from (values "
            "(date '2026-09-01', 0, 4, 4, 1.0), (date '2026-09-01', 1, 4, 2, 0.5)) as "
            "t(cohort_month, months_since_first, cohort_size, retained_customers, retention_rate)",
        )
        publish(con, data_dir / "serving", [*MARTS, "cohort_retention"])
        write_marts(con, customers=6)
    target = data_dir / "serving" / SERVING_FILE
    holder = hold_read_write(target)
    try:
        assert lock_holder(target) == f"PID {holder.pid} ({_exe(holder.pid)})"
        config = PipelineConfig(data_dir=str(data_dir))
        result = dg.materialize(
            [build_serving_asset([*MARTS, "cohort_retention"]), retention_charts],
            resources={"config": config, "warehouse": Warehouse(config=config)},
        )
        assert result.success
        (mat,) = result.asset_materializations_for_node("serving_marts")
        assert (
            mat.metadata["previous_file_held_by"].value == f"PID {holder.pid} ({_exe(holder.pid)})"
        )
        assert "should open the file read-only" in mat.metadata["warnings"].value
        assert mat.metadata["marts"].value["loyalty_customers"] == 6
    finally:
        holder.stdin.close()
        holder.wait()
    # Now a client holds the *new* file read-write: the charts (drawn from Parquet) still work.
    holder = hold_read_write(target)
    try:
        result = dg.materialize(
            [retention_charts], resources={"config": PipelineConfig(data_dir=str(data_dir))}
        )
        assert result.success
        (mat,) = result.asset_materializations_for_node("retention_charts")
        assert mat.metadata["cohorts"].value == 1  # the one cohort, 2026-09
    finally:
        holder.stdin.close()
        holder.wait()


def _exe(pid: int) -> str:
    """The program DuckDB names as the lock holder (the process's executable)."""
    import psutil

    return psutil.Process(pid).exe()


def test_spreadsheet_formulas_are_defused_in_parquet_only(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    values = [
        '=HYPERLINK("http://x","y")',
        "@sum(1)",
        "+1 555",
        "-5",
        "-2.50",
        "\tx",
        "\rx",
        "Spring sale",
        "a=b",
        None,
    ]
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        run(con, "create table marts.email_monthly (campaign_name varchar, n integer)")
        for i, v in enumerate(values):
            run(con, "insert into marts.email_monthly values (?, ?)", [v, -i])
        publish(con, serving, ["email_monthly"])
    table = pq.read_table(serving / "parquet" / "email_monthly.parquet")
    # By hand: a leading = + - @ tab or CR gets a ', except plain numbers (-5, -2.50); text
    # with the sign inside (a=b), ordinary text and NULL stay; the integer column keeps -i.
    assert table.column("campaign_name").to_pylist() == [
        '\'=HYPERLINK("http://x","y")',
        "'@sum(1)",
        "'+1 555",
        "-5",
        "-2.50",
        "'\tx",
        "'\rx",
        "Spring sale",
        "a=b",
        None,
    ]
    assert table.column("n").to_pylist() == [0, -1, -2, -3, -4, -5, -6, -7, -8, -9]
    # The DuckDB serving file keeps the exact values (SQL clients do not evaluate formulas).
    reader = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        assert [v for (v,) in rows(reader, "select campaign_name from email_monthly")] == values
    finally:
        reader.close()


def test_wide_decimals_are_published_as_decimal_18_and_overflow_is_refused(
    tmp_path: Path,
) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        # sum() of decimal(18,4) is DECIMAL(38,4) in DuckDB, as in the real marts.
        run(
            con,
            "create table marts.loyalty_customers as select 'c1' as customer_id, "
            "sum(x) as revenue, sum(n) as purchases from (values "
            "(12.5::decimal(18,4), 1::bigint), (0.25::decimal(18,4), 2::bigint)) t(x, n)",
        )
        assert scalar(con, "select typeof(revenue) from marts.loyalty_customers") == "DECIMAL(38,4)"
        publish(con, serving, ["loyalty_customers"])
        reader = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
        try:
            # 12.5 + 0.25 = 12.75; sum of bigint is HUGEINT, published as BIGINT (3).
            assert rows(
                reader,
                "select typeof(revenue), revenue::varchar, typeof(purchases), purchases "
                "from loyalty_customers",
            ) == [("DECIMAL(18,4)", "12.7500", "BIGINT", 3)]
        finally:
            reader.close()
        before = (serving / SERVING_FILE).read_bytes()
        # DECIMAL(18,4) holds 14 digits before the point: 10^14 does not fit.
        run(
            con,
            "create or replace table marts.loyalty_customers as select 'c1' as customer_id, "
            "sum(x) as revenue from (values (100000000000000::decimal(38,4))) t(x)",
        )
        too_wide = "'revenue': 1 value does not fit DECIMAL\\(18,4\\)"
        with pytest.raises(ServingTypeError, match=too_wide):
            publish(con, serving, ["loyalty_customers"])
    assert (serving / SERVING_FILE).read_bytes() == before


def test_definitions_and_publication_are_readable_from_duckdb_1x_and_pyarrow(
    tmp_path: Path, duckdb1_python: Path
) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        run(
            con,
            "create table meta.pipeline_settings as select date '2026-10-31' as as_of, "
            "90 as churn_days, 24.0::double as sla_hours, 'UTC' as timezone",
        )
        publish(con, serving, MARTS)
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        'print(con.execute("select comment from duckdb_tables() where table_name = '
        "'retention_monthly'\").fetchall())\n"
        'print(con.execute("select comment from duckdb_columns() where table_name = '
        "'loyalty_customers' and column_name = 'purchases'\").fetchall())\n"
        "print(con.execute('select mart, row_count, as_of, settings from publication "
        "order by mart').fetchall())\n"
    )
    done = run_in_duckdb1(duckdb1_python, script, serving / SERVING_FILE)
    out = done.stdout.splitlines()
    docs = {
        name: _yml(name) for name in ("retention_monthly", "loyalty_customers")
    }  # the model docs, as written in sql/marts/*.yml
    assert out[0] == repr([(docs["retention_monthly"]["description"],)])
    assert out[1] == repr([(docs["loyalty_customers"]["columns"]["purchases"],)])
    settings = json.dumps(
        {"as_of": "2026-10-31", "churn_days": 90, "sla_hours": 24.0, "timezone": "UTC"},
        sort_keys=True,
    )
    assert out[2] == repr(
        [
            ("loyalty_customers", 3, _date(2026, 10, 31), settings),
            ("retention_monthly", 2, _date(2026, 10, 31), settings),
        ]
    )
    # Parquet: the same definitions in the file schema's key-value metadata.
    meta = pq.read_schema(serving / "parquet" / "loyalty_customers.parquet").metadata
    assert meta[b"description"].decode() == docs["loyalty_customers"]["description"]
    assert meta[b"column:purchases"].decode() == docs["loyalty_customers"]["columns"]["purchases"]
    assert meta[b"as_of"] == b"2026-10-31" and meta[b"mart"] == b"loyalty_customers"
    publication = pq.read_table(serving / "parquet" / "publication.parquet")
    assert publication.column("row_count").to_pylist() == [3, 2]
    assert len(set(publication.column("publication_id").to_pylist())) == 1


def _yml(mart: str) -> dict:
    import yaml

    return yaml.safe_load((REPO_ROOT / "sql" / "marts" / f"{mart}.yml").read_text())


def _date(y: int, m: int, d: int) -> object:
    import datetime as dt

    return dt.date(y, m, d)


def test_a_serving_file_that_cannot_be_replaced_is_reported_precisely(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    # A directory where marts.duckdb should be: the final rename fails (IsADirectoryError),
    # after the Parquet set has been swapped in.
    (serving / SERVING_FILE).mkdir(parents=True)
    (serving / SERVING_FILE / "keep").write_text("x")
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=2)
        with pytest.raises(OSError, match="the Parquet set is published .* could not be replaced"):
            publish(con, serving, MARTS)
    assert visible_set(serving)["loyalty_customers"][1] == 2


def test_prediction_marts_carry_their_descriptions_too() -> None:
    # The Python-built marts are documented in pipeline/predict/*.yml, not beside SQL: their
    # comments and Parquet metadata come from there (text as written in the .yml).
    from assets.publication import model_docs

    docs = model_docs()
    assert (
        docs["prediction_model"].columns["parameter"]
        == "r, alpha, a, b (bg_nbd); p, q, gamma (gamma_gamma)."
    )
    assert docs["customer_predictions"].description
    assert docs["retention_monthly"].columns["retention_rate"]


def test_mart_docs_read_from_the_yml_alone_equal_the_discovered_models() -> None:
    # The serving step reads the marts' descriptions from their .yml without parsing the SQL
    # (docs/performance.md); it must publish exactly what model discovery reads from them.
    from assets.publication import model_docs
    from pipeline.engine import discover_models

    docs = model_docs()
    marts = [m for m in discover_models() if m.layer == "marts"]
    assert marts
    for model in marts:
        assert docs[model.name].description == model.description, model.name
        assert docs[model.name].columns == model.columns, model.name
    # As written in sql/marts/loyalty_summary.yml, the quotes and nothing else removed.
    assert (
        docs["loyalty_summary"].columns["customers"] == "Customers with >= 1 qualifying purchase."
    )


def test_the_email_hash_key_never_reaches_the_serving_files(tmp_path: Path) -> None:
    # meta.pipeline_settings holds the HMAC pads of PIPELINE_EMAIL_HASH_KEY (the key XOR 0x36 /
    # 0x5c, so as good as the key); the publication table's settings must leave them out.
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        write_settings(con, "2026-10-31", email_hash_key="k" * 20)
        assert scalar(con, "select email_hash_inner is not null from meta.pipeline_settings")
        publish(con, serving, MARTS)
    # Written out by hand: as_of 2026-10-31 ends at 00:00 on 1 November; the fixture's defaults
    # are 90 churn days, 24 SLA hours and UTC.
    want = {
        "as_of": "2026-10-31",
        "as_of_end": "2026-11-01 00:00:00",
        "churn_days": 90,
        "sla_hours": 24.0,
        "timezone": "UTC",
    }
    reader = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        published = [
            json.loads(text) for (text,) in rows(reader, "select settings from publication")
        ]
    finally:
        reader.close()
    assert published == [want, want]  # one row per mart
    table = pq.read_table(serving / "parquet" / "publication.parquet")
    assert [json.loads(text) for text in table.column("settings").to_pylist()] == [want, want]
    # 'k' is 0x6b: the inner pad starts with 0x6b ^ 0x36 = 0x5d (']'), the outer with 0x37 ('7').
    for path in (serving / SERVING_FILE, serving / "parquet" / "publication.parquet"):
        assert b"]" * 20 not in path.read_bytes() and b"7" * 20 not in path.read_bytes()
