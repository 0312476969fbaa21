"""What a published mart looks like to a BI tool: types, safe text, definitions and the run.

``assets/serving.py`` decides *when* and *where* files are written; this module decides *what*
goes into them:

- **Types every listed tool reads.** Sums of ``decimal(18,4)`` amounts are ``DECIMAL(38,4)`` in
  DuckDB, which Power BI's fixed decimal (19 digits, 4 decimals) cannot hold. Serving copies
  use ``DECIMAL(18,s)`` and ``BIGINT`` instead, after a check that no value overflows.
- **No live spreadsheet formulas in the Parquet export.** A text value starting with
  ``= + - @``, tab or carriage return gets a leading ``'`` (OWASP's CSV-injection advice), unless
  it is a plain number such as ``-5``. Only text columns, only the exported copy.
- **Definitions.** Table and column descriptions from each model's ``.yml`` become ``COMMENT ON``
  in ``marts.duckdb`` and key-value metadata in each Parquet file.
- **The publication.** A ``publication`` table (and ``publication.parquet``): as_of, published_at,
  code version, settings and row count per mart.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.metadata
import json
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

import duckdb
import yaml

from pipeline.engine import SQL_DIR
from pipeline.predict.docs import MartDoc, mart_docs
from pipeline.sqltext import identifier, literal
from pipeline.warehouse import rows, run, table_exists
from pipeline.words import agreeing, counted

PUBLICATION_TABLE = "publication"
PUBLICATION_DESCRIPTION = (
    "One row per published mart: which run of the pipeline produced the serving files, for "
    "which as_of date, when, with which code and settings, and how many rows each mart has."
)
PUBLICATION_COLUMNS = {
    "publication_id": "Identifies this publication; the same value is in every Parquet file's "
    "metadata, so a reader can tell that files belong together.",
    "mart": "The mart (table) this row describes.",
    "row_count": "Rows published in the mart.",
    "description": "What the mart holds (from its model's documentation).",
    "as_of": "The date the marts describe: nothing after this day is counted.",
    "published_at": "When the serving files were written (UTC).",
    "code_version": "Version of the pipeline that built the marts (package version + git commit).",
    "settings": "The run settings the marts were built with (JSON: as_of, as_of_end, "
    "churn_days, sla_hours, timezone; brand_handles, the brand's own accounts whose posts the "
    "social marts leave out, when PIPELINE_BRAND_HANDLES names any).",
}

# Columns of meta.pipeline_settings never published: the HMAC pads of PIPELINE_EMAIL_HASH_KEY
# are the key itself (key XOR 0x36 / 0x5c), and the serving file goes to people who must not be
# able to re-identify customers from their addresses (docs/operations.md, "Personal data").
UNPUBLISHED_SETTINGS = frozenset({"email_hash_inner", "email_hash_outer"})

# Power BI's fixed decimal number holds 19 digits with 4 after the point; DECIMAL(18,s) is the
# widest DuckDB decimal stored as a 64-bit integer, which every listed driver maps to a number.
SERVING_DECIMAL_WIDTH = 18
# OWASP "CSV injection": cells starting with these are formulas in Excel, LibreOffice, Sheets.
FORMULA_START = r"^[=+\-@\t\r]"
PLAIN_NUMBER = r"[+-]?([0-9]+([.,][0-9]*)?|[.,][0-9]+)"
_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")


class ServingTypeError(ValueError):
    """A value does not fit the type serving publishes; the message names mart, column, value."""


@dataclass(frozen=True)
class Column:
    """One column of a mart, with the expression that gives its serving copy."""

    name: str
    warehouse_type: str
    serving_type: str | None  # None: published as it is

    def select(self, spreadsheet_safe: bool) -> str:
        """The column's expression in the serving ``select``."""
        col = identifier(self.name)
        expr = col if self.serving_type is None else f"cast({col} as {self.serving_type})"
        if spreadsheet_safe and self.warehouse_type.upper() == "VARCHAR":
            expr = (
                f"case when regexp_matches({col}, {literal(FORMULA_START)}) and not "
                f"regexp_full_match({col}, {literal(PLAIN_NUMBER)}) then '''' || {col} "
                f"else {col} end"
            )
        return f"{expr} as {col}"


