"""Unattended operation with the REAL Dagster daemon and webserver.

``python -m pipeline ui`` runs on a temporary data directory and a free port. An export dropped
into landing/ reaches the serving file through the landing sensor; a second delivery and a run
launched through the GraphQL API run at the same time and both succeed (the run queue and the
warehouse pool serialise their writers) while a reader holds the serving file open and keeps its
snapshot. The run launched through GraphQL is the UI's launchpad's: ``pipeline_settings`` with
``resources: config: config: as_of`` set to another date; it builds that date and is tagged with
it and with its trigger, "ui". It is launched once the sensor's run has started, so it runs after
it and cannot change what that run built. (It used to be a whole ``refresh`` run, then the
launchpad's a third: one whole run more, ~20 s of CPU, for the same assertions; a run of every
asset is `python -m pipeline run`'s, in tests/test_cli_e2e.py, with a killed run.)

Then, on the same ``pipeline ui`` (one start of the webserver, the daemon, their code servers
and the warm run worker for the module: alone, the file took 10 s of CPU and 14 s less than
with a start a test), a sensor run is terminated in the warm worker's child, the worker is
killed until ``pipeline ui`` gives up on it and a run launched from the UI goes cold; last,
Ctrl-C stops it all with status 0.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers import NEW_EMAIL, REPO_ROOT, delta_orders_csv, serving_rows, warehouse_rows

AS_OF = "2026-10-31"
DEADLINE_SECONDS = 600  # a hang guard per phase, generous for a loaded machine
PORT_ATTEMPTS = 5  # ports tried when another program takes the chosen one first


def free_port() -> int:
    """A port nothing listens on now, below the kernel's ephemeral range where there is room.

    An outgoing connection or a bind to port 0, by any program on the machine, takes its port
    from the ephemeral range (``ip_local_port_range``). A port found free there is bound by the
    webserver only seconds later (it imports Dagster first), so another program could take it
    meanwhile; below that range only a program asking for that very number can. The fixture
    still tries another port when it was taken (:func:`ui`).
    """
    try:
        low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    candidates = list(range(10_000, low))
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    with socket.socket() as sock:  # no room below the range: any free port
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(data_dir: Path) -> dict[str, str]:
    """Environment of the processes under test: fast sensor, fixed as_of, bytecode cached, and
    the nightly schedule 12 hours from now (its default, 02:00 UTC, would add a run to a test
    that happens to span 02:00)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIPELINE_", "DAGSTER_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # each step is a new process: let imports cache
    far_hour = (dt.datetime.now(dt.UTC).hour + 12) % 24
    env.update(
        PIPELINE_DATA_DIR=str(data_dir),
        PIPELINE_AS_OF=AS_OF,
        PIPELINE_SETTLE_SECONDS="1",
        PIPELINE_SENSOR_INTERVAL_SECONDS="1",
        PIPELINE_TIMEZONE="UTC",
        PIPELINE_NIGHTLY_CRON=f"0 {far_hour} * * *",
    )
    return env


