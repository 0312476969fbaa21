"""The serving file: atomic swap, snapshots for open readers, no personal data, DuckDB 1.x."""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import skip_unless_ci

from assets.serving import (
    SERVING_FILE,
    PersonalDataError,
    assert_no_personal_data,
    build_serving_asset,
    headline_figures,
    publish,
)
from pipeline.config import PipelineConfig
from pipeline.warehouse import Warehouse, open_warehouse, rows, run, scalar

REPO_ROOT = Path(__file__).resolve().parent.parent
DUCKDB1_VERSION = "1.4.4"
DUCKDB1_VENV = REPO_ROOT / ".tools" / "duckdb1"
UV = REPO_ROOT / ".tools" / "bin" / "uv"  # installed by `make install`


def write_marts(con: duckdb.DuckDBPyConnection, customers: int) -> None:
    """Two tiny marts: ``customers`` loyalty rows and a two-month retention table."""
    run(
        con,
        "create or replace table marts.loyalty_customers as select "
        "printf('%016x', range) as customer_id, sha256('c' || range || '@example.com') "
        "as email_sha256, cast(range + 1 as bigint) as purchases from range(?)",
        [customers],
    )
    run(
        con,
        "create or replace table marts.retention_monthly as select * from (values "
        "(date '2026-09-01', true, 10, 0.8::double), (date '2026-10-01', false, ?, 0.5)) "
        "as t(month, is_complete, customers_end, retention_rate)",
        [customers],
    )