def serving_type(data_type: str) -> str | None:
    """The type a warehouse column is published as, or None to keep it."""
    found = _DECIMAL.fullmatch(data_type.upper())
    if found and int(found.group(1)) > SERVING_DECIMAL_WIDTH:
        return f"DECIMAL({SERVING_DECIMAL_WIDTH},{found.group(2)})"
    if data_type.upper() in ("HUGEINT", "UHUGEINT"):
        return "BIGINT"
    return None


def mart_columns(
    con: duckdb.DuckDBPyConnection, schema: str, marts: list[str]
) -> dict[str, list[Column]]:
    """The columns of each ``schema.mart`` in order, each with its serving type: one catalogue
    query for all (each query of ``information_schema`` costs 5–10 ms on the warehouse)."""
    found: dict[str, list[Column]] = {}
    for table, name, typ in rows(
        con,
        "select table_name, column_name, data_type from information_schema.columns "
        "where table_schema = ? order by table_name, ordinal_position",
        [schema],
    ):
        found.setdefault(table, []).append(Column(name, typ, serving_type(typ)))
    for mart in marts:
        if mart not in found:
            raise duckdb.CatalogException(
                f"mart {mart!r}: the warehouse has no table {schema}.{mart}"
            )
    return {m: found[m] for m in marts}


def check_serving_types(con: duckdb.DuckDBPyConnection, mart: str, columns: list[Column]) -> None:
    """Raise ServingTypeError if a value of ``marts.mart`` does not fit its serving type."""
    narrowed = [c for c in columns if c.serving_type is not None]
    if not narrowed:
        return
    # try_cast gives NULL where the cast would overflow: one scan counts them all.
    checks = ", ".join(
        f"count_if({identifier(c.name)} is not null and "
        f"try_cast({identifier(c.name)} as {c.serving_type}) is null), "
        f"max(abs({identifier(c.name)}))"
        for c in narrowed
    )
    found = rows(con, f"select {checks} from marts.{identifier(mart)}")[0]
    for i, column in enumerate(narrowed):
        overflowing, largest = found[2 * i], found[2 * i + 1]
        if overflowing:
            raise ServingTypeError(
                f"mart {mart!r} column {column.name!r}: {counted(overflowing, 'value')} "
                f"{agreeing(overflowing, 'does', 'do')} not fit "
                f"{column.serving_type} (largest absolute value {largest}); serving publishes "
                f"{column.serving_type} so that Power BI's fixed decimal (19 digits, 4 decimals) "
                "and the other BI drivers read it. Nothing was published."
            )


def serving_select(mart: str, columns: list[Column], spreadsheet_safe: bool) -> str:
    """The ``select`` over ``marts.mart`` that gives its serving copy."""
    exprs = ", ".join(c.select(spreadsheet_safe) for c in columns)
    return f"select {exprs} from marts.{identifier(mart)}"


# libyaml's loader where PyYAML has it: the same documents, parsed in C.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def model_docs() -> dict[str, MartDoc]:
    """Every mart's description and column descriptions by table name: the SQL marts', and the
    Python-built prediction marts' (read once per process).

    Read from the ``.yml`` files alone, as ``pipeline.engine.discovery`` reads them (text
    stripped): discovering the models would also parse every model's SQL, about a second of
    the serving step, for nothing a publication uses. The definitions already refused a bad
    ``.yml`` when the run started.
    """
    docs = {}
    for yml in sorted((SQL_DIR / "marts").glob("*.yml")):
        doc = yaml.load(yml.read_text(encoding="utf-8"), Loader=_YAML_LOADER) or {}
        columns = doc.get("columns") or {}
        docs[yml.stem.lower()] = MartDoc(
            yml.stem.lower(),
            str(doc.get("description") or "").strip(),
            {str(k): str(v).strip() for k, v in columns.items()},
        )
    return docs | {d.name: d for d in mart_docs()}


def comment_statements(
    database: str, table: str, description: str, column_docs: dict[str, str], columns: list[str]
) -> list[str]:
    """``COMMENT ON`` statements for ``database.main.table`` and its documented ``columns``."""
    target = f"{database}.main.{identifier(table)}"
    out = [f"comment on table {target} is {literal(description)}"] if description else []
    out += [
        f"comment on column {target}.{identifier(c)} is {literal(column_docs[c])}"
        for c in columns
        if column_docs.get(c)
    ]
    return out


