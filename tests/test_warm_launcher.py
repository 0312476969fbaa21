"""The warm run worker's and launcher's pieces, with real sockets, DuckDB and Dagster.

The whole path (a run from the UI executed by the worker's child, termination, the cold
fallback) runs with the real webserver and daemon in tests/test_e2e_daemon.py.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.automation.instance import DAGSTER_YAML, ensure_instance_config
from pipeline.automation.loaded_code import LoadedCode, installed_packages
from pipeline.automation.warm_launcher import (
    LAUNCHER_TAG,
    RUN_PID_TAG,
    WarmRunLauncher,
    request_warm_run,
    warm_child_alive,
)
from pipeline.automation.warm_worker import Worker, code_fingerprint, fork_hazards, state_path


def _code_tree(root: Path) -> Path:
    (root / "pipeline").mkdir(parents=True)
    (root / "sql").mkdir()
    (root / "pipeline" / "a.py").write_text("x = 1\n", encoding="utf-8")
    (root / "sql" / "m.sql").write_text("select 1\n", encoding="utf-8")
    return root


def test_code_fingerprint_changes_with_code_only(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    first = code_fingerprint(root)
    assert code_fingerprint(root) == first
    # Not code: compiled files and other suffixes.
    (root / "pipeline" / "a.cpython-311.pyc").write_bytes(b"\0")
    (root / "pipeline" / "notes.txt").write_text("hi", encoding="utf-8")
    assert code_fingerprint(root) == first
    (root / "sql" / "m.sql").write_text("select 2 as changed\n", encoding="utf-8")
    assert code_fingerprint(root) != first


def test_loaded_code_names_what_changed_in_the_code_and_the_packages(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    site, shadowed = tmp_path / "site", tmp_path / "later"
    for folder in ("dagster-1.13.0.dist-info", "polars-1.2.0.dist-info", "gone-0.1.dist-info"):
        (site / folder).mkdir(parents=True)
    os.utime(site / "polars-1.2.0.dist-info", ns=(10**18, 10**18))
    # A second copy later on the path is not the one imported: left out.
    (shadowed / "dagster-9.9.dist-info").mkdir(parents=True)
    path = [str(site), str(shadowed), str(tmp_path / "python311.zip")]  # the zip: not a folder
    before = LoadedCode.now(root, path)
    assert installed_packages(path) == {
        "dagster": ("1.13.0", (site / "dagster-1.13.0.dist-info").stat().st_mtime_ns),
        "gone": ("0.1", (site / "gone-0.1.dist-info").stat().st_mtime_ns),
        "polars": ("1.2.0", 10**18),
    }
    assert LoadedCode.now(root, path).changes_since(before) == ""
    # An upgrade (uv renames the folder), a reinstall (a new folder: a new mtime), an
    # uninstall, a new package; a file changed, one added, one removed.
    (site / "dagster-1.13.0.dist-info").rename(site / "dagster-1.13.1.dist-info")
    os.utime(site / "polars-1.2.0.dist-info", ns=(2 * 10**18, 2 * 10**18))
    (site / "gone-0.1.dist-info").rmdir()
    (site / "newpkg-2.0.dist-info").mkdir()
    (root / "pipeline" / "a.py").write_text("x = 2  # longer\n", encoding="utf-8")
    (root / "pipeline" / "b.py").write_text("y = 1\n", encoding="utf-8")
    (root / "sql" / "m.sql").unlink()
    after = LoadedCode.now(root, path)
    assert after.digest() != before.digest()
    # By hand: files in path order, then packages by name, removed ones last, three named.
    assert after.changes_since(before) == (
        "the project's code changed since the worker loaded it: pipeline/a.py changed, "
        "pipeline/b.py added, sql/m.sql removed; the installed packages changed since the "
        "worker loaded them: dagster 1.13.0 → 1.13.1, newpkg 2.0 installed, "
        "polars 1.2.0 reinstalled and 1 more"
    )


def test_no_worker_no_address_or_no_listener(tmp_path: Path) -> None:
    assert request_warm_run(tmp_path, "r1", "{}") == (
        None,
        "the warm run worker is not running (`python -m pipeline ui` starts it)",
    )
    # A worker killed with SIGKILL leaves its address behind: nothing listens there.
    dead = tmp_path / "gone.sock"
    state_path(tmp_path).write_text(json.dumps({"pid": 4321, "socket": str(dead)}), "utf-8")
    pid, why = request_warm_run(tmp_path, "r1", "{}")
    assert pid is None
    assert why.startswith("the warm run worker (pid 4321) is not reachable: ")
    state_path(tmp_path).write_text("{half", encoding="utf-8")
    pid, why = request_warm_run(tmp_path, "r1", "{}")
    assert pid is None and why.startswith("the warm run worker's address file is unreadable")


def _serve_one(worker: Worker) -> threading.Thread:
    """The worker's loop on a thread (stopped by the caller)."""
    thread = threading.Thread(target=worker.serve, name="serve-under-test", daemon=True)
    thread.start()
    return thread


