"""Identity (contracts.md): contacts, merges, linking, who is a customer, the published keys."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import polars as pl

from .settings import OracleSettings
from .versions import norm_handle

SOCIAL_PLATFORMS = ("twitter", "facebook", "instagram", "linkedin")
NOT_PURCHASES = ("pending", "cancelled")


def sha256_hex(text: str | None) -> str | None:
    """Hex sha256 of a UTF-8 string (None stays None)."""
    return None if text is None else hashlib.sha256(text.encode("utf-8")).hexdigest()


def customer_id_expr(natural_key: str) -> pl.Expr:
    """``customer_id``: first 16 hex digits of sha256 of the natural key."""
    return pl.col(natural_key).map_elements(
        lambda k: sha256_hex(k)[:16], return_dtype=pl.String, skip_nulls=True
    )


def email_sha256_expr(email: str) -> pl.Expr:
    """``email_sha256``: hex sha256 of the normalised e-mail."""
    return pl.col(email).map_elements(sha256_hex, return_dtype=pl.String, skip_nulls=True)


def net_amount() -> pl.Expr:
    """gross - discount - refund, missing discount/refund read as 0."""
    return (
        pl.col("gross_amount")
        - pl.col("discount_amount").fill_null(0)
        - pl.col("refund_amount").fill_null(0)
    )


@dataclass(frozen=True)
class Identity:
    """The outcome of identity resolution: who exists and which key each record belongs to."""

    contacts: pl.DataFrame  # existing contacts: contact_id, survivor_id, email_norm, attributes
    customers: pl.DataFrame  # natural_key, customer_id, email_sha256, is_contact, attributes
    # resolved records + natural_key (NULL when its key is no customer) and is_contact
    orders: pl.DataFrame
    tickets: pl.DataFrame
    surveys: pl.DataFrame
    email_events: pl.DataFrame  # resolved events + natural_key (NULL when no customer)
    social_mentions: pl.DataFrame  # resolved mentions + natural_key (NULL when unlinked)


def existing_contacts(contacts: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Contacts created by the end of as_of, each with the contact it merges onto."""
    alive = contacts.filter(pl.col("created_at") < settings.as_of_end)
    oldest = (
        alive.filter(pl.col("email_norm").is_not_null())
        .sort("created_at", "contact_id")
        .group_by("email_norm", maintain_order=True)
        .first()
        .select("email_norm", pl.col("contact_id").alias("email_survivor"))
    )
    return alive.join(oldest, on="email_norm", how="left").with_columns(
        pl.coalesce("email_survivor", "contact_id").alias("survivor_id")
    )


def link_records(records: pl.DataFrame, contacts: pl.DataFrame) -> pl.DataFrame:
    """Add ``natural_key`` (and ``is_contact``): by contact_id, then e-mail, then own key."""
    by_id = contacts.select("contact_id", pl.col("survivor_id").alias("_by_id"))
    by_email = (
        contacts.filter(pl.col("email_norm").is_not_null())
        .select("email_norm", pl.col("survivor_id").alias("_by_email"))
        .unique()
    )
    linked = records.join(by_id, on="contact_id", how="left").join(
        by_email, on="email_norm", how="left"
    )
    survivor = pl.coalesce("_by_id", "_by_email")
    return linked.with_columns(
        pl.when(survivor.is_not_null())
        .then(pl.lit("contact:") + survivor)
        .when(pl.col("contact_id").is_not_null())
        .then(pl.lit("contact:") + pl.col("contact_id"))
        .otherwise(pl.lit("email:") + pl.col("email_norm"))
        .alias("natural_key"),
        survivor.is_not_null().alias("is_contact"),
    ).drop("_by_id", "_by_email")


