"""Notices on a failed run, a refused file and a failed blocking check, received by a real HTTP
server and a real SMTP server on loopback; the marts' freshness check on hand-set dates."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import json
import os
import queue
import socketserver
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import dagster as dg
import pytest
from check_support import check_step
from ingest_support import drop, make_settings

from assets.freshness import freshness, freshness_check, freshness_days
from assets.ingest import INGEST_ASSETS
from assets.settings import pipeline_settings
from pipeline.__main__ import main
from pipeline.automation.notify import (
    AS_OF_TAG,
    NotifySettings,
    notify_run,
    run_notices,
)
from pipeline.automation.notify_sensors import NOTIFY_SENSORS
from pipeline.config import SENT_INLINE_TAG, ConfigError, PipelineConfig
from pipeline.ingest.ledger import ensure_ledger
from pipeline.warehouse import Warehouse, open_warehouse, run

D = dt.datetime


class _Webhook(BaseHTTPRequestHandler):
    received: queue.Queue

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.received.put((self.headers["Content-Type"], json.loads(body)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _address(line: bytes) -> str:
    """The address of ``MAIL FROM:<a>`` or ``RCPT TO:<a>``."""
    return line.decode().split("<", 1)[1].split(">", 1)[0]


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP for smtplib: EHLO, MAIL, RCPT, DATA, QUIT; no TLS, no auth."""

    received: queue.Queue

    def reply(self, line: str) -> None:
        self.wfile.write((line + "\r\n").encode())

    def handle(self) -> None:
        self.reply("220 localhost test SMTP")
        sender, rcpts = "", []
        while line := self.rfile.readline():
            verb = line.decode().strip().split(" ")[0].upper()
            if verb in ("EHLO", "HELO"):
                self.reply("250 localhost")
            elif verb == "MAIL":
                sender = _address(line)
                self.reply("250 OK")
            elif verb == "RCPT":
                rcpts.append(_address(line))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 end with .")
                data = []
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data.append(chunk)
                self.received.put((sender, rcpts, b"".join(data)))
                self.reply("250 OK")
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("250 OK")


@pytest.fixture
def servers() -> Iterator[tuple[NotifySettings, queue.Queue, queue.Queue]]:
    """A webhook and an SMTP server on free loopback ports, and settings pointing at them."""
    posts: queue.Queue = queue.Queue()
    mails: queue.Queue = queue.Queue()
    http = HTTPServer(("127.0.0.1", 0), type("H", (_Webhook,), {"received": posts}))
    smtp = socketserver.ThreadingTCPServer(
        ("127.0.0.1", 0), type("S", (_Smtp,), {"received": mails})
    )
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (http, smtp)]
    for t in threads:
        t.start()
    settings = NotifySettings.from_env(
        {
            "PIPELINE_NOTIFY_WEBHOOK": f"http://127.0.0.1:{http.server_port}/hook",
            "PIPELINE_NOTIFY_SMTP_HOST": "127.0.0.1",
            "PIPELINE_NOTIFY_SMTP_PORT": str(smtp.server_address[1]),
            "PIPELINE_NOTIFY_SMTP_TLS": "none",
            "PIPELINE_NOTIFY_SMTP_FROM": "pipeline@example.com",
            "PIPELINE_NOTIFY_SMTP_TO": "ops@example.com, data@example.com",
        }
    )
    try:
        yield settings, posts, mails
    finally:
        for s in (http, smtp):
            s.shutdown()
            s.server_close()


def _warehouse(data_dir: Path, as_of: str = "2024-12-31") -> Warehouse:
    return Warehouse(config=PipelineConfig(data_dir=str(data_dir), as_of=as_of))


def test_settings_are_checked() -> None:
    assert not NotifySettings.from_env({}).enabled
    with pytest.raises(ConfigError, match="PIPELINE_NOTIFY_WEBHOOK='hooks.example.com'"):
        NotifySettings.from_env({"PIPELINE_NOTIFY_WEBHOOK": "hooks.example.com"})
    with pytest.raises(ConfigError, match="set PIPELINE_NOTIFY_SMTP_FROM and"):
        NotifySettings.from_env({"PIPELINE_NOTIFY_SMTP_HOST": "mail"})
    with pytest.raises(ConfigError, match="'SMTP_PW' names a variable that is not set"):
        NotifySettings.from_env({"PIPELINE_NOTIFY_SMTP_PASSWORD_ENV": "SMTP_PW"})
    got = NotifySettings.from_env(
        {
            "PIPELINE_NOTIFY_SMTP_HOST": "mail",
            "PIPELINE_NOTIFY_SMTP_PORT": "465",
            "PIPELINE_NOTIFY_SMTP_FROM": "a@x",
            "PIPELINE_NOTIFY_SMTP_TO": "b@x,c@x",
            "PIPELINE_NOTIFY_SMTP_PASSWORD_ENV": "SMTP_PW",
            "SMTP_PW": "secret",
        }
    )
    # Port 465 is SMTP over TLS from the first byte; the password is read from SMTP_PW.
    assert (got.smtp_tls, got.smtp_to, got.smtp_password) == ("ssl", ("b@x", "c@x"), "secret")
    assert "secret" not in repr(got)