def wait_for(what: str, check, deadline: float, proc: subprocess.Popen | None = None):
    """Poll ``check()`` until it returns a truthy value; fail at the deadline or if proc dies."""
    while True:
        value = check()
        if value:
            return value
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the process under test exited with {proc.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not reached in time ({DEADLINE_SECONDS} s per phase)")
        time.sleep(1)


def generate_export(out: Path, customers: int = 40) -> Path:
    """A small seeded export (all six entities) under ``out/landing``."""
    from pipeline.sample_data.generate import generate

    generate(out, customers=customers, seed=11, as_of=dt.date.fromisoformat(AS_OF))
    return out / "landing"


class GraphQL:
    """The webserver's GraphQL API."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/graphql"

    def __call__(self, query: str, variables: dict | None = None) -> dict:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            self.url, data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            doc = json.load(response)
        assert "errors" not in doc, doc
        return doc["data"]

    def up(self) -> bool:
        try:
            return bool(self("{ version }")["version"])
        except OSError:
            return False

    def job_selector(self, job: str) -> dict:
        """The location, repository and job name of ``job`` as the webserver knows them."""
        data = self(
            "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
            "location { name } jobs { name } } } } }"
        )
        for repo in data["repositoriesOrError"]["nodes"]:
            if job in {j["name"] for j in repo["jobs"]}:
                return {
                    "repositoryLocationName": repo["location"]["name"],
                    "repositoryName": repo["name"],
                    "jobName": job,
                }
        raise AssertionError(f"no job {job!r} in {data}")

    def runs(self) -> list[dict]:
        data = self(
            "{ runsOrError { ... on Runs { results { runId status startTime endTime "
            "tags { key value } } } } }"
        )
        return data["runsOrError"]["results"]

    def messages(self, run_id: str) -> list[str]:
        """The messages of the run's events, oldest first."""
        data = self(
            "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { "
            "... on MessageEvent { message } } } } }",
            {"id": run_id},
        )
        return [e.get("message", "") for e in data["logsForRun"].get("events") or []]

    def run(self, run_id: str) -> dict:
        """One run (status, tags) by id."""
        (run,) = [r for r in self.runs() if r["runId"] == run_id]
        return run

    def why_not_success(self, runs: list[dict]) -> str:
        """The last messages of every run that did not succeed: the reason, read from Dagster.

        The webserver's log is gone with the temporary folder by the time a failure is read.
        """
        lines = []
        for run in runs:
            if run["status"] == "SUCCESS":
                continue
            data = self(
                "query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events { "
                "__typename ... on MessageEvent { message level } } } } }",
                {"id": run["runId"]},
            )
            events = data["logsForRun"].get("events") or []
            lines.append(f"run {run['runId']} {run['status']}:")
            failures = [
                e
                for e in events
                if "Failure" in e["__typename"] or e.get("level") in ("ERROR", "CRITICAL")
            ]
            shown = failures + [e for e in events[-5:] if e not in failures]
            lines += [f"  {e['__typename']}: {e.get('message', '')}"[:2000] for e in shown]
        return "\n".join(lines)


def start_ui(data_dir: Path, port: int, log_path: Path) -> subprocess.Popen:
    """``python -m pipeline ui`` on ``data_dir`` and ``port``, in a session of its own, its
    output in ``log_path``."""
    (data_dir / "landing").mkdir(parents=True)
    with log_path.open("w", encoding="utf-8") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "pipeline", "ui", "--host", "127.0.0.1", "--port", str(port)],
            cwd=REPO_ROOT,
            env=child_env(data_dir),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_ui(proc: subprocess.Popen) -> None:
    """Ctrl-C, then SIGKILL to whatever of its session is left after a minute."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # The session's processes (webserver, daemon, code servers, run workers) are gone.
    try:
        os.killpg(proc.pid, 0)
        leftovers = True
    except ProcessLookupError:
        leftovers = False
    if leftovers:
        os.killpg(proc.pid, signal.SIGKILL)


def listener_is_ours(port: int, proc: subprocess.Popen) -> bool:
    """Whether the process listening on 127.0.0.1:``port`` is ``proc`` or one it started: the
    answer to a request there is our webserver's, not another program's that took the port."""
    import psutil

    try:
        ours = {proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))}
    except psutil.NoSuchProcess:
        return False
    return any(
        c.status == psutil.CONN_LISTEN and c.laddr.port == port and c.pid in ours
        for c in psutil.net_connections(kind="tcp")
    )


def webserver_up(graphql: GraphQL, port: int, proc: subprocess.Popen, deadline: float) -> bool:
    """Wait until our webserver answers on ``port`` (True) or ``proc`` exits (False)."""
    while proc.poll() is None:
        if graphql.up() and listener_is_ours(port, proc):
            return True
        if time.monotonic() > deadline:
            pytest.fail(f"webserver up: not reached in time ({DEADLINE_SECONDS} s)")
        time.sleep(1)
    return False


@pytest.fixture(scope="module")
def ui(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, GraphQL, subprocess.Popen]]:
    """``python -m pipeline ui`` on a temporary data dir and a free port, its webserver up;
    stopped with SIGINT.

    One for the module: the tests that take it run in the order of the file, each on what the
    one before left (the warm worker's test kills the worker for good, so it comes after the
    test that needs it warm; the Ctrl-C test ends it).

    Another program may take the port between the choice and the webserver's bind (it is not
    ours to hold meanwhile): then the ui stops, saying the port is in use, and the next attempt
    starts afresh (a new data directory) on another port.
    """
    started = time.monotonic()
    deadline = started + DEADLINE_SECONDS
    tmp_path = tmp_path_factory.mktemp("ui")
    for attempt in range(1, PORT_ATTEMPTS + 1):
        folder = tmp_path / f"ui{attempt}"
        folder.mkdir()
        data_dir, log = folder / "data", folder / "ui.log"
        port = free_port()
        proc = start_ui(data_dir, port, log)
        graphql = GraphQL(port)
        try:
            up = webserver_up(graphql, port, proc, deadline)
        except BaseException:
            stop_ui(proc)
            raise
        if up:
            break
        stop_ui(proc)
        said = log.read_text(encoding="utf-8")
        # Our own check ("port N on 127.0.0.1 is in use") or uvicorn's failed bind.
        if "is in use" not in said and "address already in use" not in said.lower():
            pytest.fail(
                f"the ui exited with {proc.returncode} before its webserver was up:\n" + said
            )
        print(f"port {port} was taken before the webserver bound it; trying another")
    else:
        pytest.fail(f"{PORT_ATTEMPTS} ports were each taken before the webserver bound them")
    print(f"webserver up after {time.monotonic() - started:.0f} s (port {port})")
    try:
        yield data_dir, graphql, proc
    finally:
        stop_ui(proc)
        print(f"webserver and daemon output: {log}\n{log.read_text(encoding='utf-8')[-5000:]}")


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
q = ("select (select count(*) from loyalty_customers), "
     "(select sum(purchases) from loyalty_customers), (select customers from loyalty_summary)")
print(con.execute(q).fetchall(), flush=True)
sys.stdin.readline()
print(con.execute(q).fetchall(), flush=True)
"""


