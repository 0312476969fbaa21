"""Incremental models (delete+insert, diff) give the table a whole rebuild would.

The e-mail models of sql/intermediate are built, then a second delivery moves an e-mail to a
new owner, flips a campaign to having delivered events and moves as_of across an event; each
time the incremental tables must equal their SQL run whole, and the figures are checked by hand.
The engine's own rules (when it must rebuild instead) are tested on small models of their own.
"""

import hashlib
from pathlib import Path

import pytest

from pipeline.engine import ModelError, build_models, discover_models, materialize
from pipeline.warehouse import open_warehouse, rows, run, scalar
from tests.marts_fixtures import build_all, insert_rows, new_warehouse, records, write_settings

EMAIL_MODELS = ("int_email_owners", "int_email_events", "int_email_campaigns",
                "int_email_recipients")  # fmt: skip


def customer_id(natural_key: str) -> str:
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def event(event_id, email, campaign, kind, at):
    return {"event_id": event_id, "email": email, "campaign_id": campaign,
            "event_type": kind, "occurred_at": at}  # fmt: skip


def differs_from_whole_rebuild(con, name: str) -> int:
    """Rows in the built table or in its SQL run whole, not in both (0 = the same table)."""
    (model,) = [m for m in discover_models() if m.name == name]
    return scalar(
        con,
        f"select count(*) from ((select * from {model.qualified_name} except all ({model.sql})) "
        f"union all (({model.sql}) except all select * from {model.qualified_name}))",
    )


def build_hows(con) -> dict[str, str]:
    """Build every model as a run does; how each e-mail model was built."""
    models = discover_models()
    build_models(con, only={m.name for m in models if m.layer == "staging"})
    hows = {}
    for model in models:
        if model.layer != "staging":
            hows[model.name] = materialize(con, model)[1]
    return {name: hows[name] for name in EMAIL_MODELS}


