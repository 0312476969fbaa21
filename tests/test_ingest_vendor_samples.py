"""The generator's vendor samples: rendered by inverting the mappings, they land as generated."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from ingest_support import drop, land, make_settings, query

import pipeline.sample_data.generate as generate
from pipeline.entities import ENTITIES, LINEAGE_COLUMNS
from pipeline.ingest.mappings import SHIPPED_DIR, load_mapping_file
from pipeline.ingest.render import NotRenderable, carries, render
from pipeline.sample_data.vendor import SAMPLE_FORMATS


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The generator's vendor-sample frames and the landing folder it wrote them to."""
    captured: dict[str, pl.DataFrame] = {}
    real = generate.write_vendor_samples

    def spy(landing, frames):
        captured.update(frames)
        return real(landing, frames)

    out = tmp_path_factory.mktemp("generated")
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(generate, "write_vendor_samples", spy)
        generate.generate(out, customers=20, seed=7, as_of=dt.date(2024, 12, 31), months=12)
    return captured, out / "landing"


def raw_rows(settings, entity: str) -> pl.DataFrame:
    keep = [c for c in ENTITIES[entity].columns]
    return query(settings, f"select {', '.join(keep)} from raw_{entity}").sort(ENTITIES[entity].key)


def test_vendor_samples_land_as_the_same_canonical_rows(sample, tmp_path):
    frames, landing = sample
    vendor = make_settings(tmp_path / "vendor")
    canonical = make_settings(tmp_path / "canonical")
    for name, frame in frames.items():
        folder = ENTITIES[name].landing_path
        (vendor.landing_dir / folder).mkdir(parents=True)
        for path in (landing / folder).glob("vendor_sample*"):
            shutil.copy(path, vendor.landing_dir / folder)
        (canonical.landing_dir / folder).mkdir(parents=True)
        frame.write_csv(canonical.landing_dir / folder / "truth.csv")
    used = set()
    for name, frame in frames.items():
        reports = land(vendor, name)
        land(canonical, name)
        assert all(r.status == "landed" and r.rows_quarantined == 0 for r in reports)
        used |= {r.mapping for r in reports}
        got, want = raw_rows(vendor, name), raw_rows(canonical, name)
        assert got.height == frame.height
        assert got.equals(want), name
    # At least one vendor format per source landed: CRM, e-mail and social.
    assert {"hubspot_contacts", "hubspot_feedback", "klaviyo_events", "social_listening"} <= used
    assert set(LINEAGE_COLUMNS) <= set(query(vendor, "select * from raw_contacts").columns)


def test_render_inverts_value_maps_and_line_items(sample):
    frames, _ = sample
    shopify = load_mapping_file(SHIPPED_DIR / "shopify_orders.toml")
    orders = frames["orders"].with_columns(contact_id=None, updated_at=None).head(3)
    assert carries(orders, shopify).all()
    lines = render(orders, shopify)
    # One line per order, quantity 1 at the order's gross; statuses written as Shopify's.
    assert lines["Lineitem quantity"].to_list() == ["1", "1", "1"]
    assert lines["Lineitem price"].to_list() == orders["gross_amount"].cast(pl.String).to_list()
    inverse = {
        "completed": "paid",
        "pending": "pending",
        "cancelled": "voided",
        "refunded": "refunded",
    }
    assert lines["Financial Status"].to_list() == [inverse[s] for s in orders["status"]]


def test_render_writes_scores_on_the_vendors_scale():
    # HubSpot's CSAT answers 0, 1, 2 are the contract's 1, 3, 5; a CSAT 4 has no HubSpot answer
    # (the row stays canonical), an NPS 4 is written as it is.
    hubspot = load_mapping_file(SHIPPED_DIR / "hubspot_feedback.toml")
    surveys = pl.DataFrame(
        {c: [None] * 5 for c in ENTITIES["surveys"].columns},
        schema={c: pl.String for c in ENTITIES["surveys"].columns},
    ).with_columns(
        response_id=pl.Series(["r1", "r2", "r3", "r4", "r5"]),
        responded_at=pl.lit(dt.datetime(2024, 5, 1, 9, 30)),
        survey_type=pl.Series(["csat", "csat", "csat", "csat", "nps"]),
        score=pl.Series([5, 3, 1, 4, 4], dtype=pl.Int32),
    )
    assert carries(surveys, hubspot).to_list() == [True, True, True, False, True]
    written = render(surveys.filter(carries(surveys, hubspot)), hubspot)
    assert written["Rating"].to_list() == ["2", "1", "0", "4"]
    assert written["Survey type"].to_list() == ["CSAT", "CSAT", "CSAT", "NPS"]


