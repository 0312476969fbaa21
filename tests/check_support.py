"""A check step for checks on an asset a test defines itself (a stand-in mart): the pipeline
evaluates its own checks in the steps that build their assets (``assets.checks.build_step_checks``),
which a stand-in asset has none of."""

import dagster as dg

from assets.checks import CheckEntry, evaluate_checks, fail_if_blocked
from pipeline.warehouse import Warehouse


def check_step(name: str, checks: list[CheckEntry]) -> dg.AssetChecksDefinition:
    """One step evaluating ``checks`` (one spec per asset) on one connection, each keeping its
    own result, severity and blocking, as a building step does."""

    @dg.multi_asset_check(
        name=name, specs=[spec for spec, _ in checks], can_subset=True, pool="warehouse"
    )
    def _check(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        yield from fail_if_blocked(_evaluate(context, warehouse), checks)

    def _evaluate(context: dg.AssetCheckExecutionContext, warehouse: Warehouse):
        with warehouse.connect() as con:
            yield from evaluate_checks(context, con, warehouse.settings(), checks)

    return _check