def failed_run(data_dir: Path):  # noqa: ANN201 - Dagster's failure sensor context
    """A real run that fails (pipeline_settings with an as_of that is not a date) and the
    context the failure sensor gets for it, as in the daemon: (run id, context)."""
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [pipeline_settings],
        resources={"warehouse": _warehouse(data_dir, as_of="31/10/2026")},
        instance=instance,
        raise_on_error=False,
    )
    assert not result.success
    failure = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name="notify_run_failure",
        dagster_event=failure.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    ).for_run_failure()
    return result.run_id, context


def test_failed_run_is_reported_by_the_failure_sensor(data_dir: Path, servers) -> None:
    settings, posts, mails = servers
    run_id, context = failed_run(data_dir)
    sensor = next(s for s in NOTIFY_SENSORS if s.name == "notify_run_failure")
    # The sensor reads the settings from the environment, as in the daemon.
    env = {
        "PIPELINE_NOTIFY_WEBHOOK": settings.webhook,
        "PIPELINE_NOTIFY_SMTP_HOST": "127.0.0.1",
        "PIPELINE_NOTIFY_SMTP_PORT": str(settings.smtp_port),
        "PIPELINE_NOTIFY_SMTP_TLS": "none",
        "PIPELINE_NOTIFY_SMTP_FROM": "pipeline@example.com",
        "PIPELINE_NOTIFY_SMTP_TO": "ops@example.com",
    }
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        mp.delenv("PIPELINE_AS_OF", raising=False)
        sensor(context)
    content_type, body = posts.get_nowait()
    assert content_type == "application/json"
    assert body["event"] == "run_failed"
    assert body["run_id"] == run_id
    assert body["what_happened"] == [
        "the run could not start: PIPELINE_AS_OF='31/10/2026' is not a date; write it as YYYY-MM-DD"
    ]
    assert "Re-execute → From failure" in body["what_to_do"][0]
    sender, rcpts, data = mails.get_nowait()
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert sender == "pipeline@example.com"
    assert rcpts == ["ops@example.com"]
    assert message["Subject"].startswith("[retention pipeline] Run failed for as_of ")
    assert "PIPELINE_AS_OF='31/10/2026' is not a date" in message.get_content()


