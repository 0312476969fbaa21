"""DuckDB SQL models in Spark SQL: sqlglot's translation plus the rewrites this project owns.

Models are written once, in DuckDB SQL. ``sqlglot.transpile(read="duckdb", write="spark")`` gets
most of the way; where its output would fail on Spark or compute something else, a rewrite from
:data:`REWRITES` changes the DuckDB tree first. Every model is translated (and checked) when the
models load: a construct with no faithful Spark form raises :class:`SparkTranslationError`
naming the model file and the construct, so a run never starts half-translatable.

The rewrites (each keeps DuckDB's result and type):

- ``quantile_cont(x, p)`` -> ``percentile(x, p)``: sqlglot writes ``percentile_cont(x, p)``,
  which Spark rejects; ``percentile`` interpolates linearly like ``quantile_cont``.
- ``microsecond(ts)`` -> ``cast(extract(second from ts) * 1000000 as bigint)``: DuckDB's
  microseconds of the minute; Spark has no ``microsecond()``.
- ``epoch(ts)`` -> ``unix_micros(ts) / 1e6`` as DOUBLE: sqlglot writes ``unix_timestamp``,
  which drops fractions of a second.
- ``a / b`` -> ``cast(a as double) / b``: DuckDB's ``/`` returns DOUBLE for integers and
  decimals alike; Spark keeps DECIMAL (``x / 3600.0`` would be DECIMAL(..., 6)).
- ``avg(x)`` -> ``avg(cast(x as double))``: DuckDB averages decimals to DOUBLE, Spark to DECIMAL.
- ``year(d)``, ``month(d)``, ``day(d)``, ..., ``length(s)`` and the ranking windows
  (``row_number``, ``rank``, ``dense_rank``, ``ntile``) -> ``cast(... as bigint)``: BIGINT in
  DuckDB, INT in Spark (a published Parquet column would be int32 instead of int64).
- ``strftime(ts, fmt)`` -> ``date_format(ts, pattern)`` with the pattern written here: sqlglot
  leaves letters such as the ``T`` of ``%Y-%m-%dT%H`` unquoted, which Spark refuses.
- ``regexp_replace(s, p, r, 'g')`` -> Spark's ``regexp_replace`` (which always replaces every
  match); without ``'g'`` DuckDB replaces the first match only, so that form is refused unless
  the pattern is anchored with ``^`` (one match at most).

Refused: any function sqlglot does not know (it would be passed through verbatim, unchecked),
``regexp_replace`` options other than ``'g'``, strftime codes not in :data:`STRFTIME`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, SqlglotError

from pipeline.engine import Model, ModelError


class SparkTranslationError(ModelError):
    """A model construct with no faithful Spark form; the message names model and construct."""


# Functions left as sqlglot "Anonymous" calls that Spark has with DuckDB's meaning: the ones the
# rewrites below produce. Any other unknown function is refused.
SPARK_FUNCTIONS = frozenset({"percentile", "unix_micros", "date_format"})
# strftime codes -> Spark datetime pattern letters.
STRFTIME = {"%Y": "yyyy", "%m": "MM", "%d": "dd", "%H": "HH", "%M": "mm", "%S": "ss", "%%": "%"}


def _double(node: exp.Expression) -> exp.Expression:
    return exp.cast(node, exp.DataType.build("double"))


def _quantile(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.PercentileCont) and not isinstance(node.parent, exp.WithinGroup):
        return exp.Anonymous(this="percentile", expressions=[node.this, _double(node.expression)])
    return node


def _microsecond(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name.lower() == "microsecond":
        (arg,) = node.expressions
        second = exp.Extract(this=exp.var("SECOND"), expression=arg)
        micros = exp.Mul(this=second, expression=exp.Literal.number(1000000))
        return exp.cast(micros, exp.DataType.build("bigint"))
    return node


def _epoch(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimeToUnix):
        # unix_micros takes Spark's TIMESTAMP (LTZ); the session is UTC, so the cast of a naive
        # (NTZ) timestamp reads it as UTC, as DuckDB's epoch does.
        ltz = exp.cast(node.this, exp.DataType.build("timestamp_ltz", dialect="spark"))
        micros = exp.Anonymous(this="unix_micros", expressions=[ltz])
        return exp.Div(this=_double(micros), expression=exp.Literal.number(1000000))
    return node


def _division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Div) and not node.args.get("_double"):
        left = node.this
        if not (isinstance(left, exp.Cast) and left.to.this == exp.DataType.Type.DOUBLE):
            left = _double(exp.paren(left) if isinstance(left, exp.Binary) else left)
        node.set("this", left)
        node.set("_double", True)  # transform() may visit the node again
    return node


def _avg(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Avg) and not isinstance(node.this, exp.Cast):
        node.set("this", _double(node.this))
    return node


# Date-part functions: BIGINT in DuckDB, INT in Spark.
DATE_PARTS = tuple(
    getattr(exp, name)
    for name in ("Year", "Quarter", "Month", "Week", "WeekOfYear", "Day", "DayOfMonth",
                 "DayOfWeek", "DayOfYear", "Hour", "Minute")
    if hasattr(exp, name)
)  # fmt: skip


# Ranking window functions: BIGINT in DuckDB, INT in Spark (the cast goes around the window).
RANKINGS = (exp.RowNumber, exp.Rank, exp.DenseRank, exp.Ntile)


def _bigint(node: exp.Expression) -> exp.Expression:
    ranking = isinstance(node, exp.Window) and isinstance(node.this, RANKINGS)
    if (ranking or isinstance(node, (*DATE_PARTS, exp.Length))) and not node.args.get("_bigint"):
        node.set("_bigint", True)  # transform() may visit the node again inside its cast
        return exp.cast(node, exp.DataType.build("bigint"))
    return node


def _strftime(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.TimeToStr):
        return node
    fmt = node.args.get("format")
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        raise _Refused("strftime with a format that is not a literal")
    text, out, i = fmt.this, [], 0
    while i < len(text):
        if text[i] == "%":
            code = text[i : i + 2]
            if code not in STRFTIME:
                raise _Refused(f"strftime code {code!r} (Spark patterns known: {sorted(STRFTIME)})")
            out.append(STRFTIME[code])
            i += 2
        else:
            char = text[i]
            # Letters are pattern letters in Spark and quotes delimit literals: quote both.
            out.append(f"'{char}'" if char.isalpha() else "''" if char == "'" else char)
            i += 1
    return exp.Anonymous(
        this="date_format", expressions=[node.this, exp.Literal.string("".join(out))]
    )


def _regexp_replace(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.RegexpReplace):
        return node
    modifiers = node.args.get("modifiers")
    flags = modifiers.this if isinstance(modifiers, exp.Literal) else None
    if modifiers is not None and flags != "g":
        raise _Refused(f"regexp_replace options {modifiers.sql('duckdb')} (only 'g' translates)")
    pattern = node.expression
    anchored = isinstance(pattern, exp.Literal) and pattern.this.startswith("^")
    if flags is None and not anchored:
        raise _Refused(
            "regexp_replace without 'g' (DuckDB replaces the first match, Spark every match; "
            "add 'g' or anchor the pattern with ^)"
        )
    node.set("modifiers", None)
    return node


class _Refused(Exception):
    """A rewrite found a construct it cannot translate (the caller adds the model's name)."""


REWRITES: tuple[Callable[[exp.Expression], exp.Expression], ...] = (
    _quantile,
    _microsecond,
    _epoch,
    _strftime,
    _regexp_replace,
    _avg,
    _division,
    _bigint,
)


def _unknown_function(tree: exp.Expression) -> str | None:
    for call in tree.find_all(exp.Anonymous):
        if call.name.lower() not in SPARK_FUNCTIONS:
            return f"function {call.name}() (unknown to sqlglot, so not checked)"
    return None


def to_spark(sql: str, where: str) -> str:
    """One DuckDB ``select`` as Spark SQL; SparkTranslationError naming ``where`` otherwise."""
    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
        unknown = _unknown_function(tree)
        if unknown and "microsecond" not in unknown.lower():
            raise _Refused(unknown)
        for rewrite in REWRITES:
            tree = tree.transform(rewrite, copy=False)
        unknown = _unknown_function(tree)
        if unknown:
            raise _Refused(unknown)
        return tree.sql(dialect="spark", unsupported_level=ErrorLevel.RAISE, pretty=True)
    except _Refused as err:
        raise SparkTranslationError(f"{where}: no Spark translation for {err}") from None
    except SqlglotError as err:
        raise SparkTranslationError(f"{where}: no Spark translation: {err}") from None


def translate_models(models: Iterable[Model]) -> dict[str, str]:
    """Spark SQL of every model by name; raises SparkTranslationError at the first that fails."""
    return {m.name: to_spark(m.sql, str(m.path)) for m in models}
