"""One Dagster asset per SQL model, built from the files in ``sql/``.

The asset key is the table name, the group is the layer, and the edges come from the table names
the SQL reads (``pipeline.sql_engine``). Each asset shows its SQL, columns and a preview.
"""


from pathlib import Path

import dagster as dg

from pipeline.catalog import PYTHON_TABLES
from pipeline.sql_engine import SQL_DIR, Model, discover_models, materialize_model, preview_markdown
from pipeline.warehouse import Warehouse, rows

REPO_ROOT = SQL_DIR.parent


def _column_schema(model: Model) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=c, description=d) for c, d in model.columns.items()]
    )


def model_asset(model: Model) -> dg.AssetsDefinition:
    """The Dagster asset that (re)builds one SQL model's table."""
    deps = []
    for parent in model.parents:
        if parent in PYTHON_TABLES:
            producer = PYTHON_TABLES[parent][1]
            if producer:
                deps.append(dg.AssetKey(producer))
        else:
            deps.append(dg.AssetKey(parent))
    try:
        rel_path = str(model.path.relative_to(REPO_ROOT))
    except ValueError:
        rel_path = str(model.path)

    @dg.asset(
        name=model.name,
        group_name=model.layer,
        kinds={"sql", "duckdb"},
        deps=deps,
        pool="warehouse",
        description=model.description or f"SQL model {rel_path}",
        metadata={
            "sql": dg.MetadataValue.md(f"```sql\n{model.sql}\n```"),
            "path": dg.MetadataValue.path(rel_path),
            "dagster/column_schema": _column_schema(model),
        },
    )
    def _build(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            count = materialize_model(con, model)
            columns = rows(
                con,
                "select column_name, data_type from information_schema.columns "
                "where table_schema = ? and table_name = ? order by ordinal_position",
                [model.layer, model.name],
            )
            preview = preview_markdown(con, model.qualified_name)
        context.log.info(f"{model.qualified_name}: {count} rows")
        schema = dg.TableSchema(
            columns=[
                dg.TableColumn(name=c, type=t, description=model.columns.get(c))
                for c, t in columns
            ]
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": count,
                "dagster/column_schema": schema,
                "preview": dg.MetadataValue.md(preview),
            }
        )

    return _build


def build_model_assets(sql_dir: Path = SQL_DIR) -> list[dg.AssetsDefinition]:
    """Assets for every model under ``sql_dir``; raises ModelError naming a bad file."""
    return [model_asset(m) for m in discover_models(sql_dir)]
