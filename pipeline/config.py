"""Run configuration: every ``PIPELINE_*`` setting, declared once, and the settings of a run.

:data:`SETTINGS` declares each setting once (name, default, help, check). The start-up check
(:func:`check_environment`), the command line's help, ``docs/operations.md``'s table (a test
compares them) and the modules that read a setting (:func:`setting`) all use it, so adding a
setting is one line there. Values come from a Dagster resource field when one is set (the
launchpad's ``config``), else from the environment, else from the default. Nothing is read at
import time.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import dagster as dg

from pipeline.handles import PLATFORMS, PROFILE_LINKS, normal_handle

MIN_CHURN_DAYS = 31
# ``python -m pipeline demo`` writes its as_of here, so the UI's runs on the demo data build the
# demo's date (not today) unless PIPELINE_AS_OF says otherwise.
DEMO_AS_OF_FILE = "demo_as_of.txt"
TRIGGER_TAG = "pipeline/trigger"
AS_OF_TAG = "pipeline/as_of"
# A run whose own process sends its notices (the command line) carries this tag, so that the
# sensors of a daemon watching the same instance do not send them a second time; the run's
# process speed-ups (pipeline/run_process.py) leave such a run to the command line too.
SENT_INLINE_TAG = "pipeline/notified"


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message says which and why."""


def date_problem(text: str) -> str | None:
    """Why ``text`` is no date written YYYY-MM-DD (as an option or a setting takes it), or
    None. A value in that very shape is told what is wrong with its day: '2024-13-01' was
    told to be written as YYYY-MM-DD, as it was."""
    try:
        dt.date.fromisoformat(text)
    except ValueError as err:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return f"{text!r} is no day of the calendar ({err})"
        return f"{text!r} is not a date; write it as YYYY-MM-DD"
    return None


def _date(name: str, text: str) -> dt.date | None:
    if not text:
        return None  # today, or the demo's date (see Settings.resolve)
    if (problem := date_problem(text)) is not None:
        raise ConfigError(f"{name}={problem}")
    return dt.date.fromisoformat(text)


def _zone(name: str, text: str) -> str:
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        # The zone meant, as a mapping's [format] timezone names it (pipeline/ingest/mappings.py):
        # 'Europe/Bucarest' and 'utc' were answered "e.g. Europe/Bucharest" whatever they meant.
        zones = {zone.lower(): zone for zone in available_timezones()}
        close = zones.get(text.lower()) or next(
            iter(difflib.get_close_matches(text, sorted(zones.values()), n=1)), None
        )
        hint = f"; did you mean {close}?" if close else " (e.g. Europe/Bucharest)"
        raise ConfigError(f"{name}={text!r} is not an IANA time zone{hint}") from None
    return text


def _cron(name: str, text: str) -> str:
    try:  # valid exactly when Dagster accepts it for a schedule (five fields, no 30 February)
        dg.ScheduleDefinition(name="cron_check", cron_schedule=text, job_name="cron_check")
    except dg.DagsterInvalidDefinitionError:
        raise ConfigError(
            f"{name}={text!r} is not a cron expression "
            "(five fields, e.g. '0 2 * * *' for 02:00 every day)"
        ) from None
    return text