def test_email_models_follow_new_owners_campaigns_and_as_of(tmp_path):
    con = new_warehouse(tmp_path)
    write_settings(con, "2026-03-31")
    insert_rows(con, "contacts", [
        {"contact_id": "c1", "email": "a@x.com", "created_at": "2026-01-01"},
    ])  # fmt: skip
    insert_rows(con, "orders", [
        {"order_id": "o1", "email": "B@x.com", "ordered_at": "2026-02-01", "status": "completed",
         "gross_amount": "10"},
    ])  # fmt: skip
    insert_rows(con, "email_events", [
        event("e1", "a@x.com", "K1", "sent", "2026-03-01 08:00:00"),
        event("e2", "a@x.com", "K1", "delivered", "2026-03-01 08:01:00"),
        event("e3", "a@x.com", "K1", "open", "2026-03-02 09:00:00"),
        event("e4", "b@x.com", "K1", "sent", "2026-03-01 08:00:00"),
        event("e5", "b@x.com", "K1", "bounce", "2026-03-01 08:02:00"),
        event("e6", "a@x.com", "K2", "sent", "2026-03-10 08:00:00"),
        event("e7", "a@x.com", "K2", "open", "2026-04-05 10:00:00"),  # after as_of
    ])  # fmt: skip
    build_all(con)
    assert rows(con, "select count(*) from int_email_events") == [(6,)]
    recipient = "select * from int_email_recipients where campaign_id = ? and email = ?"
    (a_k2,) = records(con, recipient.replace("?", "'K2'", 1).replace("?", "'a@x.com'"))
    # K2 has no delivered event: a sent and unbounced recipient counts as delivered.
    assert (a_k2["is_delivered"], a_k2["has_opened"]) == (True, False)

    # Day 2: contact c2 takes b@x.com from the order's key (a contact comes first), K2 gets its
    # first delivered event, and as_of moves past e7.
    write_settings(con, "2026-04-30")
    insert_rows(con, "contacts", [
        {"contact_id": "c2", "email": "b@x.com", "created_at": "2026-02-15"},
    ], delivery_seq=2)  # fmt: skip
    insert_rows(con, "email_events", [
        event("e8", "b@x.com", "K2", "sent", "2026-04-02 08:00:00"),
        event("e9", "b@x.com", "K2", "delivered", "2026-04-02 08:01:00"),
    ], delivery_seq=2)  # fmt: skip
    hows = build_hows(con)
    assert hows == {
        "int_email_owners": "rewrote 1 changed key (1 row out, 1 in)",  # b@x.com
        # e8, e9 new; e7 crossed as_of; e4, e5 relinked to c2
        "int_email_events": "rewrote 5 changed keys (2 rows out, 5 in)",
        "int_email_campaigns": "rewrote 1 changed key (1 row out, 1 in)",  # K2 flipped
        # (K1, b) relinked, (K2, b) new, (K2, a): its campaign flipped and e7 arrived
        "int_email_recipients": "rewrote 3 changed keys (2 rows out, 3 in)",
    }
    for name in EMAIL_MODELS:
        assert differs_from_whole_rebuild(con, name) == 0, name
    owner = "select distinct customer_id from int_email_events where email = 'b@x.com'"
    assert rows(con, owner) == [(customer_id("contact:c2"),)]
    (a_k2,) = records(con, recipient.replace("?", "'K2'", 1).replace("?", "'a@x.com'"))
    # K2 now has delivered events and a has none: not delivered; e7 is an open by as_of.
    assert (a_k2["is_delivered"], a_k2["has_opened"]) == (False, True)

    # as_of back before e7, e8 and e9: they leave, and K2 has no delivered event again.
    write_settings(con, "2026-03-31")
    hows = build_hows(con)
    assert hows["int_email_events"] == "rewrote 3 changed keys (3 rows out, 0 in)"
    for name in EMAIL_MODELS:
        assert differs_from_whole_rebuild(con, name) == 0, name
    assert rows(con, "select count(*) from int_email_events") == [(6,)]
    (a_k2,) = records(con, recipient.replace("?", "'K2'", 1).replace("?", "'a@x.com'"))
    assert (a_k2["is_delivered"], a_k2["has_opened"]) == (True, False)

    # Nothing new: nothing rewritten.
    hows = build_hows(con)
    assert set(hows.values()) == {"rewrote 0 changed keys (0 rows out, 0 in)"}


def write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


TOTALS_YML = """incremental:
  strategy: delete+insert
  unique_key: [k]
  source: stg_items
  changed_keys: select k from stg_items__delta
"""


def toy_models(sql_dir: Path) -> dict:
    write(sql_dir, "staging/stg_items.sql", "select k, v, _delivery_seq from raw_items")
    write(sql_dir, "staging/stg_items.yml", "incremental:\n  unique_key: v\n")
    write(sql_dir, "intermediate/int_totals.sql", "select k, sum(v) as total from stg_items "
          "group by k")  # fmt: skip
    write(sql_dir, "intermediate/int_totals.yml", TOTALS_YML)
    return {m.name: m for m in discover_models(sql_dir, known_tables={"raw_items"})}