MARTS = ["loyalty_customers", "retention_monthly"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_publish_writes_every_mart_and_parquet(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        counts = publish(con, serving, MARTS)
    # 3 customers; retention_monthly always has its two literal rows.
    assert counts == {"loyalty_customers": 3, "retention_monthly": 2}
    reader = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        assert scalar(reader, "select sum(purchases) from loyalty_customers") == 1 + 2 + 3
        # Headline: the latest complete month is September (October is open).
        assert headline_figures(reader) == {
            "latest_complete_month": "2026-09",
            "active_customers": 10,
            "retention_rate_pct": 80.0,  # 0.8 shown as a percentage
        }
    finally:
        reader.close()
    assert sorted(p.name for p in (serving / "parquet").iterdir()) == [
        "loyalty_customers.parquet",
        "publication.parquet",
        "retention_monthly.parquet",
    ]
    assert (
        scalar(
            duckdb.connect(), f"select count(*) from '{serving}/parquet/loyalty_customers.parquet'"
        )
        == 3
    )
    # Nothing temporary is left behind: the file, the link and the one version it points to.
    assert sorted(p.name for p in serving.iterdir()) == [
        SERVING_FILE,
        "parquet",
        "parquet_versions",
    ]
    assert len(list((serving / "parquet_versions").iterdir())) == 1


def test_open_reader_keeps_its_snapshot_across_a_publish(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        publish(con, serving, MARTS)
        reader = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
        write_marts(con, customers=5)
        publish(con, serving, MARTS)
    try:
        # The reader opened before the swap still sees the 3-customer file, whole.
        assert rows(
            reader,
            "select (select count(*) from loyalty_customers), "
            "(select max(customers_end) from retention_monthly)",
        ) == [(3, 10)]
    finally:
        reader.close()
    fresh = duckdb.connect(str(serving / SERVING_FILE), read_only=True)
    try:
        assert scalar(fresh, "select count(*) from loyalty_customers") == 5
    finally:
        fresh.close()


def test_failed_publish_leaves_previous_files_untouched(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        publish(con, serving, MARTS)
        before = {p.name: sha(p) for p in serving.rglob("*") if p.is_file()}
        write_marts(con, customers=5)
        with pytest.raises(duckdb.CatalogException, match="no_such_mart"):
            publish(con, serving, [*MARTS, "no_such_mart"])
    after = {p.name: sha(p) for p in serving.rglob("*") if p.is_file()}
    assert after == before


def test_personal_data_is_refused(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=3)
        publish(con, serving, MARTS)
        before = sha(serving / SERVING_FILE)
        run(con, "create table marts.leaky_column as select 'x' as customer_id, 'a@b.co' as email")
        with pytest.raises(PersonalDataError, match="'leaky_column' has column 'email'"):
            publish(con, serving, [*MARTS, "leaky_column"])
        run(
            con,
            "create table marts.leaky_value as select * from (values ('ok'), "
            "(' Ana.Pop@Example.ro ')) as t(campaign_name)",
        )
        one = "'campaign_name' holds 1 e-mail address or phone number: "
        with pytest.raises(PersonalDataError, match=one):
            publish(con, serving, ["leaky_value"])
        run(
            con,
            "create table marts.raw_in_hash as select 'ana@example.ro' as email_sha256",
        )
        with pytest.raises(PersonalDataError, match="email_sha256"):
            publish(con, serving, ["raw_in_hash"])
        # A value that is no address but no hash either (upper-case hex, one character short).
        run(con, "create table marts.bad_hash as select repeat('A', 63) as email_sha256")
        with pytest.raises(
            PersonalDataError, match="'email_sha256' has 1 value that is not a lower-case hex"
        ):
            publish(con, serving, ["bad_hash"])
    assert sha(serving / SERVING_FILE) == before


@pytest.mark.parametrize(
    ("value", "found"),
    [
        ("ana@example.ro", 1),  # the plain e-mail pattern
        ("ANA (AT) EXAMPLE (DOT) RO", 1),  # pii's spelled-out address, case-insensitive
        ("call +40 721 123 456", 1),  # pii's phone pattern
        ("C100036828", 0),  # identifiers and words are no personal data
        ("SO0000200011318-DX20261101", 0),
        ("Spring sale at the shop", 0),
    ],
)
def test_each_personal_pattern_is_found_by_the_one_scan(
    tmp_path: Path, value: str, found: int
) -> None:
    # Three rows hold the value, one holds a clean name: a match counts 3 rows, else none.
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        run(
            con,
            "create table marts.texts as select * from (values (?), (?), (?), ('Anna')) "
            "as t(campaign_name)",
            [value, value, value],
        )
        if found:
            three = "'campaign_name' holds 3 e-mail addresses or phone numbers: "
            with pytest.raises(PersonalDataError, match=three):
                assert_no_personal_data(con, "marts", "texts")
        else:
            assert_no_personal_data(con, "marts", "texts")


def test_serving_asset_records_counts_and_headline(data_dir: Path) -> None:
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_marts(con, customers=4)
    config = PipelineConfig(data_dir=str(data_dir))
    result = dg.materialize(
        [build_serving_asset(MARTS)],
        resources={"config": config, "warehouse": Warehouse(config=config)},
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("serving_marts")
    meta = mat.metadata
    assert meta["marts"].value == {"loyalty_customers": 4, "retention_monthly": 2}
    assert meta["dagster/row_count"].value == 6
    assert meta["retention_rate_pct"].value == 80.0  # 0.8 shown as a percentage
    assert meta["latest_complete_month"].value == "2026-09"
    assert (data_dir / "serving" / SERVING_FILE).exists()


def run_in_duckdb1(python: Path, script: str, database: Path) -> subprocess.CompletedProcess:
    """``script`` run by the DuckDB 1.x Python with the database path as its argument; it must
    succeed (this checkout's packages are kept off its path)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [str(python), "-c", script, str(database)], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="session")
def duckdb1_python() -> Path:
    """A Python with DuckDB 1.x, cached under .tools/duckdb1; skipped without PyPI (fails in CI)."""
    DUCKDB1_VENV.parent.mkdir(parents=True, exist_ok=True)
    with (DUCKDB1_VENV.parent / "duckdb1.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel test workers: one builds it, the others wait
        return _duckdb1_python()


def _duckdb1_python() -> Path:
    python = DUCKDB1_VENV / "bin" / "python"
    probe = [str(python), "-c", "import duckdb; print(duckdb.__version__)"]
    if python.exists():
        done = subprocess.run(probe, capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip() == DUCKDB1_VERSION:
            return python
    base = getattr(sys, "_base_executable", sys.executable)
    # With the uv of `make install` (.tools/bin/uv): a venv without pip and uv's install take
    # about 0.5 s of CPU, a venv with pip and pip's install about 6 s (a fresh clone builds it
    # in every `make test`). pip where there is no uv or uv cannot install it.
    install = None
    if UV.is_file():
        subprocess.run(
            [base, "-m", "venv", "--clear", "--without-pip", str(DUCKDB1_VENV)], check=True
        )
        install = subprocess.run(
            [
                str(UV),
                "pip",
                "install",
                "--quiet",
                "--python",
                str(python),
                f"duckdb=={DUCKDB1_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    if install is None or install.returncode != 0:
        subprocess.run([base, "-m", "venv", "--clear", str(DUCKDB1_VENV)], check=True)
        install = subprocess.run(
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"duckdb=={DUCKDB1_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
        )
    if install.returncode != 0:
        reason = f"cannot install duckdb=={DUCKDB1_VERSION} from PyPI: {install.stderr[-300:]}"
        skip_unless_ci(reason)
    return python


def test_serving_file_opens_in_duckdb_1x(tmp_path: Path, duckdb1_python: Path) -> None:
    serving = tmp_path / "serving"
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=7)
        run(
            con,
            "create table marts.typed as select 12.5::decimal(18,4) as revenue, "
            "timestamp '2026-10-31 23:59:59' as ordered_at, true as flag",
        )
        publish(con, serving, [*MARTS, "typed"])
    script = (
        "import duckdb, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "print(duckdb.__version__)\n"
        "print(con.execute('select count(*), sum(purchases) from loyalty_customers').fetchall())\n"
        "print(con.execute('select revenue, ordered_at, flag from typed').fetchall())\n"
    )
    done = run_in_duckdb1(duckdb1_python, script, serving / SERVING_FILE)
    # 7 customers with 1..7 purchases: 28.
    assert done.stdout.splitlines() == [
        DUCKDB1_VERSION,
        "[(7, 28)]",
        "[(Decimal('12.5000'), datetime.datetime(2026, 10, 31, 23, 59, 59), True)]",
    ]


def test_orphans_of_a_killed_publish_are_removed(tmp_path: Path) -> None:
    serving = tmp_path / "serving"
    (serving / "parquet").mkdir(parents=True)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    orphan = serving / f".marts.{gone.pid}.tmp.duckdb"
    orphan_part = serving / "parquet" / f".loyalty_customers.{gone.pid}.tmp.parquet"
    live = serving / f".marts.{os.getpid()}.tmp.duckdb.keep"  # not a pattern publish writes
    for path in (orphan, orphan_part, live):
        path.write_bytes(b"x")
    with open_warehouse(tmp_path / "warehouse.duckdb") as con:
        write_marts(con, customers=2)
        publish(con, serving, MARTS)
    assert not orphan.exists() and not orphan_part.exists()
    assert live.exists()


def write_cohorts(con: duckdb.DuckDBPyConnection) -> None:
    """Cohort 2026-08 (4 buyers) and 2026-09 (2 buyers); October 2026 is the open month."""
    run(
        con,
        "create or replace table marts.cohort_retention as select * from (values "
        "(date '2026-08-01', 0, 4, 4, 1.0), (date '2026-08-01', 1, 4, 2, 0.5), "
        "(date '2026-08-01', 2, 4, 1, 0.25), (date '2026-09-01', 0, 2, 2, 1.0), "
        "(date '2026-09-01', 1, 2, 1, 0.5)) "
        "as t(cohort_month, months_since_first, cohort_size, retained_customers, retention_rate)",
    )
    run(
        con,
        "create or replace table marts.retention_monthly as select * from (values "
        "(date '2026-08-01', true), (date '2026-09-01', true), (date '2026-10-01', false)) "
        "as t(month, is_complete)",
    )


def test_retention_charts_are_drawn_from_the_serving_file(data_dir: Path) -> None:
    from assets.charts import retention_charts

    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        write_cohorts(con)
        publish(con, data_dir / "serving", ["cohort_retention", "retention_monthly"])
    result = dg.materialize(
        [retention_charts], resources={"config": PipelineConfig(data_dir=str(data_dir))}
    )
    assert result.success
    (mat,) = result.asset_materializations_for_node("retention_charts")
    meta = mat.metadata
    # Curve over complete months only: k=0 -> (4+2)/(4+2) = 1; k=1 -> cohort 08 only (09+1 is
    # October, open): 2/4 = 0.5; k=2 would be October for cohort 08: no point.
    assert meta["curve_points"].value == 2
    assert meta["retention_month_1_pct"].value == 50.0
    # The curve as a table short enough for the UI to show inline (under 1,000 characters).
    table = meta["retention_curve_table"].md_str
    assert "| 0 | 100.0% | 2 |" in table and "| 1 | 50.0% | 1 |" in table and len(table) < 1000
    assert meta["cohorts"].value == 2
    assert meta["cohort_heatmap"].md_str.startswith("![cohort heat map](data:image/png;base64,")
    png = (data_dir / "docs" / "cohort_heatmap.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert (data_dir / "docs" / "retention_curve.png").exists()
