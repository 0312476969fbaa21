"""What a run of a few selected assets needs from the warehouse before it builds anything.

The UI lets an operator materialize one mart, one layer or ``serving_marts`` alone, and the
launchpad sets another ``as_of``. The SQL models read ``as_of`` from ``meta.pipeline_settings``,
which only the ``pipeline_settings`` asset writes, and read their parents' tables as they stand.
A selection without them built, before these checks, what the warehouse held: a run tagged
``as_of`` 2024-06-30 rebuilt ``retention_monthly`` for 2024-12-31, or for 2024-06-30 over
intermediate tables of 2024-12-31 (months of the one date, orders of the other), and serving
published the mix. These checks stop such a step before it writes, naming what to select.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable

import duckdb

from pipeline.engine.build_log import BuildLog
from pipeline.engine.catalog import PYTHON_TABLES
from pipeline.engine.discovery import Model
from pipeline.warehouse import scalar, table_exists

SETTINGS = "pipeline_settings"
# The tables the pipeline_settings asset writes; a model reading one of them reads as_of.
SETTINGS_TABLES = frozenset(
    name for name, (_, producer) in PYTHON_TABLES.items() if producer == SETTINGS
)


class UpstreamError(RuntimeError):
    """A selected asset cannot be built from the warehouse as it stands; says what to select."""


def with_upstream(name: str) -> str:
    """How to select ``name`` with what it reads, in the UI and on the command line."""
    return (
        f"materialize it with its upstream assets (the asset graph's selection "
        f'`+key:"{name}"`, then Materialize), or everything (Materialize all, job refresh, '
        f"`make run`)"
    )


def settings_problem(con: duckdb.DuckDBPyConnection, as_of: dt.date, asset: str) -> str | None:
    """Why ``asset`` cannot be built for this run's ``as_of`` with the warehouse's
    ``meta.pipeline_settings`` (None: it holds that date)."""
    held = (
        scalar(con, "select max(as_of) from meta.pipeline_settings")
        if table_exists(con, "meta", SETTINGS)
        else None
    )
    if held == as_of:
        return None
    if held is None:
        found = (
            "the warehouse has no meta.pipeline_settings (pipeline_settings was never materialized)"
        )
    else:
        found = (
            f"the warehouse's meta.pipeline_settings holds as_of {held} (the last run that "
            f"materialized pipeline_settings), and the models read their date there"
        )
    return (
        f"this run builds as_of {as_of}, but {found}: {asset} would describe another date "
        f"than the run says; {with_upstream(asset)}"
    )


def settings_readers(models: Iterable[Model]) -> set[str]:
    """The models whose SQL reads ``meta.pipeline_settings`` (or the brand's handles) itself."""
    return {m.name for m in models if SETTINGS_TABLES.intersection(m.parents)}


def stale_for(
    con: duckdb.DuckDBPyConnection, log: BuildLog, names: Collection[str]
) -> dict[str, object]:
    """Of ``names`` (models reading the settings), those whose last build was for another
    ``as_of_end`` than the warehouse's settings, with the as_of they were built for."""
    now = log.as_of_end()
    if now is None:
        return {}
    found = {}
    for name, build in log.builds(names).items():
        if build.as_of_end is not None and build.as_of_end != now:
            found[name] = (build.as_of_end - dt.timedelta(days=1)).date()
    return found


def parent_problems(
    con: duckdb.DuckDBPyConnection,
    chosen: Iterable[Model],
    layers: dict[str, str],
    readers: Collection[str],
    selected: Collection[str],
) -> list[str]:
    """Why each of ``chosen`` (the models this step builds) cannot read a parent that this run
    does not build (not in ``selected``, the run's asset keys): the parent's table is absent,
    or it reads the settings and was built for another as_of."""
    log = BuildLog(con)
    problems: list[str] = []
    for model in chosen:
        unbuilt: list[str] = []
        absent: set[str] = set()
        outside = [p for p in model.parents if p not in selected]
        for parent in outside:
            if parent in layers:
                schema, producer = layers[parent], parent
            else:
                schema, producer = PYTHON_TABLES[parent]
                if producer is None or producer in selected:
                    continue  # the ledger and quarantine tables; or built in this run
            if not table_exists(con, schema, parent):
                absent.add(parent)
                unbuilt.append(f"{schema}.{parent} (never built: {producer})")
        older = stale_for(con, log, [p for p in outside if p in readers and p not in absent])
        stale = [f"{layers[p]}.{p} (built for as_of {day})" for p, day in older.items()]
        if unbuilt or stale:
            now = log.as_of_end()
            day = (now - dt.timedelta(days=1)).date() if now is not None else None
            problems.append(
                f"{model.name} reads "
                + "; ".join(unbuilt + stale)
                + (f", not for this run's as_of {day}" if stale else "")
                + f", which this run does not build: {with_upstream(model.name)}"
            )
    return problems


def serving_problem(
    con: duckdb.DuckDBPyConnection, as_of: dt.date, models: Iterable[Model]
) -> str | None:
    """Why the warehouse's marts cannot be published as of this run's ``as_of``: the settings
    hold another date (no settings table: nothing to compare), or a model reading them was
    last built for another as_of (a run of a few assets with another date left it), so the
    marts would mix two dates (None: neither)."""
    # Without the settings table (marts written by hand) there is no date to mix: the
    # publication then names none (assets/publication.py).
    if table_exists(con, "meta", SETTINGS):
        problem = settings_problem(con, as_of, "serving_marts")
        if problem:
            return problem
    older = stale_for(con, BuildLog(con), sorted(settings_readers(models)))
    if not older:
        return None
    listed = ", ".join(f"{name} (as_of {day})" for name, day in older.items())
    return (
        f"the warehouse's models are not all built for as_of {as_of}: {listed}; published "
        f"together, the marts would mix two dates. Materialize everything (Materialize all, "
        f"job refresh, `make run`), or those models with everything downstream of them "
        f'(the asset graph\'s selection `key:"{next(iter(older))}"+`, then Materialize)'
    )
