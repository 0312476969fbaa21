"""Helpers of the ``python -m pipeline watch`` tests (tests/test_cli_watch.py and
tests/test_cli_watch_troubles.py): a real watcher process, a delivery, the late buyer's row.

Two files rather than one so that ``make test``'s two workers can each take one (a file runs
whole in one worker): each watcher story is a module fixture of its own, so the split costs no
watcher start (docs/testing.md).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from helpers import NEW_EMAIL, REPO_ROOT, OutputLines, cli_env, start_cli, warehouse_rows

ENV = {"PIPELINE_SETTLE_SECONDS": "0"}
DEADLINE = 180.0  # seconds for one awaited line: a run here takes about 5 s, start-up about 8 s


class Watcher(OutputLines):
    """A running watcher and every line it printed so far (stderr merged)."""

    @classmethod
    def start(  # noqa: ANN206
        cls,
        data_dir: Path,
        preexec_fn: Callable[[], None] | None = None,
        options: tuple[str, ...] = (),
        **env: str,
    ):
        if preexec_fn is None:
            proc = start_cli(
                "watch", "--interval", "0.2", *options, data_dir=data_dir, **ENV, **env
            )
        else:  # start_cli's process, with preexec_fn
            proc = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "watch", "--interval", "0.2", *options],
                cwd=REPO_ROOT,
                env=cli_env(data_dir, **ENV, **env),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                preexec_fn=preexec_fn,
            )
        return cls(proc, "watcher", DEADLINE)

    def seen_or_wait_for(self, text: str, since: int) -> str:
        """A line holding ``text`` read already from line ``since`` on, else the next one."""
        seen = (line for line in self.lines[since:] if text in line)
        return next(seen, None) or self.wait_for(text)

    def ended(self) -> int:
        """The exit status of a watcher that is ending by itself, the rest of its output read."""
        code = self.proc.wait(timeout=DEADLINE)
        while (line := self.queue.get(timeout=DEADLINE)) is not None:
            self.lines.append(line)
        return code

    def stop(self) -> int:
        """The exit status after SIGTERM, the rest of its output read."""
        self.proc.send_signal(signal.SIGTERM)
        return self.ended()


def assert_new_buyer_built(data_dir: Path) -> None:
    """customer_360's row of the new buyer (NEW_EMAIL): two completed orders of 80.00 and 20.00,
    worked out by hand from the two late files."""
    row = warehouse_rows(
        data_dir,
        "select purchases, revenue, first_purchase_at::text, last_purchase_at::text "
        f"from marts.customer_360 where email_sha256 = sha256('{NEW_EMAIL}')",
    )
    assert [(p, float(r), f, la) for p, r, f, la in row] == [
        (2, 100.0, "2026-10-30 10:00:00", "2026-10-31 09:00:00")
    ]


def drop(data_dir: Path, name: str, text: str) -> None:
    """Deliver ``text`` as crm/orders/``name``, written under a hidden name and renamed (as a
    careful sender does: the sensor's rules never take a hidden file)."""
    folder = data_dir / "landing" / "crm" / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    hidden = folder / f".{name}"
    hidden.write_text(text, encoding="utf-8")
    hidden.rename(folder / name)
