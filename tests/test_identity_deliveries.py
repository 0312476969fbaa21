"""Identity across real deliveries (contracts.md "Identity"): files landed by the ingestion, one
delivery after another, and the marts built on top, as an operator's week brings them.

as_of = 2024-06-30. Every figure is worked out by hand in the test's comment.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal
from pathlib import Path

import pytest
from ingest_support import drop, land, make_settings, query
from marts_fixtures import build_all, records, write_settings

from pipeline.cli.summary import print_summary
from pipeline.ingest import core as ingest_core
from pipeline.ingest import duckdb_csv
from pipeline.validation import ValidationLog, make_landed_validator
from pipeline.warehouse import open_warehouse

REPO = Path(__file__).resolve().parent.parent


def customer_id(natural_key: str) -> str:
    """customer_id by hand: the first 16 hex digits of sha256(natural_key)."""
    return hashlib.sha256(natural_key.encode()).hexdigest()[:16]


@pytest.fixture(params=["polars", "duckdb"])
def route(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> tuple[str, list]:
    """Both parse routes of a canonical CSV: polars (small files) and DuckDB's reader (from
    ``MIN_BYTES``, lowered here so that these small files take it). Returns the route's name
    and a list that gains one entry per file DuckDB's reader parsed, as the test goes."""
    parsed_by_duckdb: list[str] = []

    def parse(table, *args, **kwargs):  # the real parse, noting which files it took
        parsed = duckdb_csv.parse_with_duckdb(table, *args, **kwargs)
        if parsed is not None:
            parsed_by_duckdb.append(request.param)
        return parsed

    monkeypatch.setattr(ingest_core, "parse_with_duckdb", parse)
    if request.param == "duckdb":
        monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0)
    return request.param, parsed_by_duckdb


def test_ids_padded_with_spaces_name_the_same_record(
    tmp_path: Path, route: tuple[str, list]
) -> None:
    """A CRM export that pads its ids (`"c1 "`, `" o2"`: a fixed-width CHAR column, a cell
    typed with a space) names the same contact and order as the unpadded id of another file.

    Before, the contacts' and the orders' own keys landed as delivered while the contact_id
    an order names was trimmed: contact 'c1 ' had no purchase and a customer 'contact:c1'
    outside the CRM had them all; ' o2' and 'o2' were two orders, the refund of the second
    leaving the first one's 50 counted; and 'c1' (NL) a second contact beside 'c1 ' (DE).
    """
    s = make_settings(tmp_path)
    drop(
        s,
        "contacts",
        "1_contacts.csv",
        'contact_id,email,created_at,country\n"c1 ",ann@x.test,2024-01-01 00:00:00,DE\n',
    )
    drop(
        s,
        "orders",
        "1_orders.csv",
        "order_id,contact_id,email,ordered_at,status,gross_amount,refund_amount\n"
        "o1,c1,,2024-02-01 10:00:00,completed,100,0\n"
        '" o2",c1,,2024-03-01 10:00:00,completed,50,0\n',
    )
    for entity, landed in (("contacts", 1), ("orders", 2)):
        report = land(s, entity)[-1]
        assert (report.status, report.rows_landed) == ("landed", landed)
    # The next day: contact c1 moved to NL; order o2 was refunded in full (net 50 - 50 = 0).
    drop(
        s,
        "contacts",
        "2_contacts.csv",
        "contact_id,email,created_at,country\nc1,ann@x.test,2024-01-01 00:00:00,NL\n",
    )
    drop(
        s,
        "orders",
        "2_orders.csv",
        "order_id,contact_id,email,ordered_at,status,gross_amount,refund_amount\n"
        "o2,c1,,2024-03-01 10:00:00,refunded,50,50\n",
    )
    for entity in ("contacts", "orders"):
        report = land(s, entity)[-1]  # the day's file (the first one is skipped: landed)
        assert (report.status, report.rows_landed) == ("landed", 1)
    name, parsed_by_duckdb = route
    assert len(parsed_by_duckdb) == {"polars": 0, "duckdb": 4}[name]
    for entity in ("tickets", "surveys", "email_events", "social_mentions"):
        assert land(s, entity) == []  # none delivered: their raw tables are made empty
    with open_warehouse(s.warehouse_path) as con:
        write_settings(con, "2024-06-30")
        build_all(con)
        contacts = records(con, "select contact_id, country from stg_contacts order by 1")
        orders = records(con, "select order_id, status, net_amount from stg_orders order by 1")
        customers = records(
            con,
            "select customer_id, country, purchases, revenue from marts.customer_360",
        )
        merged = records(con, "select natural_key, merged_contacts from int_customers")
    # One contact, at its later version; two orders, o2 at its refunded version.
    assert contacts == [{"contact_id": "c1", "country": "NL"}]
    assert orders == [
        {"order_id": "o1", "status": "completed", "net_amount": Decimal("100")},
        {"order_id": "o2", "status": "refunded", "net_amount": Decimal("0")},
    ]
    # One customer, the contact: o1 is its only qualifying purchase (o2's net is 0).
    assert customers == [
        {
            "customer_id": customer_id("contact:c1"),
            "country": "NL",
            "purchases": 1,
            "revenue": Decimal("100"),
        }
    ]
    assert merged == [{"natural_key": "contact:c1", "merged_contacts": 1}]


