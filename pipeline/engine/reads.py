"""What a model reads of a parent, when that is less than the parent: the row-wise selects
(``select <columns> from parent where <filter>``) through which it reads it.

A model that reads a table only through such selects sees nothing of it but their results: if
each of them returns the same rows as at the model's last build, the model would compute the
same rows again, whatever else changed in the parent. ``int_surveys`` reads ``int_record_links``
only as ``select record_id, natural_key from int_record_links where record_type = 'survey'``,
so a delivery of orders, which rewrites the order links, leaves it as it was
(``pipeline/engine/skip.py`` hashes these selects; docs/architecture.md, "Builds a run cannot
change are skipped").

A read counts as such a select only when its result depends on nothing but the parent's rows,
one row at a time: a ``select`` (the body of a CTE, or a branch of a union there) whose only
table is the parent, with no join, subquery, aggregate, window, ``limit``, sample or
non-deterministic function, whose columns are all the parent's; and at least one of them has a
``where``. Any other read of the parent (a join, a select with no filter, a correlated
subquery) makes the answer None: the parent is then compared whole, as before.
"""

from __future__ import annotations

from functools import lru_cache

import sqlglot
from sqlglot import exp

# Functions whose value is not fixed by their arguments: a select calling one is not a slice.
_VOLATILE_NAMES = frozenset(
    {
        "random",
        "rand",
        "uuid",
        "gen_random_uuid",
        "nextval",
        "currval",
        "now",
        "get_current_time",
        "current_timestamp",
        "current_date",
        "current_time",
        "transaction_timestamp",
        "setseed",
    }
)
_VOLATILE_TYPES = tuple(
    getattr(exp, name)
    for name in ("Rand", "Uuid", "CurrentDate", "CurrentTime", "CurrentTimestamp")
    if hasattr(exp, name)
)


def _is_volatile(node: exp.Expression) -> bool:
    if isinstance(node, _VOLATILE_TYPES):
        return True
    if isinstance(node, exp.Anonymous):
        return str(node.this).lower() in _VOLATILE_NAMES
    return isinstance(node, exp.Func) and node.sql_name().lower() in _VOLATILE_NAMES


def _in_cte(select: exp.Select) -> bool:
    """Whether ``select`` is a CTE's body, or a branch of a union that is (not a subquery in an
    expression, which may be correlated, and not the model's own select)."""
    node: exp.Expression | None = select.parent
    while isinstance(node, (exp.Union, exp.Subquery, exp.Paren)):
        node = node.parent
    return isinstance(node, exp.CTE)


def _from(select: exp.Select) -> exp.Expression | None:
    # sqlglot names the FROM clause "from_" since 28, "from" before.
    return select.args.get("from_") or select.args.get("from")


def _slice(table: exp.Table, columns: set[str], qualified: str) -> str | None:
    """The select that reads ``table`` as a row-wise slice, with the table ``qualified``; None
    when the read is anything else."""
    from_ = table.parent
    select = from_.parent if isinstance(from_, exp.From) else None
    if not isinstance(select, exp.Select) or _from(select) is not from_:
        return None
    if not _in_cte(select) or select.args.get("joins") or select.args.get("laterals"):
        return None
    for arg in ("limit", "offset", "group", "having", "qualify", "windows", "distinct"):
        if select.args.get(arg):
            return None
    if table.args.get("sample") or table.args.get("joins") or table.args.get("pivots"):
        return None
    names = {table.name.lower(), (table.alias or "").lower()} - {""}
    for node in select.walk():
        if node is not select and isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
            return None  # a subquery: it may read other tables or the outer row
        if isinstance(node, (exp.AggFunc, exp.Window)) or _is_volatile(node):
            return None
        if isinstance(node, exp.Column):
            # Qualified by the parent, or a column it has: not an outer reference, nor an
            # output alias reused in the filter.
            if node.table and node.table.lower() not in names:
                return None
            if not node.table and node.name.lower() not in columns:
                return None
    copy = select.copy()
    copy.set("order", None)  # the rows as a multiset: order does not matter
    for found in copy.find_all(exp.Table):
        alias = found.alias or found.name
        new = exp.to_table(qualified, dialect="duckdb")
        new.set("alias", exp.TableAlias(this=exp.to_identifier(alias)))
        found.replace(new)
    return copy.sql(dialect="duckdb")


@lru_cache(maxsize=512)
def parent_reads(
    sql: str, parent: str, qualified: str, columns: tuple[str, ...]
) -> tuple[str, ...] | None:
    """The selects (each over ``qualified``, the parent's ``schema.table``) through which the
    model ``sql`` reads the table ``parent`` of ``columns``, in the order they appear; None when
    it reads the parent in any other way, or when none of them filters rows: a select that only
    leaves columns out is rarely the same when its table changed, and hashing it would cost a
    scan of the parent each time the parent is rebuilt."""
    tree = sqlglot.parse_one(sql, read="duckdb")
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    if parent.lower() in cte_names:
        return None
    wanted = {c.lower() for c in columns}
    slices: list[str] = []
    filtered = False
    for table in tree.find_all(exp.Table):
        if table.name.lower() != parent.lower() or not isinstance(table.this, exp.Identifier):
            continue
        found = _slice(table, wanted, qualified)
        if found is None:
            return None
        filtered |= bool(table.parent.parent.args.get("where"))  # type: ignore[union-attr]
        slices.append(found)
    return tuple(slices) if slices and filtered else None
