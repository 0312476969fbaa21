"""Amounts as shops in the project's locales write them, landed through the real ingestion and,
where a figure depends on them, the marts: every value worked out by hand.

- Polish, Czech and Russian spreadsheets write the currency after the number as a word, not a
  sign: ``1 234,56 zł``, ``12,50 Kč``, ``1 234,56 руб.`` (spec/contracts.md: currency symbols are
  stripped). They were quarantined as unreadable.
- An amount that is a number but too large for ``DECIMAL(18,4)`` (14 digits before the decimal
  separator) is quarantined saying so, not "cannot read".
- A line-item export (Shopify) whose order total does not fit is quarantined, order by order,
  instead of stopping the whole delivery with polars' conversion error.
- Negatives as accounting writes them, ``(12,50 €)``, SAP's ``1.234,56-`` and the Unicode minus
  ``−7,25``, are negative numbers: a credit note lands, a bracketed discount is said negative.
- The dash Excel's Accounting format shows for 0 (``€ -`` in a CSV it saved) is 0; a bare
  ``-`` typed by hand stays unreadable.
"""

from __future__ import annotations

from decimal import Decimal

from ingest_support import drop, land, make_settings, query
from marts_fixtures import build_all, write_settings

from pipeline.warehouse import open_warehouse

CONTACTS = "contact_id,email,created_at\nc1,one@x.test,2024-01-01 00:00:00\n"
ORDERS_HEADER = "order_id;contact_id;ordered_at;status;currency;gross_amount;discount_amount\n"


def land_all(settings) -> None:
    """Land every entity (the empty ones too: the models read every raw table)."""
    for entity in ("contacts", "orders", "tickets", "surveys", "email_events", "social_mentions"):
        land(settings, entity)


