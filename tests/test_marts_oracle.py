"""Differential test: the SQL marts against a second implementation written from the spec.

``tests/oracle`` recomputes all ten SQL marts in plain polars from the landing files (canonical CSV
parsed by ``oracle.landing`` itself, so parsing, decimals and time zones are inside the
comparison; vendor-format samples taken from the raw tables), the settings and
``int_mention_sentiment``. Each configuration generates
seeded exports, runs the real Dagster assets (ingestion, staging, sentiment, intermediate, marts;
the GX checks, serving copy and charts are left out, they do not change a mart) in process, then
compares every mart row by row and column by column (floats to a relative 1e-9, NULL = NULL).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from oracle import OracleSettings, compute_marts
from oracle.common import ntile
from oracle.compare import diff_frames
from oracle.edge_cases import BRAND_HANDLES, write_edge_deliveries
from oracle.landing import read_landing
from oracle.marts import MART_KEYS
from oracle.versions import latest_versions

from pipeline.definitions import build_definitions
from pipeline.entities import ENTITIES
from pipeline.sample_data.generate import generate
from pipeline.warehouse import frame, open_warehouse

GENERATED_AS_OF = dt.date(2026, 10, 31)
MARTS_ONLY = "oracle_marts"


@dataclass(frozen=True)
class Config:
    """One pipeline run: generator seed, settings, and whether the edge deliveries land too."""

    seed: int
    as_of: dt.date
    churn_days: int | None = None
    sla_hours: float | None = None
    edge_cases: bool = False
    timezone: str = "UTC"  # zone of the naive timestamps (about 4 % of the generated ones)
    brand_handles: str | None = None  # PIPELINE_BRAND_HANDLES

    @property
    def settings(self) -> OracleSettings:
        return OracleSettings(
            as_of=self.as_of,
            churn_days=90 if self.churn_days is None else self.churn_days,
            sla_hours=24.0 if self.sla_hours is None else self.sla_hours,
            brand_handles=self.brand_handles or "",
        )


CONFIGS = {
    "defaults": Config(seed=7, as_of=GENERATED_AS_OF),
    "edge_cases": Config(
        seed=23,
        as_of=GENERATED_AS_OF,
        churn_days=60,
        sla_hours=8,
        edge_cases=True,
        # The edge deliveries' posts by the brand's own accounts (oracle/edge_cases.py).
        brand_handles=BRAND_HANDLES,
    ),
    # as_of mid-month: the last month is open and two weeks of exports lie after as_of; naive
    # timestamps read in Bucharest time (UTC+2/+3), which moves some across a month boundary.
    "open_month": Config(
        seed=11,
        as_of=dt.date(2026, 10, 17),
        churn_days=45,
        sla_hours=12.5,
        timezone="Europe/Bucharest",
    ),
}


@dataclass(frozen=True)
class Outcome:
    """The marts as the SQL built them, and as the oracle computes them from the landing files."""

    actual: dict[str, pl.DataFrame]
    expected: dict[str, pl.DataFrame]
    borrowed: dict[str, list[str]]  # per entity, files in a vendor format (read by the pipeline)


@dataclass(frozen=True)
class MartsJob:
    """The job that materialises every asset feeding the marts, and an instance to run it in."""

    job: dg.JobDefinition
    instance: dg.DagsterInstance

    def run(self, env: dict[str, str | None]) -> None:
        """Run the job with the PIPELINE_* settings of ``env`` (None = unset: the default)."""
        with pytest.MonkeyPatch.context() as mp:
            for name, value in env.items():
                if value is None:
                    mp.delenv(name, raising=False)
                else:
                    mp.setenv(name, value)
            assert self.job.execute_in_process(instance=self.instance).success


@pytest.fixture(scope="module")
def marts_job() -> Iterator[MartsJob]:
    """Everything `python -m pipeline run` materialises up to the marts, minus the GX checks,
    the serving copy and the charts (none of which changes a mart); built once, run per config."""
    selection = (
        dg.AssetSelection.all() - dg.AssetSelection.assets("serving_marts", "retention_charts")
    ).without_checks()
    defs = dg.Definitions.merge(
        build_definitions(),
        dg.Definitions(jobs=[dg.define_asset_job(MARTS_ONLY, selection=selection)]),
    )
    with dg.DagsterInstance.ephemeral() as instance:
        yield MartsJob(job=defs.resolve_job_def(MARTS_ONLY), instance=instance)


def _env(data_dir: Path, config: Config) -> dict[str, str | None]:
    """PIPELINE_* variables of a configuration."""
    return {
        "PIPELINE_DATA_DIR": str(data_dir),
        "PIPELINE_AS_OF": config.as_of.isoformat(),
        "PIPELINE_TIMEZONE": config.timezone,
        "PIPELINE_CHURN_DAYS": None if config.churn_days is None else str(config.churn_days),
        "PIPELINE_SLA_HOURS": None if config.sla_hours is None else str(config.sla_hours),
        "PIPELINE_BRAND_HANDLES": config.brand_handles,
    }


def _read_and_compute(data_dir: Path, config: Config) -> Outcome:
    """The SQL marts of a finished run, and the oracle's marts from the same landing files."""
    with open_warehouse(data_dir / "warehouse.duckdb", read_only=True) as con:
        raw = {e.name: frame(con, f"select * from raw.{e.raw_table}") for e in ENTITIES.values()}
        sentiment = frame(con, "select * from intermediate.int_mention_sentiment")
        actual = {name: frame(con, f"select * from marts.{name}") for name in MART_KEYS}
    landed, borrowed = read_landing(data_dir / "landing", raw, timezone=config.timezone)
    expected = compute_marts(landed, sentiment, config.settings)
    return Outcome(actual=actual, expected=expected, borrowed=borrowed)


