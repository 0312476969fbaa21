"""What a warm process has loaded: the project's code files and the installed packages.

The warm run worker (:mod:`pipeline.cli.warm_worker`) forks every run from modules it
imported once, so a run must never execute code older than what is on disk. Before each run it
takes :meth:`LoadedCode.now` again and compares it with what it took before loading:

- the project's code: the name, size and modification time of every file under ``pipeline/``,
  ``assets/``, ``sql/`` and ``expectations/`` that a run reads (Python, SQL, suites, model
  ``.yml``), and ``workspace.yaml`` and ``pyproject.toml``;
- the installed packages: every distribution's metadata folder (``<name>-<version>.dist-info``,
  or ``.egg-info``) in each folder of ``sys.path``, with its modification time. ``make install``
  (uv) replaces that folder when it upgrades or reinstalls a package, so an upgraded Dagster,
  Great Expectations, DuckDB or polars is seen, as is any other package a run imports.

Stat and directory listings only, no file read: a few milliseconds for the whole project and
about 130 packages, cheap enough for every run (reading each package's version with
``importlib.metadata`` took 70 ms).
"""

from __future__ import annotations

import hashlib
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# What a run's code is made of: the definitions, the SQL models, the suites.
CODE_DIRS = ("pipeline", "assets", "sql", "expectations")
CODE_FILES = ("workspace.yaml", "pyproject.toml")
CODE_SUFFIXES = (".py", ".sql", ".json", ".yaml", ".yml", ".toml")
METADATA_SUFFIXES = (".dist-info", ".egg-info")
SHOWN = 3  # changes named in a message; the rest are counted


def code_files(root: Path) -> dict[str, tuple[int, int]]:
    """Every code file under ``root``: path under it -> (size, mtime in ns)."""
    paths = [root / name for name in CODE_FILES if (root / name).is_file()]
    for folder in CODE_DIRS:
        if (root / folder).is_dir():
            paths += [p for p in (root / folder).rglob("*") if p.suffix in CODE_SUFFIXES]
    files = {}
    for path in paths:
        try:
            st = path.stat()
        except FileNotFoundError:  # removed while we looked: left out, so still a change
            continue
        files[path.relative_to(root).as_posix()] = (st.st_size, st.st_mtime_ns)
    return files


def installed_packages(search_path: Iterable[str]) -> dict[str, tuple[str, int]]:
    """Every distribution in the folders of ``search_path`` (``sys.path``): name -> (version,
    mtime in ns of its metadata folder). The first of a name wins, as for ``import``."""
    packages: dict[str, tuple[str, int]] = {}
    for entry in search_path:
        try:
            with os.scandir(entry or ".") as listing:  # "" is the working directory
                found = [e for e in listing if e.name.endswith(METADATA_SUFFIXES)]
        except OSError:  # a zip file, a placeholder of an import hook, a missing folder
            continue
        for item in sorted(found, key=lambda e: e.name):
            stem = item.name.rsplit(".", 1)[0]
            name, _, version = stem.partition("-")  # "dagster-1.13.0", "name-1.0-py3.11"
            key = name.lower().replace("-", "_")
            if key in packages:
                continue
            try:
                packages[key] = (version.split("-")[0], item.stat().st_mtime_ns)
            except FileNotFoundError:  # uninstalled while we looked
                continue
    return packages


def _named(items: list[str]) -> str:
    shown = ", ".join(items[:SHOWN])
    return shown + (f" and {len(items) - SHOWN} more" if len(items) > SHOWN else "")


@dataclass(frozen=True)
class LoadedCode:
    """The code files and installed packages at one moment (see the module docstring)."""

    files: Mapping[str, tuple[int, int]] = field(default_factory=dict)
    packages: Mapping[str, tuple[str, int]] = field(default_factory=dict)

    @classmethod
    def now(cls, root: Path = REPO_ROOT, search_path: Iterable[str] | None = None) -> LoadedCode:
        """The code files under ``root`` and the packages on ``search_path`` (``sys.path``)."""
        return cls(
            code_files(root), installed_packages(sys.path if search_path is None else search_path)
        )

    def digest(self) -> str:
        """One hash of everything: equal digests, nothing changed."""
        digest = hashlib.sha256()
        for path, (size, mtime) in sorted(self.files.items()):
            digest.update(f"file\0{path}\0{size}\0{mtime}\n".encode())
        for name, (version, mtime) in sorted(self.packages.items()):
            digest.update(f"package\0{name}\0{version}\0{mtime}\n".encode())
        return digest.hexdigest()

    def changes_since(self, before: LoadedCode) -> str:
        """What changed from ``before`` to this, in words ("" if nothing): the code files
        changed, added or removed, then the packages upgraded, reinstalled, added or removed."""
        files = [
            f"{path} {'changed' if path in before.files else 'added'}"
            for path, stat in sorted(self.files.items())
            if before.files.get(path) != stat
        ] + [f"{path} removed" for path in sorted(set(before.files) - set(self.files))]
        packages = []
        for name, (version, mtime) in sorted(self.packages.items()):
            old = before.packages.get(name)
            if old is None:
                packages.append(f"{name} {version} installed")
            elif old[0] != version:
                packages.append(f"{name} {old[0]} → {version}")
            elif old[1] != mtime:
                packages.append(f"{name} {version} reinstalled")
        packages += [
            f"{name} {before.packages[name][0]} removed"
            for name in sorted(set(before.packages) - set(self.packages))
        ]
        said = []
        if files:
            said.append(f"the project's code changed since the worker loaded it: {_named(files)}")
        if packages:
            said.append(
                f"the installed packages changed since the worker loaded them: {_named(packages)}"
            )
        return "; ".join(said)
