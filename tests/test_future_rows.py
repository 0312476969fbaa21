"""Rows dated after as_of: the marts ignore such rows (generated data for today, with an order
dated after as_of, runs end to end through the command line: tests/test_cli_e2e.py).

The rule (docs/architecture.md, input contracts): a row dated after the end of as_of lands (the
landed suite warns, naming the rule), and every SQL model treats it as not yet happened, so the
marts are those of the same data without it until as_of reaches it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, write_settings
from test_cli_e2e import MARTS

from pipeline.predict.docs import PREDICTION_MARTS
from pipeline.warehouse import frame

AS_OF = "2024-06-30"  # ends 2024-07-01 00:00 UTC: everything dated from then on is "future"
# The SQL marts (build_all); the prediction marts are fitted in Python (tests/test_predict_*).
MARTS_SORTED = sorted(MARTS - set(PREDICTION_MARTS))


def _deliveries(future: bool) -> dict[str, list[dict]]:
    """Canonical rows before as_of; with ``future``, also rows and values dated after it."""
    t2 = {
        "ticket_id": "t2", "contact_id": "c2", "created_at": "2024-06-30 20:00:00",
        "channel": "email", "category": "question", "status": "open",
        "updated_at": "2024-06-30 20:00:00",
    }  # fmt: skip
    rows = {
        "contacts": [
            {"contact_id": "c1", "email": "a@x.test", "created_at": "2023-01-01 00:00:00",
             "twitter_handle": "ann"},
            {"contact_id": "c2", "email": "b@x.test", "created_at": "2023-02-01 00:00:00"},
        ],
        "orders": [
            {"order_id": "o1", "contact_id": "c1", "ordered_at": "2024-01-10 10:00:00",
             "status": "completed", "currency": "EUR", "gross_amount": "10"},
            {"order_id": "o2", "contact_id": "c2", "ordered_at": "2024-03-05 10:00:00",
             "status": "completed", "currency": "EUR", "gross_amount": "20"},
            {"order_id": "o3", "contact_id": "c1", "ordered_at": "2024-06-30 23:59:59",
             "status": "completed", "currency": "EUR", "gross_amount": "15"},
        ],
        "tickets": [
            {"ticket_id": "t1", "contact_id": "c1", "created_at": "2024-02-01 09:00:00",
             "channel": "email", "category": "question", "status": "solved",
             "first_response_at": "2024-02-01 10:00:00", "solved_at": "2024-02-02 09:00:00"},
            t2,
        ],
        "surveys": [
            {"response_id": "r1", "contact_id": "c1", "responded_at": "2024-02-02 09:00:00",
             "survey_type": "nps", "score": "9"},
        ],
        "email_events": [
            {"event_id": "e1", "email": "a@x.test", "campaign_id": "k1",
             "event_type": "delivered", "occurred_at": "2024-06-01 08:00:00"},
            {"event_id": "e2", "email": "a@x.test", "campaign_id": "k1",
             "event_type": "open", "occurred_at": "2024-06-01 09:00:00"},
        ],
        "social_mentions": [
            {"mention_id": "m1", "platform": "twitter", "author_handle": "ann",
             "text": "love it", "posted_at": "2024-06-05 08:00:00", "sentiment": "positive",
             # A brand reply after as_of is no reply.
             "brand_replied_at": "2024-07-03 08:00:00" if future else None},
        ],
    }  # fmt: skip
    if not future:
        return rows
    later = {
        # A contact created after as_of (its e-mail is c1's: no merge yet) and one of its own.
        "contacts": [
            {"contact_id": "c3", "email": "a@x.test", "created_at": "2024-07-01 00:00:00"},
            {"contact_id": "c4", "email": "d@x.test", "created_at": "2024-08-01 00:00:00",
             "twitter_handle": "dee"},
        ],
        # Orders from the first instant after as_of on: a contact's, a new key's, c4's.
        "orders": [
            {"order_id": "o4", "contact_id": "c1", "ordered_at": "2024-07-01 00:00:00",
             "status": "completed", "currency": "EUR", "gross_amount": "50"},
            {"order_id": "o5", "email": "new@x.test", "ordered_at": "2024-07-02 00:00:00",
             "status": "completed", "currency": "EUR", "gross_amount": "70"},
            {"order_id": "o6", "contact_id": "c4", "ordered_at": "2024-08-02 00:00:00",
             "status": "completed", "currency": "EUR", "gross_amount": "30"},
        ],
        # t2 answered and solved after as_of (a later version), and a ticket opened after it.
        "tickets": [
            {**t2, "status": "solved", "first_response_at": "2024-07-01 08:00:00",
             "solved_at": "2024-07-02 09:00:00", "updated_at": "2024-07-02 09:00:00"},
            {"ticket_id": "t3", "contact_id": "c1", "created_at": "2024-07-01 00:00:01",
             "channel": "chat", "category": "complaint", "status": "new"},
        ],
        "surveys": [
            {"response_id": "r2", "contact_id": "c2", "responded_at": "2024-07-01 00:00:00",
             "survey_type": "nps", "score": "0"},
        ],
        "email_events": [
            {"event_id": "e3", "email": "b@x.test", "campaign_id": "k2",
             "event_type": "delivered", "occurred_at": "2024-07-01 00:00:00"},
            {"event_id": "e4", "email": "a@x.test", "campaign_id": "k1",
             "event_type": "spam_complaint", "occurred_at": "2024-07-05 00:00:00"},
        ],
        "social_mentions": [
            {"mention_id": "m2", "platform": "twitter", "author_handle": "ann",
             "text": "awful", "posted_at": "2024-07-02 00:00:00", "sentiment": "negative"},
            {"mention_id": "m3", "platform": "twitter", "author_handle": "dee",
             "text": "meh", "posted_at": "2024-08-03 00:00:00", "sentiment": "neutral"},
        ],
    }  # fmt: skip
    return {name: rows[name] + later[name] for name in rows}


def _marts(tmp_path: Path, future: bool) -> dict:
    """Every mart built from the deliveries, as sorted frames."""
    folder = tmp_path / ("future" if future else "base")
    folder.mkdir()
    con = new_warehouse(folder)
    try:
        for entity, rows in _deliveries(future).items():
            # The later versions of a key (t2) come in a later delivery, as a real re-export.
            seen: set[str] = set()
            first, second = [], []
            key = next(iter(rows[0]))
            for row in rows:
                (second if row[key] in seen else first).append(row)
                seen.add(row[key])
            insert_rows(con, entity, first, delivery_seq=1)
            insert_rows(con, entity, second, delivery_seq=2)
        write_settings(con, AS_OF)
        build_all(con)
        return {
            name: frame(con, f"select * from marts.{name} order by all") for name in MARTS_SORTED
        }
    finally:
        con.close()


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> tuple[dict, dict]:
    tmp = tmp_path_factory.mktemp("future_rows")
    return _marts(tmp, future=False), _marts(tmp, future=True)


@pytest.mark.parametrize("mart", MARTS_SORTED)
def test_rows_after_as_of_change_no_mart(both, mart: str) -> None:
    base, with_future = both
    assert with_future[mart].equals(base[mart]), (base[mart], with_future[mart])


def test_the_base_marts_are_worked_out_by_hand(both) -> None:
    # Guards the comparison above against two empty results: c1 (o1, o3) and c2 (o2) are the
    # only buyers by as_of, c1 a repeat buyer; c1's mention is positive and unanswered; t2 is
    # neither answered nor solved by as_of.
    base, _ = both
    summary = base["loyalty_summary"].to_dicts()[0]
    assert (summary["customers"], summary["repeat_customers"]) == (2, 1)
    assert base["customer_360"].height == 2
    social = base["social_monthly"].filter(base["social_monthly"]["mentions"] > 0).to_dicts()
    assert [(r["month"].isoformat(), r["mentions"]) for r in social] == [("2024-06-01", 1)]