@pytest.fixture(scope="module", params=list(CONFIGS))
def outcome(request, tmp_path_factory, marts_job: MartsJob) -> Outcome:
    config = CONFIGS[request.param]
    data_dir = tmp_path_factory.mktemp(request.param)
    generate(data_dir, customers=300, seed=config.seed, as_of=GENERATED_AS_OF)
    if config.edge_cases:
        write_edge_deliveries(data_dir / "landing")
    marts_job.run(_env(data_dir, config))
    return _read_and_compute(data_dir, config)


@pytest.mark.parametrize("mart", list(MART_KEYS))
def test_mart_matches_oracle(outcome: Outcome, mart: str) -> None:
    expected, actual = outcome.expected[mart], outcome.actual[mart]
    problems = diff_frames(expected, actual, MART_KEYS[mart])
    assert not problems, f"{mart} differs from the oracle:\n" + "\n".join(problems)
    # Something was compared: channel_retention always has its 5 rows, every other mart data.
    assert actual.height == 5 if mart == "channel_retention" else actual.height > 0


def test_oracle_reads_every_canonical_file_itself(outcome: Outcome) -> None:
    # Only the generator's vendor-format samples are read by the pipeline for the oracle.
    borrowed = [f for files in outcome.borrowed.values() for f in files]
    assert borrowed and all(f.rsplit("/", 1)[1].startswith("vendor_sample") for f in borrowed)


