"""social_monthly, social_language_monthly and email_monthly against figures worked out by
hand (as_of = 2024-03-15)."""

from __future__ import annotations

import pytest
from marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings


def mention(mention_id, platform, handle, posted_at, sentiment=None, replied=None, **extra):
    return {
        "mention_id": mention_id,
        "platform": platform,
        "author_handle": handle,
        "posted_at": posted_at,
        "sentiment": sentiment,
        "brand_replied_at": replied,
        **extra,
    }


def event(email, campaign_id, event_type, occurred_at, name=None):
    return {
        "email": email,
        "campaign_id": campaign_id,
        "campaign_name": name,
        "event_type": event_type,
        "occurred_at": occurred_at,
    }


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    con = new_warehouse(tmp_path_factory.mktemp("social_email"))
    write_settings(con, "2024-03-15")
    insert_rows(
        con,
        "contacts",
        [
            {
                "contact_id": "A",
                "created_at": "2023-01-01 00:00:00",
                "twitter_handle": "Acme_Fan",
                "facebook_handle": "acme.fb",
            },
        ],
    )
    insert_rows(
        con,
        "social_mentions",
        [
            mention(
                "s1",
                "twitter",
                "acme_fan",
                "2024-02-01 10:00:00",
                "positive",
                "2024-02-01 10:30:00",
            ),
            mention(
                "s2", "twitter", "someone", "2024-02-02 10:00:00", "neutral", "2024-02-02 11:30:00"
            ),
            mention("s3", "twitter", "@ACME_FAN", "2024-02-03 10:00:00", "negative"),
            mention(
                "s4", "twitter", "other", "2024-02-04 10:00:00", text="I love this, great service!"
            ),
            mention("s5", "twitter", "other", "2024-02-05 10:00:00", text="J'adore", language="fr"),
            # the brand's reply comes after as_of: no reply yet
            mention(
                "s6", "twitter", "other", "2024-02-28 10:00:00", "neutral", "2024-03-20 10:00:00"
            ),
            mention(
                "b1", "blog", "acme_fan", "2024-02-10 10:00:00", "positive", "2024-02-10 10:10:00"
            ),
            mention(
                "f1",
                "facebook",
                "acme.fb",
                "2024-03-15 23:59:00",
                "negative",
                "2024-03-16 00:30:00",
            ),
            mention("late", "twitter", "acme_fan", "2024-03-16 00:00:00", "negative"),
        ],
    )
    spring = "Spring sale"
    insert_rows(
        con,
        "email_events",
        [
            event("r1@x.test", "K1", "sent", "2024-02-01 08:00:00", spring),
            event("r1@x.test", "K1", "delivered", "2024-02-01 08:01:00", spring),
            event("r1@x.test", "K1", "open", "2024-02-02 08:00:00", spring),
            event("r1@x.test", "K1", "click", "2024-02-02 08:01:00", spring),
            event("R2@x.test", "K1", "sent", "2024-02-01 08:00:00", spring),
            event("r2@x.test", "K1", "delivered", "2024-02-01 08:01:00", "spring sale (copy)"),
            event("r2@x.test", "K1", "open", "2024-03-01 08:00:00"),
            event("r2@x.test", "K1", "unsubscribe", "2024-03-01 08:01:00"),
            event("r3@x.test", "K1", "sent", "2024-02-01 08:00:00", spring),
            event("r3@x.test", "K1", "bounce", "2024-02-01 08:01:00", spring),
            event("r4@x.test", "K1", "sent", "2024-02-01 08:00:00", spring),
            event("r4@x.test", "K1", "delivered", "2024-02-01 08:01:00", ""),
            event("r4@x.test", "K1", "spam_complaint", "2024-02-03 08:00:00"),
            # no sent event: left out
            event("r5@x.test", "K1", "open", "2024-02-02 08:00:00", spring),
            event("r6@x.test", "K1", "sent", "2024-02-29 23:30:00"),
            event("r6@x.test", "K1", "delivered", "2024-03-01 00:10:00"),
            event("r6@x.test", "K1", "open", "2024-03-01 09:00:00"),
            event("r6@x.test", "K1", "open", "2024-03-02 09:00:00"),
            event("r7@x.test", "K1", "sent", "2024-03-10 08:00:00"),
            event("r7@x.test", "K1", "delivered", "2024-03-10 08:01:00"),
            event("r7@x.test", "K1", "open", "2024-03-11 08:00:00"),
            event("r8@x.test", "K1", "sent", "2024-03-16 08:00:00", "Late name"),
            # K2 has no delivered event at all (an export without them)
            event("q1@x.test", "K2", "sent", "2024-02-10 08:00:00", "News A"),
            event("q1@x.test", "K2", "open", "2024-02-11 08:00:00", "News A"),
            event("q2@x.test", "K2", "sent", "2024-02-10 08:00:00", "News B"),
            event("q2@x.test", "K2", "bounce", "2024-02-10 08:01:00", "News B"),
            event("q3@x.test", "K2", "sent", "2024-02-10 08:00:00"),
            # K3 exists only after as_of
            event("q1@x.test", "K3", "sent", "2024-03-20 08:00:00", "Later"),
            # K4 has no name on any event: its row stays, with no name
            event("n1@x.test", "K4", "sent", "2024-02-12 08:00:00"),
            event("n1@x.test", "K4", "delivered", "2024-02-12 08:01:00", ""),
        ],
    )
    build_all(con)
    yield con
    con.close()


