"""The ``retention_charts`` asset: the cohort heat map and the retention curve as PNG files.

The pictures are drawn from the published Parquet set (what BI tools see), not the warehouse, so
this step takes no warehouse slot; and not from ``marts.duckdb``, which a BI client opened
read-write would lock (a run that has published must not fail on that). Each PNG is written to
``<data dir>/docs/``.

Dagster 1.13's UI shows a markdown metadata value inline only when it is shorter than 1,000
characters (``MetadataEntry.tsx``: ``expandSmallValues && mdStr.length < 1000``), else behind
*[Show Markdown]*. No PNG fits in 1,000 characters, so the pictures open with *[Show Markdown]*
(or from the files), while the retention curve is also given as a small table that shows inline.
"""

import base64
import contextlib
import hashlib
import io
import json
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import psutil

from assets.serving import PARQUET_DIR
from pipeline.config import PipelineConfig
from pipeline.sqltext import sql_path
from pipeline.warehouse import run

HEATMAP_FILE = "cohort_heatmap.png"
CURVE_FILE = "retention_curve.png"
DPI = 80
# Dagster's UI renders markdown metadata inline below this many characters.
INLINE_MARKDOWN_LIMIT = 1000
# What each PNG was last drawn from (a hash of the figures it shows and of the code drawing it):
# the same figures draw the same picture, so it is not drawn again (docs/performance.md).
STAMP_FILE = ".retention_charts.json"


def picture_stamp(code: Sequence[Path], *shown: object) -> str:
    """A hash of what a picture shows (a frame as CSV, anything else by ``repr``, which keeps
    every bit of a float) and of the ``code`` drawing it: the same stamp draws the same PNG."""
    digest = hashlib.sha256()
    for path in code:
        digest.update(path.read_bytes())
    text = [x.write_csv() if isinstance(x, pl.DataFrame) else repr(x) for x in shown]
    digest.update(json.dumps(text).encode())
    return digest.hexdigest()


