"""satisfaction_monthly against figures worked out by hand.

as_of = 2024-03-15 (end of as_of = 2024-03-16 00:00 UTC), sla_hours = 24.
"""

from __future__ import annotations

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings


def ticket(ticket_id: str, who: str, created_at: str, status: str, **extra) -> dict:
    key = {"email": who} if "@" in who else {"contact_id": who}
    return {"ticket_id": ticket_id, "created_at": created_at, "status": status, **key, **extra}


def survey(response_id: str, who: str, responded_at: str, survey_type: str, score: int) -> dict:
    key = {"email": who} if "@" in who else {"contact_id": who}
    return {
        "response_id": response_id,
        "responded_at": responded_at,
        "survey_type": survey_type,
        "score": score,
        **key,
    }


def mention(mention_id: str, handle: str, posted_at: str, sentiment: str | None, text=None):
    return {
        "mention_id": mention_id,
        "platform": "twitter",
        "author_handle": handle,
        "posted_at": posted_at,
        "sentiment": sentiment,
        "text": text,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("satisfaction"))
    write_settings(con, "2024-03-15", sla_hours=24)
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": c,
                "created_at": "2023-01-01 00:00:00",
                "email": f"{c.lower()}@x.test",
                "twitter_handle": f"{c.lower()}handle",
            }
            for c in ["P", "R", "U", "V", "W", "Y", "Z", "O"]
        ],
    )
    insert_rows(
        con,
        "tickets",
        [
            # February
            ticket(
                "T1",
                "P",
                "2024-02-01 10:00:00",
                "solved",
                first_response_at="2024-02-01 12:00:00",
                solved_at="2024-02-02 10:00:00",
                agent_replies=1,
                category="complaint",
            ),
            ticket(
                "T2",
                "W",
                "2024-02-10 00:00:00",
                "closed",
                first_response_at="2024-02-11 06:00:00",
                solved_at="2024-02-12 00:00:00",
                agent_replies=3,
                reopens=1,
                category="question",
            ),
            ticket("T3", "U", "2024-02-20 00:00:00", "open"),
            ticket(
                "T4",
                "O",
                "2024-02-25 00:00:00",
                "solved",
                first_response_at="2024-02-26 00:00:00",
                agent_replies=1,
                reopens=1,
            ),
            # reply and solution after as_of: neither has happened yet
            ticket(
                "T5",
                "O",
                "2024-02-28 00:00:00",
                "solved",
                first_response_at="2024-03-20 00:00:00",
                solved_at="2024-03-20 00:00:00",
                agent_replies=1,
                reopens=0,
            ),
            # March
            ticket("T6", "O", "2024-03-15 12:00:00", "new"),
            ticket("T7", "O", "2024-03-14 23:00:00", "open"),
            ticket(
                "T8",
                "Y",
                "2024-03-15 20:00:00",
                "pending",
                first_response_at="2024-03-15 21:30:00",
                category="complaint",
            ),
            ticket("T9", "O", "2024-03-16 01:00:00", "open"),
            ticket(
                "T10",
                "q@x.test",
                "2024-03-01 00:00:00",
                "closed",
                first_response_at="2024-03-02 01:00:00",
                solved_at="2024-03-03 00:00:00",
                agent_replies=1,
                reopens=0,
            ),
            ticket("T11", "O", "2024-03-15 00:00:00", "open"),
        ],
    )
    insert_rows(
        con,
        "surveys",
        [
            survey("n1", "P", "2024-02-03 10:00:00", "nps", 0),
            survey("n2", "U", "2024-02-03 10:00:00", "nps", 6),
            survey("n3", "O", "2024-02-03 10:00:00", "nps", 7),
            survey("n4", "O", "2024-02-04 10:00:00", "nps", 8),
            survey("n5", "O", "2024-02-05 10:00:00", "nps", 9),
            survey("n6", "O", "2024-02-06 10:00:00", "nps", 10),
            survey("n7", "O", "2024-02-07 10:00:00", "nps", 10),
            survey("s1", "R", "2024-02-03 10:00:00", "csat", 1),
            survey("s2", "s@x.test", "2024-02-03 10:00:00", "csat", 2),
            survey("s3", "O", "2024-02-03 10:00:00", "csat", 3),
            survey("s4", "O", "2024-02-03 10:00:00", "csat", 4),
            survey("s5", "O", "2024-02-03 10:00:00", "csat", 5),
            survey("e1", "R", "2024-02-03 10:00:00", "ces", 1),
            survey("e2", "P", "2024-02-03 10:00:00", "ces", 7),
            survey("n8", "O", "2024-03-05 10:00:00", "nps", 10),
            survey("e3", "W", "2024-03-05 10:00:00", "ces", 3),
            survey("e4", "O", "2024-03-05 10:00:00", "ces", 4),
            # at the end of as_of: not yet
            survey("n9", "O", "2024-03-16 00:00:00", "nps", 0),
        ],
    )
    insert_rows(
        con,
        "email_events",
        [
            {
                "email": "v@x.test",
                "campaign_id": "c",
                "event_type": "spam_complaint",
                "occurred_at": "2024-02-05 10:00:00",
            },
            # A send (no signal) in November 2023: the warehouse's months start there, this
            # mart's still at its first signal, in January.
            {
                "email": "v@x.test",
                "campaign_id": "c",
                "event_type": "sent",
                "occurred_at": "2023-11-20 10:00:00",
            },
        ],
    )
    insert_rows(
        con,
        "social_mentions",
        [
            mention("m1", "zhandle", "2024-01-20 10:00:00", "negative"),
            mention("m2", "@PHandle", "2024-03-02 10:00:00", "negative"),
            mention("m3", "stranger", "2024-03-02 10:00:00", "negative"),
            mention(
                "m4",
                "yhandle",
                "2024-03-03 10:00:00",
                None,
                "This is terrible, the worst service ever.",
            ),
            mention(
                "m5",
                "yhandle",
                "2024-03-03 11:00:00",
                None,
                "Der Service war nicht gut und sehr langsam",
            ),
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_months_start_at_the_first_signal(warehouse):
    # int_months starts in November 2023 (the send); November and December have no ticket,
    # response or signal, so they are not rows here.
    (first,) = records(warehouse, "select min(month) as month from int_months")
    assert str(first["month"]) == "2023-11-01"
    got = records(warehouse, "select month, is_complete from satisfaction_monthly order by 1")
    assert {str(r["month"]): r["is_complete"] for r in got} == {
        "2024-01-01": True,
        "2024-02-01": True,
        "2024-03-01": False,
    }


def test_january_has_only_a_signal(warehouse):
    # Z's negative mention; Z has no ticket in January: silent. Nothing else to measure: NULL.
    (jan,) = records(warehouse, "select * from satisfaction_monthly where month = '2024-01-01'")
    assert {k: v for k, v in jan.items() if k not in ("month", "is_complete")} == {
        "nps_responses": 0,
        "promoters": 0,
        "passives": 0,
        "detractors": 0,
        "nps": None,
        "csat_responses": 0,
        "csat": None,
        "ces_responses": 0,
        "ces": None,
        "tickets_created": 0,
        "tickets_solved": 0,
        "median_first_response_hours": None,
        "p90_first_response_hours": None,
        "sla_met_rate": None,
        "median_resolution_hours": None,
        "fcr_rate": None,
        "complaints": 0,
        "dissatisfied_customers": 1,
        "silent_dissatisfied_customers": 1,
        "silent_share": 1.0,
    }


def test_february(warehouse):
    (feb,) = records(warehouse, "select * from satisfaction_monthly where month = '2024-02-01'")
    # NPS 0 6 | 7 8 | 9 10 10: 7 responses, 3 promoters, 2 passives, 2 detractors
    nps_cols = ("nps_responses", "promoters", "passives", "detractors")
    assert {c: feb[c] for c in nps_cols} == dict(zip(nps_cols, (7, 3, 2, 2), strict=True))
    assert feb["nps"] == pytest.approx(100 * (3 - 2) / 7)
    # CSAT 1 2 3 4 5: 4 and 5 satisfied (2 of 5); s@ is not a customer but counts in the totals
    assert {c: feb[c] for c in ("csat_responses", "csat", "ces_responses", "ces")} == {
        "csat_responses": 5,
        "csat": pytest.approx(0.4),
        "ces_responses": 2,
        "ces": pytest.approx((1 + 7) / 2),
    }
    # created T1..T5; solved by as_of: T1, T2 (closed), T4 (solved, no solved_at); T5's solved_at
    # is after as_of
    assert {c: feb[c] for c in ("tickets_created", "tickets_solved")} == {
        "tickets_created": 5,
        "tickets_solved": 3,
    }
    # first responses: T1 2 h, T2 30 h, T4 24 h (T5's is after as_of): median 24,
    # p90 = 24 + 0.8 × (30 - 24) = 28.8 (position 0.9 × (3 - 1) = 1.8)
    assert feb["median_first_response_hours"] == pytest.approx(24.0)
    assert feb["p90_first_response_hours"] == pytest.approx(28.8)
    # eligible: T1, T2, T4 answered; T3, T5 unanswered but created >= 24 h before the end of
    # as_of. met (<= 24 h): T1, T4 (exactly 24 h)
    assert feb["sla_met_rate"] == pytest.approx(2 / 5)
    # resolution: T1 24 h, T2 48 h (T4 has no solved_at): median 36
    assert feb["median_resolution_hours"] == pytest.approx(36.0)
    # one touch: T1 (1 reply, empty reopens = 0); T2 3 replies, T4 reopened: 1 of 3 solved
    assert feb["fcr_rate"] == pytest.approx(1 / 3)
    assert feb["complaints"] == 1
    # signals: P (NPS 0), R (CSAT 1, CES 1), U (NPS 6), V (spam complaint); s@'s CSAT 2 belongs to
    # no customer. Tickets in February: P (T1), U (T3) -> silent: R, V
    assert {c: feb[c] for c in ("dissatisfied_customers", "silent_dissatisfied_customers")} == {
        "dissatisfied_customers": 4,
        "silent_dissatisfied_customers": 2,
    }
    assert feb["silent_share"] == pytest.approx(0.5)


def test_march_open_month(warehouse):
    (mar,) = records(warehouse, "select * from satisfaction_monthly where month = '2024-03-01'")
    # n9 is at the end of as_of: not counted
    survey_cols = ("nps_responses", "promoters", "nps", "csat_responses", "csat")
    assert {c: mar[c] for c in (*survey_cols, "ces_responses", "ces")} == {
        **dict(zip(survey_cols, (1, 1, pytest.approx(100.0), 0, None), strict=True)),
        "ces_responses": 2,
        "ces": pytest.approx(3.5),
    }
    # created T6, T7, T8, T10, T11 (T9 is after as_of); solved: T10
    assert {c: mar[c] for c in ("tickets_created", "tickets_solved")} == {
        "tickets_created": 5,
        "tickets_solved": 1,
    }
    # answered: T8 1.5 h, T10 25 h: median 13.25, p90 = 1.5 + 0.9 × 23.5 = 22.65
    assert mar["median_first_response_hours"] == pytest.approx(13.25)
    assert mar["p90_first_response_hours"] == pytest.approx(22.65)
    # eligible: T8, T10 (answered), T7 (25 h before the end), T11 (exactly 24 h before);
    # not T6 (12 h before the end, unanswered). met: T8 -> 1 / 4
    assert mar["sla_met_rate"] == pytest.approx(0.25)
    assert mar["median_resolution_hours"] == pytest.approx(48.0)
    assert mar["fcr_rate"] == pytest.approx(1.0)
    assert mar["complaints"] == 1
    # signals: W (CES 3; its ticket T2 is in February), P (negative mention; T1 is February),
    # Y (scored negative "terrible … worst"; the German text is unscored; Y has T8 in March).
    # m3's author links to no contact.
    assert {c: mar[c] for c in ("dissatisfied_customers", "silent_dissatisfied_customers")} == {
        "dissatisfied_customers": 3,
        "silent_dissatisfied_customers": 2,
    }
    assert mar["silent_share"] == pytest.approx(2 / 3)


def test_mention_sentiment_sources(warehouse):
    got = {
        r["mention_id"]: (r["sentiment"], r["sentiment_source"])
        for r in records(warehouse, "select * from int_mention_sentiment")
    }
    assert got == {
        "m1": ("negative", "delivered"),
        "m2": ("negative", "delivered"),
        "m3": ("negative", "delivered"),
        "m4": ("negative", "scored"),
        "m5": (None, "unscored"),
    }