@pytest.mark.e2e
def test_daemon_sensor_runs_and_concurrent_runs(ui, tmp_path: Path) -> None:
    data_dir, graphql, proc = ui
    started = time.monotonic()
    export = generate_export(tmp_path / "export")
    # 1. An export dropped into landing/ reaches the serving file through the sensor.
    deadline = time.monotonic() + DEADLINE_SECONDS
    # Swapped in whole so the export is one batch (the settle logic has its own tests).
    shutil.copytree(export, data_dir / "landing.incoming")
    os.replace(data_dir / "landing.incoming", data_dir / "landing")
    first = wait_for(
        "serving file with the export",
        lambda: serving_rows(data_dir, "select count(*) from loyalty_customers"),
        deadline,
        proc,
    )
    assert first[0][0] > 0
    (sensor_run,) = graphql.runs()
    tags = {t["key"]: t["value"] for t in sensor_run["tags"]}
    assert tags["pipeline/trigger"] == "sensor"
    assert (
        tags["pipeline/entities"] == "contacts,email_events,orders,social_mentions,surveys,tickets"
    )
    # Wait for the run to finish (the charts step runs after serving).
    wait_for(
        "first run finished",
        lambda: graphql.runs()[0]["status"] in ("SUCCESS", "FAILURE"),
        deadline,
        proc,
    )
    first_run = graphql.runs()[:1]
    assert first_run[0]["status"] == "SUCCESS", graphql.why_not_success(first_run)
    print(f"sensor run done after {time.monotonic() - started:.0f} s")

    # 2. A reader holds the published file open across the next runs.
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(data_dir / "serving" / "marts.duckdb")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    before = reader.stdout.readline().strip()
    # The export's customers, so the comparison below is one of two real snapshots (a reader
    # that failed would print nothing, before and after).
    assert before.startswith(f"[({first[0][0]}, "), before

    # 3. A new delivery (sensor) and a run launched through GraphQL at the same time: the
    # launchpad's, with another as_of.
    # Written beside landing/ and moved in whole: a file created empty and written a moment
    # later would be one empty delivery and then another, had the test been paused longer than
    # the settle period in between (a run more for the sensor).
    drop = data_dir / "landing" / "crm" / "orders" / "late_orders.csv"
    (data_dir / "late_orders.csv").write_text(delta_orders_csv(), encoding="utf-8")
    os.replace(data_dir / "late_orders.csv", drop)
    deadline = time.monotonic() + DEADLINE_SECONDS

    # Launched once the sensor's run has started: the queue admits one run at a time, so the
    # launched one waits for it and runs last (a run the sensor has only created may be queued
    # after it).
    def second_run_started() -> bool:
        runs = graphql.runs()  # newest first
        return len(runs) == 2 and runs[0]["status"] not in ("NOT_STARTED", "QUEUED", "STARTING")

    wait_for("the sensor's second run started", second_run_started, deadline, proc)
    # The launched run is to go to the warm run worker (asserted below): launched once the
    # worker has published its address, not on the guess that its warm-up ended during the
    # sensor's first run.
    address = data_dir / "dagster_home" / "warm_worker.json"
    wait_for("warm worker ready", address.exists, deadline, proc)
    launched = launch_as_of(graphql)
    wait_for("two more runs", lambda: len(graphql.runs()) == 3, deadline, proc)
    wait_for(
        "all runs finished",
        lambda: all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in graphql.runs()),
        deadline,
        proc,
    )
    print(f"two more runs done after {time.monotonic() - started:.0f} s")
    runs = graphql.runs()
    assert {r["status"] for r in runs} == {"SUCCESS"}, graphql.why_not_success(runs)
    assert launched in {r["runId"] for r in runs}
    # One writer: the launched run was queued while the sensor's ran, and ran after it (the run
    # queue admits one run at a time), never overlapping.
    spans = sorted((r["startTime"], r["endTime"]) for r in runs)
    assert all(end <= start for (_, end), (start, _) in itertools.pairwise(spans)), spans

    # The reader's view did not change under it; a new connection sees the late buyer.
    after, _ = reader.communicate("\n", timeout=30)
    assert after.strip() == before
    customer_id = hashlib.sha256(f"email:{NEW_EMAIL}".encode()).hexdigest()[:16]
    assert serving_rows(
        data_dir,
        "select email_sha256, purchases from loyalty_customers "
        f"where customer_id = '{customer_id}'",
    ) == [(hashlib.sha256(NEW_EMAIL.encode()).hexdigest(), 1)]
    assert (data_dir / "docs" / "cohort_heatmap.png").exists()

    # 4. The launched run built the launchpad's as_of and is tagged with it and with "ui".
    (run,) = [r for r in runs if r["runId"] == launched]
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["pipeline/as_of"] == LAUNCHPAD_AS_OF
    assert tags["pipeline/trigger"] == "ui"
    # It went through the warm run worker (ready before it was launched): executed by the
    # child the worker forked, whose pid the launcher tagged.
    assert tags["pipeline/launcher"] == "warm"
    messages = graphql.messages(launched)
    assert f"Started process for run (pid: {tags['pipeline/run_pid']})." in messages
    (as_of,) = warehouse_rows(data_dir, "select as_of from meta.pipeline_settings")[0]
    assert as_of.isoformat() == LAUNCHPAD_AS_OF != AS_OF


