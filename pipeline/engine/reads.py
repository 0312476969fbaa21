"""What a model reads of a parent, when that is less than the parent: the row-wise selects
(``select <columns> from parent where <filter>``) through which it reads it.

A model that reads a table only through such selects sees nothing of it but their results: if
each of them returns the same rows as at the model's last build, the model would compute the
same rows again, whatever else changed in the parent. ``int_surveys`` reads ``int_record_links``
only as ``select record_id, natural_key from int_record_links where record_type = 'survey'``,
so a delivery of orders, which rewrites the order links, leaves it as it was
(``pipeline/engine/skip.py`` hashes these selects; docs/architecture.md, "Builds a run cannot
change are skipped"). They are found once, when the models are discovered, from the tree the
discovery parses anyway: parsing at build time cost 20–60 ms of CPU per model and parent.

A read counts as such a select only when its result depends on nothing but the parent's rows,
one row at a time: a ``select`` (the body of a CTE, or a branch of a union there) whose only
table is the parent, with no join, subquery, aggregate, window, ``limit``, sample or
non-deterministic function, whose columns are all the parent's; and at least one of them has a
``where``. Any other read of the parent (a join, a select with no filter, a correlated
subquery) makes the answer None: the parent is then compared whole, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Read:
    """One row-wise select through which a model reads a parent."""

    select: str  # as the model runs it: the parent named as in the model (the search path)
    columns: frozenset[str]  # the unqualified column names it uses: all must be the parent's


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


@dataclass(frozen=True)
class _Slice:
    """One row-wise select of a parent, with what the two questions below ask of it."""

    read: Read
    filtered: bool  # it has a where
    uses: frozenset[str]  # every column name it uses: unqualified, or qualified by the parent
    star: bool  # it selects a * (every column of the parent)


def _read(table: exp.Table) -> _Slice | None:
    """The select that reads ``table`` row by row; None when the read is anything else."""
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
    unqualified: set[str] = set()
    qualified: set[str] = set()
    star = False
    for node in select.walk():
        if node is not select and isinstance(node, (exp.Select, exp.Subquery, exp.Query)):
            return None  # a subquery: it may read other tables or the outer row
        if isinstance(node, (exp.AggFunc, exp.Window)) or _is_volatile(node):
            return None
        star = star or isinstance(node, exp.Star)
        if isinstance(node, exp.Column):
            if node.table and node.table.lower() not in names:
                return None  # another table's column: an outer reference
            (qualified if node.table else unqualified).add(node.name.lower())
    copy = select.copy()
    copy.set("order", None)  # the rows as a multiset: order does not matter
    read = Read(copy.sql(dialect="duckdb"), frozenset(unqualified))
    return _Slice(read, bool(select.args.get("where")), frozenset(unqualified | qualified), star)


def _slices(tree: exp.Expression) -> dict[str, list[_Slice]]:
    """For each table the model ``tree`` reads only through row-wise selects: those selects,
    in the order they appear (a table read any other way, even once, is left out)."""
    found: dict[str, list[_Slice]] = {}
    refused: set[str] = set()
    for name, table in _tables(tree):
        found_slice = _read(table)
        if found_slice is None:
            refused.add(name)
        else:
            found.setdefault(name, []).append(found_slice)
    return {name: slices for name, slices in found.items() if name not in refused}


def _tables(tree: exp.Expression) -> Iterator[tuple[str, exp.Table]]:
    """Each table reference of the model ``tree`` that names a table (not one of its CTEs),
    with its lower-cased name."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    for table in tree.find_all(exp.Table):
        name = table.name.lower()
        if isinstance(table.this, exp.Identifier) and name and name not in cte_names:
            yield name, table


def filtered_reads(tree: exp.Expression) -> dict[str, tuple[Read, ...]]:
    """For each table the model ``tree`` reads only through row-wise selects, at least one of
    which has a ``where``: those selects, in the order they appear. A select that only leaves
    columns out is rarely the same when its table changed, and hashing it would cost a scan of
    the parent each time the parent is rebuilt, so such parents are left out."""
    return {
        name: tuple(s.read for s in slices)
        for name, slices in _slices(tree).items()
        if any(s.filtered for s in slices)
    }


def read_columns(tree: exp.Expression) -> dict[str, frozenset[str]]:
    """For each table the model ``tree`` reads only through row-wise selects (filtered or not),
    none of them with a ``*``: the column names those selects use, lower-cased. A
    ``delete+insert`` build then copies only these columns of its source (kinds.py); a name
    that is an alias, not a column, is dropped there."""
    found = {
        name: frozenset().union(*(s.uses for s in slices))
        for name, slices in _slices(tree).items()
        if not any(s.star for s in slices)
    }
    return {name: columns for name, columns in found.items() if columns}


def reads_of(reads: tuple[Read, ...], columns: Iterable[str]) -> tuple[str, ...] | None:
    """The selects of ``reads`` when every unqualified column they use is one of the parent's
    ``columns`` (otherwise one may be an outer reference or an output alias: None)."""
    names = {c.lower() for c in columns}
    if not reads or not all(r.columns <= names for r in reads):
        return None
    return tuple(r.select for r in reads)