def sha256_hex(text: str) -> str:
    """sha256 hex of UTF-8 text, by hand."""
    return hashlib.sha256(text.encode()).hexdigest()


def test_one_customer_written_two_ways_is_one_customer(
    tmp_path: Path, route: tuple[str, list]
) -> None:
    """An address or id as other tools and hands write it names the same customer; a
    look-alike in another alphabet does not (contracts.md "Identity"; docs/operations.md).

    Contacts from a PC: c1's address ends in a tab (a cell copied from a table), c2 has
    `müller` composed, c3 `σοφος` (final sigma), c4 plain, c5 `аnn` with a Cyrillic `а`, c6
    `i̇pek` as JavaScript lower-cases `İPEK` (i + U+0307), c7 the twitter handle `@Ana_Pop`
    behind a zero-width space (pasted from a web page). From a Mac the next day: c8 with
    `MÜLLER` decomposed (U + U+0308), created after c2. The orders name them as other exports
    do: `ANN@X.TEST`, `Müller` decomposed, `ΣΟΦΟΣ`, `c4` followed by a zero-width space,
    the Cyrillic `аnn`, `İPEK`; one mention by `ana_pop`.

    By hand: c8 merges onto c2 (one normalised e-mail, c2 older); every order links to its
    contact, none is a customer outside the CRM: 7 customers (c1-c7), c1-c6 with one purchase of
    10, 20, 30, 40, 50, 60, c7 with the mention. email_sha256 is sha256 of the normalised
    e-mail: `müller@x.de` composed, `σοφοσ@x.gr`, `ipek@x.tr` (the recipe in
    docs/contracts.md). Before, the trailing tab, the zero-width spaces, the decomposed ü, the
    final sigma and the dotted i each split a customer: c1, c2, c3, c4 and c6 had no purchase
    beside five customers outside the CRM holding them, c8 stood alone, and the mention linked
    to nobody.
    """
    s = make_settings(tmp_path)
    drop(
        s,
        "contacts",
        "1_contacts.csv",
        "contact_id,email,created_at,twitter_handle\n"
        "c1,ann@x.test\t,2024-01-01 00:00:00,\n"
        "c2,m\u00fcller@x.de,2024-01-02 00:00:00,\n"
        "c3,\u03c3\u03bf\u03c6\u03bf\u03c2@x.gr,2024-01-03 00:00:00,\n"
        "c4,ivan@x.ru,2024-01-04 00:00:00,\n"
        "c5,\u0430nn@x.test,2024-01-05 00:00:00,\n"
        "c6,i\u0307pek@x.tr,2024-01-06 00:00:00,\n"
        "c7,ana@x.ro,2024-01-07 00:00:00,\u200b@Ana_Pop\n",
    )
    drop(
        s,
        "contacts",
        "2_contacts.csv",
        "contact_id,email,created_at\nc8,MU\u0308LLER@X.DE,2024-02-01 00:00:00\n",
    )
    drop(
        s,
        "orders",
        "1_orders.csv",
        "order_id,contact_id,email,ordered_at,status,gross_amount\n"
        "o1,,ANN@X.TEST,2024-03-01 10:00:00,completed,10\n"
        "o2,,Mu\u0308ller@x.de,2024-03-02 10:00:00,completed,20\n"
        "o3,,\u03a3\u039f\u03a6\u039f\u03a3@X.GR,2024-03-03 10:00:00,completed,30\n"
        "o4,c4\u200b,,2024-03-04 10:00:00,completed,40\n"
        "o5,,\u0430nn@x.test,2024-03-05 10:00:00,completed,50\n"
        "o6,,\u0130PEK@X.TR,2024-03-06 10:00:00,completed,60\n",
    )
    drop(
        s,
        "social_mentions",
        "1_mentions.csv",
        "mention_id,platform,author_handle,posted_at,sentiment\n"
        "m1,twitter,ana_pop,2024-04-01 09:00:00,positive\n",
    )
    for entity in ("contacts", "orders", "tickets", "surveys", "email_events", "social_mentions"):
        for report in land(s, entity):
            assert report.status == "landed", (report.source_file, report.reason)
    name, parsed_by_duckdb = route
    assert len(parsed_by_duckdb) == {"polars": 0, "duckdb": 4}[name]
    with open_warehouse(s.warehouse_path) as con:
        write_settings(con, "2024-06-30")
        build_all(con)
        customers = records(
            con,
            "select customer_id, email_sha256, purchases, revenue, mentions_12m "
            "from marts.customer_360 order by revenue",
        )
        merged = records(con, "select natural_key, merged_contacts from int_customers order by 1")
    by_hand = [
        ("c7", "ana@x.ro", 0, 0, 1),
        ("c1", "ann@x.test", 1, 10, 0),
        ("c2", "m\u00fcller@x.de", 1, 20, 0),
        ("c3", "\u03c3\u03bf\u03c6\u03bf\u03c3@x.gr", 1, 30, 0),
        ("c4", "ivan@x.ru", 1, 40, 0),
        ("c5", "\u0430nn@x.test", 1, 50, 0),
        ("c6", "ipek@x.tr", 1, 60, 0),
    ]
    assert customers == [
        {
            "customer_id": customer_id(f"contact:{contact}"),
            "email_sha256": sha256_hex(email),
            "purchases": purchases,
            "revenue": Decimal(revenue),
            "mentions_12m": mentions,
        }
        for contact, email, purchases, revenue, mentions in by_hand
    ]
    assert merged == [
        {"natural_key": f"contact:c{n}", "merged_contacts": 2 if n == 2 else 1} for n in range(1, 8)
    ]


