"""The key of an e-mail event delivered without one (documented in docs/vendors.md and the
contract): sha256 of "email|campaign_id|event_type|occurred_at", the e-mail normalised as in
staging (lower(trim(email)), final sigma read as σ and i + U+0307 as i), occurred_at in
UTC as ISO 8601 "YYYY-MM-DDTHH:MM:SS" plus ".ffffff" only when it has microseconds (Python's
datetime.isoformat())."""

from __future__ import annotations


def event_id_sql(prefix: str = "") -> str:
    """SQL of the made event_id from the typed columns ``<prefix>email``, ``<prefix>campaign_id``,
    ``<prefix>event_type`` and ``<prefix>occurred_at`` (``v_`` in the DuckDB parse)."""
    email, campaign, kind, at = (
        f"{prefix}{c}" for c in ("email", "campaign_id", "event_type", "occurred_at")
    )
    return (
        f"sha256(replace(replace(lower(trim({email})), 'ς', 'σ'), 'i\u0307', 'i') || '|' || "
        f"{campaign} || '|' || {kind} || '|' || "
        f"strftime({at}, '%Y-%m-%dT%H:%M:%S') || "
        f"case when microsecond({at}) % 1000000 = 0 then '' "
        f"else '.' || lpad(cast(microsecond({at}) % 1000000 as text), 6, '0') end)"
    )
