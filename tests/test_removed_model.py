"""A mart removed from a copy of the code, run, then put back: the real command line each time.

The steps of docs/architecture.md, "Removing a model", on the demo's data (300 customers, as of
2026-10-31) in a copy of the code (the checkout stays as it is; the copy's ``sql/`` and
``expectations/`` are what its ``python -m pipeline`` reads): ``channel_retention`` (read by
no other model, nor by any Python step) loses its ``.sql``, ``.yml`` and suite. Its table stays
in the warehouse, unchanged, published no more; every run says so once with the statement that
drops it (its first layer step, so a run stopped by a blocking check before serving says it
too), and so does ``python -m pipeline docs``. Put back, it is rebuilt and checked again.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from helpers import REPO_ROOT, cli_env, serving_rows, warehouse_rows

from pipeline.automation.loaded_code import CODE_DIRS

pytestmark = pytest.mark.e2e

MART = "channel_retention"
FILES = (f"sql/marts/{MART}.sql", f"sql/marts/{MART}.yml", f"expectations/marts_{MART}.json")
ROWS = f"select * from marts.{MART} order by all"
SAID = [
    "1 table in the warehouse that no model names (its model was removed from sql/; nothing "
    "builds, checks or drops it): drop each by hand while no run is writing "
    '(docs/architecture.md, "Removing a model"):',
    f"  marts.{MART}: not published to serving",
    f"    drop table marts.{MART};",
]


@dataclass
class Story:
    data: Path
    built: list[tuple]  # the mart's rows after the demo
    removed: subprocess.CompletedProcess  # the run without the mart
    docs: subprocess.CompletedProcess  # python -m pipeline docs then
    left: list[tuple]  # the mart's table in the warehouse after that run
    served_without: dict[str, object]  # what the serving file and Parquet set held then
    blocked: subprocess.CompletedProcess  # a run stopped by a mart's blocking check
    restored: subprocess.CompletedProcess  # the run with the mart put back
    restored_rows: list[tuple]
    served_again: list[tuple] | None


def pipeline(code: Path, data: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` of the copy ``code`` on ``data``."""
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        cwd=code,  # the copy's pipeline package, first on sys.path
        env=cli_env(data, PYTHONDONTWRITEBYTECODE="1"),
        capture_output=True,
        text=True,
        timeout=600,
    )


def published(data: Path) -> dict[str, object]:
    """The serving file's tables, its publication rows and the Parquet files in place."""
    tables = serving_rows(data, "select table_name from duckdb_tables() order by 1") or []
    marts = serving_rows(data, "select mart from publication order by 1") or []
    return {
        "tables": [t for (t,) in tables],
        "publication": [m for (m,) in marts],
        "parquet": sorted(p.name for p in (data / "serving" / "parquet").iterdir()),
    }


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    base = tmp_path_factory.mktemp("removed_model")
    code, data, aside = base / "code", base / "data", base / "aside"
    for folder in CODE_DIRS:
        shutil.copytree(REPO_ROOT / folder, code / folder, ignore=shutil.ignore_patterns("__py*"))
    demo = pipeline(code, data, "demo", "--customers", "300")
    assert demo.returncode == 0, demo.stdout + demo.stderr
    built = warehouse_rows(data, ROWS)
    for rel in FILES:  # removed, as the docs say: the SQL, its .yml and its suite
        (aside / rel).parent.mkdir(parents=True, exist_ok=True)
        (code / rel).rename(aside / rel)
    removed = pipeline(code, data, "run")
    docs = pipeline(code, data, "docs")
    left = warehouse_rows(data, ROWS)
    served_without = published(data)
    # A mart's blocking check made to fail (its suite asks for 2 rows of the 1 it always has):
    # sql_marts fails, serving_marts does not run.
    suite = code / "expectations/marts_loyalty_summary.json"
    kept = suite.read_text(encoding="utf-8")
    one_row = '"min_value": 1, "max_value": 1'
    assert one_row in kept
    suite.write_text(kept.replace(one_row, '"min_value": 2, "max_value": 2'), encoding="utf-8")
    blocked = pipeline(code, data, "run")
    suite.write_text(kept, encoding="utf-8")
    for rel in FILES:
        (aside / rel).rename(code / rel)
    restored = pipeline(code, data, "run")
    return Story(
        data,
        built,
        removed,
        docs,
        left,
        served_without,
        blocked,
        restored,
        warehouse_rows(data, ROWS),
        serving_rows(data, f"select * from {MART} order by all"),
    )