def test_social_monthly(warehouse):
    got = {
        (str(r["month"]), r["platform"]): r
        for r in records(warehouse, "select * from social_monthly")
    }
    # 'late' is posted at the end of as_of: not yet
    assert set(got) == {
        ("2024-02-01", "twitter"),
        ("2024-02-01", "blog"),
        ("2024-03-01", "facebook"),
    }
    cols = (
        "is_complete",
        "mentions",
        "positive",
        "neutral",
        "negative",
        "net_sentiment",
        "sentiment_delivered",
        "sentiment_scored",
        "sentiment_unscored",
        "linked_mentions",
        "replied",
        "response_rate",
        "median_response_minutes",
    )
    expected = {
        # s1 positive, s2 neutral, s3 negative, s4 scored positive ("love … great"), s5 French:
        # unscored, s6 neutral. Delivered with a sentiment: s1, s2, s3, s6; scored: s4 (English,
        # VADER); unscored: s5 (French, no measured French scorer): 4 + 1 + 1 = 6 mentions.
        # Linked: s1 and s3 (handle "@ACME_FAN" normalised) to A. Replied: s1 (30 min), s2
        # (90 min); s6's reply is after as_of.
        ("2024-02-01", "twitter"): (True, 6, 2, 2, 1, (2 - 1) / 6, 4, 1, 1, 2, 2, 2 / 6, 60.0),
        # blogs never link, even when the author's handle is a contact's
        ("2024-02-01", "blog"): (True, 1, 1, 0, 0, 1.0, 1, 0, 0, 0, 1, 1.0, 10.0),
        # f1 posted 23:59 on as_of, its reply after the end of as_of: not replied yet
        ("2024-03-01", "facebook"): (False, 1, 0, 0, 1, -1.0, 1, 0, 0, 1, 0, 0.0, None),
    }
    # By (month, platform) and column name, so that a failure says which row and figure differ.
    assert {key: {c: row[c] for c in cols} for key, row in got.items()} == {
        key: dict(zip(cols, [v if v is None else pytest.approx(v) for v in values], strict=True))
        for key, values in expected.items()
    }


def test_social_language_monthly(warehouse):
    cols = (
        "mentions language_delivered language_detected sentiment_delivered sentiment_scored "
        "sentiment_unscored unscored_share positive neutral negative"
    ).split()
    got = {
        (str(r["month"]), r["platform"], r["language"]): {c: r[c] for c in cols}
        for r in records(warehouse, "select * from social_language_monthly")
    }
    # By (month, platform, language) and column name, so that a failure names the figure.
    expected = {
        # s1, s2, s3, s6: no text and no language; delivered positive, neutral, negative, neutral
        ("2024-02-01", "twitter", "unknown"): (4, 0, 0, 4, 0, 0, 0.0, 1, 2, 1),
        # s4: English detected from "I love this, great service!", scored positive by VADER
        ("2024-02-01", "twitter", "en"): (1, 0, 1, 0, 1, 0, 0.0, 1, 0, 0),
        # s5: French delivered; no measured French scorer, so unscored
        ("2024-02-01", "twitter", "fr"): (1, 1, 0, 0, 0, 1, 1.0, 0, 0, 0),
        ("2024-02-01", "blog", "unknown"): (1, 0, 0, 1, 0, 0, 0.0, 1, 0, 0),
        ("2024-03-01", "facebook", "unknown"): (1, 0, 0, 1, 0, 0, 0.0, 0, 0, 1),
    }
    assert got == {key: dict(zip(cols, values, strict=True)) for key, values in expected.items()}


def test_email_monthly(warehouse):
    got = {
        (str(r["month"]), r["campaign_id"]): r
        for r in records(warehouse, "select * from email_monthly")
    }
    cols = (
        "campaign_name",
        "sent",
        "delivered",
        "bounced",
        "unique_opens",
        "unique_clicks",
        "unsubscribes",
        "spam_complaints",
        "open_rate",
        "click_rate",
        "unsubscribe_rate",
    )
    expected = {
        # First sent in February: r1, r2, r3, r4, r6 (2/29 23:30); r5 has no sent event.
        # Delivered r1 r2 r4 r6; bounced r3; opened r1, r2 (its March open counts in its send
        # month), r6 (twice: one recipient); clicked r1; unsubscribed r2; complained r4.
        # Name: "Spring sale" on 9 events (before as_of), "spring sale (copy)" on 1; "" is no
        # name.
        ("2024-02-01", "K1"): ("Spring sale", 5, 4, 1, 3, 1, 1, 1, 3 / 4, 1 / 4, 1 / 4),
        # r7 only; r8's send is after as_of
        ("2024-03-01", "K1"): ("Spring sale", 1, 1, 0, 1, 0, 0, 0, 1.0, 0.0, 0.0),
        # No delivered event in K2: delivered = sent and not bounced = q1, q3. "News A" and
        # "News B" are on two events each: the alphabetically first.
        ("2024-02-01", "K2"): ("News A", 3, 2, 1, 1, 0, 0, 0, 1 / 2, 0.0, 0.0),
        # n1 only, sent and delivered, nothing opened; no name ("" is none): NULL, the row kept
        # (an inner join to the names would drop the campaign's figures).
        ("2024-02-01", "K4"): (None, 1, 1, 0, 0, 0, 0, 0, 0.0, 0.0, 0.0),
    }
    # By (month, campaign_id) and column name, so that a failure says which figure differs.
    assert {key: {c: row[c] for c in cols} for key, row in got.items()} == {
        key: dict(
            zip(
                cols,
                [v if v is None or isinstance(v, str) else pytest.approx(v) for v in values],
                strict=True,
            )
        )
        for key, values in expected.items()
    }
