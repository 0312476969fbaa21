"""``python -m pipeline watch`` meeting troubles, on real watcher processes (helpers:
tests/watch_support.py; the plain deliveries are in tests/test_cli_watch.py).

A watcher meets a run that fails (a file where the serving folder should be): it tries the
run's files again with a backoff, never the file the run refused, and publishes once the cause
is put right, without a restart. Another meets, after its start, a missing and an unreadable
landing folder, a warehouse that is not a database, the demo's date file edited wrong, a
warehouse held by another process and a full disk, each said once, then two SIGTERMs during a
run; the ``pipeline run`` after it marks that run failed.
No sleeps: each step waits for the watcher's output line, with a deadline.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import (
    NEW_EMAIL,
    cli,
    delta_orders_csv,
    mode_000_denies,
    serving_rows,
    warehouse_rows,
    without_mode_override,
)
from watch_support import Watcher, assert_new_buyer_built, drop

from pipeline.config import DEMO_AS_OF_FILE

pytestmark = pytest.mark.e2e


# The retries first: a worker is sent its next file when two tests of this one are left,
# so the file ends with the troubles' quick tests, not with a watcher's start.
@dataclass
class Retries:
    """A watcher whose runs fail (a file stands where the serving folder should be, as after a
    mistaken copy) until the file is removed; it tries again 0.2 s after the first failure,
    0.4 s after the others (``--retry-after 0.2 --retry-max 0.4``)."""

    data_dir: Path
    watcher: Watcher
    status: int


@pytest.fixture(scope="module")
def retries(tmp_path_factory: pytest.TempPathFactory) -> Retries:
    data_dir = tmp_path_factory.mktemp("watch_retries")
    (data_dir / "landing" / "crm").mkdir(parents=True)
    blocker = data_dir / "serving"
    blocker.write_text("not a folder\n", encoding="utf-8")
    watcher = Watcher.start(data_dir, options=("--retry-after", "0.2", "--retry-max", "0.4"))
    watcher.wait_for("ready, watching")
    # A good order and a file the ingest refuses, in one batch: their folder is moved into
    # place whole (a hidden folder is never looked into).
    incoming = data_dir / "landing" / "crm" / ".orders.incoming"
    incoming.mkdir()
    (incoming / "orders_late_1.csv").write_text(delta_orders_csv(), encoding="utf-8")
    (incoming / "orders_broken.csv").write_text("order_no;buyer\n1;someone\n", encoding="utf-8")
    incoming.rename(data_dir / "landing" / "crm" / "orders")
    watcher.wait_for("exit status 1")
    # The first try again fails too (the cause is still there); then the cause is removed,
    # and a later try (the next one, unless the machine was slow to get here) succeeds.
    watcher.wait_for("trying again, attempt 2")
    watcher.wait_for("exit status 1")
    blocker.unlink()
    watcher.wait_for("exit status 0")
    return Retries(data_dir, watcher, watcher.stop())


def test_a_failed_run_is_tried_again_with_a_backoff_until_it_succeeds(retries: Retries) -> None:
    lines = retries.watcher.lines
    out = "\n".join(lines)
    assert retries.status == 0, out
    statuses = [line.split(":")[0] for line in lines if line.startswith("exit status")]
    # Failed runs (the first and at least one try again), then the one that published.
    assert len(statuses) >= 3 and statuses == ["exit status 1"] * (len(statuses) - 1) + [
        "exit status 0"
    ], out
    tries = len(statuses) - 1  # the runs after the first: each a try again, no new file came
    # Stopped while idle: at once (or, had the signal come during a look, at its end).
    assert lines[-1] in ("SIGTERM: stopped", f"stopped after {tries + 1} runs"), out
    late = "crm/orders/orders_late_1.csv"
    assert f"new files: crm/orders/orders_broken.csv, {late}" in lines, out
    # After each failure: when its files are tried next, the wait doubling from 0.2 s to the
    # most, 0.4 s; each try says its attempt and the wait after it, should it fail. The
    # refused file is never tried again.
    waits = ["0.2 s"] + ["0.4 s"] * tries
    failed = [line for line in lines if line.startswith("the run failed: trying")]
    assert [re.sub(r"\(at \d\d:\d\d:\d\d; ", "(at T; ", line) for line in failed] == [
        f"the run failed: trying {late} again in {waits[n - 2]} (at T; attempt {n}), or at "
        "once with a new or changed file"
        for n in range(2, tries + 2)
    ], out
    again = [line for line in lines if line.startswith("trying again")]
    assert again == [
        f"trying again, attempt {n} (if it fails, the next in {waits[n - 1]}): {late}"
        for n in range(2, tries + 2)
    ], out
    assert "orders_broken.csv" not in "\n".join(failed + again)


def test_the_try_after_the_cause_was_removed_publishes_the_delivery(retries: Retries) -> None:
    # By hand: the one order of 80.00, completed, of the new buyer; served once the serving
    # folder could be made, with no restart of the watcher.
    row = serving_rows(
        retries.data_dir,
        f"select purchases, revenue from customer_360 where email_sha256 = sha256('{NEW_EMAIL}')",
    )
    assert [(p, float(r)) for p, r in row] == [(1, 80.0)]
    ledger = warehouse_rows(
        retries.data_dir, "select source_file, status from meta.ingest_ledger order by 1"
    )
    assert [(Path(f).name, s) for f, s in ledger] == [
        ("orders_broken.csv", "refused"),
        ("orders_late_1.csv", "landed"),
    ]
    from pipeline.automation.instance import resolve_dagster_home

    with dg.DagsterInstance.from_config(str(resolve_dagster_home(retries.data_dir))) as inst:
        runs = inst.get_runs()  # newest first
    assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] + [
        dg.DagsterRunStatus.FAILURE
    ] * (len(runs) - 1)
    assert len(runs) >= 3 and {r.tags.get("pipeline/trigger") for r in runs} == {"watch"}


@dataclass
class Troubles:
    """A watcher that met, after its start, a missing landing folder, an unreadable one (mode
    000; as root, without root's override of file modes), a warehouse file that is not a
    database, the demo's date file edited wrong, a warehouse held by a DuckDB connection of
    another process, and then two SIGTERMs during a run; and the ``pipeline run`` after it."""

    data_dir: Path
    watcher: Watcher
    status: int
    interrupted_landed: list[str]  # the files landed (ledger) when the watcher ended
    recovery: subprocess.CompletedProcess
    unreadable_untested: str  # why the landing folder was not made unreadable ("" if it was)
    disk_untested: str  # why the disk was not filled ("" if it was)


DISK_BYTES = 128 << 20  # the troubles' small disk: its runs write about 15 MB


def small_disk(folder: Path) -> str:
    """Mount a disk of DISK_BYTES (tmpfs) on the empty ``folder``; why not ("" if mounted)."""
    if os.geteuid() != 0:
        return "needs root: the full disk is a small tmpfs mounted for the test"
    options = f"size={DISK_BYTES},mode=700"
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    return "" if done.returncode == 0 else f"cannot mount a small disk: {done.stderr.strip()}"


def fill(folder: Path) -> Path:
    """Write zeros into ``folder/filler.bin`` until its disk is full; the file."""
    filler = folder / "filler.bin"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        chunk = bytes(1 << 20)
        while True:
            try:
                os.write(fd, chunk)
            except OSError as err:
                if err.errno != errno.ENOSPC:
                    raise
                return filler
    finally:
        os.close(fd)


@pytest.fixture(scope="module")
def troubles(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Troubles]:
    data_dir = tmp_path_factory.mktemp("watch_troubles")
    disk_untested = small_disk(data_dir)
    try:
        yield watch_troubles(data_dir, disk_untested)
    finally:
        if not disk_untested:
            subprocess.run(["umount", "--lazy", str(data_dir)], check=True)


def watch_troubles(data_dir: Path, disk_untested: str) -> Troubles:
    """The story of :class:`Troubles` on ``data_dir`` (a small disk of its own unless
    ``disk_untested`` says why not)."""
    landing = data_dir / "landing"
    landing.mkdir()
    demo_date = data_dir / DEMO_AS_OF_FILE
    demo_date.write_text("2026-10-31\n", encoding="utf-8")
    untested = mode_000_denies(data_dir)
    # No PIPELINE_AS_OF: each run takes its date from the demo's date file, read per run. As
    # root, without root's override of file modes, so that a folder of mode 000 is unreadable
    # to the watcher as to any user (everything else here is root's own: no other change).
    watcher = Watcher.start(
        data_dir, preexec_fn=None if untested else without_mode_override, PIPELINE_AS_OF=""
    )
    watcher.wait_for("ready, watching")

    # The landing folder moved away while the watcher is idle, then back.
    landing.rename(data_dir / "landing.moved")
    watcher.wait_for("no landing folder at")
    (data_dir / "landing.moved").rename(landing)
    watcher.wait_for(f"watching {landing} again")

    # The landing folder unreadable (as after a chmod or a change of owner): said once; a file
    # delivered meanwhile is picked up once it is readable again. It lands while
    # warehouse.duckdb is not a DuckDB database, then while the demo's date file is edited
    # wrong (read first at each look), then while a vendor mapping is saved without its
    # signature, then while the disk is full: no run until all four are right again.
    if not untested:
        landing.chmod(0)
        watcher.wait_for(f"configuration error: cannot read {landing}")
    warehouse = data_dir / "warehouse.duckdb"
    warehouse.write_text("not a database\n", encoding="utf-8")
    drop(data_dir, "orders_late_1.csv", delta_orders_csv("2026-10-30 10:00:00"))
    if not untested:
        landing.chmod(0o755)
        watcher.wait_for(f"watching {landing} again")
    watcher.wait_for("cannot open the run lock or the warehouse")
    demo_date.write_text("31/10/2026\n", encoding="utf-8")
    watcher.wait_for("not a date")
    # Written now, both: there is no room for them later.
    right_date = data_dir / ".as_of.right"
    right_date.write_text("2026-10-31\n", encoding="utf-8")
    (data_dir / "vendors").mkdir()
    mapping = data_dir / "vendors" / "my_shop.toml"
    mapping.write_text('entity = "orders"\n', encoding="utf-8")
    filler = None if disk_untested else fill(data_dir)
    warehouse.unlink()
    right_date.replace(demo_date)
    watcher.wait_for("configuration error: vendor mapping")
    mapping.unlink()
    if filler is not None:
        watcher.wait_for(f"the disk holding {data_dir} is full")
        filler.unlink()
    watcher.wait_for("new files: crm/orders/orders_late_1.csv")
    watcher.wait_for("exit status")

    # A DuckDB connection of this process holds the warehouse (as a DuckDB shell would).
    second_order = delta_orders_csv("2026-10-31 09:00:00").replace("E2E-LATE-1", "E2E-LATE-2")
    con = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    try:
        drop(data_dir, "orders_late_2.csv", second_order.replace("80.00", "20.00"))
        watcher.wait_for("is open in another process")
    finally:
        con.close()
    watcher.wait_for("new files: crm/orders/orders_late_2.csv")
    run_started = len(watcher.lines)

    # Two SIGTERMs during that run, the second once its first step has started (the run is
    # in the Dagster instance): the process ends at once, the rest of the run not done. Not
    # timed to a later step: waiting for raw_ingest's end raced the run's end on a busy CI
    # machine (a run here lasts seconds after its first step, 2-5 s after raw_ingest on an
    # idle one). Whether the file had landed is read from the ledger the process left
    # (read-only: DuckDB replays the log of what was committed, without writing).
    watcher.proc.send_signal(signal.SIGTERM)
    watcher.wait_for("SIGTERM: stopping after this run")
    watcher.seen_or_wait_for("… pipeline_settings", since=run_started)
    watcher.proc.send_signal(signal.SIGTERM)
    status = watcher.ended()
    landed = warehouse_rows(
        data_dir, "select source_file from meta.ingest_ledger where status = 'landed' order by 1"
    )
    interrupted_landed = [Path(f).name for (f,) in landed]
    recovery = cli("run", data_dir=data_dir, PIPELINE_AS_OF="")
    return Troubles(
        data_dir, watcher, status, interrupted_landed, recovery, untested, disk_untested
    )


def test_configuration_errors_after_the_start_are_said_once_and_the_watcher_carries_on(
    troubles: Troubles,
) -> None:
    lines = troubles.watcher.lines
    out = "\n".join(lines)
    landing = troubles.data_dir / "landing"
    # Each trouble said once although the watcher looked every 0.2 s while it lasted.
    gone = [line for line in lines if "no landing folder at" in line]
    assert gone == [
        f"configuration error: no landing folder at {landing} any more (removed or moved "
        "after the watcher started): looking for it again at each look"
    ], out
    bad_file = [line for line in lines if "cannot open the run lock or the warehouse" in line]
    assert len(bad_file) == 1 and str(troubles.data_dir / "warehouse.duckdb") in bad_file[0], out
    bad_date = [line for line in lines if "not a date" in line]
    assert len(bad_date) == 1 and "'31/10/2026'" in bad_date[0], out
    assert bad_date[0].endswith("; trying again at each look")
    bad_mapping = [line for line in lines if "vendor mapping" in line]
    assert bad_mapping == [
        f"configuration error: vendor mapping {troubles.data_dir}/vendors/my_shop.toml: "
        "signature is missing (a list of vendor column names); nothing was done; trying again "
        "at each look"
    ], out
    held = [line for line in lines if "is open in another process" in line]
    assert len(held) == 1 and f"(pid {os.getpid()})" in held[0], out
    # The first file ran once the date was right again, as of the demo's date.
    assert "as_of 2026-10-31" in out
    assert [line for line in lines if line.startswith("exit status")] == [
        "exit status 0: the run succeeded and every file landed whole"
    ], out


def test_an_unreadable_landing_folder_is_said_once_and_its_file_run_when_readable_again(
    troubles: Troubles,
) -> None:
    if troubles.unreadable_untested:
        pytest.skip(troubles.unreadable_untested)
    lines = troubles.watcher.lines
    out = "\n".join(lines)
    landing = troubles.data_dir / "landing"
    # Said once although the watcher looked every 0.2 s while the folder was mode 000: the
    # first entity folder's stat fails (no search permission on landing/).
    unreadable = [line for line in lines if "cannot read" in line]
    assert len(unreadable) == 1, out
    assert unreadable[0].startswith(
        f"configuration error: cannot read {landing}: [Errno 13] Permission denied: '{landing}/"
    )
    assert unreadable[0].endswith("'; trying again at each look")
    # Back after the folder was moved away and after it was unreadable.
    assert lines.count(f"watching {landing} again") == 2, out
    # The file delivered while it was unreadable ran once the warehouse and date were right.
    assert "new files: crm/orders/orders_late_1.csv" in out


def test_a_full_disk_is_said_once_and_the_file_run_when_there_is_room(troubles: Troubles) -> None:
    if troubles.disk_untested:
        pytest.skip(troubles.disk_untested)
    lines = troubles.watcher.lines
    out = "\n".join(lines)
    # Said once while the disk stayed full (looks every 0.2 s), instead of a run failing with
    # SQLite's "disk I/O error"; the file ran, once, when there was room again.
    full = [line for line in lines if "is full" in line]
    assert full == [
        f"the disk holding {troubles.data_dir} is full (less than 1 MiB free): no run until "
        "there is room; trying again at each look"
    ], out
    assert lines.index(full[0]) < lines.index("new files: crm/orders/orders_late_1.csv")
    assert "disk I/O error" not in out


def test_a_second_signal_during_a_run_ends_the_watcher_at_once_with_130(
    troubles: Troubles,
) -> None:
    out = "\n".join(troubles.watcher.lines)
    assert troubles.status == 130, out
    assert "SIGTERM again: ending now, the run unfinished" in out
    # Ended during the run: neither the run's status line nor the watcher's farewell.
    assert "stopped after" not in out
    assert out.count("exit status") == 1


def test_the_next_run_marks_the_interrupted_run_failed_and_builds_the_landed_file(
    troubles: Troubles,
) -> None:
    recovery = troubles.recovery
    assert recovery.returncode == 0, recovery.stdout + recovery.stderr
    assert "was interrupted (its process is gone): marked failed" in recovery.stdout
    # The first file landed in the watcher's first run. The second landed in the interrupted
    # run (its file's transaction committed before the process ended: then the next run lands
    # nothing again and builds the marts from it) or did not (then the next run lands it):
    # either way the ledger has it once.
    assert troubles.interrupted_landed[0] == "orders_late_1.csv"
    assert troubles.interrupted_landed[1:] in ([], ["orders_late_2.csv"])
    late_2 = "crm/orders/orders_late_2.csv: landed via canonical_orders: 1 row read, 1 landed"
    assert (late_2 in recovery.stdout) == (len(troubles.interrupted_landed) == 1), recovery.stdout
    ledger = warehouse_rows(
        troubles.data_dir, "select source_file, status from meta.ingest_ledger order by 1"
    )
    assert [(Path(f).name, s) for f, s in ledger] == [
        ("orders_late_1.csv", "landed"),
        ("orders_late_2.csv", "landed"),
    ]
    # By hand, as in the first story: orders of 80.00 and 20.00, both completed.
    assert_new_buyer_built(troubles.data_dir)
    from pipeline.automation.instance import resolve_dagster_home

    with dg.DagsterInstance.from_config(str(resolve_dagster_home(troubles.data_dir))) as inst:
        runs = inst.get_runs()  # newest first
    assert [(r.tags.get("pipeline/trigger"), r.status) for r in runs] == [
        ("cli", dg.DagsterRunStatus.SUCCESS),
        ("watch", dg.DagsterRunStatus.FAILURE),
        ("watch", dg.DagsterRunStatus.SUCCESS),
    ]
