"""Runs that do not finish, on one generated data directory (a module fixture: generated and
built once), and the run after each (docs/operations.md, "Recovering from a killed run"):

1. ``generate`` 40 customers and ``run`` them (the first build);
2. a delivery of one mention without a language, run under a file size limit (``ulimit -f``,
   RLIMIT_FSIZE: a full disk as a process meets it) of the warehouse's size and 1 MiB: the run
   fails at ``int_mention_sentiment``, whose language model py3langid unpacks into a temporary
   file of 65 MB, and says where and why (it said ``OSError: [Errno 27] File too large`` and the
   polars expression it came from, naming no file);
3. two order deliveries, one with a bad row, and a run stopped by SIGINT (Ctrl-C) once that
   one has landed, during the other (20,000 orders): it says it was interrupted (it said
   ``dagster._core.errors.DagsterExecutionInterruptedError``), and the landed delivery's
   quarantine CSV is there (it was never written: the entity's end wrote them);
4. the next run completes, lands nothing twice and publishes the warehouse's marts.

A run killed during ingestion is tests/test_cli_e2e.py's; kills at every other step were tried
by hand and are in docs/operations.md. Also here: a picture's temporary file left by a killed
run is removed by the next (one was left in ``docs/`` for good), and a ``dagster.yaml`` cut
short by a full disk is neither left (a process under ``ulimit -f``) nor kept.
"""

from __future__ import annotations

import csv
import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from helpers import REPO_ROOT, cli, cli_env, serving_rows, start_cli, warehouse_rows

from assets.charts import stamped_picture
from pipeline.automation.instance import DAGSTER_YAML, ensure_instance_config
from pipeline.validation.log import ValidationLog, log_path, read_log
from pipeline.validation.outcome import SuiteOutcome

# One mention without a language or a sentiment: the scorer asks py3langid for its language.
MENTIONS = (
    "mention_id,platform,author_handle,author_name,text,language,posted_at,sentiment,"
    "brand_replied_at,url\n"
    "MX-FULL-1,twitter,full_disk_1,Pat Doe,"
    '"The parcel arrived broken and nobody answers my emails, very disappointed.",'
    ",2026-10-30T09:00:00Z,,,\n"
)
MENTIONS_FILE = "social/mentions/mentions_full_disk.csv"
# A good order and one whose status is none of the contract's (quarantined).
ORDERS_BAD = "orders_interrupted_a.csv"
ORDERS_BULK = "orders_interrupted_b.csv"
ORDERS_WITH_A_BAD_ROW = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
    "INT-1,,int.buyer@example.com,2026-10-29T10:00:00Z,completed,EUR,50.00,0,0,\n"
    "INT-2,,int.buyer@example.com,2026-10-29T11:00:00Z,shipped,EUR,60.00,0,0,\n"
)


@dataclass
class Story:
    data_dir: Path
    first: subprocess.CompletedProcess
    limit: int
    limited: subprocess.CompletedProcess
    interrupted_status: int
    interrupted_output: str
    after: subprocess.CompletedProcess