def test_render_refuses_what_it_cannot_write():
    uci = load_mapping_file(SHIPPED_DIR / "uci_online_retail.toml")
    with pytest.raises(NotRenderable, match="patterns and templates cannot be inverted"):
        render(pl.DataFrame(), uci)
    listening = load_mapping_file(SHIPPED_DIR / "social_listening.toml")
    # Any network the mapping does not list reads as 'other': none reads back as 'myspace'.
    mentions = pl.DataFrame(
        {c: [None] for c in ENTITIES["social_mentions"].columns}, schema_overrides={}
    ).with_columns(platform=pl.lit("myspace"))
    with pytest.raises(NotRenderable, match="no vendor value of platform reads back as 'myspace'"):
        render(mentions, listening)


# A few rows of each vendor-format sample (seed 7, 20 customers, as_of 2024-12-31): the vendor
# file's header and lines as the generator must render them, and every canonical column worked
# out by hand from the line and the mapping's documented reading of it: the mapping's column
# label, its value map (HubSpot's "Paid Search" is `paid`, "CES" is `ces`; Klaviyo's "Received
# Email" is `sent`, and a `delivered` event, which Klaviyo has no name for, is written as is;
# a blank Sentiment is no sentiment), ISO times with `Z` stored as naive UTC, a blank cell
# stored as NULL, text (an e-mail's case, a handle's `@`) kept as delivered
# (raw keeps what was delivered; staging normalises). The round trip above passes a mapping that
# is wrong both ways (it renders and reads back with the same mistake); these lines are fixed
# text, so a wrong rendering or a wrong reading fails. Orders and tickets are absent: their
# samples are canonical CSV, no vendor mapping is involved.
T = dt.datetime
CONTACTS_HEADER = (
    "Record ID,Email,First Name,Last Name,Phone Number,Create Date,Country/Region,"
    "Preferred language,Original Source,Date of birth,Twitter Username,Facebook handle,"
    "Instagram handle,LinkedIn handle,Last Modified Date"
)
SURVEYS_HEADER = (
    "Record ID,Contact ID,Contact email,Submitted at,Survey type,Rating,Response,"
    "Associated Ticket ID"
)
EVENTS_HEADER = "Event ID,Email,Message ID,Campaign Name,Event,Timestamp,URL"
MENTIONS_HEADER = (
    "Mention Id,Network,Author,Author Name,Text,Language,Date,Sentiment,Brand Reply Date,Url"
)
VENDOR_SAMPLE_ROWS: dict[str, tuple[str, list[tuple[str, dict]]]] = {
    "contacts": (
        CONTACTS_HEADER,
        [
            (
                'C100000020,schroeder.hannah20@gmail.example,Hannah,Schröder,"",'
                "2024-10-20T11:34:32Z,DE,de,Paid Search,1999-11-16,"
                '"","","",hannah-schroeder-20,2024-11-13T03:47:27Z',
                {
                    "contact_id": "C100000020",
                    "email": "schroeder.hannah20@gmail.example",
                    "first_name": "Hannah",
                    "last_name": "Schröder",
                    "phone": None,
                    "created_at": T(2024, 10, 20, 11, 34, 32),
                    "country": "DE",
                    "language": "de",
                    "acquisition_source": "paid",
                    "birth_date": dt.date(1999, 11, 16),
                    "twitter_handle": None,
                    "facebook_handle": None,
                    "instagram_handle": None,
                    "linkedin_handle": "hannah-schroeder-20",
                    "updated_at": T(2024, 11, 13, 3, 47, 27),
                },
            ),
            (
                "C100000021,Tkuznetsova21@mail.example,Татьяна,Кузнецова,+371 214248020,"
                "2024-08-25T14:00:34Z,LV,ru,Organic Search,2001-08-30,"
                '"","","","",2024-12-20T17:32:13Z',
                {
                    "contact_id": "C100000021",
                    "email": "Tkuznetsova21@mail.example",
                    "first_name": "Татьяна",
                    "last_name": "Кузнецова",
                    "phone": "+371 214248020",
                    "created_at": T(2024, 8, 25, 14, 0, 34),
                    "country": "LV",
                    "language": "ru",
                    "acquisition_source": "organic",
                    "birth_date": dt.date(2001, 8, 30),
                    "twitter_handle": None,
                    "facebook_handle": None,
                    "instagram_handle": None,
                    "linkedin_handle": None,
                    "updated_at": T(2024, 12, 20, 17, 32, 13),
                },
            ),
        ],
    ),
    "surveys": (
        SURVEYS_HEADER,
        [
            (
                "R0000000000002,C100000033,razvan.turcanu33@gmail.example,"
                '2024-05-28T17:36:35Z,NPS,4,Am așteptat prea mult un răspuns.,""',
                {
                    "response_id": "R0000000000002",
                    "contact_id": "C100000033",
                    "email": "razvan.turcanu33@gmail.example",
                    "responded_at": T(2024, 5, 28, 17, 36, 35),
                    "survey_type": "nps",
                    "score": 4,
                    "comment": "Am așteptat prea mult un răspuns.",
                    "ticket_id": None,
                },
            ),
            (
                'R0000000000005,"",tkuznetsova21@mail.example,2024-10-07T02:31:56Z,NPS,7,'
                'Доставка заняла неделю.,""',
                {
                    "response_id": "R0000000000005",
                    "contact_id": None,
                    "email": "tkuznetsova21@mail.example",
                    "responded_at": T(2024, 10, 7, 2, 31, 56),
                    "survey_type": "nps",
                    "score": 7,
                    "comment": "Доставка заняла неделю.",
                    "ticket_id": None,
                },
            ),
            (
                "R0000000000007,C100000026,cwilson26@icloud.example,2024-11-27T19:04:19Z,"
                'CES,1,"",T0000000000007',
                {
                    "response_id": "R0000000000007",
                    "contact_id": "C100000026",
                    "email": "cwilson26@icloud.example",
                    "responded_at": T(2024, 11, 27, 19, 4, 19),
                    "survey_type": "ces",
                    "score": 1,
                    "comment": None,
                    "ticket_id": "T0000000000007",
                },
            ),
        ],
    ),
    "email_events": (
        EVENTS_HEADER,
        [
            (
                "E0000000000001,katerina.makri22@gmail.example,cmp-20240102-newsletter,"
                'Weekly newsletter – 02 Jan 2024,Received Email,2024-01-02T09:23:30Z,""',
                {
                    "event_id": "E0000000000001",
                    "email": "katerina.makri22@gmail.example",
                    "campaign_id": "cmp-20240102-newsletter",
                    "campaign_name": "Weekly newsletter – 02 Jan 2024",
                    "event_type": "sent",
                    "occurred_at": T(2024, 1, 2, 9, 23, 30),
                    "url": None,
                },
            ),
            (
                "E0000000000002,katerina.makri22@gmail.example,cmp-20240102-newsletter,"
                'Weekly newsletter – 02 Jan 2024,delivered,2024-01-02T09:24:24Z,""',
                {
                    "event_id": "E0000000000002",
                    "email": "katerina.makri22@gmail.example",
                    "campaign_id": "cmp-20240102-newsletter",
                    "campaign_name": "Weekly newsletter – 02 Jan 2024",
                    "event_type": "delivered",
                    "occurred_at": T(2024, 1, 2, 9, 24, 24),
                    "url": None,
                },
            ),
            (
                "E0000000000058,katerina.makri22@gmail.example,cmp-20240416-newsletter,"
                "Weekly newsletter – 16 Apr 2024,Clicked Email,2024-04-16T14:52:20Z,"
                "https://shop.lumora.example/newsletter?utm_source=email"
                "&utm_campaign=cmp-20240416-newsletter",
                {
                    "event_id": "E0000000000058",
                    "email": "katerina.makri22@gmail.example",
                    "campaign_id": "cmp-20240416-newsletter",
                    "campaign_name": "Weekly newsletter – 16 Apr 2024",
                    "event_type": "click",
                    "occurred_at": T(2024, 4, 16, 14, 52, 20),
                    "url": "https://shop.lumora.example/newsletter?utm_source=email"
                    "&utm_campaign=cmp-20240416-newsletter",
                },
            ),
            (
                'E0000000000108,golob.nina36@siol.example,cmp-20240702-newsletter,"",'
                'Unsubscribed,2024-07-03T19:33:44Z,""',
                {
                    "event_id": "E0000000000108",
                    "email": "golob.nina36@siol.example",
                    "campaign_id": "cmp-20240702-newsletter",
                    "campaign_name": None,
                    "event_type": "unsubscribe",
                    "occurred_at": T(2024, 7, 3, 19, 33, 44),
                    "url": None,
                },
            ),
            (
                "E0000000000119,razvan.turcanu33@gmail.example,cmp-20240723-newsletter,"
                'Weekly newsletter – 23 Jul 2024,Bounced Email,2024-07-23T08:08:02Z,""',
                {
                    "event_id": "E0000000000119",
                    "email": "razvan.turcanu33@gmail.example",
                    "campaign_id": "cmp-20240723-newsletter",
                    "campaign_name": "Weekly newsletter – 23 Jul 2024",
                    "event_type": "bounce",
                    "occurred_at": T(2024, 7, 23, 8, 8, 2),
                    "url": None,
                },
            ),
        ],
    ),
    "social_mentions": (
        MENTIONS_HEADER,
        [
            (
                "M0000000000002,Instagram,@charlotte_374140,Charlotte Williams,"
                "Lumora has a new spring collection out.,en,2024-02-11T23:40:32Z,Neutral,"
                '"",https://www.instagram.com/p/0000000000002',
                {
                    "mention_id": "M0000000000002",
                    "platform": "instagram",
                    "author_handle": "@charlotte_374140",
                    "author_name": "Charlotte Williams",
                    "text": "Lumora has a new spring collection out.",
                    "language": "en",
                    "posted_at": T(2024, 2, 11, 23, 40, 32),
                    "sentiment": "neutral",
                    "brand_replied_at": None,
                    "url": "https://www.instagram.com/p/0000000000002",
                },
            ),
            (
                "M0000000000005,Blog,oliviawalker.blog.example,Olivia Walker,"
                '"Cancelled my Lumora order, the delivery was horribly late and support is '
                'useless.",en,2024-07-25T09:29:44Z,"","",'
                "https://oliviawalker.blog.example/review-0000000000005",
                {
                    "mention_id": "M0000000000005",
                    "platform": "blog",
                    "author_handle": "oliviawalker.blog.example",
                    "author_name": "Olivia Walker",
                    "text": "Cancelled my Lumora order, the delivery was horribly late and "
                    "support is useless.",
                    "language": "en",
                    "posted_at": T(2024, 7, 25, 9, 29, 44),
                    "sentiment": None,
                    "brand_replied_at": None,
                    "url": "https://oliviawalker.blog.example/review-0000000000005",
                },
            ),
            (
                "M0000000000006,Facebook,dimitris.papadopoulos.37,Δημήτρης Παπαδόπουλος,"
                "Has anyone ordered from Lumora? Wondering about delivery times to Ireland.,"
                'en,2024-09-02T01:53:02Z,"",2024-09-02T03:12:27Z,'
                "https://www.facebook.com/dimitris.papadopoulos.37/posts/0000000000006",
                {
                    "mention_id": "M0000000000006",
                    "platform": "facebook",
                    "author_handle": "dimitris.papadopoulos.37",
                    "author_name": "Δημήτρης Παπαδόπουλος",
                    "text": "Has anyone ordered from Lumora? Wondering about delivery times to "
                    "Ireland.",
                    "language": "en",
                    "posted_at": T(2024, 9, 2, 1, 53, 2),
                    "sentiment": None,
                    "brand_replied_at": T(2024, 9, 2, 3, 12, 27),
                    "url": "https://www.facebook.com/dimitris.papadopoulos.37/posts/0000000000006",
                },
            ),
            (
                "M0000000000009,Twitter,dimitris_papadopoulos37,Δημήτρης Παπαδόπουλος,"
                '"Absolutely love my new order from @lumora_shop, arrived in two days!",en,'
                '2024-12-27T13:03:41Z,Positive,"",'
                "https://twitter.com/dimitris_papadopoulos37/status/0000000000009",
                {
                    "mention_id": "M0000000000009",
                    "platform": "twitter",
                    "author_handle": "dimitris_papadopoulos37",
                    "author_name": "Δημήτρης Παπαδόπουλος",
                    "text": "Absolutely love my new order from @lumora_shop, arrived in two days!",
                    "language": "en",
                    "posted_at": T(2024, 12, 27, 13, 3, 41),
                    "sentiment": "positive",
                    "brand_replied_at": None,
                    "url": "https://twitter.com/dimitris_papadopoulos37/status/0000000000009",
                },
            ),
        ],
    ),
}


