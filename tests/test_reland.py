"""``python -m pipeline reland`` on a warehouse that keeps an older release's reading.

One data directory (a module fixture), by the command line's ``main`` in this process (the
environment of ``helpers.cli``: as of 2026-10-31), with a tiny landing/: three contacts (C3 in a
file of its own) and two survey answers, C1's a CSAT 5 in October 2026.

1. ``run``: everything landed by this release's reader; no notice.
2. The older reading made by hand, as e0f9a76 landed a HubSpot "happy" answer (docs/operations.md,
   "Upgrading"): C1's answer 2 in raw.raw_surveys, its delivery's reader revision NULL, and every
   model's record made an older release's (as after an upgrade: rebuilt whole from raw).
3. ``run``: the marts now hold the older reading; its summary says so, once.
4. ``reland`` while a run of the UI is in progress, and while another ``pipeline run`` holds
   run.lock: refused, nothing moved.
5. ``reland`` whose run fails (the validation folder is a file): the old warehouse put back.
6. contacts_c3.csv removed from landing/, then ``reland``: every other delivery read again, the
   difference per mart reported, the file not read again named, the old warehouse kept.

The differences worked out by hand (docs/metrics.md): October 2026's satisfaction_monthly row
read C1's answer as CSAT 2 (csat 0.0, 1 dissatisfied customer, silent, silent_share 1.0) and
reads it as 5 (csat 1.0, none dissatisfied): 1 row in the old not in the new and 1 the other
way. customer_360: C1's row (last_csat 2, dissatisfied_90d and silent_dissatisfied_90d true,
against 5, false, false) and C3's, whose contacts are no longer delivered: 2 old rows not in the
new, 1 new not in the old, 3 rows before and 2 now. The ten other marts hold nothing that reads
the score or C3 (no orders, no e-mail, no mentions): equal.
"""

from __future__ import annotations

import fcntl
import io
import os
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster._core.test_utils import create_run_for_test
from helpers import cli_env

from pipeline.ingest.revision import READER_REVISION, older_readings

pytestmark = pytest.mark.slow  # four runs of every asset, in process

CONTACTS = (
    "contact_id,email,first_name,last_name,phone,created_at,country,language,acquisition_source,"
    "birth_date,twitter_handle,facebook_handle,instagram_handle,linkedin_handle,updated_at\n"
)
SURVEYS = (
    "response_id,contact_id,email,responded_at,survey_type,score,comment,ticket_id\n"
    "S1,C1,,2026-10-10T10:00:00Z,csat,5,,\n"
    "S2,C2,,2026-10-12T10:00:00Z,nps,9,,\n"
)
SATISFACTION = (
    "select csat, dissatisfied_customers, silent_dissatisfied_customers, silent_share "
    "from marts.satisfaction_monthly"
)


def command(data_dir: Path, *args: str) -> subprocess.CompletedProcess:
    """``python -m pipeline ARGS`` by the command line's ``main`` in this process, in the
    environment ``helpers.cli`` gives a process: its status and what it printed."""
    from pipeline.__main__ import main

    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as env, redirect_stdout(out), redirect_stderr(err):
        for name, value in cli_env(data_dir).items():
            if os.environ.get(name) != value:
                env.setenv(name, value)
        env.delenv("DAGSTER_HOME", raising=False)
        status = main(list(args))
    return subprocess.CompletedProcess(args, status, out.getvalue(), err.getvalue())


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def warehouses(data_dir: Path) -> list[str]:
    """The database files in the data directory, by name."""
    return sorted(p.name for p in data_dir.glob("warehouse*"))