LAUNCHPAD_AS_OF = "2026-09-30"  # not the fixture's PIPELINE_AS_OF (2026-10-31)
# The cold run's: neither the fixture's nor the launchpad run's before it, so the date found
# in the warehouse afterwards is the cold run's work.
COLD_AS_OF = "2026-08-31"


@pytest.mark.e2e
def test_warm_worker_terminate_and_cold_fallback(ui) -> None:
    """The sensor's run goes to the warm worker and is terminated from the UI (its child ends,
    the run is canceled); the worker killed is started again, up to three times; with the
    last one killed, a run launched from the UI runs cold.

    On the ui of the test before (its export built, its runs done), or a fresh one when run
    alone: the sensor's run here is for one more orders file, which either way is new."""
    import duckdb
    import psutil

    data_dir, graphql, proc = ui
    deadline = time.monotonic() + DEADLINE_SECONDS
    address = data_dir / "dagster_home" / "warm_worker.json"
    wait_for("warm worker ready", address.exists, deadline, proc)
    worker = json.loads(address.read_text(encoding="utf-8"))
    worker_pid = worker["pid"]

    # 1. A delivery through the sensor. The test holds the warehouse's write lock, so the run's
    # first step waits for it (the DuckDB resource retries for about 100 s): the run is surely
    # executing, in its child, when it is terminated. Written beside landing/ and moved in
    # whole (one delivery, as in the test before).
    holder = duckdb.connect(str(data_dir / "warehouse.duckdb"))
    late = delta_orders_csv("2026-10-31 09:00:00").replace("E2E-LATE-1", "E2E-LATE-2")
    (data_dir / "late_orders_2.csv").write_text(late, encoding="utf-8")
    folder = data_dir / "landing" / "crm" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    os.replace(data_dir / "late_orders_2.csv", folder / "late_orders_2.csv")

    def started_warm() -> dict | None:
        runs = graphql.runs()
        return runs[0] if runs and runs[0]["status"] == "STARTED" else None

    run = wait_for("the sensor's run started", started_warm, deadline, proc)
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["pipeline/launcher"] == "warm"
    child = int(tags["pipeline/run_pid"])
    assert psutil.Process(child).ppid() == worker_pid  # forked by the worker
    terminated = graphql(
        "mutation($id: String!) { terminateRun(runId: $id) { __typename "
        "... on TerminateRunFailure { message } ... on PythonError { message } } }",
        {"id": run["runId"]},
    )["terminateRun"]
    assert terminated["__typename"] == "TerminateRunSuccess", terminated
    wait_for(
        "the run canceled",
        lambda: graphql.run(run["runId"])["status"] == "CANCELED",
        deadline,
        proc,
    )

    def child_gone() -> bool:
        try:
            return psutil.Process(child).status() == psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return True

    wait_for("the run's child ended", child_gone, deadline, proc)
    holder.close()
    assert 'Execution of run for "refresh" canceled.' in graphql.messages(run["runId"])
    assert psutil.pid_exists(worker_pid)  # the worker outlives its child

    # 2. The worker killed: `pipeline ui` says so, removes the dead worker's address (a run is
    # not sent there) and starts a new one, which warms up and publishes its address. Killed
    # three more times (at most 3 restarts in 10 minutes), it is left dead, said; the
    # launchpad's run still runs, cold, saying why.
    log = data_dir.parent / "ui.log"  # the ui fixture's log, beside the data directory
    killed = {worker_pid: Path(worker["socket"]).parent}
    os.kill(worker_pid, signal.SIGKILL)
    for restart in (1, 2, 3):
        line = wait_for(
            f"restart {restart} said",
            lambda n=restart: said(log, f"restart {n} of at most 3 in 10 min"),
            deadline,
            proc,
        )
        assert line.startswith(
            f"the warm run worker (pid {list(killed)[-1]}) was ended by SIGKILL;"
        )
        new_pid = int(line.split("started again (pid ")[1].split(")")[0])
        if restart == 1:  # a worker started again is a working one: it warms up and publishes
            wait_for(
                "the restarted worker ready",
                lambda pid=new_pid: address_of(address).get("pid") == pid,
                deadline,
                proc,
            )
        # Its socket's folder, if it published its address before it is killed (left by the kill).
        published = address_of(address)
        killed[new_pid] = (
            Path(published["socket"]).parent if published.get("pid") == new_pid else None
        )
        os.kill(new_pid, signal.SIGKILL)
    given_up = wait_for(
        "no more restarts said",
        lambda: said(log, "not started again"),
        deadline,
        proc,
    )
    last = list(killed)[-1]
    assert given_up == (
        f"the warm run worker (pid {last}) was ended by SIGKILL; not started again: "
        "3 restarts in 10 min; runs are launched cold until `pipeline ui` is restarted"
    )
    # No dead worker's address is left, nor the socket folder of one that published it.
    assert not address.exists()
    assert [f for f in killed.values() if f is not None and f.exists()] == []
    launched = launch_as_of(graphql, COLD_AS_OF)
    wait_for(
        "the cold run finished",
        lambda: graphql.run(launched)["status"] in ("SUCCESS", "FAILURE", "CANCELED"),
        deadline,
        proc,
    )
    run = graphql.run(launched)
    assert run["status"] == "SUCCESS", graphql.why_not_success([run])
    tags = {t["key"]: t["value"] for t in run["tags"]}
    assert tags["pipeline/launcher"] == "cold" and "pipeline/run_pid" not in tags
    messages = graphql.messages(launched)
    # Not "not reachable": the launcher knows the worker is dead and why none is started.
    cold = re.compile(
        rf"\[WarmRunLauncher\] Launched cold: the warm run worker \(pid {last}\) was ended by "
        r"SIGKILL at \d\d:\d\d:\d\d UTC and is not started again \(3 restarts in 10 min\) "
        r"until `pipeline ui` is restarted\.$"
    )
    assert [m for m in messages if cold.match(m)], messages
    # The run did its work: the date the launchpad asked for is the warehouse's.
    (as_of,) = warehouse_rows(data_dir, "select as_of from meta.pipeline_settings")[0]
    assert as_of.isoformat() == COLD_AS_OF
    assert proc.poll() is None  # the UI carries on without its worker