def test_vendor_sample_lines_are_rendered_as_written_by_hand(sample):
    """The generator writes each vendor line above (a wrong rendering changes the text)."""
    _, landing = sample
    for name, (header, rows) in VENDOR_SAMPLE_ROWS.items():
        (path,) = (landing / ENTITIES[name].landing_path).glob("vendor_sample_*.csv")
        lines = path.read_text(encoding="utf-8").splitlines()
        assert lines[0] == header, name
        for line, _ in rows:
            assert line in lines, f"{name}: {line}"


def test_vendor_sample_lines_land_with_every_column_as_worked_by_hand(tmp_path):
    """The hand-written vendor lines, landed through their mapping, give every canonical column
    worked out by hand (a wrong reading of a column, a value map or a time fails)."""
    settings = make_settings(tmp_path)
    for name, (header, rows) in VENDOR_SAMPLE_ROWS.items():
        text = "\n".join([header, *(line for line, _ in rows)]) + "\n"
        drop(settings, name, "vendor_rows.csv", text)
        reports = land(settings, name)
        assert [r.status for r in reports] == ["landed"], name
        assert reports[0].rows_quarantined == 0, name
        assert reports[0].mapping == SAMPLE_FORMATS[name], name
        got = raw_rows(settings, name)
        assert got.columns == list(ENTITIES[name].columns), name
        assert got.to_dicts() == [row for _, row in rows], name
