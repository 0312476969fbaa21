"""The models: every ``sql/<layer>/<name>.sql`` is one ``select`` and one table.

Each model's ``.yml`` beside it gives its description, column descriptions and kind
(``incremental:``, kinds.py); parents are read from the SQL (rewrite.py). Problems (a cycle, an
unknown table, a file that is not one ``select``, a bad ``.yml``) fail at load time naming the
file.
"""

from __future__ import annotations

import graphlib
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from pipeline.engine.catalog import PYTHON_TABLES
from pipeline.engine.kinds import Append, IncrementalKind, ModelKind, Table, read_kind
from pipeline.engine.reads import Read, filtered_reads, read_columns
from pipeline.engine.rewrite import ModelError, parents_of, parse_select

SQL_DIR = Path(__file__).resolve().parents[2] / "sql"
LAYERS = ("staging", "intermediate", "marts")


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


def _read_yml(path: Path) -> tuple[str, dict[str, str], ModelKind]:
    """A model's description, column descriptions and kind from its .yml."""
    yml = path.with_suffix(".yml")
    if not yml.exists():
        return "", {}, Table()
    try:
        doc = yaml.safe_load(yml.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ModelError(f"{yml}: not valid YAML: {err}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{yml}: expected 'description:' and 'columns:' keys")
    columns = doc.get("columns") or {}
    if not isinstance(columns, dict):
        raise ModelError(f"{yml}: 'columns' must map each column name to a one-line description")
    incremental = doc.get("incremental")
    return (
        str(doc.get("description") or "").strip(),
        {str(k): str(v).strip() for k, v in columns.items()},
        Table() if incremental is None else read_kind(yml, incremental),
    )


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
            description, columns, kind = _read_yml(path)
            tree = parse_select(sql, path)  # parsed once: parents and reads
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
            models[name] = model
    stray = [p for p in sql_dir.rglob("*.sql") if p.parent.name not in LAYERS]
    if stray:
        raise ModelError(f"{stray[0]}: models live in sql/{{{','.join(LAYERS)}}}/")
    for model in models.values():
        for parent in model.parents:
            if parent not in models and parent not in known:
                raise ModelError(
                    f"{model.path}: reads unknown table {parent!r} "
                    "(not a model in sql/ nor a landed or Python-built table)"
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
