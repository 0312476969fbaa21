"""The brand's own posts are no mentions (docs/open-rules.md R15): a social/mentions row is "one
row per public post ABOUT the brand" (contracts.md), but a listening export also holds the posts
of the brand's own accounts (its replies, its announcements), and the Twitter US-airline file
holds three tweets written by airlines. ``PIPELINE_BRAND_HANDLES`` names those accounts; their
posts stay landed (raw and staging), are listed in ``int_brand_posts`` and counted by the run
summary, and count in no social figure, no dissatisfaction signal and no customer's facts.

Every test runs the real pipeline: the exports land through the real ingestion, the setting is
read from the environment by the real ``pipeline_settings`` asset, and the models are built by
the real layer assets in one Dagster run (their checks and the serving step left out).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from ingest_support import drop
from marts_fixtures import records

from assets.ingest import INGEST_ASSETS
from assets.models import build_model_assets
from assets.predictions import PREDICTION_ASSETS
from assets.sentiment import SENTIMENT_ASSETS
from assets.serving import SERVING_FILE, build_serving_asset
from assets.settings import pipeline_settings
from pipeline.cli.summary import print_summary, run_reports
from pipeline.config import ConfigError, PipelineConfig, Settings
from pipeline.engine import mart_names
from pipeline.handles import normal_handle
from pipeline.warehouse import Warehouse, open_warehouse, scalar

SETTING = "PIPELINE_BRAND_HANDLES"
AS_OF = "2024-04-30"
APRIL = dt.date(2024, 4, 1)

# Ana and Sam are customers; the CRM also holds the brand's own Twitter account as a contact
# (a social CRM sync adds every account that talks to the brand, its own included).
CONTACTS = """contact_id,email,created_at,twitter_handle
c1,ana@example.com,2024-01-01 10:00:00,ana_pop
c2,sam@example.com,2024-01-01 10:00:00,sam_hill
c3,social@acme.example,2024-01-01 10:00:00,@AcmeShop
"""
# Four April tweets: three about the brand, one by the brand (m4, its apology to Ana, which the
# listening tool labelled negative). The brand replied to m1 after 30 minutes and to m2 after 120.
MENTIONS = """mention_id,platform,author_handle,text,language,posted_at,sentiment,brand_replied_at
m1,twitter,@ana_pop,The parcel arrived broken,en,2024-04-02 10:00:00,negative,2024-04-02 10:30:00
m2,twitter,@sam_hill,"Great service, thank you",en,2024-04-03 10:00:00,positive,2024-04-03 12:00:00
m3,twitter,@eva_lang,Where is my order?,en,2024-04-04 10:00:00,neutral,
m4,twitter,@AcmeShop,"@ana_pop Sorry, a new one is on its way",en,2024-04-02 10:30:00,negative,
"""


def pipeline_run(
    data_dir: Path,
    as_of: str,
    instance: dg.DagsterInstance | None = None,
    serving: bool = False,
    brand_handles: str | None = None,
) -> dg.ExecuteInProcessResult:
    """One Dagster run of the settings, the ingestion, the sentiment and every SQL model (with
    ``serving``, also the predictions and the serving publication); ``brand_handles`` is the
    run's own setting, as the launchpad gives it."""
    config = PipelineConfig(
        data_dir=str(data_dir), as_of=as_of, timezone="UTC", brand_handles=brand_handles
    )
    published = [*PREDICTION_ASSETS, build_serving_asset(mart_names())] if serving else []
    return dg.materialize(
        [pipeline_settings, *INGEST_ASSETS, *SENTIMENT_ASSETS, *build_model_assets(), *published],
        resources={"config": config, "warehouse": Warehouse(config=config)},
        instance=instance,
    )


def builds(result: dg.ExecuteInProcessResult) -> dict[str, str]:
    """Each SQL model of the run -> how it was built ('skipped', 'rebuilt', …)."""
    found = {}
    for event in result.get_asset_materialization_events():
        metadata = event.materialization.metadata
        if "build" in metadata:
            found[event.asset_key.to_user_string()] = str(metadata["build"].value)
    return found


