"""The currency of an order, as delivered or as its amounts name it, landed through the real
ingestion (and, for the mixed-currency warning, the real Dagster job with its GX checks).

The spec strips currency signs from amounts and flags more than one currency in the data with
a warning (contracts.md). Stripped and forgotten, the currency an amount named was lost: a file
without a currency column landed orders in euros and zloty as one currency (none), and the
warning could not fire. Every value below is worked out by hand.
"""

from __future__ import annotations

from decimal import Decimal

import dagster as dg
import pytest
import xlsxwriter
from ingest_support import drop, land, make_settings, query

from pipeline.config import Settings
from pipeline.definitions import build_definitions
from pipeline.ingest import core as ingest_core
from pipeline.ingest import duckdb_csv
from pipeline.ingest.core import ingest_entity
from pipeline.validation import make_landed_validator
from pipeline.warehouse import open_warehouse

NO_CURRENCY = "order_id;contact_id;ordered_at;status;gross_amount;discount_amount\n"
WITH_CURRENCY = "order_id;contact_id;ordered_at;status;currency;gross_amount;discount_amount\n"


def landed(settings) -> list[tuple]:
    sql = "select order_id, currency, gross_amount from raw_orders order by _row_number"
    return query(settings, sql).rows()


def parse_route(monkeypatch, route: str) -> list[str]:
    """Send a canonical file of any size through ``route`` (DuckDB's reader from 0 bytes, or
    polars as the floor leaves small files); the list returned gets one entry per file DuckDB
    parsed (the real parse, noted), so a test can say which route a file took."""
    if route == "duckdb":
        monkeypatch.setattr(duckdb_csv, "MIN_BYTES", 0)
    parsed_by_duckdb: list[str] = []

    def parse(table, *args, **kwargs):
        parsed = duckdb_csv.parse_with_duckdb(table, *args, **kwargs)
        if parsed is not None:
            parsed_by_duckdb.append(route)
        return parsed

    monkeypatch.setattr(ingest_core, "parse_with_duckdb", parse)
    return parsed_by_duckdb


