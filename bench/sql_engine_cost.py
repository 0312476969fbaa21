"""The SQL layers of a full build alone, model by model and statement by statement.

Takes a warehouse after a run (``--warehouse``), makes a copy with every SQL model's table, build
record and delta removed (the landed raw tables, the settings and the Python-built tables stay),
then times on a fresh copy of that, in one process and one connection:

- ``engine``: each layer's models as the layer step builds them (``skip.build_model`` and the
  asset metadata of ``assets/models.py``), every statement the engine sends timed (CPU of the
  whole process, user + sys, and wall) and grouped by its first words;
- ``plain``: each model's select as one ``create or replace table`` (what the yardstick runs
  for the same model), nothing else.

The difference per model is the engine's own work. One-off figures on a shared machine: run
both back to back, two or three times, and compare CPU.

    python bench/sql_engine_cost.py --warehouse DATA/warehouse.duckdb --work /tmp/x --mode engine
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from pipeline import warehouse as wh  # noqa: E402
from pipeline.engine import build_log, kinds, skip  # noqa: E402
from pipeline.engine.discovery import discover_models  # noqa: E402

LAYERS = ("staging", "intermediate", "marts")


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


@contextmanager
def _clock() -> Iterator[list[float]]:
    out: list[float] = []
    cpu, wall = _cpu(), time.perf_counter()
    yield out
    out.extend([_cpu() - cpu, time.perf_counter() - wall])


def _label(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql.strip())
    text = re.sub(r"'[^']*'", "'…'", text)
    if text.startswith("create or replace table"):
        return " ".join(text.split(" ")[:5])  # the model's own statement
    return text[:70]


class Statements:
    """Every statement the engine's modules send, timed (see the module docstring)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, float, float]] = []

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(con: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            with _clock() as took:
                out = fn(con, sql, *args, **kwargs)
            self.seen.append((_label(sql), took[0], took[1]))
            return out

        return timed

    @contextmanager
    def installed(self, modules: list[Any]) -> Iterator[None]:
        """The modules' (and pipeline.warehouse's) statement helpers timed, put back after."""
        originals = {n: getattr(wh, n) for n in ("run", "rows", "scalar", "frame")}
        saved = [
            (module, name, getattr(module, name))
            for module in ([*modules, wh] if modules else [])
            for name in originals
            if hasattr(module, name)
        ]
        for module, name, _ in saved:
            setattr(module, name, self.wrap(originals[name]))
        try:
            yield
        finally:
            for module, name, fn in saved:
                setattr(module, name, fn)

    def take(self) -> list[tuple[str, float, float]]:
        out, self.seen = self.seen, []
        return out


def landed_copy(source: Path, base: Path) -> None:
    """``source`` without any SQL model's table, build record, delta or skip note."""
    shutil.copyfile(source, base)
    models = [m for m in discover_models() if m.layer in LAYERS]
    with wh.open_warehouse(base) as con:
        for m in models:
            wh.run(con, f"drop table if exists {m.qualified_name}")
            wh.run(con, f'drop table if exists meta."{m.name}__delta"')
        names = [m.name for m in models]
        for table, column in (("model_builds", "model"), ("build_inputs", "target")):
            if wh.table_exists(con, "meta", table):
                wh.run(
                    con,
                    f"delete from meta.{table} where {column} in (select unnest(?))",
                    [names],
                )
        wh.run(con, "drop table if exists meta.skipped_builds")
        wh.run(con, "checkpoint")


def _wal(path: Path) -> int:
    wal = Path(str(path) + ".wal")
    return wal.stat().st_size if wal.exists() else 0


def time_layers(db: Path, mode: str, detail: bool, threshold: str | None = None) -> None:
    """Build the three layers on ``db`` in ``mode`` and print the timings."""
    statements = Statements()
    timed: list[Any] = []
    if mode == "engine":
        from assets import models as assets_models

        engine_build = sys.modules["pipeline.engine.build"]  # the module, not the function
        timed = [skip, engine_build, build_log, kinds, assets_models]
    with statements.installed(timed):
        _time_layers(db, mode, detail, threshold, statements)


def _time_layers(
    db: Path, mode: str, detail: bool, threshold: str | None, statements: Statements
) -> None:
    if mode == "engine":
        from assets import models as assets_models
    models = discover_models()
    layers = {m.name: m.layer for m in models}
    totals: dict[str, list[float]] = {}
    with wh.open_warehouse(db) as con:
        for layer in LAYERS:
            prints = skip.Fingerprints(con) if mode == "engine" else None
            if threshold:
                wh.run(con, f"set checkpoint_threshold = '{threshold}'")
            layer_cpu = layer_wall = 0.0
            by_kind: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
            for model in (m for m in models if m.layer == layer):
                wal_before = _wal(db)
                with _clock() as took:
                    if mode == "engine":
                        result = skip.build_model(con, model, layers, "bench", prints)
                        assets_models._result_metadata(
                            con, model, result.rows, prints.columns(model.layer, model.name)
                        )
                    else:
                        wh.run(
                            con,
                            f"create or replace table {model.qualified_name} as\n{model.sql}",
                        )
                layer_cpu += took[0]
                layer_wall += took[1]
                seen = statements.take()
                own = [s for s in seen if s[0].startswith("create or replace table")]
                own_cpu = sum(s[1] for s in own) if mode == "engine" else took[0]
                wal_after = _wal(db)
                flag = " checkpoint" if wal_after < wal_before else ""
                print(
                    f"{layer:12} {model.name:28} cpu {took[0]:6.2f} wall {took[1]:6.2f}"
                    f"  model stmt cpu {own_cpu:6.2f}  engine cpu {took[0] - own_cpu:5.2f}"
                    f"  wal {wal_after / 2**20:5.1f} MiB{flag}"
                )
                for label, cpu, wall in seen:
                    kind = "model" if label.startswith("create or replace table") else label
                    by_kind[kind][0] += cpu
                    by_kind[kind][1] += wall
                    by_kind[kind][2] += 1
                    if detail and cpu + wall > 0.02:
                        print(f"{'':14}{cpu:6.3f} {wall:6.3f}  {label}")
            if threshold:
                with _clock() as took:
                    wh.run(con, "checkpoint")
                print(f"{layer:12} {'(checkpoint)':28} cpu {took[0]:6.2f} wall {took[1]:6.2f}")
                layer_cpu += took[0]
                layer_wall += took[1]
            totals[layer] = [layer_cpu, layer_wall]
            print(f"== {layer}: cpu {layer_cpu:.2f} s, wall {layer_wall:.2f} s")
            if mode == "engine":
                # A commit writes the new table's rows to the WAL: the model's cost, which
                # the plain mode's autocommit statement includes.
                own = [by_kind.get(k, [0.0, 0.0, 0]) for k in ("model", "commit")]
                rest = [
                    sum(v[i] for k, v in by_kind.items() if k not in ("model", "commit"))
                    for i in (0, 1)
                ]
                print(
                    f"   model + commit cpu {own[0][0] + own[1][0]:.2f}; other statements cpu "
                    f"{rest[0]:.2f} wall {rest[1]:.2f}; outside statements cpu "
                    f"{layer_cpu - rest[0] - own[0][0] - own[1][0]:.2f}"
                )
                for kind, (cpu, wall, n) in sorted(by_kind.items(), key=lambda kv: -kv[1][0]):
                    print(f"   {cpu:6.2f} {wall:6.2f} {n:3}  {kind}")
    total = [sum(v[0] for v in totals.values()), sum(v[1] for v in totals.values())]
    print(f"== {mode} total: cpu {total[0]:.2f} s, wall {total[1]:.2f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warehouse", type=Path, required=True, help="a warehouse after a run")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    parser.add_argument("--mode", choices=("engine", "plain"), default="engine")
    parser.add_argument("--threshold", help="checkpoint_threshold in a layer, one checkpoint after")
    parser.add_argument("--detail", action="store_true", help="every statement over 20 ms")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    base = args.work / "landed.duckdb"
    if not base.exists():
        landed_copy(args.warehouse, base)
    db = args.work / f"{args.mode}.duckdb"
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, db)
    os.environ.setdefault("PIPELINE_TIMEZONE", "UTC")
    time_layers(db, args.mode, args.detail, args.threshold)
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
