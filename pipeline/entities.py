"""The six canonical entities of ``spec/contracts.md``: columns, types, keys and enums.

This is the single source of truth the ingestion, the generator, the raw tables and the
expectation suites read, so that a column added to the contract is added in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# Lineage columns every raw table carries after the canonical ones.
LINEAGE_COLUMNS: dict[str, str] = {
    "_source_file": "text",  # path of the delivery, relative to landing/
    "_row_number": "bigint",  # spreadsheet row of the record in its file (header = row 1)
    "_delivery_seq": "bigint",  # order of deliveries: higher = delivered later
    "_file_sha256": "text",  # content hash of the delivery (the exactly-once ledger key)
    "_loaded_at": "timestamp",  # when the pipeline landed it (UTC)
}


@dataclass(frozen=True)
class Entity:
    """One canonical entity: where it lands, its typed columns and how versions combine."""

    name: str  # e.g. "orders"
    source: str  # landing folder: crm, email or social
    folder: str  # landing sub-folder
    key: str  # key column
    mutable: bool  # upsert (latest wins) when True, de-duplicate (first wins) when False
    columns: dict[str, str]  # canonical column -> DuckDB type (timestamps are UTC, naive)
    required: tuple[str, ...]
    contact_or_email: bool = False  # a row must carry contact_id or email
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Enum columns whose other values land trimmed as delivered instead of quarantining their
    # row: an optional value the pipeline can do without. A sentiment it cannot read ("Mixed")
    # is scored like a missing one and counted apart; the landed suite names such rows.
    open_enums: tuple[str, ...] = ()

    @property
    def landing_path(self) -> str:
        """Path of the entity's landing folder relative to ``landing/``."""
        return f"{self.source}/{self.folder}"

    @property
    def raw_table(self) -> str:
        """Name of the raw table (schema ``raw``) the entity lands in."""
        return f"raw_{self.name}"

    @property
    def timestamp_columns(self) -> list[str]:
        return [c for c, t in self.columns.items() if t == "timestamp"]

    @property
    def id_columns(self) -> list[str]:
        """The ids that identity reads: the key and the ``contact_id`` a record names. They land
        without the white space around them, so that ``"c1 "`` (a padded CHAR column, a typed
        cell) is the record ``c1`` of another export (contracts.md, "Identity")."""
        return [c for c in dict.fromkeys([self.key, "contact_id"]) if c in self.columns]

    @property
    def identity_columns(self) -> list[str]:
        """The text identity matches on: the ids (:attr:`id_columns`), the e-mail and the social
        handles. They land without :data:`IDENTITY_EDGES` around them and composed (Unicode NFC),
        so that one address or id written two ways (a trailing tab, a zero-width space pasted
        from a web page, ``ü`` decomposed by a Mac export) names one customer
        (docs/operations.md, "Rules for deliveries")."""
        handles = [c for c in self.columns if c.endswith("_handle")]
        wanted = [*self.id_columns, "email", *handles]
        return [c for c in dict.fromkeys(wanted) if c in self.columns]


# What an id, an e-mail or a handle loses at its ends: Unicode White_Space (polars'
# ``strip_chars()``), the separators U+001C-U+001F Python's ``str.strip()`` takes too, and the
# invisible characters copy and paste leave: zero-width space, word joiner, and the byte-order
# mark of a file pasted or concatenated into another. None of them is part of an address.
IDENTITY_EDGES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
    + "\u2028\u2029\u202f\u205f\u3000\u200b\u2060\ufeff"
)

SCORE_RANGES: dict[str, tuple[int, int]] = {"nps": (0, 10), "csat": (1, 5), "ces": (1, 7)}