def test_the_currency_an_amount_names_lands_when_none_is_delivered(data_dir):
    settings = make_settings(data_dir)
    # No currency column: each amount names its own, as a sign, a word or an ISO code (',' as
    # decimal separator in the whole file). '$' and 'kr' name several currencies (US, Canadian,
    # Australian dollar…; Swedish, Norwegian, Danish krone): they land as written, no ISO code
    # guessed. A plain number names none.
    orders = NO_CURRENCY + (
        "o1;c1;2024-03-01 10:00:00;completed;€ 12,50;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;12,50 zł;0\n"
        "o3;c1;2024-03-03 10:00:00;completed;£3,40;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;1.234,56 lei;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;120 Kč;0\n"
        "o6;c1;2024-03-06 10:00:00;completed;RON 15;0\n"
        "o7;c1;2024-03-07 10:00:00;completed;12,50 лв.;0\n"
        "o8;c1;2024-03-08 10:00:00;completed;1 234,56 руб.;0\n"
        "o9;c1;2024-03-09 10:00:00;completed;2 000 р.;0\n"
        "o10;c1;2024-03-10 10:00:00;completed;15 ₽;0\n"
        "o11;c1;2024-03-11 10:00:00;completed;1 234 Ft;0\n"
        "o12;c1;2024-03-12 10:00:00;completed;12,50 kn;0\n"
        "o13;c1;2024-03-13 10:00:00;completed;eur 7,25;0\n"
        "o14;c1;2024-03-14 10:00:00;completed;$ 12,00;0\n"
        "o15;c1;2024-03-15 10:00:00;completed;1 234,50 kr;0\n"
        "o16;c1;2024-03-16 10:00:00;completed;kr 99,00;0\n"
        "o17;c1;2024-03-17 10:00:00;completed;7,00;0 zł\n"
        "o18;c1;2024-03-18 10:00:00;completed;8,00;0\n"
        "o19;c1;2024-03-19 10:00:00;completed;R$ 1.234,56;0\n"
        "o20;c1;2024-03-20 10:00:00;completed;US$ 12,00;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == []
    assert landed(settings) == [
        ("o1", "EUR", Decimal("12.5000")),
        ("o2", "PLN", Decimal("12.5000")),
        ("o3", "GBP", Decimal("3.4000")),
        ("o4", "RON", Decimal("1234.5600")),
        ("o5", "CZK", Decimal("120.0000")),
        ("o6", "RON", Decimal("15.0000")),
        ("o7", "BGN", Decimal("12.5000")),
        ("o8", "RUB", Decimal("1234.5600")),
        ("o9", "RUB", Decimal("2000.0000")),
        ("o10", "RUB", Decimal("15.0000")),
        ("o11", "HUF", Decimal("1234.0000")),
        ("o12", "HRK", Decimal("12.5000")),
        ("o13", "EUR", Decimal("7.2500")),
        ("o14", "$", Decimal("12.0000")),
        ("o15", "kr", Decimal("1234.5000")),
        ("o16", "kr", Decimal("99.0000")),
        ("o17", "PLN", Decimal("7.0000")),  # the discount names it
        ("o18", None, Decimal("8.0000")),
        ("o19", "BRL", Decimal("1234.5600")),  # 'R' was left when '$' was stripped: unreadable
        ("o20", "USD", Decimal("12.0000")),
    ]


@pytest.mark.parametrize("route", ["polars", "duckdb"])
def test_a_currency_word_lands_however_it_is_composed(data_dir, monkeypatch, route):
    # Kč from a Mac export is 'c' + U+030C (decomposed, NFD), printing as the composed one.
    # Before, o2, o3 and o4 were quarantined as no number ("gross_amount: cannot read '12,50
    # Kč' as a number …", "discount_amount: cannot read '0 Kč' …"), and o5's currency landed
    # as 'KČ' decomposed: no ISO code, and a second currency beside o1's CZK for the landed
    # check. (The DuckDB route reads a.csv itself and leaves b.csv, whose currency column
    # holds text beyond ASCII, to polars.)
    parsed_by_duckdb = parse_route(monkeypatch, route)
    settings = make_settings(data_dir)
    drop(
        settings,
        "orders",
        "a.csv",
        NO_CURRENCY + "o1;c1;2024-03-01 10:00:00;completed;12,50 Kč;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;12,50 Kc\u030c;0\n",
    )
    drop(
        settings,
        "orders",
        "b.csv",
        WITH_CURRENCY + "o3;c1;2024-03-03 10:00:00;completed;CZK;1 234,00 Kc\u030c;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;CZK;7,00;0 Kc\u030c\n"
        "o5;c1;2024-03-05 10:00:00;completed;Kc\u030c;8,00;0\n",
    )
    land(settings, "orders")
    assert len(parsed_by_duckdb) == {"polars": 0, "duckdb": 1}[route]
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == []
    got = query(settings, "select order_id, currency, gross_amount from raw_orders order by 1")
    assert got.rows() == [
        ("o1", "CZK", Decimal("12.5000")),
        ("o2", "CZK", Decimal("12.5000")),
        ("o3", "CZK", Decimal("1234.0000")),
        ("o4", "CZK", Decimal("7.0000")),
        ("o5", "CZK", Decimal("8.0000")),
    ]


@pytest.mark.parametrize("route", ["polars", "duckdb"])
def test_a_delivered_sign_of_several_currencies_takes_the_one_its_amount_names(
    data_dir, monkeypatch, route
):
    # `kr` is the Swedish, Norwegian, Danish and Icelandic crown, `$` some thirty dollars: as
    # a currency column they say less than an amount written `12,00 SEK`. Such a row was
    # quarantined ("currency is 'kr' but gross_amount '12,00 SEK' names SEK: correct …"),
    # though nothing in it is wrong; it lands in the amount's code. An amount naming a code
    # the sign is not (kr with EUR) still contradicts it, and a plain amount keeps the sign.
    parsed_by_duckdb = parse_route(monkeypatch, route)
    settings = make_settings(data_dir)
    orders = WITH_CURRENCY + (
        "o1;c1;2024-03-01 10:00:00;completed;kr;12,00 SEK;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;kr.;150 NOK;0\n"
        "o3;c1;2024-03-03 10:00:00;completed;$;US$ 5,00;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;kr;12,00 EUR;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;kr;99,00;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == [
        (
            5,
            "currency is 'kr' but gross_amount '12,00 EUR' names EUR: correct the currency or "
            "the amount and deliver the row again",
        )
    ]
    assert landed(settings) == [
        ("o1", "SEK", Decimal("12.0000")),
        ("o2", "NOK", Decimal("150.0000")),
        ("o3", "USD", Decimal("5.0000")),
        ("o5", "kr", Decimal("99.0000")),
    ]
    # DuckDB's reader took the file (it left such a file to polars, finding o1-o3 bad).
    assert len(parsed_by_duckdb) == {"polars": 0, "duckdb": 1}[route]


def test_an_amount_in_cents_is_not_read_as_whole_units(data_dir):
    # '50¢' is half a dollar: the ¢ was stripped as a currency sign and it landed as 50.
    settings = make_settings(data_dir)
    orders = NO_CURRENCY.replace(";", ",") + (
        "o1,c1,2024-03-01 10:00:00,completed,50¢,0\no2,c1,2024-03-02 10:00:00,completed,$0.50,0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    assert query(settings, "select row_number, reason from quarantine_rows").rows() == [
        (2, "gross_amount: cannot read '50¢' as a number with '.' as decimal separator")
    ]
    assert landed(settings) == [("o2", "$", Decimal("0.5000"))]


def test_an_amount_in_another_currency_than_its_row_is_quarantined(data_dir):
    settings = make_settings(data_dir)
    # o1: EUR delivered, the amount in zloty; o2: amounts in two currencies; o3: USD
    # delivered, the amount in euros. Landed: a code in any case or the sign of the delivered
    # currency (o4, o5), a sign the delivered currency writes too (CAD's $, Gibraltar's £,
    # Moldova's lei: o6-o8), and an amount naming nothing (o9).
    orders = WITH_CURRENCY + (
        "o1;c1;2024-03-01 10:00:00;completed;EUR;12,50 zł;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;;€ 12,00;2 zł\n"
        "o3;c1;2024-03-03 10:00:00;completed;USD;12,00 EUR;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;eur;€ 12,00;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;PLN;12,00 PLN;1 zł\n"
        "o6;c1;2024-03-06 10:00:00;completed;CAD;$ 12,00;0\n"
        "o7;c1;2024-03-07 10:00:00;completed;GIP;£ 3,40;0\n"
        "o8;c1;2024-03-08 10:00:00;completed;MDL;15 lei;0\n"
        "o9;c1;2024-03-09 10:00:00;completed;USD;9,00;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    land(settings, "orders")
    reasons = query(
        settings, "select source_file, row_number, reason from quarantine_rows order by 2"
    ).rows()
    again = "correct the currency or the amount and deliver the row again"
    assert reasons == [
        (
            "crm/orders/o.csv",
            2,
            f"currency is 'EUR' but gross_amount '12,50 zł' names PLN: {again}",
        ),
        (
            "crm/orders/o.csv",
            3,
            "gross_amount '€ 12,00' and discount_amount '2 zł' name different currencies "
            "(EUR, PLN): a row's amounts are in one currency; correct them and deliver the "
            "row again",
        ),
        (
            "crm/orders/o.csv",
            4,
            f"currency is 'USD' but gross_amount '12,00 EUR' names EUR: {again}",
        ),
    ]
    assert landed(settings) == [
        ("o4", "EUR", Decimal("12.0000")),
        ("o5", "PLN", Decimal("12.0000")),
        ("o6", "CAD", Decimal("12.0000")),
        ("o7", "GIP", Decimal("3.4000")),
        ("o8", "MDL", Decimal("15.0000")),
        ("o9", "USD", Decimal("9.0000")),
    ]


def test_one_currency_written_as_a_code_in_any_case_or_its_sign_is_one_currency(
    data_dir, monkeypatch
):
    # EUR, eur, ' EUR' and € in the currency column, and € or EUR in the amounts of rows
    # without one, are one currency: the landed suite counted 'EUR', 'eur', ' EUR' and '€' as
    # four and warned of mixed currencies in a file of euros.
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = make_settings(data_dir)
    orders = WITH_CURRENCY + (
        "o1;c1;2024-03-01 10:00:00;completed;EUR;12,00;0\n"
        "o2;c1;2024-03-02 10:00:00;completed;eur;12,00;0\n"
        "o3;c1;2024-03-03 10:00:00;completed; EUR ;12,00;0\n"
        "o4;c1;2024-03-04 10:00:00;completed;€;12,00;0\n"
        "o5;c1;2024-03-05 10:00:00;completed;;€ 12,00;0\n"
        "o6;c1;2024-03-06 10:00:00;completed;;12,00 EUR;0\n"
    )
    drop(settings, "orders", "o.csv", orders)
    outcomes = []
    validator = make_landed_validator(settings, outcomes.append, run_id="c")
    with open_warehouse(settings.warehouse_path) as con:
        (report,) = ingest_entity(con, settings, "orders", run_id="c", validator=validator)
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 6, 0)
    assert {c for _, c, _ in landed(settings)} == {"EUR"}
    (outcome,) = outcomes
    assert outcome.status == "passed"
    (count,) = [e for e in outcome.expectations if e.columns == "currency"]
    assert count.observed == "observed 1"


SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Currency,Discount Amount,Created at,Lineitem quantity,"
    "Lineitem name,Lineitem price,Refunded Amount\n"
)


