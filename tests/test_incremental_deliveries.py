"""Differential test: marts kept up to date delivery by delivery equal a build from scratch.

One data directory is fed five days of deliveries (real CSV files in landing/: seeded sample
exports of 80 customers, then small files by hand), each followed by a run of every asset (the
real Dagster job, in process) at that day's as_of; a second, fresh data directory is given all
the same files at once and run once at the last as_of. Every published mart must hold the same
rows in both, in serving/marts.duckdb and in its Parquet file, compared with ``except all`` both
ways (doubles rounded to 9 decimals; prediction_model's fitted_at, the run's time, left out).
The GX checks and the charts are left out of the runs: neither changes a mart.

The files by hand hold the cases most likely to break an incremental model or a skipped build
(docs/architecture.md, "SQL models"): a contact's e-mail changed by a later version (its
orders, e-mail events and handle move), two contacts merged by a later version and un-merged
again, a buyer outside the CRM who becomes a contact, a contact created after as_of who becomes
current as as_of moves, an order updated to another status, amount and contact, an order's later
version with an older updated_at (it loses), e-mail events arriving days late and delivered
twice, a mention delivered twice and under its URL (R13), and as_of moving across a month end, a
90-day and a 12-month window without a delivery. File names sort in delivery order: files
landed together are taken in file-name order (contracts.md, "Order of deliveries"), so the
fresh directory lands them in the order the days did.

It found the Gamma-Gamma fit differing between the two (p 2.46298474 against 2.46298486): the
mean repeat spend was summed in the order polars' threads met a customer's days
(tests/test_predict_formulas.py). About 30 s of CPU: six runs of every asset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from pipeline.definitions import build_definitions
from pipeline.engine import discover_models, mart_names
from pipeline.entities import ENTITIES
from pipeline.sample_data.generate import generate
from pipeline.warehouse import rows

pytestmark = pytest.mark.slow  # six runs of every asset: about 30 s of CPU

JOB = "every_asset_but_charts"
# Columns that say when a run happened, not what it found.
RUN_TIME = {("prediction_model", "fitted_at")}


def csv(entity: str, header: str, *lines: str) -> tuple[str, str]:
    """One delivery of ``entity``: its landing folder and the CSV text."""
    return ENTITIES[entity].landing_path, header + "\n" + "\n".join(lines) + "\n"


CONTACTS = "contact_id,email,created_at,twitter_handle,country,updated_at"
ORDERS = "order_id,contact_id,email,ordered_at,status,currency,gross_amount,updated_at"
EVENTS = "event_id,email,campaign_id,campaign_name,event_type,occurred_at"
MENTIONS = "mention_id,platform,author_handle,text,posted_at,sentiment,url"
SURVEYS = "response_id,contact_id,email,responded_at,survey_type,score"
TICKETS = "ticket_id,contact_id,email,created_at,channel,category,status,solved_at,updated_at"

# (as_of, the files delivered that day), by landing folder and file name.
DAYS: list[tuple[str, dict[str, tuple[str, str]]]] = [
    (
        "2025-03-30",
        {
            "d1_contacts.csv": csv(
                "contacts",
                CONTACTS,
                "c1,ann@x.test,2025-01-05 09:00:00,,DE,2025-01-05 09:00:00",
                "c2,bob@x.test,2025-01-10 09:00:00,bob_tw,FR,2025-01-10 09:00:00",
                # created after as_of: no customer until as_of reaches it
                "c3,cy@x.test,2025-04-10 09:00:00,,NL,2025-04-10 09:00:00",
                "c4,dan@x.test,2025-02-01 09:00:00,dan_tw,DE,2025-02-01 09:00:00",
            ),
            "d1_orders.csv": csv(
                "orders",
                ORDERS,
                "o1,c1,ann@x.test,2025-02-01 10:00:00,completed,EUR,100,2025-02-01 10:00:00",
                # outside the CRM: keyed by e-mail until a contact takes eve@x.test
                "o2,,eve@x.test,2025-02-15 10:00:00,completed,EUR,50,2025-02-15 10:00:00",
                "o3,c2,bob@x.test,2025-03-10 10:00:00,pending,EUR,30,2025-03-10 10:00:00",
                # cy@x.test is c3's, who does not exist yet
                "o4,,cy@x.test,2025-03-20 10:00:00,completed,EUR,40,2025-03-20 10:00:00",
                # after as_of
                "o5,c1,ann@x.test,2025-04-05 10:00:00,completed,EUR,70,2025-04-05 10:00:00",
                "o6,c2,bob@x.test,2025-01-20 10:00:00,completed,EUR,25,2025-01-20 10:00:00",
            ),
            "d1_events.csv": csv(
                "email_events",
                EVENTS,
                "e1,ann@x.test,K1,Spring,sent,2025-03-01 08:00:00",
                "e2,ann@x.test,K1,Spring,delivered,2025-03-01 08:01:00",
                "e3,ann@x.test,K1,Spring,open,2025-03-02 09:00:00",
                "e4,bob@x.test,K1,Spring,sent,2025-03-01 08:00:00",
                "e5,bob@x.test,K1,Spring,delivered,2025-03-01 08:01:00",
                "e6,eve@x.test,K1,Spring,sent,2025-03-01 08:00:00",
                "e7,cy@x.test,K1,Spring,sent,2025-03-01 08:00:00",
                "e8,cy@x.test,K1,Spring,delivered,2025-03-01 08:02:00",
                # K2 after as_of
                "e9,dan@x.test,K2,Easter,sent,2025-04-02 08:00:00",
                "e10,dan@x.test,K2,Easter,open,2025-04-03 08:00:00",
            ),
            "d1_mentions.csv": csv(
                "social_mentions",
                MENTIONS,
                "m1,twitter,dan_tw,Terrible service,2025-03-15 12:00:00,negative,"
                "https://x.com/dan_tw/status/1",
                "m2,twitter,bob_tw,Love it,2025-03-16 12:00:00,positive,"
                "https://x.com/bob_tw/status/2",
            ),
            "d1_surveys.csv": csv(
                "surveys",
                SURVEYS,
                "s1,c2,bob@x.test,2025-03-12 10:00:00,nps,3",
                "s2,c1,ann@x.test,2025-03-13 10:00:00,nps,9",
            ),
            "d1_tickets.csv": csv(
                "tickets",
                TICKETS,
                "t1,c2,bob@x.test,2025-03-11 10:00:00,email,complaint,open,,2025-03-11 10:00:00",
            ),
        },
    ),
    (
        "2025-03-31",  # the month end
        {
            "d2_contacts.csv": csv(
                "contacts",
                CONTACTS,
                # c2 takes ann@x.test: merges onto c1 (the older), with its orders and events
                "c2,ann@x.test,2025-01-10 09:00:00,bob_tw,FR,2025-03-31 08:00:00",
            ),
            "d2_orders.csv": csv(
                "orders",
                ORDERS,
                "o3,c2,bob@x.test,2025-03-10 10:00:00,completed,EUR,30,2025-03-31 09:00:00",
                # a later version with an older updated_at: loses to the one landed
                "o1,c1,ann@x.test,2025-02-01 10:00:00,cancelled,EUR,100,2025-01-15 10:00:00",
            ),
            "d2_events.csv": csv(
                "email_events",
                EVENTS,
                # days late: before the last build's as_of
                "e11,eve@x.test,K1,Spring,delivered,2025-03-01 08:03:00",
                "e12,eve@x.test,K1,Spring,open,2025-03-20 18:00:00",
                # delivered again (another copy of e3): the first copy counts
                "e3,ann@x.test,K1,Spring,open,2025-03-02 09:00:00",
                # without an id, twice in one file: one event
                ",bob@x.test,K3,Flash,sent,2025-03-31 07:00:00",
                ",bob@x.test,K3,Flash,sent,2025-03-31 07:00:00",
            ),
            "d2_mentions.csv": csv(
                "social_mentions",
                MENTIONS,
                # m1 again, and the same post keyed by its URL (R13): one mention
                "m1,twitter,dan_tw,Terrible service,2025-03-15 12:00:00,negative,"
                "https://x.com/dan_tw/status/1",
                "https://x.com/dan_tw/status/1,twitter,dan_tw,Terrible service,"
                "2025-03-15 12:00:00,negative,https://x.com/dan_tw/status/1",
            ),
        },
    ),
    (
        "2025-04-15",  # past c3's creation, o5, K2
        {
            "d3_contacts.csv": csv(
                "contacts",
                CONTACTS,
                # c2 back to bob@x.test: the merge is undone
                "c2,bob@x.test,2025-01-10 09:00:00,bob_tw,FR,2025-04-14 08:00:00",
                # the buyer outside the CRM becomes a contact; dan's handle changes
                "c5,eve@x.test,2025-04-12 09:00:00,,IT,2025-04-12 09:00:00",
                "c4,dan@x.test,2025-02-01 09:00:00,dan_new,DE,2025-04-13 09:00:00",
            ),
            "d3_orders.csv": csv(
                "orders",
                ORDERS,
                # o2 moves to contact c4 with another amount
                "o2,c4,eve@x.test,2025-02-15 10:00:00,refunded,EUR,55,2025-04-14 10:00:00",
                "o7,c3,cy@x.test,2025-04-14 10:00:00,completed,EUR,60,2025-04-14 10:00:00",
            ),
            "d3_tickets.csv": csv(
                "tickets",
                TICKETS,
                "t1,c2,bob@x.test,2025-03-11 10:00:00,email,complaint,solved,"
                "2025-04-02 10:00:00,2025-04-02 10:00:00",
            ),
            "d3_surveys.csv": csv(
                "surveys",
                SURVEYS,
                "s3,,eve@x.test,2025-04-13 10:00:00,nps,10",
            ),
        },
    ),
    ("2025-06-30", {}),  # 90 days past March, a quarter's end, no delivery
    ("2026-03-20", {}),  # past the 12-month window of the first orders and events
]


@pytest.fixture(scope="module")
def job() -> Iterator[tuple[dg.JobDefinition, dg.DagsterInstance]]:
    """Every asset `python -m pipeline run` materialises but the charts, without the GX checks
    (neither changes a mart), as one job; and an instance to run it in."""
    selection = dg.AssetSelection.all() - dg.AssetSelection.assets("retention_charts")
    defs = dg.Definitions.merge(
        build_definitions(),
        dg.Definitions(jobs=[dg.define_asset_job(JOB, selection=selection.without_checks())]),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        yield defs.resolve_job_def(JOB), instance


def generated(tmp: Path) -> dict[str, tuple[str, str]]:
    """Seeded sample exports of 80 customers over the year before the first as_of (main, delta
    and vendor files), delivered on the first day: enough repeat buyers for both prediction
    models to fit at the last as_of, so that their parameters are compared too."""
    first = dt.date.fromisoformat(DAYS[0][0])
    generate(tmp, customers=80, seed=3, as_of=first, months=12, email_events_per_month=2)
    landing = tmp / "landing"
    return {
        f"d0_{path.name}": (path.parent.relative_to(landing).as_posix(), path.read_text("utf-8"))
        for path in sorted(landing.rglob("*.*"))
    }


def deliver(data_dir: Path, files: dict[str, tuple[str, str]]) -> None:
    """Write a day's files into the landing folders of ``data_dir``."""
    for name, (folder, text) in files.items():
        target = data_dir / "landing" / folder
        target.mkdir(parents=True, exist_ok=True)
        (target / name).write_text(text, encoding="utf-8")


