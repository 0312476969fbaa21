"""Row rules beyond types and enums: amounts that cannot be negative, times that cannot run
backwards (docs/operations.md, "Rules for deliveries").

Each rule is a ``(is bad, why)`` pair of polars expressions over a parsed delivery's typed
values (``__val_<col>``) and source text (``__src_<col>``), as :mod:`pipeline.ingest.parse`
builds them.
"""

from __future__ import annotations

import polars as pl

from pipeline.entities import Entity

# Amounts that cannot be negative: net = gross - discount - refund (spec/contracts.md), so a
# negative discount or refund would add to revenue, and a negative gross is no sale.
NON_NEGATIVE: dict[str, tuple[str, ...]] = {
    "orders": ("gross_amount", "discount_amount", "refund_amount"),
}
# A credit note (a cancelled order whose gross is the value it reverses, as the UCI Online
# Retail file delivers them) may carry a negative gross: it never counts as a purchase.
NEGATIVE_GROSS_STATUS = "cancelled"
# (later, earlier): the later time cannot be before the earlier one.
TIME_ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "tickets": (("first_response_at", "created_at"), ("solved_at", "created_at")),
}


def _val(col: str) -> pl.Expr:
    return pl.col(f"__val_{col}")


def _text(col: str) -> pl.Expr:
    """The value as delivered, or (for a value computed by the mapping) as typed."""
    return pl.coalesce(pl.col(f"__src_{col}"), _val(col).cast(pl.String))


def row_rules(
    entity: Entity, label: dict[str, str], aggregate: bool
) -> list[tuple[pl.Expr, pl.Expr]]:
    """The ``(is bad, why)`` checks of ``entity``'s amounts and times.

    A line-item export's gross is summed after the checks (one line may be a discount), so
    its gross is not checked per line.
    """
    checks = []
    for col in NON_NEGATIVE.get(entity.name, ()):
        if col not in entity.columns or (aggregate and col == "gross_amount"):
            continue
        bad = _val(col) < 0
        if col == "gross_amount":
            bad = bad & (_val("status").fill_null("") != NEGATIVE_GROSS_STATUS)
        why = pl.format(f"{label[col]} '{{}}' is negative; amounts cannot be negative", _text(col))
        checks.append((bad.fill_null(False), why))
    for later, earlier in TIME_ORDER.get(entity.name, ()):
        bad = (_val(later) < _val(earlier)).fill_null(False)
        why = pl.format(
            f"{label[later]} '{{}}' is before {label[earlier]} '{{}}'", _text(later), _text(earlier)
        )
        checks.append((bad, why))
    return checks