def stamped_picture(path: Path, stamp: str, draw) -> tuple[bytes, bool]:
    """The PNG at ``path`` if it was drawn from ``stamp``'s data, else ``draw()`` written there;
    and whether it was drawn."""
    remove_orphan_pictures(path.parent)
    stamp_file = path.parent / STAMP_FILE
    try:
        drawn = json.loads(stamp_file.read_text(encoding="utf-8")).get(path.name)
    except (OSError, ValueError):
        drawn = None
    if drawn == stamp and path.exists():
        return path.read_bytes(), False
    data = draw()
    write_png(path, data)
    try:
        stamps = json.loads(stamp_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        stamps = {}
    stamps[path.name] = stamp
    stamp_file.write_text(json.dumps(stamps, sort_keys=True), encoding="utf-8")
    return data, True


def cohort_matrix(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """cohort_retention as one row per cohort (cohort_month, cohort_size, then k = 0, 1, …)."""
    cohorts = con.sql(
        "select strftime(cohort_month, '%Y-%m') as cohort, cohort_size, months_since_first, "
        "retention_rate from cohort_retention"
    ).pl()
    if cohorts.is_empty():
        return cohorts
    wide = cohorts.pivot(
        on="months_since_first",
        index=["cohort", "cohort_size"],
        values="retention_rate",
        sort_columns=True,
    ).sort("cohort")
    ks = sorted((c for c in wide.columns if c not in ("cohort", "cohort_size")), key=int)
    return wide.select("cohort", "cohort_size", *ks)


def retention_curve(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    """Share of a cohort buying again k months after its first purchase, over complete months.

    Weighted by cohort size; a cohort counts at k only when month cohort + k is complete.
    """
    return con.sql(
        "select c.months_since_first as k, "
        "sum(c.retained_customers) / sum(c.cohort_size) as retention_rate, "
        "count(*) as cohorts "
        "from cohort_retention c join retention_monthly m "
        "on m.month = c.cohort_month + to_months(c.months_since_first) "
        "where m.is_complete group by k order by k"
    ).pl()


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def draw_heatmap(matrix: pl.DataFrame) -> bytes:
    """The cohort heat map: cohorts down, months since first purchase across, colour = rate."""
    from matplotlib.figure import Figure

    ks = matrix.columns[2:]
    values = matrix.select(ks).to_numpy().astype(float)
    fig = Figure(figsize=(max(6.0, 0.35 * len(ks) + 2), max(3.0, 0.3 * matrix.height + 1.5)))
    ax = fig.add_subplot()
    image = ax.imshow(values, aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(len(ks)), labels=ks, fontsize=7)
    labels = [f"{c} (n={n})" for c, n in matrix.select("cohort", "cohort_size").iter_rows()]
    ax.set_yticks(range(matrix.height), labels=labels, fontsize=7)
    ax.set_xlabel("months since first purchase")
    ax.set_title("Cohort retention: share of each cohort buying in month k")
    fig.colorbar(image, ax=ax, label="retention rate")
    return _png(fig)


def curve_figure(curve: pl.DataFrame):  # noqa: ANN201 - a matplotlib Figure
    """The retention curve's figure: weighted share of cohorts buying again k months later."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ks = curve["k"].to_list()
    ax.plot(ks, curve["retention_rate"].to_list(), marker="o")
    # Whole months, at most 12 ticks: matplotlib's own put a first month's single point on an
    # axis of -0.06 … 0.06 months.
    last = max(ks, default=0)
    ax.set_xticks(range(0, last + 1, math.ceil((last + 1) / 12)))
    ax.set_xlim(-0.5, last + 0.5)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("months since first purchase")
    ax.set_ylabel("share of cohort buying")
    ax.set_title("Retention curve (all cohorts, complete months, weighted by size)")
    ax.grid(alpha=0.3)
    return fig


def draw_curve(curve: pl.DataFrame) -> bytes:
    """The retention curve as a PNG."""
    return _png(curve_figure(curve))


def remove_pictures(folder: Path, *names: str) -> str:
    """Delete the pictures ``names`` drawn by an earlier run from data that is gone (every order
    of a cohort cancelled): the run summary lists the files in docs/ as charts to look at.
    Says what it removed ("" if nothing), for the step's log."""
    removed = []
    for name in names:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
            removed.append(name)
    return f"; removed {' and '.join(removed)} of earlier data" if removed else ""


# write_png's temporary name: the picture's name and the writer's pid.
_PICTURE_TMP = re.compile(r"\..+\.png\.([0-9]+)\.tmp")


def remove_orphan_pictures(folder: Path) -> list[Path]:
    """Delete the temporary PNG files (:func:`write_png`) of writers that are gone: a run
    killed between writing one and renaming it left it in ``folder`` for good."""
    removed = []
    for tmp in folder.glob(".*.png.*.tmp"):
        found = _PICTURE_TMP.fullmatch(tmp.name)
        if found and not psutil.pid_exists(int(found.group(1))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def write_png(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so a viewer never sees half a PNG."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def image_markdown(title: str, data: bytes, path: Path) -> dg.MetadataValue:
    """Markdown showing the PNG inline, with the file's path under it."""
    encoded = base64.b64encode(data).decode("ascii")
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})\n\n`{path}`")


def curve_table(curve: pl.DataFrame) -> str:
    """The retention curve as a markdown table short enough to show inline in the UI.

    Every k up to 12, then every 6th; rates as percentages with one decimal.
    """
    lines = ["| months after first purchase | share buying again | cohorts |", "|---:|---:|---:|"]
    for k, rate, cohorts in curve.select("k", "retention_rate", "cohorts").iter_rows():
        if k <= 12 or k % 6 == 0:
            lines.append(f"| {k} | {rate:.1%} | {cohorts} |")
    text = "\n".join(lines)
    while len(text) >= INLINE_MARKDOWN_LIMIT:  # a very long history: drop the last rows
        lines.pop()
        text = "\n".join(lines)
    return text


@dg.asset(
    name="retention_charts",
    group_name="serving",
    kinds={"matplotlib", "png"},
    deps=[dg.AssetKey("serving_marts")],
    description=(
        "The cohort heat map and the retention curve, drawn from the published Parquet set; "
        "PNGs in the data directory's docs/ folder. In the metadata: the curve as a table "
        "(inline), and both pictures behind [Show Markdown] (Dagster shows only short markdown "
        "inline)."
    ),
)
def retention_charts(
    context: dg.AssetExecutionContext, config: PipelineConfig
) -> dg.MaterializeResult:
    """Draw the two charts from ``serving/parquet/``."""
    settings = config.settings()
    con = duckdb.connect()
    try:
        # Resolve the link once: both marts then come from the same publication.
        folder = (settings.serving_dir / PARQUET_DIR).resolve()
        for mart in ("cohort_retention", "retention_monthly"):
            part = sql_path(folder / f"{mart}.parquet")
            run(con, f"create view {mart} as select * from read_parquet({part})")
        matrix = cohort_matrix(con)
        curve = retention_curve(con)
    finally:
        con.close()
    metadata: dict[str, object] = {"cohorts": matrix.height, "curve_points": curve.height}
    if matrix.is_empty():
        removed = remove_pictures(settings.docs_dir, HEATMAP_FILE, CURVE_FILE)
        context.log.info(f"no cohorts yet: no charts drawn{removed}")
        return dg.MaterializeResult(metadata=metadata)
    heatmap_path = settings.docs_dir / HEATMAP_FILE
    # One stamp per picture, of what that picture shows: a delivery in the open month changes
    # the heat map's last cohorts but not the curve (complete months only), which is then kept.
    stamp = picture_stamp([Path(__file__)], HEATMAP_FILE, matrix)
    heatmap, drew = stamped_picture(heatmap_path, stamp, lambda: draw_heatmap(matrix))
    drawn = [HEATMAP_FILE] if drew else []
    metadata["cohort_heatmap"] = image_markdown("cohort heat map", heatmap, heatmap_path)
    metadata["cohort_heatmap_path"] = dg.MetadataValue.path(str(heatmap_path))
    if not curve.is_empty():
        curve_path = settings.docs_dir / CURVE_FILE
        stamp = picture_stamp([Path(__file__)], CURVE_FILE, curve)
        picture, drew = stamped_picture(curve_path, stamp, lambda: draw_curve(curve))
        drawn += [CURVE_FILE] if drew else []
        metadata["retention_curve_table"] = dg.MetadataValue.md(curve_table(curve))
        metadata["retention_curve"] = image_markdown("retention curve", picture, curve_path)
        metadata["retention_curve_path"] = dg.MetadataValue.path(str(curve_path))
        for k in (1, 3, 6, 12):
            hit = curve.filter(pl.col("k") == k)
            if not hit.is_empty():
                # A percentage (23.4, not 0.234…) that the UI can still plot across runs.
                pct = round(float(hit["retention_rate"][0]) * 100, 1)
                metadata[f"retention_month_{k}_pct"] = dg.MetadataValue.float(pct)
    else:
        removed = remove_pictures(settings.docs_dir, CURVE_FILE)
        if removed:
            context.log.info(f"no complete month after a first purchase: no curve{removed}")
    metadata["pictures_drawn"] = dg.MetadataValue.json(drawn)
    if drawn:
        shown = [HEATMAP_FILE] + ([] if curve.is_empty() else [CURVE_FILE])
        kept = [f for f in shown if f not in drawn]
        same = f"; {' and '.join(kept)} kept (the same figures)" if kept else ""
        context.log.info(f"drew {' and '.join(drawn)} in {settings.docs_dir}{same}")
    else:
        # Same data as the pictures in docs/: they are kept, and said so in the metadata.
        metadata["skipped"] = "same cohorts and curve as the pictures already drawn"
        # No "retention_charts: " before it: the run log names the step already.
        context.log.info(f"{metadata['skipped']}; not drawn again")
    return dg.MaterializeResult(metadata=metadata)


CHART_ASSETS = [retention_charts]
