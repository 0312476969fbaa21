"""The column descriptions of the two prediction marts, read from the .yml files beside this.

They are the same format as ``sql/marts/*.yml``, so ``docs/metrics.md``, the Dagster column
schema and the serving list read them the same way as the SQL marts'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
PREDICTION_MARTS = ("customer_predictions", "prediction_model")


@dataclass(frozen=True)
class MartDoc:
    """A Python-built mart's name, description and column descriptions (in column order)."""

    name: str
    description: str
    columns: dict[str, str] = field(default_factory=dict)


def mart_doc(name: str) -> MartDoc:
    """The documentation of one prediction mart, from ``pipeline/predict/<name>.yml``."""
    doc = yaml.safe_load((HERE / f"{name}.yml").read_text(encoding="utf-8"))
    return MartDoc(name, str(doc["description"]).strip(), dict(doc["columns"]))


def mart_docs() -> list[MartDoc]:
    """Both prediction marts' documentation, customer_predictions first."""
    return [mart_doc(n) for n in PREDICTION_MARTS]