@pytest.mark.e2e
def test_a_second_ui_on_the_same_data_directory_is_refused(ui, tmp_path: Path) -> None:
    """A second `pipeline ui` on the module's data directory, on another port (as the busy
    port's message suggests), stops at once naming the first; it used to start a second
    daemon on the same instance ("Another SENSOR daemon is still sending heartbeats") and
    replace the first's warm run worker address."""
    data_dir, _, proc = ui
    second = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "ui", "--port", str(free_port())],
        cwd=REPO_ROOT,
        env=child_env(data_dir),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = second.communicate(timeout=DEADLINE_SECONDS)
    except subprocess.TimeoutExpired:
        os.killpg(second.pid, signal.SIGKILL)
        second.communicate()
        pytest.fail("a second `pipeline ui` on the same data directory kept running")
    assert second.returncode == 2, out + err
    home = data_dir / "dagster_home"
    assert err.splitlines() == [
        f"another `pipeline ui` (pid {proc.pid}, http://127.0.0.1:{ui_port(proc)}) serves this "
        f"data directory's Dagster instance ({home}): open that one, or stop it before starting "
        "another; two on one instance would each run the sensors, the schedule and the run "
        "queue"
    ]
    assert proc.poll() is None  # the first carries on


def ui_port(proc: subprocess.Popen) -> str:
    """The port `pipeline ui` ``proc`` was started with."""
    return proc.args[proc.args.index("--port") + 1]


