"""The models: every ``sql/<layer>/<name>.sql`` is one ``select`` and one table.

Each model's ``.yml`` beside it gives its description, column descriptions and kind
(``incremental:``, kinds.py); parents are read from the SQL (rewrite.py). Problems (a cycle, an
unknown table, a file that is not one ``select``, a bad ``.yml``: an unknown key, ``columns:``
unlike the select's) fail at load time naming the file, the line where known, and the fix.
"""

from __future__ import annotations

import difflib
import graphlib
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlglot import exp

from pipeline.engine.catalog import PYTHON_TABLES
from pipeline.engine.kinds import Append, IncrementalKind, ModelKind, Table, read_kind
from pipeline.engine.reads import Read, filtered_reads, read_columns
from pipeline.engine.rewrite import ModelError, parents_of, parse_select

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
LAYERS = ("staging", "intermediate", "marts")
# The keys a model's .yml may hold; any other is a misspelling that would be ignored silently.
YML_KEYS = ("description", "columns", "incremental")


@dataclass(frozen=True)
class Model:
    """One SQL model: its table, layer (= schema), SQL text, parents, descriptions and kind."""

    name: str
    layer: str
    path: Path
    sql: str
    parents: tuple[str, ...]
    description: str = ""
    columns: dict[str, str] = field(default_factory=dict)
    kind: ModelKind = field(default_factory=Table)
    # parent -> the row-wise selects through which the model reads it (reads.py), if only so
    reads: dict[str, tuple[Read, ...]] = field(default_factory=dict)
    # parent -> the columns of it the model uses, when it reads it only through such selects
    read_columns: dict[str, frozenset[str]] = field(default_factory=dict)

    @property
    def qualified_name(self) -> str:
        """``layer.name``: the table in the warehouse."""
        return f"{self.layer}.{self.name}"

    @property
    def incremental(self) -> bool:
        """Whether the model is kept up to date rather than rebuilt whole every run."""
        return isinstance(self.kind, IncrementalKind)

    @property
    def unique_key(self) -> str | None:
        """The key of an ``append`` model (first copy per key), else None."""
        return self.kind.unique_key if isinstance(self.kind, Append) else None

    @property
    def sql_sha256(self) -> str:
        """The sha256 of the SQL and of the kind's settings: the model's code version."""
        signature = self.kind.signature()
        text = self.sql + ("\n" + signature if signature else "")
        return hashlib.sha256(text.encode()).hexdigest()


def _read_yml(path: Path) -> tuple[str, dict[str, str], ModelKind, dict[str, int]]:
    """A model's description, column descriptions and kind from its .yml, and the line of each
    column's entry (for messages). A key other than :data:`YML_KEYS` raises ModelError: a
    misspelt ``colums:`` would otherwise leave every column undescribed without a word."""
    yml = path.with_suffix(".yml")
    if not yml.exists():
        return "", {}, Table(), {}
    text = yml.read_text(encoding="utf-8")
    try:
        doc = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ModelError(f"{yml}: not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{yml}: expected 'description:' and 'columns:' keys")
    lines = key_lines(text)
    for key in doc:
        if key not in YML_KEYS:
            raise ModelError(
                f"{yml}, line {lines.get(('', str(key)), '?')}: unknown key {key!r}"
                f"{did_you_mean(str(key), YML_KEYS)}; a model's .yml holds "
                + ", ".join(f"'{k}:'" for k in YML_KEYS)
            )
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise ModelError(f"{yml}: 'columns' must map each column name to a one-line description")
    incremental = doc.get("incremental")
    return (
        str(doc.get("description") or "").strip(),
        {str(k): str(v).strip() for k, v in columns.items()},
        Table() if incremental is None else read_kind(yml, incremental),
        {name: line for (parent, name), line in lines.items() if parent == "columns"},
    )