def parquet_metadata(
    info: PublicationInfo,
    mart: str,
    description: str,
    column_docs: dict[str, str],
    columns: list[str],
) -> str:
    """The ``KV_METADATA {...}`` option of a Parquet copy: publication, table and column docs.

    Parquet has no column comments that every reader shows; the key-value metadata of the file
    schema is what pyarrow, polars, Spark and DuckDB (``parquet_kv_metadata``) read back.
    """
    pairs = {
        "publication_id": info.publication_id,
        "mart": mart,
        "as_of": str(info.as_of or ""),
        "published_at": info.published_at_text,
        "code_version": info.code_version,
        "description": description,
    }
    pairs.update({f"column:{c}": column_docs[c] for c in columns if column_docs.get(c)})
    return "{" + ", ".join(f"{identifier(k)}: {literal(v)}" for k, v in pairs.items()) + "}"


def code_version() -> str:
    """The package version, plus the git commit when the code runs from a checkout."""
    try:
        version = importlib.metadata.version("retention-pipeline")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown"
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=Path(__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return version  # no git on this machine
    commit = done.stdout.strip()
    return f"{version}+{commit}" if done.returncode == 0 and commit else version


@dataclass(frozen=True)
class PublicationInfo:
    """One publication: its id, time, code version and the settings the marts were built with."""

    publication_id: str
    published_at: dt.datetime  # UTC, naive
    code_version: str
    as_of: dt.date | None
    settings: dict[str, object]

    @property
    def published_at_text(self) -> str:
        return self.published_at.isoformat(timespec="seconds") + "Z"


def publication_info(con: duckdb.DuckDBPyConnection, publication_id: str) -> PublicationInfo:
    """This publication's description, with the settings read from ``meta.pipeline_settings``
    (what the marts were built with, not what this process was started with)."""
    settings: dict[str, object] = {}
    if table_exists(con, "meta", "pipeline_settings"):
        found = con.sql("select * from meta.pipeline_settings limit 1")
        values = found.fetchall()
        if values:
            settings = {
                name: value if isinstance(value, int | float | str) else str(value)
                for name, value in zip(found.columns, values[0], strict=True)
                if name not in UNPUBLISHED_SETTINGS
            }
    # The brand's own accounts (docs/open-rules.md R15): their posts are in no social figure, so
    # a reader of the social marts is told which; absent when none is set, as before the setting.
    if table_exists(con, "meta", "brand_handles"):
        handles = rows(con, "select platform, handle from meta.brand_handles order by all")
        if handles:
            settings["brand_handles"] = [f"{platform}:{handle}" for platform, handle in handles]
    as_of = settings.get("as_of")
    return PublicationInfo(
        publication_id=publication_id,
        published_at=dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0),
        code_version=code_version(),
        as_of=dt.date.fromisoformat(str(as_of)) if as_of else None,
        settings=settings,
    )


def write_publication_table(
    con: duckdb.DuckDBPyConnection,
    database: str,
    info: PublicationInfo,
    counts: dict[str, int],
    descriptions: dict[str, str],
) -> None:
    """Create ``database.main.publication``: one row per mart, with comments on it."""
    target = f"{database}.main.{PUBLICATION_TABLE}"
    run(
        con,
        f"create table {target} (publication_id varchar, mart varchar, row_count bigint, "
        "description varchar, as_of date, published_at timestamp, code_version varchar, "
        "settings varchar)",
    )
    settings = json.dumps(info.settings, sort_keys=True)
    for mart, n in counts.items():
        run(
            con,
            f"insert into {target} values (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                info.publication_id,
                mart,
                n,
                descriptions.get(mart, ""),
                info.as_of,
                info.published_at,
                info.code_version,
                settings,
            ],
        )
    for sql in comment_statements(
        database,
        PUBLICATION_TABLE,
        PUBLICATION_DESCRIPTION,
        PUBLICATION_COLUMNS,
        list(PUBLICATION_COLUMNS),
    ):
        run(con, sql)
