"""The warm run worker's and launcher's pieces, with real sockets, DuckDB and Dagster.

The whole path (a run from the UI executed by the worker's child, termination, the cold
fallback) runs with the real webserver and daemon in tests/test_e2e_daemon.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import REPO_ROOT, OutputLines

from pipeline.automation.instance import DAGSTER_YAML, ensure_instance_config
from pipeline.automation.loaded_code import LoadedCode, installed_packages
from pipeline.automation.warm_launcher import (
    LAUNCHER_TAG,
    RUN_PID_TAG,
    WarmRunLauncher,
    request_warm_run,
    warm_child_alive,
)
from pipeline.automation.worker_address import down_path, state_path
from pipeline.cli.warm_worker import Worker, code_fingerprint, fork_hazards


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
    # A run launched while it restarts is told why, not that no worker runs.
    assert request_warm_run(tmp_path, "r2", "{}") == (
        None,
        f"the warm run worker (pid {os.getpid()}) is restarting to load the new code ({changed})",
    )


def _ask_once(worker: Worker, home: Path) -> tuple[int | None, str]:
    """One run request to ``worker`` serving from a thread (:func:`_serve_one`), whose answer
    is then returned with the worker stopped and closed."""
    thread = _serve_one(worker)
    try:
        return request_warm_run(home, "r1", "{}")
    finally:
        worker.stopping = True
        thread.join(timeout=30)
        worker.close()


def test_an_address_the_note_names_is_not_tried_and_publishing_removes_the_note(
    tmp_path: Path,
) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    # A note naming the address's pid: not tried, though the worker would answer (the note is
    # written before a dead worker's address is removed: that moment is this one).
    state = json.loads(state_path(tmp_path).read_text(encoding="utf-8"))
    down_path(tmp_path).write_text(json.dumps({"pid": state["pid"], "why": "it died"}), "utf-8")
    assert request_warm_run(tmp_path, "r1", "{}") == (None, "it died")
    # A note naming another pid (the worker before this one) does not stop the launcher.
    down_path(tmp_path).write_text(json.dumps({"pid": 4321, "why": "it died"}), "utf-8")
    pid, why = _ask_once(worker, tmp_path)  # answered: refused only as served from a thread
    assert pid is None and why.startswith("the warm run worker refused the run: unsafe to fork: ")
    # A worker that publishes its address (a new one, or one listening on a new socket)
    # removes the note: it no longer says anything true.
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    assert not down_path(tmp_path).exists()
    worker.close()


def test_worker_refuses_to_fork_with_another_thread(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    # Serving from a thread: that thread is not the main one, so forking is refused.
    pid, why = _ask_once(worker, tmp_path)
    assert pid is None
    assert why.startswith("the warm run worker refused the run: unsafe to fork: ")
    assert "thread serve-under-test" in why


def test_worker_listens_again_when_its_socket_is_removed(tmp_path: Path) -> None:
    root = _code_tree(tmp_path / "repo")
    worker = Worker(tmp_path, code=LoadedCode.now(root), root=root)
    worker.publish()
    first = worker.socket_path
    worker.keep_address()  # nothing removed: nothing to do
    assert worker.socket_path == first
    shutil.rmtree(first.parent)  # as a cleaner of /tmp does to an old folder
    worker.keep_address()
    assert worker.socket_path != first and worker.socket_path.exists()
    address = json.loads(state_path(tmp_path).read_text(encoding="utf-8"))
    assert address["socket"] == str(worker.socket_path)
    # Reachable at the new address: it answers (forking is refused only because the loop
    # serves from a thread here).
    pid, why = _ask_once(worker, tmp_path)
    # Other tests of the session may leave threads of their own: named before or after it.
    assert pid is None and why.startswith("the warm run worker refused the run: unsafe to fork: ")
    assert "thread serve-under-test" in why
    # With its instance home gone too (a data directory deleted), no error: it listens.
    worker = Worker(tmp_path / "gone", code=LoadedCode.now(root), root=root)
    shutil.rmtree(worker.socket_path.parent)
    worker.keep_address()
    assert worker.socket_path.exists() and not (tmp_path / "gone").exists()
    worker.close()


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
        [sys.executable, "-c", script, "pipeline.cli.warm_worker"],
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


# A real worker, as `python -m pipeline ui` starts it, on a copy of the code (so that the code
# can change without touching the checkout) and a folder of packages on its PYTHONPATH (so that
# a package can be "upgraded" without touching .venv).
# Seconds for one awaited line, a hang guard, not a speed limit: a warm-up takes about 5 s idle,
# which a loaded 2-core machine stretches many times (180 s left a margin of a few times only).
WORKER_DEADLINE = 600.0
AS_OF = "2026-10-31"
BROKEN = "pipeline/automation/schedules.py"  # imported by the warm-up, not by the worker's start


class WorkerProcess(OutputLines):
    """``python -m pipeline.cli.warm_worker`` and every line it printed (its children's
    output included: they inherit its stdout and stderr)."""

    def __init__(self, code: Path, env: dict[str, str]) -> None:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli.warm_worker"],
            cwd=code,  # first on sys.path: the copy's `pipeline` is imported, not the checkout's
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        super().__init__(proc, "worker", WORKER_DEADLINE)


def _settings_run(instance: dg.DagsterInstance, code: Path) -> dg.DagsterRun:
    """A run of the asset ``pipeline_settings`` (the launchpad's shortest run), its job
    reconstructed from the copy of the code, as a run of the code location is."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    repository = ReconstructableRepository.for_module(
        "pipeline.definitions", "defs", working_directory=str(code)
    )
    job = repository.get_reconstructable_job("__ASSET_JOB")
    selection = frozenset({dg.AssetKey("pipeline_settings")})
    return instance.create_run_for_job(
        job_def=job.get_definition().get_subset(asset_selection=selection),
        job_code_origin=job.get_python_origin(),
        asset_selection=selection,
    )


