"""The warm run worker's and launcher's pieces, with real sockets, DuckDB and Dagster.

The whole path (a run from the UI executed by the worker's child, termination, the cold
fallback) runs with the real webserver and daemon in tests/test_e2e_daemon.py.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import dagster as dg
import duckdb

from pipeline.automation.instance import DAGSTER_YAML, ensure_instance_config
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
    worker = Worker(tmp_path, code="the code at load", root=root)
    worker.publish()
    thread = _serve_one(worker)
    try:
        pid, why = request_warm_run(tmp_path, "r1", "{}")
    finally:
        thread.join(timeout=30)  # the loop ends by itself: restart requested
        worker.close()
    assert pid is None
    assert why == (
        "the warm run worker refused the run: the project's code changed since the worker loaded it"
    )
    assert worker.restart and not thread.is_alive()
    assert not state_path(tmp_path).exists()  # its address is gone with it


def test_worker_refuses_to_fork_with_another_thread(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=code_fingerprint(root), root=root)
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
