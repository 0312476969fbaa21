"""Resolve delivered versions into one row per key (contracts.md, "Identity": Upserts).

Deliveries are ordered by ``_delivery_seq`` then ``_row_number``. Mutable entities: a later
version replaces the current one unless both carry ``updated_at`` and the later one's is
older. Immutable entities keep the first row per key.
"""

from __future__ import annotations

import polars as pl

ORDER = ["_delivery_seq", "_row_number"]


def latest_versions(raw: pl.DataFrame, key: str) -> pl.DataFrame:
    """One row per ``key``: the version the pairwise upsert rule leaves standing.

    Applying the rule delivery by delivery gives a closed form: after the last version without
    ``updated_at`` (which replaces whatever stood), every version has one, so the greatest
    ``updated_at`` wins, ties going to the later delivery; with none after it, it stands.
    """
    ordered = raw.sort(ORDER).with_columns(pl.int_range(pl.len()).over(key).alias("_pos"))
    last_null = (
        pl.when(pl.col("updated_at").is_null())
        .then(pl.col("_pos"))
        .otherwise(None)
        .max()
        .over(key)
        .fill_null(-1)
    )
    candidates = ordered.filter(pl.col("_pos") >= last_null)
    # Nulls sort first, so the version without updated_at wins only when it stands alone.
    return (
        candidates.sort([key, "updated_at", "_pos"], nulls_last=False)
        .group_by(key, maintain_order=True)
        .last()
        .drop("_pos")
    )


def first_versions(raw: pl.DataFrame, key: str | list[str]) -> pl.DataFrame:
    """One row per ``key``: the first delivered copy."""
    return raw.sort(ORDER).unique(subset=key, keep="first", maintain_order=True)


def _blank_as_null(text: pl.Expr) -> pl.Expr:
    """An empty string read as NULL."""
    return pl.when(text == "").then(None).otherwise(text)


def _lower(column: str) -> pl.Expr:
    """docs/open-rules.md R14: without white space, U+001C-U+001F, zero-width space, word joiner
    or byte-order mark at the ends, composed (NFC), lower case with final sigma as sigma and
    i + combining dot above as i (polars lower-cases as Python does: 'σοφος', 'i̇')."""
    spaces = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000"
    edges = spaces + "".join(map(chr, range(0x2000, 0x200B))) + "\u200b\u2060\ufeff"
    lower = pl.col(column).str.strip_chars(edges).str.normalize("NFC").str.to_lowercase()
    sigma = lower.str.replace_all("ς", "σ", literal=True)
    return sigma.str.replace_all("i\u0307", "i", literal=True)


def norm_email(column: str) -> pl.Expr:
    """``lower(trim(email))`` as R14 reads it, with an empty result read as no e-mail."""
    return _blank_as_null(_lower(column))


# A link to a profile on each network, whose one group is the handle (docs/open-rules.md R12).
PROFILE_LINKS = {
    "twitter": (
        r"^(?:https?://)?(?:www\.|mobile\.|m\.)?(?:twitter|x)\.com/@?([^/?#]+)/?(?:[?#].*)?$"
    ),
    "facebook": (
        r"^(?:https?://)?(?:www\.|m\.|web\.)?(?:facebook|fb)\.com/([^/?#]+)/?(?:[?#].*)?$"
    ),
    "instagram": r"^(?:https?://)?(?:www\.)?instagram\.com/([^/?#]+)/?(?:[?#].*)?$",
    "linkedin": (
        r"^(?:https?://)?(?:[a-z]{2,3}\.)?linkedin\.com/(?:in|company)/([^/?#]+)/?(?:[?#].*)?$"
    ),
}


def _handle_of(text: pl.Expr, platform: str) -> pl.Expr:
    """The handle a profile link on ``platform`` names, else ``text`` (Facebook's
    ``profile.php?id=`` names none)."""
    handle = pl.coalesce(text.str.extract(PROFILE_LINKS[platform], 1), text)
    if platform == "facebook":
        return pl.when(text.str.contains("profile.php", literal=True)).then(text).otherwise(handle)
    return handle


def norm_handle(column: str, platform: str | pl.Expr) -> pl.Expr:
    """A social handle in lower case without a leading ``@`` (empty = none); a link to a
    profile on ``platform`` (a network's name, or a column holding it) is its handle."""
    text = _lower(column)  # R14
    if isinstance(platform, str):
        handle = _handle_of(text, platform) if platform in PROFILE_LINKS else text
    else:
        handle = text
        for name in PROFILE_LINKS:
            handle = pl.when(platform == name).then(_handle_of(text, name)).otherwise(handle)
    return _blank_as_null(handle.str.strip_prefix("@"))


def one_copy_per_post(mentions: pl.DataFrame) -> pl.DataFrame:
    """Drop a mention keyed by its URL when a mention keyed otherwise carries that URL on the
    same platform by the same author: one post under two keys (docs/open-rules.md R13)."""
    by_id = (
        mentions.filter(pl.col("url").is_not_null() & (pl.col("mention_id") != pl.col("url")))
        .select(pl.col("url").alias("mention_id"), "platform", "handle_norm")
        .unique()
        .with_columns(pl.lit(True).alias("_again"))
    )
    return (
        mentions.join(by_id, on=["mention_id", "platform", "handle_norm"], how="left")
        .filter(pl.col("_again").is_null())
        .drop("_again")
    )


def resolve_raw(raw: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Every entity resolved to one row per key, with normalised e-mails and handles."""
    events = raw["email_events"].with_columns(norm_email("email").alias("email_norm"))
    # Without an event_id the key is (e-mail, campaign, type, time): the same event re-exported.
    events = events.with_columns(
        pl.coalesce(
            pl.col("event_id"),
            pl.concat_str(
                [
                    pl.col("email_norm"),
                    pl.col("campaign_id"),
                    pl.col("event_type"),
                    pl.col("occurred_at").cast(pl.String),
                ],
                separator="\x1f",
                ignore_nulls=True,
            ),
        ).alias("_event_key")
    )
    return {
        "contacts": latest_versions(raw["contacts"], "contact_id").with_columns(
            norm_email("email").alias("email_norm"),
            # docs/open-rules.md R1: country upper case, language and acquisition_source lower
            # case (so "Referral" is a referral).
            _blank_as_null(pl.col("country").str.strip_chars().str.to_uppercase()).alias("country"),
            _blank_as_null(pl.col("language").str.strip_chars().str.to_lowercase()).alias(
                "language"
            ),
            _blank_as_null(pl.col("acquisition_source").str.strip_chars().str.to_lowercase()).alias(
                "acquisition_source"
            ),
        ),
        "orders": latest_versions(raw["orders"], "order_id").with_columns(
            norm_email("email").alias("email_norm")
        ),
        "tickets": latest_versions(raw["tickets"], "ticket_id").with_columns(
            norm_email("email").alias("email_norm")
        ),
        "surveys": first_versions(raw["surveys"], "response_id").with_columns(
            norm_email("email").alias("email_norm")
        ),
        "email_events": first_versions(events, "_event_key"),
        "social_mentions": one_copy_per_post(
            first_versions(raw["social_mentions"], "mention_id").with_columns(
                norm_handle("author_handle", pl.col("platform")).alias("handle_norm")
            )
        ),
    }
