"""The prediction step's pictures are drawn again only when what they show changed."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl

from assets.charts import picture_stamp, stamped_picture
from assets.predictions import PICTURE_CODE
from pipeline.predict.charts import draw_holdout, draw_p_alive

PARAMS = {"r": 0.47, "alpha": 5.6, "a": 1.2, "b": 13.1}


def draw(path: Path, params: dict[str, float]) -> tuple[bytes, bool]:
    """The P(alive) picture as the step draws it: stamped by parameters, frequency and age."""
    stamp = picture_stamp(PICTURE_CODE, sorted(params.items()), 6, 52.0)
    return stamped_picture(path, stamp, lambda: draw_p_alive(params, 6, 52.0))


def test_same_figures_reuse_the_png_and_any_change_redraws(tmp_path: Path) -> None:
    path = tmp_path / "p_alive_heatmap.png"
    first, drew = draw(path, PARAMS)
    assert drew and first.startswith(b"\x89PNG") and path.read_bytes() == first
    again, drew = draw(path, dict(PARAMS))
    assert not drew and again == first  # read back from the file, matplotlib not called
    # The smallest change a float can make (one ulp of b) is a new stamp: drawn again.
    moved = {**PARAMS, "b": math.nextafter(PARAMS["b"], 20.0)}
    _, drew = draw(path, moved)
    assert drew


def test_a_deleted_png_is_drawn_again(tmp_path: Path) -> None:
    path = tmp_path / "prediction_holdout.png"
    table = pl.DataFrame(
        {"label": ["0", "1"], "actual_mean": [0.2, 0.9], "predicted_mean": [0.25, 0.8]}
    )
    stamp = picture_stamp(PICTURE_CODE, table, "holdout")
    _, drew = stamped_picture(path, stamp, lambda: draw_holdout(table, "holdout"))
    assert drew
    path.unlink()
    _, drew = stamped_picture(path, stamp, lambda: draw_holdout(table, "holdout"))
    assert drew and path.exists()
