"""Row-by-row, column-by-column comparison of two frames, with readable differences."""

from __future__ import annotations

import polars as pl

REL_TOL = 1e-9
ABS_TOL = 1e-12  # two floats that are both ~0 (e.g. 0.0 and -1e-17) are equal


def _comparable(df: pl.DataFrame) -> pl.DataFrame:
    """Numbers as Float64 (decimals, ints) so a BIGINT equals an Int32 of the same value."""
    return df.with_columns(
        pl.col(c).cast(pl.Float64)
        for c, t in df.schema.items()
        if t.is_numeric() and not t.is_integer()
    ).with_columns(pl.col(c).cast(pl.Int64) for c, t in df.schema.items() if t.is_integer())


def _differs(column: str, dtype: pl.DataType) -> pl.Expr:
    """True where the expected and actual values of ``column`` differ (NULL equals NULL)."""
    a, b = pl.col(f"{column}"), pl.col(f"{column}__actual")
    if dtype == pl.Float64:
        close = (a - b).abs() <= pl.max_horizontal(
            pl.lit(ABS_TOL), REL_TOL * pl.max_horizontal(a.abs(), b.abs())
        )
        same = (a.is_null() & b.is_null()) | (a.is_nan() & b.is_nan()) | close
        return ~same.fill_null(False)
    return ~a.eq_missing(b)


def diff_frames(
    expected: pl.DataFrame, actual: pl.DataFrame, keys: list[str], limit: int = 8
) -> list[str]:
    """Every difference between two frames keyed by ``keys``; empty when they agree."""
    problems: list[str] = []
    if expected.columns != actual.columns:
        problems.append(f"columns differ: expected {expected.columns}, actual {actual.columns}")
        common = [c for c in expected.columns if c in actual.columns]
        expected, actual = expected.select(common), actual.select(common)
    exp, act = _comparable(expected), _comparable(actual)
    for name, df in (("expected", exp), ("actual", act)):
        dupes = df.filter(df.select(keys).is_duplicated())
        if dupes.height:
            problems.append(f"{name} repeats keys {keys}: {dupes.select(keys).head(limit).rows()}")
    act = act.cast({k: exp.schema[k] for k in keys})
    joined = exp.join(
        act.rename({c: f"{c}__actual" for c in act.columns if c not in keys}),
        on=keys,
        how="full",
        coalesce=True,
        nulls_equal=True,
    ).with_columns(
        pl.lit(True).alias("_in_expected"),
    )
    marker_e = exp.select(keys).with_columns(pl.lit(True).alias("_e"))
    marker_a = act.select(keys).with_columns(pl.lit(True).alias("_a"))
    joined = joined.join(marker_e, on=keys, how="left", nulls_equal=True).join(
        marker_a, on=keys, how="left", nulls_equal=True
    )
    only_e = joined.filter(pl.col("_a").is_null())
    only_a = joined.filter(pl.col("_e").is_null())
    if only_e.height:
        problems.append(
            f"{only_e.height} rows only in expected, e.g. {only_e.select(keys).head(limit).rows()}"
        )
    if only_a.height:
        problems.append(
            f"{only_a.height} rows only in actual, e.g. {only_a.select(keys).head(limit).rows()}"
        )
    both = joined.filter(pl.col("_a").is_not_null() & pl.col("_e").is_not_null())
    for column in exp.columns:
        if column in keys:
            continue
        bad = both.filter(_differs(column, exp.schema[column]))
        if bad.height:
            sample = bad.select(*keys, column, f"{column}__actual").head(limit).rows()
            problems.append(
                f"{column}: {bad.height} of {both.height} rows differ "
                f"(keys..., expected, actual): {sample}"
            )
    return problems
