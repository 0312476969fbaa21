"""The three real public exports in ../shared/data (skipped where the folder is absent)."""

from __future__ import annotations

import shutil
from decimal import Decimal

from ingest_support import land, make_settings, query


def deliver(shared_data, data_dir, source: str, landing: str):
    """Copy a real file into landing/ and return settings for the data directory."""
    s = make_settings(data_dir)
    target = s.landing_dir / landing
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(shared_data / source, target)
    return s


def test_online_retail(shared_data, data_dir):
    s = deliver(shared_data, data_dir, "online_retail/online_retail.csv.gz", "crm/orders")
    (report,) = land(s, "orders")
    # SOURCES.md: 541,909 lines, 135,080 without CustomerID. Every invoice carries one
    # customer or none, so no invoice is split: 25,900 invoices, 22,190 with a customer.
    assert (report.mapping, report.rows_read) == ("uci_online_retail", 541_909)
    assert (report.rows_quarantined, report.rows_landed) == (135_080, 22_190)
    reasons = query(s, "select reason, count(*) as n from quarantine_rows group by reason").rows()
    assert reasons == [
        ("neither contact_id ('CustomerID') nor email is given: the row cannot be linked to "
         "anyone", 135_080)
    ]  # fmt: skip
    by_status = query(
        s,
        "select status, count(*) as orders, "
        "count(*) filter (where order_id like 'C%') as c_invoices, "
        "count(*) filter (where gross_amount < 0) as negative "
        "from raw_orders group by status order by status",
    ).rows()
    # 3,654 C invoices with a customer, all cancelled, all with a negative total; no other
    # invoice is cancelled.
    assert by_status == [("cancelled", 3_654, 3_654, 3_654), ("completed", 18_536, 0, 0)]
    # Invoice 536365, its 7 lines: 6×2.55 + 6×3.39 + 8×2.75 + 6×3.39 + 6×3.39 + 2×7.65 + 6×4.25
    # = 15.30 + 20.34 + 22.00 + 20.34 + 20.34 + 15.30 + 25.50 = 139.12.
    first = query(s, "select gross_amount, currency from raw_orders where order_id = '536365'")
    assert first.row(0) == (Decimal("139.12"), "GBP")


def test_cdnow(shared_data, data_dir):
    s = deliver(shared_data, data_dir, "cdnow/CDNOW_master.txt", "crm/orders")
    (report,) = land(s, "orders")
    assert (report.mapping, report.rows_landed, report.rows_quarantined) == ("cdnow", 69_659, 0)
    counts = query(
        s,
        "select count(distinct order_id) as orders, count(distinct contact_id) as customers, "
        "min(ordered_at)::date as first, max(ordered_at)::date as last from raw_orders",
    ).row(0)
    assert counts[:2] == (69_659, 23_570)
    assert (str(counts[2]), str(counts[3])) == ("1997-01-01", "1998-06-30")


def test_airline_tweets_keep_every_distinct_tweet(shared_data, data_dir):
    s = deliver(shared_data, data_dir, "twitter_airline/Tweets.csv", "social/mentions")
    (report,) = land(s, "social_mentions")
    assert (report.rows_landed, report.rows_quarantined) == (14_640, 0)
    stats = query(
        s,
        """
        with per_id as (
            select mention_id, count(*) as n,
                   count(distinct (author_handle, text, posted_at)) as tweets,
                   count(distinct (author_handle, text, posted_at, sentiment)) as versions
            from raw_social_mentions group by mention_id
        )
        select count(*) as ids,
               sum(n - 1) filter (where n > 1) as repeats,
               max(tweets) as max_tweets_per_id,
               count(*) filter (where versions > 1) as relabelled
        from per_id
        """,
    ).row(0)
    # 14,485 distinct ids; the 155 extra rows repeat an earlier tweet (same author, text and
    # time), so de-duplicating by key (staging keeps the first) drops repeats only. In 18 of
    # them the crowd's sentiment label differs from the first copy.
    assert stats == (14_485, 155, 1, 18)


def test_spreadsheet_damaged_tweets_are_refused(shared_data, data_dir):
    s = deliver(shared_data, data_dir, "twitter_airline/Tweets_excel_export.csv", "social/mentions")
    (report,) = land(s, "social_mentions")
    assert report.status == "refused"
    assert report.reason.startswith(
        "the key column 'tweet_id' was damaged by a spreadsheet: 14640 of 14640 ids are in "
        "scientific notation (e.g. '5.67617E+17'), rounded so that only 2434 distinct ids remain"
    )
    moved = s.quarantine_dir / "social/mentions/Tweets_excel_export.csv"
    assert moved.exists() and moved.with_name(moved.name + ".reason.txt").exists()
    assert query(s, "select count(*) as n from raw_social_mentions")["n"][0] == 0


def test_cdnow_sample(shared_data, data_dir):
    s = deliver(shared_data, data_dir, "cdnow/CDNOW_sample.txt", "crm/orders")
    (report,) = land(s, "orders")
    # 6,919 lines, no header: every line lands (wc -l; 2,357 sample ids).
    assert (report.mapping, report.rows_landed, report.rows_quarantined) == (
        "cdnow_sample",
        6_919,
        0,
    )
    counts = query(
        s, "select count(distinct order_id), count(distinct contact_id) from raw_orders"
    ).row(0)
    assert counts == (6_919, 2_357)