def test_an_order_whose_lines_are_in_two_currencies_is_quarantined_whole(data_dir):
    settings = make_settings(data_dir)
    # #1001: the currency on its first line only, as Shopify writes it: EUR for both lines,
    # gross 1 × 5.00 + 2 × 25.00 = 55.00. #1002: a line in USD beside one in EUR (a currency
    # per line): summed, it landed as EUR 10.25. #1003: no currency column value, its prices
    # name € and zł. #1004: prices in € only: EUR, 5.00 + 2.00 = 7.00.
    lines = SHOPIFY_HEADER + (
        "#1001,a@x.test,paid,EUR,0.00,2024-05-01 10:00:00 +0000,1,Mug,5.00,0.00\n"
        "#1001,,,,,,2,Teapot,25.00,\n"
        "#1002,b@x.test,paid,EUR,1.00,2024-05-02 10:00:00 +0000,2,Mug,5.00,0.00\n"
        "#1002,,,USD,,,1,Spoon,0.25,\n"
        "#1003,c@x.test,paid,,0.00,2024-05-03 10:00:00 +0000,1,Mug,€5.00,0.00\n"
        "#1003,,,,,,1,Spoon,2.00 zł,\n"
        "#1004,d@x.test,paid,,0.00,2024-05-04 10:00:00 +0000,1,Mug,€5.00,0.00\n"
        "#1004,,,,,,1,Spoon,€2.00,\n"
    )
    drop(settings, "orders", "shop.csv", lines)
    (report,) = land(settings, "orders")
    assert (report.status, report.rows_read, report.rows_quarantined) == ("landed", 8, 4)
    assert landed(settings) == [
        ("#1001", "EUR", Decimal("55.0000")),
        ("#1004", "EUR", Decimal("7.0000")),
    ]
    reasons = query(settings, "select row_number, reason from quarantine_rows order by 1").rows()
    why = (
        "order '{}': its lines are in different currencies ({}), and its gross is their sum: "
        "an order is in one currency; correct the lines and deliver the order again"
    )
    assert reasons == [
        (4, why.format("#1002", "EUR, USD")),
        (5, why.format("#1002", "EUR, USD")),
        (6, why.format("#1003", "EUR, PLN")),
        (7, why.format("#1003", "EUR, PLN")),
    ]


