"""The asset graph as a Mermaid diagram for the README (redrawn by ``python -m pipeline graph``)."""

from __future__ import annotations

from pipeline.definitions import build_definitions

GROUP_ORDER = ("raw", "staging", "intermediate", "marts", "serving")


def asset_graph_mermaid() -> str:
    """Every asset, grouped by layer, with an arrow for every dependency but the settings table."""
    graph = build_definitions().resolve_asset_graph()
    nodes = sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())
    groups: dict[str, list[str]] = {}
    for key in nodes:
        groups.setdefault(graph.get(key).group_name or "default", []).append(key.to_user_string())
    lines = ["flowchart LR"]
    for group in sorted(groups, key=lambda g: (GROUP_ORDER + (g,)).index(g)):
        lines.append(f"  subgraph {group}")
        lines.extend(f"    {name}" for name in groups[group])
        lines.append("  end")
    for key in nodes:
        for parent in sorted(graph.get(key).parent_keys, key=lambda k: k.to_user_string()):
            if parent.to_user_string() == "pipeline_settings":
                continue  # read by most models; its arrows would hide the rest
            lines.append(f"  {parent.to_user_string()} --> {key.to_user_string()}")
    return "\n".join(lines) + "\n"


START, END = "<!-- asset-graph:start -->", "<!-- asset-graph:end -->"


def readme_with_graph(readme: str) -> str:
    """The README text with the diagram between its markers replaced by the current graph."""
    head, _, rest = readme.partition(START)
    _, _, tail = rest.partition(END)
    block = f"{START}\n```mermaid\n{asset_graph_mermaid()}```\n{END}"
    return f"{head}{block}{tail}"
