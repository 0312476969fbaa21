"""The README's asset-graph picture is the current graph (redraw: `python -m pipeline graph`)."""

from helpers import REPO_ROOT

from pipeline.cli.graph import END, START, readme_with_graph


def test_readme_graph_is_current():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    assert START in readme and END in readme
    assert readme_with_graph(readme) == readme, "run `python -m pipeline graph` to redraw it"


def test_graph_shows_layers_and_edges():
    readme = readme_with_graph(f"x\n{START}\n{END}\ny")
    assert "subgraph staging" in readme and "subgraph marts" in readme
    assert "raw_orders --> stg_orders" in readme
    assert "retention_monthly --> serving_marts" in readme