def run_at(
    job: tuple[dg.JobDefinition, dg.DagsterInstance], data_dir: Path, as_of: str
) -> list[str]:
    """One run of every asset on ``data_dir`` at ``as_of``, as `python -m pipeline run` does;
    the marts its serving step kept from the previous publication."""
    job_def, instance = job
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PIPELINE_DATA_DIR", str(data_dir))
        mp.setenv("PIPELINE_AS_OF", as_of)
        mp.setenv("PIPELINE_TIMEZONE", "UTC")
        result = job_def.execute_in_process(instance=instance)
    assert result.success, f"the run at {as_of} on {data_dir.name} failed"
    (served,) = result.asset_materializations_for_node("serving_marts")
    kept = served.metadata.get("marts_kept")
    return list(kept.value) if kept is not None else []


@pytest.fixture(scope="module")
def built(job, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, list[str]]:
    """The data directory fed day by day and the one given every file at once, both run; and
    the marts the daily runs' serving steps kept from their previous publication."""
    base = generated(tmp_path_factory.mktemp("generated"))
    days = [(DAYS[0][0], {**base, **DAYS[0][1]}), *DAYS[1:]]
    daily = tmp_path_factory.mktemp("daily")
    kept = []
    for as_of, files in days:
        deliver(daily, files)
        kept += run_at(job, daily, as_of)
    once = tmp_path_factory.mktemp("once")
    for _, files in days:
        deliver(once, files)
    run_at(job, once, days[-1][0])
    return daily, once, kept