def test_worker_refuses_when_its_code_changed_and_asks_to_restart(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    (root / "sql" / "m.sql").write_text("select 2 as changed\n", encoding="utf-8")
    thread = _serve_one(worker)
    try:
        pid, why = request_warm_run(tmp_path, "r1", "{}")
    finally:
        thread.join(timeout=30)  # the loop ends by itself: restart requested
        worker.close()
    assert pid is None
    changed = "the project's code changed since the worker loaded it: sql/m.sql changed"
    assert why == f"the warm run worker refused the run: {changed}"
    assert worker.restart == changed and not thread.is_alive()
    assert not state_path(tmp_path).exists()  # its address is gone with it


def test_worker_refuses_to_fork_with_another_thread(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    # Serving from a thread: that thread is not the main one, so forking is refused.
    thread = _serve_one(worker)
    try:
        pid, why = request_warm_run(tmp_path, "r1", "{}")
    finally:
        worker.stopping = True
        thread.join(timeout=30)
        worker.close()
    assert pid is None
    assert why.startswith("the warm run worker refused the run: unsafe to fork: ")
    assert "thread serve-under-test" in why


def test_worker_makes_its_socket_and_address_file_again_when_removed(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    first = worker.socket_path
    shutil.rmtree(first.parent)  # as a cleaner of /tmp does to an old folder
    worker.keep_address()
    assert worker.socket_path != first and worker.socket_path.exists()
    address = json.loads(state_path(tmp_path).read_text(encoding="utf-8"))
    assert address["socket"] == str(worker.socket_path)
    state_path(tmp_path).unlink()  # an instance home tidied by hand
    worker.keep_address()
    thread = _serve_one(worker)
    try:
        # Reachable at the new address: it answers (forking is refused only because the
        # loop serves from a thread here).
        pid, why = request_warm_run(tmp_path, "r1", "{}")
    finally:
        worker.stopping = True
        thread.join(timeout=30)
        worker.close()
    assert pid is None and "unsafe to fork: thread serve-under-test" in why


def test_fork_hazards_name_open_duckdb_files(tmp_path: Path) -> None:
    path = tmp_path / "warehouse.duckdb"
    before = fork_hazards()
    con = duckdb.connect(str(path))
    try:
        assert f"open file {path}" in fork_hazards()
    finally:
        con.close()
    assert f"open file {path}" not in before


def test_the_instance_uses_the_warm_launcher_and_a_quick_queue(tmp_path: Path) -> None:
    home = ensure_instance_config(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert type(instance.run_launcher) is WarmRunLauncher
        # The queue is looked at every second (Dagster's default: 5), one run at a time.
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.get_concurrency_config().run_queue_config.max_concurrent_runs == 1
    # A file the previous version wrote unchanged gains the launcher.
    previous = DAGSTER_YAML.split("run_launcher:")[0]
    old = tmp_path / "old"
    old.mkdir()
    (old / "dagster.yaml").write_text(previous, encoding="utf-8")
    ensure_instance_config(old)
    assert (old / "dagster.yaml").read_text(encoding="utf-8") == DAGSTER_YAML


@dg.op
def _noop() -> None:
    pass


@dg.job
def _tiny_job() -> None:
    _noop()


def test_terminating_a_warm_run_whose_child_is_gone_marks_it_canceled(tmp_path: Path) -> None:
    # A pid that existed and is gone: a finished child of ours, reaped.
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    home = ensure_instance_config(tmp_path / "home")
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.create_run_for_job(job_def=_tiny_job)
        instance.add_run_tags(run.run_id, {LAUNCHER_TAG: "warm", RUN_PID_TAG: str(gone.pid)})
        assert instance.run_launcher.terminate(run.run_id) is True
        assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.CANCELED
        # A finished run is not terminated again.
        assert instance.run_launcher.terminate(run.run_id) is False


def test_warm_child_alive_only_for_a_worker_child() -> None:
    assert not warm_child_alive(os.getpid())  # pytest is not a warm worker's child
    script = "import sys; print('up', flush=True); sys.stdin.read()"
    with subprocess.Popen(
        [sys.executable, "-c", script, "pipeline.automation.warm_worker"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    ) as proc:
        try:
            assert proc.stdout.readline() == b"up\n"  # running its script: exec'd
            # Its command line names the worker module, as a forked child's does.
            assert warm_child_alive(proc.pid)
        finally:
            proc.stdin.close()
            proc.wait()
    assert not warm_child_alive(proc.pid)