def test_without_a_channel_the_failure_sensor_says_which_run_it_did_not_report(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run_id, context = failed_run(data_dir)
    for name in list(os.environ):
        if name.startswith("PIPELINE_NOTIFY_"):
            monkeypatch.delenv(name)
    sensor = next(s for s in NOTIFY_SENSORS if s.name == "notify_run_failure")
    assert sensor(context).skip_message == (
        f"run {run_id}: no notice sent, as no notification channel is configured "
        "(PIPELINE_NOTIFY_WEBHOOK or PIPELINE_NOTIFY_SMTP_HOST, docs/operations.md)"
    )


def test_refused_file_is_reported_with_its_as_of(
    data_dir: Path, servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings, posts, mails = servers
    s = make_settings(data_dir)
    drop(s, "orders", "b.csv", "nonsense\n1\n")
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [pipeline_settings, *INGEST_ASSETS],
        selection=["pipeline_settings", "raw_orders"],
        resources={"warehouse": _warehouse(data_dir)},
        instance=instance,
    )
    assert result.success  # a refused file does not fail the run: so it must be told
    # The daemon's run-status sensor for finished runs, on this run's RUN_SUCCESS event.
    success = instance.all_logs(result.run_id, of_type=dg.DagsterEventType.RUN_SUCCESS)[0]
    context = dg.build_run_status_sensor_context(
        sensor_name="notify_run_problems",
        dagster_event=success.dagster_event,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(result.run_id),
    )
    monkeypatch.setenv("PIPELINE_NOTIFY_WEBHOOK", settings.webhook or "")
    monkeypatch.setenv("PIPELINE_NOTIFY_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PIPELINE_NOTIFY_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("PIPELINE_NOTIFY_SMTP_TLS", "none")
    monkeypatch.setenv("PIPELINE_NOTIFY_SMTP_FROM", "pipeline@example.com")
    monkeypatch.setenv("PIPELINE_NOTIFY_SMTP_TO", "ops@example.com, data@example.com")
    sensor = next(s for s in NOTIFY_SENSORS if s.name == "notify_run_problems")
    sensor(context)
    _, body = posts.get_nowait()
    assert body["title"] == "1 file refused (as_of 2024-12-31)"
    assert body["as_of"] == "2024-12-31"  # from pipeline_settings in the same run
    assert body["what_happened"][0].startswith("crm/orders/b.csv was refused: unknown header")
    assert "moved to quarantine/" in body["what_to_do"][0]
    _, rcpts, data = mails.get_nowait()
    assert rcpts == ["ops@example.com", "data@example.com"]
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert "crm/orders/b.csv was refused" in message.get_content()


def test_failed_blocking_check_is_reported(servers) -> None:
    settings, posts, _ = servers

    @dg.asset
    def orders_mart() -> None:
        return None

    @dg.asset_check(asset=orders_mart, blocking=True)
    def revenue_adds_up() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="revenue ≠ sum of lines in 3 rows")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([orders_mart, revenue_adds_up], instance=instance, raise_on_error=False)
    # Dagster fails the run when a blocking check fails with ERROR (the default severity).
    assert not result.success
    notices, _ = notify_run(instance, result.run_id, settings)
    assert [n.event for n in notices] == ["run_failed"]
    _, body = posts.get_nowait()
    assert (
        "check revenue_adds_up on orders_mart failed: revenue ≠ sum of lines in 3 rows"
        in body["what_happened"]
    )
    assert any("Data Docs" in todo for todo in body["what_to_do"])


def test_a_failed_check_of_a_run_that_succeeded_is_one_notice_in_the_singular() -> None:
    @dg.asset
    def orders_mart() -> None:
        return None

    # Not blocking, so the run succeeds; ERROR severity, so the notice is sent.
    @dg.asset_check(asset=orders_mart, blocking=False)
    def revenue_adds_up() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="revenue ≠ sum of lines in 3 rows")

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [orders_mart, revenue_adds_up], instance=instance, tags={AS_OF_TAG: "2026-10-31"}
    )
    assert result.success
    (notice,) = run_notices(instance, result.run_id)
    assert (notice.event, notice.title) == (
        "check_failed",
        "1 blocking check failed (as_of 2026-10-31)",
    )


def test_nothing_is_sent_for_a_clean_run(data_dir: Path, servers) -> None:
    settings, posts, mails = servers
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [pipeline_settings], resources={"warehouse": _warehouse(data_dir)}, instance=instance
    )
    assert notify_run(instance, result.run_id, settings) == ([], [])
    assert posts.empty() and mails.empty()


def test_freshness_on_hand_set_dates(monkeypatch: pytest.MonkeyPatch) -> None:
    now = D(2026, 12, 6, 12)
    landings = {"orders": D(2026, 12, 2, 9), "contacts": D(2026, 11, 20)}
    # Newest data 2026-12-02 09:00: 4 days 3 hours before now, more than 3 days.
    passed, text, meta = freshness(landings, now, 3)
    assert not passed
    assert text.startswith("no new data for 4 days (since 2026-12-02 09:00 UTC; limit 3")
    assert meta["days_since_new_data"] == 4
    assert "| contacts | 2026-11-20 00:00 | 16 |" in meta["last_landings"].value
    # With a 5-day limit the same data is fresh.
    assert freshness(landings, now, 5)[0]
    assert freshness({}, now, 3)[:2] == (False, "no data has landed yet")
    monkeypatch.setenv("PIPELINE_FRESHNESS_DAYS", "0")
    with pytest.raises(ConfigError, match="must be at least 1"):
        freshness_days()