def test_the_run_says_once_which_table_is_left_and_how_to_drop_it(story: Story) -> None:
    out = story.removed.stdout
    assert story.removed.returncode == 0, out + story.removed.stderr
    # The first layer step's warning, as `pipeline run` prints a step's log line, said once
    # (not again by the other layer steps nor by serving_marts).
    assert said(out, "sql_staging"), out
    # The summary lists the marts published, not the one left behind.
    assert f"  {MART} " not in out
    assert "marts (11; published to the serving file above" in out, out


def said(out: str, step: str) -> bool:
    """Whether ``out`` says the left mart once, as ``SAID``, in ``step``'s log line."""
    found = [i for i, line in enumerate(out.splitlines()) if "that no model names" in line]
    if len(found) != 1 or out.count(f"drop table marts.{MART};") != 1:
        return False
    lines = out.splitlines()[found[0] : found[0] + 3]
    return lines[0].endswith(f"{step}: {SAID[0]}") and lines[1:] == SAID[1:]


def test_a_run_stopped_by_a_blocking_check_before_serving_says_it_too(story: Story) -> None:
    out, err = story.blocked.stdout, story.blocked.stderr
    assert story.blocked.returncode == 1, out + err
    # Stopped by the mart's check, in sql_marts; serving_marts never started.
    assert "1 blocking check failed: mart_expectations on loyalty_summary" in err, err
    assert "serving_marts" not in out, out
    # Before, only serving_marts said the left table: this run said nothing of it.
    assert said(out, "sql_staging"), out
    # The summary does not call the warehouse's marts published (they were rebuilt, one
    # failing its check; BI still sees the last publication).
    assert "this run published nothing" in out and "published to the serving file" not in out
    assert "headline figures, as of 2026-10-31, from the warehouse's marts, unpublished" in out


def test_the_left_table_is_not_dropped_and_not_published(story: Story) -> None:
    assert len(story.built) == 5  # the demo's five channels
    assert story.left == story.built  # untouched
    served = story.served_without
    assert MART not in served["tables"] and MART not in served["publication"], served
    assert f"{MART}.parquet" not in served["parquet"], served
    # Every other mart is still published (the 11 others and the publication table).
    assert len(served["publication"]) == 11 and "retention_monthly" in served["publication"]


def test_docs_says_the_same_after_writing_the_metrics(story: Story) -> None:
    assert story.docs.returncode == 0, story.docs.stdout + story.docs.stderr
    lines = story.docs.stdout.splitlines()
    assert lines[0].startswith("wrote ") and lines[0].endswith("docs/metrics.md")
    assert lines[1:] == SAID


def test_the_mart_put_back_is_rebuilt_checked_and_published_again(story: Story) -> None:
    out = story.restored.stdout
    assert story.restored.returncode == 0, out + story.restored.stderr
    assert "that no model names" not in out
    # Its records were forgotten when it was found removed: rebuilt whole, not skipped as
    # "inputs unchanged", and its suite run in full, not "unchanged since validation".
    assert f"sql_marts: marts.{MART}: 5 rows (rebuilt)\n" in out, out
    checked = [line for line in out.splitlines() if f"{MART}: " in line and "expectation" in line]
    assert checked and all("unchanged since validation" not in line for line in checked), out
    assert any("expectations met" in line for line in checked), out
    # The others were left as they were (same code, inputs unchanged).
    assert "marts.retention_monthly: 24 rows (same code, inputs unchanged since" in out, out
    assert story.restored_rows == story.built
    assert story.served_again is not None and len(story.served_again) == 5
