"""``python -m pipeline run`` as cron sees it: each documented exit status, from the real CLI.

Here 2 (configuration error) and 4 (another process holds the warehouse). 0 (ok), 3 (rows
quarantined) and 1 (failed), with --as-of and the run's tags, are steps of the command-line story
in tests/test_cli_e2e.py: they need full runs, which there build on one data directory.

A refused setting, ``--as-of`` or vendor mapping of ``run`` is checked by the command line's
``main`` in this process (:func:`refused_in_process`): the same code from the arguments to the
exit status, without a process that costs about 1.5 s of CPU to import Dagster and refuse. What
only a process shows (the exit status ``exit_now`` gives cron, nothing else on stderr from the
imports) is asserted by this file's other tests, each a real process refusing at its start: a
read-only data directory, the UI's settings, a watcher and a UI on a broken mapping, a model
that cannot load, a held warehouse.
"""

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT, cli, cli_env, refused_in_process

pytestmark = pytest.mark.e2e
# A hang guard, as helpers.cli's, not a speed limit: each command line imports Dagster before
# it refuses (about 3.4 s of CPU, docs/testing.md), which a loaded 2-core machine stretches many
# times; 60 s and 120 s left it a margin of a few times only.
HANG_SECONDS = 600


def one_line_error(result: subprocess.CompletedProcess, status: int, text: str) -> None:
    """The run stopped with ``status`` and one stderr line holding ``text``, no traceback."""
    assert result.returncode == status, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and text in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "env, text",
    [
        ({"PIPELINE_TIMEZONE": "Mars/Olympus"}, "PIPELINE_TIMEZONE='Mars/Olympus'"),
        ({"PIPELINE_NIGHTLY_CRON": "at two"}, "PIPELINE_NIGHTLY_CRON='at two' is not a cron"),
        ({"PIPELINE_MAX_SHRINK": "50%"}, "PIPELINE_MAX_SHRINK='50%' is not a number"),
        ({"PIPELINE_FRESHNESS_DAYS": "0"}, "PIPELINE_FRESHNESS_DAYS=0 must be at least 1"),
        ({"PIPELINE_DATA_DOCS": "yes"}, "PIPELINE_DATA_DOCS='yes' must be one of"),
        ({"PIPELINE_SETTLE_SECONDS": "soon"}, "PIPELINE_SETTLE_SECONDS='soon' is not a number"),
    ],
)
def test_bad_settings_exit_2_with_one_line(tmp_path, monkeypatch, capsys, env, text):
    (tmp_path / "landing").mkdir()
    result = refused_in_process(["run"], tmp_path, monkeypatch, capsys, **env)
    one_line_error(result, 2, f"configuration error: {text}")


def test_a_model_that_cannot_load_exits_2_naming_file_line_and_fix(tmp_path):
    # A new mart reading a misspelt table, in a copy of the code (the checkout stays as it is):
    # one line naming the file, the line and the table it likely meant, not a traceback from
    # the definitions' import, and nothing run.
    from pipeline.automation.loaded_code import CODE_DIRS

    code, data = tmp_path / "code", tmp_path / "data"
    for folder in CODE_DIRS:
        shutil.copytree(REPO_ROOT / folder, code / folder, ignore=shutil.ignore_patterns("__py*"))
    (code / "sql/marts/orders_per_month.sql").write_text(
        "select\n    order_month,\n    count(*) as orders\nfrom int_order\ngroup by order_month\n"
    )
    (data / "landing").mkdir(parents=True)
    readme = "# copy\n<!-- asset-graph:start -->\n<!-- asset-graph:end -->\n"
    (code / "README.md").write_text(readme)
    said = (
        "configuration error: cannot load the models and suites: "
        f"{code / 'sql/marts/orders_per_month.sql'}, line 4: reads unknown table 'int_order' "
        "(did you mean 'int_orders'?)"
    )
    # The same for a watcher started on it (it stops at once instead of warming up into a
    # traceback) and for the next steps of a new model: the docs and the README's graph.
    for command in ("run", "watch", "docs", "graph"):
        result = subprocess.run(
            [sys.executable, "-m", "pipeline", command],
            cwd=code,  # the copy's pipeline package, first on sys.path
            env=cli_env(data, PYTHONDONTWRITEBYTECODE="1"),
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS,
        )
        one_line_error(result, 2, said)
    assert result.stderr.strip().endswith("sql/<layer>/int_order.sql")
    assert not (data / "warehouse.duckdb").exists()
    assert (code / "README.md").read_text() == readme