def test_freshness_check_warns_from_the_ledger(data_dir: Path) -> None:
    s = make_settings(data_dir)
    with open_warehouse(s.warehouse_path) as con:
        ensure_ledger(con)
        # One delivery that landed rows 10 days ago; a refused one yesterday does not count.
        ago = dt.datetime.now(dt.UTC).replace(tzinfo=None) - dt.timedelta(days=10)
        yesterday = ago + dt.timedelta(days=9)
        run(
            con,
            "insert into meta.ingest_ledger (file_sha256, source_file, entity, mapping, status, "
            "reason, rows_read, rows_landed, rows_quarantined, delivery_seq, run_id, landed_at) "
            "values "
            "('a', 'crm/orders/a.csv', 'orders', 'canonical_orders', 'landed', null, 5, 5, 0, "
            "1, 'r1', ?), "
            "('b', 'crm/orders/b.csv', 'orders', null, 'refused', 'unknown header', 0, 0, 0, "
            "2, 'r2', ?)",
            [ago, yesterday],
        )

    @dg.asset(name="retention_monthly")
    def mart() -> None:
        return None

    check = check_step("marts_fresh_data", [freshness_check("retention_monthly")])
    result = dg.materialize([mart, check], resources={"warehouse": _warehouse(data_dir)})
    assert result.success  # WARN blocks nothing
    (evaluation,) = result.get_asset_check_evaluations()
    assert not evaluation.passed
    assert evaluation.severity == dg.AssetCheckSeverity.WARN
    assert evaluation.description.startswith("no new data for 10 days")


def test_command_line_run_that_fails_sends_its_own_notice(
    data_dir: Path, servers, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    settings, posts, _ = servers
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PIPELINE_AS_OF", "2026-10-31")
    monkeypatch.setenv("PIPELINE_NOTIFY_WEBHOOK", settings.webhook or "")
    # A real run that fails: a file stands where the serving folder should be (a mistaken
    # copy), so publishing the marts fails. (A broken vendor mapping failed the run here
    # before; it is a configuration error now, exit status 2, and no run starts.)
    (data_dir / "serving").write_text("not a folder\n", encoding="utf-8")
    assert main(["run"]) == 1
    _, body = posts.get_nowait()
    assert body["event"] == "run_failed"
    assert body["as_of"] == "2026-10-31"
    assert body["what_happened"] == [
        f"step serving_marts failed: [Errno 17] File exists: '{data_dir / 'serving'}'"
    ]
    assert "sent 1 notice: Run failed for as_of 2026-10-31" in capsys.readouterr().out
    # The run is tagged, so the daemon's sensors do not send the same notice again.
    instance = dg.DagsterInstance.from_config(str(data_dir / "dagster_home"))
    (run_record,) = instance.get_runs()
    assert run_record.tags[SENT_INLINE_TAG] == "cli"


def test_a_notice_names_where_personal_data_is_not_what_it_is(
    data_dir: Path, servers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delivery whose campaign id is a person's address: the mart guard stops the run, and
    the notice, which leaves the machine, names the mart, the column and the reason with the
    address masked (it sent the address before). The check's Data Docs page,
    on this machine and readable by its owner only, still shows it, so the row can be found."""
    settings, posts, _ = servers
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_NOTIFY_WEBHOOK", settings.webhook or "")
    drop(
        make_settings(data_dir),
        "email_events",
        "e.csv",
        "event_id,email,campaign_id,campaign_name,event_type,occurred_at\n"
        "E1,ann@x.test,jane.doe@example.com,Spring sale,sent,2024-02-01 08:00:00\n",
    )
    assert main(["run"]) == 1
    _, body = posts.get_nowait()
    assert body["event"] == "run_failed"
    sent = json.dumps(body, ensure_ascii=False)
    assert "jane.doe@example.com" not in sent
    (check,) = [w for w in body["what_happened"] if w.startswith("check ")]
    assert check.startswith("check mart_expectations on email_monthly failed: 1 expectation ")
    assert check.endswith("1 of 14 rows unexpected, e.g. [email] (mart_column campaign_id)")
    assert body["text"].count("[email] (mart_column campaign_id)") == 1
    # The check's description, in Dagster's event log for the run history's 90 days and shown to
    # everyone the UI serves, is masked alike; the value is on its Data Docs page (0600).
    instance = dg.DagsterInstance.from_config(str(data_dir / "dagster_home"))
    (run_record,) = instance.get_runs()
    (evaluation,) = [
        e.dagster_event.asset_check_evaluation_data
        for e in instance.all_logs(
            run_record.run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        if not e.dagster_event.asset_check_evaluation_data.passed
    ]
    assert evaluation.description.endswith("e.g. [email] (mart_column campaign_id)")
    # Nor does any other event of the run (the check's table of expectations, a model's preview).
    for stored in (data_dir / "dagster_home" / "history").rglob("*.db"):
        assert b"jane.doe@example.com" not in stored.read_bytes(), stored
    page = Path(evaluation.metadata["data_docs"].value)
    assert "jane.doe@example.com" in page.read_text(encoding="utf-8")
