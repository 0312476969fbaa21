"""Tell someone when something needs a human: a failed run, a refused file, a failed check.

A notice says what happened, the as_of the run built, and what to do. It goes to a webhook
(a JSON ``POST``; Slack, Teams, a chat bot or an incident tool) and/or by e-mail over SMTP,
as configured by these settings (all optional; nothing is sent when neither is set):

- ``PIPELINE_NOTIFY_WEBHOOK``: the URL to POST to.
- ``PIPELINE_NOTIFY_SMTP_HOST``, ``PIPELINE_NOTIFY_SMTP_PORT`` (default 587),
  ``PIPELINE_NOTIFY_SMTP_FROM``, ``PIPELINE_NOTIFY_SMTP_TO`` (comma-separated),
  ``PIPELINE_NOTIFY_SMTP_USER``, ``PIPELINE_NOTIFY_SMTP_PASSWORD_ENV`` (the *name* of the
  variable holding the password, so the password is not written next to the other settings),
  ``PIPELINE_NOTIFY_SMTP_TLS`` (``starttls``, ``ssl`` or ``none``; default ``ssl`` on port 465,
  ``starttls`` otherwise).

What a run did is read from Dagster's event log (public API only): the run's status and step
failures, its asset check evaluations, and the ``refused_files`` metadata the ``raw_*`` assets
record. So the sensors that send (``pipeline/automation/notify_sensors.py``) never open the
warehouse, which a running pipeline may hold.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import sys
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from email.message import EmailMessage

import dagster as dg

from pipeline.config import ConfigError, Settings, setting
from pipeline.ingest.report import REFUSED_FILES_KEY
from pipeline.pii import mask_text
from pipeline.words import counted

WEBHOOK_ENV = "PIPELINE_NOTIFY_WEBHOOK"
SMTP_HOST_ENV = "PIPELINE_NOTIFY_SMTP_HOST"
SMTP_PORT_ENV = "PIPELINE_NOTIFY_SMTP_PORT"
SMTP_FROM_ENV = "PIPELINE_NOTIFY_SMTP_FROM"
SMTP_TO_ENV = "PIPELINE_NOTIFY_SMTP_TO"
SMTP_USER_ENV = "PIPELINE_NOTIFY_SMTP_USER"
SMTP_PASSWORD_ENV_ENV = "PIPELINE_NOTIFY_SMTP_PASSWORD_ENV"
SMTP_TLS_ENV = "PIPELINE_NOTIFY_SMTP_TLS"
AS_OF_TAG = "pipeline/as_of"
TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class NotifySettings:
    """Where notices go; empty when nothing is configured."""

    webhook: str | None = None
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str | None = None
    smtp_to: tuple[str, ...] = ()
    smtp_user: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_tls: str = "starttls"

    @property
    def enabled(self) -> bool:
        """Whether any channel is configured."""
        return bool(self.webhook or self.smtp_host)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> NotifySettings:
        """Read ``PIPELINE_NOTIFY_*``; ConfigError names the setting that cannot be used."""
        env = os.environ if env is None else env

        def get(name: str):
            # Each value checked by its declaration in pipeline.config.SETTINGS.
            return setting(name, env.get(name, ""))

        webhook = get(WEBHOOK_ENV)
        host = get(SMTP_HOST_ENV)
        port = get(SMTP_PORT_ENV)
        tls = get(SMTP_TLS_ENV) or ("ssl" if port == 465 else "starttls")
        to = tuple(a.strip() for a in (get(SMTP_TO_ENV) or "").split(",") if a.strip())
        sender = get(SMTP_FROM_ENV)
        if host and not (to and sender):
            raise ConfigError(
                f"{SMTP_HOST_ENV} is set: set {SMTP_FROM_ENV} and {SMTP_TO_ENV} (the sender "
                "and the comma-separated recipients) too"
            )
        password = None
        password_var = get(SMTP_PASSWORD_ENV_ENV)
        if password_var:
            password = env.get(password_var)
            if password is None:
                raise ConfigError(
                    f"{SMTP_PASSWORD_ENV_ENV}={password_var!r} names a variable that is not set"
                )
        return cls(webhook, host, port, sender, to, get(SMTP_USER_ENV), password, tls)


@dataclass
class Notice:
    """One thing that needs a human: what happened, for which as_of, and what to do."""

    event: str  # run_failed | file_refused | check_failed
    title: str
    as_of: str
    run_id: str
    what_happened: list[str]
    what_to_do: list[str]
    job: str = ""

    def __post_init__(self) -> None:
        # A notice leaves the machine (a chat channel, a mailbox), which the contract's personal
        # data must not: a check's examples, a step's error or a refusal can quote a delivered
        # value (an address in a campaign id). The line keeps the file, row, column and reason;
        # the value is on the check's page and in the run summary, on this machine.
        self.what_happened = [mask_text(line) for line in self.what_happened]

    def payload(self) -> dict:
        """The JSON body of the webhook (``text`` for chat tools that show one field)."""
        return {**asdict(self), "source": "retention-pipeline", "text": self.text()}

    def text(self) -> str:
        """The notice as plain text (the e-mail body)."""
        lines = [self.title, "", f"as_of: {self.as_of}", f"run: {self.run_id} ({self.job})", ""]
        lines += ["What happened:", *(f"- {w}" for w in self.what_happened), ""]
        lines += ["What to do:", *(f"- {w}" for w in self.what_to_do)]
        return "\n".join(lines)


def post_webhook(url: str, payload: dict) -> None:
    """POST ``payload`` as JSON to ``url``; raises on a failed request or a non-2xx answer."""
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "retention-pipeline"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
        answer.read()


def send_email(settings: NotifySettings, subject: str, body: str) -> None:
    """Send a plain-text e-mail through the configured SMTP server."""
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = settings.smtp_from or ""
    message["To"] = ", ".join(settings.smtp_to)
    message.set_content(body)
    host, port = settings.smtp_host or "", settings.smtp_port
    if settings.smtp_tls == "ssl":
        context = ssl.create_default_context()
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=TIMEOUT_SECONDS, context=context
        )
    else:
        client = smtplib.SMTP(host, port, timeout=TIMEOUT_SECONDS)
    with client:
        if settings.smtp_tls == "starttls":
            client.starttls(context=ssl.create_default_context())
        if settings.smtp_user:
            client.login(settings.smtp_user, settings.smtp_password or "")
        client.send_message(message)


def send(notice: Notice, settings: NotifySettings) -> list[str]:
    """Send a notice through every configured channel; returns what failed (never raises, so
    one unreachable channel does not stop the other)."""
    errors = []
    if settings.webhook:
        try:
            post_webhook(settings.webhook, notice.payload())
        except Exception as err:  # noqa: BLE001 - any failure is reported, not raised
            errors.append(f"webhook {settings.webhook}: {err}")
    if settings.smtp_host:
        try:
            send_email(settings, f"[retention pipeline] {notice.title}", notice.text())
        except Exception as err:  # noqa: BLE001
            errors.append(f"e-mail via {settings.smtp_host}:{settings.smtp_port}: {err}")
    return errors


def run_as_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str:
    """The as_of a run built: its tag, else what ``pipeline_settings`` recorded in the run,
    else the launchpad's setting, else the environment's (a run that failed before resolving
    it)."""
    if run.tags.get(AS_OF_TAG):
        return run.tags[AS_OF_TAG]
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        if mat is not None and mat.asset_key == dg.AssetKey("pipeline_settings"):
            value = mat.metadata.get("as_of")
            if value is not None:
                return str(value.value)
    resource = (run.run_config or {}).get("resources", {}).get("config", {})
    configured = (resource.get("config") or {}).get("as_of")
    if configured:
        return str(configured)
    try:
        return str(Settings.resolve().as_of)
    except ConfigError as err:
        return f"unknown ({err})"


def run_notices(instance: dg.DagsterInstance, run_id: str) -> list[Notice]:
    """What in a finished run needs a human: one notice for a failed run (with any refused
    files and failed checks in it), else one for refused files and one for failed checks."""
    run = instance.get_run_by_id(run_id)
    if run is None:
        return []
    as_of = run_as_of(instance, run)
    failures = _step_failures(instance, run_id)
    checks = _failed_checks(instance, run_id)
    refused = _refused_files(instance, run_id)
    refused_lines = [f"{f['file']} was refused: {f['reason']}" for f in refused]
    refused_todo = (
        "Refused files were moved to quarantine/ with a .reason.txt; fix or re-export them and "
        "put them in landing/ again (a corrected file is a new delivery)."
    )
    check_todo = (
        "Open the check in the UI (Assets → the asset → Checks) and its Data Docs page; "
        "what depends on a failed blocking check was not rebuilt and BI keeps the last good "
        "serving file."
    )
    base = {"as_of": as_of, "run_id": run_id, "job": run.job_name}
    notices = []
    if run.status == dg.DagsterRunStatus.FAILURE:
        what = failures or ["the run failed (see its log)"]
        todo = [
            f"Open run {run_id} in the UI (Runs), read the failed step's error, fix the cause, "
            "then Re-execute → From failure; every step is safe to repeat.",
        ]
        notices.append(
            Notice(
                "run_failed",
                f"Run failed for as_of {as_of}",
                what_happened=what + checks + refused_lines,
                what_to_do=todo
                + ([check_todo] if checks else [])
                + ([refused_todo] * bool(refused)),
                **base,
            )
        )
        return notices
    if refused:
        notices.append(
            Notice(
                "file_refused",
                f"{counted(len(refused), 'file')} refused (as_of {as_of})",
                what_happened=refused_lines,
                what_to_do=[refused_todo],
                **base,
            )
        )
    if checks:
        notices.append(
            Notice(
                "check_failed",
                f"{counted(len(checks), 'blocking check')} failed (as_of {as_of})",
                what_happened=checks,
                what_to_do=[check_todo],
                **base,
            )
        )
    return notices


def notify_run(
    instance: dg.DagsterInstance, run_id: str, settings: NotifySettings | None = None
) -> tuple[list[Notice], list[str]]:
    """Send the notices of a finished run; returns them and the channels that failed."""
    settings = settings or NotifySettings.from_env()
    if not settings.enabled:
        return [], []
    notices = run_notices(instance, run_id)
    errors = [e for n in notices for e in send(n, settings)]
    return notices, errors


def _step_failures(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
        event = entry.dagster_event
        data = event.step_failure_data if event is not None else None
        error = data.error if data is not None else None
        message = _root_message(error) if error is not None else entry.user_message
        out.append(f"step {entry.step_key} failed: {message}")
    if not out:
        # A resource that cannot start (a bad setting read by the warehouse resource) fails the
        # run before any step: its error rides on the resource-init or run-failure event.
        for kind in (dg.DagsterEventType.RESOURCE_INIT_FAILURE, dg.DagsterEventType.RUN_FAILURE):
            for entry in instance.all_logs(run_id, of_type=kind):
                data = entry.dagster_event.event_specific_data if entry.dagster_event else None
                error = getattr(data, "error", None)
                if error is not None:
                    return [f"the run could not start: {_root_message(error)}"]
    return out


def _root_message(error) -> str:
    # The innermost cause is the one a person can act on (Dagster wraps it once or twice);
    # its message starts with the exception's qualified class name, which says nothing more.
    while error.cause is not None:
        error = error.cause
    text = error.message.strip()
    first = text.splitlines()[0] if text else error.cls_name
    prefix, sep, rest = first.partition(": ")
    return rest if sep and prefix.split(".")[-1] == error.cls_name else first


def _failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = entry.dagster_event
        check = event.asset_check_evaluation_data if event is not None else None
        # A WARN check only shows in the UI; an ERROR one stops what depends on the asset.
        if check is None or check.passed or check.severity != dg.AssetCheckSeverity.ERROR:
            continue
        what = f"check {check.check_name} on {check.asset_key.to_user_string()} failed"
        out.append(what + (f": {check.description}" if check.description else ""))
    return out


def _refused_files(instance: dg.DagsterInstance, run_id: str) -> list[dict]:
    out = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        mat = entry.asset_materialization
        value = mat.metadata.get(REFUSED_FILES_KEY) if mat is not None else None
        if value is not None and isinstance(value.value, list):
            out.extend(value.value)
    return out


def notify_cli_run(
    instance: dg.DagsterInstance, run_id: str, settings: NotifySettings | None = None
) -> None:
    """Send a command-line run's notices and say so (the run is tagged ``SENT_INLINE_TAG``)."""
    notices, errors = notify_run(instance, run_id, settings)
    if notices:
        print(f"\nsent {counted(len(notices), 'notice')}: {', '.join(n.title for n in notices)}")
    for error in errors:
        print(f"could not send a notice: {error}", file=sys.stderr)