def _launch(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int:
    """Launch ``run`` with the instance's launcher; the pid of the warm child it went to."""
    from dagster._core.launcher import LaunchRunContext

    # No workspace: the warm path does not read it (a cold launch would fail here, loudly).
    instance.run_launcher.launch_run(LaunchRunContext(dagster_run=run, workspace=None))
    tags = instance.get_run_by_id(run.run_id).tags
    assert tags[LAUNCHER_TAG] == "warm", tags
    return int(tags[RUN_PID_TAG])


@dataclass
class WorkerStory:
    """What a real worker did: a killed run, a refused one, two restarts, a run after them."""

    worker: WorkerProcess
    killed: dg.DagsterRun
    killed_pid: int
    recovered: list[str]
    killed_status: dg.DagsterRunStatus
    refusal: tuple[int | None, str]
    run: dg.DagsterRun
    run_status: dg.DagsterRunStatus
    as_of: list[tuple]
    exit_code: int
    address_left: bool


@pytest.fixture(scope="module")
def worker_story(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WorkerStory]:
    from pipeline.automation.instance import recover_interrupted_runs
    from pipeline.automation.loaded_code import CODE_DIRS, CODE_FILES

    base = tmp_path_factory.mktemp("warm_worker")
    code, site, data = base / "code", base / "site", base / "data"
    for folder in CODE_DIRS:
        shutil.copytree(REPO_ROOT / folder, code / folder, ignore=shutil.ignore_patterns("__py*"))
    for name in CODE_FILES:
        shutil.copy2(REPO_ROOT / name, code / name)
    (site / "fakepkg-1.0.dist-info").mkdir(parents=True)
    home = ensure_instance_config(data / "dagster_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home),
        PIPELINE_DATA_DIR=str(data),
        PIPELINE_AS_OF=AS_OF,
        PYTHONPATH=str(site),
    )
    worker = WorkerProcess(code, env)
    try:
        worker.wait_for("warm run worker ready after")
        with dg.DagsterInstance.from_config(str(home)) as instance:
            # 1. A run whose child is killed mid-step (as the OOM killer would): the test holds
            # the warehouse's write lock, so the step is surely waiting for it when killed.
            killed = _settings_run(instance, code)
            holder = duckdb.connect(str(data / "warehouse.duckdb"))
            try:
                killed_pid = _launch(instance, killed)
                worker.wait_for(f"{killed.run_id} - {killed_pid} - pipeline_settings - STEP_START")
                os.kill(killed_pid, signal.SIGKILL)
                worker.wait_for(f"(pid {killed_pid}) was ended by SIGKILL")
            finally:
                holder.close()
            # What the interrupted_runs sensor does at its next tick (`make ui`'s daemon).
            recovered = recover_interrupted_runs(instance)
            killed_status = instance.get_run_by_id(killed.run_id).status

            # 2. The code changes (and does not import: a save mid-edit) and a package is
            # upgraded: the next request is refused, saying what changed, and the worker
            # restarts; the new code fails to load, said; put right, the worker is back.
            schedules = code / BROKEN
            original = schedules.read_text(encoding="utf-8")
            schedules.write_text(original + "\nthis is not python(\n", encoding="utf-8")
            (site / "fakepkg-1.0.dist-info").rename(site / "fakepkg-2.0.dist-info")
            refusal = request_warm_run(home, "refused-run", "{}")
            worker.wait_for("warm run worker: restarting to load the new code (")
            worker.wait_for("warm run worker: cannot load the code")
            schedules.write_text(original, encoding="utf-8")
            worker.wait_for("warm run worker: restarting to load the new code (")
            worker.wait_for("warm run worker ready after")

            # 3. A run after the restarts: warm, and it does its work (the killed run's slot
            # in the warehouse pool was freed by the recovery).
            run = _settings_run(instance, code)
            pid = _launch(instance, run)
            worker.wait_for(f"{run.run_id} - {pid} - RUN_SUCCESS")
            run_status = instance.get_run_by_id(run.run_id).status
        with duckdb.connect(str(data / "warehouse.duckdb"), read_only=True) as con:
            as_of = con.sql("select as_of::text from meta.pipeline_settings").fetchall()
        worker.proc.send_signal(signal.SIGTERM)
        exit_code = worker.proc.wait(timeout=WORKER_DEADLINE)
        yield WorkerStory(
            worker,
            killed,
            killed_pid,
            recovered,
            killed_status,
            refusal,
            run,
            run_status,
            as_of,
            exit_code,
            state_path(home).exists(),
        )
    finally:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait()


@pytest.mark.e2e
def test_a_killed_child_is_said_and_its_run_recovered(worker_story: WorkerStory) -> None:
    story = worker_story
    said = [line for line in story.worker.lines if "was ended by SIGKILL" in line]
    assert said == [
        f"warm run worker: the process of run {story.killed.run_id} (pid {story.killed_pid}) "
        "was ended by SIGKILL; a run it left unfinished is marked failed by the "
        "interrupted_runs sensor"
    ]
    assert story.recovered == [story.killed.run_id]
    assert story.killed_status == dg.DagsterRunStatus.FAILURE


@pytest.mark.e2e
def test_a_code_change_and_a_package_upgrade_restart_the_worker_saying_why(
    worker_story: WorkerStory,
) -> None:
    story = worker_story
    code = f"the project's code changed since the worker loaded it: {BROKEN} changed"
    packages = "the installed packages changed since the worker loaded them: fakepkg 1.0 → 2.0"
    # The launcher gets the reason (it launches that run cold, and puts it in the run's log).
    assert story.refusal == (None, f"the warm run worker refused the run: {code}; {packages}")
    restarts = [line for line in story.worker.lines if "restarting to load" in line]
    assert restarts == [
        f"warm run worker: restarting to load the new code ({code}; {packages})",
        f"warm run worker: restarting to load the new code ({code})",  # the file put right
    ]
    out = "\n".join(story.worker.lines)
    assert "SyntaxError" in out and out.count("warm run worker ready after") == 2


@pytest.mark.e2e
def test_a_run_after_the_restarts_runs_warm_and_the_worker_stops_cleanly(
    worker_story: WorkerStory,
) -> None:
    assert worker_story.run_status == dg.DagsterRunStatus.SUCCESS
    assert worker_story.as_of == [(AS_OF,)]  # the worker's PIPELINE_AS_OF, recorded by the run
    assert worker_story.exit_code == 0
    assert not worker_story.address_left


@pytest.mark.e2e
def test_a_killed_worker_is_not_tried_and_a_run_then_is_told_it_is_restarting(
    tmp_path: Path,
) -> None:
    """A real worker under `pipeline ui`'s keeper, killed: its address is removed when the
    keeper sees the death, and a run launched before the new worker is ready is not sent to the
    dead one's socket; its reason says the worker is restarting. The new worker is held stopped
    before it loads anything (SIGSTOP), so the launch falls in that window on any machine."""
    import re

    from pipeline.cli.ui import WORKER, WorkerKeeper, commands

    home = ensure_instance_config(tmp_path / "dagster_home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(home), PIPELINE_DATA_DIR=str(tmp_path), PIPELINE_AS_OF=AS_OF)
    argv = commands("127.0.0.1", 3000)[WORKER]  # the command `pipeline ui` starts it with
    new: list[subprocess.Popen] = []

    def start_held() -> subprocess.Popen:
        # A shell that stops itself, then (were it continued) becomes the worker: stopped
        # after its exec, as Popen waits for that.
        held = ["/bin/sh", "-c", 'kill -STOP $$; exec "$@"', "sh", *argv]
        proc = subprocess.Popen(
            held, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        new.append(proc)
        return proc

    worker = WorkerProcess(REPO_ROOT, env)
    try:
        worker.wait_for("warm run worker ready after")
        address = json.loads(state_path(home).read_text(encoding="utf-8"))
        assert address["pid"] == worker.proc.pid
        keeper = WorkerKeeper(worker.proc, start_held, home=home)
        os.kill(worker.proc.pid, signal.SIGKILL)
        worker.proc.wait(timeout=WORKER_DEADLINE)
        keeper.check()
        assert keeper.proc is new[0]
        # Its address and its socket's folder went with it.
        assert not state_path(home).exists()
        assert not Path(address["socket"]).parent.exists()
        pid, why = request_warm_run(home, "r1", "{}")
        assert pid is None
        assert re.fullmatch(
            rf"the warm run worker is restarting: the previous one \(pid {worker.proc.pid}\) "
            r"was ended by SIGKILL at \d\d:\d\d:\d\d UTC; the new one is not ready yet",
            why,
        ), why
    finally:
        for proc in (worker.proc, *new):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
