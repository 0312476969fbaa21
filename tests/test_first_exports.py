"""A new user's first exports: the real ``pipeline run`` (the command line's ``main``, in this
process) on the small, partial data sets a team tries the product with, every figure worked out
by hand from the rows below and docs/metrics.md.

Three data directories, four runs, built once for the file (a module fixture):

- ``shop``: a CRM export of 3 contacts and 3 orders (as of 2026-10-30); the next day one order
  is cancelled and the e-mail, social, ticket and survey exports arrive for the first time, with
  a repeat order (as of 2026-10-31). The cancellation takes one of the three buyers away: the
  shrink guard failed that run before (``ceil(3 × 0.75) = 3`` rows at least, 2 left), and
  nothing was published.
- ``no_crm``: only an e-mail export and a social export: no customer, no purchase.
- ``nothing_usable``: a contacts file with a header only, a 0-byte tickets file and an orders
  file whose every row is quarantined: refused and quarantined with their reasons, exit
  status 3, every mart published with its columns (empty where the spec says so).

The predictions' too-little-data cases (one customer, nobody bought twice, everything on one
day) are the fit's rule, "fewer than 20 customers with frequency >= 1": every prediction column
NULL and the reason in ``prediction_model.status``; so are 25 repeat buyers all alike, which
identify no parameter (the last two tests, on ``predict`` alone, without a run).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipeline.engine import mart_names
from pipeline.entities import ENTITIES

pytestmark = pytest.mark.slow  # four runs of every asset: 34-40 s of CPU

MARTS = set(mart_names())
D = dt.date
CONTACTS = (
    "c1,a@x.com,Ann,Bell,,2026-01-05,RO,ro,referral,,ann,,,,\n"
    "c2,b@x.com,Bob,Cole,,2026-02-01,DE,de,organic,,,,,,\n"
    "c3,c@x.com,Cid,Dunn,,2026-03-01,FR,fr,paid,,,,,,\n"
)
ORDERS_DAY1 = (
    "o1,c1,,2026-03-10 10:00,completed,EUR,10,,,2026-03-10 10:00\n"
    "o2,c2,,2026-05-05 10:00,completed,EUR,20,,,2026-05-05 10:00\n"
    "o3,c3,,2026-10-20 10:00,completed,EUR,30,,,2026-10-20 10:00\n"
)
# Day 2: o3 cancelled (a later updated_at wins), and c1 buys again.
ORDERS_DAY2 = (
    "o3,c3,,2026-10-20 10:00,cancelled,EUR,30,,,2026-10-30 12:00\n"
    "o4,c1,,2026-10-30 10:00,completed,EUR,15,,,2026-10-30 10:00\n"
)
TICKETS = "t1,c1,,2026-10-30 09:00,email,complaint,solved,2026-10-30 10:00,2026-10-30 12:00,1,0,\n"
SURVEYS = "r1,c1,,2026-10-30 11:00,nps,3,bad,\nr2,,b@x.com,2026-10-30 11:00,csat,5,,\n"
SHOP_MENTIONS = (
    "m1,twitter,@ann,Ann,love it,en,2026-10-30 08:00,positive,,\n"
    "m2,twitter,@zed,Zed,awful,en,2026-10-31 08:00,negative,2026-10-31 09:00,\n"
)
SHOP_EMAIL = (
    "e1,a@x.com,k1,Autumn,sent,2026-10-31 08:00,\ne2,a@x.com,k1,Autumn,open,2026-10-31 09:00,\n"
)
EMAIL = (
    "e1,a@x.com,k1,Spring,sent,2026-09-01 08:00,\n"
    "e2,a@x.com,k1,Spring,delivered,2026-09-01 08:01,\n"
    "e3,a@x.com,k1,Spring,open,2026-09-01 09:00,\n"
    "e4,b@x.com,k1,Spring,sent,2026-09-01 08:00,\n"
)
MENTIONS = (
    "m1,twitter,@ann,Ann,love it,en,2026-09-05 08:00,positive,,\n"
    "m2,twitter,@zed,Zed,awful,en,2026-10-05 08:00,negative,2026-10-05 09:00,\n"
)
# No contact_id nor e-mail; a date that is none.
BAD_ORDERS = "o1,,,2026-03-10 10:00,completed,EUR,10,,,\no2,,q@x.com,notadate,completed,EUR,20,,,\n"
# The public customer_id: the first 16 hex digits of sha256('contact:<id>') (contracts.md).
C1, C2, C3 = "c2b42e7109be3de6", "28ff9e64d081d8da", "0edc1b8623ffd09c"


@dataclass
class Run:
    """One ``pipeline run``: its exit status and what it printed."""

    status: int
    out: str


def header(entity: str) -> str:
    return ",".join(ENTITIES[entity].columns) + "\n"


def deliver(data_dir: Path, entity: str, name: str, rows: str | None, raw: str = "") -> None:
    """A canonical delivery (``rows`` under the entity's header), or ``raw`` bytes as they are."""
    folder = data_dir / "landing" / ENTITIES[entity].landing_path
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(raw if rows is None else header(entity) + rows, encoding="utf-8")


def run(data_dir: Path, as_of: str) -> Run:
    """``python -m pipeline run`` on ``data_dir`` as of ``as_of``, by ``main`` in this process."""
    from pipeline.__main__ import main

    out = io.StringIO()
    with pytest.MonkeyPatch.context() as env, contextlib.redirect_stdout(out):
        env.setenv("PIPELINE_DATA_DIR", str(data_dir))
        env.setenv("PIPELINE_AS_OF", as_of)
        env.setenv("PIPELINE_DATA_DOCS", "failures")
        env.delenv("DAGSTER_HOME", raising=False)
        status = main(["run"])
    return Run(status, out.getvalue())


@dataclass
class FirstDays:
    shop: Path
    no_crm: Path
    nothing_usable: Path
    runs: dict[str, Run]


@pytest.fixture(scope="module")
def first(tmp_path_factory: pytest.TempPathFactory) -> FirstDays:
    shop = tmp_path_factory.mktemp("shop")
    deliver(shop, "contacts", "contacts.csv", CONTACTS)
    deliver(shop, "orders", "orders_1.csv", ORDERS_DAY1)
    runs = {"shop day 1": run(shop, "2026-10-30")}
    deliver(shop, "orders", "orders_2.csv", ORDERS_DAY2)
    deliver(shop, "tickets", "tickets.csv", TICKETS)
    deliver(shop, "surveys", "surveys.csv", SURVEYS)
    deliver(shop, "social_mentions", "mentions.csv", SHOP_MENTIONS)
    deliver(shop, "email_events", "events.csv", SHOP_EMAIL)
    runs["shop day 2"] = run(shop, "2026-10-31")

    no_crm = tmp_path_factory.mktemp("no_crm")
    deliver(no_crm, "email_events", "events.csv", EMAIL)
    deliver(no_crm, "social_mentions", "mentions.csv", MENTIONS)
    runs["no crm"] = run(no_crm, "2026-10-31")

    nothing = tmp_path_factory.mktemp("nothing_usable")
    deliver(nothing, "contacts", "contacts.csv", "")
    deliver(nothing, "tickets", "tickets.csv", None, raw="")
    deliver(nothing, "orders", "orders.csv", BAD_ORDERS)
    runs["nothing usable"] = run(nothing, "2026-10-31")
    return FirstDays(shop, no_crm, nothing, runs)


def rows(data_dir: Path, sql: str) -> list[tuple]:
    """Rows of ``sql`` on the serving file (what BI reads)."""
    con = duckdb.connect(str(data_dir / "serving" / "marts.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def served_columns(data_dir: Path) -> dict[str, list[tuple[str, str]]]:
    found: dict[str, list[tuple[str, str]]] = {}
    for table, column, kind in rows(
        data_dir,
        "select table_name, column_name, data_type from information_schema.columns "
        "order by table_name, ordinal_position",
    ):
        found.setdefault(table, []).append((column, kind))
    return found


def test_every_run_ends_with_the_documented_status(first: FirstDays) -> None:
    assert {name: r.status for name, r in first.runs.items()} == {
        "shop day 1": 0,
        "shop day 2": 0,  # 1 before: loyalty_customers and customer_predictions "shrank"
        "no crm": 0,
        "nothing usable": 3,  # files refused, rows quarantined
    }


def test_a_cancelled_first_order_is_not_lost_input(first: FirstDays) -> None:
    # Day 1: three buyers. Day 2: c3's only order is cancelled, c1 buys again: two buyers.
    got = rows(
        first.shop,
        "select customer_id, purchases, revenue, recency_days, tenure_days, r_score, f_score, "
        "m_score, rfm_segment, loyalty_tier, is_referred, helped_12m, is_active "
        "from loyalty_customers order by customer_id",
    )
    # recency by UTC date to 2026-10-31: c2 179 days (05-05), c1 1 (10-30); ntile(5) over 2 rows.
    assert got == [
        (C2, 1, Decimal(20), 179, 179, 1, 1, 1, "Lost", "new", False, False, False),
        (C1, 2, Decimal(25), 1, 235, 2, 2, 2, "Hibernating", "repeat", True, True, True),
    ]
    assert rows(first.shop, "select * from loyalty_summary") == [
        # repeat 1 of 2; helped: c1 (a ticket), a repeat buyer: ror 1/1.
        (D(2026, 10, 31), 2, 1, 0.5, 0, 0.0, 1, 1, 1.0)
    ]
    c3 = rows(
        first.shop,
        "select purchases, revenue, loyalty_tier, is_active, is_churned "
        f"from customer_360 where customer_id = '{C3}'",
    )
    assert c3 == [(0, Decimal(0), None, False, False)]


def test_retention_from_the_first_purchase_month_to_as_of(first: FirstDays) -> None:
    # c1 bought 03-10 and 10-30, c2 05-05; churn_days 90: active on D while D - 90 < last <= D.
    got = rows(first.shop, "select * from retention_monthly order by month")
    assert [r[0] for r in got] == [D(2026, m, 1) for m in range(3, 11)]
    assert [r[1:] for r in got] == [
        (True, 0, 1, 0, 0, 1, 0, None, None, None),  # March: c1 new; S = 0, rates NULL
        (True, 1, 0, 1, 0, 1, 0, 1.0, 0.0, 1.0),
        (
            True,
            1,
            1,
            1,
            0,
            2,
            0,
            1.0,
            0.0,
            1.0,
        ),  # May: c2 new; c1 still active (05-31 - 90 = 03-02)
        (True, 2, 0, 1, 0, 1, 1, 0.5, 0.5, 0.5),  # June 30 - 90 = April 1: c1 churned
        (True, 1, 0, 1, 0, 1, 0, 1.0, 0.0, 1.0),
        (True, 1, 0, 0, 0, 0, 1, 0.0, 1.0, 0.0),  # August 31 - 90 = June 2: c2 churned
        (True, 0, 0, 0, 0, 0, 0, None, None, None),
        (True, 0, 0, 0, 1, 1, 0, None, None, None),  # October: c1 back (10-30), reactivated
    ]
    cohorts = rows(
        first.shop,
        "select cohort_month, count(*), sum(retained_customers), max(cohort_size) "
        "from cohort_retention group by all order by 1",
    )
    # March: k = 0 … 7, bought again in October (k = 7); May: k = 0 … 5.
    assert cohorts == [(D(2026, 3, 1), 8, 2, 1), (D(2026, 5, 1), 6, 1, 1)]


def test_sources_arriving_on_a_later_day_count_from_that_day(first: FirstDays) -> None:
    assert rows(first.shop, "select * from satisfaction_monthly") == [
        # NPS 3 (a detractor), CSAT 5; the ticket answered in 1 h, solved in 3 h with one
        # reply; c1 dissatisfied (NPS 3) but not silent (a ticket that month).
        (D(2026, 10, 1), True, 1, 0, 0, 1, -100.0, 1, 1.0, 0, None, 1, 1, 1.0, 1.0, 1.0, 3.0,
         1.0, 1, 1, 0, 0.0),
    ]  # fmt: skip
    assert rows(
        first.shop,
        "select month, platform, mentions, net_sentiment, linked_mentions, replied, "
        "response_rate, median_response_minutes from social_monthly",
    ) == [(D(2026, 10, 1), "twitter", 2, 0.0, 1, 1, 0.5, 60.0)]
    # k1 has no delivered event: delivered = sent and not bounced = 1.
    assert rows(
        first.shop,
        "select month, campaign_id, sent, delivered, unique_opens, open_rate from email_monthly",
    ) == [(D(2026, 10, 1), "k1", 1, 1, 1, 1.0)]
    assert rows(
        first.shop,
        "select channels_engaged, customers, active_customers, active_rate from channel_retention",
    ) == [(0, 0, 0, None), (1, 1, 0, 0.0), (2, 0, 0, None), (3, 0, 0, None), (4, 1, 1, 1.0)]


def test_too_few_repeat_buyers_is_said_not_fitted(first: FirstDays) -> None:
    got = rows(
        first.shop,
        "select customer_id, frequency, recency_weeks, age_weeks, p_alive, "
        "expected_purchases_90d, expected_order_value, predicted_clv_365d, churn_risk "
        "from customer_predictions order by customer_id",
    )
    # c1: 03-10 → 10-30 is 234 days, 03-10 → 10-31 235; c2: 05-05 → 10-31 179 (weeks to the
    # last bit of a float: the mart divides a duration, not the day count).
    assert got == [
        (C2, 0, 0.0, pytest.approx(179 / 7), None, None, None, None, None),
        (C1, 1, pytest.approx(234 / 7), pytest.approx(235 / 7), None, None, None, None, None),
    ]
    model = rows(
        first.shop, "select model, parameter, value, customers, status from prediction_model"
    )
    reason = "too few repeat customers to fit: 1 with frequency >= 1, 20 needed"
    assert model == [("bg_nbd", p, None, 2, reason) for p in ("r", "alpha", "a", "b")] + [
        ("gamma_gamma", p, None, 1, reason) for p in ("p", "q", "gamma")
    ]


def test_only_email_and_social_exports(first: FirstDays) -> None:
    d = first.no_crm
    # b@x.com was sent and never delivered while k1 has delivered events: delivered = 1.
    assert rows(d, "select * from email_monthly") == [
        (D(2026, 9, 1), "k1", "Spring", 2, 1, 0, 1, 0, 0, 0, 1.0, 0.0, 0.0)
    ]
    assert rows(
        d,
        "select month, mentions, positive, negative, net_sentiment, response_rate "
        "from social_monthly order by 1",
    ) == [(D(2026, 9, 1), 1, 1, 0, 1.0, 0.0), (D(2026, 10, 1), 1, 0, 1, -1.0, 1.0)]
    # The negative mention is a signal (it opens the month range, docs/open-rules.md R7),
    # of no customer: no contact holds @zed.
    assert rows(
        d, "select month, dissatisfied_customers, silent_share from satisfaction_monthly"
    ) == [(D(2026, 10, 1), 0, None)]
    assert rows(d, "select count(*) from customer_360") == [(0,)]
    assert rows(d, "select count(*) from retention_monthly") == [(0,)]


def test_nothing_usable_is_refused_with_reasons_and_every_mart_is_published(
    first: FirstDays,
) -> None:
    d, out = first.nothing_usable, first.runs["nothing usable"].out
    assert "crm/contacts/contacts.csv: REFUSED — the file has a header but no rows" in out
    assert "crm/tickets/tickets.csv: REFUSED — the file is empty (0 bytes" in out
    assert "crm/orders/orders.csv: 2 rows read, 0 landed, 2 quarantined" in out
    assert "neither contact_id nor email is given" in out
    assert "cannot read 'notadate' as an ISO 8601 timestamp" in out
    counts = {t: rows(d, f"select count(*) from {t}")[0][0] for t in MARTS}
    assert counts == {
        **{t: 0 for t in MARTS},
        "channel_retention": 5,
        "loyalty_summary": 1,
        "prediction_model": 7,
    }
    assert rows(d, "select * from loyalty_summary") == [
        (D(2026, 10, 31), 0, 0, None, 0, None, 0, 0, None)
    ]
    assert rows(d, "select * from channel_retention") == [(k, 0, 0, None) for k in range(5)]
    assert rows(d, "select distinct status, value from prediction_model") == [
        ("too few repeat customers to fit: 0 with frequency >= 1, 20 needed", None)
    ]
    assert "retention_charts: no cohorts yet: no charts drawn" in out
    assert not list((d / "docs").glob("*.png"))
    # The headlines' note on the charts' measure is for charts there are.
    assert "0 customers with at least one qualifying purchase" in out
    assert "the charts' cohort retention is another measure" not in out
    assert "the charts' cohort retention is another measure" in first.runs["shop day 2"].out


def test_empty_marts_keep_the_columns_and_types_of_full_ones(first: FirstDays) -> None:
    # The serving file and each Parquet copy: the same tables, columns and types either way.
    full, empty = served_columns(first.shop), served_columns(first.nothing_usable)
    assert set(full) == MARTS | {"publication"}
    assert empty == full
    for table in MARTS:
        parquet = first.nothing_usable / "serving" / "parquet" / f"{table}.parquet"
        described = duckdb.sql(f"describe select * from read_parquet('{parquet}')").fetchall()
        assert [(c[0], c[1]) for c in described] == full[table], table


def first_day_prediction(rows: list[tuple[str, dt.date, float]]):
    """The predictions of purchase days (customer, day, amount) as of 2026-10-31."""
    import polars as pl

    from pipeline.predict.model import predict

    days = pl.DataFrame(
        rows,
        schema={"customer_id": pl.String, "day": pl.Date, "amount": pl.Float64},
        orient="row",
    )
    return predict(days, D(2026, 10, 31), 0.01, dt.datetime(2026, 11, 1))


def test_every_purchase_on_one_day_is_no_repeat_buyer() -> None:
    # 25 customers, each with one purchase day 2026-06-15 (two orders that day are one day).
    got = first_day_prediction([(f"c{i:02}", D(2026, 6, 15), 10.0 + i) for i in range(25)])
    assert got.bg_status == "too few repeat customers to fit: 0 with frequency >= 1, 20 needed"
    assert got.customers["frequency"].to_list() == [0] * 25
    # 06-15 → 10-31: 138 days.
    assert got.customers["age_weeks"].to_list() == pytest.approx([138 / 7] * 25)
    assert got.customers["p_alive"].null_count() == 25
    assert got.model["value"].null_count() == 7


def test_repeat_buyers_all_alike_are_not_a_fit() -> None:
    # 25 repeat buyers, every one on 2026-01-01 and 2026-01-02 for 10: enough customers, but no
    # spread to estimate from; the optimiser runs a parameter to its bound, and nothing absurd
    # is published.
    alike = [(f"c{i:02}", D(2026, 1, d), 10.0) for i in range(25) for d in (1, 2)]
    got = first_day_prediction(alike)
    assert got.bg_status == (
        "BG/NBD fit did not converge: a parameter ran to the edge of its range (e^±12): "
        "the data do not identify it"
    )
    assert got.gg_status == got.bg_status
    predicted = got.customers.select(
        "p_alive", "expected_purchases_365d", "expected_order_value", "predicted_clv_365d"
    )
    assert predicted.null_count().row(0) == (25, 25, 25, 25)
    assert got.model["value"].null_count() == 7


def test_no_rate_is_nan_or_infinite(first: FirstDays) -> None:
    # Zero denominators give NULL (metrics.md, conventions), never NaN or ±inf.
    for d in (first.shop, first.no_crm, first.nothing_usable):
        doubles = [
            (t, c)
            for t, cols in served_columns(d).items()
            for c, kind in cols
            if kind == "DOUBLE" and t in MARTS
        ]
        assert len(doubles) > 30
        bad = {
            (t, c): n
            for t, c in doubles
            for (n,) in rows(d, f'select count(*) from {t} where not isfinite("{c}")')
            if n
        }
        assert bad == {}, d.name
