"""The seeded sample-data generator: canonical files, determinism and the realism others rely on."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from pipeline.entities import ENTITIES, SCORE_RANGES
from pipeline.sample_data import lexicon as lex
from pipeline.sample_data.base import email_variant, history_window, ids
from pipeline.sample_data.generate import FILE_PREFIX, generate

AS_OF = dt.date(2025, 6, 30)
TS_PATTERN = r"^\d{4}-\d\d-\d\d(T\d\d:\d\d:\d\d(Z|\+02:00)| \d\d:\d\d:\d\d)$"


def _read(folder: Path, pattern: str) -> pl.DataFrame:
    """All matching CSV files of a folder as text, in file-name order, with their file name."""
    frames = [
        pl.read_csv(f, infer_schema=False).with_columns(pl.lit(f.name).alias("_file"))
        for f in sorted(folder.glob(pattern))
    ]
    return pl.concat(frames)


def _entity_dir(out: Path, name: str) -> Path:
    return out / "landing" / ENTITIES[name].landing_path


def _canonical_files(folder: Path) -> list[Path]:
    """The files written in the canonical format: all but ``vendor_sample_<mapping>.csv``."""
    return [f for f in sorted(folder.glob("*.csv")) if not f.name.startswith("vendor_sample_")]


def _all_canonical(out: Path, name: str) -> pl.DataFrame:
    """Main, delta and canonical vendor-sample rows of an entity, with their file name."""
    return pl.concat(
        pl.read_csv(f, infer_schema=False).with_columns(pl.lit(f.name).alias("_file"))
        for f in _canonical_files(_entity_dir(out, name))
    )


def _canonical(out: Path, name: str) -> pl.DataFrame:
    """Main and delta deliveries of an entity (not the vendor sample)."""
    return _read(_entity_dir(out, name), f"{FILE_PREFIX[name]}_*.csv")


def _latest(frame: pl.DataFrame, key: str) -> pl.DataFrame:
    """The last delivered version per key: delta files sort after the main files."""
    return frame.sort("_file", maintain_order=True).unique(key, keep="last", maintain_order=True)


def _norm(col: str) -> pl.Expr:
    return pl.col(col).str.strip_chars().str.to_lowercase()


def _utc(col: str) -> pl.Expr:
    """Parse the three canonical timestamp styles; naive ones are UTC wall time."""
    c = pl.col(col)
    offset = (
        pl.when(c.str.ends_with("Z"))
        .then(c.str.replace("Z$", "+00:00"))
        .when(c.str.contains(" "))
        .then(c.str.replace(" ", "T") + "+00:00")
        .otherwise(c)
    )
    return offset.str.to_datetime("%Y-%m-%dT%H:%M:%S%:z", time_zone="UTC").alias(col)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, int]]:
    out = tmp_path_factory.mktemp("gen")
    return out, generate(out, customers=300, seed=11, as_of=AS_OF)


def test_history_window_by_hand() -> None:
    # as_of 2025-06-30, 24 months back -> 2023-06-30, history starts the day after: 2023-07-01.
    # 2023-07-01 is 19539 days after 1970-01-01 (1688169600 s); as_of ends 2025-07-01 00:00
    # (1751328000 s); exports are taken at its last second (- 1 s).
    w = history_window(AS_OF, 24)
    assert (w.start, w.as_of_end, w.horizon) == (1688169600, 1751328000, 1751327999)


def test_ids_and_email_variants_by_hand() -> None:
    assert ids("SO", 3, 2).to_list() == ["SO0000300000001", "SO0000300000002"]
    kinds = pl.DataFrame({"e": ["ana.pop1@x.example"] * 4, "k": [0, 1, 2, 3]})
    shown = kinds.select(email_variant(pl.col("e"), pl.col("k")))["e"].to_list()
    assert shown == [
        "Ana.pop1@x.example",
        "ANA.POP1@X.EXAMPLE",
        "  ana.pop1@x.example ",
        " Ana.pop1@x.example",
    ]


def test_every_entity_lands_with_the_canonical_header(run: tuple[Path, dict[str, int]]) -> None:
    out, written = run
    for name, entity in ENTITIES.items():
        folder = _entity_dir(out, name)
        files = sorted(folder.glob("*.csv"))
        names = {f.name for f in files}
        assert f"{FILE_PREFIX[name]}_0001.csv" in names, name
        assert any(n.startswith("vendor_sample") for n in names), name
        for f in _canonical_files(folder):
            header = f.read_text(encoding="utf-8").split("\n", 1)[0]
            assert header.split(",") == list(entity.columns), f
        # Every generated row is in exactly one file (the vendor formats here: a row per record).
        rows = sum(pl.read_csv(f, infer_schema=False).height for f in files)
        assert rows == written[name] > 0, name
    # At least one vendor-format file per source: CRM, e-mail and social.
    vendor_files = {f.parent.parent.name for f in (out / "landing").rglob("vendor_sample_*.csv")}
    assert vendor_files == {"crm", "email", "social"}


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    def files(out: Path) -> dict[str, bytes]:
        return {
            str(f.relative_to(out)): f.read_bytes() for f in sorted(out.rglob("*")) if f.is_file()
        }

    generate(tmp_path / "a", customers=120, seed=5, as_of=AS_OF)
    generate(tmp_path / "b", customers=120, seed=5, as_of=AS_OF)
    generate(tmp_path / "c", customers=120, seed=6, as_of=AS_OF)
    a, b, c = files(tmp_path / "a"), files(tmp_path / "b"), files(tmp_path / "c")
    assert len(a) >= 6 * 2  # per entity: a main file and the vendor sample, most a delta too
    assert a == b
    for name in ENTITIES:
        main = f"landing/{ENTITIES[name].landing_path}/{FILE_PREFIX[name]}_0001.csv"
        assert a[main] != c[main], name


def test_required_columns_are_filled(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    for name, entity in ENTITIES.items():
        frame = _all_canonical(out, name)
        for col in entity.required:
            assert frame[col].null_count() == 0, (name, col)
        if entity.contact_or_email:
            either = frame["contact_id"].is_not_null() | frame["email"].is_not_null()
            assert either.all(), name
        for col, allowed in entity.enums.items():
            assert set(frame[col].drop_nulls()) <= set(allowed), (name, col)


def test_timestamps_are_iso_in_three_styles(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    styles = pl.Series(dtype=pl.String)
    for name, entity in ENTITIES.items():
        frame = _canonical(out, name)
        for col in entity.timestamp_columns:
            values = frame[col].drop_nulls()
            assert values.str.contains(TS_PATTERN).all(), (name, col)
            frame.select(_utc(col))  # parses strictly
            styles = pl.concat([styles, values.str.slice(19)])
    # "Z", "+02:00" and "" (naive, a space between date and time) all occur.
    assert set(styles) == {"Z", "+02:00", ""}


def test_score_ranges_cover_each_scale(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    surveys = _canonical(out, "surveys").with_columns(pl.col("score").cast(pl.Int64))
    for survey_type, (low, high) in SCORE_RANGES.items():
        scores = surveys.filter(pl.col("survey_type") == survey_type)["score"]
        assert scores.len() > 0, survey_type
        assert low <= scores.min() and scores.max() <= high, survey_type
        # Scores spread over the scale, not a constant: at least half its values occur.
        assert scores.n_unique() >= (high - low + 1) / 2, survey_type


def test_orders_churn_reactivate_cancel_and_refund(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    orders = _latest(_canonical(out, "orders"), "order_id").with_columns(
        pl.col("gross_amount", "discount_amount", "refund_amount").cast(pl.Float64),
        _utc("ordered_at").dt.date().alias("day"),
    )
    assert (orders["status"] == "cancelled").any()
    net = pl.col("gross_amount") - pl.col("discount_amount") - pl.col("refund_amount")
    refunded = pl.col("status") == "refunded"
    fully = orders.filter(refunded & (pl.col("refund_amount") > 0) & (net.abs() < 0.005))
    partly = orders.filter(refunded & (net > 0.005))
    assert fully.height > 0 and partly.height > 0
    assert (orders["discount_amount"] > 0).any()
    # Reactivation: a qualifying purchase more than 90 days after the customer's previous one.
    qualifying = orders.filter(
        ~pl.col("status").is_in(["pending", "cancelled"]) & (net > 0)
    ).with_columns(pl.coalesce("contact_id", _norm("email")).alias("who"))
    gaps = qualifying.sort("who", "day").with_columns(
        (pl.col("day") - pl.col("day").shift(1).over("who")).dt.total_days().alias("gap")
    )
    assert (gaps["gap"] > 90).any()


def test_identity_edge_cases(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    contacts = _latest(_canonical(out, "contacts"), "contact_id")
    shared = (
        contacts.filter(pl.col("email").is_not_null())
        .group_by(_norm("email").alias("norm"))
        .agg(pl.col("contact_id").n_unique().alias("ids"), pl.col("email").n_unique().alias("raw"))
        .filter(pl.col("ids") > 1)
    )
    assert shared.height > 0
    assert (shared["raw"] > 1).all()  # the shared address is typed differently
    orders = _canonical(out, "orders")
    known = contacts.select(_norm("email").alias("norm"))["norm"].drop_nulls()
    outsiders = orders.filter(
        pl.col("contact_id").is_null() & ~_norm("email").is_in(known.implode())
    )
    assert outsiders.height > 0
    # Handles link: a mention's handle (without "@", any case) is some contact's handle.
    handles = pl.concat(
        [
            contacts.select(pl.col(c).str.strip_prefix("@").str.to_lowercase().alias("h"))
            for c in ("twitter_handle", "facebook_handle", "instagram_handle", "linkedin_handle")
        ]
    )["h"].drop_nulls()
    mentions = _canonical(out, "social_mentions")
    linked = (
        mentions["author_handle"].str.strip_prefix("@").str.to_lowercase().is_in(handles.implode())
    )
    assert linked.any() and not linked.all()


def test_tickets_mostly_answered_within_a_day(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    tickets = _latest(_canonical(out, "tickets"), "ticket_id").with_columns(
        (_utc("first_response_at") - _utc("created_at")).dt.total_hours().alias("wait")
    )
    within = (tickets["wait"] <= 24).sum()
    assert within > tickets.height / 2
    assert tickets["first_response_at"].null_count() > 0
    assert set(tickets["channel"]) == set(ENTITIES["tickets"].enums["channel"])
    assert set(tickets["category"]) == set(ENTITIES["tickets"].enums["category"])
    assert set(tickets["status"]) == set(ENTITIES["tickets"].enums["status"])
    assert (tickets["reopens"].cast(pl.Int64) > 0).any()


def test_delta_delivery_updates_orders_and_tickets(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    for name, key in (("orders", "order_id"), ("tickets", "ticket_id")):
        frame = _canonical(out, name)
        main = frame.filter(~pl.col("_file").str.contains("delta"))
        delta = frame.filter(pl.col("_file").str.contains("delta"))
        pairs = main.join(delta, on=key, suffix="_new")
        changed = pairs.filter(pl.col("status") != pl.col("status_new"))
        assert changed.height > 0, name
        # Every changed row is newer in the delta (compared in UTC).
        times = changed.select(_utc("updated_at"), _utc("updated_at_new"))
        assert (times["updated_at_new"] > times["updated_at"]).all(), name
        assert main[key].n_unique() == main.height  # one version per key within a file


def test_mentions_with_and_without_sentiment(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    mentions = _canonical(out, "social_mentions")
    assert mentions["sentiment"].null_count() > 0
    assert set(mentions["sentiment"].drop_nulls()) == {"positive", "neutral", "negative"}
    assert {"twitter", "facebook", "instagram", "blog"} <= set(mentions["platform"])
    assert (mentions["language"] == "en").mean() > 0.5
    assert mentions["brand_replied_at"].is_not_null().any()


def test_non_ascii_text_survives_a_round_trip(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    contacts = _canonical(out, "contacts")
    native = {row[0] for rows in lex.FIRST_NAMES.values() for row in rows}
    first = set(contacts["first_name"])
    assert first <= native
    # Greek, Cyrillic and Latin letters with diacritics are all present, read back exactly.
    assert any("\u0370" <= ch <= "\u03ff" for name in first for ch in name)
    assert any("\u0400" <= ch <= "\u04ff" for name in first for ch in name)
    assert any(ch in "ȘșȚțăâîüöäßšžč" for name in first for ch in name)
    texts = {t for langs in lex.MENTION_TEXTS.values() for ts in langs.values() for t in ts}
    mentions = _canonical(out, "social_mentions")
    assert set(mentions["text"]) <= texts
    assert any("\n" in t and '"' in t for t in mentions["text"])  # quotes and newlines too


def test_vendor_sample_is_separate(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    for name, entity in ENTITIES.items():
        everything = _all_canonical(out, name)
        sample = everything.filter(pl.col("_file") == "vendor_sample.csv")
        main = everything.filter(pl.col("_file") != "vendor_sample.csv")
        # Orders and tickets carry columns their vendor exports lack: their sample stays canonical.
        assert sample.height > 0 or name not in ("orders", "tickets"), name
        key = entity.key
        keys = sample[key].drop_nulls()
        assert not keys.is_in(main[key].drop_nulls().implode()).any(), name


def test_small_runs_work_and_reruns_replace_files(tmp_path: Path) -> None:
    written = generate(tmp_path, customers=100, seed=1, as_of=AS_OF, months=6)
    assert all(v > 0 for v in written.values())
    orders = _canonical(tmp_path, "orders")
    first_day = orders.select(_utc("ordered_at").dt.date())["ordered_at"].min()
    assert first_day >= dt.date(2024, 12, 31)  # 6 months before as_of, plus a day
    # A second, smaller run into the same folder leaves only its own deliveries behind.
    (tmp_path / "landing/crm/orders/orders_0002.csv").write_text("stale")
    generate(tmp_path, customers=100, seed=1, as_of=AS_OF, months=6)
    assert not (tmp_path / "landing/crm/orders/orders_0002.csv").exists()


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers=0"):
        generate(tmp_path, customers=0, seed=1, as_of=AS_OF)
    with pytest.raises(ValueError, match="seed=-1"):
        generate(tmp_path, customers=10, seed=-1, as_of=AS_OF)


def test_email_events_form_a_funnel(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    events = _canonical(out, "email_events")
    counts = events["event_type"].value_counts()
    kinds = set(counts["event_type"])
    assert kinds == set(ENTITIES["email_events"].enums["event_type"])
    # More opens than clicks, more deliveries than opens: a funnel, not uniform noise.
    n = dict(zip(counts["event_type"], counts["count"], strict=True))
    assert n["sent"] >= n["delivered"] > n["open"] > n["click"] > 0
    assert np.isclose(events["event_id"].null_count() / events.height, 0.05, atol=0.03)


def test_email_opens_fade_after_the_last_purchase(run: tuple[Path, dict[str, int]]) -> None:
    out, _ = run
    contacts = _latest(_canonical(out, "contacts"), "contact_id").select(
        "contact_id", _norm("email").alias("norm")
    )
    orders = _latest(_canonical(out, "orders"), "order_id")
    last_purchase = (
        orders.filter(pl.col("status") == "completed")
        .join(contacts, on="contact_id", how="left")
        .select(pl.coalesce("norm", _norm("email")).alias("norm"), _utc("ordered_at"))
        .group_by("norm")
        .agg(pl.col("ordered_at").max().alias("last"))
        # Churned: no purchase in the 200 days before as_of.
        .filter(pl.col("last") < pl.datetime(2024, 12, 12, time_zone="UTC"))
    )
    events = _canonical(out, "email_events").select(
        _norm("email").alias("norm"), "campaign_id", "event_type", _utc("occurred_at")
    )
    delivered = events.filter(pl.col("event_type") == "delivered").join(last_purchase, on="norm")
    opened = events.filter(pl.col("event_type") == "open").select("norm", "campaign_id").unique()
    days = (pl.col("occurred_at") - pl.col("last")).dt.total_days()
    rates = (
        delivered.with_columns(
            pl.when(days.is_between(-90, 0))
            .then(pl.lit("before"))
            .when(days.is_between(60, 200))
            .then(pl.lit("after"))
            .alias("phase")
        )
        .filter(pl.col("phase").is_not_null())
        .join(
            opened.with_columns(pl.lit(1).alias("opened")), on=["norm", "campaign_id"], how="left"
        )
        .group_by("phase")
        .agg(pl.col("opened").fill_null(0).mean().alias("rate"), pl.len())
    )
    rate = dict(zip(rates["phase"], rates["rate"], strict=True))
    assert rates["len"].min() > 50  # enough sends on both sides to compare
    assert rate["before"] > 2 * rate["after"]


def test_nothing_is_dated_after_as_of(run: tuple[Path, dict[str, int]]) -> None:
    # as_of 2025-06-30 ends 2025-07-01 00:00 UTC; every timestamp of every main and delta file
    # (any of the three styles) is before it, so a run with this as_of lands them all.
    end = dt.datetime(2025, 7, 1, tzinfo=dt.UTC)
    out, _ = run
    for name, entity in ENTITIES.items():
        stamps = _canonical(out, name).select(_utc(c) for c in entity.timestamp_columns)
        latest = stamps.select(pl.max_horizontal(pl.all().max())).item()
        assert latest < end, (name, latest)
        assert latest > end - dt.timedelta(days=31), name  # the last month is not left empty
