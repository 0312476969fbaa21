"""``Ingestion``: several entities landed in one go, the next entity's first file read ahead
while the one before lands its last; the ledger, the delivery sequence and the reports are
those of landing the entities one after the other."""

from __future__ import annotations

from pathlib import Path

from ingest_support import drop, make_settings, query

from pipeline.entities import Entity
from pipeline.ingest.core import DeliveredRows, Ingestion, ingest_entity
from pipeline.warehouse import open_warehouse

CONTACTS = (
    "contact_id,email,first_name,last_name,phone,created_at,country,language,acquisition_source,"
    "birth_date,twitter_handle,facebook_handle,instagram_handle,linkedin_handle,updated_at\n"
)
ORDERS = (
    "order_id,contact_id,email,ordered_at,status,currency,gross_amount,discount_amount,"
    "refund_amount,updated_at\n"
)


def _contact(n: int) -> str:
    return f"c{n},p{n}@example.com,Ann,B,,2024-01-0{n},DE,de,web,,,,,,\n"


def _order(n: int) -> str:
    return f"o{n},c{n},,2024-02-0{n},completed,EUR,{n},,,\n"


def _deliveries(s) -> None:
    """Two files of contacts, two of orders (one row each, every row good)."""
    drop(s, "contacts", "a.csv", CONTACTS + _contact(1))
    drop(s, "contacts", "b.csv", CONTACTS + _contact(2))
    drop(s, "orders", "a.csv", ORDERS + _order(1))
    drop(s, "orders", "b.csv", ORDERS + _order(2))


LEDGER = "select source_file, entity, status, delivery_seq from meta.ingest_ledger order by 4"
# By hand: files land entity by entity, each entity's in path order, numbered from 1.
EXPECTED_LEDGER = [
    ("crm/contacts/a.csv", "contacts", "landed", 1),
    ("crm/contacts/b.csv", "contacts", "landed", 2),
    ("crm/orders/a.csv", "orders", "landed", 3),
    ("crm/orders/b.csv", "orders", "landed", 4),
]


def test_the_next_entity_is_read_ahead_and_files_land_in_the_same_order_and_ledger(
    data_dir: Path, tmp_path: Path
) -> None:
    s = make_settings(data_dir)
    _deliveries(s)
    ahead_at: dict[str, object] = {}

    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["contacts", "orders"]) as i:

        def validator(entity: Entity, rows: DeliveredRows, source_file: str) -> str | None:
            # What is read ahead while this file is validated: (entity, index of its file).
            ahead_at[source_file] = i._ahead[:2] if i._ahead else None
            return None

        contacts = i.land("contacts", "t", validator)
        orders = i.land("orders", "t", validator)
    # While the contacts' last file is validated, the orders' first is already being read.
    assert ahead_at == {
        "crm/contacts/a.csv": ("contacts", 1),
        "crm/contacts/b.csv": ("orders", 0),
        "crm/orders/a.csv": ("orders", 1),
        "crm/orders/b.csv": None,
    }
    assert [(r.source_file, r.status) for r in contacts + orders] == [
        (f, "landed") for f, *_ in EXPECTED_LEDGER
    ]
    assert query(s, LEDGER).rows() == EXPECTED_LEDGER
    assert query(s, "select order_id, _delivery_seq from raw_orders order by 1").rows() == [
        ("o1", 3),
        ("o2", 4),
    ]
    assert not list(data_dir.glob(".ingest-*"))  # every work folder removed

    # The same files landed entity by entity (no read-ahead across them): the same ledger.
    other = make_settings(tmp_path / "other")
    _deliveries(other)
    with open_warehouse(other.warehouse_path) as con:
        ingest_entity(con, other, "contacts", "t")
        ingest_entity(con, other, "orders", "t")
    assert query(other, LEDGER).rows() == EXPECTED_LEDGER


def test_an_entity_that_fails_on_its_last_file_leaves_the_next_one_its_file_read_ahead(
    data_dir: Path,
) -> None:
    s = make_settings(data_dir)
    _deliveries(s)

    def validator(entity: Entity, rows: DeliveredRows, source_file: str) -> str | None:
        if source_file == "crm/contacts/b.csv":  # an error, not a refusal: the entity fails
            raise RuntimeError("the suite could not run")
        return None

    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["contacts", "orders"]) as i:
        try:
            i.land("contacts", "t", validator)
            raise AssertionError("the contacts should have failed")
        except RuntimeError as err:
            assert str(err) == "the suite could not run"
        assert i._ahead is not None and i._ahead[:2] == ("orders", 0)  # kept for the orders
        orders = i.land("orders", "t", validator)
    assert [(r.source_file, r.status) for r in orders] == [
        ("crm/orders/a.csv", "landed"),
        ("crm/orders/b.csv", "landed"),
    ]
    # contacts/a.csv landed as 1; b.csv failed and recorded nothing: the orders are 2 and 3.
    assert query(s, LEDGER).rows() == [
        ("crm/contacts/a.csv", "contacts", "landed", 1),
        ("crm/orders/a.csv", "orders", "landed", 2),
        ("crm/orders/b.csv", "orders", "landed", 3),
    ]
    assert query(s, "select contact_id from raw_contacts").rows() == [("c1",)]
    assert not list(data_dir.glob(".ingest-*"))  # every work folder removed


def test_a_next_entity_file_with_bytes_landed_meanwhile_is_skipped_as_landed(
    data_dir: Path,
) -> None:
    s = make_settings(data_dir)
    body = CONTACTS + _contact(1)
    drop(s, "contacts", "a.csv", body)
    drop(s, "orders", "a.csv", body)  # the same bytes, read ahead before the contacts landed
    with open_warehouse(s.warehouse_path) as con, Ingestion(con, s, ["contacts", "orders"]) as i:
        (contact,) = i.land("contacts", "t")
        (order,) = i.land("orders", "t")
    assert contact.status == "landed"
    assert (order.status, order.reason) == ("skipped", "same bytes as crm/contacts/a.csv (landed)")


def test_an_entity_left_out_frees_its_file_read_ahead(data_dir: Path) -> None:
    s = make_settings(data_dir)
    _deliveries(s)
    with open_warehouse(s.warehouse_path) as con:
        with Ingestion(con, s, ["contacts", "orders"]) as i:
            i.land("contacts", "t")
            assert i._ahead is not None  # the orders' first file, never landed
        assert i._ahead is None
        # A later run lands the orders, numbered after the contacts.
        ingest_entity(con, s, "orders", "t")
    assert query(s, LEDGER).rows() == EXPECTED_LEDGER
    assert not list(data_dir.glob(".ingest-*"))
