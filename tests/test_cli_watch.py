"""``python -m pipeline watch`` as a user runs it: real watcher processes on a tiny data directory.

Three watchers (settle 0, a look every 0.2 s), one after another, on one data directory fed three
deliveries: the first, started on an empty landing folder, runs a good order and is stopped
during that run (said in the singular: 1 run). The second finds that file in the ledger (1 file)
and runs a file that is refused and a second good order that lands while another writer holds
the run lock (said once; run after the lock is released). Each delivery must start one run of
its own, printing its exit status; a SIGTERM sent during a run lets it finish, then the watcher
exits 0. The third finds every file already in the ledger, runs nothing, and exits 0 at once on
SIGTERM while idle.
A watcher that meets troubles after its start, and one whose run fails and is tried again, are
in tests/test_cli_watch_troubles.py (the helpers of both: tests/watch_support.py).
No sleeps: each step waits for the watcher's output line, with a deadline.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from helpers import delta_orders_csv, warehouse_rows
from watch_support import Watcher, assert_new_buyer_built, drop

from pipeline.cli.run_lock import LOCK_FILE

pytestmark = pytest.mark.e2e


@contextlib.contextmanager
def holding_run_lock(data_dir: Path):
    """Hold ``run.lock`` as a ``pipeline run`` does (flock, our pid in it), waiting for a look
    of the watcher that holds it now to end (a blocking flock: no polling)."""
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)


@dataclass
class Story:
    data_dir: Path
    first: Watcher
    first_status: int
    second: Watcher
    second_ready: str
    second_status: int
    third: Watcher
    third_status: int


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Three watchers, one after another, on one data directory: the first runs one file and is
    stopped during that run; the second finds it in the ledger and runs two more deliveries; the
    third finds both landed files and runs nothing. (The first one's run was a story of its own,
    said in the singular, on a directory of its own: one watcher start and one run more.)"""
    data_dir = tmp_path_factory.mktemp("watch")
    (data_dir / "landing").mkdir()
    first = Watcher.start(data_dir)
    first.wait_for("ready, watching")
    drop(data_dir, "orders_late_1.csv", delta_orders_csv("2026-10-30 10:00:00"))
    first.wait_for("new files: crm/orders/orders_late_1.csv")
    first_status = first.stop()  # during its one run: the run finishes, then the watcher ends

    second = Watcher.start(data_dir)
    second_ready = second.wait_for("ready, watching")
    drop(data_dir, "orders_broken.csv", "order_no;buyer\n1;someone\n")
    second.wait_for("exit status")
    second_order = delta_orders_csv("2026-10-31 09:00:00").replace("E2E-LATE-1", "E2E-LATE-2")
    # Another writer (this process, as a `pipeline run` would) holds the run lock while the file
    # lands: the watcher says so once and runs the file at a look after the lock is released.
    with holding_run_lock(data_dir):
        drop(data_dir, "orders_late_2.csv", second_order.replace("80.00", "20.00"))
        second.wait_for("trying again at each look")
    second.wait_for("new files: crm/orders/orders_late_2.csv")
    second_status = second.stop()  # during the run: it finishes, then the watcher ends

    third = Watcher.start(data_dir)
    third.wait_for("ready, watching")
    third_status = third.stop()  # idle
    return Story(
        data_dir, first, first_status, second, second_ready, second_status, third, third_status
    )


def test_one_run_and_one_file_known_are_said_in_the_singular(story: Story) -> None:
    out = "\n".join(story.first.lines)
    assert story.first_status == 0, out
    # Stopped during its one run: the run finishes, then the watcher's farewell.
    assert story.first.lines[-1] == "stopped after 1 run", out
    assert "; 1 file in landing already in the ledger; " in story.second_ready, story.second_ready


def test_each_delivery_starts_one_run_with_its_exit_status(story: Story) -> None:
    for watcher, status in ((story.first, story.first_status), (story.second, story.second_status)):
        out = "\n".join(watcher.lines)
        assert status == 0, out
        assert "SIGTERM: stopping after this run" in out
    statuses = [
        line.split(":")[0]
        for watcher in (story.first, story.second)
        for line in watcher.lines
        if line.startswith("exit status")
    ]
    # good file: 0; the refused file: 3 (a human should look); the second good file: 0
    assert statuses == ["exit status 0", "exit status 3", "exit status 0"]
    out = "\n".join(story.second.lines)
    # The busy warehouse, said once (the watcher looked every 0.2 s while it waited), naming us.
    busy = [line for line in story.second.lines if "trying again at each look" in line]
    assert len(busy) == 1 and f"another run holds the warehouse (pid {os.getpid()})" in busy[0]
    assert "stopped after 2 runs" in out
    assert "crm/orders/orders_broken.csv" in out and "refused" in out


def test_the_runs_land_the_good_files_and_build_the_marts(story: Story) -> None:
    # Read after the watchers ended. By hand: the buyer's orders of 80.00 (30 Oct 10:00) and
    # 20.00 (31 Oct 09:00), both completed: two purchases, revenue 100.00.
    orders = warehouse_rows(
        story.data_dir, "select order_id, gross_amount from raw.raw_orders order by order_id"
    )
    assert [(o, float(a)) for o, a in orders] == [("E2E-LATE-1", 80.0), ("E2E-LATE-2", 20.0)]
    ledger = warehouse_rows(
        story.data_dir, "select source_file, status from meta.ingest_ledger order by source_file"
    )
    assert [(Path(f).name, s) for f, s in ledger] == [
        ("orders_broken.csv", "refused"),
        ("orders_late_1.csv", "landed"),
        ("orders_late_2.csv", "landed"),
    ]
    assert_new_buyer_built(story.data_dir)


def test_runs_are_recorded_in_the_dagster_instance_tagged_watch(story: Story) -> None:
    from pipeline.automation.instance import resolve_dagster_home

    home = resolve_dagster_home(story.data_dir)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        runs = instance.get_runs()
    assert [r.tags.get("pipeline/trigger") for r in runs] == ["watch"] * 3
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 3


def test_a_restarted_watcher_runs_nothing_landed_and_stops_at_once_when_idle(story: Story) -> None:
    out = "\n".join(story.third.lines)
    assert story.third_status == 0, out
    assert "new files" not in out
    # The two landed files are still in landing/, known to the ledger (the refused one was
    # moved to quarantine): the watcher counts them as done.
    assert "2 files in landing already in the ledger" in out