def test_the_run_summary_reports_the_merges(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    """contracts.md: "Merges are counted and reported". c1, c2 and c3 share ann@x.test once
    normalised and merge onto c2 (the oldest); c4 and c5 share bob@x.test and merge onto c4 (the
    same created_at, then the lower contact_id); c6 stands alone. So 5 contacts merged into 2
    customers, which the run summary says (nothing showed the merges outside the warehouse's
    int_customers before)."""
    s = make_settings(tmp_path)
    drop(
        s,
        "contacts",
        "contacts.csv",
        "contact_id,email,created_at\n"
        "c1,ann@x.test,2024-01-05 00:00:00\n"
        "c2,ANN@x.test ,2024-01-01 00:00:00\n"
        "c3,ann@x.test,2024-02-01 00:00:00\n"
        "c4,bob@x.test,2024-01-01 00:00:00\n"
        "c5,bob@x.test,2024-01-01 00:00:00\n"
        "c6,cy@x.test,2024-01-01 00:00:00\n",
    )
    for entity in ("contacts", "orders", "tickets", "surveys", "email_events", "social_mentions"):
        land(s, entity)
    with open_warehouse(s.warehouse_path) as con:
        write_settings(con, "2024-06-30")
        build_all(con)
        survivors = records(con, "select contact_id, merged_contacts from int_customers order by 1")
    assert survivors == [
        {"contact_id": "c2", "merged_contacts": 3},
        {"contact_id": "c4", "merged_contacts": 2},
        {"contact_id": "c6", "merged_contacts": 1},
    ]
    print_summary(s, "test")
    out = capsys.readouterr().out
    assert (
        "5 contacts sharing an e-mail merged into 2 customers (each keeps its oldest "
        "contact's attributes)" in out
    )


def test_a_key_dated_once_and_undated_once_in_one_file_is_refused_saying_why(
    tmp_path: Path,
) -> None:
    """contracts.md: two versions of one key in one file with no updated_at to order them make
    the file's key check fail. c2 comes dated (row 2) and undated (row 3): nothing tells which
    is current, so the file is refused and c1 (row 4) does not land either; the reason says so
    in the contract's words, not only as the suite's expectation on `_key_versions`."""
    s = make_settings(tmp_path)
    drop(
        s,
        "contacts",
        "contacts.csv",
        "contact_id,email,created_at,country,updated_at\n"
        "c2,z@x.test,2024-01-10 00:00:00,DE,2024-03-01 00:00:00\n"
        "c2,z@x.test,2024-01-10 00:00:00,NL,\n"
        "c1,y@x.test,2024-01-10 00:00:00,FR,2024-03-01 00:00:00\n",
    )
    (report,) = land(s, "contacts", make_landed_validator(s, ValidationLog(tmp_path, "run-1")))
    assert (report.status, report.rows_landed) == ("refused", 0)
    assert (
        "expect_column_values_to_not_be_null on updated_at where _key_versions > 1: "
        "1 of 2 rows unexpected, e.g. null (row 3) — a key of this file comes in more than one "
        "version and the row named has no updated_at, so nothing tells which version is current: "
        "give every version of a key its updated_at, or deliver one version per key"
    ) in report.reason


def test_a_tie_with_a_version_already_replaced_is_no_conflict(tmp_path: Path) -> None:
    """contracts.md, Upserts: the later updated_at wins; with equal ones, the later delivery.
    c1 lands AA updated 01-05, then BB updated 01-07 (current), then CC updated 01-05 again:
    CC ties AA, which BB replaced already, and loses to BB (01-05 < 01-07). It lands, as any
    older version does, but replaces nothing: the file's report named it "1 row replaces a
    landed version with the same updated_at but other contents: the later delivery wins",
    which was not so. A tie with the current version is still named (DD, updated 01-07)."""
    s = make_settings(tmp_path)
    header = "contact_id,email,created_at,country,updated_at\n"
    for name, country, updated_at in (
        ("1.csv", "AA", "2024-01-05"),
        ("2.csv", "BB", "2024-01-07"),
        ("3.csv", "CC", "2024-01-05"),
    ):
        drop(s, "contacts", name, header + f"c1,a@x.test,2024-01-01,{country},{updated_at}\n")
        report = land(s, "contacts")[-1]
        assert (report.source_file, report.rows_landed) == (f"crm/contacts/{name}", 1)
        assert report.reason is None, report.reason  # no note of a conflict, nor anything else
    stg_contacts = (REPO / "sql" / "staging" / "stg_contacts.sql").read_text()
    assert query(s, stg_contacts).select("contact_id", "country").rows() == [("c1", "BB")]
    drop(s, "contacts", "4.csv", header + "c1,a@x.test,2024-01-01,DD,2024-01-07\n")
    report = land(s, "contacts")[-1]
    assert (report.source_file, report.rows_landed) == ("crm/contacts/4.csv", 1)
    assert "1 row replaces a landed version with the same updated_at" in report.summary()
    assert query(s, stg_contacts).select("contact_id", "country").rows() == [("c1", "DD")]