def social_april(con) -> dict[str, object]:
    """April's Twitter row of social_monthly."""
    (row,) = records(con, "select * from social_monthly where platform = 'twitter'")
    assert row["month"] == APRIL
    return row


@pytest.fixture
def acme(data_dir: Path) -> Settings:
    """The contacts and the four tweets in landing/."""
    settings = Settings.resolve(data_dir=str(data_dir), as_of=AS_OF, timezone="UTC")
    drop(settings, "contacts", "contacts.csv", CONTACTS)
    drop(settings, "social_mentions", "listening.csv", MENTIONS)
    return settings


def test_a_post_by_the_brand_counts_in_no_social_figure(acme, monkeypatch, capsys):
    # Written as the operator writes it: any case, with the '@' (both are normalised away).
    monkeypatch.setenv(SETTING, "twitter:@AcmeShop")
    instance = dg.DagsterInstance.ephemeral()
    # With the predictions and the serving publication: the first run of the publication's
    # story below (one run less than a run of its own), the same SQL models.
    result = pipeline_run(acme.data_dir, AS_OF, instance, serving=True)
    with open_warehouse(acme.warehouse_path) as con:
        # Nothing is lost: the brand's tweet is landed and staged as delivered.
        assert scalar(con, "select count(*) from raw.raw_social_mentions") == 4
        assert scalar(con, "select count(*) from staging.stg_social_mentions") == 4
        got = social_april(con)
        # By hand over m1-m3: 3 mentions, one of each sentiment, so net (1 - 1) / 3 = 0; Ana's
        # m1 and Sam's m2 are linked (Eva is no contact); m1 and m2 replied, so the response
        # rate is 2 / 3, and the median of 30 and 120 minutes is 75. Before, m4 counted: 4
        # mentions, 2 negative, net -0.25, linked 3 (m4 to contact c3), rate 2 / 4.
        assert (got["mentions"], got["positive"], got["neutral"], got["negative"]) == (3, 1, 1, 1)
        assert got["net_sentiment"] == 0.0
        assert got["linked_mentions"] == 2
        assert (got["replied"], got["response_rate"]) == (2, pytest.approx(2 / 3))
        assert got["median_response_minutes"] == 75.0
        assert (
            scalar(
                con, "select sum(mentions) from social_language_monthly where platform = 'twitter'"
            )
            == 3
        )
        # No customer holds the brand's post: the contact of the brand's account has no
        # mention, no negative mention, no dissatisfaction and no social channel.
        c3 = records(
            con,
            "select mentions_12m, negative_mentions_12m, dissatisfied_90d, channels_engaged_12m "
            "from customer_360 where customer_id = (select customer_id from int_customers "
            "where contact_id = 'c3')",
        )
        assert c3 == [
            {
                "mentions_12m": 0,
                "negative_mentions_12m": 0,
                "dissatisfied_90d": False,
                "channels_engaged_12m": 0,
            }
        ]
        # April's one dissatisfied customer is Ana (m1), with no ticket: silent.
        april = records(
            con,
            "select dissatisfied_customers, silent_dissatisfied_customers "
            "from satisfaction_monthly where month = date '2024-04-01'",
        )
        assert april == [{"dissatisfied_customers": 1, "silent_dissatisfied_customers": 1}]
        # The brand's tweet, where it came from (file, row), listed for the run summary.
        assert records(con, "select * from int_brand_posts") == [
            {
                "mention_id": "m4",
                "platform": "twitter",
                "author_handle": "acmeshop",
                "posted_at": dt.datetime(2024, 4, 2, 10, 30),
                "url": None,
                "_source_file": "social/mentions/listening.csv",
                "_row_number": 5,
            }
        ]
    capsys.readouterr()
    print_summary(acme, result.run_id, run_reports(instance, result.run_id))
    out = capsys.readouterr().out
    assert "  social/mentions/listening.csv: 4 rows read, 4 landed, 0 quarantined" in out
    assert (
        "  1 post by the brand's own accounts left out of the social figures as no mentions of "
        "the brand (brand handles: twitter:acmeshop; listed in "
        "intermediate.int_brand_posts)"
    ) in out
    the_publication_names_the_handles_the_marts_were_built_with(acme, instance, result, monkeypatch)