def test_currency_words_after_the_number_are_stripped(data_dir):
    settings = make_settings(data_dir)
    drop(settings, "contacts", "c.csv", CONTACTS)
    # Decimal comma (decided from the values: 1 234,56 reads only with ','); thousands with a
    # space, a no-break space (U+00A0) and a narrow no-break space (U+202F), as Excel writes them.
    orders = ORDERS_HEADER + (
        "o1;c1;2024-03-01 10:00:00;completed;PLN;1 234,56 zł;34,56 zł\n"
        "o2;c1;2024-03-02 10:00:00;completed;CZK;12,50 Kč;0 Kč\n"
        "o3;c1;2024-03-03 10:00:00;completed;RUB;1\u00a0234,56 руб.;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;RUB;2\u202f000 р.;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;PLN;10,00 ZŁ;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land_all(settings)
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == []
    landed = query(settings, "select order_id, gross_amount, discount_amount from raw_orders")
    assert sorted(landed.rows()) == [
        ("o1", Decimal("1234.5600"), Decimal("34.5600")),
        ("o2", Decimal("12.5000"), Decimal("0.0000")),
        ("o3", Decimal("1234.5600"), Decimal("0.0000")),
        ("o4", Decimal("2000.0000"), Decimal("0.0000")),
        ("o5", Decimal("10.0000"), Decimal("0.0000")),
    ]
    with open_warehouse(settings.warehouse_path) as con:
        write_settings(con, "2024-12-31")
        build_all(con)
    # revenue = (1234.56 - 34.56) + 12.50 + 1234.56 + 2000 + 10 = 4457.06 over 5 purchases
    # (summed as delivered across currencies, as the spec says); average 891.412.
    (revenue, purchases, average) = query(
        settings, "select revenue, purchases, avg_order_value from loyalty_customers"
    ).row(0)
    assert (Decimal(str(revenue)), purchases) == (Decimal("4457.06"), 5)
    assert round(average, 6) == 891.412


def test_a_word_that_is_no_currency_still_makes_the_amount_unreadable(data_dir):
    settings = make_settings(data_dir)
    # 'złoty' spelt out, and a bare 'zł' with no number, are not amounts.
    orders = ORDERS_HEADER + (
        "o1;c1;2024-03-01 10:00:00;completed;PLN;12,50 złoty;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;PLN;zł;0\n"
        "o3;c1;2024-03-03 10:00:00;completed;PLN;7,25;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    reasons = query(settings, "select row_number, reason from quarantine_rows order by 1").rows()
    assert reasons == [
        (2, "gross_amount: cannot read '12,50 złoty' as a number with ',' as decimal separator"),
        (3, "gross_amount: cannot read 'zł' as a number with ',' as decimal separator"),
    ]
    assert query(settings, "select order_id, gross_amount from raw_orders").rows() == [
        ("o3", Decimal("7.2500"))
    ]


def test_only_a_currency_code_is_stripped_not_any_three_letters(data_dir):
    # Every three letters before or after a number were stripped as an ISO currency code:
    # '2 mln' (Polish and Romanian for million) read as 2, '100 tys' (thousand) as 100, a
    # typo 'abc12' as 12, wrong by a million, a thousand or a guess. Codes ISO 4217 knows
    # ('EUR', 'ron', 'RON' before the number) and Romanian 'lei' are still stripped.
    settings = make_settings(data_dir)
    orders = ORDERS_HEADER + (
        "o1;c1;2024-03-01 10:00:00;completed;PLN;2 mln;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;PLN;100 tys;0\n"
        "o3;c1;2024-03-03 10:00:00;completed;PLN;abc12,00;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;EUR;12,50 EUR;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;RON;RON 7,25;0\n"
        "o6;c1;2024-03-06 10:00:00;completed;RON;12,5 lei;1,00 ron\n"
        "o7;c1;2024-03-07 10:00:00;completed;RON;3,75 Lei;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    reasons = query(settings, "select row_number, reason from quarantine_rows order by 1").rows()
    assert reasons == [
        (2, "gross_amount: cannot read '2 mln' as a number with ',' as decimal separator"),
        (3, "gross_amount: cannot read '100 tys' as a number with ',' as decimal separator"),
        (4, "gross_amount: cannot read 'abc12,00' as a number with ',' as decimal separator"),
    ]
    landed = query(settings, "select order_id, gross_amount, discount_amount from raw_orders")
    assert sorted(landed.rows()) == [
        ("o4", Decimal("12.5000"), Decimal("0.0000")),
        ("o5", Decimal("7.2500"), Decimal("0.0000")),
        ("o6", Decimal("12.5000"), Decimal("1.0000")),
        ("o7", Decimal("3.7500"), Decimal("0.0000")),
    ]


def test_an_amount_too_large_for_its_column_is_quarantined_saying_so(data_dir):
    settings = make_settings(data_dir)
    # 15 digits before the decimal point (one more than DECIMAL(18,4) holds) and the largest
    # amount that fits, 14 nines and four decimals.
    orders = (
        "order_id,contact_id,ordered_at,status,gross_amount,discount_amount\n"
        "o1,c1,2024-03-01 10:00:00,completed,123456789012345,0\n"
        "o2,c1,2024-03-02 10:00:00,completed,99999999999999.9999,0\n"
        'o3,c1,2024-03-03 10:00:00,completed,"1,000,000,000,000,000.00",0\n'
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    reasons = query(settings, "select row_number, reason from quarantine_rows order by 1").rows()
    too_large = (
        "gross_amount: '{}' is too large: an amount holds at most 14 digits before the "
        "decimal separator (DECIMAL(18,4))"
    )
    assert reasons == [
        (2, too_large.format("123456789012345")),
        (4, too_large.format("1,000,000,000,000,000.00")),
    ]
    assert query(settings, "select order_id, gross_amount from raw_orders").rows() == [
        ("o2", Decimal("99999999999999.9999"))
    ]


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Currency,Discount Amount,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Refunded Amount\n"
)


def test_a_line_item_order_whose_total_does_not_fit_is_quarantined_not_a_crash(data_dir):
    settings = make_settings(data_dir)
    # #1001: a barcode typed into the quantity: 4006381333931 × 25.00 = 100,159,533,348,275.00,
    # 15 digits before the point. Each line alone is a readable number. #1002 beside it is an
    # ordinary order: 2 × 5.00 + 1 × 0.25 = 10.25, less its discount of 1.00.
    lines = SHOPIFY_HEADER + (
        "#1001,a@x.test,paid,EUR,0.00,2024-05-01 10:00:00 +0000,1,Mug,5.00,0.00\n"
        "#1001,,,,,,4006381333931,Teapot,25.00,\n"
        "#1002,b@x.test,paid,EUR,1.00,2024-05-02 10:00:00 +0000,2,Mug,5.00,0.00\n"
        "#1002,,,,,,1,Spoon,0.25,\n"
    )
    drop(settings, "orders", "shop.csv", lines)
    (report,) = land(settings, "orders")
    assert (report.status, report.rows_read, report.rows_quarantined) == ("landed", 4, 2)
    landed = query(settings, "select order_id, gross_amount, discount_amount from raw_orders")
    assert landed.rows() == [("#1002", Decimal("10.2500"), Decimal("1.0000"))]
    reasons = query(settings, "select row_number, reason from quarantine_rows order by 1").rows()
    why = (
        "order '#1001': its lines total 100159533348280.0000 (quantity × price), which is too "
        "large: an amount holds at most 14 digits before the decimal separator (DECIMAL(18,4))"
    )
    assert reasons == [(2, why), (3, why)]


def test_negatives_as_accounting_and_sap_write_them(data_dir):
    settings = make_settings(data_dir)
    # Credit notes (cancelled orders may carry a negative gross, as the UCI file's do) written
    # in accounting brackets, with SAP's trailing minus and with the Unicode minus (U+2212);
    # a discount in brackets on a completed order is a negative discount, quarantined as such.
    orders = ORDERS_HEADER + (
        "o1;c1;2024-03-01 10:00:00;cancelled;EUR;(12,50 €);0\n"
        "o2;c1;2024-03-02 10:00:00;cancelled;EUR;1.234,56-;0\n"
        "o3;c1;2024-03-03 10:00:00;cancelled;PLN;\u22127,25 zł;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;EUR;20,00;(5,00)\n"
        "o5;c1;2024-03-05 10:00:00;completed;EUR;+12,00;-0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    landed = query(settings, "select order_id, gross_amount, discount_amount from raw_orders")
    assert sorted(landed.rows()) == [
        ("o1", Decimal("-12.5000"), Decimal("0.0000")),
        ("o2", Decimal("-1234.5600"), Decimal("0.0000")),
        ("o3", Decimal("-7.2500"), Decimal("0.0000")),
        ("o5", Decimal("12.0000"), Decimal("0.0000")),
    ]
    reasons = query(settings, "select row_number, reason from quarantine_rows").rows()
    assert reasons == [
        (5, "discount_amount '(5,00)' is negative; amounts cannot be negative"),
    ]


def test_excel_s_accounting_zero_dash_is_zero(data_dir):
    settings = make_settings(data_dir)
    # A sheet in Excel's Accounting format shows 0 as a dash; "Save as CSV" writes what it
    # shows: "€ -", " -   ", "-   zł". The discount is 0 (and the refund too), not unreadable.
    orders = (
        "order_id;contact_id;ordered_at;status;currency;gross_amount;discount_amount;"
        "refund_amount\n"
        "o1;c1;2024-03-01 10:00:00;completed;EUR;€ 12,50;€ -;€ -\n"
        "o2;c1;2024-03-02 10:00:00;completed;EUR; 20,00 ; -   ;2,00\n"
        "o3;c1;2024-03-03 10:00:00;completed;PLN;7,25 zł;-   zł;\n"
        "o4;c1;2024-03-04 10:00:00;completed;PLN;7,25;-;\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    # A bare dash, typed by hand, says no value is known: not read as 0.
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == [
        (5, "discount_amount: cannot read '-' as a number with ',' as decimal separator")
    ]
    landed = query(
        settings, "select order_id, gross_amount, discount_amount, refund_amount from raw_orders"
    )
    assert sorted(landed.rows()) == [
        ("o1", Decimal("12.5000"), Decimal("0.0000"), Decimal("0.0000")),
        ("o2", Decimal("20.0000"), Decimal("0.0000"), Decimal("2.0000")),
        ("o3", Decimal("7.2500"), Decimal("0.0000"), None),
    ]