def _number(
    kind: type, low: float | None = None, high: float | None = None
) -> Callable[[str, str], Any]:
    """A check reading a ``kind`` (int or float) between ``low`` and ``high`` (inclusive)."""
    noun = "a whole number" if kind is int else "a number"

    def check(name: str, text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise ConfigError(f"{name}={text!r} is not {noun}") from None
        if (low is not None and value < low) or (high is not None and value > high):
            bounds = (
                f"between {low:g} and {high:g}"
                if low is not None and high is not None
                else f"at least {low:g}"
                if low is not None
                else f"at most {high:g}"
            )
            raise ConfigError(f"{name}={value} must be {bounds}")
        return value

    return check


def _churn(name: str, text: str) -> int:
    value = _number(int)(name, text)
    if value < MIN_CHURN_DAYS:
        raise ConfigError(
            f"{name}={value} is too short: the churn window must be at least {MIN_CHURN_DAYS} "
            "days so that a monthly buyer is never counted as churned"
        )
    return value


def _positive(name: str, text: str) -> float:
    value = _number(float)(name, text)
    if value <= 0:
        raise ConfigError(f"{name}={value} must be positive")
    return value


def _choice(*options: str) -> Callable[[str, str], str]:
    def check(name: str, text: str) -> str:
        if text.lower() not in options:
            raise ConfigError(f"{name}={text!r} must be one of {', '.join(options)}")
        return text.lower()

    return check


_SIZE = re.compile(r"^\s*\d+(\.\d+)?\s*(b|kb|mb|gb|tb|kib|mib|gib|tib)\s*$", re.IGNORECASE)


def _memory(name: str, text: str) -> str:
    if not _SIZE.match(text):
        raise ConfigError(f"{name}={text!r} is not a memory size DuckDB reads (e.g. 3GB, 500MB)")
    return text


def _path(name: str, text: str) -> Path:
    return Path(text).expanduser().resolve()


def _optional(check: Callable[[str, str], Any]) -> Callable[[str, str], Any]:
    """A check for a setting that may be left unset (empty: None)."""

    def optional(name: str, text: str) -> Any:
        return check(name, text) if text else None

    return optional


def _text(name: str, text: str) -> str:
    return text


def _url(name: str, text: str) -> str:
    if not text.lower().startswith(("http://", "https://")):
        raise ConfigError(f"{name}={text!r} is not an http:// or https:// URL")
    return text


def _rate(name: str, text: str) -> float:
    value = _number(float)(name, text)
    if not 0 <= value < 1:
        raise ConfigError(f"{name}={value} must be in [0, 1) (a monthly rate, 0.01 = 1 %)")
    return value


_BRAND_EXAMPLE = "e.g. twitter:@acme, instagram:acme.shop"


def _brand_handles(name: str, text: str) -> tuple[tuple[str, str], ...]:
    """``platform:handle`` entries, comma-separated, as (platform, normalised handle) pairs in
    the order written, each once (docs/open-rules.md R15; pipeline/handles.py)."""
    found: dict[tuple[str, str], None] = {}
    for entry in (e.strip() for e in text.split(",")):
        if not entry:
            continue  # a trailing comma, or two in a row
        written_platform, colon, written = (part.strip() for part in entry.partition(":"))
        platform = written_platform.lower()
        if not colon:
            raise ConfigError(
                f"{name}: {entry!r} names no platform; write each handle as platform:handle "
                f"({_BRAND_EXAMPLE})"
            )
        if platform not in PLATFORMS:
            close = (
                "twitter"
                if platform == "x"
                else next(iter(difflib.get_close_matches(platform, PLATFORMS, n=1)), None)
            )
            hint = f"; did you mean {close}?" if close else ""
            raise ConfigError(
                f"{name}: {entry!r}: {written_platform!r} is not a platform of the mentions "
                f"(one of {', '.join(PLATFORMS)}){hint}"
            )
        handle = normal_handle(platform, written)
        if handle is None:
            raise ConfigError(f"{name}: {entry!r} names no handle after the platform")
        # A link left whole is no account on the network (a post, another network's page): a
        # slip in the setting, which would leave the brand's posts counted as mentions.
        if platform in PROFILE_LINKS and "/" in handle and "profile.php" not in handle:
            raise ConfigError(
                f"{name}: {entry!r} is a link, but not to a profile on {platform}; write the "
                f"account's handle ({_BRAND_EXAMPLE})"
            )
        found[(platform, handle)] = None
    return tuple(found)


MIN_SECRET_CHARS = 16  # a short key can be guessed along with the addresses


def _secret(name: str, text: str) -> str:
    if len(text) < MIN_SECRET_CHARS:
        raise ConfigError(
            f"{name} is {len(text)} characters long: use at least {MIN_SECRET_CHARS} random "
            "characters (e.g. python -c 'import secrets; print(secrets.token_hex(32))'), "
            "or unset it for plain SHA-256"
        )
    return text


@dataclass(frozen=True)
class Setting:
    """One ``PIPELINE_*`` setting: its name, default (text), help and check."""

    name: str
    default: str
    help: str
    check: Callable[[str, str], Any]

    def value(self, text: str | None = None) -> Any:
        """``text`` (else the environment, else the default) checked and converted."""
        if text is None:
            text = os.environ.get(self.name, "")
        text = str(text).strip() or self.default
        return self.check(self.name, text)


# fmt: off
SETTINGS: tuple[Setting, ...] = (
    Setting("PIPELINE_DATA_DIR", "./data", "the data directory: landing/, warehouse, serving/, docs/", _path),  # noqa: E501
    Setting("PIPELINE_AS_OF", "", "the date the marts describe (YYYY-MM-DD); empty: today (UTC), or the demo's date in a demo data directory", _date),  # noqa: E501
    Setting("PIPELINE_TIMEZONE", "UTC", "zone of the nightly cron and of naive timestamps in the exports", _zone),  # noqa: E501
    Setting("PIPELINE_CHURN_DAYS", "90", f"days without a purchase before a customer counts as churned (at least {MIN_CHURN_DAYS})", _churn),  # noqa: E501
    Setting("PIPELINE_SLA_HOURS", "24", "first-response target for support tickets, in hours", _positive),  # noqa: E501
    Setting("PIPELINE_SETTLE_SECONDS", "30", "how long a file must stay unchanged before the sensor takes it (`0`: at once)", _number(float, 0)),  # noqa: E501
    Setting("PIPELINE_SENSOR_INTERVAL_SECONDS", "30", "seconds between landing sensor evaluations (read when the code location loads)", _number(int, 1)),  # noqa: E501
    Setting("PIPELINE_NIGHTLY_CRON", "0 2 * * *", "when the nightly refresh runs (five-field cron)", _cron),  # noqa: E501
    Setting("PIPELINE_DATA_DOCS", "failures", "which validated batches get a Data Docs page: `failures` (a batch with a failed expectation), `all`, `off`", _choice("all", "failures", "off")),  # noqa: E501
    Setting("PIPELINE_MAX_SHRINK", "0.25", "a mart that lost more than this share of its rows since the last good run (of 20 rows or more) fails its check (`1`: never)", _number(float, 0, 1)),  # noqa: E501
    Setting("PIPELINE_DUCKDB_MEMORY_LIMIT", "3GB", "DuckDB's memory for the warehouse before it spills to disk (ingestion uses 1GB)", _memory),  # noqa: E501
    Setting("PIPELINE_ENGINE", "duckdb", "where the SQL models run: `duckdb`, or `spark` (docs/scale-out.md)", _choice("duckdb", "spark")),  # noqa: E501
    Setting("PIPELINE_SPARK_MASTER", "local[*]", "the Spark master with PIPELINE_ENGINE=spark: `local[*]`, `spark://host:7077`, or `sc://host:15002` (Spark Connect)", _text),  # noqa: E501
    Setting("PIPELINE_LAKE_DIR", "", "the Parquet tables Spark reads and writes; empty: `<data dir>/lake`", _optional(_path)),  # noqa: E501
    Setting("PIPELINE_FRESHNESS_DAYS", "3", "days without new data before every mart's `fresh_data` check warns", _number(int, 1)),  # noqa: E501
    Setting("PIPELINE_RUN_HISTORY_DAYS", "90", "days Dagster's history keeps a finished run (its events, log file and captured output) before they are deleted (`0`: for ever)", _number(int, 0)),  # noqa: E501
    Setting("PIPELINE_CLV_MONTHLY_DISCOUNT", "0.01", "monthly discount rate d of `customer_predictions.predicted_clv_365d`, in [0, 1)", _rate),  # noqa: E501
    Setting("PIPELINE_BRAND_HANDLES", "", "the brand's own accounts, `platform:handle` comma-separated (e.g. `twitter:@acme, instagram:acme.shop`): their posts are no mentions (docs/open-rules.md R15); empty: none", _brand_handles),  # noqa: E501
    Setting("PIPELINE_EMAIL_HASH_KEY", "", "a secret of at least 16 characters: `email_sha256` becomes HMAC-SHA256 keyed with it; unset: plain SHA-256", _optional(_secret)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_WEBHOOK", "", "URL that gets a JSON POST when a run fails, a file is refused or a blocking check fails", _optional(_url)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_HOST", "", "SMTP server for the same notices by e-mail (then also set _FROM and _TO)", _optional(_text)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_PORT", "587", "SMTP port", _number(int, 1, 65535)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_TLS", "", "`starttls`, `ssl` or `none`; empty: `ssl` on port 465, else `starttls`", _optional(_choice("starttls", "ssl", "none"))),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_FROM", "", "sender address of the notices", _optional(_text)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_TO", "", "recipients, comma-separated", _optional(_text)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_USER", "", "SMTP login, if the server wants one", _optional(_text)),  # noqa: E501
    Setting("PIPELINE_NOTIFY_SMTP_PASSWORD_ENV", "", "the name of the variable that holds the SMTP password (never the password itself)", _optional(_text)),  # noqa: E501
)
# fmt: on
_BY_NAME = {s.name: s for s in SETTINGS}


def setting(name: str, text: str | None = None) -> Any:
    """The checked value of setting ``name`` (from ``text``, else the environment)."""
    return _BY_NAME[name].value(text)


def check_data_dir(data_dir: Path) -> None:
    """ConfigError unless ``data_dir`` is (or can be made) a folder this process can write."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=data_dir, prefix=".write-check-"):
            pass
    except OSError as err:
        raise ConfigError(
            f"PIPELINE_DATA_DIR={str(data_dir)!r} is not writable ({err.strerror or err}): "
            "the pipeline writes its warehouse, serving/ and docs/ there"
        ) from None


def unknown_settings(environ: Mapping[str, str] | None = None) -> list[str]:
    """One warning per ``PIPELINE_*`` variable that is set but is no setting, naming the
    setting it most likely misspells.

    A mistyped name (the churn days without their final S) would otherwise leave the default
    in force without a word. A warning, not an error: other tools set ``PIPELINE_*`` variables
    of their own (Azure Pipelines sets one for its workspace), which must not stop a run.
    """
    environ = os.environ if environ is None else environ
    warnings = []
    for name in sorted(n for n in environ if n.startswith("PIPELINE_") and n not in _BY_NAME):
        close = difflib.get_close_matches(name, list(_BY_NAME), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]}?" if close else " (python -m pipeline --help lists them)"
        warnings.append(f"warning: {name} is not a setting of the pipeline and is ignored{hint}")
    return warnings


@functools.cache
def _warn_once(warnings: tuple[str, ...]) -> None:
    # Once per process: `pipeline watch` checks the settings again before every run.
    for line in warnings:
        print(line, file=sys.stderr, flush=True)


def check_settings() -> None:
    """Check every ``PIPELINE_*`` setting (ConfigError on the first bad one) and warn on stderr
    about a ``PIPELINE_*`` name that is no setting; writes nothing (``pipeline quarantine``)."""
    for item in SETTINGS:
        item.value()
    _warn_once(tuple(unknown_settings()))


def check_environment() -> None:
    """Check every ``PIPELINE_*`` setting and the data directory; ConfigError on the first bad
    one. Run when a command starts, before any work, so a typo never surfaces mid-run."""
    check_settings()
    check_data_dir(setting("PIPELINE_DATA_DIR"))


def settings_epilog() -> str:
    """The settings as plain text for the command line's help."""
    lines = ["settings (environment variables, checked when a command starts):"]
    for s in SETTINGS:
        default = f" (default: {s.default})" if s.default else ""
        lines.append(f"  {s.name}{default}\n      {s.help.replace('`', '')}")
    return "\n".join(lines)


def settings_table_rows() -> list[str]:
    """The settings as rows of docs/operations.md's table (``| name | default | meaning |``)."""
    return [
        f"| `{s.name}` | {f'`{s.default}`' if s.default else '(empty)'} | {s.help} |"
        for s in SETTINGS
    ]


@dataclass(frozen=True)
class Settings:
    """Resolved, validated configuration of one run."""

    data_dir: Path
    as_of: dt.date
    timezone: str
    churn_days: int
    sla_hours: float
    # Where as_of came from: "given" (launchpad, --as-of), "PIPELINE_AS_OF", "demo", "today".
    as_of_source: str = "today"
    # The brand's own accounts, (platform, normalised handle) pairs (docs/open-rules.md R15).
    brand_handles: tuple[tuple[str, str], ...] = ()

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def warehouse_path(self) -> Path:
        return self.data_dir / "warehouse.duckdb"

    @property
    def serving_dir(self) -> Path:
        return self.data_dir / "serving"

    @property
    def quarantine_dir(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def docs_dir(self) -> Path:
        return self.data_dir / "docs"

    @property
    def as_of_end(self) -> dt.datetime:
        """Exclusive end of ``as_of`` in UTC (naive): anything at or after it has not happened."""
        return dt.datetime.combine(self.as_of + dt.timedelta(days=1), dt.time())

    def describe_as_of(self) -> str:
        """``as_of`` and where it came from, for the first line of a run."""
        where = {
            "given": "as given",
            "PIPELINE_AS_OF": "from PIPELINE_AS_OF",
            "demo": f"the demo's date, from {self.data_dir / DEMO_AS_OF_FILE}",
            "today": "today (UTC); set PIPELINE_AS_OF or --as-of for another date",
        }[self.as_of_source]
        return f"as_of {self.as_of} ({where})"

    @classmethod
    def resolve(
        cls,
        data_dir: str | None = None,
        as_of: str | dt.date | None = None,
        timezone: str | None = None,
        churn_days: int | str | None = None,
        sla_hours: float | str | None = None,
        brand_handles: str | None = None,
    ) -> Settings:
        """Resolve each value from the argument, else ``PIPELINE_*``, else its default; an
        ``as_of`` given as a date was parsed by the caller (``--as-of``), and is not again."""

        def given(value: object) -> str | None:
            return None if value in (None, "") else str(value)

        directory = setting("PIPELINE_DATA_DIR", given(data_dir))
        if isinstance(as_of, dt.date):
            as_of_date, source = as_of, "given"
        elif given(as_of):
            as_of_date, source = setting("PIPELINE_AS_OF", given(as_of)), "given"
        elif os.environ.get("PIPELINE_AS_OF", "").strip():
            as_of_date, source = setting("PIPELINE_AS_OF"), "PIPELINE_AS_OF"
        else:
            as_of_date, source = demo_as_of(directory), "demo"
            if as_of_date is None:
                as_of_date, source = dt.datetime.now(dt.UTC).date(), "today"
        return cls(
            data_dir=directory,
            as_of=as_of_date,
            timezone=setting("PIPELINE_TIMEZONE", given(timezone)),
            churn_days=setting("PIPELINE_CHURN_DAYS", given(churn_days)),
            sla_hours=setting("PIPELINE_SLA_HOURS", given(sla_hours)),
            as_of_source=source,
            brand_handles=setting("PIPELINE_BRAND_HANDLES", given(brand_handles)),
        )


def demo_as_of(data_dir: Path) -> dt.date | None:
    """The as_of ``python -m pipeline demo`` recorded in ``data_dir``, if it did."""
    path = data_dir / DEMO_AS_OF_FILE
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{path} holds {text!r}, not a date (YYYY-MM-DD)") from None


class PipelineConfig(dg.ConfigurableResource):
    """Where the data lives and what the marts describe; empty fields fall back to PIPELINE_*.

    Set ``as_of`` in the launchpad (``resources: config: config: as_of: "2026-10-31"``) to build
    an older date; every asset reads it through this resource. The values the models read from
    ``meta.pipeline_settings`` and ``meta.brand_handles`` (churn days, SLA hours, time zone, the
    brand's handles) may be set per run the same way; the secret e-mail hash key may not (a
    run's configuration is stored in plain text with the run).
    """

    data_dir: str | None = None
    as_of: str | None = None
    timezone: str | None = None
    churn_days: int | None = None
    sla_hours: float | None = None
    # PIPELINE_BRAND_HANDLES as written there: `platform:handle` entries, comma-separated.
    brand_handles: str | None = None

    def settings(self) -> Settings:
        """The resolved settings of this run."""
        return Settings.resolve(
            data_dir=self.data_dir,
            as_of=self.as_of,
            timezone=self.timezone,
            churn_days=self.churn_days,
            sla_hours=self.sla_hours,
            brand_handles=self.brand_handles,
        )

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Tag the run with the as_of it builds, and as launched from the UI when nothing else
        (sensor, schedule, command line) tagged it."""
        run = context.run
        if run is None or context.instance is None:
            return  # a sensor's evaluation, or a test building the resource alone
        tags = {AS_OF_TAG: str(self.settings().as_of)}
        if TRIGGER_TAG not in run.tags:
            tags[TRIGGER_TAG] = "ui"
        if any(run.tags.get(k) != v for k, v in tags.items()):
            context.instance.add_run_tags(run.run_id, tags)