def qualifying(orders: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Qualifying purchases on or before as_of, with ``net_amount``."""
    return orders.with_columns(net_amount().alias("net_amount")).filter(
        ~pl.col("status").is_in(NOT_PURCHASES),
        pl.col("net_amount") > 0,
        pl.col("ordered_at") < settings.as_of_end,
    )


def build_customers(
    contacts: pl.DataFrame, orders: pl.DataFrame, settings: OracleSettings
) -> pl.DataFrame:
    """Every surviving contact, plus each non-contact key with a qualifying purchase."""
    survivors = contacts.filter(pl.col("contact_id") == pl.col("survivor_id")).select(
        (pl.lit("contact:") + pl.col("contact_id")).alias("natural_key"),
        pl.col("email_norm"),
        "country",
        "language",
        "acquisition_source",
        "created_at",
        pl.lit(True).alias("is_contact"),
    )
    # docs/open-rules.md R2: an outsider takes the e-mail of its latest qualifying order that
    # carries one (ordered_at, then order_id).
    outsiders = (
        qualifying(orders, settings)
        .filter(~pl.col("is_contact"))
        .sort("natural_key", pl.col("email_norm").is_not_null(), "ordered_at", "order_id")
        .group_by("natural_key", maintain_order=True)
        .last()
        .select(
            "natural_key",
            "email_norm",
            pl.lit(None, pl.String).alias("country"),
            pl.lit(None, pl.String).alias("language"),
            pl.lit(None, pl.String).alias("acquisition_source"),
            pl.lit(None, pl.Datetime("us")).alias("created_at"),
            pl.lit(False).alias("is_contact"),
        )
    )
    customers = pl.concat([survivors, outsiders.cast(survivors.schema)])
    return customers.with_columns(
        customer_id_expr("natural_key").alias("customer_id"),
        email_sha256_expr("email_norm").alias("email_sha256"),
    )


def attach(records: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """Blank ``natural_key`` where it names no customer (counted in totals, in no customer)."""
    keys = customers.select("natural_key", pl.lit(True).alias("_cust"))
    return (
        records.join(keys, on="natural_key", how="left")
        .with_columns(
            pl.when(pl.col("_cust"))
            .then(pl.col("natural_key"))
            .otherwise(None)
            .alias("natural_key")
        )
        .drop("_cust")
    )


def link_email_events(events: pl.DataFrame, customers: pl.DataFrame) -> pl.DataFrame:
    """E-mail events link by normalised e-mail to the customer holding it.

    Customers can share an e-mail (an outsider keyed by contact_id carries its orders' e-mail);
    docs/open-rules.md R3: a contact first, then the key ``email:<e-mail>``, then the lowest
    natural key.
    """
    owners = (
        customers.filter(pl.col("email_norm").is_not_null())
        .sort(
            "email_norm",
            pl.col("is_contact"),
            pl.col("natural_key") == pl.lit("email:") + pl.col("email_norm"),
            pl.col("natural_key"),
            descending=[False, True, True, False],
        )
        .group_by("email_norm", maintain_order=True)
        .first()
        .select("email_norm", "natural_key")
    )
    return events.join(owners, on="email_norm", how="left")


def link_mentions(mentions: pl.DataFrame, contacts: pl.DataFrame) -> pl.DataFrame:
    """Mentions link by (platform, handle) to the oldest contact holding it; blog/other never."""
    holders = (
        pl.concat(
            [
                contacts.select(
                    pl.lit(p).alias("platform"),
                    norm_handle(f"{p}_handle", p).alias("handle_norm"),
                    "created_at",
                    "contact_id",
                    "survivor_id",
                )
                for p in SOCIAL_PLATFORMS
            ]
        )
        .filter(pl.col("handle_norm").is_not_null())
        .sort("created_at", "contact_id")
        .group_by("platform", "handle_norm", maintain_order=True)
        .first()
        .select(
            "platform", "handle_norm", (pl.lit("contact:") + pl.col("survivor_id")).alias("_key")
        )
    )
    return mentions.join(holders, on=["platform", "handle_norm"], how="left").rename(
        {"_key": "natural_key"}
    )


def without_brand_posts(mentions: pl.DataFrame, settings: OracleSettings) -> pl.DataFrame:
    """Mentions less the posts of the brand's own accounts, matched by platform and handle,
    each handle of the setting normalised as an author's is (docs/open-rules.md R15)."""
    entries = [e.strip() for e in settings.brand_handles.split(",") if e.strip()]
    written = [entry.partition(":") for entry in entries]
    brand = pl.DataFrame(
        {
            "platform": [platform.strip().lower() for platform, _, _ in written],
            "written": [handle.strip() for _, _, handle in written],
        },
        schema={"platform": pl.String, "written": pl.String},
    ).with_columns(norm_handle("written", pl.col("platform")).alias("handle_norm"))
    return mentions.join(brand, on=["platform", "handle_norm"], how="anti")


def resolve_identity(resolved: dict[str, pl.DataFrame], settings: OracleSettings) -> Identity:
    """Contacts, customers and every record's customer key, as contracts.md defines them."""
    contacts = existing_contacts(resolved["contacts"], settings)
    orders = link_records(resolved["orders"], contacts)
    customers = build_customers(contacts, orders, settings)
    return Identity(
        contacts=contacts,
        customers=customers,
        orders=attach(orders, customers),
        tickets=attach(link_records(resolved["tickets"], contacts), customers),
        surveys=attach(link_records(resolved["surveys"], contacts), customers),
        email_events=link_email_events(resolved["email_events"], customers),
        social_mentions=link_mentions(
            without_brand_posts(resolved["social_mentions"], settings), contacts
        ),
    )
