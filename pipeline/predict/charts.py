"""The two pictures of the prediction asset: P(alive) by frequency and recency, and the holdout."""

from __future__ import annotations

import io

import numpy as np
import polars as pl

from pipeline.predict import bgnbd

DPI = 80


def _png(fig) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    return buffer.getvalue()


def p_alive_grid(
    params: dict[str, float], max_frequency: int, age_weeks: float, cells: int = 40
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(alive) of a customer aged ``age_weeks`` for frequency 0…max and recency 0…age."""
    frequency = np.arange(max_frequency + 1)
    recency = np.linspace(0, age_weeks, cells)
    x, t_x = np.meshgrid(frequency, recency, indexing="ij")
    return frequency, recency, bgnbd.p_alive(params, x, t_x, np.full_like(t_x, age_weeks))


def draw_p_alive(params: dict[str, float], max_frequency: int, age_weeks: float) -> bytes:
    """Heat map: frequency down, recency across, colour = P(alive) at the given age."""
    from matplotlib.figure import Figure

    frequency, recency, grid = p_alive_grid(params, max_frequency, age_weeks)
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    image = ax.imshow(
        grid,
        aspect="auto",
        origin="lower",
        cmap="RdYlGn",
        vmin=0,
        vmax=1,
        extent=(0, age_weeks, -0.5, max_frequency + 0.5),
    )
    ax.set_xlabel("recency (weeks from first to last purchase)")
    ax.set_ylabel("frequency (repeat purchase days)")
    ax.set_title(f"P(alive) for a customer first buying {age_weeks:.0f} weeks before as_of")
    fig.colorbar(image, ax=ax, label="P(alive)")
    return _png(fig)


def draw_holdout(table: pl.DataFrame, title: str) -> bytes:
    """Bars: mean actual against mean predicted purchase days per calibration frequency."""
    from matplotlib.figure import Figure

    labels = table["label"].to_list()
    at = np.arange(len(labels))
    fig = Figure(figsize=(7, 4))
    ax = fig.add_subplot()
    ax.bar(at - 0.2, table["actual_mean"].to_list(), width=0.4, label="actual")
    ax.bar(at + 0.2, table["predicted_mean"].to_list(), width=0.4, label="BG/NBD")
    ax.set_xticks(at, labels=labels)
    ax.set_xlabel("repeat purchase days in the calibration period")
    ax.set_ylabel("purchase days per customer in the holdout")
    ax.set_title(title)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return _png(fig)