def _file_size_limit(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    data_dir = tmp_path_factory.mktemp("interrupted")
    generated = cli(
        "generate",
        "--customers",
        "40",
        "--out",
        str(data_dir),
        "--as-of",
        "2026-10-31",
        data_dir=data_dir,
    )
    assert generated.returncode == 0, generated.stderr
    first = cli("run", data_dir=data_dir)

    (data_dir / "landing" / MENTIONS_FILE).write_text(MENTIONS, encoding="utf-8")
    limit = (data_dir / "warehouse.duckdb").stat().st_size + 2**20
    limited = subprocess.run(
        [sys.executable, "-m", "pipeline", "run"],
        cwd=REPO_ROOT,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=600,
        preexec_fn=_file_size_limit(limit),
    )

    # Two order deliveries: one with a bad row, then one of 20,000 orders, during which the run
    # is stopped (the first has landed; its entity's quarantine CSV files were still to come).
    orders = data_dir / "landing" / "crm" / "orders"
    (orders / ORDERS_BAD).write_text(ORDERS_WITH_A_BAD_ROW, encoding="utf-8")
    with duckdb.connect() as con:
        con.execute(
            "copy (select * exclude (range) replace ('BULK-' || range as order_id) from "
            f"(select * from read_csv('{orders / 'orders_0001.csv'}', all_varchar = true) "
            f"limit 1) as one, range(20000)) to '{orders / ORDERS_BULK}' (header)"
        )
    interrupted = start_cli("run", data_dir=data_dir)
    said = []
    assert interrupted.stdout is not None
    for line in interrupted.stdout:
        said.append(line)
        if f"crm/orders/{ORDERS_BAD}: landed" in line:
            interrupted.send_signal(signal.SIGINT)
    interrupted.wait(timeout=600)

    after = cli("run", data_dir=data_dir)
    return Story(data_dir, first, limit, limited, interrupted.returncode, "".join(said), after)


e2e = pytest.mark.e2e


@e2e
def test_a_full_disk_names_the_folder_and_the_reason(story: Story) -> None:
    assert story.first.returncode == 0, story.first.stderr
    assert story.limited.returncode == 1, story.limited.stderr
    failed = story.limited.stderr.split("the run failed:", 1)[1]
    folder = tempfile.gettempdir()
    assert failed.strip() == (
        "int_mention_sentiment: pipeline.language.LanguageModelError: cannot load py3langid's "
        f"language model: it is unpacked into a temporary file of about 65 MB in {folder} "
        "(TMPDIR), and writing it failed: file too large (the process's file size limit, "
        "ulimit -f) ([Errno 27] File too large). Make room there, or set TMPDIR to a folder "
        "with room, and run again"
    ), failed
    assert "[Errno 27] File too large" in failed
    # Said once, without the polars expression the scorer ran in.
    assert "python_udf" not in story.limited.stdout + story.limited.stderr
    # What landed before the failure stays landed: the delivery is in the ledger once.
    assert f"{MENTIONS_FILE}: 1 row read, 1 landed" in story.limited.stdout


@e2e
def test_ctrl_c_says_the_run_was_interrupted(story: Story) -> None:
    assert story.interrupted_status == 1, story.interrupted_output
    assert (
        "raw_ingest: interrupted (Ctrl-C or SIGTERM): what the step had not committed "
        "was rolled back; the next run carries on from there"
    ) in story.interrupted_output
    assert "DagsterExecutionInterruptedError" not in story.interrupted_output


@e2e
def test_rows_quarantined_before_a_stop_are_in_their_csv(story: Story) -> None:
    # The delivery landed before the stop, so the next run skips it; its bad row was in the
    # warehouse but in no CSV file, which only its entity's end of ingestion wrote.
    ledger = warehouse_rows(
        story.data_dir,
        "select count(*), sum(rows_landed), sum(rows_quarantined) from meta.ingest_ledger "
        f"where source_file = 'crm/orders/{ORDERS_BAD}'",
    )
    assert ledger == [(1, 1, 1)]
    csv_file = story.data_dir / "quarantine" / "crm" / "orders" / f"{ORDERS_BAD}.rows.csv"
    assert csv_file.is_file(), sorted(p.name for p in csv_file.parent.parent.rglob("*"))
    header, *found = csv.reader(csv_file.read_text(encoding="utf-8-sig").splitlines())
    assert header[:4] == ["file", "line", "reason", "order_id"]
    assert [row[:2] + [row[3]] for row in found] == [[f"crm/orders/{ORDERS_BAD}", "3", "INT-2"]]
    assert found[0][2].startswith("status 'shipped' is not one of ")
    assert warehouse_rows(
        story.data_dir,
        "select count(*) from raw.raw_orders where starts_with(order_id, 'BULK-')",
    ) == [(20000,)]


@e2e
def test_the_next_run_lands_nothing_twice_and_publishes(story: Story) -> None:
    assert story.after.returncode == 0, story.after.stderr
    data_dir = story.data_dir
    ledger = warehouse_rows(
        data_dir,
        "select count(*), sum(rows_landed) from meta.ingest_ledger "
        f"where source_file = '{MENTIONS_FILE}'",
    )
    assert ledger == [(1, 1)]
    assert warehouse_rows(
        data_dir, "select count(*) from raw.raw_social_mentions where mention_id = 'MX-FULL-1'"
    ) == [(1,)]
    # Scored once its language model loaded: English, by VADER, negative.
    assert warehouse_rows(
        data_dir,
        "select language, language_source, sentiment, sentiment_source "
        "from intermediate.int_mention_sentiment where mention_id = 'MX-FULL-1'",
    ) == [("en", "detected", "negative", "scored")]
    # The serving file holds the warehouse's marts (the mention counted in October 2026).
    query = "select month, mentions from social_monthly order by month"
    assert serving_rows(data_dir, query) == warehouse_rows(
        data_dir, f"select month, mentions from marts.{query.split('from ')[1]}"
    )
    leftovers = [p.name for p in (data_dir / "serving").rglob("*") if ".tmp" in p.name]
    assert leftovers == []


def test_a_killed_runs_picture_file_is_removed_by_the_next(tmp_path: Path) -> None:
    # What a run killed between writing a PNG's temporary file and renaming it leaves.
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    orphan = tmp_path / f".cohort_heatmap.png.{dead}.tmp"
    orphan.write_bytes(b"\x89PNG half")
    other = tmp_path / f".p_alive_heatmap.png.{dead}.tmp"
    other.write_bytes(b"\x89PNG half")
    live = tmp_path / f".retention_curve.png.{os.getppid()}.tmp"  # a process still drawing
    live.write_bytes(b"\x89PNG half")

    data, drawn = stamped_picture(tmp_path / "cohort_heatmap.png", "stamp-1", lambda: b"png")

    assert (data, drawn) == (b"png", True)
    assert (tmp_path / "cohort_heatmap.png").read_bytes() == b"png"
    assert not orphan.exists()
    assert not other.exists()
    assert live.exists()
    # Drawn before from the same figures: not drawn again, and an orphan still goes.
    orphan.write_bytes(b"\x89PNG half")
    assert stamped_picture(tmp_path / "cohort_heatmap.png", "stamp-1", lambda: b"new") == (
        b"png",
        False,
    )
    assert not orphan.exists()


@e2e
def test_a_dagster_yaml_cut_short_by_a_full_disk_is_never_left(tmp_path: Path) -> None:
    # The first run of a data directory writes dagster_home/dagster.yaml (the warehouse pool,
    # the run queue); a full disk there left the part written, which every later run kept: an
    # empty file is Dagster's defaults, with no pool, so two writers could collide.
    home = tmp_path / "dagster_home"
    code = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from pipeline.automation.instance import ensure_instance_config\n"
        "resource.setrlimit(resource.RLIMIT_FSIZE, (200, 200))\n"
        "ensure_instance_config(Path(sys.argv[1]))\n"
    )
    full = subprocess.run(
        [sys.executable, "-c", code, str(home)], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert full.returncode == 1
    assert "[Errno 27] File too large" in full.stderr
    assert [p.name for p in home.iterdir()] == []  # neither 200 bytes of it nor a temporary file
    ensure_instance_config(home)
    assert (home / "dagster.yaml").read_text(encoding="utf-8") == DAGSTER_YAML


@pytest.mark.parametrize("kept", [0, 200, len(DAGSTER_YAML) - 1])
def test_a_dagster_yaml_left_cut_short_is_written_whole(tmp_path: Path, kept: int) -> None:
    # What a full disk or a kill left before (the first ``kept`` characters of it).
    (tmp_path / "dagster.yaml").write_text(DAGSTER_YAML[:kept], encoding="utf-8")
    ensure_instance_config(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == DAGSTER_YAML


def test_a_dagster_yaml_edited_by_hand_is_kept(tmp_path: Path) -> None:
    edited = DAGSTER_YAML.replace("dequeue_interval_seconds: 1", "dequeue_interval_seconds: 2")
    (tmp_path / "dagster.yaml").write_text(edited, encoding="utf-8")
    ensure_instance_config(tmp_path)
    assert (tmp_path / "dagster.yaml").read_text(encoding="utf-8") == edited


def _outcome(target: str) -> SuiteOutcome:
    return SuiteOutcome(
        "landed_orders", "landed", "raw_orders", target, "run-a", 3, "the file", 0.1, []
    )


def test_a_run_log_cut_short_by_a_stop_is_read_without_its_last_record(tmp_path: Path) -> None:
    # A kill or a full disk in the middle of an append leaves a record cut short; every later
    # run read it in its landed checks' Data Docs index (the newest 10 logs) and failed
    # raw_ingest with "JSONDecodeError: Expecting value: line 1 column 58 (char 57)".
    log = ValidationLog(tmp_path, "run-a")
    log(_outcome("crm/orders/a.csv"))
    log(_outcome("crm/orders/b.csv"))
    path = log_path(tmp_path, "run-a")
    first, second, _ = path.read_text(encoding="utf-8").split("\n")
    path.write_text(f"{first}\n{second[:57]}", encoding="utf-8")
    assert [o.target for o in read_log(tmp_path, "run-a")] == ["crm/orders/a.csv"]
    # Appended to again: the new record is a line of its own, the piece left is not read.
    log(_outcome("crm/orders/c.csv"))
    assert [o.target for o in read_log(tmp_path, "run-a")] == [
        "crm/orders/a.csv",
        "crm/orders/c.csv",
    ]