def key_lines(text: str) -> dict[tuple[str, str], int]:
    """``(parent key, key) -> line`` (1-based) of the keys of a YAML mapping and of the
    mappings directly under it (the top level's parent is ``""``)."""
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return {}
    found: dict[tuple[str, str], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return found
    for key, value in root.value:
        found[("", str(key.value))] = key.start_mark.line + 1
        if isinstance(value, yaml.MappingNode):
            for sub, _ in value.value:
                found[(str(key.value), str(sub.value))] = sub.start_mark.line + 1
    return found


def did_you_mean(name: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the candidate closest to a misspelt ``name``, else ``""``."""
    close = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _check_columns(model: Model, tree: exp.Query, lines: dict[str, int]) -> None:
    """A .yml that lists ``columns:`` lists the select's output columns, in its order: each is a
    public column's one description (serving's comments, docs/metrics.md), and a misspelt name
    would leave the real column undescribed. A select with ``*`` names no columns to compare."""
    if not model.columns or any(isinstance(s, exp.Star) or s.is_star for s in tree.selects):
        return
    selected, described = list(tree.named_selects), list(model.columns)
    if selected == described:
        return
    yml = model.path.with_suffix(".yml")
    problems = [
        f"'{name}' (line {lines.get(name, '?')}) is not a column of the select"
        f"{did_you_mean(name, set(selected) - set(described))}"
        for name in described
        if name not in selected
    ]
    problems += [f"'{name}' has no description" for name in selected if name not in described]
    if not problems:
        problems = ["the columns are listed in another order than the select's"]
    raise ModelError(
        f"{yml}: 'columns:' does not match the select of {model.path.name}: "
        + "; ".join(problems)
        + f"; list each column the select gives, in its order: {', '.join(selected)}"
    )


def _line_of(path: Path, name: str) -> str:
    """``, line N``: the first line of ``path`` that names ``name`` outside a comment (or ``""``),
    so that a message points at the misspelt table, not just the file."""
    pattern = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)", re.IGNORECASE)
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if pattern.search(line.split("--", 1)[0]):
            return f", line {number}"
    return ""


def discover_models(
    sql_dir: Path = SQL_DIR, known_tables: Iterable[str] | None = None
) -> list[Model]:
    """All models under ``sql_dir`` in dependency order; raises ModelError on any problem.

    Parsing every model's SQL takes about 0.2 s and a run's definitions, checks and serving each
    ask for the models: the result is kept for as long as the ``.sql`` and ``.yml`` files under
    ``sql_dir`` are the same (names and contents, read again on every call: a millisecond), so
    an edited model is parsed again.
    """
    known = frozenset(PYTHON_TABLES if known_tables is None else known_tables)
    key = (str(Path(sql_dir).resolve()), known, _files_signature(Path(sql_dir)))
    found = _DISCOVERED.get(key)
    if found is None:
        found = tuple(_discover(Path(sql_dir), known))
        _DISCOVERED.clear()  # one entry: a changed file makes the old one useless
        _DISCOVERED[key] = found
    return list(found)


_DISCOVERED: dict[tuple, tuple[Model, ...]] = {}


def _files_signature(sql_dir: Path) -> tuple:
    """Name and content of every model and .yml file under ``sql_dir``."""
    files = sorted(p for pattern in ("*.sql", "*.yml") for p in sql_dir.rglob(pattern))
    return tuple((str(p), p.read_bytes()) for p in files)


def _discover(sql_dir: Path, known: frozenset[str]) -> list[Model]:
    """discover_models without the cache."""
    models: dict[str, Model] = {}
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            name = path.stem.lower()
            if name in models or name in known:
                raise ModelError(f"{path}: table name {name!r} is already used by another model")
            sql = path.read_text(encoding="utf-8").strip().rstrip(";").strip()
            description, columns, kind, column_lines = _read_yml(path)
            tree = parse_select(sql, path)  # parsed once: parents, reads and columns
            model = Model(
                name=name,
                layer=layer,
                path=path,
                sql=sql,
                parents=parents_of(tree),
                description=description,
                columns=columns,
                kind=kind,
                reads=filtered_reads(tree),
                read_columns=read_columns(tree),
            )
            kind.check(model)
            _check_columns(model, tree, column_lines)
            models[name] = model
    stray = [p for p in sql_dir.rglob("*.sql") if p.parent.name not in LAYERS]
    if stray:
        raise ModelError(f"{stray[0]}: models live in sql/{{{','.join(LAYERS)}}}/")
    for model in models.values():
        for parent in model.parents:
            if parent not in models and parent not in known:
                raise ModelError(
                    f"{model.path}{_line_of(model.path, parent)}: reads unknown table "
                    f"{parent!r}{did_you_mean(parent, [*models, *known])}: it is no model in "
                    "sql/ nor a landed or Python-built table (pipeline/engine/catalog.py); "
                    "fix the name, or add the model sql/<layer>/"
                    f"{parent}.sql"
                )
    sorter = graphlib.TopologicalSorter(
        {m.name: [p for p in m.parents if p in models] for m in models.values()}
    )
    try:
        order = list(sorter.static_order())
    except graphlib.CycleError as err:
        cycle = " -> ".join(err.args[1])
        first = models[err.args[1][0]].path
        raise ModelError(f"{first}: dependency cycle {cycle}") from None
    return [models[name] for name in order]


def python_marts() -> list[str]:
    """The marts built in Python (pipeline.engine.catalog), in their build order."""
    return [name for name, (schema, _) in PYTHON_TABLES.items() if schema == "marts"]


def sql_marts(sql_dir: Path = SQL_DIR) -> list[str]:
    """The marts built from SQL (``sql/marts/``), in dependency order."""
    return [m.name for m in discover_models(sql_dir) if m.layer == "marts"]


def mart_names(sql_dir: Path = SQL_DIR) -> list[str]:
    """The public mart tables, in build order: the SQL marts, then the Python-built ones. The
    one list of marts: serving publishes these, freshness and the docs cover these."""
    return sql_marts(sql_dir) + python_marts()