CONTACTS = (
    "contact_id,email,created_at\n"
    "c1,one@x.test,2023-01-01 00:00:00\n"
    "c2,two@x.test,2023-01-01 00:00:00\n"
)


def test_a_file_in_two_currencies_lands_each_row_in_its_own_and_the_checks_warn(
    data_dir, monkeypatch
):
    # The real job: a shop's export without a currency column, c1's orders in euros, c2's in
    # zloty. Each row lands with its own currency; the landed and staging checks warn of two
    # currencies (warnings: nothing is blocked), and revenue is summed as delivered, as
    # before: c1 12.50 + 20.00 = 32.50 (2 purchases), c2 100.00 - 10.00 = 90.00.
    monkeypatch.setenv("PIPELINE_AS_OF", "2024-12-31")
    monkeypatch.setenv("PIPELINE_DATA_DOCS", "off")
    settings = Settings.resolve()
    drop(settings, "contacts", "c.csv", CONTACTS)
    orders = NO_CURRENCY + (
        "o1;c1;2024-03-01 10:00:00;completed;€ 12,50;0\n"
        "o2;c1;2024-04-01 10:00:00;completed;€ 20,00;€ 0,00\n"
        "o3;c2;2024-03-05 10:00:00;completed;100,00 zł;10,00 zł\n"
    )
    drop(settings, "orders", "shop.csv", orders)
    job = build_definitions().resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    assert result.success
    checks = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    landed_check = checks[("raw_orders", "landed_expectations")]
    assert (landed_check.passed, landed_check.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert (
        "crm/orders/shop.csv: expect_column_unique_value_count_to_be_between on currency"
        in landed_check.description
    )
    assert "observed 2" in landed_check.description
    staging = checks[("stg_orders", "staging_expectations")]
    assert (staging.passed, staging.severity) == (False, dg.AssetCheckSeverity.WARN)
    with open_warehouse(settings.warehouse_path) as con:
        currencies = con.sql(
            "select order_id, currency from stg_orders order by order_id"
        ).fetchall()
        revenue = con.sql(
            "select customer_id, revenue, purchases from loyalty_customers order by revenue"
        ).fetchall()
    assert currencies == [("o1", "EUR"), ("o2", "EUR"), ("o3", "PLN")]
    assert [(Decimal(str(r)), n) for _, r, n in revenue] == [
        (Decimal("32.5"), 2),
        (Decimal("90.0"), 1),
    ]


def test_a_workbook_amount_lands_in_the_currency_its_number_format_shows(data_dir):
    # Number cells hold 12.5, the format shows '12,50 €' (Excel's euro tag), '100,00 zł' (a
    # quoted literal), '£3.40' (the sign) or 'RON 15' (a tag with a code): the number landed,
    # its currency was lost. Excel's built-in currency format (id 5) shows the computer's own
    # currency and says none: nothing is guessed (o5). A zł amount under a EUR column (o6) is
    # quarantined as a CSV's is.
    settings = make_settings(data_dir)
    path = settings.landing_dir / "crm" / "orders" / "Bestellungen.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    euro = book.add_format({"num_format": "#,##0.00 [$€-x-euro2]"})
    zloty = book.add_format({"num_format": '#,##0.00\\ "zł"'})
    pound = book.add_format({"num_format": "£#,##0.00"})
    leu = book.add_format({"num_format": "[$RON] #,##0"})
    builtin = book.add_format({"num_format": 5})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["order_id", "contact_id", "ordered_at", "status", "currency"])
    sheet.write_row(0, 5, ["gross_amount", "discount_amount"])
    for row, (order, currency, amount, style) in enumerate(
        [
            ("o1", None, 12.5, euro),
            ("o2", None, 100, zloty),
            ("o3", None, 3.4, pound),
            ("o4", None, 15, leu),
            ("o5", None, 8, builtin),
            ("o6", "EUR", 20, zloty),
        ],
        start=1,
    ):
        sheet.write_row(row, 0, [order, "c1", f"2024-03-0{row} 10:00", "completed"])
        if currency:
            sheet.write_string(row, 4, currency)
        sheet.write_number(row, 5, amount, style)
        sheet.write_number(row, 6, 0, style)
    book.close()
    (report,) = land(settings, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 5, 1)
    assert landed(settings) == [
        ("o1", "EUR", Decimal("12.5000")),
        ("o2", "PLN", Decimal("100.0000")),
        ("o3", "GBP", Decimal("3.4000")),
        ("o4", "RON", Decimal("15.0000")),
        ("o5", None, Decimal("8.0000")),
    ]
    reasons = query(settings, "select row_number, reason from quarantine_rows").rows()
    assert reasons == [
        (
            7,
            "currency is 'EUR' but gross_amount '20 zł' names PLN: correct the currency or the "
            "amount and deliver the row again",
        )
    ]