@dataclass
class Story:
    data: Path
    first: subprocess.CompletedProcess
    revisions: list[tuple]
    second: subprocess.CompletedProcess
    old_satisfaction: list[tuple]
    ui_busy: tuple[str, subprocess.CompletedProcess]  # the UI's run id, reland's outcome
    busy: subprocess.CompletedProcess
    busy_files: list[str]
    failed: subprocess.CompletedProcess
    failed_files: list[str]
    after_failure: list[tuple]  # C1's score and its delivery's revision in warehouse.duckdb
    relanded: subprocess.CompletedProcess
    relanded_files: list[str]
    kept: list[tuple]  # C1's score and the contacts in the file kept aside
    new: list[tuple]  # the same in the new warehouse
    new_satisfaction: list[tuple]
    older_after: dict


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    data = tmp_path_factory.mktemp("reland") / "data"
    contacts = data / "landing" / "crm" / "contacts"
    contacts.mkdir(parents=True)
    (contacts / "contacts.csv").write_text(
        CONTACTS + "C1,ann@example.com,Ann,Lee,,2026-01-05T10:00:00Z,DE,de,organic,,,,,,\n"
        "C2,bob@example.com,Bob,Roe,,2026-02-05T10:00:00Z,DE,de,paid,,,,,,\n",
        encoding="utf-8",
    )
    (contacts / "contacts_c3.csv").write_text(
        CONTACTS + "C3,cy@example.com,Cy,Poe,,2026-03-05T10:00:00Z,DE,de,paid,,,,,,\n",
        encoding="utf-8",
    )
    (data / "landing" / "crm" / "surveys").mkdir(parents=True)
    (data / "landing" / "crm" / "surveys" / "surveys.csv").write_text(SURVEYS, encoding="utf-8")
    warehouse = data / "warehouse.duckdb"

    first = command(data, "run")
    assert first.returncode == 0, first.stdout + first.stderr
    revisions = query(warehouse, "select distinct reader_revision from meta.ingest_ledger")

    con = duckdb.connect(str(warehouse))
    try:
        con.execute("update raw.raw_surveys set score = 2 where response_id = 'S1'")
        con.execute(
            "update meta.ingest_ledger set reader_revision = null "
            "where source_file = 'crm/surveys/surveys.csv'"
        )
        # Every model as an older release built it: rebuilt whole by the next run.
        con.execute("update meta.model_builds set sql_sha256 = 'an older release'")
        con.execute("delete from meta.build_inputs")
    finally:
        con.close()
    second = command(data, "run")
    assert second.returncode == 0, second.stdout + second.stderr
    old_satisfaction = query(warehouse, SATISFACTION)

    # A run of the UI in progress (between two of its steps it holds no file).
    instance = dg.DagsterInstance.from_config(str(data / "dagster_home"))
    try:
        ui_run = create_run_for_test(instance, status=dg.DagsterRunStatus.STARTED)
        ui_busy = command(data, "reland")
        instance.delete_run(ui_run.run_id)
    finally:
        instance.dispose()
    # Another `pipeline run` holds run.lock (a descriptor of its own: flock is per open file).
    fd = os.open(data / "run.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.pwrite(fd, b"4242\n", 0)
        busy = command(data, "reland")
    finally:
        os.close(fd)
    busy_files = warehouses(data)

    validation = data / "validation"
    validation.rename(data / "validation.aside")
    validation.write_text("not a folder")
    failed = command(data, "reland")
    failed_files = warehouses(data)
    validation.unlink()
    (data / "validation.aside").rename(validation)
    score_and_revision = (
        "select score, reader_revision from raw.raw_surveys s join meta.ingest_ledger l "
        "on s._file_sha256 = l.file_sha256 where response_id = 'S1'"
    )
    after_failure = query(warehouse, score_and_revision)

    (contacts / "contacts_c3.csv").unlink()
    relanded = command(data, "reland")
    relanded_files = warehouses(data)
    kept_and_new = (
        "select (select score from raw.raw_surveys where response_id = 'S1'), "
        "(select list(contact_id order by contact_id) from raw.raw_contacts)"
    )
    (before,) = [n for n in relanded_files if n.startswith("warehouse.before-reland-")]
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        older_after = older_readings(con)
    finally:
        con.close()
    return Story(
        data,
        first,
        revisions,
        second,
        old_satisfaction,
        (ui_run.run_id, ui_busy),
        busy,
        busy_files,
        failed,
        failed_files,
        after_failure,
        relanded,
        relanded_files,
        query(data / before, kept_and_new),
        query(warehouse, kept_and_new),
        query(warehouse, SATISFACTION),
        older_after,
    )


def test_a_run_by_this_release_records_its_revision_and_says_nothing(story: Story) -> None:
    assert story.revisions == [(READER_REVISION,)]
    assert "older reader" not in story.first.stdout + story.first.stderr


def test_a_run_on_an_older_reading_says_so_once_and_exits_as_before(story: Story) -> None:
    said = story.second.stdout + story.second.stderr
    assert said.count("older reader") == 1
    assert (
        "1 landed delivery was read by an older reader than this release's (reader revision 3): "
        "1 before reader revisions were recorded" in story.second.stdout
    )
    assert (
        f"python -m pipeline reland --data-dir {story.data} "
        '(docs/operations.md, "Upgrading")' in story.second.stdout
    )
    # The older reading of C1's answer is what the marts show: CSAT 2, a silent dissatisfied.
    assert story.old_satisfaction == [(0.0, 1, 1, 1.0)]


def test_reland_is_refused_while_another_run_holds_the_warehouse(story: Story) -> None:
    run_id, ui_busy = story.ui_busy
    assert ui_busy.returncode == 4, ui_busy.stdout + ui_busy.stderr
    assert ui_busy.stderr.strip() == (
        f"another run holds the warehouse (pid unknown): run {run_id} of the UI is in "
        "progress; nothing was moved: wait for it to finish, then reland"
    )
    assert story.busy.returncode == 4, story.busy.stdout + story.busy.stderr
    assert story.busy.stderr.strip() == (
        f"another run holds the warehouse (pid 4242): a `pipeline run` is in progress "
        f"({story.data / 'run.lock'}); nothing was moved: wait for it to finish, then reland"
    )
    assert story.busy_files == ["warehouse.duckdb"]


def test_a_failed_reland_puts_the_old_warehouse_back_and_keeps_the_new_aside(story: Story) -> None:
    assert story.failed.returncode == 1, story.failed.stdout + story.failed.stderr
    (aside,) = [n for n in story.failed_files if n.startswith("warehouse.failed-reland-")]
    assert story.failed_files == sorted(["warehouse.duckdb", aside])  # no before-reland left
    # The old warehouse as it was: C1's answer in the older reading, its revision unrecorded.
    assert story.after_failure == [(2, None)]
    err = story.failed.stderr
    assert "the run failed:" in err
    assert (
        f"reland failed (the run's error is above): the old warehouse is back at "
        f"{story.data / 'warehouse.duckdb'}, as it was; the new one is kept for inspection at "
        f"{story.data / aside} (remove it when done: rm {story.data / aside}" in err
    )


def test_reland_reads_every_delivery_again_and_reports_each_difference(story: Story) -> None:
    out = story.relanded.stdout
    assert story.relanded.returncode == 0, out + story.relanded.stderr
    (before,) = [n for n in story.relanded_files if n.startswith("warehouse.before-reland-")]
    assert out.startswith(
        f"moved the warehouse aside to {story.data / before}; every delivery in "
        f"{story.data / 'landing'} is landed again by this release (reader revision 3)\n"
    )
    report = out[out.index("compared with the old warehouse") :].splitlines()
    assert report[:5] == [
        f"compared with the old warehouse ({before}):",
        "  deliveries landed: 3 before, 2 now; rows read 5 / 4, landed 5 / 4, quarantined 0 / 0",
        "  not read again: 1 delivery the old warehouse landed is not landed in the new one "
        "(its rows are in the old file only, which is kept):",
        "    crm/contacts/contacts_c3.csv (contacts, 1 row landed): no longer in landing/",
        "  published marts (2 of 12 differ; rows in one warehouse and not the other, by "
        "except all):",
    ]
    marts = {line.split()[0]: " ".join(line.split()[1:]) for line in report[5:17]}
    assert marts["satisfaction_monthly"] == (
        "differs: 1 of the old rows not in the new, 1 of the new not in the old "
        "(1 row before, 1 now)"
    )
    assert marts["customer_360"] == (
        "differs: 2 of the old rows not in the new, 1 of the new not in the old "
        "(3 rows before, 2 now)"
    )
    assert marts["prediction_model"] == "equal (7 rows before, 7 now)"  # fitted_at left out
    assert len(marts) == 12
    assert sum(text.startswith("equal") for text in marts.values()) == 10
    assert report[18] == (
        f"the old warehouse is kept at {story.data / before}, as it was (nothing of it is lost); "
        f"once satisfied with the new one, remove it: rm {story.data / before}"
    )


def test_the_old_warehouse_is_kept_and_the_new_reads_as_this_release(story: Story) -> None:
    assert story.kept == [(2, ["C1", "C2", "C3"])]
    assert story.new == [(5, ["C1", "C2"])]
    assert story.new_satisfaction == [(1.0, 0, 0, None)]
    assert story.older_after == {}  # the notice is gone
    assert "older reader" not in story.relanded.stdout
