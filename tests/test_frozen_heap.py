"""pipeline/run_process.frozen_heap: what is alive when a run starts is left out of the cyclic
collector during the run, and collected as before afterwards."""

from __future__ import annotations

import gc
import weakref

from pipeline.run_process import frozen_heap


class _Node:
    """An object that can sit in a reference cycle and be watched through a weak reference."""

    def __init__(self) -> None:
        self.other: _Node | None = None


def _cycle() -> weakref.ref:
    a, b = _Node(), _Node()
    a.other, b.other = b, a  # only the cyclic collector can free these two
    return weakref.ref(a)


def test_cycles_made_before_wait_and_cycles_made_inside_are_collected() -> None:
    gc.collect()
    assert gc.get_freeze_count() == 0
    before = _cycle()  # garbage already, but not yet collected
    with frozen_heap():
        assert gc.get_freeze_count() > 0
        inside = _cycle()
        gc.collect()
        # A cycle made during the run is collected; the one frozen at the start waits.
        assert inside() is None
        assert before() is not None
    assert gc.get_freeze_count() == 0  # unfrozen on leaving
    gc.collect()
    assert before() is None