def test_a_workbook_currency_tag_whose_locale_fixes_the_dollar_or_krone_lands_its_code(data_dir):
    # Excel's currency tag names a sign and a Windows locale (LCID, hex): '[$$-1009]' is the
    # dollar as en-CA writes it, the Canadian dollar; '[$kr-41D]' the krona of sv-SE. The
    # sign alone names several currencies, and '$' and 'kr' landed as written, though the
    # format said which. Where the sign is the locale's own currency's, its ISO code lands
    # (o1-o4, o7-o9, o17-o23); a sign naming one currency lands as before (o5, o6, o10-o16);
    # a sign that is not the locale's currency (o24: the dollar in de-DE, whose currency is
    # the euro) lands as written. o25: a CAD row whose amount the format shows in US dollars
    # is quarantined, as a CSV's '12 USD' under CAD is ('$' alone was no contradiction).
    settings = make_settings(data_dir)
    path = settings.landing_dir / "crm" / "orders" / "orders.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    book = xlsxwriter.Workbook(str(path))
    rows = [
        ("o1", None, "[$$-409]#,##0.00", "USD"),  # en-US
        ("o2", None, "[$$-1009]#,##0.00", "CAD"),  # en-CA
        ("o3", None, "[$$-C09]#,##0.00", "AUD"),  # en-AU
        ("o4", None, "[$$-1409]#,##0.00", "NZD"),  # en-NZ
        ("o5", None, "[$£-809]#,##0.00", "GBP"),  # en-GB
        ("o6", None, "#,##0.00 [$€-407]", "EUR"),  # de-DE
        ("o7", None, "#,##0.00 [$kr-406]", "DKK"),  # da-DK
        ("o8", None, "#,##0.00 [$kr-41D]", "SEK"),  # sv-SE
        ("o9", None, "[$kr-414] #,##0.00", "NOK"),  # nb-NO, the sign before the number
        ("o10", None, "#,##0.00 [$руб.-419]", "RUB"),  # ru-RU
        ("o11", None, "#,##0.00 [$лв.-402]", "BGN"),  # bg-BG
        ("o12", None, "#,##0.00 [$Kč-405]", "CZK"),  # cs-CZ
        ("o13", None, "#,##0.00 [$zł-415]", "PLN"),  # pl-PL
        ("o14", None, "#,##0.00 [$lei-418]", "RON"),  # ro-RO
        ("o15", None, "#,##0 [$Ft-40E]", "HUF"),  # hu-HU
        ("o16", None, "[$CHF-807] #,##0.00", "CHF"),  # de-CH
        ("o17", None, "#,##0.00 [$kr.-406]", "DKK"),  # da-DK as Windows writes its sign
        ("o18", None, "[$$-C0C]#,##0.00", "CAD"),  # fr-CA
        ("o19", None, "[$¥-411]#,##0", "JPY"),  # ja-JP
        ("o20", None, "[$¥-804]#,##0.00", "CNY"),  # zh-CN
        ("o21", None, "#,##0.00 [$kr.-40F]", "ISK"),  # is-IS
        ("o22", None, "[$$-80A]#,##0.00", "MXN"),  # es-MX
        ("o23", None, "#,##0.00 [$kr-814]", "NOK"),  # nn-NO
        ("o24", None, "[$$-407]#,##0.00", "$"),  # the dollar, written in de-DE
        ("o25", "CAD", "[$$-409]#,##0.00", None),
    ]
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, ["order_id", "contact_id", "ordered_at", "status", "currency"])
    sheet.write_row(0, 5, ["gross_amount", "discount_amount"])
    for row, (order, delivered, num_format, _) in enumerate(rows, start=1):
        style = book.add_format({"num_format": num_format})
        sheet.write_row(row, 0, [order, "c1", f"2024-03-{row:02d} 10:00", "completed"])
        if delivered:
            sheet.write_string(row, 4, delivered)
        sheet.write_number(row, 5, 12, style)
        sheet.write_number(row, 6, 0, style)
    book.close()
    (report,) = land(settings, "orders")
    assert (report.status, report.rows_landed, report.rows_quarantined) == ("landed", 24, 1)
    assert landed(settings) == [(o, c, Decimal("12.0000")) for o, _, _, c in rows[:-1]]
    reasons = query(settings, "select row_number, reason from quarantine_rows").rows()
    assert reasons == [
        (
            26,
            "currency is 'CAD' but gross_amount '12 USD' names USD: correct the currency or the "
            "amount and deliver the row again",
        )
    ]