def _columns(con: duckdb.DuckDBPyConnection, source: str, mart: str) -> str:
    """The select list of a mart's columns but RUN_TIME, doubles rounded to 9 decimals."""
    described = rows(con, f"select column_name, column_type from (describe select * from {source})")
    return ", ".join(
        f'round("{c}", 9) as "{c}"' if t in ("DOUBLE", "FLOAT") else f'"{c}"'
        for c, t in described
        if (mart, c) not in RUN_TIME
    )


def _source_name(source: str) -> str:
    """How a message names a compared source: the serving file or the Parquet file."""
    return "Parquet" if source.startswith("read_parquet") else "serving file"


def _differences(con: duckdb.DuckDBPyConnection, daily: str, once: str, mart: str) -> str:
    """The rows of one source and not the other (``except all`` both ways), said; "" if none."""
    columns = _columns(con, once, mart)
    a, b = f"select {columns} from {daily}", f"select {columns} from {once}"
    only_daily, only_once = rows(con, f"{a} except all {b}"), rows(con, f"{b} except all {a}")
    if not only_daily and not only_once:
        return ""
    return (
        f"{mart} ({_source_name(once)}) differs: {len(only_daily)} rows only in the build day by "
        f"day, e.g. {only_daily[:5]}; {len(only_once)} only in the build from scratch, e.g. "
        f"{only_once[:5]}"
    )