@pytest.mark.e2e
def test_ctrl_c_stops_the_webserver_and_the_daemon_cleanly(ui) -> None:
    """Last on the module's ui: Ctrl-C stops the webserver, the daemon and the worker (if any
    is left) and exits 0. (The exit status does not depend on the worker: `pipeline ui` stops
    whatever of its processes is running, killing one after 30 s.)"""
    _, _, proc = ui
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=DEADLINE_SECONDS) == 0  # it kills what is left after 30 s


def said(log: Path, text: str) -> str | None:
    """The last line of ``log`` (the output of `pipeline ui` and its processes) holding
    ``text``, or None."""
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if text in line]
    return lines[-1] if lines else None


def address_of(path: Path) -> dict:
    """The warm run worker's address file (written whole, by a rename); {} when there is none."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def launch_as_of(graphql: GraphQL, as_of: str = LAUNCHPAD_AS_OF) -> str:
    """Launch a run as the launchpad does, with another as_of; return its id.

    Only ``pipeline_settings`` is selected, so the run is short (it records the date in
    meta.pipeline_settings and writes the warehouse, in the warehouse pool like every step).
    """
    selector = graphql.job_selector("__ASSET_JOB")
    selector["assetSelection"] = [{"path": ["pipeline_settings"]}]
    launched = graphql(
        """mutation($p: ExecutionParams!) { launchRun(executionParams: $p) {
             __typename ... on LaunchRunSuccess { run { runId } }
             ... on PythonError { message } ... on RunConfigValidationInvalid {
             errors { message } } ... on InvalidSubsetError { message } } }""",
        {
            "p": {
                "selector": selector,
                "runConfigData": {"resources": {"config": {"config": {"as_of": as_of}}}},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    return launched["run"]["runId"]


def test_ui_binds_loopback_by_default_and_refuses_a_busy_port(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    import inspect

    from pipeline.cli import ui

    assert inspect.signature(ui.main).parameters["host"].default == "127.0.0.1"
    assert ui.is_loopback("127.0.0.1") and ui.is_loopback("localhost") and ui.is_loopback("::1")
    assert not ui.is_loopback("0.0.0.0")
    web = ui.commands("127.0.0.1", 3456)["webserver"]
    assert web[1:5] == ["-h", "127.0.0.1", "-p", "3456"]
    monkeypatch.setenv("PIPELINE_DATA_DIR", str(tmp_path))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert ui.main("127.0.0.1", port) == 2
    assert f"port {port} on 127.0.0.1 is in use" in capsys.readouterr().err


def test_a_custom_dagster_home_gets_the_warehouse_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.cli.ui import dagster_env
    from pipeline.config import Settings

    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "elsewhere"))
    env = dagster_env(Settings.resolve(data_dir=str(tmp_path / "data")))
    assert env["DAGSTER_HOME"] == str(tmp_path / "elsewhere")
    config = (tmp_path / "elsewhere" / "dagster.yaml").read_text(encoding="utf-8")
    assert "default_limit: 1" in config and "max_concurrent_runs: 1" in config