def test_delete_insert_rebuilds_when_it_cannot_tell_what_changed(tmp_path):
    sql_dir = tmp_path / "sql"
    models = toy_models(sql_dir)
    totals = "select k, total from intermediate.int_totals order by k"
    with open_warehouse(tmp_path / "w.duckdb") as con:
        run(con, "create table raw.raw_items (k text, v int, _delivery_seq int)")
        run(con, "insert into raw.raw_items values ('a', 1, 1), ('b', 2, 1)")
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"]) == (2, "rebuilt")
        run(con, "insert into raw.raw_items values ('a', 10, 2)")
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"]) == (
            2,
            "rewrote 1 changed key (1 row out, 1 in)",
        )
        assert rows(con, totals) == [("a", 11), ("b", 2)]
        # The parent built twice since: the first delta is gone, so a rebuild.
        run(con, "insert into raw.raw_items values ('b', 20, 3)")
        materialize(con, models["stg_items"])
        run(con, "insert into raw.raw_items values ('c', 5, 4)")
        materialize(con, models["stg_items"])
        assert materialize(con, models["int_totals"]) == (3, "rebuilt")
        assert rows(con, totals) == [("a", 11), ("b", 22), ("c", 5)]
        # The parent rebuilt whole: it has no delta, so a rebuild.
        materialize(con, models["stg_items"], full_refresh=True)
        assert materialize(con, models["int_totals"]) == (3, "rebuilt")
    # An edited changed_keys is an edited model: a rebuild.
    write(sql_dir, "intermediate/int_totals.yml", TOTALS_YML.replace("select k", "select k "))
    (edited,) = [m for m in discover_models(sql_dir, {"raw_items"}) if m.name == "int_totals"]
    with open_warehouse(tmp_path / "w.duckdb") as con:
        assert materialize(con, edited) == (3, "rebuilt")


@pytest.mark.parametrize(
    ("yml", "message"),
    [
        (TOTALS_YML.replace("source: stg_items", "source: raw_items"),
         "source 'raw_items' is not a table the model reads"),
        (TOTALS_YML.replace("stg_items__delta", "raw_items"),
         "changed_keys reads raw_items; it may read the model's parents"),
        (TOTALS_YML.replace("  source: stg_items\n", ""), "strategy: delete\\+insert"),
        ("incremental:\n  strategy: diff\n  unique_key: k\n  source: stg_items\n",
         "'source', 'changed_keys', 'source_rows' and 'old_rows' belong to strategy "
         "delete\\+insert"),
        ("incremental:\n  strategy: merge\n  unique_key: k\n", "strategy: diff"),
    ],
)  # fmt: skip
def test_incremental_blocks_are_checked_at_load(tmp_path, yml, message):
    toy_models(tmp_path)
    write(tmp_path, "intermediate/int_totals.yml", yml)
    with pytest.raises(ModelError, match=message) as err:
        discover_models(tmp_path, known_tables={"raw_items"})
    assert "int_totals.yml" in str(err.value)


def order(order_id, status, updated_at=None, gross="10"):
    return {"order_id": order_id, "contact_id": "c1", "ordered_at": "2026-01-05",
            "status": status, "gross_amount": gross, "updated_at": updated_at}  # fmt: skip


def test_mutable_staging_rewrites_the_keys_delivered_since(tmp_path):
    (stg_orders,) = [m for m in discover_models() if m.name == "stg_orders"]
    con = new_warehouse(tmp_path)
    versions = "select order_id, status, _delivery_seq from stg_orders order by order_id"
    insert_rows(con, "orders", [
        order("o1", "pending", "2026-01-05 10:00:00"),
        order("o2", "completed", "2026-01-06 10:00:00"),
    ])  # fmt: skip
    assert materialize(con, stg_orders) == (2, "rebuilt")
    # Delivery 2: o1 newer (wins), o2 older than what we hold (loses), o3 new.
    insert_rows(con, "orders", [
        order("o1", "completed", "2026-01-07 10:00:00"),
        order("o2", "refunded", "2026-01-01 10:00:00"),
        order("o3", "completed"),
    ], delivery_seq=2)  # fmt: skip
    assert materialize(con, stg_orders) == (3, "rewrote 3 changed keys (2 rows out, 3 in)")
    assert rows(con, versions) == [("o1", "completed", 2), ("o2", "completed", 1),
                                   ("o3", "completed", 2)]  # fmt: skip
    assert differs_from_whole_rebuild(con, "stg_orders") == 0
    # The landed table rebuilt (deliveries numbered from 1 again): a rebuild.
    run(con, "delete from raw.raw_orders where _delivery_seq = 2")
    assert materialize(con, stg_orders) == (2, "rebuilt")
    assert rows(con, versions) == [("o1", "pending", 1), ("o2", "completed", 1)]