def test_a_change_of_the_setting_rebuilds_what_it_reaches(acme, monkeypatch, capsys):
    monkeypatch.delenv(SETTING, raising=False)
    instance = dg.DagsterInstance.ephemeral()
    first = pipeline_run(acme.data_dir, AS_OF, instance)
    assert "skipped" not in builds(first).values()
    with open_warehouse(acme.warehouse_path) as con:
        # Unset (the default), nothing changes: the brand's m4 is one of 4 mentions, linked to
        # the contact holding its handle (c3): 3 of 4 linked, replied 2 of 4.
        got = social_april(con)
        assert (got["mentions"], got["negative"], got["linked_mentions"]) == (4, 2, 3)
        assert got["response_rate"] == 0.5
        assert scalar(con, "select count(*) from int_brand_posts") == 0
    print_summary(acme, first.run_id, run_reports(instance, first.run_id))
    assert "brand's own accounts" not in capsys.readouterr().out  # unset: nothing to say

    # The same files, the setting now set: the brand's posts and all that reads them are built
    # again, and nothing else: no new file reached the raw tables.
    monkeypatch.setenv(SETTING, "twitter:https://twitter.com/AcmeShop")
    second = builds(pipeline_run(acme.data_dir, AS_OF, instance))
    # By hand from the models' parents (sql/): meta.brand_handles is read by int_brand_posts
    # alone; int_social_mentions reads it, and the rest read int_social_mentions or a reader
    # of it (loyalty_customers and loyalty_summary read int_customer_engagement). The staging
    # and identity models, orders, e-mail and retention are left as they were.
    reached = {
        "int_brand_posts",
        "int_social_mentions",
        "int_dissatisfaction_signals",
        "int_customer_engagement",
        *SOCIAL_MARTS,
    }
    assert {name for name, how in second.items() if how != "skipped"} == reached
    assert "stg_social_mentions" in second  # every model was in the run, the others skipped
    with open_warehouse(acme.warehouse_path) as con:
        got = social_april(con)
        assert (got["mentions"], got["negative"], got["linked_mentions"]) == (3, 1, 2)
        assert got["response_rate"] == pytest.approx(2 / 3)

    # The same setting again: nothing to rebuild.
    third = builds(pipeline_run(acme.data_dir, AS_OF, instance))
    assert set(third.values()) == {"skipped"}

    # Unset again: the figures of the first run are back.
    monkeypatch.delenv(SETTING)
    fourth = builds(pipeline_run(acme.data_dir, AS_OF, instance))
    assert fourth["social_monthly"] != "skipped"
    with open_warehouse(acme.warehouse_path) as con:
        got = social_april(con)
        assert (got["mentions"], got["negative"], got["linked_mentions"]) == (4, 2, 3)


def test_the_handles_may_be_set_for_one_run(data_dir, monkeypatch):
    # As as_of, churn_days and sla_hours, which the models read from the same settings tables:
    # the launchpad's `resources: config: config: brand_handles` wins over the environment for
    # its run, read as the variable is (the runs of test_the_brands_posts_are_not_scored take
    # it through the pipeline_settings asset); a run without it takes the variable's.
    monkeypatch.setenv(SETTING, "instagram:acme.shop")
    config = PipelineConfig(data_dir=str(data_dir), as_of=AS_OF, brand_handles="twitter:@Acme")
    assert config.settings().brand_handles == (("twitter", "acme"),)
    assert PipelineConfig(data_dir=str(data_dir), as_of=AS_OF).settings().brand_handles == (
        ("instagram", "acme.shop"),
    )
    # A misspelt entry is refused as the variable's is: the run fails at its start.
    config = PipelineConfig(data_dir=str(data_dir), as_of=AS_OF, brand_handles="twiter:a")
    with pytest.raises(ConfigError, match="'twiter' is not a platform .*did you mean twitter"):
        config.settings()


