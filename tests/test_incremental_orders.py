"""int_orders kept by key (delete+insert by order_id), against int_record_links rebuilt whole;
int_purchases, rebuilt whole after it, shows the rewritten orders reach the purchases.

A first day is built whole; then a new contact takes an e-mail that two orders outside the CRM
used, an order gets a newer version, a new order arrives and as_of moves across two orders. Each
step the two tables must equal their SQL run whole, and the rows are checked by hand.
"""

import hashlib

from pipeline.engine import build_models, discover_models, materialize
from pipeline.warehouse import rows
from tests.marts_fixtures import insert_rows, new_warehouse, write_settings

ORDER_MODELS = ("int_record_links", "int_orders", "int_purchases")  # only int_orders by key
ORDERS = "select order_id, natural_key, status, is_qualifying from int_orders order by order_id"
PURCHASES = "select order_id, customer_id from int_purchases order by order_id"


def customer_id(natural_key: str) -> str:
    """int_customers' key: the first 16 hex digits of sha256 of the natural key."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


def order(order_id, contact_id, email, ordered_at, status, updated_at=None):
    return {"order_id": order_id, "contact_id": contact_id, "email": email,
            "ordered_at": ordered_at, "status": status, "gross_amount": "10",
            "updated_at": updated_at}  # fmt: skip


def differs_from_whole_rebuild(con, name: str) -> int:
    """Rows in the built table or in its SQL run whole, not in both (0 = the same table)."""
    (model,) = [m for m in discover_models() if m.name == name]
    return len(
        rows(
            con,
            f"(select * from {model.qualified_name} except all ({model.sql})) "
            f"union all (({model.sql}) except all select * from {model.qualified_name})",
        )
    )


def build_hows(con) -> dict[str, str]:
    """Build the staging models and int_orders' ancestors as a run does (in dependency order);
    how each order-path model was built."""
    models = discover_models()
    build_models(con, only={m.name for m in models if m.layer == "staging"})
    wanted = {"int_contacts", "int_customers", *ORDER_MODELS}
    hows = {m.name: materialize(con, m)[1] for m in models if m.name in wanted}
    return {name: hows[name] for name in ORDER_MODELS}


def test_orders_follow_new_links_versions_and_as_of(tmp_path):
    con = new_warehouse(tmp_path)
    write_settings(con, "2026-03-31")  # as_of_end 2026-04-01 00:00
    insert_rows(con, "contacts", [
        {"contact_id": "c1", "email": "a@x.com", "created_at": "2026-01-01"},
    ])  # fmt: skip
    insert_rows(con, "orders", [
        order("o1", "c1", "a@x.com", "2026-02-01", "completed", "2026-02-01 10:00:00"),
        order("o2", None, "b@x.com", "2026-03-01", "completed"),
        order("o3", None, "b@x.com", "2026-04-10", "completed"),  # after as_of
    ])  # fmt: skip
    build_hows(con)  # every build a rebuild: nothing was built before
    # o1 is c1's; o2 has no contact, so it is keyed by its e-mail; o3 is not placed yet.
    assert rows(con, ORDERS) == [
        ("o1", "contact:c1", "completed", True),
        ("o2", "email:b@x.com", "completed", True),
    ]
    assert rows(con, PURCHASES) == [
        ("o1", customer_id("contact:c1")),
        ("o2", customer_id("email:b@x.com")),
    ]

    # Day 2: contact c2 takes b@x.com (o2's and o3's links change), o1 is cancelled (a newer
    # version), o4 arrives pending, and as_of moves past o3 and o4.
    write_settings(con, "2026-04-30")
    insert_rows(con, "contacts", [
        {"contact_id": "c2", "email": "b@x.com", "created_at": "2026-02-15"},
    ], delivery_seq=2)  # fmt: skip
    insert_rows(con, "orders", [
        order("o1", "c1", "a@x.com", "2026-02-01", "cancelled", "2026-04-02 10:00:00"),
        order("o4", "c1", "a@x.com", "2026-04-20", "pending"),
    ], delivery_seq=2)  # fmt: skip
    assert build_hows(con) == {
        "int_record_links": "rebuilt",
        # o1 (new version), o4 (new, placed), o3 (placed now), o2 (its link is now c2's; o1's
        # is as it was): o1 and o2 were held
        "int_orders": "rewrote 4 changed keys (2 rows out, 4 in)",
        "int_purchases": "rebuilt",
    }
    for name in ORDER_MODELS:
        assert differs_from_whole_rebuild(con, name) == 0, name
    assert rows(con, ORDERS) == [
        ("o1", "contact:c1", "cancelled", False),
        ("o2", "contact:c2", "completed", True),
        ("o3", "contact:c2", "completed", True),
        ("o4", "contact:c1", "pending", False),
    ]
    assert rows(con, PURCHASES) == [
        ("o2", customer_id("contact:c2")),
        ("o3", customer_id("contact:c2")),
    ]

    # as_of back before o3 and o4: they leave int_orders; no link changed (c2 was created
    # before either end), so no other order is rewritten.
    write_settings(con, "2026-03-31")
    assert build_hows(con) == {
        "int_record_links": "rebuilt",
        "int_orders": "rewrote 2 changed keys (2 rows out, 0 in)",
        "int_purchases": "rebuilt",
    }
    for name in ORDER_MODELS:
        assert differs_from_whole_rebuild(con, name) == 0, name
    assert [r[0] for r in rows(con, ORDERS)] == ["o1", "o2"]
    assert rows(con, PURCHASES) == [("o2", customer_id("contact:c2"))]

    # Nothing new: nothing rewritten.
    assert build_hows(con)["int_orders"] == "rewrote 0 changed keys (0 rows out, 0 in)"
