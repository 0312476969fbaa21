"""A folder or a file in landing/ that cannot be read: said, never skipped in silence, and the
other files go on; it is taken once it can be read.

Before, the landing scan skipped a folder it could not list without a word (its files never
landed) and stopped at a file it could not read (no other file was requested: the watcher said
"cannot read landing/", the sensor's tick failed). Checked in a process of its own that runs as
root without root's override of file modes (``helpers.without_mode_override``), as root reads
a file of mode 000; skipped with the reason where that cannot be done.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import REPO_ROOT, cli_env, mode_000_denies, without_mode_override

from pipeline.automation.sensors import LandingState, scan

# The landing scan, the watcher's look (the scanned file already taken: two looks) and the
# sensor's evaluation, as the process without the override sees them.
SCRIPT = r"""
import contextlib, io, json, sys
from pathlib import Path

import dagster as dg

from pipeline.automation.sensors import LandingState, build_landing_sensor, scan
from pipeline.cli.watch import Stopper, Watcher
from pipeline.config import PipelineConfig

data_dir = Path(sys.argv[1])
landing = data_dir / "landing"
batch, state, waiting = scan(landing, LandingState(), now=100.0, settle=0)
out = {"batch": sorted(batch.files), "waiting": waiting, "unreadable": state.unreadable}
out["cursor"] = state.to_cursor()
watcher = Watcher(None, 1.0, Stopper())
with contextlib.redirect_stdout(io.StringIO()) as said:
    looked = watcher.look(landing, state)
    watcher.look(landing, looked)
out["watcher"] = said.getvalue().splitlines()
context = dg.build_sensor_context(
    instance=dg.DagsterInstance.ephemeral(),
    cursor=state.to_cursor(),
    resources={"config": PipelineConfig(data_dir=str(data_dir))},
)
out["sensor"] = build_landing_sensor(minimum_interval_seconds=1)(context).skip_reason.skip_message
print(json.dumps(out))
"""


def test_unreadable_folders_and_files_are_said_and_the_others_go_on(tmp_path: Path) -> None:
    if why := mode_000_denies(tmp_path):
        pytest.skip(why)
    landing = tmp_path / "landing"
    orders, contacts = landing / "crm" / "orders", landing / "crm" / "contacts"
    (orders / "2026").mkdir(parents=True)
    contacts.mkdir(parents=True)
    (orders / "ok.csv").write_text("order_id\nA1\n", encoding="utf-8")
    (orders / "2026" / "late.csv").write_text("order_id\nA2\n", encoding="utf-8")
    (contacts / "secret.csv").write_text("contact_id\nC1\n", encoding="utf-8")
    (orders / "2026").chmod(0)
    (contacts / "secret.csv").chmod(0)
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, str(tmp_path)],
            cwd=REPO_ROOT,
            env=cli_env(tmp_path, PIPELINE_SETTLE_SECONDS="0"),
            capture_output=True,
            text=True,
            timeout=300,
            preexec_fn=without_mode_override,
        )
    finally:
        (orders / "2026").chmod(0o755)
        (contacts / "secret.csv").chmod(0o644)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.splitlines()[-1])
    # The readable file is requested; the two it cannot read are neither requested nor said to
    # be settling: the folder it could not list first, then the file it could not hash.
    assert out["batch"] == ["crm/orders/ok.csv"] and out["waiting"] == []
    cannot = "crm/orders/2026/: Permission denied, crm/contacts/secret.csv: Permission denied"
    assert out["unreadable"] == cannot.split(", ")
    # The watcher says it once in two looks; the sensor in its skip reason.
    assert out["watcher"] == [
        f"cannot read in {landing}: {cannot}; the other files go on, these are tried again at "
        "each look"
    ]
    assert out["sensor"] == f"no new files; cannot read {cannot} (tried at each tick)"
    # Readable again: the next scan from the same cursor takes both, and has nothing to say.
    batch, state, _ = scan(landing, LandingState.from_cursor(out["cursor"]), now=101.0, settle=0)
    assert batch is not None
    assert sorted(batch.files) == ["crm/contacts/secret.csv", "crm/orders/2026/late.csv"]
    assert state.unreadable == []