# The same tweets, the brand's apology (m4) without the tool's label: a post the scorer would read.
UNLABELLED = MENTIONS.replace("2024-04-02 10:30:00,negative,", "2024-04-02 10:30:00,,")
# The marts that read the mentions, directly or not (every reader of int_social_mentions).
SOCIAL_MARTS = (
    "social_monthly",
    "social_language_monthly",
    "satisfaction_monthly",
    "customer_360",
    "channel_retention",
    "loyalty_customers",
    "loyalty_summary",
)


def scoring(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    """What the run's sentiment step did: mentions looked at, scored in the table, rebuilt."""
    (mat,) = result.asset_materializations_for_node("int_mention_sentiment")
    return {key: mat.metadata[key].value for key in ("looked_at", "scored", "rebuilt")}


def social_marts(con) -> dict[str, list[dict[str, object]]]:
    """Every row of each of the social marts, in a fixed order."""
    return {name: records(con, f"select * from {name} order by all") for name in SOCIAL_MARTS}


def test_the_brands_posts_are_not_scored(data_dir, monkeypatch):
    settings = Settings.resolve(data_dir=str(data_dir), as_of=AS_OF, timezone="UTC")
    drop(settings, "contacts", "contacts.csv", CONTACTS)
    drop(settings, "social_mentions", "listening.csv", UNLABELLED)
    instance = dg.DagsterInstance.ephemeral()
    monkeypatch.delenv(SETTING, raising=False)
    # The handle set for this run only, as the launchpad sets it.
    first = pipeline_run(data_dir, AS_OF, instance, brand_handles="twitter:@AcmeShop")
    # m1-m3 came labelled; m4, the brand's, is no mention: not looked at, not in the table.
    # Before, all 4 were looked at and m4 was scored (the table held it, 1 scored).
    assert scoring(first) == {"looked_at": 3, "scored": 0, "rebuilt": True}
    sentiment = (
        "select mention_id, sentiment, sentiment_source, compound from int_mention_sentiment"
    )
    with open_warehouse(settings.warehouse_path) as con:
        assert {r["mention_id"] for r in records(con, sentiment)} == {"m1", "m2", "m3"}
        marts = social_marts(con)
    assert (social_april_of(marts)["mentions"], social_april_of(marts)["negative"]) == (3, 1)

    # A run without it (and no PIPELINE_BRAND_HANDLES): m4 is a mention again, and only it is
    # scored (the others are kept as they were).
    # By hand: VADER's lexicon gives "sorry" -0.3 and nothing else in the text a valence, so
    # the compound is -0.3 / sqrt(0.3^2 + 15) = -0.0772, at or below -0.05: negative.
    second = pipeline_run(data_dir, AS_OF, instance)
    assert scoring(second) == {"looked_at": 1, "scored": 1, "rebuilt": False}
    with open_warehouse(settings.warehouse_path) as con:
        (m4,) = records(con, f"{sentiment} where mention_id = 'm4'")
        assert (m4["sentiment"], m4["sentiment_source"]) == ("negative", "scored")
        assert m4["compound"] == pytest.approx(-0.3 / (0.3**2 + 15) ** 0.5, abs=1e-4)
        got = social_april(con)
        assert (got["mentions"], got["negative"]) == (4, 2)

    # The handle set again, in the environment: m4's row is dropped, nothing is scored, and
    # every social mart is as in the first run, row for row.
    monkeypatch.setenv(SETTING, "twitter:acmeshop")
    third = pipeline_run(data_dir, AS_OF, instance)
    assert scoring(third) == {"looked_at": 0, "scored": 0, "rebuilt": False}
    with open_warehouse(settings.warehouse_path) as con:
        assert {r["mention_id"] for r in records(con, sentiment)} == {"m1", "m2", "m3"}
        assert social_marts(con) == marts

    # The same again: the table is left as it was (its readers skipped, their inputs unchanged).
    fourth = pipeline_run(data_dir, AS_OF, instance)
    assert scoring(fourth) == {"looked_at": 0, "scored": 0, "rebuilt": False}
    assert builds(fourth)["int_social_mentions"] == "skipped"


def social_april_of(marts: dict[str, list[dict[str, object]]]) -> dict[str, object]:
    """April's Twitter row of social_monthly, from :func:`social_marts`."""
    (row,) = [r for r in marts["social_monthly"] if r["platform"] == "twitter"]
    assert row["month"] == APRIL
    return row


def the_publication_names_the_handles_the_marts_were_built_with(
    acme: Settings,
    instance: dg.DagsterInstance,
    first: dg.ExecuteInProcessResult,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The publication's story, from the first run of
    :func:`test_a_post_by_the_brand_counts_in_no_social_figure` (``first``: the setting
    ``twitter:@AcmeShop``, with serving) on: two more runs with other settings."""

    def published(result: dg.ExecuteInProcessResult) -> tuple[list[object], bool]:
        """The publication's brand_handles after ``result``, and whether serving was skipped
        as unchanged."""
        (mat,) = result.asset_materializations_for_node("serving_marts")
        with duckdb.connect(str(acme.serving_dir / SERVING_FILE), read_only=True) as reader:
            found = {
                json.dumps(json.loads(text).get("brand_handles"))
                for (text,) in reader.sql("select settings from publication").fetchall()
            }
        (handles,) = found  # one row per mart, all alike
        return json.loads(handles), "skipped" in mat.metadata

    def run_with(setting: str) -> dg.ExecuteInProcessResult:
        monkeypatch.setenv(SETTING, setting)
        return pipeline_run(acme.data_dir, AS_OF, instance, serving=True)

    # A BI reader of social_monthly is told whose posts it leaves out.
    assert published(first) == (["twitter:acmeshop"], False)
    # Another account, whose posts none landed: no mart changes, but the settings the marts
    # were built with did, so the publication is written again and says so.
    assert published(run_with("twitter:@AcmeShop, instagram:acme.shop")) == (
        ["instagram:acme.shop", "twitter:acmeshop"],
        False,
    )
    assert published(run_with("instagram:acme.shop,twitter:AcmeShop")) == (
        ["instagram:acme.shop", "twitter:acmeshop"],
        True,
    )


# Ways of writing an account in an export, and the platform they are written for: the setting
# names each the same way (pipeline/handles.py); the ingestion and stg_social_mentions must
# arrive at the same handle, or the brand's posts would count on as mentions.
WRITTEN = [
    ("twitter", "@AcmeShop"),
    ("twitter", "https://twitter.com/AcmeShop"),
    ("twitter", "https://mobile.twitter.com/AcmeShop/?lang=en"),
    ("twitter", "x.com/@AcmeShop/"),
    ("twitter", "AcmeShop\u200b"),  # a zero-width space pasted with it
    ("twitter", "\u00a0@ΣΟΦΟΣ"),  # a no-break space; a final capital sigma
    ("twitter", "İPEK"),  # Turkish dotted capital I
    ("facebook", "https://www.facebook.com/AcmeShop/"),
    ("facebook", "https://www.facebook.com/profile.php?id=1000123"),
    ("facebook", "fb.com/acme.shop?ref=page"),
    ("instagram", "instagram.com/acme.shop/"),
    ("instagram", "Mu\u0308ller.Shop"),  # ü decomposed, as a Mac export writes it
    ("linkedin", "https://www.linkedin.com/company/acme-shop/"),
    ("linkedin", "https://de.linkedin.com/in/Ana-Pop"),
    ("blog", "Acme Team"),
    ("other", "@Acme"),
]


def test_a_handle_in_the_setting_is_normalised_as_an_author_is(data_dir, monkeypatch):
    settings = Settings.resolve(data_dir=str(data_dir), as_of=AS_OF, timezone="UTC")
    lines = [
        f'w{n},{platform},"{written}",hi,en,2024-04-02 10:00:00,neutral,'
        for n, (platform, written) in enumerate(WRITTEN)
    ]
    drop(settings, "social_mentions", "authors.csv", "\n".join([MENTIONS.split("\n")[0], *lines]))
    # Every author written as the brand's account, one setting entry per way of writing it.
    monkeypatch.setenv(SETTING, ", ".join(f"{p}:{w}" for p, w in WRITTEN))
    pipeline_run(data_dir, AS_OF)
    with open_warehouse(settings.warehouse_path) as con:
        landed = records(con, "select mention_id, author_handle from stg_social_mentions")
        brand = records(con, "select mention_id from int_brand_posts")
        left = scalar(con, "select count(*) from int_social_mentions")
    by_python = {f"w{n}": normal_handle(p, w) for n, (p, w) in enumerate(WRITTEN)}
    assert {r["mention_id"]: r["author_handle"] for r in landed} == by_python
    # Worked out by hand (R12, R14): the links name the profile, the rest is lower case.
    assert by_python == {
        "w0": "acmeshop",
        "w1": "acmeshop",
        "w2": "acmeshop",
        "w3": "acmeshop",
        "w4": "acmeshop",
        "w5": "σοφοσ",
        "w6": "ipek",
        "w7": "acmeshop",
        "w8": "https://www.facebook.com/profile.php?id=1000123",
        "w9": "acme.shop",
        "w10": "acme.shop",
        "w11": "m\u00fcller.shop",
        "w12": "acme-shop",
        "w13": "ana-pop",
        "w14": "acme team",
        "w15": "acme",
    }
    assert len(brand) == len(WRITTEN) and left == 0


AIRLINES = "united, americanair, southwestair, usairways, jetblue, virginamerica, delta"


def test_the_airline_file_counts_no_airlines_own_tweet(shared_data, data_dir, monkeypatch):
    # The Twitter US-airline file (shared data, SOURCES.md): every tweet is about an airline,
    # but three were written by an airline's own account. Counted here independently, with
    # polars over the file: the first copy of each tweet_id (staging keeps the first).
    tweets = pl.read_csv(shared_data / "twitter_airline" / "Tweets.csv", infer_schema=False).unique(
        "tweet_id", keep="first", maintain_order=True
    )
    own = tweets.filter(pl.col("name").str.to_lowercase().is_in(AIRLINES.split(", ")))
    assert own.height == 3  # @SouthwestAir once, @JetBlue twice (filed under "Delta")
    assert tweets.height == 14_485

    def by_sentiment(frame: pl.DataFrame) -> dict[str, int]:
        counts = frame.group_by("airline_sentiment").len()
        return dict(zip(counts["airline_sentiment"], counts["len"], strict=True))

    every, theirs = by_sentiment(tweets), by_sentiment(own)
    assert theirs == {"positive": 2, "neutral": 1}
    settings = Settings.resolve(data_dir=str(data_dir), as_of="2015-02-28", timezone="UTC")
    export = (shared_data / "twitter_airline" / "Tweets.csv").read_bytes()
    drop(settings, "social_mentions", "Tweets.csv", export)
    monkeypatch.setenv(SETTING, ", ".join(f"twitter:{h}" for h in AIRLINES.split(", ")))
    pipeline_run(data_dir, "2015-02-28")
    with open_warehouse(data_dir / "warehouse.duckdb") as con:
        assert scalar(con, "select count(*) from raw.raw_social_mentions") == 14_640  # all kept
        (feb,) = records(con, "select * from social_monthly")
        assert feb["month"] == dt.date(2015, 2, 1)  # every tweet is of February 2015, UTC too
        # Before: 14,485 mentions with these three among them.
        assert feb["mentions"] == 14_485 - 3
        assert (feb["positive"], feb["neutral"], feb["negative"]) == (
            every["positive"] - 2,
            every["neutral"] - 1,
            every["negative"],
        )
        brand = records(con, "select mention_id, author_handle from int_brand_posts")
        # Only the mentions have a sentiment row: the three airlines' tweets were not looked
        # at (before, the table held all 14,485).
        scored = records(con, "select mention_id from int_mention_sentiment")
    assert len(scored) == 14_485 - 3
    assert not {r["mention_id"] for r in scored} & set(own["tweet_id"])
    assert {r["mention_id"] for r in brand} == set(own["tweet_id"])
    assert sorted(r["author_handle"] for r in brand) == ["jetblue", "jetblue", "southwestair"]