ENTITIES: dict[str, Entity] = {
    e.name: e
    for e in [
        Entity(
            name="contacts",
            source="crm",
            folder="contacts",
            key="contact_id",
            mutable=True,
            columns={
                "contact_id": "text",
                "email": "text",
                "first_name": "text",
                "last_name": "text",
                "phone": "text",
                "created_at": "timestamp",
                "country": "text",
                "language": "text",
                "acquisition_source": "text",
                "birth_date": "date",
                "twitter_handle": "text",
                "facebook_handle": "text",
                "instagram_handle": "text",
                "linkedin_handle": "text",
                "updated_at": "timestamp",
            },
            required=("contact_id", "created_at"),
        ),
        Entity(
            name="orders",
            source="crm",
            folder="orders",
            key="order_id",
            mutable=True,
            columns={
                "order_id": "text",
                "contact_id": "text",
                "email": "text",
                "ordered_at": "timestamp",
                "status": "text",
                "currency": "text",
                "gross_amount": "decimal(18,4)",
                "discount_amount": "decimal(18,4)",
                "refund_amount": "decimal(18,4)",
                "updated_at": "timestamp",
            },
            required=("order_id", "ordered_at", "status", "gross_amount"),
            contact_or_email=True,
            enums={"status": ("completed", "pending", "cancelled", "refunded")},
        ),
        Entity(
            name="tickets",
            source="crm",
            folder="tickets",
            key="ticket_id",
            mutable=True,
            columns={
                "ticket_id": "text",
                "contact_id": "text",
                "email": "text",
                "created_at": "timestamp",
                "channel": "text",
                "category": "text",
                "status": "text",
                "first_response_at": "timestamp",
                "solved_at": "timestamp",
                "agent_replies": "integer",
                "reopens": "integer",
                "updated_at": "timestamp",
            },
            required=("ticket_id", "created_at", "status"),
            contact_or_email=True,
            enums={
                "channel": ("email", "phone", "chat", "web", "social"),
                "category": ("question", "complaint", "incident", "request", "other"),
                "status": ("new", "open", "pending", "solved", "closed"),
            },
        ),
        Entity(
            name="surveys",
            source="crm",
            folder="surveys",
            key="response_id",
            mutable=False,
            columns={
                "response_id": "text",
                "contact_id": "text",
                "email": "text",
                "responded_at": "timestamp",
                "survey_type": "text",
                "score": "integer",
                "comment": "text",
                "ticket_id": "text",
            },
            required=("response_id", "responded_at", "survey_type", "score"),
            contact_or_email=True,
            enums={"survey_type": ("nps", "csat", "ces")},
        ),
        Entity(
            name="email_events",
            source="email",
            folder="events",
            key="event_id",
            mutable=False,
            columns={
                "event_id": "text",
                "email": "text",
                "campaign_id": "text",
                "campaign_name": "text",
                "event_type": "text",
                "occurred_at": "timestamp",
                "url": "text",
            },
            required=("email", "campaign_id", "event_type", "occurred_at"),
            enums={
                "event_type": (
                    "sent",
                    "delivered",
                    "open",
                    "click",
                    "bounce",
                    "unsubscribe",
                    "spam_complaint",
                )
            },
        ),
        Entity(
            name="social_mentions",
            source="social",
            folder="mentions",
            key="mention_id",
            mutable=False,
            columns={
                "mention_id": "text",
                "platform": "text",
                "author_handle": "text",
                "author_name": "text",
                "text": "text",
                "language": "text",
                "posted_at": "timestamp",
                "sentiment": "text",
                "brand_replied_at": "timestamp",
                "url": "text",
            },
            required=("mention_id", "platform", "author_handle", "posted_at"),
            enums={
                "platform": ("twitter", "facebook", "instagram", "linkedin", "blog", "other"),
                "sentiment": ("positive", "neutral", "negative"),
            },
            open_enums=("sentiment",),
        ),
    ]
}


def raw_table_ddl(entity: Entity) -> str:
    """``create table if not exists`` statement for an entity's raw table."""
    cols = {**entity.columns, **LINEAGE_COLUMNS}
    body = ",\n    ".join(f"{name} {typ}" for name, typ in cols.items())
    return f"create table if not exists raw.{entity.raw_table} (\n    {body}\n)"
