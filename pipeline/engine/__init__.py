"""The dbt-style model engine: discovery (discovery.py, catalog.py, rewrite.py), model kinds
(kinds.py), the build log (build_log.py) and building (build.py, result.py).

Import from here; the modules are the rooms, this is the front door.
"""

from pipeline.engine.build import (
    build,
    build_models,
    materialize,
    materialize_model,
    preview_markdown,
)
from pipeline.engine.build_log import CHANGE, DELTA, BuildLog, ParentDelta
from pipeline.engine.catalog import PYTHON_TABLES
from pipeline.engine.discovery import (
    LAYERS,
    SQL_DIR,
    Model,
    discover_models,
    mart_names,
    python_marts,
    sql_marts,
)
from pipeline.engine.kinds import Append, DeleteInsert, Diff, ModelKind, Table
from pipeline.engine.result import BuildMode, BuildResult
from pipeline.engine.rewrite import ModelError, read_parents

__all__ = [
    "CHANGE",
    "DELTA",
    "LAYERS",
    "PYTHON_TABLES",
    "SQL_DIR",
    "Append",
    "BuildLog",
    "BuildMode",
    "BuildResult",
    "DeleteInsert",
    "Diff",
    "Model",
    "ModelError",
    "ModelKind",
    "ParentDelta",
    "Table",
    "build",
    "build_models",
    "discover_models",
    "mart_names",
    "materialize",
    "materialize_model",
    "preview_markdown",
    "python_marts",
    "read_parents",
    "sql_marts",
]