@pytest.mark.parametrize("mart", mart_names())
def test_a_mart_built_day_by_day_equals_one_built_once(built, mart: str) -> None:
    daily, once, _ = built
    with duckdb.connect() as con:
        for name, folder in (("daily", daily), ("once", once)):
            con.execute(f"attach '{folder / 'serving' / 'marts.duckdb'}' as {name} (read_only)")
        # The Parquet copy too: a mart kept from the previous publication is copied from its
        # Parquet file, not written again.
        parquet = {
            name: f"read_parquet('{folder / 'serving' / 'parquet' / f'{mart}.parquet'}')"
            for name, folder in (("daily", daily), ("once", once))
        }
        problems = [
            _differences(con, f"daily.main.{mart}", f"once.main.{mart}", mart),
            _differences(con, parquet["daily"], parquet["once"], mart),
        ]
        total = rows(con, f"select count(*) from once.main.{mart}")[0][0]
    assert not any(problems), "\n".join(p for p in problems if p)
    assert total > 0, f"{mart} is empty: nothing was compared"


def test_the_day_by_day_build_was_incremental(built) -> None:
    """The comparison above means something only if the daily directory was kept up to date:
    every incremental model was built incrementally after its first build, some builds were
    skipped, the serving step kept marts from its previous publication, and both prediction
    models were fitted (their parameters compared)."""
    daily, once, kept = built
    with duckdb.connect(str(daily / "warehouse.duckdb"), read_only=True) as con:
        kept_up = dict(
            rows(
                con,
                "select model, build_id > rebuilt_build_id from meta.model_builds "
                "where model in (select unnest(?))",
                [[m.name for m in discover_models() if m.incremental]],
            )
        )
        skipped = rows(con, "select count(*) from meta.skipped_builds")[0][0]
    assert kept_up and all(kept_up.values()), kept_up
    assert skipped > 0
    assert kept, "no publication kept a mart of the one before"
    with duckdb.connect(str(once / "serving" / "marts.duckdb"), read_only=True) as con:
        statuses = rows(con, "select distinct model, status from prediction_model order by 1")
    assert statuses == [("bg_nbd", "fitted"), ("gamma_gamma", "fitted")]