def _cid(natural_key: str) -> str:
    """customer_id worked by hand: first 16 hex of sha256(natural_key)."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


@pytest.fixture(scope="module")
def edge_marts(tmp_path_factory, marts_job: MartsJob) -> dict[str, pl.DataFrame]:
    """The SQL marts of the edge deliveries alone (small enough to work figures out by hand)."""
    config = CONFIGS["edge_cases"]
    data_dir = tmp_path_factory.mktemp("edge_only")
    write_edge_deliveries(data_dir / "landing")
    marts_job.run(_env(data_dir, config))
    outcome = _read_and_compute(data_dir, config)
    for name, keys in MART_KEYS.items():
        problems = diff_frames(outcome.expected[name], outcome.actual[name], keys)
        assert not problems, f"{name} differs from the oracle:\n" + "\n".join(problems)
    return outcome.actual


def _c360(marts: dict[str, pl.DataFrame], natural_key: str) -> dict:
    rows = marts["customer_360"].filter(pl.col("customer_id") == _cid(natural_key))
    assert rows.height == 1, natural_key
    return rows.row(0, named=True)


def test_edge_upserts_by_hand(edge_marts):
    # XC1: 05-01 DE, then no updated_at FR -> the later delivery wins: FR.
    # XC2: 06-01 AT, then 03-01 CH -> the later updated_at wins: AT.
    # XC3: 04-01 IT, then 04-01 ES -> equal, the later delivery wins: ES.
    # XC11: 05-01 DE, none FR, 03-01 IT -> FR replaced DE, IT replaced FR: IT.
    # XC12: none DE, 05-01 FR, 03-01 IT -> FR replaced DE, IT is older than FR: FR.
    countries = {k: _c360(edge_marts, f"contact:{k}")["country"] for k in ("XC1", "XC2", "XC3")}
    countries |= {k: _c360(edge_marts, f"contact:{k}")["country"] for k in ("XC11", "XC12")}
    assert countries == {"XC1": "FR", "XC2": "AT", "XC3": "ES", "XC11": "IT", "XC12": "FR"}
    # XO9 completed (08-02) then cancelled without updated_at; XO10 cancelled (08-05) then an
    # older completed version: both stay cancelled, so XC2 has no purchase.
    assert _c360(edge_marts, "contact:XC2")["purchases"] == 0


def test_edge_identity_by_hand(edge_marts):
    # XC4 and XC5 share "edge.merge@example.com" (after lower/trim) and created_at: XC4 < XC5
    # survives; XC6 moved to another e-mail in its latest version and stays apart.
    ids = set(edge_marts["customer_360"]["customer_id"])
    assert _cid("contact:XC4") in ids and _cid("contact:XC5") not in ids
    assert _cid("contact:XC6") in ids
    xc4 = _c360(edge_marts, "contact:XC4")
    assert xc4["email_sha256"] == hashlib.sha256(b"edge.merge@example.com").hexdigest()
    # XO4 (contact_id XC5) is XC4's: 30; XO5 refunded to net 0 and XO6 pending do not qualify.
    assert {"purchases": xc4["purchases"], "revenue": float(xc4["revenue"])} == {
        "purchases": 1,
        "revenue": 30.0,
    }
    # XR1 nps 3 (10-20) and XR2 nps 9 (10-21, by e-mail in capitals): the latest is 9. XR1's
    # re-delivery with 10 is ignored (immutable: first copy).
    assert xc4["last_nps"] == 9
    # XC7 is created after as_of: its order makes "contact:XC7" a customer outside the CRM;
    # XNC3's only order is after as_of, so it is no customer.
    assert _cid("contact:XC7") in ids and _cid("contact:XNC3") not in ids
    # A buyer keyed by contact_id outside the CRM carries the e-mail of its latest order with one.
    xnc2 = _c360(edge_marts, "contact:XNC2")
    assert xnc2["email_sha256"] == hashlib.sha256(b"outsider2@example.com").hexdigest()


def test_edge_windows_by_hand(edge_marts):
    # churn 60: as_of - 60 = 2026-09-01; XC6's last purchase is on 09-01 (out), XC3's on 09-02.
    assert _c360(edge_marts, "contact:XC6")["is_active"] is False
    assert _c360(edge_marts, "contact:XC3")["is_active"] is True
    # 12 months: XT9 on 2025-10-31 (= as_of - 365) is out; XT10 on 2025-11-01 and XT11 are in.
    assert _c360(edge_marts, "contact:XC3")["tickets_12m"] == 0
    assert _c360(edge_marts, "contact:XC6")["tickets_12m"] == 2
    # 90 days: as_of - 90 = 2026-08-02; xc9's spam complaint on 08-02 is out, xc10's on 08-03 in.
    assert _c360(edge_marts, "contact:XC9")["dissatisfied_90d"] is False
    assert _c360(edge_marts, "contact:XC10")["silent_dissatisfied_90d"] is True


def test_edge_monthly_by_hand(edge_marts):
    october = (
        edge_marts["satisfaction_monthly"]
        .filter(pl.col("month") == dt.date(2026, 10, 1))
        .row(0, named=True)
    )
    # Tickets created in October: XT1-XT8 (8) and XT11 = 9. Eligible for the 8 h SLA: answered
    # XT4 (8 h exactly: met) and XT6 (0.5 h: met); unanswered and created by 10-31 16:00: XT1,
    # XT2, XT5 (its reply is after as_of), XT7, XT8, XT11 -> 8 eligible, 2 met. XT3 (20:00) is not.
    assert october["tickets_created"] == 9
    assert october["sla_met_rate"] == pytest.approx(2 / 8, rel=1e-12)
    # Solved by as_of: XT4 (no solved_at) and XT6; XT5's solved_at is after as_of. FCR: XT4 only
    # (1 reply, empty reopens); XT6 has no agent_replies.
    assert {c: october[c] for c in ("tickets_solved", "fcr_rate")} == {
        "tickets_solved": 2,
        "fcr_rate": 0.5,
    }
    # The unlinked negative blog mention of 2024-06 opens the satisfaction months; the brand's
    # own negative XM10 of 2024-05 is no mention, so no signal either (R15): it opens nothing.
    assert edge_marts["satisfaction_monthly"]["month"].min() == dt.date(2024, 6, 1)
    assert edge_marts["social_monthly"]["month"].min() == dt.date(2024, 6, 1)
    email = edge_marts["email_monthly"].sort("month", "campaign_id")
    # cmp-edge has no delivered event: delivered = sent and not bounced. September: nobuy (sent
    # 09-30, again 10-02) -> 1 sent, 1 delivered, 1 click. October: merge, outsider1 (bounced),
    # edge.future, outsider2 -> 4 sent, 3 delivered, 1 open. cmp-edge2 has a delivered event (of a
    # recipient never sent), so xc10 is sent but not delivered; names tie 1-1: "Alpha".
    cols = ("campaign_name", "sent", "delivered")
    # By (month, campaign_id) and column name, so that a failure says which figure differs.
    assert {
        (row["month"], row["campaign_id"]): {c: row[c] for c in cols}
        for row in email.iter_rows(named=True)
    } == {
        (dt.date(2026, 9, 1), "cmp-edge"): {"campaign_name": "Edge A", "sent": 1, "delivered": 1},
        (dt.date(2026, 9, 1), "cmp-edge2"): {"campaign_name": "Alpha", "sent": 1, "delivered": 0},
        (dt.date(2026, 10, 1), "cmp-edge"): {"campaign_name": "Edge A", "sent": 4, "delivered": 3},
    }
    # Linked mentions: XM1 -> XC8 (oldest holder of edge_handle), XM3 -> XC4 (shared_ig tie on
    # created_at: XC4), XM5 -> XC10 ("XC10" < "XC9"), XM8 -> XC4 (via merged XC5); XM2 and XM7
    # are blog, XM6's handle belongs to a contact that does not exist yet. XM9 ("Mixed") is
    # unlinked and its label is no sentiment: counted in mentions and sentiment_unrecognised.
    # XM11 and XM12 (delivered again under its URL) are the brand's own posts: not counted.
    social = edge_marts["social_monthly"].filter(pl.col("month") == dt.date(2026, 10, 1))
    totals = social.select(
        pl.col("mentions").sum(),
        pl.col("linked_mentions").sum(),
        pl.col("sentiment_delivered").sum(),
        pl.col("sentiment_unrecognised").sum(),
    )
    assert totals.row(0, named=True) == {
        "mentions": 7,
        "linked_mentions": 4,
        "sentiment_delivered": 6,
        "sentiment_unrecognised": 1,
    }


def test_oracle_upsert_rule():
    # Versions in delivery order (updated_at): k1 5, none, 3 -> the third; k2 none, 5, 3 -> the
    # second; k3 2, 2 -> the later delivery; k4 none, none -> the later delivery.
    raw = pl.DataFrame(
        {
            "k": ["k1", "k1", "k1", "k2", "k2", "k2", "k3", "k3", "k4", "k4"],
            "v": ["a", "b", "c", "a", "b", "c", "a", "b", "a", "b"],
            "updated_at": [5, None, 3, None, 5, 3, 2, 2, None, None],
            "_delivery_seq": [1, 2, 3, 1, 2, 3, 1, 2, 1, 2],
            "_row_number": [2] * 10,
        }
    )
    winners = dict(latest_versions(raw, "k").select("k", "v").iter_rows())
    assert winners == {"k1": "c", "k2": "b", "k3": "b", "k4": "b"}


def test_oracle_ntile_matches_sql():
    # ntile(5) over 7 rows: 7 = 5 * 1 + 2, so the first two buckets get 2 rows: 1 1 2 2 3 4 5.
    # Over 3 rows: 1 2 3.
    got = pl.select(ntile(5, pl.int_range(7), pl.lit(7)).alias("n"))["n"].to_list()
    assert got == [1, 1, 2, 2, 3, 4, 5]
    got = pl.select(ntile(5, pl.int_range(3), pl.lit(3)).alias("n"))["n"].to_list()
    assert got == [1, 2, 3]


def test_compare_reports_differences():
    expected = pl.DataFrame({"k": [1, 2, 3], "x": [1.0, None, 0.5], "s": ["a", None, "c"]})
    same = expected.with_columns(pl.col("x") * (1 + 1e-12))
    assert diff_frames(expected, same, ["k"]) == []
    changed = pl.DataFrame({"k": [1, 2, 4], "x": [1.0 + 1e-6, None, 0.5], "s": ["a", "b", "c"]})
    problems = diff_frames(expected, changed, ["k"])
    # k=3 only expected, k=4 only actual, x differs at k=1 (1e-6 > 1e-9), s at k=2 (NULL vs b).
    assert len(problems) == 4
    assert problems[0].startswith("1 rows only in expected")
    assert problems[2].startswith("x: 1 of 2 rows differ")
    assert problems[3].startswith("s: 1 of 2 rows differ")
