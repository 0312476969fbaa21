"""The generator's vendor samples: rendered by inverting the mappings, they land as generated."""

from __future__ import annotations

import datetime as dt
import shutil

import polars as pl
import pytest
from ingest_support import land, make_settings, query

import pipeline.sample_data.generate as generate
from pipeline.entities import ENTITIES, LINEAGE_COLUMNS
from pipeline.ingest.mappings import SHIPPED_DIR, load_mapping_file
from pipeline.ingest.render import NotRenderable, carries, render


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


def test_render_refuses_what_it_cannot_write():
    uci = load_mapping_file(SHIPPED_DIR / "uci_online_retail.toml")
    with pytest.raises(NotRenderable, match="patterns and templates cannot be inverted"):
        render(pl.DataFrame(), uci)
    listening = load_mapping_file(SHIPPED_DIR / "social_listening.toml")
    mentions = pl.DataFrame(
        {c: [None] for c in ENTITIES["social_mentions"].columns}, schema_overrides={}
    ).with_columns(sentiment=pl.lit("mixed"))
    with pytest.raises(NotRenderable, match="no vendor value of sentiment reads back as 'mixed'"):
        render(mentions, listening)
