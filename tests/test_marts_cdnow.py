"""retention_monthly and cohort_retention on a real purchase log, against an independent oracle.

The CDNOW sample (2,357 customers, 6,919 purchases, 1997-01 to 1998-06) is loaded as orders of
customers outside the CRM; the expected figures are recomputed here in plain Python, day by day,
straight from the definitions in metrics.md.
"""

from __future__ import annotations

import bisect
import datetime as dt

import pytest
from helpers import SHARED_DATA, skip_unless_ci
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

AS_OF = dt.date(1998, 6, 15)  # mid-month: the last month is open
CHURN_DAYS = 60


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)


@pytest.fixture(scope="module")
def cdnow():
    if not SHARED_DATA.is_dir():
        skip_unless_ci("../shared/data is not present")
    lines = (SHARED_DATA / "cdnow" / "CDNOW_sample.txt").read_text().splitlines()
    purchases = []
    for i, line in enumerate(lines):
        _, customer, day, _, dollars = line.split()
        purchases.append(
            (
                f"o{i}",
                f"c{customer}@cdnow.test",
                dt.datetime.strptime(day, "%Y%m%d").date(),
                dollars,
            )
        )
    return purchases


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory, cdnow):
    con = new_warehouse(tmp_path_factory.mktemp("cdnow"))
    write_settings(con, AS_OF.isoformat(), churn_days=CHURN_DAYS)
    insert_rows(
        con,
        "orders",
        [
            {
                "order_id": o,
                "email": e,
                "ordered_at": f"{d} 12:00:00",
                "status": "completed",
                "gross_amount": amount,
            }
            for o, e, d, amount in cdnow
        ],
    )
    build_all(con)
    yield con
    con.close()


def oracle_purchase_days(cdnow) -> dict[str, list[dt.date]]:
    """Qualifying purchase dates per customer: net > 0 and on or before as_of."""
    days: dict[str, set[dt.date]] = {}
    for _, email, day, dollars in cdnow:
        if float(dollars) > 0 and day <= AS_OF:
            days.setdefault(email, set()).add(day)
    return {k: sorted(v) for k, v in days.items()}


def active(days: list[dt.date], on: dt.date) -> bool:
    """Last purchase on or before ``on`` within churn_days: on - churn < last <= on."""
    i = bisect.bisect_right(days, on)
    return i > 0 and (on - days[i - 1]).days < CHURN_DAYS


def test_retention_monthly_matches_the_oracle(warehouse, cdnow):
    days = oracle_purchase_days(cdnow)
    first = min(d[0] for d in days.values())
    expected = []
    month = month_start(first)
    while month <= AS_OF:
        end = min(next_month(month) - dt.timedelta(days=1), AS_OF)
        start_set = {c for c, d in days.items() if active(d, month - dt.timedelta(days=1))}
        new = {c for c, d in days.items() if month <= d[0] <= end}
        end_set = {c for c, d in days.items() if active(d, end)}
        retained = start_set & end_set
        reactivated = end_set - start_set - new
        expected.append(
            (month, len(start_set), len(new), len(retained), len(reactivated), len(end_set))
        )
        month = next_month(month)
    got = records(
        warehouse,
        "select month, customers_start, new_customers, retained_customers, "
        "reactivated_customers, customers_end from retention_monthly order by month",
    )
    assert [tuple(r.values()) for r in got] == expected
    assert len(expected) == 18  # 1997-01 .. 1998-06
    assert sum(e[4] for e in expected) > 0  # the log has reactivations to get right


def test_cohort_retention_matches_the_oracle(warehouse, cdnow):
    days = oracle_purchase_days(cdnow)
    cohorts: dict[dt.date, list[str]] = {}
    for customer, d in days.items():
        cohorts.setdefault(month_start(d[0]), []).append(customer)
    expected = []
    for cohort in sorted(cohorts):
        members = cohorts[cohort]
        month, k = cohort, 0
        while month <= AS_OF:
            retained = sum(1 for c in members if any(month_start(x) == month for x in days[c]))
            expected.append((cohort, k, len(members), retained))
            month, k = next_month(month), k + 1
    got = records(
        warehouse,
        "select cohort_month, months_since_first, cohort_size, retained_customers "
        "from cohort_retention order by 1, 2",
    )
    assert [tuple(r.values()) for r in got] == expected
