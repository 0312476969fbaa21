"""The command line end to end, on one data directory that every step builds on (a module fixture,
so the sample data is generated and run once, not once per test):

1. ``generate`` a tiny data set for today, plus a real export's odd rows (an order dated three
   days after as_of), in a path holding a ``'``;
2. ``run`` as of today: every mart is published, the future order lands with its note;
3. ``run`` again on the same files, and one file dropped into a misspelt folder
   (``crm/order/``): nothing new lands, every mart keeps its rows, and the run exits 3 (the
   file is not read: someone should look);
4. a second delivery, and a ``run`` killed as soon as ingestion has started: warehouse and
   serving stay consistent;
5. the next ``run``, with one more delivery holding a bad row, completes (the dead run's
   warehouse slot is recovered) without duplicates, and exits 3 (rows quarantined);
6. a ``run --as-of`` an older date that fails at its first checks exits 1, after recording that
   date; every run is tagged with its trigger and date.

Steps 5 and 6 are the exit statuses 3 and 1 of tests/test_cli_exit_status.py (the others are
there): on this data directory they cost one run, on a directory of their own two.
Also: bad settings and a missing landing folder are refused with a clear message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from helpers import (
    NEW_EMAIL,
    cli,
    delta_orders_csv,
    refused_in_process,
    serving_rows,
    start_cli,
    warehouse_rows,
)

from pipeline.engine import mart_names

pytestmark = pytest.mark.e2e

# Every mart is published (which marts exist: tests/test_engine_api.py).
MARTS = set(mart_names())
LOYALTY = "select count(*) from loyalty_customers"
# Step 5's extra delivery: one good ticket and one on "fax", which is no channel (quarantined).
TICKETS = (
    "ticket_id,contact_id,email,created_at,channel,category,status,first_response_at,"
    "solved_at,agent_replies,reopens,updated_at\n"
    "TX1,C1,,2026-10-01T10:00:00Z,email,question,open,,,1,0,\n"
    "TX2,C1,,2026-10-01T10:00:00Z,fax,question,open,,,1,0,\n"
)


def serving_counts(data_dir: Path) -> dict[str, int]:
    con = duckdb.connect(str(data_dir / "serving" / "marts.duckdb"), read_only=True)
    try:
        tables = [t for (t,) in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {t: con.execute(f"select count(*) from {t}").fetchall()[0][0] for t in tables}
    finally:
        con.close()


@dataclass
class Story:
    """What each step of the story printed and left behind, for the tests to assert on."""

    data_dir: Path
    generate: subprocess.CompletedProcess | None = None
    first: subprocess.CompletedProcess | None = None
    counts: dict[str, int] = field(default_factory=dict)
    second: subprocess.CompletedProcess | None = None
    counts_again: dict[str, int] = field(default_factory=dict)
    killed_output: list[str] = field(default_factory=list)
    killed_status: int | None = None
    loyalty_before_kill: list[tuple] | None = None
    loyalty_after_kill: list[tuple] | None = None
    ledger_after_kill: list[tuple] = field(default_factory=list)
    recovered: subprocess.CompletedProcess | None = None
    after: dict[str, object] = field(default_factory=dict)
    today: str = ""
    older_as_of: str = ""
    failed: subprocess.CompletedProcess | None = None
    settings_after_failure: list[tuple] = field(default_factory=list)
    tags: list[tuple[str, str]] = field(default_factory=list)
    soon: str = ""  # the ordered_at of orders_extra.csv's row 3, after as_of


@pytest.fixture(scope="module")
def story(tmp_path_factory: pytest.TempPathFactory) -> Story:
    """Steps 1–6 of the module's docstring on one data directory; each step's outcome kept."""
    # The case: sample data generated for today, the first run on the same day (as_of
    # today). A ' in the path: every path put into SQL is quoted (it used to stop publishing).
    today = dt.datetime.now(dt.UTC).date()
    env = {"PIPELINE_AS_OF": today.isoformat()}
    data_dir = tmp_path_factory.mktemp("cli") / "o'brien's data"
    s = Story(data_dir)
    s.generate = cli(
        "generate", "--out", str(data_dir), "--customers", "60", "--seed", "3",
        "--as-of", today.isoformat(), data_dir=data_dir, **env,
    )  # fmt: skip
    if s.generate.returncode != 0:
        return s
    # And a real export's odd rows: one order of three dated three days after as_of.
    soon = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%d %H:%M:%S")
    s.soon = soon
    (data_dir / "landing" / "crm" / "orders" / "orders_extra.csv").write_text(
        "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
        "refund_amount,updated_at\n"
        "X1,,x1@x.test,2024-06-01 10:00:00,completed,EUR,10,,,\n"
        f"X2,,x2@x.test,{soon},completed,EUR,10,,,\n"
        "X3,,x3@x.test,2024-06-02 10:00:00,completed,EUR,10,,,\n",
        encoding="utf-8",
    )
    s.first = cli("run", data_dir=data_dir, **env)
    if s.first.returncode != 0:
        return s
    s.counts = serving_counts(data_dir)
    stray = data_dir / "landing" / "crm" / "order" / "orders_typo.csv"  # `order`, not `orders`
    stray.parent.mkdir()
    stray.write_text((data_dir / "landing" / "crm" / "orders" / "orders_extra.csv").read_text())
    s.second = cli("run", data_dir=data_dir, **env)
    s.counts_again = serving_counts(data_dir)
    stray.unlink()  # the later steps count the deliveries under landing/

    # A second delivery (the day before as_of); the run is killed as soon as ingestion started.
    s.loyalty_before_kill = serving_rows(data_dir, LOYALTY)
    yesterday = f"{today - dt.timedelta(days=1)} 10:00:00"
    extra = data_dir / "landing" / "crm" / "orders" / "late_orders.csv"
    extra.write_text(delta_orders_csv(yesterday), encoding="utf-8")
    killed = start_cli("run", data_dir=data_dir, **env)
    for line in killed.stdout:
        s.killed_output.append(line)
        if "raw_" in line:
            break
    killed.kill()
    killed.communicate()
    s.killed_status = killed.returncode
    s.loyalty_after_kill = serving_rows(data_dir, LOYALTY)
    s.ledger_after_kill = warehouse_rows(data_dir, "select count(*) from meta.ingest_ledger")

    # After the kill (which might have landed it), so that the next run is the one to land it.
    tickets = data_dir / "landing" / "crm" / "tickets" / "extra.csv"
    tickets.write_text(TICKETS, encoding="utf-8")
    s.recovered = cli("run", data_dir=data_dir, **env)
    s.after = {
        "deliveries": [p for p in (data_dir / "landing").rglob("*") if p.is_file()],
        "ledger": warehouse_rows(data_dir, "select count(*) from meta.ingest_ledger"),
        "duplicates": warehouse_rows(
            data_dir,
            "select count(*) - count(distinct (_file_sha256, _row_number)) from raw.raw_orders",
        ),
        "late_order": warehouse_rows(
            data_dir, "select count(*) from raw.raw_orders where order_id = 'E2E-LATE-1'"
        ),
        "loyalty": serving_rows(data_dir, LOYALTY),
        "late_buyer": serving_rows(
            data_dir, "select purchases from loyalty_customers where email_sha256 = "
            f"'{hashlib.sha256(NEW_EMAIL.encode()).hexdigest()}'",
        ),
    }  # fmt: skip

    # An older date, from the command line; the validation folder cannot be written (it is a
    # file), so the run fails at the first checks, after pipeline_settings recorded the date.
    s.today, s.older_as_of = today.isoformat(), (today - dt.timedelta(days=31)).isoformat()
    (data_dir / "validation").rename(data_dir / "validation.old")
    (data_dir / "validation").write_text("not a folder")
    s.failed = cli("run", "--as-of", s.older_as_of, data_dir=data_dir, **env)
    s.settings_after_failure = warehouse_rows(data_dir, "select as_of from meta.pipeline_settings")
    instance = dg.DagsterInstance.from_config(str(data_dir / "dagster_home"))
    s.tags = [  # the two newest runs, newest first
        (r.tags["pipeline/trigger"], r.tags["pipeline/as_of"]) for r in instance.get_runs(limit=2)
    ]
    return s


def test_generate_and_run_for_today_publishes_every_mart(story: Story) -> None:
    assert story.generate.returncode == 0, story.generate.stderr
    first = story.first
    assert first.returncode == 0, first.stdout + first.stderr
    assert "files read in this run" in first.stdout
    counts = story.counts
    assert set(counts) == MARTS | {"publication"}  # + one row per mart describing the run
    assert counts["publication"] == len(MARTS)
    assert counts["channel_retention"] == 5  # always its five rows (0..4 channels)
    assert counts["loyalty_summary"] == 1
    assert counts["customer_360"] > 0
    assert (story.data_dir / "serving" / "parquet" / "customer_360.parquet").exists()


def test_a_row_dated_after_as_of_lands_with_its_note(story: Story) -> None:
    # Nothing is refused; the future order lands, named in the run's summary (test_future_rows.py:
    # the marts ignore it).
    assert story.first.returncode == 0, story.first.stdout + story.first.stderr
    assert "REFUSED" not in story.first.stdout
    assert (
        "crm/orders/orders_extra.csv: 3 rows read, 3 landed, 0 quarantined\n"
        f"    landed rows dated after the end of as_of: ordered_at 1, e.g. {story.soon} (row 3) "
        "(not an error"
    ) in story.first.stdout


def test_the_same_files_again_land_nothing_and_change_no_mart(story: Story) -> None:
    second = story.second
    assert "files read in this run" not in second.stdout
    # The steps that skip say why once, under their own name ("serving_marts: serving_marts:
    # same code, …" named the step twice).
    for step in ("predictions", "serving_marts", "retention_charts"):
        assert f"{step}: {step}:" not in second.stdout
    assert "     serving_marts: same code, inputs unchanged since its last build (" in second.stdout
    assert story.counts_again == story.counts


def test_a_file_outside_the_entity_folders_exits_3(story: Story) -> None:
    # Step 3's file in crm/order/ is never read: the run said so and exited 0, "every file
    # landed whole", so cron saw nothing wrong while the file waited for ever.
    second = story.second
    assert second.returncode == 3, second.stdout + second.stderr
    assert "\nnot read: 1 file in " in second.stdout
    assert "\n  crm/order/orders_typo.csv\n" in second.stdout
    assert second.stderr.splitlines()[-1] == (
        "1 file outside the entity folders not read: see above (exit status 3)"
    )


def test_killed_run_leaves_everything_consistent(story: Story) -> None:
    assert any("raw_" in line for line in story.killed_output), "".join(story.killed_output)
    # Killed, not ended on its own before the kill: the assertions below are about a killed run.
    assert story.killed_status == -signal.SIGKILL, "".join(story.killed_output)
    # Serving still holds the previous, complete publication; the warehouse opens.
    assert story.loyalty_before_kill == [(story.counts["loyalty_customers"],)]
    assert story.loyalty_after_kill == story.loyalty_before_kill
    assert story.ledger_after_kill[0][0] > 0

    # The next run completes (the dead run's warehouse slot is recovered), with no duplicates;
    # it exits 3 for step 5's quarantined ticket (test_quarantined_rows_exit_3 below).
    recovered = story.recovered
    assert recovered.returncode == 3, recovered.stdout + recovered.stderr
    after = story.after
    # Every delivery in the ledger once (each generated file has distinct bytes).
    assert after["ledger"] == [(len(after["deliveries"]),)]
    assert after["duplicates"] == [(0,)]
    assert after["late_order"] == [(1,)]
    # One more buyer than before: the late one, with its one purchase.
    assert after["loyalty"] == [(story.loyalty_before_kill[0][0] + 1,)]
    assert after["late_buyer"] == [(1,)]


def test_quarantined_rows_exit_3(story: Story) -> None:
    # Step 5: the tickets file has two rows, one on the unknown channel "fax".
    recovered = story.recovered
    assert recovered.returncode == 3, recovered.stdout + recovered.stderr
    assert "crm/tickets/extra.csv: 2 rows read, 1 landed, 1 quarantined" in recovered.stdout
    assert "\n1 file refused or with rows quarantined: see above (exit status 3)" in (
        recovered.stderr
    )


def test_a_failed_run_for_an_older_date_exits_1_and_runs_are_tagged(story: Story) -> None:
    # Step 6: the date given on the command line is recorded before the checks fail.
    failed = story.failed
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"as_of {story.older_as_of} (as given)" in failed.stdout
    assert "the run failed" in failed.stderr
    assert [(d.isoformat(),) for (d,) in story.settings_after_failure] == [(story.older_as_of,)]
    # Each run is tagged with what started it and the date it built (step 5's: today).
    assert story.tags == [("cli", story.older_as_of), ("cli", story.today)]


# Refused at the start, checked in this process (helpers.refused_in_process): the exit status 2
# of a real process is tests/test_cli_exit_status.py's.
def test_bad_configuration_exits_with_a_clear_message(tmp_path, monkeypatch, capsys):
    (tmp_path / "landing").mkdir()
    result = refused_in_process(["run"], tmp_path, monkeypatch, capsys, PIPELINE_CHURN_DAYS="14")
    assert result.returncode == 2
    assert "PIPELINE_CHURN_DAYS=14 is too short" in result.stderr


def test_missing_landing_folder_is_explained(tmp_path, monkeypatch, capsys):
    result = refused_in_process(["run"], tmp_path / "nothing-here", monkeypatch, capsys)
    assert result.returncode == 2
    assert "no landing folder" in result.stderr