@pytest.mark.parametrize(
    "toml, text",
    [
        # bad TOML: tomllib's reason, with the line and column
        (
            'entity = "orders"\nsignature = ["Order"\n[columns]\n',
            "not valid TOML (Unclosed array (at line 3, column 1))",
        ),
        # an unknown key (a misspelt section), named with the ones allowed
        (
            'entity = "orders"\nsignature = ["Order"]\n[colums]\norder_id = "Order"\n',
            "unknown keys ['colums'] (allowed: ['aggregate', 'columns', 'companions', ",
        ),
        # a required key missing
        ('signature = ["Order"]\n[columns]\norder_id = "Order"\n', "entity is missing (one of "),
    ],
    ids=["toml", "unknown", "missing"],
)
def test_a_broken_vendor_mapping_exits_2_naming_file_and_key(
    tmp_path, monkeypatch, capsys, toml, text
):
    # Every ingestion step reads every mapping: such a file failed the whole run with exit
    # status 1, as a broken run, and its reason was one step failure among six. It is a
    # configuration to correct, as a bad setting is: said in one line before anything runs.
    (tmp_path / "landing").mkdir()
    (tmp_path / "vendors").mkdir()
    path = tmp_path / "vendors" / "my_shop.toml"
    path.write_text(toml, encoding="utf-8")
    # A watcher and the UI stop at their start the same way (the UI's sensor would otherwise
    # launch one failing run after another): real processes, which would start their sensor or
    # their warm-up if the check were missed.
    commands = ("watch", "ui") if toml.startswith("signature") else ()
    results = [refused_in_process(["run"], tmp_path, monkeypatch, capsys)]
    results += [cli(command, data_dir=tmp_path) for command in commands]
    for result in results:
        one_line_error(result, 2, f"configuration error: vendor mapping {path}: {text}")
        assert result.stderr.strip().endswith("; nothing was done")
    assert not (tmp_path / "warehouse.duckdb").exists()


def test_bad_as_of_option_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "landing").mkdir()
    result = refused_in_process(["run", "--as-of", "31/10/2026"], tmp_path, monkeypatch, capsys)
    one_line_error(result, 2, "configuration error: --as-of '31/10/2026' is not a date")


def test_read_only_data_dir_exits_2(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "landing").mkdir(parents=True)
    data_dir.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:
        # root writes anywhere: run the CLI as "nobody", for whom the folder is read-only; where
        # nobody cannot read this checkout (a clone in a 0700 folder), use /sys/kernel, a folder
        # root cannot write either.
        tmp_path.chmod(0o755)
        prefix = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"]
        probe = [*prefix, sys.executable, "-c", "import pipeline"]
        if subprocess.run(probe, cwd=REPO_ROOT, capture_output=True).returncode != 0:
            prefix, data_dir = [], Path("/sys/kernel")
    env = {**os.environ, "PIPELINE_DATA_DIR": str(data_dir), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("DAGSTER_HOME", None)
    result = subprocess.run(
        [*prefix, sys.executable, "-m", "pipeline", "run"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
    )
    one_line_error(result, 2, f"configuration error: PIPELINE_DATA_DIR='{data_dir}' is not writ")


def _holder(code: str, data_dir: Path) -> subprocess.Popen:
    """A second real process that takes a lock, says "held" and keeps it until its stdin closes."""
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(data_dir)],
        cwd=REPO_ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


HOLD_RUN_LOCK = (
    "import sys\nfrom pathlib import Path\nfrom pipeline.cli.run_lock import run_lock\n"
    "with run_lock(Path(sys.argv[1])):\n print('held', flush=True)\n sys.stdin.readline()\n"
)
HOLD_WAREHOUSE = (
    "import sys, duckdb\ncon = duckdb.connect(sys.argv[1] + '/warehouse.duckdb')\n"
    "print('held', flush=True)\nsys.stdin.readline()\n"
)


@pytest.mark.parametrize("code", [HOLD_RUN_LOCK, HOLD_WAREHOUSE], ids=["run", "duckdb"])
def test_a_second_run_says_who_holds_the_warehouse_and_exits_4(tmp_path, code):
    (tmp_path / "landing").mkdir()
    holder = _holder(code, tmp_path)
    try:
        result = cli("run", data_dir=tmp_path)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    one_line_error(result, 4, f"another run holds the warehouse (pid {holder.pid})")
    # Once the other process is gone the lock is free again.
    assert holder.returncode == 0


def test_ui_checks_settings_and_names_its_own_port_option(tmp_path):
    (tmp_path / "landing").mkdir()
    bad = cli("ui", "--port", "1", data_dir=tmp_path, PIPELINE_NIGHTLY_CRON="at two")
    one_line_error(bad, 2, "configuration error: PIPELINE_NIGHTLY_CRON='at two' is not a cron")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if k != "MAKELEVEL"}
        busy = subprocess.run(
            [
                sys.executable,
                "-m",
                "pipeline",
                "ui",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            cwd=REPO_ROOT,
            env={**env, "PIPELINE_AS_OF": "2026-10-31"},
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS,
        )
    one_line_error(busy, 2, f"python -m pipeline ui --port {port + 1}")
    assert "PORT=" not in busy.stderr


def test_help_shows_defaults_settings_and_exit_statuses():
    result = subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "--help"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS,
    )
    assert result.returncode == 0
    for text in ("--as-of DATE", "--data-dir DIR", "  3  completed, but files were refused",
                 "PIPELINE_NIGHTLY_CRON (default: 0 2 * * *)"):  # fmt: skip
        assert text in result.stdout
