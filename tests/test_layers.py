"""The code's layers run one way (docs/architecture.md, "Layers"): every import of a module of
``pipeline/`` or ``assets/``, those inside functions included, goes to its own layer or a lower
one; and the benchmark's scripts (bench/), which import each other by name, import in no circle.

The order is written once, in the doc; this test reads it from there. Files are read with
``ast``, nothing is imported, so the module takes well under a second.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from helpers import REPO_ROOT

DOC = REPO_ROOT / "docs" / "architecture.md"
PACKAGES = ("pipeline", "assets")


def layer_entries(text: str) -> list[list[str]]:
    """The doc's layers, lowest first: each the backticked paths (``pipeline/config.py``, a
    folder ``pipeline/ingest/``) of one numbered item between the ``layers`` markers."""
    block = re.search(r"<!-- layers:start -->\n(.*?)<!-- layers:end -->", text, flags=re.S)
    assert block, f"{DOC.name} has no layers list between <!-- layers:start/end --> markers"
    items = re.split(r"^\d+\. ", block.group(1), flags=re.M)[1:]
    spans = [re.findall(r"`((?:pipeline|assets)/[^`]*)`", item) for item in items]
    return [[s for s in layer if s.endswith((".py", "/"))] for layer in spans]


def module_name(path: str) -> str:
    """``pipeline/ingest/`` and ``pipeline/ingest/__init__.py`` → ``pipeline.ingest``."""
    path = path.removesuffix("/").removesuffix(".py").removesuffix("/__init__")
    return path.replace("/", ".")


LAYERS = layer_entries(DOC.read_text(encoding="utf-8"))
# Dotted name of each entry → (its layer's rank, the entry as the doc writes it).
ENTRIES = {module_name(e): (rank, e) for rank, layer in enumerate(LAYERS) for e in layer}
MODULES = {
    module_name(path.relative_to(REPO_ROOT).as_posix()): path
    for package in PACKAGES
    for path in sorted((REPO_ROOT / package).rglob("*.py"))
}


def entry_of(module: str) -> str | None:
    """The layer entry a dotted module name belongs to: itself or its nearest listed package."""
    parts = module.split(".")
    for n in range(len(parts), 0, -1):
        if ".".join(parts[:n]) in ENTRIES:
            return ".".join(parts[:n])
    return None


def imported(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, dotted module) of every import in the file at ``path``, at any depth: a name
    imported from a package that is itself a module (``from pipeline import pii``) counts as
    that module."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the importing module's package up
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.append((node.lineno, sub if sub in MODULES else base))
    return list(dict.fromkeys(found))  # one per line and module, however many names


def test_the_doc_lists_the_layers() -> None:
    # The thirteen layers of the doc, shared basics first and the command line's entry last.
    assert len(LAYERS) == 13
    assert "pipeline/config.py" in LAYERS[0] and LAYERS[-1] == ["pipeline/__main__.py"]
    missing = [e for layer in LAYERS for e in layer if not (REPO_ROOT / e).exists()]
    assert not missing, f"{DOC.name} lists layers that are not in the checkout: {missing}"


def test_every_module_has_a_layer() -> None:
    homeless = [str(path.relative_to(REPO_ROOT)) for m, path in MODULES.items() if not entry_of(m)]
    assert not homeless, (
        f"modules in no layer of {DOC.name} (add their file or package to the list): {homeless}"
    )


def upward_imports() -> dict[tuple[str, str], list[str]]:
    """Every import that goes to a later layer than its file's, by (file, imported entry as
    the doc writes it): the lines saying ``file:line imports module (layer a → layer b)``."""
    found: dict[tuple[str, str], list[str]] = {}
    for module, path in MODULES.items():
        own = entry_of(module)
        if own is None:
            continue
        for line, target in imported(path, module):
            to = entry_of(target)
            if to is None or ENTRIES[to][0] <= ENTRIES[own][0]:
                continue
            file = path.relative_to(REPO_ROOT).as_posix()
            found.setdefault((file, ENTRIES[to][1]), []).append(
                f"{file}:{line} imports {target} (layer {ENTRIES[own][0] + 1} "
                f"{ENTRIES[own][1]} → layer {ENTRIES[to][0] + 1} {ENTRIES[to][1]})"
            )
    return found


def test_imports_go_to_the_same_or_a_lower_layer() -> None:
    wrong = [line for lines in upward_imports().values() for line in lines]
    assert not wrong, "imports against the layers of docs/architecture.md:\n" + "\n".join(wrong)


def test_the_benchmark_scripts_import_in_no_circle() -> None:
    scripts = {path.stem: path for path in (REPO_ROOT / "bench").glob("*.py")}
    uses = {
        name: {
            target
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Import | ast.ImportFrom)
            for target in (
                [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module]
            )
            if target in scripts and target != name
        }
        for name, path in scripts.items()
    }
    # Take away, again and again, the scripts that import no script left or that no script
    # left imports; the scripts of a circle stay.
    left = dict(uses)
    while ready := [
        name
        for name, used in left.items()
        if not used & left.keys() or not any(name in u for u in left.values())
    ]:
        for name in ready:
            del left[name]
    circle = {name: sorted(used & left.keys()) for name, used in sorted(left.items())}
    assert not circle, f"bench/ scripts that import each other round a circle: {circle}"
